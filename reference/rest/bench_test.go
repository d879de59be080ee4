package rest

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// The benchmarks run the real Server on a loopback TCP listener with
// keep-alive clients and report requests per second, for one client at a
// time and for 16 at once, on each store (PostgreSQL when installed; the
// test server runs with fsync=off, SQLite with its production settings:
// WAL, synchronous=FULL).
//
//	go test ./reference/rest -run '^$' -bench . -benchtime 3s

func BenchmarkGetSensor(b *testing.B) {
	benchStores(b, func(base string, hc *http.Client, _ int64) error {
		return call(hc, "GET", base+"/sensors/bench", "", 200)
	})
}

func BenchmarkPutSensor(b *testing.B) {
	benchStores(b, func(base string, hc *http.Client, n int64) error {
		return call(hc, "PUT", base+"/sensors/bench", `{"value":`+strconv.FormatInt(n, 10)+`,"unit":"C"}`, 200)
	})
}

func call(hc *http.Client, method, url, body string, want int) error {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return err
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	res, err := hc.Do(req)
	if err != nil {
		return err
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != want {
		return fmt.Errorf("%s %s: %d, want %d", method, url, res.StatusCode, want)
	}
	return nil
}

func benchStores(b *testing.B, req func(base string, hc *http.Client, n int64) error) {
	for _, s := range []struct {
		name string
		open func(testing.TB) store.Store
	}{{"sqlite", sqliteStore}, {"postgres", postgresStore}} {
		b.Run(s.name, func(b *testing.B) {
			srv := New(Options{Store: s.open(b)})
			addr, err := srv.ListenAndServe("127.0.0.1:0", nil)
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { srv.Shutdown(context.Background()) })
			base := "http://" + addr.String()
			hc := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
			b.Cleanup(hc.CloseIdleConnections)
			if err := call(hc, "POST", base+"/sensors", `{"name":"bench"}`, 201); err != nil {
				b.Fatal(err)
			}
			var n atomic.Int64
			b.Run("1-client", func(b *testing.B) {
				for b.Loop() {
					if err := req(base, hc, n.Add(1)); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
			b.Run("16-clients", func(b *testing.B) {
				procs := runtime.GOMAXPROCS(0)
				b.SetParallelism((16 + procs - 1) / procs)
				b.RunParallel(func(pb *testing.PB) {
					for pb.Next() {
						if err := req(base, hc, n.Add(1)); err != nil {
							b.Error(err)
							return
						}
					}
				})
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			})
		})
	}
}
