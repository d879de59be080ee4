package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"
)

// fdReserve is the descriptors kept back from the conn scenario for
// everything else a process has open.
const fdReserve = 256

// Run measures every case of cfg against every target and returns the
// report. Progress goes to cfg.Progress, one line per case, target and
// round. When ctx ends, Run stops, cleans up and returns what it has
// measured so far with ctx's error.
func Run(ctx context.Context, cfg Config) (*Report, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	r := &runner{cfg: cfg, out: cfg.Progress}
	if r.out == nil {
		r.out = io.Discard
	}
	r.fdLimit = raiseNofile()
	pinning, brokerCPUs, unpin := pinLoadGenerator(cfg)
	defer unpin()

	for _, t := range cfg.Targets {
		b, err := newBroker(t, cfg.BrokerBin, brokerCPUs)
		if err != nil {
			return nil, err
		}
		r.brokers = append(r.brokers, b)
	}
	defer r.stopAll()

	rep := &Report{Disclosure: r.disclosure(pinning)}
	r.rep = rep
	ceiling, err := r.ceiling(ctx)
	if err != nil {
		return rep, fmt.Errorf("load generator ceiling: %w", err)
	}
	rep.Disclosure.LoadgenCeiling = ceiling

	cases := Cases(cfg)
	r.total = len(cases)
	// Timed cases run for Duration each round; conn and reconnect run until
	// done, and restarts and drains come on top: an estimate, not a bound.
	approx := time.Duration(len(cases)*len(cfg.Targets)*cfg.Rounds) * cfg.Duration
	fmt.Fprintf(r.out, "%d case(s) x %d target(s) x %d round(s) of %s: about %s of measuring\n",
		len(cases), len(cfg.Targets), cfg.Rounds, cfg.Duration, approx.Round(100*time.Millisecond))
	for i := 0; i < len(cases); {
		j := i
		for j < len(cases) && cases[j].Scenario == cases[i].Scenario {
			j++
		}
		if err := r.scenario(ctx, cases[i:j]); err != nil {
			return rep, err
		}
		i = j
	}
	return rep, nil
}

// pinLoadGenerator, when cfg asks for pinning and there are two CPUs or
// more, pins this process to all but the last CPU and returns the last for
// the broker processes, what the disclosure says about it, and how to undo it.
func pinLoadGenerator(cfg Config) (pinning string, brokerCPUs []int, unpin func()) {
	unpin = func() {}
	if !cfg.Pin {
		return "none", nil, unpin
	}
	all := allowedCPUs()
	if len(all) < 2 {
		return "none: fewer than 2 CPUs available", nil, unpin
	}
	loadCPUs := all[:len(all)-1]
	if err := pinTasks(0, loadCPUs); err != nil {
		return "none: " + err.Error(), nil, unpin
	}
	brokerCPUs = all[len(all)-1:]
	pinning = fmt.Sprintf("broker processes on cpu %s, load generator on cpu %s", cpuList(brokerCPUs), cpuList(loadCPUs))
	if slices.Contains(cfg.Targets, "reference") && cfg.BrokerBin == "" {
		pinning += " (the in-process reference broker shares the load generator's CPUs)"
	}
	return pinning, brokerCPUs, func() { pinTasks(0, all) }
}

// runner is one Run: its brokers, the report so far and its progress.
type runner struct {
	cfg     Config
	out     io.Writer
	brokers []broker
	fdLimit uint64
	rep     *Report
	done    int // cases finished, for progress
	total   int
}

// stopAll stops every broker, allowing 10 s for all of them.
func (r *runner) stopAll() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, b := range r.brokers {
		b.Stop(ctx)
	}
}

// ceiling measures the load generator against the in-process null relay:
// p2p with 10 pairs at QoS 0 and 256 bytes, closed loop.
func (r *runner) ceiling(ctx context.Context) (float64, error) {
	relay, err := startNullRelay()
	if err != nil {
		return 0, err
	}
	defer relay.Close()
	const pairs, payload = 10, 256
	c := Case{Scenario: P2P, Clients: pairs, QoS: 0, Payload: payload, Mode: Closed}
	rr := runPubSub(ctx, endpoint{addr: relay.Addr(), inProc: true}, P2P, pairs, loadFor(c, min(r.cfg.Duration, time.Second)))
	if rr.err != nil {
		return 0, rr.err
	}
	r.rep.Disclosure.Config["loadgen_ceiling"] = fmt.Sprintf("p2p/%d qos0 %dB closed loop through an in-process null relay (relay and load generator share this process's CPUs)", pairs, payload)
	r.logf("load generator ceiling (null relay, p2p/%d qos0 %dB): %s msgs/s", pairs, payload, siFormat(rr.perS))
	return rr.perS, nil
}

// scenario runs the cases of one scenario against fresh brokers: every
// target is (re)started first, and rounds interleave targets A B A B so a
// change in the machine's load hits all of them alike.
func (r *runner) scenario(ctx context.Context, cases []Case) error {
	r.stopAll()
	startErr := make([]error, len(r.brokers))
	for i, b := range r.brokers {
		if err := b.Start(ctx); err != nil {
			startErr[i] = err
			r.logf("%s: start failed: %v", b.Name(), err)
		}
	}
	defer r.stopAll()
	for _, c := range cases {
		r.done++
		if c.Mode == Open && c.Rate == 0 {
			c.Rate = r.openRate(c)
		}
		rounds := make([][]roundResult, len(r.brokers))
		for round := 1; round <= r.cfg.Rounds; round++ {
			for i, b := range r.brokers {
				if ctx.Err() != nil {
					return ctx.Err()
				}
				var rr roundResult
				switch {
				case startErr[i] != nil:
					rr = failed(fmt.Errorf("start: %w", startErr[i]))
				case c.Mode == Open && c.Rate <= 0:
					rr = failed(errNA{"no closed-loop rate to derive the offered load from"})
				default:
					if !b.Alive() { // it died in an earlier case: start it again
						if err := b.Start(ctx); err != nil {
							startErr[i] = err
							rr = failed(fmt.Errorf("restart: %w", err))
							break
						}
					}
					rr = r.runCase(ctx, b, c)
				}
				if ctx.Err() != nil {
					return ctx.Err()
				}
				rounds[i] = append(rounds[i], rr)
				r.progress(c, b.Name(), round, rr)
			}
		}
		for i, b := range r.brokers {
			r.rep.Results = append(r.rep.Results, aggregate(b.Name(), c, rounds[i]))
		}
	}
	return nil
}

// openRate is half the slowest target's closed-loop publish rate for the
// same scenario, size, QoS and payload, so all targets get the same load
// and none is driven past saturation; 0 when no target has one.
func (r *runner) openRate(c Case) float64 {
	best := 0.0
	for _, res := range r.rep.Results {
		rc := res.Case
		if rc.Mode != Closed || rc.Scenario != c.Scenario || rc.Clients != c.Clients || rc.QoS != c.QoS ||
			rc.Payload != c.Payload || res.NA != "" || res.Error != "" || res.DeliveredPerS <= 0 {
			continue
		}
		fan := 1.0
		if c.Scenario == Fanout {
			fan = float64(c.Clients)
		}
		pub := res.DeliveredPerS / fan
		if best == 0 || pub < best {
			best = pub
		}
	}
	return best / 2
}

// runCase runs one round of c against b.
func (r *runner) runCase(ctx context.Context, b broker, c Case) roundResult {
	_, inProc := b.(*refInProc)
	ep := endpoint{addr: b.Addr(), pid: b.Pid(), inProc: inProc}
	switch c.Scenario {
	case P2P, Fanout, Fanin:
		return runPubSub(ctx, ep, c.Scenario, c.Clients, loadFor(c, r.cfg.Duration))
	case Conn:
		n := c.Clients
		// Each connection costs a descriptor here and one in the broker (two
		// here when the broker runs in this process).
		perConn := uint64(1)
		if inProc {
			perConn = 2
		}
		limit := int((r.fdLimit - min(r.fdLimit, fdReserve)) / perConn)
		rr := runConn(ctx, ep, min(n, limit))
		if n > limit {
			rr.note = fmt.Sprintf("%d connections, not %d: open-file limit %d", limit, n, r.fdLimit)
		}
		return rr
	case Reconnect:
		return runReconnect(ctx, ep, c.Clients, c.QoS, c.Payload)
	}
	return roundResult{err: errors.New("unknown scenario " + c.Scenario)}
}
