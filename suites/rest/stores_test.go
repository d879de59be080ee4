package rest

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirecheck/wirecheck/harness/pgtest"
)

// envChild marks a child run of the suite started by TestStores.
const envChild = "WIRECHECK_REST_STORES_CHILD"

// TestStores runs the whole suite once more, in a child process (RunSpecs
// runs once per process), against the reference server on PostgreSQL, and
// requires every spec to pass: with TestREST on SQLite, `go test` covers
// both stores. The PostgreSQL server comes from harness/pgtest and is handed
// to the child through WIRECHECK_PG_DSN; without PostgreSQL installed the
// test skips, unless CI=true, where it fails.
func TestStores(t *testing.T) {
	if os.Getenv("WIRECHECK_DRYRUN") == "1" || os.Getenv(envChild) != "" {
		t.Skip("inside a child run of the suite")
	}
	if testing.Short() {
		t.Skip("starts PostgreSQL and runs the whole suite")
	}
	if v := os.Getenv(EnvTarget); v != "" && v != "reference" {
		t.Skipf("%s=%s: the store run is for the reference server", EnvTarget, v)
	}
	pg := pgtest.Require(t)

	dir := t.TempDir()
	jsonReport := filepath.Join(dir, "postgres.json")
	cmd := exec.Command(os.Args[0], "-test.run=^TestREST$", "-test.count=1", "-test.timeout=10m",
		"-ginkgo.no-color", "-ginkgo.json-report="+jsonReport)
	cmd.Env = append(os.Environ(), envChild+"=1", EnvTarget+"=reference-postgres", pgtest.EnvDSN+"="+pg.DSN())
	start := time.Now()
	out, err := cmd.CombinedOutput()
	elapsed := time.Since(start)

	b, rerr := os.ReadFile(jsonReport)
	if rerr != nil {
		t.Fatalf("the PostgreSQL run wrote no report (%v): %v\n%s", err, rerr, out)
	}
	var rs []types.Report
	if jerr := json.Unmarshal(b, &rs); jerr != nil || len(rs) != 1 {
		t.Fatalf("report of the PostgreSQL run: %v (%d suites)\n%s", jerr, len(rs), out)
	}
	r := rs[0]
	var passed, skipped int
	var failures []string
	for _, sr := range r.SpecReports {
		switch {
		case sr.State.Is(types.SpecStateFailureStates):
			failures = append(failures, fmt.Sprintf("%s %s:\n%s\n(%s)", sr.LeafNodeType, sr.FullText(),
				sr.Failure.Message, sr.Failure.Location))
		case sr.LeafNodeType != types.NodeTypeIt:
		case sr.State == types.SpecStatePassed:
			passed++
		case sr.State.Is(types.SpecStateSkipped | types.SpecStatePending):
			skipped++
		}
	}
	t.Logf("REST suite on PostgreSQL: %d passed, %d failed, %d skipped; suite %.2f s, child process %.2f s",
		passed, len(failures), skipped, r.RunTime.Seconds(), elapsed.Seconds())
	for _, f := range failures {
		t.Errorf("on PostgreSQL: %s", f)
	}
	if err != nil && len(failures) == 0 {
		t.Errorf("the PostgreSQL run failed: %v\n%s", err, tail(out, 40))
	}
	if passed == 0 {
		t.Errorf("no spec passed on PostgreSQL:\n%s", tail(out, 40))
	}
}

func tail(b []byte, lines int) string {
	ls := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(ls) > lines {
		ls = ls[len(ls)-lines:]
	}
	return strings.Join(ls, "\n")
}
