package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/harness/bench"
	"github.com/wirecheck/wirecheck/harness/bench/report"
)

// maxPayload bounds --payload well under every broker's packet limit
// (the reference broker's default --max-packet-size is 16 MiB).
const maxPayload = 1 << 20

var benchScenarios = []string{bench.P2P, bench.Fanout, bench.Fanin, bench.Conn, bench.Reconnect}

type benchFlags struct {
	out       string
	targets   []string
	scenarios []string
	qos       []int
	payloads  []string
	quick     bool
	rounds    int
	duration  time.Duration
	rate      float64
	pin       bool
	clients   []int
	failLoss  bool
}

func newBenchCmd() *cobra.Command {
	var f benchFlags
	cmd := &cobra.Command{
		Use:   "bench [--target T ...] [--scenario S ...] [--quick] --out DIR",
		Short: "Measure and compare brokers: throughput, latency, loss, CPU and memory",
		Long: `Measure MQTT brokers side by side on loopback: delivered messages per second,
latency percentiles, loss, duplicates and reordering, broker CPU time per
message and memory. Several targets in one run are measured in the same
conditions, so their ratio holds on a noisy machine; the first --target is
the baseline every ratio is computed against.

Targets (--target, repeatable; default reference):
  reference           wirecheck's reference broker, run as a child process of
                      this binary (wirecheck broker) so its CPU and RSS are measured
  mosquitto           a local mosquitto binary (PATH or /usr/sbin) as a child process
                      with the same limits: 20 messages in flight, 1000 queued, no persistence
  tcp://HOST:PORT     any running broker; it is not started, stopped or restarted,
                      and its CPU and RSS are not known (n/a)

Scenarios (--scenario, repeatable; default all), with their sizes (--clients overrides):
  p2p         N publisher/subscriber pairs, each pair on its own topic (1, 100, 1000)
  fanout      1 publisher -> N subscribers on one topic (1, 10, 100, 1000)
  fanin       N publishers -> 1 wildcard subscriber (100, 1000)
  conn        connection rate (CONNECT to CONNACK) and broker memory per idle
              connection (1000, 10000; fewer if the open-file limit is lower)
  reconnect   a persistent session queues N QoS 1/2 messages while offline, then
              reconnects and drains them (1000; n/a at QoS 0)
Each runs at every --qos (default 0, 1, 2) and --payload (default 16, 256, 4096
bytes; 16 B to 1 MiB, suffixes k/KiB and M/MiB accepted; every payload starts
with a 16-byte sequence number and send timestamp); conn carries no messages.
--quick runs a small matrix (100 clients, 256 B, 2 rounds) that two targets
finish in about a minute; the full matrix is 119 cases, about an hour of
measuring for two targets at the default 3 rounds of 5 s (the first progress
line says how long a run will take). A case a target cannot run is
reported as n/a, not failed.

Load modes:
  closed   every case: each publisher keeps a bounded window of messages in flight
           and sends as fast as the broker sustains: the highest sustainable rate
  open     per size and QoS, at one payload (256 B if selected, else the first):
           publishers send on a fixed schedule at --rate messages/s in total
           (default half the slowest target's closed-loop rate, so every target
           gets the same load) whether or not the broker keeps up; latency is
           measured from each message's scheduled send time, so a stalled
           broker shows as latency (no coordinated omission)
Latencies go into an HDR histogram (p50, p90, p99, p99.9, max). Loss, duplicates
and reordering are counted per subscriber against what it should have received.

Fairness:
  - each broker is restarted between scenarios (no state carried over)
  - targets are interleaved A B A B over --rounds rounds (default 3, quick 2)
    of --duration each (default 5s, quick 0.8s); figures are medians over rounds
  - --pin puts the broker and the load generator on different CPUs
  - the load generator's own ceiling is measured first against an in-process
    null relay and reported beside every result: a figure near it measures the
    load generator, not the broker
  - broker CPU (user+system) per delivered message and peak RSS come from /proc

Outputs, in --out (default ./wirecheck-bench), overwritten on each run:
  bench.json            one row per target x scenario x QoS x payload x mode: target,
                        scenario, clients, qos, payload, mode, delivered_per_s, p50_us,
                        p90_us, p99_us, p999_us, max_us, lost, dup, reordered,
                        cpu_us_per_msg, rss_bytes, na, error, ...
  disclosure.json       CPU, cores, kernel, Go, target versions, broker settings,
                        pinning, load-generator ceiling
  bench.txt             Go benchmark format, one line per round:
                        benchstat -col /target DIR/bench.txt
  bench.md              the disclosure, the method, and a table per scenario with
                        ratios to the first target
  throughput.png/.svg   delivered/s per case, grouped by target
  latency.png/.svg      latency percentiles per case and target (log scale)
Progress goes to stderr; a summary table and the output paths to stdout.
SIGINT or SIGTERM stops the run and its brokers; what was measured is written.

A broker that loses acknowledged QoS 1/2 messages is a finding, not a failed
run: the lost counts are in every output and listed on stderr at the end.

Exit codes: 0 every case ran (or was n/a); 1 a case failed to run, or, with
--fail-on-loss, a QoS 1/2 case lost messages; 2 bad flags or an unknown target.`,
		Example: `  wirecheck bench --quick --target reference --target mosquitto
  wirecheck bench --target mosquitto --target reference --scenario fanout --qos 0 --payload 256
  wirecheck bench --scenario p2p --qos 1 --payload 16 --rounds 1 --duration 300ms --out /tmp/b
  wirecheck bench --target reference --target tcp://127.0.0.1:1883 --pin --rounds 5
  benchstat -col /target wirecheck-bench/bench.txt`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBench(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "./wirecheck-bench", "output directory (created)")
	fl.StringArrayVarP(&f.targets, "target", "t", []string{"reference"}, "broker to measure, repeatable; the first is the baseline: reference, mosquitto or tcp://HOST:PORT")
	fl.StringSliceVarP(&f.scenarios, "scenario", "s", nil, "scenario, repeatable: "+strings.Join(benchScenarios, ", ")+" (default all)")
	fl.IntSliceVar(&f.qos, "qos", nil, "QoS level, repeatable (default 0,1,2)")
	fl.StringSliceVar(&f.payloads, "payload", nil, "payload size in bytes, repeatable, 16 to 1MiB (default 16,256,4096)")
	fl.BoolVar(&f.quick, "quick", false, "a small matrix: two targets finish in well under 3 minutes")
	fl.BoolVar(&f.failLoss, "fail-on-loss", false, "exit 1 when a QoS 1/2 case lost messages (CI gates)")
	fl.IntVar(&f.rounds, "rounds", 0, "A B A B rounds per case (default 3; 2 with --quick)")
	fl.DurationVar(&f.duration, "duration", 0, "measured time per case per round (default 5s; 0.8s with --quick)")
	fl.Float64Var(&f.rate, "rate", 0, "open-loop offered rate, messages/s in total (default half the slowest target's closed-loop rate)")
	fl.BoolVar(&f.pin, "pin", false, "pin the broker and the load generator to different CPUs")
	fl.IntSliceVar(&f.clients, "clients", nil, "clients per case, repeatable, 1 to 100000: replaces every selected scenario's sizes")
	return cmd
}

// benchConfig checks the flags and builds the run's configuration.
func benchConfig(f *benchFlags) (bench.Config, error) {
	var cfg bench.Config
	for _, t := range f.targets {
		t = strings.TrimSpace(t)
		if t == "" {
			continue
		}
		if err := bench.CheckTarget(t); err != nil {
			return cfg, usageError{err}
		}
		if slices.Contains(cfg.Targets, t) {
			return cfg, usagef("--target %s given twice", t)
		}
		cfg.Targets = append(cfg.Targets, t)
	}
	if len(cfg.Targets) == 0 {
		return cfg, usagef("no targets: give --target reference, mosquitto or tcp://HOST:PORT")
	}
	for _, s := range f.scenarios {
		if s == "all" {
			cfg.Scenarios = nil
			break
		}
		if !slices.Contains(benchScenarios, s) {
			return cfg, usagef("unknown scenario %q: want %s or all", s, strings.Join(benchScenarios, ", "))
		}
		if !slices.Contains(cfg.Scenarios, s) {
			cfg.Scenarios = append(cfg.Scenarios, s)
		}
	}
	for _, q := range f.qos {
		if q < 0 || q > 2 {
			return cfg, usagef("--qos %d: want 0, 1 or 2", q)
		}
		if !slices.Contains(cfg.QoS, byte(q)) {
			cfg.QoS = append(cfg.QoS, byte(q))
		}
	}
	for _, p := range f.payloads {
		n, err := parsePayload(p)
		if err != nil {
			return cfg, usageError{err}
		}
		if !slices.Contains(cfg.Payloads, n) {
			cfg.Payloads = append(cfg.Payloads, n)
		}
	}
	for _, n := range f.clients {
		if n < 1 || n > 100000 {
			return cfg, usagef("--clients %d: want 1 to 100000", n)
		}
		if !slices.Contains(cfg.Clients, n) {
			cfg.Clients = append(cfg.Clients, n)
		}
	}
	switch {
	case f.rounds < 0:
		return cfg, usagef("--rounds %d: want 1 or more (0 = default)", f.rounds)
	case f.duration < 0:
		return cfg, usagef("--duration %s: want a positive duration", f.duration)
	case f.rate < 0:
		return cfg, usagef("--rate %g: want a positive rate in messages/s", f.rate)
	}
	cfg.Quick, cfg.Rounds, cfg.Duration, cfg.Rate, cfg.Pin = f.quick, f.rounds, f.duration, f.rate, f.pin
	return cfg, nil
}

// parsePayload reads a size in bytes: 256, 4k, 4KiB, 1M, 1MiB.
func parsePayload(s string) (int, error) {
	num, mult := strings.TrimSpace(s), 1
	for _, u := range []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"k", 1 << 10}, {"K", 1 << 10}, {"M", 1 << 20}, {"B", 1}} {
		if strings.HasSuffix(num, u.suffix) {
			num, mult = strings.TrimSuffix(num, u.suffix), u.mult
			break
		}
	}
	n, err := strconv.Atoi(strings.TrimSpace(num))
	if err != nil {
		return 0, fmt.Errorf("--payload %q: want a size in bytes such as 256 or 4KiB", s)
	}
	n *= mult
	if n < bench.HeaderSize || n > maxPayload {
		return 0, fmt.Errorf("--payload %q: want %d B (the sequence number and timestamp header) to 1 MiB", s, bench.HeaderSize)
	}
	return n, nil
}

func runBench(cmd *cobra.Command, f *benchFlags) error {
	cfg, err := benchConfig(f)
	if err != nil {
		return err
	}
	if len(bench.Cases(cfg)) == 0 {
		return usagef("nothing to run: no case matches --scenario %s --qos %v --payload %v",
			strings.Join(f.scenarios, ","), f.qos, f.payloads)
	}
	// The reference broker runs as a child process of this very binary so
	// that its CPU and RSS are measured like any other broker's.
	if exe, err := os.Executable(); err == nil {
		cfg.BrokerBin = exe
	}
	cfg.Progress = cmd.ErrOrStderr()

	// SIGINT cancels the run; Run stops the brokers it started before it returns.
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	rep, runErr := bench.Run(ctx, cfg)
	if rep == nil {
		if runErr == nil {
			runErr = errors.New("bench: no report")
		}
		return runErr
	}
	paths, err := report.WriteAll(f.out, rep)
	out := cmd.OutOrStdout()
	fmt.Fprintln(out)
	report.WriteSummary(out, rep)
	fmt.Fprintln(out)
	for _, p := range paths {
		fmt.Fprintln(out, p)
	}
	switch {
	case runErr != nil && ctx.Err() != nil:
		return fmt.Errorf("bench interrupted: %w (partial results written)", runErr)
	case runErr != nil:
		return runErr
	case err != nil:
		return fmt.Errorf("writing outputs: %w", err)
	}
	return benchVerdict(rep, f.failLoss, cmd.ErrOrStderr())
}

// benchVerdict fails the run (exit 1) when a case errored, and, with
// failLoss, when a QoS 1/2 case lost messages; otherwise losses, which
// are the broker's and not the run's, are listed on w.
func benchVerdict(rep *bench.Report, failLoss bool, w io.Writer) error {
	var failed, lossy []string
	for _, r := range rep.Results {
		name := strings.TrimPrefix(report.BenchName(r), "Benchmark")
		switch {
		case r.Error != "":
			failed = append(failed, name+": "+r.Error)
		case r.NA == "" && r.QoS > 0 && r.Lost > 0:
			lossy = append(lossy, fmt.Sprintf("%s: lost %d in %d round(s)", name, r.Lost, r.Rounds))
		}
	}
	if len(failed) == 0 && !failLoss {
		if len(lossy) > 0 {
			fmt.Fprintf(w, "warning: %d case(s) lost acknowledged QoS 1/2 messages:\n  %s\n", len(lossy), strings.Join(lossy, "\n  "))
		}
		return nil
	}
	if len(failed)+len(lossy) == 0 {
		return nil
	}
	return fmt.Errorf("bench: %d case(s) failed, %d lost QoS 1/2 messages:\n  %s",
		len(failed), len(lossy), strings.Join(append(failed, lossy...), "\n  "))
}
