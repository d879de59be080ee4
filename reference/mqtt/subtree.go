package mqtt

import (
	"strings"
	"sync"
)

// subTree indexes subscriptions by topic level so a publish visits only the
// branches that can match it.
type subTree struct {
	mu    sync.RWMutex
	root  *subNode
	count int

	wildcardMatchesSys bool // Faults.WildcardMatchesSys
}

type subNode struct {
	children map[string]*subNode
	subs     map[*session]byte // granted QoS
}

func newSubTree() *subTree { return &subTree{root: &subNode{}} }

// add subscribes s to filter and reports whether it replaced an existing
// subscription [MQTT-3.8.4-3].
func (t *subTree) add(filter string, s *session, qos byte) (replaced bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	n := t.root
	for _, l := range strings.Split(filter, "/") {
		c := n.children[l]
		if c == nil {
			if n.children == nil {
				n.children = map[string]*subNode{}
			}
			c = &subNode{}
			n.children[l] = c
		}
		n = c
	}
	if n.subs == nil {
		n.subs = map[*session]byte{}
	}
	_, replaced = n.subs[s]
	if !replaced {
		t.count++
	}
	n.subs[s] = qos
	return replaced
}

// remove deletes s's subscription to exactly filter [MQTT-3.10.4-1].
func (t *subTree) remove(filter string, s *session) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.removeLocked(t.root, strings.Split(filter, "/"), s)
}

func (t *subTree) removeLocked(n *subNode, levels []string, s *session) bool {
	if len(levels) == 0 {
		if _, ok := n.subs[s]; !ok {
			return false
		}
		delete(n.subs, s)
		t.count--
		return true
	}
	c := n.children[levels[0]]
	if c == nil {
		return false
	}
	ok := t.removeLocked(c, levels[1:], s)
	if len(c.subs) == 0 && len(c.children) == 0 {
		delete(n.children, levels[0]) // prune so the tree does not grow forever
	}
	return ok
}

// match calls fn once per session subscribed to a filter matching topic,
// with the highest QoS among its matching subscriptions [MQTT-3.3.5-1].
func (t *subTree) match(topic string, fn func(s *session, qos byte)) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	var found map[*session]byte
	var single *session
	var singleQoS byte
	n := 0
	visit := func(subs map[*session]byte) {
		for s, q := range subs {
			n++
			if n == 1 {
				single, singleQoS = s, q
				continue
			}
			if found == nil {
				found = map[*session]byte{single: singleQoS}
			}
			if old, ok := found[s]; !ok || q > old {
				found[s] = q
			}
		}
	}
	levels := strings.Split(topic, "/")
	// [MQTT-4.7.2-1] wildcards at the first level do not match '$' topics.
	dollar := strings.HasPrefix(topic, "$") && !t.wildcardMatchesSys
	walk(t.root, levels, dollar, visit)
	switch {
	case n == 1:
		fn(single, singleQoS)
	case found != nil:
		for s, q := range found {
			fn(s, q)
		}
	}
}

func walk(n *subNode, levels []string, noWild bool, visit func(map[*session]byte)) {
	if !noWild {
		if c := n.children["#"]; c != nil {
			visit(c.subs) // "#" also matches the parent level
		}
	}
	if len(levels) == 0 {
		visit(n.subs)
		return
	}
	if c := n.children[levels[0]]; c != nil {
		walk(c, levels[1:], false, visit)
	}
	if !noWild {
		if c := n.children["+"]; c != nil {
			walk(c, levels[1:], false, visit)
		}
	}
}

func (t *subTree) len() int {
	t.mu.RLock()
	defer t.mu.RUnlock()
	return t.count
}
