package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/wirecheck/wirecheck/harness/bench"
)

// Method is the note on method printed in bench.md.
const Method = `Closed loop: each publisher keeps a bounded window of messages in flight
and sends as fast as the broker sustains without loss; delivered/s is what the
subscribers received per second. Open loop: publishers send on a fixed
schedule at the offered rate (publishes per second, all publishers together;
the same for every target) whether or not the broker keeps up, and latency
is measured from each message's *scheduled* send time, so a stalled broker
shows as latency instead of hiding it (no coordinated omission); latencies go
into an HDR histogram. Each payload carries a sequence number and a send
timestamp: lost, duplicated and reordered deliveries are counted against what
each subscriber should have got (lost / dup: summed over all rounds). Broker CPU (user + system) per delivered
message and RSS are read from /proc for a broker running as a local process.
Fairness: each broker is restarted between scenarios, targets are interleaved
A B A B over the rounds and every figure is the median over rounds; with
pinning the broker and the load generator run on different CPUs. The load
generator's own ceiling (against an in-process null relay) is in the header:
a figure near it measures the load generator, not the broker.`

// WriteMarkdown writes bench.md: the full-disclosure header, the method,
// then one table per scenario with one row per case and, per target,
// throughput with its ratio to the first target, latency, loss and cost.
func WriteMarkdown(w io.Writer, r *bench.Report) error {
	var b strings.Builder
	d := r.Disclosure
	targets := Targets(r)
	b.WriteString("# wirecheck bench\n\n")
	run := "full run"
	if d.Quick {
		run = "quick run"
	}
	fmt.Fprintf(&b, "Started %s, wirecheck %s, %s. Ratios are to the first target, **%s**.\n\n",
		d.Started.UTC().Format("2006-01-02 15:04:05 UTC"), orDash(d.Wirecheck), run, orDash(first(targets)))
	b.WriteString("| | |\n|---|---|\n")
	row := func(k, v string) { fmt.Fprintf(&b, "| %s | %s |\n", k, cell(v)) }
	row("CPU", fmt.Sprintf("%s (%d cores)", orDash(d.CPU), d.Cores))
	row("Kernel", orDash(d.Kernel))
	row("Go", orDash(d.GoVersion))
	for _, t := range targets {
		row("Target "+t, orDash(d.Targets[t]))
	}
	for _, k := range sortedKeys(d.Config) {
		row("Config "+k, d.Config[k])
	}
	row("Pinning", orNone(d.Pinning))
	ceiling := "not measured"
	if d.LoadgenCeiling > 0 {
		ceiling = fmtCount(d.LoadgenCeiling) + " deliveries/s (in-process null relay)"
	}
	row("Load-generator ceiling", ceiling)
	b.WriteString("\n## Method\n\n" + Method + "\n")

	ix := indexOf(r)
	for _, sc := range Scenarios(r) {
		fmt.Fprintf(&b, "\n## %s\n\n", sc)
		writeTable(&b, ix, sc, targets, Cases(r, sc))
	}
	if len(r.Results) == 0 {
		b.WriteString("\nNo results.\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// writeTable writes one scenario's table. conn has its own columns:
// connections per second and memory per idle connection.
func writeTable(b *strings.Builder, ix index, scenario string, targets []string, cases []bench.Case) {
	type col struct {
		head string
		val  func(res *bench.Result) string
	}
	cols := []col{
		{"p50 / p99 µs", func(res *bench.Result) string { return fmtCount(res.P50us) + " / " + fmtCount(res.P99us) }},
		{"lost / dup", func(res *bench.Result) string { return fmt.Sprintf("%d / %d", res.Lost, res.Dup) }},
		{"CPU µs/msg", func(res *bench.Result) string { return fmtCPU(res.CPUusPerMsg) }},
		{"RSS", func(res *bench.Result) string { return fmtRSS(res.RSSBytes) }},
	}
	rate := "delivered/s"
	if scenario == bench.Conn {
		rate = "conn/s"
		cols = []col{
			{"CONNACK p50 / p99 µs", func(res *bench.Result) string { return fmtCount(res.P50us) + " / " + fmtCount(res.P99us) }},
			{"B/conn", func(res *bench.Result) string { return fmtCount(res.BytesPerConn) }},
			{"CPU µs/conn", func(res *bench.Result) string { return fmtCPU(res.CPUusPerMsg) }},
			{"RSS", func(res *bench.Result) string { return fmtRSS(res.RSSBytes) }},
		}
	}
	heads := []string{"case"}
	for _, t := range targets {
		heads = append(heads, t+" "+rate)
		for _, c := range cols {
			heads = append(heads, t+" "+c.head)
		}
	}
	b.WriteString("| " + strings.Join(cellsOf(heads), " | ") + " |\n")
	b.WriteString("|---" + strings.Repeat("|--:", len(heads)-1) + "|\n")
	for _, c := range cases {
		cells := []string{caseLabel(c)}
		for _, t := range targets {
			res := ix.get(t, c)
			switch {
			case res == nil:
				cells = append(cells, "n/a (not run)")
			case res.NA != "":
				cells = append(cells, "n/a ("+res.NA+")")
			case res.Error != "":
				cells = append(cells, "error: "+res.Error)
			default:
				v := fmtCount(Throughput(res))
				if ratio, ok := Ratio(ix, first(targets), t, c); ok && t != first(targets) {
					v += " (" + fmtRatio(ratio) + ")"
				}
				cells = append(cells, v)
				for _, cl := range cols {
					cells = append(cells, cl.val(res))
				}
				continue
			}
			for range cols {
				cells = append(cells, "")
			}
		}
		b.WriteString("| " + strings.Join(cellsOf(cells), " | ") + " |\n")
	}
	writeNotes(b, ix, targets, cases)
}

// writeNotes lists the engine's notes on a scenario's results once each:
// a note every result carries stands alone, others name where they apply.
func writeNotes(b *strings.Builder, ix index, targets []string, cases []bench.Case) {
	var order []string
	where := map[string][]string{}
	total := 0
	for _, c := range cases {
		for _, t := range targets {
			res := ix.get(t, c)
			if res == nil || res.NA != "" {
				continue
			}
			total++
			for part := range strings.SplitSeq(res.Note, "; ") {
				if part = strings.TrimSpace(part); part == "" {
					continue
				}
				if where[part] == nil {
					order = append(order, part)
				}
				where[part] = append(where[part], t+", "+caseLabel(c))
			}
		}
	}
	if len(order) == 0 {
		return
	}
	b.WriteString("\nNotes:\n")
	for _, n := range order {
		w := where[n]
		switch {
		case len(w) == total:
			fmt.Fprintf(b, "- %s\n", n)
		case len(w) > 3:
			fmt.Fprintf(b, "- %s (%s and %d more)\n", n, strings.Join(w[:3], "; "), len(w)-3)
		default:
			fmt.Fprintf(b, "- %s (%s)\n", n, strings.Join(w, "; "))
		}
	}
}

// WriteSummary writes the short table printed at the end of a run: per
// scenario and target, what ran, the best throughput, the median p99,
// loss, and the geometric mean of the ratios to the first target.
func WriteSummary(w io.Writer, r *bench.Report) error {
	tw := tabwriter.NewWriter(w, 2, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "scenario\ttarget\tran\tn/a\terrors\tbest/s\tmedian p99 µs\tlost\tdup\tvs first (geomean)\t")
	ix := indexOf(r)
	targets := Targets(r)
	for _, sc := range Scenarios(r) {
		for _, t := range targets {
			var ran, na, errs int
			var best, lost, dup float64
			var p99s, logRatios []float64
			for _, c := range Cases(r, sc) {
				res := ix.get(t, c)
				switch {
				case res == nil || res.NA != "":
					na++
					continue
				case res.Error != "":
					errs++
					continue
				}
				ran++
				best = max(best, Throughput(res))
				lost += float64(res.Lost)
				dup += float64(res.Dup)
				if sc != bench.Conn {
					p99s = append(p99s, res.P99us)
				}
				if ratio, ok := Ratio(ix, first(targets), t, c); ok && ratio > 0 {
					logRatios = append(logRatios, math.Log(ratio))
				}
			}
			geo := "–"
			if len(logRatios) > 0 && t != first(targets) {
				geo = fmtRatio(math.Exp(mean(logRatios)))
			}
			p99 := "–"
			if len(p99s) > 0 {
				p99 = fmtCount(median(p99s))
			}
			fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t\n",
				sc, t, ran, na, errs, fmtCount(best), p99, fmtCount(lost), fmtCount(dup), geo)
		}
	}
	return tw.Flush()
}

// fmtRatio writes 0.50×, 1.52×; tiny ratios keep two significant digits.
func fmtRatio(x float64) string {
	if x < 0.1 {
		return strconv.FormatFloat(x, 'g', 2, 64) + "×"
	}
	return fmt.Sprintf("%.2f×", x)
}

func fmtCPU(x float64) string {
	if x < 0 {
		return "n/a (not a local process)"
	}
	return fmtCount(x)
}

func fmtRSS(n int64) string {
	if n < 0 {
		return "n/a (unknown)"
	}
	return fmtBytes(n)
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func cellsOf(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = cell(s)
	}
	return out
}

func first(ss []string) string {
	if len(ss) == 0 {
		return ""
	}
	return ss[0]
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func mean(xs []float64) float64 {
	var s float64
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func median(xs []float64) float64 {
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}
