package bench

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// maxUnacked bounds QoS 1/2 PUBLISHes a publisher has not had PUBACK or
// PUBCOMP for: packet identifiers must stay unique while in use [MQTT-2.3.1-2].
const maxUnacked = 4096

// publisher is one load-generator client that publishes a stream of
// sequence-numbered messages to one topic. Its own goroutine publishes
// (runClosed, runOpen); its reader goroutine handles the broker's
// acknowledgements (readLoop); subscribers report deliveries (delivered).
type publisher struct {
	c      *mconn
	idx    uint32
	topic  string
	fan    int64
	thr    int64 // closed loop: may publish while outstanding <= thr …
	low    int64 // … and once blocked, waits until outstanding <= low
	qos    byte
	signal chan struct{}
	tokens chan struct{}   // the shared pool, nil if none: one token per message in flight
	done   <-chan struct{} // the round's context: stop waiting when it ends
	timer  *time.Timer     // for waits, made on first use

	outstanding atomic.Int64 // deliveries not yet seen by subscribers
	unacked     atomic.Int64 // QoS 1/2 flows not complete
	waiting     atomic.Bool
	pids        *[1024]atomic.Uint64 // identifiers in use, a bit each (QoS 1/2 only)
	nextPid     uint16
	sent        atomic.Int64
	err         error // of the publishing goroutine
	rerr        error // of the reader goroutine
}

// newPublisher makes publisher idx on c, whose messages reach fan
// subscribers each, with ld's QoS and closed-loop window.
func newPublisher(ctx context.Context, c *mconn, idx uint32, topic string, fan int64, ld load) *publisher {
	p := &publisher{c: c, idx: idx, topic: topic, fan: fan, qos: ld.qos, signal: make(chan struct{}, 1),
		thr: int64(ld.window-1) * fan, low: int64(ld.window/2) * fan, done: ctx.Done()}
	if ld.qos > 0 {
		p.pids = new([1024]atomic.Uint64)
	}
	return p
}

// allocPid returns a free packet identifier (1…65535, never 0 [MQTT-2.3.1-1]).
func (p *publisher) allocPid() uint16 {
	for {
		p.nextPid++
		if p.nextPid == 0 {
			p.nextPid = 1
		}
		w, bit := p.nextPid/64, uint64(1)<<(p.nextPid%64)
		if p.pids[w].Load()&bit == 0 {
			p.pids[w].Or(bit)
			return p.nextPid
		}
	}
}

// acked completes the flow of id; unknown identifiers are ignored.
func (p *publisher) acked(id uint16) {
	w, bit := id/64, uint64(1)<<(id%64)
	if p.pids[w].And(^bit)&bit != 0 {
		if p.unacked.Add(-1) <= maxUnacked/2 {
			p.wake()
		}
	}
}

// readLoop handles the broker's acknowledgements to this publisher.
func (p *publisher) readLoop() {
	for {
		h, body, err := p.c.read()
		if err != nil {
			p.rerr = p.c.readErr(err)
			return
		}
		if id, ok := ackID(body); ok {
			switch h.Type {
			case packets.PUBACK: // [MQTT-4.3.2-1] the QoS 1 flow ends here
				p.acked(id)
			case packets.PUBREC:
				p.c.ack(packets.PUBREL, id) // [MQTT-4.3.3-1] answer PUBREC with PUBREL
			case packets.PUBCOMP: // [MQTT-4.3.3-1] the QoS 2 flow ends here
				p.acked(id)
			}
		}
		if !p.c.buffered() {
			p.c.flush()
		}
	}
}

// publish sends message seq stamped sentNS.
func (p *publisher) publish(pub *packets.Publish, seq uint32, sentNS int64) error {
	putHeader(pub.Payload, header{Seq: seq, SentNS: sentNS, Stream: p.idx})
	c := p.c
	c.wmu.Lock()
	if p.qos > 0 {
		pub.PacketID = p.allocPid()
		p.unacked.Add(1)
	}
	p.outstanding.Add(p.fan)
	err := c.sendLocked(pub)
	c.wmu.Unlock()
	if err == nil {
		p.sent.Store(int64(seq) + 1)
	}
	return err
}

// finish flushes what is left after the publishing loop; the first error
// of the publishing goroutine is kept.
func (p *publisher) finish() {
	if p.timer != nil {
		p.timer.Stop()
	}
	if err := p.c.flush(); err != nil && p.err == nil {
		p.err = err
	}
}

// runClosed publishes as fast as the window allows until stopAt.
func (p *publisher) runClosed(payload []byte, stopAt int64) {
	defer p.finish()
	pub := &packets.Publish{Topic: p.topic, QoS: p.qos, Payload: payload}
	for seq := uint32(0); now() < stopAt; seq++ {
		if !p.waitRoom(true, stopAt) {
			return
		}
		if err := p.publish(pub, seq, now()); err != nil {
			p.err = err
			return
		}
	}
}

// runOpen publishes at a fixed rate from start until stopAt, stamping each
// message with its scheduled send time: when the publisher is late
// (blocked by the broker, or its own sleep overshot) the delay counts as
// latency instead of silently lowering the offered load.
func (p *publisher) runOpen(payload []byte, start, stopAt int64, interval float64) {
	defer p.finish()
	pub := &packets.Publish{Topic: p.topic, QoS: p.qos, Payload: payload}
	for seq := uint32(0); ; seq++ {
		due := start + int64(float64(seq)*interval)
		if due >= stopAt {
			return
		}
		if d := due - now(); d > 0 {
			if err := p.c.flush(); err != nil {
				p.err = err
				return
			}
			if !p.sleep(time.Duration(d), nil) {
				return
			}
		}
		if !p.waitRoom(false, stopAt+int64(drainMax)) {
			return
		}
		if err := p.publish(pub, seq, due); err != nil {
			p.err = err
			return
		}
	}
}
