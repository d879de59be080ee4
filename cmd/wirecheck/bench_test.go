package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/harness/bench"
	"github.com/wirecheck/wirecheck/internal/syncbuf"
)

func TestBenchFlagErrors(t *testing.T) {
	dir := t.TempDir()
	b := func(args ...string) []string { return append([]string{"bench", "--out", dir}, args...) }
	cases := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"unknown scenario", b("--scenario", "bogus"), `unknown scenario "bogus": want p2p, fanout, fanin, conn, reconnect or all`},
		{"qos 3", b("--qos", "3"), "--qos 3: want 0, 1 or 2"},
		{"negative qos", b("--qos", "-1"), "--qos -1"},
		{"qos not a number", b("--qos", "one"), "invalid argument"},
		{"payload not a size", b("--payload", "big"), `--payload "big"`},
		{"payload below the header", b("--payload", "8"), "want 16 B"},
		{"payload above 1 MiB", b("--payload", "2MiB"), "to 1 MiB"},
		{"no targets", b("--target", ""), "no targets: give --target reference, mosquitto or tcp://HOST:PORT"},
		{"unknown target", b("--target", "bogus"), `unknown target "bogus": want reference, mosquitto or tcp://HOST:PORT`},
		{"container target", b("--target", "container:eclipse-mosquitto:2"), "want reference, mosquitto or tcp://HOST:PORT"},
		{"unsupported scheme", b("--target", "ws://127.0.0.1:8080/mqtt"), "unsupported scheme"},
		{"URL without a port", b("--target", "tcp://127.0.0.1"), "tcp://HOST:PORT"},
		{"target twice", b("--target", "reference", "--target", "reference"), "--target reference given twice"},
		{"negative rounds", b("--rounds", "-1"), "--rounds -1"},
		{"negative duration", b("--duration", "-1s"), "--duration -1s"},
		{"bad duration", b("--duration", "soon"), "invalid argument"},
		{"negative rate", b("--rate", "-5"), "--rate -5"},
		{"zero clients", b("--clients", "0"), "--clients 0: want 1 to 100000"},
		{"positional argument", b("extra"), "unknown command"},
		{"unknown flag", b("--bogus"), "unknown flag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expectUsageError(t, tc.args, tc.want)
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) > 0 {
		t.Errorf("a usage error wrote outputs: %v", entries)
	}
}

func TestBenchConfig(t *testing.T) {
	f := benchFlags{targets: []string{"mosquitto", "reference", "tcp://127.0.0.1:1883"}, scenarios: []string{"fanout", "p2p", "fanout"},
		qos: []int{1, 0, 1}, payloads: []string{"16", "4KiB", "4k", "1M"}, rounds: 4, duration: time.Second, rate: 1000, pin: true, clients: []int{3, 3, 10}}
	cfg, err := benchConfig(&f)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := json.Marshal(cfg)
	want := `{"Targets":["mosquitto","reference","tcp://127.0.0.1:1883"],"Scenarios":["fanout","p2p"],"QoS":"AQA=",` +
		`"Payloads":[16,4096,1048576],"Quick":false,"Rounds":4,"Duration":1000000000,"Rate":1000,"Pin":true,"BrokerBin":"","Progress":null,"Clients":[3,10]}`
	if string(got) != want {
		t.Errorf("config\n got %s\nwant %s", got, want)
	}
	all, err := benchConfig(&benchFlags{targets: []string{"reference"}, scenarios: []string{"p2p", "all"}})
	if err != nil || all.Scenarios != nil {
		t.Errorf("--scenario all: %v, %v", all.Scenarios, err)
	}
}

func TestBenchVerdict(t *testing.T) {
	c := func(qos byte) bench.Case {
		return bench.Case{Scenario: bench.P2P, Clients: 1, QoS: qos, Payload: 16, Mode: bench.Closed}
	}
	cases := []struct {
		name     string
		res      bench.Result
		failLoss bool
		want     string // in the error; "" = exit 0
		warn     string // on stderr
	}{
		{"clean", bench.Result{Target: "reference", Case: c(1), Expected: 10, Delivered: 10}, true, "", ""},
		{"loss at QoS 0 is allowed", bench.Result{Target: "reference", Case: c(0), Lost: 5}, true, "", ""},
		{"n/a", bench.Result{Target: "mosquitto", Case: c(2), NA: "unsupported"}, true, "", ""},
		{"loss at QoS 1 is reported", bench.Result{Target: "mosquitto", Case: c(1), Lost: 3, Rounds: 2}, false, "",
			"P2P/clients=1/qos=1/payload=16/mode=closed/target=mosquitto: lost 3 in 2 round(s)"},
		{"loss at QoS 1 with --fail-on-loss", bench.Result{Target: "mosquitto", Case: c(1), Lost: 3, Rounds: 2}, true,
			"P2P/clients=1/qos=1/payload=16/mode=closed/target=mosquitto: lost 3 in 2 round(s)", ""},
		{"loss at QoS 2 with --fail-on-loss", bench.Result{Target: "mosquitto", Case: c(2), Lost: 1, Rounds: 1}, true, "lost 1 in 1 round(s)", ""},
		{"error", bench.Result{Target: "reference", Case: c(0), Error: "connection refused"}, false, "1 case(s) failed", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var warn strings.Builder
			err := benchVerdict(&bench.Report{Results: []bench.Result{tc.res}}, tc.failLoss, &warn)
			switch {
			case tc.want == "" && err != nil:
				t.Errorf("unexpected error %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Errorf("error %v, want %q", err, tc.want)
			case err != nil && exitCode(err) != 1:
				t.Errorf("exit code %d, want 1", exitCode(err))
			}
			if !strings.Contains(warn.String(), tc.warn) || (tc.warn == "") != (warn.Len() == 0) {
				t.Errorf("warning %q, want %q", warn.String(), tc.warn)
			}
		})
	}
}

func TestBenchHelp(t *testing.T) {
	out, err := run(t, "bench", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"p2p", "fanout", "fanin", "conn", "reconnect", "closed", "open", "scheduled send time",
		"coordinated omission", "restarted between scenarios", "A B A B", "--pin", "null relay", "bench.json", "disclosure.json",
		"bench.txt", "bench.md", "throughput.png", "latency.png", "benchstat -col /target", "tcp://HOST:PORT",
		"./wirecheck-bench", "Exit codes", "--quick", "--rounds", "--duration", "--rate", "--qos", "--payload"} {
		if !strings.Contains(out, want) {
			t.Errorf("bench --help lacks %q", want)
		}
	}
}

// TestBenchEndToEnd runs the built binary on a tiny matrix: every output is
// written, bench.json has the fields other tools read, and nothing is lost
// at QoS 1. No timing assertions. The open-loop rate is set low: by default
// it is half the closed-loop rate, which a machine busy with -race and other
// tests may not sustain, and an overloaded broker may drop what overflows
// its queue.
func TestBenchEndToEnd(t *testing.T) {
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "bench")
	out, code := runBinary(t, bin, "bench", "--target", "reference", "--scenario", "p2p", "--qos", "1", "--payload", "16",
		"--rounds", "1", "--duration", "300ms", "--rate", "2000", "--out", dir)
	if code != 0 {
		t.Fatalf("exit code %d:\n%s", code, out)
	}
	for _, name := range []string{"bench.json", "disclosure.json", "bench.txt", "bench.md",
		"throughput.png", "throughput.svg", "latency.png", "latency.svg"} {
		path := filepath.Join(dir, name)
		if fi, err := os.Stat(path); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(out, path) {
			t.Errorf("output does not list %s", path)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "bench.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatalf("bench.json: %v", err)
	}
	if len(rows) == 0 {
		t.Fatal("bench.json has no rows")
	}
	ran := 0
	for _, row := range rows {
		for _, f := range []string{"target", "scenario", "qos", "payload", "delivered_per_s", "p50_us", "p99_us",
			"lost", "dup", "cpu_us_per_msg", "rss_bytes"} {
			if _, ok := row[f]; !ok {
				t.Errorf("row lacks %q: %v", f, row)
			}
		}
		if row["target"] != "reference" || row["scenario"] != "p2p" || row["qos"] != 1.0 || row["payload"] != 16.0 {
			t.Errorf("row outside the requested matrix: %v", row)
		}
		if row["na"] != nil || row["error"] != nil {
			t.Errorf("case did not run: %v", row)
			continue
		}
		ran++
		if row["lost"] != 0.0 {
			t.Errorf("lost %v at QoS 1: %v", row["lost"], row)
		}
		if d, _ := row["delivered_per_s"].(float64); d <= 0 {
			t.Errorf("nothing delivered: %v", row)
		}
		if cpu, _ := row["cpu_us_per_msg"].(float64); cpu < 0 {
			t.Errorf("the reference broker is a child process, yet its CPU is unknown: %v", row)
		}
	}
	if ran == 0 {
		t.Error("no case ran")
	}
	txt, _ := os.ReadFile(filepath.Join(dir, "bench.txt"))
	if !bytes.Contains(txt, []byte("\nBenchmarkP2P/clients=")) || !bytes.Contains(txt, []byte("/target=reference ")) {
		t.Errorf("bench.txt has no reference P2P line:\n%s", txt)
	}
	md, _ := os.ReadFile(filepath.Join(dir, "bench.md"))
	if !bytes.Contains(md, []byte("## p2p")) || !bytes.Contains(md, []byte("| case | reference delivered/s |")) {
		t.Errorf("bench.md:\n%s", md)
	}
	if !strings.Contains(out, "scenario") || !strings.Contains(out, "p2p") {
		t.Errorf("no summary table:\n%s", out)
	}
	var disc bench.Disclosure
	if b, err := os.ReadFile(filepath.Join(dir, "disclosure.json")); err != nil || json.Unmarshal(b, &disc) != nil || disc.Cores == 0 {
		t.Errorf("disclosure.json: %v %+v", err, disc)
	}
}

// TestBenchInterrupt sends SIGINT in the middle of a run, once the first
// round has reported: the command stops, exits 1, writes what it has and
// leaves no broker process behind.
func TestBenchInterrupt(t *testing.T) {
	bin := buildBinary(t)
	dir := filepath.Join(t.TempDir(), "bench")
	cmd := exec.Command(bin, "bench", "--target", "reference", "--scenario", "p2p", "--qos", "0", "--payload", "16",
		"--rounds", "2", "--duration", "1s", "--out", dir)
	var out syncbuf.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	// The deadlines only bound a hung run.
	for deadline := time.Now().Add(time.Minute); !strings.Contains(out.String(), "round 1/2"); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			<-done
			t.Fatalf("no progress line:\n%s", out.String())
		}
	}
	if brokerChildren(bin) == 0 {
		t.Errorf("no broker child process while a case runs:\n%s", out.String())
	}
	cmd.Process.Signal(syscall.SIGINT)
	var err error
	select {
	case err = <-done:
	case <-time.After(time.Minute):
		cmd.Process.Kill()
		<-done
		t.Fatalf("still running a minute after SIGINT:\n%s", out.String())
	}
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || !strings.Contains(out.String(), "interrupted") {
		t.Errorf("exit after SIGINT: %v, want exit code 1 and a message\n%s", err, out.String())
	}
	if n := brokerChildren(bin); n > 0 {
		t.Errorf("%d broker processes left running after SIGINT", n)
	}
	if _, err := os.Stat(filepath.Join(dir, "bench.json")); err != nil {
		t.Errorf("nothing written after SIGINT: %v", err)
	}
}

// brokerChildren counts running processes of bin with the broker subcommand.
func brokerChildren(bin string) int {
	n := 0
	procs, _ := filepath.Glob("/proc/[0-9]*/cmdline")
	for _, p := range procs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		args := strings.Split(string(b), "\x00")
		if len(args) > 1 && args[0] == bin && args[1] == "broker" {
			n++
		}
	}
	return n
}
