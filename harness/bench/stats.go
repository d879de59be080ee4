package bench

import (
	"slices"
	"sync"

	"github.com/HdrHistogram/hdrhistogram-go"
)

// Latencies are recorded in µs from 1 µs to 60 s with 3 significant digits.
const (
	histMinUs = 1
	histMaxUs = 60_000_000
	histSig   = 3
	histShard = 16 // subscribers share this many histograms (one each would cost 1000 × 130 kB)
)

// latencies is a set of HDR histograms subscribers record into concurrently.
type latencies struct {
	shards [histShard]struct {
		mu sync.Mutex
		h  *hdrhistogram.Histogram
		_  [48]byte // 8 (mutex) + 8 (pointer) + 48: one 64-byte cache line per shard
	}
}

func newLatencies() *latencies {
	l := &latencies{}
	for i := range l.shards {
		l.shards[i].h = hdrhistogram.New(histMinUs, histMaxUs, histSig)
	}
	return l
}

// record adds one latency in ns, into the shard for subscriber i.
func (l *latencies) record(i int, ns int64) {
	us := max(ns/1000, histMinUs)
	s := &l.shards[i%histShard]
	s.mu.Lock()
	s.h.RecordValue(min(us, histMaxUs))
	s.mu.Unlock()
}

// merged returns all shards in one histogram.
func (l *latencies) merged() *hdrhistogram.Histogram {
	h := hdrhistogram.New(histMinUs, histMaxUs, histSig)
	for i := range l.shards {
		s := &l.shards[i]
		s.mu.Lock()
		h.Merge(s.h)
		s.mu.Unlock()
	}
	return h
}

// percentiles are the latency figures of one round, in µs.
type percentiles struct {
	P50, P90, P99, P999, Max float64
	N                        int64
}

func summarize(h *hdrhistogram.Histogram) percentiles {
	if h.TotalCount() == 0 {
		return percentiles{}
	}
	return percentiles{
		P50:  float64(h.ValueAtQuantile(50)),
		P90:  float64(h.ValueAtQuantile(90)),
		P99:  float64(h.ValueAtQuantile(99)),
		P999: float64(h.ValueAtQuantile(99.9)),
		Max:  float64(h.Max()),
		N:    h.TotalCount(),
	}
}

// median of xs (the mean of the middle two for an even count); 0 if empty.
func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Clone(xs)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func medianInt(xs []int64) int64 {
	f := make([]float64, len(xs))
	for i, x := range xs {
		f[i] = float64(x)
	}
	return int64(median(f))
}
