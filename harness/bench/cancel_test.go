package bench

import (
	"bytes"
	"context"
	"errors"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRunCancel stops a run midway: Run returns ctx's error with what it
// measured so far, and leaves no goroutine behind.
func TestRunCancel(t *testing.T) {
	before := runtime.NumGoroutine()
	cfg := smokeConfig("reference")
	cfg.Duration = 300 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// Cancel on an event, not after a fixed time (a loaded machine may not
	// have measured the ceiling yet): 100 ms after the first round is
	// reported, most likely in the middle of the second.
	cancelled := make(chan time.Time, 1)
	var once sync.Once
	cfg.Progress = writerFunc(func(p []byte) {
		if bytes.Contains(p, []byte(" round 1/")) {
			once.Do(func() {
				time.AfterFunc(100*time.Millisecond, func() { cancelled <- time.Now(); cancel() })
			})
		}
	})
	rep, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if d := time.Since(<-cancelled); d > 10*time.Second {
		t.Errorf("Run took %v to stop", d)
	}
	if rep == nil || rep.Disclosure.LoadgenCeiling <= 0 {
		t.Errorf("no partial report: %+v", rep)
	}
	waitGoroutines(t, before)
}

// waitGoroutines fails if more goroutines than before are still running
// after a grace period (sockets and timers take a moment to wind down).
func waitGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			var ours []string
			for _, g := range strings.Split(string(buf[:n]), "\n\n") {
				if strings.Contains(g, "harness/bench") {
					ours = append(ours, g)
				}
			}
			t.Fatalf("%d goroutines, %d before; ours still running:\n%s", runtime.NumGoroutine(), before, strings.Join(ours, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// writerFunc is an io.Writer that hands each write to a function.
type writerFunc func(p []byte)

func (f writerFunc) Write(p []byte) (int, error) { f(p); return len(p), nil }
