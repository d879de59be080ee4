package bench

import (
	"fmt"
	"strings"
	"time"
)

// aggregate folds the rounds of one case against one target into a Result:
// medians of the rounds that ran, counts of the last round, losses summed
// over all rounds (so one bad round shows).
func aggregate(target string, c Case, rounds []roundResult) Result {
	res := Result{Target: target, Case: c, Rounds: len(rounds), CPUusPerMsg: -1, RSSBytes: -1, LoadgenCPUusPerMsg: -1}
	var ok []roundResult
	var errs []string
	for i, rr := range rounds {
		s := Sample{DeliveredPerS: rr.perS, P50us: rr.lat.P50, P99us: rr.lat.P99, CPUusPerMsg: rr.cpuPerMsg(),
			LoadgenCPUusPerMsg: rr.loadgenPerMsg(),
			RSSBytes:           rr.peak, ConnPerS: rr.connPerS, BytesPerConn: rr.bytesPerConn,
			Lost: rr.counts.Lost, Dup: rr.counts.Dup, NA: rr.na}
		if rr.err != nil {
			s.Error = rr.err.Error()
		}
		res.Samples = append(res.Samples, s)
		switch {
		case rr.na != "":
			if res.NA == "" {
				res.NA = rr.na
			}
		case rr.err != nil:
			errs = append(errs, fmt.Sprintf("round %d: %v", i+1, rr.err))
		default:
			ok = append(ok, rr)
		}
		res.Lost += rr.counts.Lost
		res.Dup += rr.counts.Dup
		res.Reordered += rr.counts.Reordered
		if rr.note != "" && !strings.Contains(res.Note, rr.note) {
			res.Note = joinNote(res.Note, rr.note)
		}
	}
	res.Error = strings.Join(errs, "; ")
	if res.NA != "" {
		res.Error = ""
		res.Samples = nil
		return res
	}
	switch c.Scenario {
	case Conn:
		res.Note = joinNote(res.Note, "p50…max are CONNECT→CONNACK times; cpu_us_per_msg is per connection")
	case Reconnect:
		res.Note = joinNote(res.Note, "delivered_per_s is the drain rate; p50…max are times from the reconnect to each message's arrival")
	}
	if len(ok) == 0 {
		return res
	}
	last := ok[len(ok)-1]
	res.Sent, res.Expected, res.Delivered = last.sent, last.counts.Expected, last.counts.Delivered
	col := func(f func(roundResult) float64) float64 {
		v := make([]float64, len(ok))
		for i, rr := range ok {
			v[i] = f(rr)
		}
		return median(v)
	}
	for _, rr := range ok {
		res.RoundsPerS = append(res.RoundsPerS, rr.perS)
	}
	res.DeliveredPerS = col(func(rr roundResult) float64 { return rr.perS })
	res.P50us = col(func(rr roundResult) float64 { return rr.lat.P50 })
	res.P90us = col(func(rr roundResult) float64 { return rr.lat.P90 })
	res.P99us = col(func(rr roundResult) float64 { return rr.lat.P99 })
	res.P999us = col(func(rr roundResult) float64 { return rr.lat.P999 })
	res.MaxUs = col(func(rr roundResult) float64 { return rr.lat.Max })
	res.CPUusPerMsg = col(func(rr roundResult) float64 { return rr.cpuPerMsg() })
	res.LoadgenCPUusPerMsg = col(func(rr roundResult) float64 { return rr.loadgenPerMsg() })
	res.RSSBytes = int64(col(func(rr roundResult) float64 { return float64(rr.peak) }))
	res.SteadyRSS = int64(col(func(rr roundResult) float64 { return float64(rr.steady) }))
	if res.SteadyRSS < 0 {
		res.SteadyRSS = 0 // omitted from JSON when unknown
	}
	res.ConnPerS = col(func(rr roundResult) float64 { return rr.connPerS })
	res.BytesPerConn = col(func(rr roundResult) float64 { return rr.bytesPerConn })
	res.Duration = time.Duration(col(func(rr roundResult) float64 { return float64(rr.elapsed) }))
	return res
}

func joinNote(a, b string) string {
	if a == "" {
		return b
	}
	return a + "; " + b
}
