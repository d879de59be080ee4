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

func benchQoS1Msg(seq uint64) OutRecord {
	return OutRecord{Seq: seq, Msg: Message{Topic: "bench/qos1", Payload: benchPayload, QoS: 1}}
}

// BenchmarkCommitterQoS1 models durable QoS 1: each of 256 publishers submits
// one PutOut and waits for its done (where the broker sends PUBACK) before
// publishing again. Grouping lets one fsync acknowledge many; compare msgs/s
// with BenchmarkApplyQoS1.
func BenchmarkCommitterQoS1(b *testing.B) {
	benchCommitter(b, false)
}

// BenchmarkCommitterQoS1Acked is the steady state of the same flow: each
// batch also deletes the previous message (acknowledged by the subscriber),
// so queues stay short.
func BenchmarkCommitterQoS1Acked(b *testing.B) {
	benchCommitter(b, true)
}

func benchCommitter(b *testing.B, acked bool) {
	s := benchSetup(b, benchSubmitters)
	defer s.Close()
	c := NewCommitter(s, 10000)
	var next atomic.Int64
	b.SetParallelism(max(1, benchSubmitters/runtime.GOMAXPROCS(0)))
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		id := fmt.Sprint("c", next.Add(1)-1)
		done := make(chan error, 1)
		ack := func(err error) { done <- err }
		for seq := uint64(0); pb.Next(); seq++ {
			var bt Batch
			bt.PutOut(id, benchQoS1Msg(seq))
			if acked && seq > 0 {
				bt.DeleteOut(id, seq-1)
			}
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
	b.ReportMetric(float64(st.Batches)/float64(max(st.Transactions, 1)), "msgs/txn")
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
		bt.PutOut("c0", benchQoS1Msg(seq))
		seq++
		if err := s.Apply(&bt); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "msgs/s")
}
