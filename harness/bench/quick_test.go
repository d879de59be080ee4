package bench

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestQuickMatrix runs the --quick matrix against the reference broker (a
// child process) and mosquitto and prints the table. It takes minutes, so
// it runs only when asked:
//
//	WIRECHECK_BENCH_QUICK=1 go test -run TestQuickMatrix -v -timeout 10m ./harness/bench/
//
// WIRECHECK_BENCH_JSON=FILE also writes the report there.
func TestQuickMatrix(t *testing.T) {
	if os.Getenv("WIRECHECK_BENCH_QUICK") == "" {
		t.Skip("set WIRECHECK_BENCH_QUICK=1 to run the quick matrix (minutes)")
	}
	if _, err := findMosquitto(); err != nil {
		t.Skipf("mosquitto is missing: %v", err)
	}
	cfg := Config{Targets: []string{"reference", "mosquitto"}, Quick: true, BrokerBin: buildWirecheck(t),
		Progress: os.Stderr, Pin: os.Getenv("WIRECHECK_BENCH_PIN") != ""}
	start := time.Now()
	rep, err := Run(context.Background(), cfg)
	wall := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	if f := os.Getenv("WIRECHECK_BENCH_JSON"); f != "" {
		b, _ := json.MarshalIndent(rep, "", "  ")
		os.WriteFile(f, b, 0o644)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "wall time %v; load generator ceiling %.0f msgs/s; pinning: %s\n", wall.Round(time.Second), rep.Disclosure.LoadgenCeiling, rep.Disclosure.Pinning)
	fmt.Fprintf(&b, "%-34s %-10s %12s %10s %10s %6s %5s %10s %12s\n", "case", "target", "delivered/s", "p50 µs", "p99 µs", "lost", "dup", "cpu µs/msg", "rss MB")
	for _, r := range rep.Results {
		fig := fmt.Sprintf("%12.0f", r.DeliveredPerS)
		if r.Scenario == Conn {
			fig = fmt.Sprintf("%7.0f c/s", r.ConnPerS)
		}
		line := fmt.Sprintf("%-34s %-10s %s %10.0f %10.0f %6d %5d %10.2f %12.1f", r.Case.String(), r.Target, fig, r.P50us, r.P99us, r.Lost, r.Dup, r.CPUusPerMsg, float64(r.RSSBytes)/(1<<20))
		if r.NA != "" {
			line = fmt.Sprintf("%-34s %-10s n/a: %s", r.Case.String(), r.Target, r.NA)
		}
		if r.Error != "" {
			line += "  ERROR " + r.Error
		}
		if r.BytesPerConn != 0 {
			line += fmt.Sprintf("  %.1f kB/conn", r.BytesPerConn/1024)
		}
		b.WriteString(line + "\n")
	}
	t.Log("\n" + b.String())
}
