package bench

import (
	"context"
	"fmt"
	"time"
)

// runConn opens n idle connections as fast as 16 dialers can (CONNECT to
// CONNACK each), then reads the broker's RSS growth per connection. Latency
// figures are CONNECT→CONNACK times; CPU is per connection.
func runConn(ctx context.Context, ep endpoint, n int) (rr roundResult) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Minute)
	defer cancel()
	conns := connSet{rst: true}
	defer conns.abort()
	stop := context.AfterFunc(ctx, conns.abort)
	defer stop()

	pid := ep.pid
	base := rssOf(pid)
	m := startMeter(endpoint{pid: 0, inProc: ep.inProc}) // the load generator's CPU; the broker's is read here
	cpu0 := cpuOf(pid)
	lat := newLatencies()
	start := time.Now()
	err := forEach(ctx, n, 16, func(i int) error {
		t := now()
		c, _, err := dialMQTT(ctx, ep.addr, newClientID(), true)
		if err != nil {
			return fmt.Errorf("connection %d: %w", i+1, err)
		}
		lat.record(i, now()-t)
		conns.add(c)
		return nil
	})
	elapsed := time.Since(start)
	cpu1 := cpuOf(pid)
	self := m.finish().self
	if err != nil {
		return failed(err)
	}
	rr.clients = n
	rr.elapsed = elapsed
	rr.connPerS = float64(n) / elapsed.Seconds()
	rr.lat = summarize(lat.merged())
	rr.cpu, rr.selfCPU, rr.peak, rr.steady = -1, self, -1, -1
	if pid != 0 {
		rr.steady, rr.peak = settledRSS(ctx, pid)
		if ctx.Err() != nil {
			return failed(ctx.Err())
		}
		if base > 0 && rr.steady > 0 {
			rr.bytesPerConn = float64(rr.steady-base) / float64(n)
		}
		if cpu0 >= 0 && cpu1 >= 0 {
			rr.cpu = cpu1 - cpu0
		}
	}
	return rr
}

// settledRSS samples the broker's RSS every 50 ms until two samples in a
// row differ by under 0.5 % (its per-connection state is in place) or 1 s
// passes, and returns the last sample and the highest.
func settledRSS(ctx context.Context, pid int) (last, peak int64) {
	deadline := time.Now().Add(time.Second)
	prev := rssOf(pid)
	peak = prev
	for time.Now().Before(deadline) && ctx.Err() == nil {
		time.Sleep(50 * time.Millisecond)
		cur := rssOf(pid)
		peak = max(peak, cur)
		d := cur - prev
		prev = cur
		if d < 0 {
			d = -d
		}
		if d*200 < cur {
			break
		}
	}
	return prev, peak
}
