package mqtt

import (
	"bufio"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// BenchmarkPublish pushes b.N messages from one publisher through the broker
// to 1 or 100 subscribers and reports delivered messages per second. The
// publisher stays at most `window` messages ahead of the slowest subscriber
// (closed loop), so the figure is a rate the broker sustains without loss.
func BenchmarkPublish(b *testing.B) {
	for _, qos := range []byte{0, 1} {
		for _, subs := range []int{1, 100} {
			b.Run(fmt.Sprintf("qos%d/subs%d", qos, subs), func(b *testing.B) {
				benchPublish(b, qos, subs, 64)
			})
		}
	}
}

func BenchmarkPublishDurable(b *testing.B) {
	b.Run("qos1/subs1", func(b *testing.B) {
		benchPublishOpts(b, Options{DataDir: b.TempDir()}, 1, 1, 64, false)
	})
	b.Run("qos1/subs1/persistent", func(b *testing.B) {
		benchPublishOpts(b, Options{DataDir: b.TempDir()}, 1, 1, 64, true)
	})
}

func benchPublish(b *testing.B, qos byte, nsubs, payload int) {
	benchPublishOpts(b, Options{}, qos, nsubs, payload, false)
}

func benchPublishOpts(b *testing.B, opts Options, qos byte, nsubs, payload int, persistent bool) {
	const window = 500
	_, addr := startServer(b, opts)
	received := make([]atomic.Int64, nsubs)
	var wg sync.WaitGroup
	for i := range nsubs {
		nc := benchConn(b, addr, fmt.Sprintf("sub-%d", i), !persistent)
		w := bufio.NewWriter(nc)
		sub, _ := packets.Encode(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "bench/t", QoS: qos}}})
		w.Write(sub)
		w.Flush()
		r := packets.NewReader(nc, 64<<10)
		if p, err := r.ReadPacket(); err != nil || p.Type() != packets.SUBACK {
			b.Fatalf("suback: %v %v", p, err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for received[i].Load() < int64(b.N) {
				p, err := r.ReadPacket()
				if err != nil {
					b.Errorf("subscriber %d: %v after %d", i, err, received[i].Load())
					return
				}
				pub, ok := p.(*packets.Publish)
				if !ok {
					continue
				}
				if pub.QoS == 1 {
					ack, _ := (&packets.Puback{PacketID: pub.PacketID}).AppendTo(nil)
					w.Write(ack)
					if r.Buffered() == 0 {
						w.Flush()
					}
				}
				received[i].Add(1)
			}
			w.Flush()
		}()
	}
	pub := benchConn(b, addr, "pub", true)
	pr := packets.NewReader(pub, 64<<10)
	go func() { // drain PUBACKs
		for {
			if _, err := pr.ReadPacket(); err != nil {
				return
			}
		}
	}()
	minReceived := func() int64 {
		m := received[0].Load()
		for i := range received {
			m = min(m, received[i].Load())
		}
		return m
	}
	body := make([]byte, payload)
	pw := bufio.NewWriterSize(pub, 64<<10)
	b.ReportAllocs()
	b.ResetTimer()
	start := time.Now()
	for n := 0; n < b.N; n++ {
		for int64(n)-minReceived() >= window {
			pw.Flush()
			time.Sleep(20 * time.Microsecond)
		}
		p := &packets.Publish{Topic: "bench/t", QoS: qos, Payload: body}
		if qos > 0 {
			p.PacketID = uint16(n%65535) + 1
		}
		enc, _ := p.AppendTo(nil)
		pw.Write(enc)
	}
	pw.Flush()
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	b.ReportMetric(float64(b.N*nsubs)/elapsed.Seconds(), "msgs/s")
}

// benchConn dials and completes CONNECT/CONNACK.
func benchConn(b *testing.B, addr, id string, clean bool) net.Conn {
	b.Helper()
	nc, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { nc.Close() })
	c, _ := packets.Encode(&packets.Connect{ClientID: id, CleanSession: clean})
	nc.Write(c)
	var ack [4]byte
	if _, err := nc.Read(ack[:]); err != nil || ack[3] != 0 {
		b.Fatalf("connack %v %v", ack, err)
	}
	return nc
}
