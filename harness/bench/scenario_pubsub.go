package bench

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// pubsubRound is one round of a p2p, fanout or fanin case: its clients,
// the latencies they record and the connections to close at the end.
type pubsubRound struct {
	topo    topology
	ld      load
	lat     *latencies
	pubs    []*publisher  // by stream
	subs    []*subscriber // by index
	conns   connSet
	readers sync.WaitGroup
}

// runPubSub runs one round of a p2p, fanout or fanin case against ep and
// measures what it costs.
func runPubSub(ctx context.Context, ep endpoint, scenario string, n int, ld load) roundResult {
	ctx, cancel := context.WithTimeout(ctx, ld.dur+2*drainMax+time.Minute)
	defer cancel()
	r := &pubsubRound{topo: topologyFor(scenario, n, newTopic()), ld: ld, lat: newLatencies()}
	r.pubs, r.subs = make([]*publisher, r.topo.pubs), make([]*subscriber, r.topo.subs)
	defer r.close() // no goroutine or connection outlives the round
	stop := context.AfterFunc(ctx, r.conns.abort)
	defer stop()

	if err := r.connect(ctx, ep.addr); err != nil {
		if ctx.Err() != nil {
			err = ctx.Err() // the cause, not the closed connection it left behind
		}
		return failed(err)
	}
	// Latency leaves out a warm-up (first touches of buffers and
	// goroutines in broker and load generator alike); counts include it.
	start := now() + int64(time.Millisecond)
	stopAt := start + int64(ld.dur)
	r.startReaders(start + int64(min(ld.dur/10, 100*time.Millisecond)))
	m := startMeter(ep)
	r.publish(start, stopAt)
	r.drain(ctx)
	end := r.lastArrival()
	use := m.finish()
	if ctx.Err() != nil {
		return failed(ctx.Err())
	}
	r.close() // stop the readers, then read what they counted
	return r.result(start, end, use)
}

// connect opens and subscribes every subscriber, then opens every
// publisher, 32 at a time.
func (r *pubsubRound) connect(ctx context.Context, addr string) error {
	err := forEach(ctx, r.topo.subs, 32, func(i int) error {
		c, _, err := dialMQTT(ctx, addr, newClientID(), true)
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		r.conns.add(c)
		lo, ns := r.topo.streams(i)
		r.subs[i] = &subscriber{c: c, idx: i, track: newTracker(lo, ns), lat: r.lat, pubs: r.pubs}
		if err := c.subscribeAt(r.topo.filter(i), r.ld.qos); err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		return nil
	})
	if err != nil {
		return err
	}
	return forEach(ctx, r.topo.pubs, 32, func(i int) error {
		c, _, err := dialMQTT(ctx, addr, newClientID(), true)
		if err != nil {
			return fmt.Errorf("publisher %d: %w", i, err)
		}
		r.conns.add(c)
		r.pubs[i] = newPublisher(ctx, c, uint32(i), r.topo.topic(i), r.topo.fan, r.ld)
		return nil
	})
}

// startReaders fills the shared pool, if any (subscribers hand its tokens
// back), and starts every reader goroutine.
func (r *pubsubRound) startReaders(warmEnd int64) {
	if r.ld.pool > 0 && !r.ld.open {
		tokens := make(chan struct{}, r.ld.pool)
		for range r.ld.pool {
			tokens <- struct{}{}
		}
		for _, p := range r.pubs {
			p.tokens = tokens
		}
	}
	for _, s := range r.subs {
		s.warmEnd = warmEnd
		r.readers.Go(s.readLoop)
	}
	for _, p := range r.pubs {
		r.readers.Go(p.readLoop)
	}
}

// publish runs every publisher from start until stopAt and waits for them.
func (r *pubsubRound) publish(start, stopAt int64) {
	var publishers sync.WaitGroup
	for i, p := range r.pubs {
		payload := newPayload(r.ld.payload)
		if !r.ld.open {
			publishers.Go(func() { p.runClosed(payload, stopAt) })
			continue
		}
		interval := 1e9 / (r.ld.rate / float64(len(r.pubs)))
		// Stagger publishers across one interval so they do not fire in step.
		phase := int64(interval * float64(i) / float64(len(r.pubs)))
		publishers.Go(func() { p.runOpen(payload, start+phase, stopAt, interval) })
	}
	publishers.Wait()
}

// drain waits until every expected delivery has arrived and every QoS 1/2
// flow is complete, or nothing moves for drainStall.
func (r *pubsubRound) drain(ctx context.Context) {
	var expected int64
	for _, p := range r.pubs {
		expected += p.sent.Load() * p.fan
	}
	waitDrained(ctx, 2*time.Millisecond, drainMax, func() ([2]int64, bool) {
		var got, unacked int64
		for _, s := range r.subs {
			got += s.got.Load()
		}
		for _, p := range r.pubs {
			unacked += p.unacked.Load()
		}
		return [2]int64{got, unacked}, got >= expected && unacked == 0
	})
}

// lastArrival is when the latest message arrived at any subscriber.
func (r *pubsubRound) lastArrival() int64 {
	var end int64
	for _, s := range r.subs {
		end = max(end, s.last.Load())
	}
	return end
}

// close ends every connection and waits for the readers.
func (r *pubsubRound) close() {
	r.conns.disconnect()
	r.readers.Wait()
}

// result is what the round measured; call it after close.
func (r *pubsubRound) result(start, end int64, use usage) (rr roundResult) {
	for _, p := range r.pubs {
		if p.err != nil {
			return failed(fmt.Errorf("publisher %d: %w", p.idx, p.err))
		}
		if p.rerr != nil {
			return failed(fmt.Errorf("publisher %d: %w", p.idx, p.rerr))
		}
	}
	for _, s := range r.subs {
		if s.err != nil {
			return failed(fmt.Errorf("subscriber %d: %w", s.idx, s.err))
		}
		rr.counts.add(s.track.result(func(stream uint32) int64 { return r.pubs[stream].sent.Load() }))
	}
	for _, p := range r.pubs {
		rr.sent += p.sent.Load()
	}
	rr.elapsed = time.Duration(end - start)
	if rr.elapsed > 0 {
		rr.perS = float64(rr.counts.Delivered) / rr.elapsed.Seconds()
	}
	rr.lat = summarize(r.lat.merged())
	rr.setUsage(use)
	return rr
}
