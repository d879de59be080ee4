package mqtt

import (
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// writeTimeout bounds one socket write so a peer that stops reading cannot
// pin a writer goroutine forever.
const writeTimeout = 30 * time.Second

// outbound queues encoded packets for one connection. Senders append bytes
// and never block; a single writer goroutine swaps the buffer out and writes
// all of it with one syscall, so bursts are coalesced.
type outbound struct {
	mu      sync.Mutex
	buf     []byte
	spare   []byte
	closed  bool
	limit   int // pending bytes above which QoS 0 publishes are dropped
	wake    chan struct{}
	dropped atomic.Uint64
}

func newOutbound(limit int) *outbound {
	return &outbound{limit: limit, wake: make(chan struct{}, 1)}
}

// send appends p. Optional packets (QoS 0 publishes) are dropped when the
// peer is not keeping up; the rest are bounded by the in-flight window.
func (o *outbound) send(p packets.Packet, optional bool) bool {
	o.mu.Lock()
	if o.closed || (optional && len(o.buf) > o.limit) {
		o.mu.Unlock()
		if optional {
			o.dropped.Add(1)
		}
		return false
	}
	var err error
	n := len(o.buf)
	o.buf, err = p.AppendTo(o.buf)
	if err != nil {
		o.buf = o.buf[:n]
	}
	o.mu.Unlock()
	o.signal()
	return err == nil
}

// sendEncoded appends bytes already encoded (a QoS 0 publish shared by all
// subscribers).
func (o *outbound) sendEncoded(b []byte) bool {
	o.mu.Lock()
	if o.closed || len(o.buf) > o.limit {
		o.mu.Unlock()
		o.dropped.Add(1)
		return false
	}
	o.buf = append(o.buf, b...)
	o.mu.Unlock()
	o.signal()
	return true
}

func (o *outbound) signal() {
	select {
	case o.wake <- struct{}{}:
	default:
	}
}

// take swaps out everything pending.
func (o *outbound) take() []byte {
	o.mu.Lock()
	defer o.mu.Unlock()
	b := o.buf
	o.buf, o.spare = o.spare[:0], nil
	return b
}

// recycle hands a written buffer back for reuse, unless it grew huge.
func (o *outbound) recycle(b []byte) {
	if cap(b) > 1<<20 {
		return
	}
	o.mu.Lock()
	o.spare = b[:0]
	o.mu.Unlock()
}

func (o *outbound) close() {
	o.mu.Lock()
	o.closed = true
	o.mu.Unlock()
	o.signal()
}

func (o *outbound) isClosed() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.closed
}
