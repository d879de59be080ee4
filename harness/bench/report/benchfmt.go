package report

import (
	"bufio"
	"fmt"
	"io"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"

	"github.com/wirecheck/wirecheck/harness/bench"
)

// Units of bench.txt. No spaces (golang.org/x/perf/benchfmt splits fields
// on spaces) and none containing "ns" or "MB", which benchstat rescales.
const (
	UnitMsgsPerS   = "msgs/s"
	UnitP50        = "p50-µs"
	UnitP99        = "p99-µs"
	UnitCPU        = "cpu-µs/msg"
	UnitRSS        = "rss-B"
	UnitConnPerS   = "conn/s"
	UnitCPUConn    = "cpu-µs/conn"
	UnitBytesPerCn = "B/conn"
)

// unitBetter tells benchstat which direction is an improvement for units
// it does not know ("Unit U better=higher" lines).
var unitBetter = []struct{ unit, better string }{
	{UnitMsgsPerS, "higher"}, {UnitConnPerS, "higher"},
	{UnitP50, "lower"}, {UnitP99, "lower"}, {UnitCPU, "lower"}, {UnitCPUConn, "lower"}, {UnitRSS, "lower"},
	{UnitBytesPerCn, "lower"},
}

// WriteBenchfmt writes bench.txt in the Go benchmark format: a file header
// (goos, goarch, cpu, pkg), unit metadata, then one line per round of each
// case and target, named Benchmark<Scenario>/clients=N/qos=Q/payload=B/
// mode=M/target=T (conn: clients and target only) so that
// `benchstat -col /target` sets targets side by side. The open-loop rate is
// left out of the name: it is derived from each run's closed-loop results,
// and names must match across runs for benchstat to compare them. Cases
// that did not run are "#" comment lines, which benchfmt ignores.
func WriteBenchfmt(w io.Writer, r *bench.Report) error {
	bw := bufio.NewWriter(w)
	d := r.Disclosure
	// Only stable keys as configuration: benchstat splits tables on any
	// config value that differs between files, so per-run facts (start
	// time, kernel) go in comments.
	fmt.Fprintf(bw, "goos: %s\ngoarch: %s\n", runtime.GOOS, runtime.GOARCH)
	if d.CPU != "" {
		fmt.Fprintf(bw, "cpu: %s\n", oneLine(d.CPU))
	}
	fmt.Fprintf(bw, "pkg: github.com/wirecheck/wirecheck/harness/bench\n")
	fmt.Fprintf(bw, "# wirecheck bench %s, started %s, %d cores, kernel %s, %s\n",
		oneLine(d.Wirecheck), d.Started.UTC().Format("2006-01-02T15:04:05Z"), d.Cores, oneLine(d.Kernel), oneLine(d.GoVersion))
	for _, t := range Targets(r) {
		if v, ok := d.Targets[t]; ok {
			fmt.Fprintf(bw, "# target %s: %s\n", t, oneLine(v))
		}
	}
	fmt.Fprintf(bw, "# pinning: %s; load-generator ceiling %s msgs/s (in-process null relay)\n",
		oneLine(orNone(d.Pinning)), fmtCount(d.LoadgenCeiling))
	for _, u := range unitBetter {
		fmt.Fprintf(bw, "Unit %s better=%s\n", u.unit, u.better)
	}
	for _, res := range r.Results {
		name := BenchName(res)
		if !Ran(&res) {
			why := "n/a (" + res.NA + ")"
			if res.Error != "" {
				why = "error: " + res.Error
			}
			fmt.Fprintf(bw, "# %s: %s\n", name, oneLine(why))
			continue
		}
		for _, line := range benchLines(name, &res) {
			fmt.Fprintln(bw, line)
		}
	}
	return bw.Flush()
}

// BenchName is a result's benchmark name, without the per-round values.
func BenchName(res bench.Result) string {
	var b strings.Builder
	b.WriteString("Benchmark")
	switch res.Scenario {
	case bench.P2P:
		b.WriteString("P2P")
	case "":
		b.WriteString("Unnamed")
	default:
		b.WriteString(strings.ToUpper(res.Scenario[:1]) + res.Scenario[1:])
	}
	fmt.Fprintf(&b, "/clients=%d", res.Clients)
	if res.Scenario != bench.Conn { // connections carry no messages
		fmt.Fprintf(&b, "/qos=%d/payload=%d/mode=%s", res.QoS, res.Payload, nameValue(res.Mode))
	}
	fmt.Fprintf(&b, "/target=%s", nameValue(res.Target))
	return b.String()
}

var trailingProcs = regexp.MustCompile(`-[0-9]+$`)

// nameValue makes a value safe inside a benchmark name: no "/" (it starts
// a new key), "=" or spaces, and no trailing -N (benchfmt reads that as
// GOMAXPROCS). tcp://127.0.0.1:1883 becomes tcp:127.0.0.1:1883.
func nameValue(v string) string {
	v = strings.NewReplacer("://", ":", "/", "_", "=", "_").Replace(v)
	v = strings.Join(strings.Fields(v), "_")
	if trailingProcs.MatchString(v) {
		v += "_"
	}
	if v == "" {
		v = "none"
	}
	return v
}

// benchLines are the benchmark lines of a result that ran: one per round.
// conn counts connections where the others count messages, and adds the
// memory per connection.
func benchLines(name string, res *bench.Result) []string {
	conn := res.Scenario == bench.Conn
	rateUnit, cpuUnit := UnitMsgsPerS, UnitCPU
	if conn {
		rateUnit, cpuUnit = UnitConnPerS, UnitCPUConn
	}
	var lines []string
	for _, s := range roundSamples(res) {
		if s.DeliveredPerS <= 0 {
			continue // nothing delivered: no meaningful ns/op
		}
		var vals []string
		add := func(x float64, unit string) {
			// Whole numbers in full (rss-B 12582912, not 1.25829e+07).
			v := strconv.FormatFloat(x, 'g', 6, 64)
			if x == math.Trunc(x) && math.Abs(x) < 1e15 {
				v = strconv.FormatFloat(x, 'f', -1, 64)
			}
			vals = append(vals, v, unit)
		}
		iters := int64(res.Clients) // conn: one CONNECT→CONNACK per connection
		if !conn {
			iters = roundCount(res, s.DeliveredPerS)
		}
		add(1e9/s.DeliveredPerS, "ns/op")
		add(s.DeliveredPerS, rateUnit)
		add(s.P50us, UnitP50)
		add(s.P99us, UnitP99)
		if s.CPUusPerMsg >= 0 {
			add(s.CPUusPerMsg, cpuUnit)
		}
		if conn && s.BytesPerConn > 0 {
			add(s.BytesPerConn, UnitBytesPerCn)
		}
		if s.RSSBytes >= 0 {
			add(float64(s.RSSBytes), UnitRSS)
		}
		lines = append(lines, fmt.Sprintf("%s %d %s", name, max(iters, 1), strings.Join(vals, " ")))
	}
	return lines
}

// roundSamples gives the rounds that ran, one Sample each, from Samples
// when the engine recorded them; otherwise one per rounds_delivered_per_s
// entry with the medians for the other metrics, or the medians alone.
// Conn samples carry connections per second in DeliveredPerS.
func roundSamples(res *bench.Result) []bench.Sample {
	var out []bench.Sample
	for _, s := range res.Samples {
		if s.NA != "" || s.Error != "" {
			continue
		}
		if res.Scenario == bench.Conn {
			s.DeliveredPerS = s.ConnPerS
		}
		out = append(out, s)
	}
	if len(out) > 0 {
		return out
	}
	median := bench.Sample{DeliveredPerS: Throughput(res), P50us: res.P50us, P99us: res.P99us,
		CPUusPerMsg: res.CPUusPerMsg, RSSBytes: res.RSSBytes, BytesPerConn: res.BytesPerConn}
	if len(res.RoundsPerS) == 0 || res.Scenario == bench.Conn {
		return []bench.Sample{median}
	}
	for _, x := range res.RoundsPerS {
		s := median
		s.DeliveredPerS = x
		out = append(out, s)
	}
	return out
}

// roundCount estimates the deliveries of a round at rate msgs/s: the
// iteration count of its line (benchstat does not use it in statistics).
func roundCount(res *bench.Result, rate float64) int64 {
	secs := res.Duration.Seconds()
	if res.Delivered > 0 && res.DeliveredPerS > 0 {
		secs = float64(res.Delivered) / res.DeliveredPerS // the measured window
	}
	return int64(math.Round(rate * secs))
}
