package report

import (
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/wirecheck/wirecheck/harness/bench"
)

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
