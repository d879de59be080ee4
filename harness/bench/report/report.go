// Package report writes what a `wirecheck bench` run measured: bench.json,
// disclosure.json, bench.txt (Go benchmark format, for benchstat), bench.md
// and the throughput and latency plots.
package report

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/wirecheck/wirecheck/harness/bench"
)

// Output file names: an interface other tools rely on.
const (
	FileJSON       = "bench.json"
	FileDisclosure = "disclosure.json"
	FileBenchfmt   = "bench.txt"
	FileMarkdown   = "bench.md"
	FileThroughput = "throughput" // .png and .svg
	FileLatency    = "latency"    // .png and .svg
)

// WriteAll writes every output into dir (created if needed) and returns
// the paths written.
func WriteAll(dir string, r *bench.Report) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	write := func(name string, fn func(io.Writer) error) error {
		// Render fully before touching the file: a failed plot leaves no
		// half-written output behind.
		var buf bytes.Buffer
		if err := fn(&buf); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		path := filepath.Join(dir, name)
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			return err
		}
		paths = append(paths, path)
		return nil
	}
	outputs := []output{
		{FileJSON, func(w io.Writer) error { return WriteJSON(w, r) }},
		{FileDisclosure, func(w io.Writer) error { return writeIndented(w, r.Disclosure) }},
		{FileBenchfmt, func(w io.Writer) error { return WriteBenchfmt(w, r) }},
		{FileMarkdown, func(w io.Writer) error { return WriteMarkdown(w, r) }},
	}
	for _, ext := range []string{"png", "svg"} {
		outputs = append(outputs,
			output{FileThroughput + "." + ext, func(w io.Writer) error { return PlotThroughput(w, ext, r) }},
			output{FileLatency + "." + ext, func(w io.Writer) error { return PlotLatency(w, ext, r) }})
	}
	for _, o := range outputs {
		if err := write(o.name, o.fn); err != nil {
			return paths, err
		}
	}
	return paths, nil
}

type output struct {
	name string
	fn   func(io.Writer) error
}

// WriteJSON writes bench.json: a JSON array with one object per Result.
func WriteJSON(w io.Writer, r *bench.Report) error {
	rows := r.Results
	if rows == nil {
		rows = []bench.Result{} // [] rather than null: tools expect an array
	}
	return writeIndented(w, rows)
}

func writeIndented(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// Targets lists the targets in the order they first appear in the
// results: the first is the baseline for ratios.
func Targets(r *bench.Report) []string {
	return distinct(r, func(res *bench.Result) (string, bool) { return res.Target, true })
}

// Scenarios lists the scenarios in the order they first appear.
func Scenarios(r *bench.Report) []string {
	return distinct(r, func(res *bench.Result) (string, bool) { return res.Scenario, true })
}

// Cases lists the distinct cases of a scenario in the order they first appear.
func Cases(r *bench.Report, scenario string) []bench.Case {
	return distinct(r, func(res *bench.Result) (bench.Case, bool) { return res.Case, res.Scenario == scenario })
}

// distinct lists key of the results it accepts (ok), each value once, in
// the order they first appear.
func distinct[T comparable](r *bench.Report, key func(*bench.Result) (v T, ok bool)) []T {
	var out []T
	for i := range r.Results {
		if v, ok := key(&r.Results[i]); ok && !slices.Contains(out, v) {
			out = append(out, v)
		}
	}
	return out
}

// first is the first of ss, the baseline target; "" if none.
func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

// index finds results by target and case.
type index map[string]map[bench.Case]*bench.Result

func indexOf(r *bench.Report) index {
	ix := index{}
	for i := range r.Results {
		res := &r.Results[i]
		if ix[res.Target] == nil {
			ix[res.Target] = map[bench.Case]*bench.Result{}
		}
		ix[res.Target][res.Case] = res
	}
	return ix
}

func (ix index) get(target string, c bench.Case) *bench.Result { return ix[target][c] }

// Ran reports whether a result holds measurements (not n/a, no error).
func Ran(res *bench.Result) bool { return res != nil && res.NA == "" && res.Error == "" }

// Throughput is the figure a case is compared on: connections per second
// for conn, delivered messages per second otherwise.
func Throughput(res *bench.Result) float64 {
	if res.Scenario == bench.Conn {
		return res.ConnPerS
	}
	return res.DeliveredPerS
}

// Ratio is target's throughput over the first target's for the same case;
// ok is false when either did not run or the baseline is zero.
func Ratio(ix index, first, target string, c bench.Case) (ratio float64, ok bool) {
	base, res := ix.get(first, c), ix.get(target, c)
	if !Ran(base) || !Ran(res) || Throughput(base) <= 0 {
		return 0, false
	}
	return Throughput(res) / Throughput(base), true
}

// clientsNoun says what Case.Clients counts in each scenario.
func clientsNoun(scenario string) string {
	switch scenario {
	case bench.P2P:
		return "pairs"
	case bench.Fanout:
		return "subscribers"
	case bench.Fanin:
		return "publishers"
	case bench.Conn:
		return "connections"
	case bench.Reconnect:
		return "queued"
	}
	return "clients"
}

// caseLabel names a case for people: "100 subscribers, QoS 1, 256 B, open 5,000 pub/s".
func caseLabel(c bench.Case) string {
	noun := clientsNoun(c.Scenario)
	if c.Clients == 1 {
		noun = strings.TrimSuffix(noun, "s")
	}
	if c.Scenario == bench.Conn {
		return fmt.Sprintf("%d %s", c.Clients, noun)
	}
	s := fmt.Sprintf("%d %s, QoS %d, %s, %s", c.Clients, noun, c.QoS, fmtBytes(int64(c.Payload)), c.Mode)
	if c.Mode == bench.Open && c.Rate > 0 {
		s += " " + fmtCount(c.Rate) + " pub/s"
	}
	return s
}

// shortLabel names a case on a plot axis: "100/q1/256B/open".
func shortLabel(c bench.Case) string {
	if c.Scenario == bench.Conn {
		return fmt.Sprintf("%d conns", c.Clients)
	}
	return fmt.Sprintf("%d/q%d/%s/%s", c.Clients, c.QoS, strings.ReplaceAll(fmtBytes(int64(c.Payload)), " ", ""), c.Mode)
}
