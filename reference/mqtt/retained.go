package mqtt

import (
	"sync"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// retainedStore holds the last retained message per topic [MQTT-3.3.1-5].
type retainedStore struct {
	mu   sync.RWMutex
	msgs map[string]*message

	dropOnReplace bool // Faults.DropRetainedOnReplace
}

func newRetainedStore() *retainedStore { return &retainedStore{msgs: map[string]*message{}} }

// set stores m, or clears the topic when the payload is empty
// [MQTT-3.3.1-10] [MQTT-3.3.1-11].
func (r *retainedStore) set(m *message) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, exists := r.msgs[m.topic]
	if len(m.payload) == 0 || (exists && r.dropOnReplace) {
		delete(r.msgs, m.topic)
		return
	}
	r.msgs[m.topic] = m
}

// match returns the retained messages whose topic matches filter.
func (r *retainedStore) match(filter string) []*message {
	r.mu.RLock()
	defer r.mu.RUnlock()
	if m, ok := r.msgs[filter]; ok { // a filter without wildcards is a topic
		return []*message{m}
	}
	var out []*message
	for t, m := range r.msgs {
		if packets.MatchTopic(filter, t) {
			out = append(out, m)
		}
	}
	return out
}

func (r *retainedStore) len() int {
	r.mu.RLock()
	defer r.mu.RUnlock()
	return len(r.msgs)
}
