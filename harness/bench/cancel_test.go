package bench

import (
	"context"
	"errors"
	"runtime"
	"strings"
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
	time.AfterFunc(700*time.Millisecond, cancel)
	start := time.Now()
	rep, err := Run(ctx, cfg)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Run = %v, want context.Canceled", err)
	}
	if d := time.Since(start); d > 10*time.Second {
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
