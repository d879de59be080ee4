package bench

import (
	"context"
	"strconv"
	"time"
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

// loadFor is how a p2p, fanout or fanin case offers its messages for dur.
func loadFor(c Case, dur time.Duration) load {
	w, pool := closedWindow(topologyFor(c.Scenario, c.Clients, ""), c.QoS, c.Payload)
	return load{qos: c.QoS, payload: c.Payload, open: c.Mode == Open, rate: c.Rate, dur: dur, window: w, pool: pool}
}

// stallTimeout: a publisher waiting this long without a single delivery
// gives up on what it is waiting for (counted as lost later) and goes on;
// drainStall ends the drain after this long without progress, drainMax
// after this long in any case.
const (
	stallTimeout = time.Second
	drainStall   = time.Second
	drainMax     = 30 * time.Second
)

// waitDrained polls state every poll until it reports that everything has
// arrived, or its snapshot stands still for drainStall, or limit passes
// (0 = no limit), or ctx ends.
func waitDrained[T comparable](ctx context.Context, poll, limit time.Duration, state func() (snap T, done bool)) {
	var last T
	begin := time.Now()
	lastMove := begin
	for i := 0; ctx.Err() == nil; i++ {
		snap, done := state()
		switch {
		case done:
			return
		case i == 0 || snap != last:
			last, lastMove = snap, time.Now()
		case time.Since(lastMove) > drainStall:
			return
		}
		if limit > 0 && time.Since(begin) > limit {
			return
		}
		time.Sleep(poll)
	}
}
