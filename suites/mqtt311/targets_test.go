package mqtt311

import (
	"errors"
	"os"
	"os/exec"
	"sort"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"
	"gopkg.in/yaml.v3"

	"github.com/wirecheck/wirecheck/harness/target"
)

// deviation is a spec known to fail against a third-party broker because
// that broker departs from the standard, with the evidence.
type deviation struct {
	Spec       string   `yaml:"spec"` // substring of the spec's full text
	Statements []string `yaml:"statements"`
	Evidence   string   `yaml:"evidence"`
	// Intermittent marks a timing deviation that a lucky run may not show.
	Intermittent bool `yaml:"intermittent"`
}

func loadDeviations(t *testing.T, path string) []deviation {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var ds []deviation
	if err := yaml.Unmarshal(b, &ds); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return ds
}

// TestThirdPartyTargets runs the whole suite against Mosquitto 2.0.11 as a
// local process and in a container. Every failure must be a known, evidenced
// deviation of Mosquitto (fixtures/mqtt311/deviations/), and every known
// deviation must still fail: the list can neither hide a regression of the
// suite nor go stale.
func TestThirdPartyTargets(t *testing.T) {
	if os.Getenv("WIRECHECK_CHILD") != "" {
		t.Skip("inside a child run")
	}
	if testing.Short() {
		t.Skip("-short: runs the whole suite per target")
	}
	known := loadDeviations(t, "../../fixtures/mqtt311/deviations/mosquitto-2.0.11.yaml")
	for _, kind := range []string{"mosquitto", "container"} {
		t.Run(kind, func(t *testing.T) {
			requireTarget(t, kind)
			spec := kind
			if kind == "container" {
				// Never the registry default here: a pull would leave loopback.
				image := os.Getenv("WIRECHECK_CONTAINER_IMAGE")
				if image == "" {
					image = target.OfflineContainerImage
				}
				spec = "container:" + image
			}
			rep := runChild(t, []string{"WIRECHECK_TARGET=" + spec})
			var failed, passed []string
			for _, s := range rep.SpecReports {
				if s.LeafNodeType != types.NodeTypeIt {
					if s.State.Is(types.SpecStateFailureStates) {
						t.Fatalf("%s %s failed: %s", s.LeafNodeType, s.LeafNodeText, s.Failure.Message)
					}
					continue
				}
				switch {
				case s.State.Is(types.SpecStateFailureStates):
					failed = append(failed, s.FullText())
				case s.State == types.SpecStatePassed:
					passed = append(passed, s.FullText())
				}
			}
			t.Logf("%s: %d passed, %d failed (known deviations: %d)", kind, len(passed), len(failed), len(known))
			sort.Strings(failed)
			for _, f := range failed {
				if d := match(known, f); d == nil {
					t.Errorf("unexpected failure against %s: %s", kind, f)
				} else {
					t.Logf("known deviation: %s (%s)", f, d.Evidence)
				}
			}
			for _, d := range known {
				if !d.Intermittent && !anyContains(failed, d.Spec) {
					t.Errorf("known deviation no longer fails against %s (update the list): %s", kind, d.Spec)
				}
			}
		})
	}
}

func match(ds []deviation, spec string) *deviation {
	for i := range ds {
		if strings.Contains(spec, ds[i].Spec) {
			return &ds[i]
		}
	}
	return nil
}

func anyContains(list []string, sub string) bool {
	for _, s := range list {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}

// requireTarget skips when the machine lacks what the target kind needs,
// except in CI, which installs it (make test) and must run it.
func requireTarget(t *testing.T, kind string) {
	t.Helper()
	var missing string
	switch kind {
	case "mosquitto":
		if _, err := exec.LookPath("mosquitto"); err != nil {
			if _, err := os.Stat("/usr/sbin/mosquitto"); err != nil {
				missing = "the mosquitto binary (Debian package mosquitto)"
			}
		}
	case "container":
		if err := target.DockerAvailable(); err != nil {
			missing = err.Error()
			if errors.Is(err, target.ErrNoDocker) {
				missing = "a Docker engine (harness/target/dockerd.sh starts one as root)"
			}
		}
	}
	if missing == "" {
		return
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("CI must run the %s target, but this machine lacks %s", kind, missing)
	}
	t.Skipf("no %s target here: missing %s", kind, missing)
}
