package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"runtime"
	"slices"
	"strconv"
	"strings"
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

	pinning := "none"
	var brokerCPUs []int
	if cfg.Pin {
		all := allowedCPUs()
		switch {
		case len(all) < 2:
			pinning = "none: fewer than 2 CPUs available"
		default:
			loadCPUs := all[:len(all)-1]
			if err := pinTasks(0, loadCPUs); err != nil {
				pinning = "none: " + err.Error()
			} else {
				defer pinTasks(0, all)
				brokerCPUs = all[len(all)-1:]
				pinning = fmt.Sprintf("broker processes on cpu %s, load generator on cpu %s", cpuList(brokerCPUs), cpuList(loadCPUs))
				if slices.Contains(cfg.Targets, "reference") && cfg.BrokerBin == "" {
					pinning += " (the in-process reference broker shares the load generator's CPUs)"
				}
			}
		}
	}

	for _, t := range cfg.Targets {
		b, err := newBroker(t, cfg.BrokerBin, brokerCPUs)
		if err != nil {
			return nil, err
		}
		r.brokers = append(r.brokers, b)
	}
	defer r.stopAll()

	rep := &Report{Disclosure: Disclosure{
		Started: time.Now().UTC(), CPU: cpuModel(), Cores: runtime.NumCPU(), Kernel: kernel(),
		GoVersion: runtime.Version(), Wirecheck: buildVersion(), Targets: map[string]string{},
		Config: map[string]string{}, Pinning: pinning, Quick: cfg.Quick,
	}}
	r.rep = rep
	for _, b := range r.brokers {
		rep.Disclosure.Targets[b.Name()] = b.Version()
		rep.Disclosure.Config[b.Name()] = b.Settings()
	}
	rep.Disclosure.Config["load"] = fmt.Sprintf("rounds=%d duration=%v; closed loop: <=64 messages in flight per publisher, "+
		"<=%d per subscriber at QoS 1/2 (half the brokers' in-flight window), <=2048 in all; open loop at %s, "+
		"latency from the scheduled send time; open-file limit %d",
		cfg.Rounds, cfg.Duration, brokerInflight/2, rateRule(cfg), r.fdLimit)

	ceiling, err := r.ceiling(ctx)
	if err != nil {
		return rep, fmt.Errorf("load generator ceiling: %w", err)
	}
	rep.Disclosure.LoadgenCeiling = ceiling

	cases := Cases(cfg)
	r.total = len(cases)
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

func rateRule(cfg Config) string {
	if cfg.Rate > 0 {
		return fmt.Sprintf("%s msgs/s", siFormat(cfg.Rate))
	}
	return "half the slowest target's closed-loop rate"
}

type runner struct {
	cfg     Config
	out     io.Writer
	brokers []broker
	fdLimit uint64
	rep     *Report
	done    int // cases finished, for progress
	total   int
}

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

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
	w, pool := closedWindow(topologyFor(P2P, pairs, ""), 0, payload)
	rr := runPubSub(ctx, endpoint{addr: relay.Addr(), inProc: true}, P2P, pairs, load{qos: 0, payload: payload,
		dur: min(r.cfg.Duration, time.Second), window: w, pool: pool})
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
					rr = roundResult{na: "no closed-loop rate to derive the offered load from", cpu: -1, peak: -1, steady: -1}
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
		w, pool := closedWindow(topologyFor(c.Scenario, c.Clients, ""), c.QoS, c.Payload)
		return runPubSub(ctx, ep, c.Scenario, c.Clients, load{qos: c.QoS, payload: c.Payload,
			open: c.Mode == Open, rate: c.Rate, dur: r.cfg.Duration, window: w, pool: pool})
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

func (r *runner) progress(c Case, target string, round int, rr roundResult) {
	head := fmt.Sprintf("[%d/%d] %-32s %-10s round %d/%d:", r.done, r.total, c.String(), target, round, r.cfg.Rounds)
	switch {
	case rr.na != "":
		r.logf("%s n/a (%s)", head, rr.na)
	case rr.err != nil:
		r.logf("%s FAILED: %v", head, rr.err)
	case c.Scenario == Conn:
		line := fmt.Sprintf("%s %s conn/s, CONNACK p99 %s", head, siFormat(rr.connPerS), usFormat(rr.lat.P99))
		if rr.bytesPerConn > 0 {
			line += fmt.Sprintf(", %.1f kB/conn", rr.bytesPerConn/1024)
		}
		if rr.note != "" {
			line += " (" + rr.note + ")"
		}
		r.logf("%s", line)
	default:
		line := fmt.Sprintf("%s %s msgs/s, p99 %s, lost %d, dup %d", head, siFormat(rr.perS), usFormat(rr.lat.P99), rr.counts.Lost, rr.counts.Dup)
		if cpu := rr.cpuPerMsg(); cpu >= 0 {
			line += fmt.Sprintf(", cpu %.2f µs/msg", cpu)
		}
		if cpu := rr.loadgenPerMsg(); cpu >= 0 {
			line += fmt.Sprintf(" (load generator %.2f)", cpu)
		}
		r.logf("%s", line)
	}
}

func usFormat(us float64) string {
	if us >= 10000 {
		return fmt.Sprintf("%.1f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}
