package report

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

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
	for _, k := range slices.Sorted(maps.Keys(d.Config)) {
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
	latency := func(res *bench.Result) string { return fmtCount(res.P50us) + " / " + fmtCount(res.P99us) }
	cpu := func(res *bench.Result) string { return fmtCPU(res.CPUusPerMsg) }
	rss := col{"RSS", func(res *bench.Result) string { return fmtRSS(res.RSSBytes) }}
	rate := "delivered/s"
	cols := []col{
		{"p50 / p99 µs", latency},
		{"lost / dup", func(res *bench.Result) string { return fmt.Sprintf("%d / %d", res.Lost, res.Dup) }},
		{"CPU µs/msg", cpu},
		rss,
	}
	if scenario == bench.Conn {
		rate = "conn/s"
		cols = []col{
			{"CONNACK p50 / p99 µs", latency},
			{"B/conn", func(res *bench.Result) string { return fmtCount(res.BytesPerConn) }},
			{"CPU µs/conn", cpu},
			rss,
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
