package bench

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// topology is who publishes where and who subscribes to what in a p2p,
// fanout or fanin case. Publisher i's messages carry stream i.
type topology struct {
	pubs, subs int
	fan        int64 // subscribers each message should reach
	topic      func(pub int) string
	filter     func(sub int) string
	streams    func(sub int) (lo uint32, n int) // the publishers subscriber sub hears
}

func topologyFor(scenario string, n int, prefix string) topology {
	idx := func(i int) string { return prefix + "/" + strconv.Itoa(i) }
	switch scenario {
	case P2P:
		return topology{pubs: n, subs: n, fan: 1, topic: idx, filter: idx,
			streams: func(i int) (uint32, int) { return uint32(i), 1 }}
	case Fanout:
		one := func(int) string { return prefix }
		return topology{pubs: 1, subs: n, fan: int64(n), topic: one, filter: one,
			streams: func(int) (uint32, int) { return 0, 1 }}
	case Fanin:
		return topology{pubs: n, subs: 1, fan: 1, topic: idx,
			filter:  func(int) string { return prefix + "/+" }, // [MQTT-4.7.1-3] '+' matches one level
			streams: func(int) (uint32, int) { return 0, n }}
	}
	panic("topologyFor: " + scenario)
}

// closedWindow is how many messages a publisher may have in flight (sent,
// not yet received by every subscriber it goes to) in closed loop, and the
// size of a pool all publishers share (0 = none) when they feed one
// subscriber. No subscriber ever has more outstanding than a broker keeps
// in flight to it at QoS 1/2 (or queues, at QoS 0), so closed loop never
// leans on a broker's queue: it measures flow, not queue handling. (A
// broker that handles a subscriber's acknowledgements more slowly than the
// publishers' messages can still fill its queue: Mosquitto 2.0.11 in fan-in
// at QoS 1/2 overflows its 1000 queued messages and drops some, logging
// "Outgoing messages are being dropped"; they count as lost.) At
// most 2048 messages or 32 MiB are in flight in total, enough to keep
// loopback busy while queueing delay and memory stay bounded.
func closedWindow(t topology, qos byte, payload int) (w, pool int) {
	perSub := brokerQueued
	if qos > 0 {
		// Half the broker's window: its count also holds messages whose
		// acknowledgement is still on the way back.
		perSub = brokerInflight / 2
	}
	w = min(64, perSub, 2048/t.pubs, (32<<20)/(max(payload, HeaderSize)*t.pubs*int(t.fan)))
	if t.subs == 1 && t.pubs > 1 {
		pool = perSub
	}
	return max(w, 1), pool
}

// maxUnacked bounds QoS 1/2 PUBLISHes a publisher has not had PUBACK or
// PUBCOMP for: packet identifiers must stay unique while in use [MQTT-2.3.1-2].
const maxUnacked = 4096

// stallTimeout: a publisher waiting this long without a single delivery
// gives up on what it is waiting for (counted as lost later) and goes on;
// drainStall ends the drain after this long without progress.
const (
	stallTimeout = time.Second
	drainStall   = time.Second
	drainMax     = 30 * time.Second
)

// load is how a pub/sub round offers its messages.
type load struct {
	qos     byte
	payload int
	open    bool
	rate    float64 // open loop: published messages per second, all publishers together
	dur     time.Duration
	window  int // closed loop, per publisher
	pool    int // closed loop, shared by all publishers; 0 = none
}

type publisher struct {
	c      *mconn
	idx    uint32
	topic  string
	fan    int64
	thr    int64 // closed loop: may publish while outstanding <= thr …
	low    int64 // … and once blocked, waits until outstanding <= low
	qos    byte
	signal chan struct{}
	tokens chan struct{} // the shared pool, nil if none: one token per message in flight

	outstanding atomic.Int64 // deliveries not yet seen by subscribers
	unacked     atomic.Int64 // QoS 1/2 flows not complete
	waiting     atomic.Bool
	pids        *[1024]atomic.Uint64 // identifiers in use, a bit each
	nextPid     uint16
	sent        atomic.Int64
	err         error // of the publishing goroutine
	rerr        error // of the reader goroutine
}

func (p *publisher) wake() {
	if p.waiting.Load() {
		select {
		case p.signal <- struct{}{}:
		default:
		}
	}
}

// delivered is called by a subscriber for each message of this publisher.
func (p *publisher) delivered() {
	if p.outstanding.Add(-1) <= p.low {
		p.wake()
	}
	if p.tokens != nil {
		select {
		case p.tokens <- struct{}{}:
		default: // a token given up as lost came back after all
		}
	}
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
		// Acks are 2-byte bodies holding the identifier.
		if len(body) >= 2 {
			id := uint16(body[0])<<8 | uint16(body[1])
			switch h.Type {
			case packets.PUBACK:
				p.acked(id)
			case packets.PUBREC:
				p.c.ack(packets.PUBREL, id) // [MQTT-4.3.3-1] answer PUBREC with PUBREL
			case packets.PUBCOMP:
				p.acked(id)
			}
		}
		if !p.c.buffered() {
			p.c.flush()
		}
	}
}

// waitRoom blocks until the publisher may send: closed loop within its
// window and with a token from the shared pool, any loop within maxUnacked.
// It returns false when stopAt passes.
func (p *publisher) waitRoom(closed bool, stopAt int64) bool {
	if !p.waitOwn(closed, stopAt) {
		return false
	}
	if !closed || p.tokens == nil {
		return true
	}
	select {
	case <-p.tokens:
		return true
	default:
	}
	if err := p.c.flush(); err != nil {
		p.err = err
		return false
	}
	wait := min(time.Duration(stopAt-now()), stallTimeout)
	if wait <= 0 {
		return false
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-p.tokens:
		return true
	case <-t.C:
		// Stop, or nothing came back for a second: that token's message is
		// lost (the count shows it); go on without it.
		return now() < stopAt
	}
}

func (p *publisher) waitOwn(closed bool, stopAt int64) bool {
	if !((closed && p.outstanding.Load() > p.thr) || (p.qos > 0 && p.unacked.Load() >= maxUnacked)) {
		return true
	}
	// Once the window is full, wait until half of it is free: the
	// publisher then sends a burst in one write instead of one message per
	// delivery, which would cost broker and load generator a syscall each.
	blocked := func() bool {
		return (closed && p.outstanding.Load() > p.low) || (p.qos > 0 && p.unacked.Load() >= maxUnacked/2)
	}
	if err := p.c.flush(); err != nil {
		p.err = err
		return false
	}
	var timer *time.Timer
	defer func() {
		if timer != nil {
			timer.Stop()
		}
	}()
	last, since := p.outstanding.Load(), now()
	for {
		p.waiting.Store(true)
		if !blocked() { // re-check after announcing: a wake-up cannot be missed
			p.waiting.Store(false)
			return true
		}
		wait := min(time.Duration(stopAt-now()), stallTimeout)
		if wait <= 0 {
			p.waiting.Store(false)
			return false
		}
		if timer == nil {
			timer = time.NewTimer(wait)
		} else {
			timer.Reset(wait)
		}
		select {
		case <-p.signal:
		case <-timer.C:
		}
		p.waiting.Store(false)
		t := now()
		if o := p.outstanding.Load(); o != last {
			last, since = o, t
		} else if closed && time.Duration(t-since) >= stallTimeout && o > p.low {
			// Nothing arrived for a second: those deliveries are lost (the
			// count shows it); stop waiting for them.
			p.outstanding.Add(p.low - o)
			last, since = p.low, t
		}
		if t >= stopAt {
			return false
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

// runClosed publishes as fast as the window allows until stopAt.
func (p *publisher) runClosed(payload []byte, stopAt int64) {
	pub := &packets.Publish{Topic: p.topic, QoS: p.qos, Payload: payload}
	for seq := uint32(0); now() < stopAt; seq++ {
		if !p.waitRoom(true, stopAt) {
			break
		}
		if err := p.publish(pub, seq, now()); err != nil {
			p.err = err
			return
		}
	}
	if err := p.c.flush(); err != nil && p.err == nil {
		p.err = err
	}
}

// runOpen publishes at a fixed rate from start until stopAt, stamping each
// message with its scheduled send time: when the publisher is late
// (blocked by the broker, or its own sleep overshot) the delay counts as
// latency instead of silently lowering the offered load.
func (p *publisher) runOpen(payload []byte, start, stopAt int64, interval float64) {
	pub := &packets.Publish{Topic: p.topic, QoS: p.qos, Payload: payload}
	for seq := uint32(0); ; seq++ {
		due := start + int64(float64(seq)*interval)
		if due >= stopAt {
			break
		}
		if d := due - now(); d > 0 {
			if err := p.c.flush(); err != nil {
				p.err = err
				return
			}
			time.Sleep(time.Duration(d))
		}
		if !p.waitRoom(false, stopAt+int64(drainMax)) {
			break
		}
		if err := p.publish(pub, seq, due); err != nil {
			p.err = err
			return
		}
	}
	if err := p.c.flush(); err != nil && p.err == nil {
		p.err = err
	}
}

type subscriber struct {
	c       *mconn
	idx     int
	track   *tracker
	lat     *latencies
	pubs    []*publisher // by stream, to release their windows
	latFrom int64        // if set, latency is measured from here (reconnect drain)
	warmEnd int64        // messages sent before this are counted but not timed

	got     atomic.Int64
	last    atomic.Int64 // arrival of the latest message, ns since epoch
	pending map[uint16]bool
	err     error
}

// readLoop receives, counts and acknowledges messages.
func (s *subscriber) readLoop() {
	var pub packets.Publish
	for {
		h, body, err := s.c.read()
		if err != nil {
			s.err = s.c.readErr(err)
			return
		}
		switch h.Type {
		case packets.PUBLISH:
			if err := pub.Unpack(h, body, packets.Version311); err != nil {
				s.err = fmt.Errorf("PUBLISH from broker: %w", err)
				s.c.abort()
				return
			}
			if s.receive(&pub) != nil {
				return
			}
		case packets.PUBREL:
			if h.Remaining >= 2 {
				id := uint16(body[0])<<8 | uint16(body[1])
				delete(s.pending, id)
				s.c.ack(packets.PUBCOMP, id) // [MQTT-4.3.3-2]
			}
		}
		if !s.c.buffered() {
			s.c.flush()
		}
	}
}

func (s *subscriber) receive(pub *packets.Publish) error {
	switch pub.QoS {
	case 1:
		s.c.ack(packets.PUBACK, pub.PacketID) // [MQTT-4.3.2-2]
	case 2:
		s.c.ack(packets.PUBREC, pub.PacketID) // [MQTT-4.3.3-2]
		// Until PUBREL, a PUBLISH with the same identifier is the same
		// message and must not be delivered onward again [MQTT-4.3.3-2].
		if s.pending == nil {
			s.pending = map[uint16]bool{}
		}
		if s.pending[pub.PacketID] {
			return nil
		}
		s.pending[pub.PacketID] = true
	}
	hd, ok := parseHeader(pub.Payload)
	if !ok {
		s.track.stray++
		return nil
	}
	t := now()
	from := hd.SentNS
	if s.latFrom != 0 {
		from = s.latFrom
	}
	if hd.SentNS >= s.warmEnd {
		s.lat.record(s.idx, t-from)
	}
	s.track.record(hd.Stream, hd.Seq)
	if int(hd.Stream) < len(s.pubs) && s.pubs[hd.Stream] != nil {
		s.pubs[hd.Stream].delivered()
	}
	s.last.Store(t)
	s.got.Add(1)
	return nil
}

// runPubSub runs one round of a p2p, fanout or fanin case against addr and
// measures what it costs.
func runPubSub(ctx context.Context, ep endpoint, scenario string, n int, ld load) (rr roundResult) {
	ctx, cancel := context.WithTimeout(ctx, ld.dur+2*drainMax+time.Minute)
	defer cancel()
	topo := topologyFor(scenario, n, newTopic())
	lat := newLatencies()
	pubs := make([]*publisher, topo.pubs)
	subs := make([]*subscriber, topo.subs)
	var readers sync.WaitGroup
	defer func() {
		// Close everything and wait for the readers: no goroutine outlives the round.
		for _, s := range subs {
			if s != nil {
				s.c.disconnect()
			}
		}
		for _, p := range pubs {
			if p != nil {
				p.c.disconnect()
			}
		}
		readers.Wait()
	}()
	stopOnCancel := context.AfterFunc(ctx, func() {
		for _, s := range subs {
			if s != nil {
				s.c.abort()
			}
		}
		for _, p := range pubs {
			if p != nil {
				p.c.abort()
			}
		}
	})
	defer stopOnCancel()

	var mu sync.Mutex // guards subs/pubs slots while connecting
	err := forEach(ctx, topo.subs, 32, func(i int) error {
		c, _, err := dialMQTT(ctx, ep.addr, newClientID(), true)
		if err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
		lo, ns := topo.streams(i)
		s := &subscriber{c: c, idx: i, track: newTracker(lo, ns), lat: lat, pubs: pubs}
		mu.Lock()
		subs[i] = s
		mu.Unlock()
		g, err := c.subscribe(topo.filter(i), ld.qos)
		switch {
		case err != nil:
			return fmt.Errorf("subscriber %d: %w", i, err)
		case g == packets.SubackFailure:
			return errNA{"SUBSCRIBE refused (SUBACK 0x80)"}
		case g < ld.qos:
			// A server may grant less than asked (§3.8.4): not a case this target runs.
			return errNA{fmt.Sprintf("SUBACK granted QoS %d for QoS %d", g, ld.qos)}
		}
		return nil
	})
	if err == nil {
		err = forEach(ctx, topo.pubs, 32, func(i int) error {
			c, _, err := dialMQTT(ctx, ep.addr, newClientID(), true)
			if err != nil {
				return fmt.Errorf("publisher %d: %w", i, err)
			}
			p := &publisher{c: c, idx: uint32(i), topic: topo.topic(i), fan: topo.fan, qos: ld.qos,
				signal: make(chan struct{}, 1), thr: int64(ld.window-1) * topo.fan, low: int64(ld.window/2) * topo.fan}
			if ld.qos > 0 {
				p.pids = new([1024]atomic.Uint64)
			}
			mu.Lock()
			pubs[i] = p
			mu.Unlock()
			return nil
		})
	}
	if err != nil {
		return failed(err)
	}
	// Latency leaves out a warm-up (first touches of buffers and
	// goroutines in broker and load generator alike); counts include it.
	start := now() + int64(time.Millisecond)
	stopAt := start + int64(ld.dur)
	for _, s := range subs {
		s.warmEnd = start + int64(min(ld.dur/10, 100*time.Millisecond))
		readers.Go(s.readLoop)
	}
	for _, p := range pubs {
		readers.Go(p.readLoop)
	}

	if ld.pool > 0 && !ld.open {
		tokens := make(chan struct{}, ld.pool)
		for range ld.pool {
			tokens <- struct{}{}
		}
		for _, p := range pubs {
			p.tokens = tokens
		}
	}
	m := startMeter(ep)
	var publishers sync.WaitGroup
	for i, p := range pubs {
		payload := newPayload(ld.payload)
		if ld.open {
			perPub := ld.rate / float64(len(pubs))
			interval := 1e9 / perPub
			// Stagger publishers across one interval so they do not fire in step.
			phase := int64(interval * float64(i) / float64(len(pubs)))
			publishers.Go(func() { p.runOpen(payload, start+phase, stopAt, interval) })
		} else {
			publishers.Go(func() { p.runClosed(payload, stopAt) })
		}
	}
	publishers.Wait()

	// Drain: until every expected delivery has arrived and every QoS 1/2
	// flow is complete, or nothing moves for drainStall.
	var expected int64
	for _, p := range pubs {
		expected += p.sent.Load() * p.fan
	}
	progress := func() (got, unacked int64) {
		for _, s := range subs {
			got += s.got.Load()
		}
		for _, p := range pubs {
			unacked += p.unacked.Load()
		}
		return
	}
	lastGot, lastUn := progress()
	lastMove, drainStart := time.Now(), time.Now()
	for {
		got, un := progress()
		if got >= expected && un == 0 {
			break
		}
		if got != lastGot || un != lastUn {
			lastGot, lastUn, lastMove = got, un, time.Now()
		}
		if time.Since(lastMove) > drainStall || time.Since(drainStart) > drainMax || ctx.Err() != nil {
			break
		}
		time.Sleep(2 * time.Millisecond)
	}
	var end int64
	for _, s := range subs {
		end = max(end, s.last.Load())
	}
	use := m.finish()
	if ctx.Err() != nil {
		return failed(ctx.Err())
	}

	// Stop the readers, then read what they counted.
	for _, s := range subs {
		s.c.disconnect()
	}
	for _, p := range pubs {
		p.c.disconnect()
	}
	readers.Wait()
	for _, p := range pubs {
		if p.err != nil {
			return failed(fmt.Errorf("publisher %d: %w", p.idx, p.err))
		}
		if p.rerr != nil {
			return failed(fmt.Errorf("publisher %d: %w", p.idx, p.rerr))
		}
	}
	for _, s := range subs {
		if s.err != nil {
			return failed(fmt.Errorf("subscriber %d: %w", s.idx, s.err))
		}
		rr.counts.add(s.track.result(func(stream uint32) int64 { return pubs[stream].sent.Load() }))
	}
	for _, p := range pubs {
		rr.sent += p.sent.Load()
	}
	rr.elapsed = time.Duration(end - start)
	if rr.elapsed > 0 {
		rr.perS = float64(rr.counts.Delivered) / rr.elapsed.Seconds()
	}
	rr.lat = summarize(lat.merged())
	rr.setUsage(use)
	return rr
}
