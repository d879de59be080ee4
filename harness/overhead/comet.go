package overhead

import (
	"io"
	"net/http"
	"sync"
	"time"
)

// Comet is the 2012 study's long-polling fixture (Nicholas, "Power
// Profiling: HTTPS Long Polling vs. MQTT with SSL, on Android": a Node.js
// Comet server answering GET /s?t=<topic>), rebuilt as a small net/http
// handler so that the HTTPS side of every experiment has the same shape as
// the study's:
//
//	GET  /s?t=TOPIC   held until a message for TOPIC is there (200, the
//	                  message as body, application/octet-stream) or the
//	                  topic's hold time passes (204); a client that goes
//	                  away ends the request
//	POST /s?t=TOPIC   queues the body for TOPIC (204); one waiting or later
//	                  GET takes it, one message per response, in order
//
// The hold time is set per topic (SetHold): zero holds until a message
// arrives or the client closes, which is what the study's "reconnect"
// maintenance needs (the client's read timeout fires first); a hold equal
// to the keepalive interval makes the server end an idle poll so that the
// client re-issues it on the same connection. Messages wait in a queue of
// at most maxQueued per topic, so none is lost between two polls (the
// study's server lost most of a fast burst; this one does not, so the
// bytes per message are comparable).
type Comet struct {
	mu     sync.Mutex
	topics map[string]*cometTopic
}

const maxQueued = 10000

type cometTopic struct {
	queue   [][]byte
	wake    chan struct{} // closed and replaced when a message is queued
	hold    time.Duration
	waiting int // polls being held
}

// NewComet returns an empty fixture.
func NewComet() *Comet { return &Comet{topics: map[string]*cometTopic{}} }

func (c *Comet) topic(name string) *cometTopic {
	t := c.topics[name]
	if t == nil {
		t = &cometTopic{wake: make(chan struct{})}
		c.topics[name] = t
	}
	return t
}

// SetHold sets how long an idle GET on topic is held before 204 (zero:
// until a message or the client leaves).
func (c *Comet) SetHold(topic string, d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.topic(topic).hold = d
}

// Publish queues msg for topic; it reports false when the queue is full.
func (c *Comet) Publish(topic string, msg []byte) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.topic(topic)
	if len(t.queue) >= maxQueued {
		return false
	}
	t.queue = append(t.queue, append([]byte(nil), msg...))
	close(t.wake)
	t.wake = make(chan struct{})
	return true
}

// take pops the oldest message of topic, or returns the channel that is
// closed when one arrives, and the topic's hold time.
func (c *Comet) take(topic string) (msg []byte, wake <-chan struct{}, hold time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	t := c.topic(topic)
	if len(t.queue) > 0 {
		msg = t.queue[0]
		t.queue = t.queue[1:]
		return msg, nil, t.hold
	}
	return nil, t.wake, t.hold
}

// ServeHTTP serves /s.
func (c *Comet) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	topic := r.URL.Query().Get("t")
	if topic == "" {
		http.Error(w, "missing t=<topic>", http.StatusBadRequest)
		return
	}
	switch r.Method {
	case http.MethodGet:
		c.poll(w, r, topic)
	case http.MethodPost:
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			return
		}
		if !c.Publish(topic, body) {
			http.Error(w, "queue full", http.StatusServiceUnavailable)
			return
		}
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, POST")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
	}
}

// waiters is the number of polls held on topic.
func (c *Comet) waiters(topic string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.topic(topic).waiting
}

func (c *Comet) addWaiter(topic string, n int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.topic(topic).waiting += n
}

// poll holds a GET. A message is taken by the first poll that looks,
// even one whose client has just gone: like the study's server, a long
// poll can lose a message to a dead connection.
func (c *Comet) poll(w http.ResponseWriter, r *http.Request, topic string) {
	c.addWaiter(topic, 1)
	defer c.addWaiter(topic, -1)
	var timeout <-chan time.Time
	for {
		msg, wake, hold := c.take(topic)
		if msg != nil {
			w.Header().Set("Content-Type", "application/octet-stream")
			w.Write(msg)
			return
		}
		if timeout == nil && hold > 0 {
			t := time.NewTimer(hold)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-wake:
		case <-timeout:
			w.WriteHeader(http.StatusNoContent)
			return
		case <-r.Context().Done():
			// The client went away (the study's client times out and
			// reconnects): close the connection without a response, as
			// the study's Node.js server did, instead of net/http's
			// implicit 200 to a closed peer.
			panic(http.ErrAbortHandler)
		}
	}
}
