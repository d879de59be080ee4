package bench

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/internal/syncbuf"
)

// smokeConfig is the smallest run that still goes through every scenario
// and QoS: a handful of clients for a fraction of a second.
func smokeConfig(targets ...string) Config {
	// A low open-loop rate: a broker may drop what overflows its queues
	// when overloaded, and the counts checked here are about correctness.
	return Config{Targets: targets, Quick: true, Rounds: 1, Duration: 150 * time.Millisecond,
		Clients: []int{3}, Payloads: []int{64}, Rate: 3000}
}

// checkCounts asserts what a correct broker must give: every message
// delivered exactly once at QoS 1 and 2, reconnect at QoS 0 n/a, nothing
// failed. Nothing here depends on speed.
func checkCounts(t *testing.T, cfg Config, rep *Report, child map[string]bool) {
	t.Helper()
	if rep.Disclosure.LoadgenCeiling <= 0 {
		t.Errorf("load generator ceiling %v, want > 0", rep.Disclosure.LoadgenCeiling)
	}
	if len(rep.Results) == 0 {
		t.Fatal("no results")
	}
	seen := map[string]bool{}
	for _, r := range rep.Results {
		name := r.Target + " " + r.Case.String()
		seen[r.Scenario] = true
		if r.Scenario == Reconnect && r.QoS == 0 {
			if r.NA == "" {
				t.Errorf("%s: want n/a", name)
			}
			continue
		}
		if r.NA != "" || r.Error != "" {
			t.Errorf("%s: n/a %q, error %q", name, r.NA, r.Error)
			continue
		}
		if r.Scenario == Conn {
			if r.ConnPerS <= 0 {
				t.Errorf("%s: conn/s %v", name, r.ConnPerS)
			}
		} else {
			if r.Expected <= 0 || r.Delivered+r.Lost < r.Expected {
				t.Errorf("%s: expected %d, delivered %d, lost %d", name, r.Expected, r.Delivered, r.Lost)
			}
			if r.QoS > 0 && (r.Delivered != r.Expected || r.Lost != 0 || r.Dup != 0) {
				t.Errorf("%s: expected %d, delivered %d, lost %d, dup %d", name, r.Expected, r.Delivered, r.Lost, r.Dup)
			}
			if r.QoS > 0 && r.Reordered != 0 {
				// Ordered topics: QoS 1/2 messages of one publisher arrive in order [MQTT-4.6.0-5].
				t.Errorf("%s: %d reordered", name, r.Reordered)
			}
			if r.DeliveredPerS <= 0 || r.P99us <= 0 {
				t.Errorf("%s: delivered/s %v, p99 %v µs", name, r.DeliveredPerS, r.P99us)
			}
		}
		if child[r.Target] {
			if r.CPUusPerMsg < 0 || r.RSSBytes <= 0 {
				t.Errorf("%s: child process not measured: cpu %v µs/msg, rss %d", name, r.CPUusPerMsg, r.RSSBytes)
			}
		} else if r.CPUusPerMsg != -1 || r.RSSBytes != -1 {
			t.Errorf("%s: cpu %v rss %d, want -1 for a broker that is not a child process", name, r.CPUusPerMsg, r.RSSBytes)
		}
	}
	for _, s := range cfg.withDefaults().Scenarios {
		if !seen[s] {
			t.Errorf("no %s results", s)
		}
	}
}

func TestSmokeInProcess(t *testing.T) {
	before := runtime.NumGoroutine()
	runSmoke(t, smokeConfig("reference"), nil)
	waitGoroutines(t, before) // broker, relay, clients: all gone
}

// TestSmokeReferenceChild runs the reference broker as a child process of
// a freshly built wirecheck binary, so its CPU and RSS are measured.
func TestSmokeReferenceChild(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the wirecheck binary")
	}
	cfg := smokeConfig("reference")
	cfg.BrokerBin = buildWirecheck(t)
	runSmoke(t, cfg, map[string]bool{"reference": true})
}

// TestSmokeMosquitto runs mosquitto as a child process.
func TestSmokeMosquitto(t *testing.T) {
	if _, err := findMosquitto(); err != nil {
		t.Skipf("mosquitto is missing, not tested: %v", err)
	}
	cfg := smokeConfig("mosquitto")
	// Not fanin: there Mosquitto 2.0.11 handles the subscriber's PUBACKs
	// more slowly than the publishers' PUBLISHes, overflows its queue for
	// the subscriber and drops messages (its log: "Outgoing messages are
	// being dropped"), a broker limit the full bench reports as lost; the
	// reference tests cover fanin.
	cfg.Scenarios = []string{P2P, Fanout, Conn, Reconnect}
	runSmoke(t, cfg, map[string]bool{"mosquitto": true})
}

func runSmoke(t *testing.T, cfg Config, child map[string]bool) {
	t.Helper()
	var progress syncbuf.Buffer
	cfg.Progress = &progress
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := Run(ctx, cfg)
	t.Log("\n" + progress.String())
	if err != nil {
		t.Fatal(err)
	}
	checkCounts(t, cfg, rep, child)
	if got, want := len(rep.Results), len(Cases(cfg))*len(cfg.Targets); got != want {
		t.Errorf("%d results, want one per case and target: %d", got, want)
	}
	for _, tg := range cfg.Targets {
		if rep.Disclosure.Targets[tg] == "" {
			t.Errorf("no version for %s in the disclosure", tg)
		}
	}
}

// buildWirecheck builds cmd/wirecheck into a temporary directory.
func buildWirecheck(t *testing.T) string {
	t.Helper()
	root, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	for {
		if _, err := os.Stat(filepath.Join(root, "go.mod")); err == nil {
			break
		}
		parent := filepath.Dir(root)
		if parent == root {
			t.Fatal("module root (go.mod) not found")
		}
		root = parent
	}
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		if goBin, err = exec.LookPath("go"); err != nil {
			t.Skip("no go command to build cmd/wirecheck")
		}
	}
	bin := filepath.Join(t.TempDir(), "wirecheck")
	args := []string{"build", "-o", bin}
	if raceEnabled {
		args = append(args, "-race")
	}
	cmd := exec.Command(goBin, append(args, "./cmd/wirecheck")...)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build ./cmd/wirecheck: %v\n%s", err, strings.TrimSpace(string(out)))
	}
	return bin
}
