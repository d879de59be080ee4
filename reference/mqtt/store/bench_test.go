package store

import (
	"fmt"
	"runtime"
	"sync/atomic"
	"testing"
	"time"
)

// benchSetup opens a bolt store with n persistent sessions "c0"… to queue to.
func benchSetup(b *testing.B, n int) Store {
	s := mustOpen(b, b.TempDir())
	var setup Batch
	for i := range n {
		setup.PutSession(sess(fmt.Sprint("c", i), "#", 1))
	}
	if err := s.Apply(&setup); err != nil {
		b.Fatal(err)
	}
	return s
}

const benchSubmitters = 256 // concurrent publishers, each waiting for its PUBACK

var benchPayload = make([]byte, 64)

// BenchmarkCommitterQoS1 models durable QoS 1: each publisher submits one
// PutOut and waits for its done (the point where the broker sends PUBACK)
// before publishing again. Grouping lets one fsync acknowledge many.
func BenchmarkCommitterQoS1(b *testing.B) {
	s := benchSetup(b, benchSubmitters)
	defer s.Close()
	c := NewCommitter(s, 10000)
	var next atomic.Int64
	b.SetParallelism(max(1, benchSubmitters/runtimeProcs()))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprint("c", next.Add(1)-1)
		done := make(chan error, 1)
		ack := func(err error) { done <- err }
		for seq := uint64(0); pb.Next(); seq++ {
			var bt Batch
			bt.PutOut(id, OutRecord{Seq: seq, Msg: Message{Topic: "bench/qos1", Payload: benchPayload, QoS: 1}})
			c.Submit(&bt, ack)
			if err := <-done; err != nil {
				b.Error(err)
				return
			}
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	if err := c.Close(); err != nil {
		b.Fatal(err)
	}
	st := c.Stats()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "msgs/s")
	b.ReportMetric(float64(st.Ops)/float64(max(st.Transactions, 1)), "ops/txn")
}

// BenchmarkApplyQoS1 is the baseline without grouping: one transaction and
// one fsync per message.
func BenchmarkApplyQoS1(b *testing.B) {
	s := benchSetup(b, 1)
	defer s.Close()
	var seq uint64
	start := time.Now()
	for b.Loop() {
		var bt Batch
		bt.PutOut("c0", OutRecord{Seq: seq, Msg: Message{Topic: "bench/qos1", Payload: benchPayload, QoS: 1}})
		seq++
		if err := s.Apply(&bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}

func runtimeProcs() int { return runtime.GOMAXPROCS(0) }
