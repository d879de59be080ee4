package bench

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Scenarios in the order they run.
var allScenarios = []string{P2P, Fanout, Fanin, Conn, Reconnect}

// Sizes per scenario (Case.Clients): full and quick matrices.
var (
	fullSizes = map[string][]int{
		P2P: {1, 100, 1000}, Fanout: {1, 10, 100, 1000}, Fanin: {100, 1000},
		Conn: {1000, 10000}, Reconnect: {1000},
	}
	quickSizes = map[string][]int{
		P2P: {100}, Fanout: {100}, Fanin: {100}, Conn: {1000}, Reconnect: {500},
	}
)

// openPayload is the payload open-loop rows use when the run includes it
// (otherwise the first payload): latency at equal load is compared at one
// size, throughput at all.
const openPayload = 256

// withDefaults fills the zero values of cfg as documented on Config.
func (cfg Config) withDefaults() Config {
	if len(cfg.Scenarios) == 0 {
		cfg.Scenarios = allScenarios
	}
	if len(cfg.QoS) == 0 {
		cfg.QoS = []byte{0, 1, 2}
	}
	if len(cfg.Payloads) == 0 {
		if cfg.Quick {
			cfg.Payloads = []int{openPayload}
		} else {
			cfg.Payloads = []int{16, 256, 4096}
		}
	}
	if cfg.Rounds <= 0 {
		cfg.Rounds = 3
		if cfg.Quick {
			cfg.Rounds = 2
		}
	}
	if cfg.Duration <= 0 {
		cfg.Duration = 5 * time.Second
		if cfg.Quick {
			cfg.Duration = time.Second
		}
	}
	return cfg
}

// validate checks a config after withDefaults.
func (cfg Config) validate() error {
	if len(cfg.Targets) == 0 {
		return fmt.Errorf("no target: give at least one of reference, mosquitto, tcp://HOST:PORT")
	}
	seen := map[string]bool{}
	for _, t := range cfg.Targets {
		if seen[t] {
			return fmt.Errorf("target %q given twice", t)
		}
		seen[t] = true
	}
	for _, s := range cfg.Scenarios {
		if !slices.Contains(allScenarios, s) {
			return fmt.Errorf("unknown scenario %q: want %s", s, strings.Join(allScenarios, ", "))
		}
	}
	for _, q := range cfg.QoS {
		if q > 2 {
			return fmt.Errorf("QoS %d: want 0, 1 or 2", q)
		}
	}
	for _, p := range cfg.Payloads {
		if p < HeaderSize || p > 1<<20 {
			return fmt.Errorf("payload %d bytes: want %d (the sequence/timestamp header) to 1 MiB", p, HeaderSize)
		}
	}
	for _, n := range cfg.Clients {
		if n < 1 || n > 100000 {
			return fmt.Errorf("clients %d: want 1 to 100000", n)
		}
	}
	if cfg.Rate < 0 {
		return fmt.Errorf("rate %v: must not be negative", cfg.Rate)
	}
	return nil
}

// Cases returns the matrix cfg expands to, in the order Run measures it:
// scenario by scenario, closed-loop cases first, then the open-loop ones
// (whose rate, unless cfg.Rate is set, is derived from the closed-loop
// results of the same scenario, size, QoS and payload; Rate is 0 here then).
func Cases(cfg Config) []Case {
	cfg = cfg.withDefaults()
	sizes := fullSizes
	if cfg.Quick {
		sizes = quickSizes
	}
	if len(cfg.Clients) > 0 {
		sizes = map[string][]int{}
		for _, s := range allScenarios {
			sizes[s] = cfg.Clients
		}
	}
	op := cfg.Payloads[0]
	if slices.Contains(cfg.Payloads, openPayload) {
		op = openPayload
	}
	var out []Case
	for _, s := range allScenarios {
		if !slices.Contains(cfg.Scenarios, s) {
			continue
		}
		switch s {
		case Conn:
			// Connections carry no messages: QoS and payload do not apply.
			for _, n := range sizes[s] {
				out = append(out, Case{Scenario: s, Clients: n, Mode: Closed})
			}
			continue
		case Reconnect:
			for _, n := range sizes[s] {
				for _, q := range cfg.QoS {
					for _, p := range cfg.Payloads {
						out = append(out, Case{Scenario: s, Clients: n, QoS: q, Payload: p, Mode: Closed})
					}
				}
			}
			continue
		}
		var open []Case
		for _, n := range sizes[s] {
			for _, q := range cfg.QoS {
				for _, p := range cfg.Payloads {
					out = append(out, Case{Scenario: s, Clients: n, QoS: q, Payload: p, Mode: Closed})
				}
				// Quick: latency at equal load for p2p and fan-out at QoS 0 and 1,
				// the figures the goal compares.
				if cfg.Quick && (s == Fanin || q == 2) {
					continue
				}
				open = append(open, Case{Scenario: s, Clients: n, QoS: q, Payload: op, Mode: Open, Rate: cfg.Rate})
			}
		}
		out = append(out, open...)
	}
	return out
}

func (c Case) String() string {
	s := fmt.Sprintf("%s/%d", c.Scenario, c.Clients)
	if c.Scenario == Conn {
		return s
	}
	s += fmt.Sprintf(" qos%d %dB %s", c.QoS, c.Payload, c.Mode)
	if c.Mode == Open && c.Rate > 0 {
		s += fmt.Sprintf(" @%s/s", siFormat(c.Rate))
	}
	return s
}
