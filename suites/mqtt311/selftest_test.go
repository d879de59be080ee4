package mqtt311

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirecheck/wirecheck/harness/target"
)

// TestSelfTest proves the suite can fail: for every deliberate defect of the
// reference broker, the specs of the defect's area must report a failure.
// Each run is a child process (RunSpecs runs once per process).
func TestSelfTest(t *testing.T) {
	if os.Getenv("WIRECHECK_FAULT") != "" || os.Getenv("WIRECHECK_CHILD") != "" {
		t.Skip("inside a self-test child")
	}
	if testing.Short() {
		t.Skip("-short: the self-test runs the suite once per fault")
	}
	for _, f := range target.Faults {
		t.Run(f.Name, func(t *testing.T) {
			t.Parallel()
			rep := runChild(t, []string{"WIRECHECK_FAULT=" + f.Name}, "-ginkgo.label-filter="+f.Area)
			failed, ran := 0, 0
			for _, s := range rep.SpecReports {
				if s.LeafNodeType != types.NodeTypeIt {
					continue
				}
				if s.State.Is(types.SpecStateFailureStates) {
					failed++
					t.Logf("caught by: %s", s.FullText())
				}
				if s.State != types.SpecStateSkipped && s.State != types.SpecStatePending {
					ran++
				}
			}
			if ran == 0 {
				t.Fatalf("no spec of area %q ran", f.Area)
			}
			if failed == 0 {
				t.Errorf("fault %s not caught: %d specs of area %q all passed", f.Name, ran, f.Area)
			}
		})
	}
}

// runChild re-runs this test binary's suite with extra env and flags and
// returns Ginkgo's JSON report.
func runChild(t *testing.T, env []string, args ...string) types.Report {
	t.Helper()
	out := filepath.Join(t.TempDir(), "report.json")
	args = append([]string{"-test.run=^TestMQTT311$", "-ginkgo.json-report=" + out}, args...)
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(append(os.Environ(), "WIRECHECK_CHILD=1"), env...)
	b, err := cmd.CombinedOutput()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("run suite: %v", err)
	}
	raw, rerr := os.ReadFile(out)
	if rerr != nil {
		t.Fatalf("no report (%v); output:\n%s", rerr, b)
	}
	var reps []types.Report
	if err := json.Unmarshal(raw, &reps); err != nil || len(reps) != 1 {
		t.Fatalf("report: %v (%d suites)", err, len(reps))
	}
	return reps[0]
}
