package store

import (
	"context"
	"sync/atomic"
	"testing"
	"time"
)

// The benchmarks measure the store alone (no HTTP), one call at a time
// ("serial") and from GOMAXPROCS goroutines ("parallel", as concurrent
// requests would). Each reports ops/s. SetValue is a committed, durable
// transaction (update + reading): on SQLite that is an fsync of the WAL per
// call; the PostgreSQL test server runs with fsync=off (see pgtest), so its
// SetValue figure is an upper bound for a production server.

func benchBackends(b *testing.B, f func(b *testing.B, s Store)) {
	for _, bk := range []struct {
		kind string
		make func(b *testing.B) backend
	}{
		{"sqlite", func(*testing.B) backend { return sqliteBackend() }},
		{"postgres", func(b *testing.B) backend { return postgresBackend(b) }},
	} {
		b.Run(bk.kind, func(b *testing.B) {
			be := bk.make(b)
			s, err := be.open(context.Background(), be.fresh(b))
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { s.Close() })
			f(b, s)
		})
	}
}

func opsPerSec(b *testing.B) {
	if e := b.Elapsed(); e > 0 {
		b.ReportMetric(float64(b.N)/e.Seconds(), "ops/s")
	}
}

func BenchmarkGetSensor(b *testing.B) {
	benchBackends(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		if _, err := s.SetValue(ctx, "bench", 21.5, "C", time.Time{}, "rest", 0, true); err != nil {
			b.Fatal(err)
		}
		b.Run("serial", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.GetSensor(ctx, "bench"); err != nil {
					b.Fatal(err)
				}
			}
			opsPerSec(b)
		})
		b.Run("parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.GetSensor(ctx, "bench"); err != nil {
						b.Error(err)
						return
					}
				}
			})
			opsPerSec(b)
		})
	})
}

func BenchmarkSetValue(b *testing.B) {
	benchBackends(b, func(b *testing.B, s Store) {
		ctx := context.Background()
		if _, err := s.CreateSensor(ctx, "bench"); err != nil {
			b.Fatal(err)
		}
		var v atomic.Int64
		b.Run("serial", func(b *testing.B) {
			for b.Loop() {
				if _, err := s.SetValue(ctx, "bench", float64(v.Add(1)), "C", time.Time{}, "rest", 0, false); err != nil {
					b.Fatal(err)
				}
			}
			opsPerSec(b)
		})
		b.Run("parallel", func(b *testing.B) {
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.SetValue(ctx, "bench", float64(v.Add(1)), "C", time.Time{}, "rest", 0, false); err != nil {
						b.Error(err)
						return
					}
				}
			})
			opsPerSec(b)
		})
	})
}
