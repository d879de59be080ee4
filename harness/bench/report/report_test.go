package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/harness/bench"
)

// synthetic is a two-target report with a ratio of exactly 2, an n/a case,
// an errored case, a conn case, a third target given by URL (recorded
// without per-round samples) and latencies spanning decades.
func synthetic() *bench.Report {
	p2p := bench.Case{Scenario: bench.P2P, Clients: 1, QoS: 0, Payload: 16, Mode: bench.Closed}
	p2pOpen := bench.Case{Scenario: bench.P2P, Clients: 1, QoS: 1, Payload: 256, Mode: bench.Open, Rate: 5000}
	fan := bench.Case{Scenario: bench.Fanout, Clients: 100, QoS: 1, Payload: 4096, Mode: bench.Closed}
	conn := bench.Case{Scenario: bench.Conn, Clients: 1000, Mode: bench.Closed} // no QoS or payload
	rec := bench.Case{Scenario: bench.Reconnect, Clients: 100, QoS: 1, Payload: 16, Mode: bench.Closed}
	ran := func(target string, c bench.Case, perS float64, rounds ...float64) bench.Result {
		r := bench.Result{Target: target, Case: c, Rounds: len(rounds), Sent: 1000, Expected: 1000, Delivered: 1000,
			DeliveredPerS: perS, RoundsPerS: rounds, P50us: 40, P90us: 90, P99us: 200, P999us: 900, MaxUs: 15000,
			CPUusPerMsg: 3.5, RSSBytes: 12 << 20, Duration: time.Second}
		for i, x := range rounds {
			r.Samples = append(r.Samples, bench.Sample{DeliveredPerS: x, P50us: 40 + float64(i), P99us: 200 + float64(i),
				CPUusPerMsg: 3.5, RSSBytes: 12 << 20})
		}
		return r
	}
	connRes := func(target string, perS float64) bench.Result {
		r := ran(target, conn, 0)
		r.ConnPerS, r.BytesPerConn, r.RSSBytes = perS, 5120, 20<<20
		r.P50us, r.P90us, r.P99us, r.P999us, r.MaxUs = 300, 500, 900, 1000, 1100
		r.Samples = []bench.Sample{{ConnPerS: perS, P50us: 300, P99us: 900, CPUusPerMsg: 7, RSSBytes: 20 << 20, BytesPerConn: 5120}}
		r.Note = "p50…max are CONNACK times; cpu_us_per_msg is per connection"
		return r
	}
	ext := ran("tcp://127.0.0.1:1883", p2p, 50, 50)
	ext.CPUusPerMsg, ext.RSSBytes, ext.Samples = -1, -1, nil
	mosqConn := connRes("mosquitto", 30_000)
	mosqConn.Note += "; 900 connections, not 1000: open-file limit 1024"
	return &bench.Report{
		Disclosure: bench.Disclosure{
			Started: time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC), CPU: "Test CPU @ 2.00GHz", Cores: 2,
			Kernel: "Linux 6.1.0", GoVersion: "go1.26.0", Wirecheck: "dev",
			Targets: map[string]string{"reference": "wirecheck dev", "mosquitto": "mosquitto 2.0.11"},
			Config:  map[string]string{"max_inflight": "20", "persistence": "off"}, Pinning: "none", Quick: true,
			LoadgenCeiling: 2_500_000,
		},
		Results: []bench.Result{
			ran("reference", p2p, 200_000, 190_000, 200_000, 210_000),
			ran("mosquitto", p2p, 100_000, 99_000, 100_000, 101_000),
			ext,
			ran("reference", p2pOpen, 5000, 5000, 5000),
			ran("mosquitto", p2pOpen, 5000, 5000, 5000),
			ran("reference", fan, 1_000_000, 1_000_000),
			{Target: "mosquitto", Case: fan, Error: "connection refused"},
			connRes("reference", 20_000),
			mosqConn,
			ran("reference", rec, 50_000, 50_000),
			{Target: "mosquitto", Case: rec, NA: "no persistent sessions"},
		},
	}
}

func TestWriteAll(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new", "dir") // created by WriteAll
	paths, err := WriteAll(dir, synthetic())
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bench.json", "disclosure.json", "bench.txt", "bench.md",
		"throughput.png", "latency.png", "throughput.svg", "latency.svg"}
	for _, name := range want {
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		if !slices.Contains(paths, path) {
			t.Errorf("WriteAll did not return %s", path)
		}
	}
	if len(paths) != len(want) {
		t.Errorf("paths %v", paths)
	}
}

func TestJSON(t *testing.T) {
	r := synthetic()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, r); err != nil {
		t.Fatal(err)
	}
	// The field names other tools rely on.
	var rows []map[string]any
	if err := json.Unmarshal(buf.Bytes(), &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) != len(r.Results) {
		t.Fatalf("%d rows, want %d", len(rows), len(r.Results))
	}
	for _, row := range rows {
		for _, f := range []string{"target", "scenario", "qos", "payload", "delivered_per_s", "p50_us", "p99_us",
			"lost", "dup", "cpu_us_per_msg", "rss_bytes", "mode", "clients"} {
			if _, ok := row[f]; !ok {
				t.Errorf("row lacks %q: %v", f, row)
			}
		}
	}
	// Round trip.
	var back []bench.Result
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	again, _ := json.Marshal(back)
	orig, _ := json.Marshal(r.Results)
	if !bytes.Equal(again, orig) {
		t.Errorf("round trip differs:\n%s\n%s", again, orig)
	}
	// No results: an empty array, not null.
	buf.Reset()
	WriteJSON(&buf, &bench.Report{})
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Errorf("empty report: %q", buf.String())
	}
}

// The Go benchmark format (golang.org/x/perf/benchfmt): a result line is
// Benchmark<Name> <iterations> then value-unit pairs; name parts are
// /key=value; units have no spaces; config lines are "key: value" with a
// lower-case key.
var (
	benchLine  = regexp.MustCompile(`^Benchmark[A-Z][A-Za-z0-9]*((?:/[a-z]+=[^\s/=]+)+)\s(\d+)((?:\s+[-+0-9.e]+\s+\S+)+)$`)
	configLine = regexp.MustCompile(`^[a-z][^\sA-Z]*:\s`)
	unitLine   = regexp.MustCompile(`^Unit \S+ better=(higher|lower)$`)
)

func TestBenchfmt(t *testing.T) {
	r := synthetic()
	var buf bytes.Buffer
	if err := WriteBenchfmt(&buf, r); err != nil {
		t.Fatal(err)
	}
	text := buf.String()
	var config []string
	var benches, comments int
	byTarget := map[string]int{}
	for line := range strings.Lines(text) {
		line = strings.TrimSuffix(line, "\n")
		switch {
		case strings.HasPrefix(line, "Benchmark"):
			m := benchLine.FindStringSubmatch(line)
			if m == nil {
				t.Errorf("bad benchmark line: %q", line)
				continue
			}
			benches++
			keys := map[string]string{}
			for part := range strings.SplitSeq(m[1][1:], "/") {
				k, v, _ := strings.Cut(part, "=")
				keys[k] = v
			}
			byTarget[keys["target"]]++
			for _, k := range []string{"clients", "qos", "payload", "mode", "target"} {
				if keys[k] == "" && !(strings.HasPrefix(line, "BenchmarkConn/") && k != "clients" && k != "target") {
					t.Errorf("%q lacks key %s", line, k)
				}
			}
			if regexp.MustCompile(`-[0-9]+$`).MatchString(m[1]) {
				t.Errorf("%q ends like a GOMAXPROCS suffix", line)
			}
			fields := strings.Fields(m[3])
			units := map[string]bool{}
			for i := 1; i < len(fields); i += 2 {
				units[fields[i]] = true
			}
			want := []string{"ns/op", UnitMsgsPerS, UnitP50, UnitP99}
			if keys["target"] != "tcp:127.0.0.1:1883" {
				want = append(want, UnitCPU, UnitRSS) // the external target has neither
			}
			if strings.HasPrefix(line, "BenchmarkConn/") {
				want = []string{"ns/op", UnitConnPerS, UnitP50, UnitP99, UnitCPUConn, UnitBytesPerCn, UnitRSS}
			}
			for _, u := range want {
				if !units[u] {
					t.Errorf("%q lacks unit %s", line, u)
				}
			}
		case strings.HasPrefix(line, "#"):
			comments++
		case strings.HasPrefix(line, "Unit "):
			if !unitLine.MatchString(line) {
				t.Errorf("bad unit line %q", line)
			}
		case configLine.MatchString(line):
			config = append(config, strings.SplitN(line, ":", 2)[0])
		default:
			t.Errorf("unexpected line %q", line)
		}
	}
	if !slices.Equal(config, []string{"goos", "goarch", "cpu", "pkg"}) {
		t.Errorf("config keys %v", config)
	}
	// One line per round: reference 3+2+1+1+1, mosquitto 3+2+1, external 1.
	want := map[string]int{"reference": 8, "mosquitto": 6, "tcp:127.0.0.1:1883": 1}
	for k, n := range want {
		if byTarget[k] != n {
			t.Errorf("target %s: %d lines, want %d\n%s", k, byTarget[k], n, text)
		}
	}
	if benches != 15 {
		t.Errorf("%d benchmark lines, want 15", benches)
	}
	for _, want := range []string{
		"# BenchmarkFanout/clients=100/qos=1/payload=4096/mode=closed/target=mosquitto: error: connection refused",
		"# BenchmarkReconnect/clients=100/qos=1/payload=16/mode=closed/target=mosquitto: n/a (no persistent sessions)",
		"BenchmarkP2P/clients=1/qos=1/payload=256/mode=open/target=reference ",
		"BenchmarkP2P/clients=1/qos=0/payload=16/mode=closed/target=reference 950 5263.16 ns/op 190000 msgs/s 40 p50-µs 200 p99-µs 3.5 cpu-µs/msg 12582912 rss-B\n",
		"/target=reference 1050 4761.9 ns/op 210000 msgs/s 42 p50-µs 202 p99-µs", // the third round's own sample
		"BenchmarkP2P/clients=1/qos=0/payload=16/mode=closed/target=tcp:127.0.0.1:1883 1000 20000000 ns/op 50 msgs/s 40 p50-µs 200 p99-µs\n",
		"BenchmarkConn/clients=1000/target=mosquitto 1000 33333.3 ns/op 30000 conn/s 300 p50-µs 900 p99-µs 7 cpu-µs/conn 5120 B/conn 20971520 rss-B\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("bench.txt lacks %q:\n%s", want, text)
		}
	}
}

func TestNameValue(t *testing.T) {
	for in, want := range map[string]string{
		"reference":                         "reference",
		"tcp://127.0.0.1:1883":              "tcp:127.0.0.1:1883",
		"ws://127.0.0.1:8080/mqtt":          "ws:127.0.0.1:8080_mqtt",
		"container:eclipse-mosquitto:2":     "container:eclipse-mosquitto:2",
		"container:broker-2":                "container:broker-2_",
		"a b=c":                             "a_b_c",
		"":                                  "none",
		"container:eclipse-mosquitto:2-rc1": "container:eclipse-mosquitto:2-rc1",
	} {
		if got := nameValue(in); got != want {
			t.Errorf("nameValue(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, synthetic()); err != nil {
		t.Fatal(err)
	}
	md := buf.String()
	cases := []struct {
		name string
		want string
	}{
		{"header CPU and cores", "| CPU | Test CPU @ 2.00GHz (2 cores) |"},
		{"header kernel", "| Kernel | Linux 6.1.0 |"},
		{"header target version", "| Target mosquitto | mosquitto 2.0.11 |"},
		{"header config", "| Config max_inflight | 20 |"},
		{"header ceiling", "| Load-generator ceiling | 2,500,000 deliveries/s (in-process null relay) |"},
		{"header pinning", "| Pinning | none |"},
		{"baseline named", "Ratios are to the first target, **reference**"},
		{"method", "scheduled* send time"},
		{"columns per target", "| case | reference delivered/s | reference p50 / p99 µs | reference lost / dup | reference CPU µs/msg | reference RSS | mosquitto delivered/s |"},
		{"ratio to the first target", "| 1 pair, QoS 0, 16 B, closed | 200,000 | 40 / 200 | 0 / 0 | 3.5 | 12 MiB | 100,000 (0.50×) | 40 / 200 |"},
		{"ratio of a third target", "| 50 (0.00025×) |"},
		{"unknown CPU and RSS", "n/a (not a local process) | n/a (unknown) |"},
		{"open loop with its rate", "| 1 pair, QoS 1, 256 B, open 5,000 pub/s | 5,000 |"},
		{"equal throughput", "| 5,000 (1.00×) |"},
		{"n/a with the reason", "| n/a (no persistent sessions) |"},
		{"error", "| error: connection refused |"},
		{"conn columns", "| case | reference conn/s | reference CONNACK p50 / p99 µs | reference B/conn | reference CPU µs/conn | reference RSS |"},
		{"conn ratio", "| 1000 connections | 20,000 | 300 / 900 | 5,120 | 3.5 | 20 MiB | 30,000 (1.50×) |"},
		{"a note every result has", "\n- p50…max are CONNACK times\n- cpu_us_per_msg is per connection\n"},
		{"a note naming where it applies", "- 900 connections, not 1000: open-file limit 1024 (mosquitto, 1000 connections)\n"},
		{"target not in every case", "| n/a (not run) |"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(md, tc.want) {
				t.Errorf("bench.md lacks %q:\n%s", tc.want, md)
			}
		})
	}
	// Every table row has as many cells as its header.
	var cols int
	for line := range strings.Lines(md) {
		if !strings.HasPrefix(line, "| case |") && !strings.HasPrefix(line, "| ") {
			cols = 0
			continue
		}
		n := strings.Count(strings.ReplaceAll(line, `\|`, ""), "|")
		if strings.HasPrefix(line, "| case |") {
			cols = n
		} else if cols > 0 && n != cols {
			t.Errorf("row has %d separators, header %d: %s", n, cols, line)
		}
	}
}

func TestRatio(t *testing.T) {
	r := synthetic()
	ix := indexOf(r)
	p2p := r.Results[0].Case
	fan := r.Results[5].Case
	rec := r.Results[9].Case
	cases := []struct {
		target string
		c      bench.Case
		want   float64
		ok     bool
	}{
		{"reference", p2p, 1, true},
		{"mosquitto", p2p, 0.5, true},
		{"mosquitto", fan, 0, false}, // errored
		{"mosquitto", rec, 0, false}, // n/a
		{"nobody", p2p, 0, false},
	}
	for _, tc := range cases {
		got, ok := Ratio(ix, "reference", tc.target, tc.c)
		if got != tc.want || ok != tc.ok {
			t.Errorf("Ratio(%s, %+v) = %v, %v; want %v, %v", tc.target, tc.c, got, ok, tc.want, tc.ok)
		}
	}
	if got := Targets(r); !slices.Equal(got, []string{"reference", "mosquitto", "tcp://127.0.0.1:1883"}) {
		t.Errorf("Targets = %v", got)
	}
}

func TestSummary(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteSummary(&buf, synthetic()); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	for _, want := range [][]string{
		{"scenario", "target", "ran", "n/a", "errors", "best/s"},
		{"p2p", "reference", "2", "0", "0", "200,000", "200", "0", "0", "–"},
		{"p2p", "mosquitto", "2", "0", "0", "100,000", "200", "0", "0", "0.71×"}, // geomean of 0.5 and 1
		{"fanout", "mosquitto", "0", "0", "1", "0", "–", "0", "0", "–"},
		{"conn", "mosquitto", "1", "0", "0", "30,000", "–", "0", "0", "1.50×"},
		{"reconnect", "mosquitto", "0", "1", "0"},
	} {
		found := false
		for line := range strings.Lines(out) {
			if f := strings.Fields(line); len(f) >= len(want) && slices.Equal(f[:len(want)], want) {
				found = true
			}
		}
		if !found {
			t.Errorf("summary lacks a line starting %v:\n%s", want, out)
		}
	}
}

func TestPlots(t *testing.T) {
	wide := synthetic()
	narrow := &bench.Report{Results: []bench.Result{
		{Target: "a", Case: bench.Case{Scenario: bench.P2P, Clients: 1, Payload: 16, Mode: bench.Closed}, DeliveredPerS: 1000, P50us: 10, P99us: 20},
		{Target: "b", Case: bench.Case{Scenario: bench.P2P, Clients: 1, Payload: 16, Mode: bench.Closed}, DeliveredPerS: 2000, P50us: 5, P99us: 9},
	}}
	naOnly := &bench.Report{Results: []bench.Result{
		{Target: "a", Case: bench.Case{Scenario: bench.Conn, Clients: 1}, NA: "external"},
	}}
	cases := []struct {
		name     string
		r        *bench.Report
		plot     func(w *bytes.Buffer, r *bench.Report) error
		want     []string
		wantNot  []string
		wantSize int
	}{
		{"throughput, wide range: log scale", wide, func(w *bytes.Buffer, r *bench.Report) error { return PlotThroughput(w, "svg", r) },
			[]string{"p2p", "fanout", "conn", "reconnect", "reference", "mosquitto", "(log scale)", "n/a", "err", "1/q0/16B/closed"}, nil, 0},
		{"throughput, narrow range: linear", narrow, func(w *bytes.Buffer, r *bench.Report) error { return PlotThroughput(w, "svg", r) },
			[]string{"delivered msgs/s", "a", "b"}, []string{"log scale"}, 0},
		{"latency: no conn panel", wide, func(w *bytes.Buffer, r *bench.Report) error { return PlotLatency(w, "svg", r) },
			[]string{"p2p", "fanout", "p50", "p99.9", "max", "latency µs (log scale)"}, []string{">conn<"}, 0},
		{"latency: nothing to plot", naOnly, func(w *bytes.Buffer, r *bench.Report) error { return PlotLatency(w, "svg", r) },
			[]string{"no measurements to plot"}, nil, 0},
		{"throughput of n/a only", naOnly, func(w *bytes.Buffer, r *bench.Report) error { return PlotThroughput(w, "svg", r) },
			[]string{"conn", "n/a"}, nil, 0},
		{"empty report", &bench.Report{}, func(w *bytes.Buffer, r *bench.Report) error { return PlotThroughput(w, "svg", r) },
			[]string{"no measurements to plot"}, nil, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := tc.plot(&buf, tc.r); err != nil {
				t.Fatal(err)
			}
			svg := buf.String()
			for _, w := range tc.want {
				if !strings.Contains(svg, w) {
					t.Errorf("SVG lacks %q", w)
				}
			}
			for _, w := range tc.wantNot {
				if strings.Contains(svg, w) {
					t.Errorf("SVG has %q", w)
				}
			}
		})
	}
}

func TestFormat(t *testing.T) {
	for _, tc := range []struct {
		got, want string
	}{
		{fmtCount(0), "0"}, {fmtCount(3.456), "3.46"}, {fmtCount(999), "999"}, {fmtCount(1000), "1,000"},
		{fmtCount(1234567.8), "1,234,568"}, {fmtCount(-2500), "-2,500"},
		{fmtBytes(16), "16 B"}, {fmtBytes(4096), "4 KiB"}, {fmtBytes(12 << 20), "12 MiB"}, {fmtBytes(1536 << 10), "1.5 MiB"},
		{caseLabel(bench.Case{Scenario: bench.Fanout, Clients: 10, QoS: 2, Payload: 4096, Mode: bench.Open, Rate: 20000}),
			"10 subscribers, QoS 2, 4 KiB, open 20,000 pub/s"},
		{shortLabel(bench.Case{Scenario: bench.Fanin, Clients: 100, QoS: 1, Payload: 256, Mode: bench.Closed}), "100/q1/256B/closed"},
		{caseLabel(bench.Case{Scenario: bench.Conn, Clients: 1, Mode: bench.Closed}), "1 connection"},
		{shortLabel(bench.Case{Scenario: bench.Conn, Clients: 10000, Mode: bench.Closed}), "10000 conns"},
	} {
		if tc.got != tc.want {
			t.Errorf("got %q, want %q", tc.got, tc.want)
		}
	}
}
