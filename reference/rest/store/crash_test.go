package store

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"
)

// TestHelperWriter is not a test: TestSQLiteKilledWriterKeepsAcknowledged
// runs it in a child process, which writes values and prints each one after
// SetValue has returned, until it is killed.
func TestHelperWriter(t *testing.T) {
	dir := os.Getenv("STORE_HELPER_DIR")
	if dir == "" {
		t.Skip("helper process for TestSQLiteKilledWriterKeepsAcknowledged")
	}
	s, err := OpenSQLite(dir)
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	ctx := context.Background()
	for i := 1; ; i++ {
		if _, err := s.SetValue(ctx, "crash", float64(i), "C", time.Time{}, "rest", 0, true); err != nil {
			fmt.Println("ERR", err)
			os.Exit(1)
		}
		fmt.Println("ACK", i)
	}
}

// TestSQLiteKilledWriterKeepsAcknowledged: a process killed with SIGKILL
// (no Close, no deferred code) loses no write that SetValue acknowledged.
func TestSQLiteKilledWriterKeepsAcknowledged(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperWriter$")
	cmd.Env = append(os.Environ(), "STORE_HELPER_DIR="+dir)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	acked := 0
	sc := bufio.NewScanner(out)
	for sc.Scan() && acked < 50 {
		line := sc.Text()
		if strings.HasPrefix(line, "ERR") {
			t.Fatal(line)
		}
		if n, ok := strings.CutPrefix(line, "ACK "); ok {
			acked, _ = strconv.Atoi(n)
		}
	}
	cmd.Process.Kill() // SIGKILL: no Close, no deferred code
	cmd.Wait()
	if acked == 0 {
		t.Fatal("the writer acknowledged nothing")
	}
	s, err := OpenSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	got, err := s.GetSensor(t.Context(), "crash")
	if err != nil {
		t.Fatal(err)
	}
	if got.Version < int64(acked) || *got.Value < float64(acked) {
		t.Fatalf("after kill: version %d value %v, but %d writes were acknowledged", got.Version, *got.Value, acked)
	}
	rs, _, err := s.Readings(t.Context(), "crash", time.Time{}, time.Time{}, Page{Limit: MaxLimit})
	if err != nil || len(rs) < acked {
		t.Fatalf("%d readings after kill, %d acknowledged: %v", len(rs), acked, err)
	}
	for i, r := range rs {
		if r.Value != float64(i+1) {
			t.Fatalf("reading %d has value %v: a gap", i, r.Value)
		}
	}
	t.Logf("killed after %d acknowledged writes; %d stored", acked, len(rs))
}
