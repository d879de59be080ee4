package conformance

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
)

// EnvDryRun is set in the child process of DryRun.
const EnvDryRun = "WIRECHECK_DRYRUN"

// DryRun re-runs the current test binary's suite test (RunSpecs runs once per
// process) as a Ginkgo dry run and returns its report: coverage tests check
// the spec tree against the catalogue with it.
func DryRun(t testing.TB, suiteTest string) types.Report {
	t.Helper()
	jsonReport := filepath.Join(t.TempDir(), "dry-run.json")
	cmd := exec.Command(os.Args[0], "-test.run=^"+suiteTest+"$", "-test.count=1",
		"-ginkgo.dry-run", "-ginkgo.no-color", "-ginkgo.json-report="+jsonReport)
	cmd.Env = append(os.Environ(), EnvDryRun+"=1")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dry run of the suite: %v\n%s", err, out)
	}
	b, err := os.ReadFile(jsonReport)
	if err != nil {
		t.Fatalf("dry run wrote no report: %v\n%s", err, out)
	}
	var rs []types.Report
	if err := json.Unmarshal(b, &rs); err != nil || len(rs) != 1 {
		t.Fatalf("dry-run report: %v (%d suites)", err, len(rs))
	}
	if !rs[0].SuiteConfig.DryRun {
		t.Fatal("the report is not of a dry run")
	}
	return rs[0]
}
