package bench

import "testing"

func TestTrackerCounts(t *testing.T) {
	type arrival struct{ stream, seq uint32 }
	tests := []struct {
		name     string
		lo       uint32
		n        int
		sent     map[uint32]int64
		arrivals []arrival
		want     counts
	}{
		{"all in order", 0, 1, map[uint32]int64{0: 3},
			[]arrival{{0, 0}, {0, 1}, {0, 2}},
			counts{Expected: 3, Delivered: 3}},
		{"nothing arrived", 0, 1, map[uint32]int64{0: 4}, nil,
			counts{Expected: 4, Lost: 4}},
		{"one lost in the middle", 0, 1, map[uint32]int64{0: 4},
			[]arrival{{0, 0}, {0, 1}, {0, 3}},
			counts{Expected: 4, Delivered: 3, Lost: 1}},
		{"duplicate", 0, 1, map[uint32]int64{0: 2},
			[]arrival{{0, 0}, {0, 1}, {0, 1}},
			counts{Expected: 2, Delivered: 2, Dup: 1}},
		{"swapped pair", 0, 1, map[uint32]int64{0: 3},
			[]arrival{{0, 0}, {0, 2}, {0, 1}},
			counts{Expected: 3, Delivered: 3, Reordered: 1}},
		{"late duplicate is a dup, not reordered", 0, 1, map[uint32]int64{0: 3},
			[]arrival{{0, 0}, {0, 1}, {0, 2}, {0, 0}},
			counts{Expected: 3, Delivered: 3, Dup: 1}},
		{"streams counted apart (fan-in)", 0, 3, map[uint32]int64{0: 2, 1: 2, 2: 1},
			[]arrival{{1, 0}, {0, 0}, {1, 1}, {2, 0}, {0, 1}},
			counts{Expected: 5, Delivered: 5}},
		{"stream offset (p2p pair 7)", 7, 1, map[uint32]int64{7: 2},
			[]arrival{{7, 0}, {7, 1}},
			counts{Expected: 2, Delivered: 2}},
		{"another stream's message is a stray, counted as dup", 7, 1, map[uint32]int64{7: 1},
			[]arrival{{7, 0}, {3, 0}},
			counts{Expected: 1, Delivered: 1, Dup: 1}},
		{"sequence beyond what was sent", 0, 1, map[uint32]int64{0: 1},
			[]arrival{{0, 0}, {0, 5}},
			counts{Expected: 1, Delivered: 1, Dup: 1}},
		{"sequence beyond what was sent does not hide a loss", 0, 1, map[uint32]int64{0: 3},
			[]arrival{{0, 0}, {0, 5}},
			counts{Expected: 3, Delivered: 1, Lost: 2, Dup: 1}},
		{"sent ends inside a bitmap word", 0, 1, map[uint32]int64{0: 70},
			[]arrival{{0, 0}, {0, 63}, {0, 64}, {0, 69}, {0, 70}, {0, 127}},
			counts{Expected: 70, Delivered: 4, Lost: 66, Dup: 2}},
		{"bitmap grows past one word", 0, 1, map[uint32]int64{0: 200},
			func() []arrival {
				var a []arrival
				for i := uint32(0); i < 200; i++ {
					if i != 130 {
						a = append(a, arrival{0, i})
					}
				}
				return a
			}(),
			counts{Expected: 200, Delivered: 199, Lost: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(tt.lo, tt.n)
			for _, a := range tt.arrivals {
				tr.record(a.stream, a.seq)
			}
			got := tr.result(func(s uint32) int64 { return tt.sent[s] })
			if got != tt.want {
				t.Errorf("got %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{3}, 3},
		{[]float64{3, 1, 2}, 2},
		{[]float64{4, 1, 3, 2}, 2.5},
		{[]float64{-1, -1}, -1},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
