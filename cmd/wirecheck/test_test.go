package main

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirecheck/wirecheck/fixtures"
)

// run executes the CLI in-process. Only for cases that end before RunSpecs,
// which Ginkgo allows once per process.
func run(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&out)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// expectUsageError runs args and requires exit code 2 with want in the message.
func expectUsageError(t *testing.T, args []string, want string) error {
	t.Helper()
	_, err := run(t, args...)
	if err == nil {
		t.Fatal("no error")
	}
	if code := exitCode(err); code != 2 {
		t.Errorf("exit code %d, want 2 (%v)", code, err)
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("error %q lacks %q", err, want)
	}
	return err
}

func TestTestArgumentErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closedPort := ln.Addr().String()
	ln.Close()
	profile := filepath.Join(t.TempDir(), "p.yaml")
	os.WriteFile(profile, []byte("capabilities:\n  retain: true\n"), 0o644)

	cases := []struct {
		name string
		args []string
		want string // in the error
	}{
		{"bad label filter", []string{"test", "--label-filter", "must &&"}, "Syntax Error Parsing Label Filter"},
		{"unbalanced label filter", []string{"test", "--label-filter", "(will"}, "--label-filter"},
		{"unknown target", []string{"test", "--target", "bogus"}, `unknown target "bogus"`},
		{"bad URL scheme", []string{"test", "--target", "http://127.0.0.1:80"}, "scheme"},
		{"bad focus", []string{"test", "--focus", "("}, "--focus"},
		{"zero timeout", []string{"test", "--timeout", "0s"}, "--timeout"},
		{"profile without external target", []string{"test", "--profile", profile}, "--profile"},
		{"missing profile", []string{"test", "--target", "tcp://" + closedPort, "--profile", "/nonexistent.yaml"}, "--profile"},
		{"target that does not start", []string{"test", "--target", "tcp://" + closedPort, "--start-timeout", "300ms", "--out", t.TempDir()}, "did not start"},
		{"positional argument", []string{"test", "extra"}, "unknown command"},
		{"unknown suite", []string{"test", "--suite", "mqtt5"}, "--suite"},
		{"unknown REST target", []string{"test", "--rest-target", "bogus"}, `unknown REST target "bogus"`},
		{"bad REST URL scheme", []string{"test", "--rest-target", "ftp://127.0.0.1:21"}, "scheme"},
		{"REST token for the reference server", []string{"test", "--rest-target", "reference", "--rest-token", "x"}, "external server"},
		{"missing REST profile", []string{"test", "--rest-target", "http://" + closedPort, "--rest-profile", "/nonexistent.yaml"}, "--rest-profile"},
		{"broker flag with the REST suite", []string{"test", "--suite", "rest", "--target", "mosquitto"}, "--target is for the mqtt311 suite"},
		{"REST flag with the MQTT suite", []string{"test", "--suite", "mqtt311", "--rest-token", "x"}, "--rest-token is for the rest suite"},
		{"REST target that does not start", []string{"test", "--rest-target", "http://" + closedPort, "--start-timeout", "300ms", "--out", t.TempDir()}, "did not start"},
		{"unknown flag", []string{"test", "--bogus"}, "unknown flag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := expectUsageError(t, tc.args, tc.want)
			if strings.Contains(err.Error(), "\x1b[") {
				t.Errorf("error has colour codes: %q", err)
			}
		})
	}
	if suiteRan {
		t.Fatal("an argument error reached RunSpecs")
	}
}

func TestHelpHasNoGinkgoFlags(t *testing.T) {
	for _, args := range [][]string{{"--help"}, {"test", "--help"}} {
		out, err := run(t, args...)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(out, "ginkgo.") || strings.Contains(out, "test.v") {
			t.Errorf("%v shows Go test or Ginkgo flags:\n%s", args, out)
		}
	}
	out, _ := run(t, "test", "--help")
	for _, want := range []string{"./wirecheck-report", "MQTT-3.1.2-24 || will", "container[:IMAGE]", "queues_qos0_offline",
		"conformance.json", "Exit codes", "(default 10m0s)", "--rest-target", "reference-postgres", "--rest-token",
		"--suite", "mqtt_url", "SEED-TASKS-1", "readings, bridge, security"} {
		if !strings.Contains(out, want) {
			t.Errorf("test --help lacks %q", want)
		}
	}
}

// buildBinary compiles wirecheck once for the end-to-end tests.
func buildBinary(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the binary")
	}
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go toolchain on PATH")
	}
	bin := filepath.Join(t.TempDir(), "wirecheck")
	start := time.Now()
	cmd := exec.Command(gobin, "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	t.Logf("built in %s", time.Since(start).Round(time.Millisecond))
	return bin
}

type conformanceFile struct {
	Target    string `json:"target"`
	Version   string `json:"version"`
	Generated string `json:"generated"`
	Totals    struct {
		Statements    int            `json:"statements"`
		ByVerdict     map[string]int `json:"by_verdict"`
		Tested        int            `json:"tested"`
		TestedCovered int            `json:"tested_covered"`
		UnknownIDs    []string       `json:"unknown_ids"`
		Specs         int            `json:"specs"`
		SpecsFailed   int            `json:"specs_failed"`
	} `json:"totals"`
	Statements []struct {
		ID      string `json:"id"`
		Status  string `json:"status"`
		Verdict string `json:"verdict"`
		Specs   []struct {
			Name  string `json:"name"`
			State string `json:"state"`
		} `json:"specs"`
		Outcomes []json.RawMessage `json:"outcomes"`
	} `json:"statements"`
}

func runBinary(t *testing.T, bin string, args ...string) (string, int) {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Dir = t.TempDir()
	start := time.Now()
	out, err := cmd.CombinedOutput()
	t.Logf("wirecheck %s: %s", strings.Join(args, " "), time.Since(start).Round(time.Millisecond))
	var ee *exec.ExitError
	switch {
	case err == nil:
		return string(out), 0
	case errors.As(err, &ee):
		return string(out), ee.ExitCode()
	}
	t.Fatalf("running %s: %v", bin, err)
	return "", -1
}

func readConformance(t *testing.T, dir string) conformanceFile {
	t.Helper()
	var c conformanceFile
	b, err := os.ReadFile(filepath.Join(dir, "conformance.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatalf("conformance.json: %v", err)
	}
	return c
}

func TestEndToEnd(t *testing.T) {
	bin := buildBinary(t)

	mqttN, restN := len(fixtures.MQTT311().Statements), len(fixtures.REST().Statements)

	t.Run("connect specs against the reference broker", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "out")
		// --target alone: the MQTT suite only.
		out, code := runBinary(t, bin, "test", "--target", "reference", "--out", dir, "--label-filter", "connect")
		if code != 0 {
			t.Fatalf("exit code %d:\n%s", code, out)
		}
		for _, want := range []string{"Ran ", "wirecheck: MQTT 3.1.1 against reference", "Reports: "} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		if strings.Contains(out, "REST") {
			t.Errorf("an MQTT-only run mentions REST:\n%s", out)
		}
		checkFiles(t, dir)
		var junit reporters.JUnitTestSuites
		if b, err := os.ReadFile(filepath.Join(dir, "junit.xml")); err != nil || xml.Unmarshal(b, &junit) != nil || junit.Tests == 0 {
			t.Errorf("junit.xml: %v, %d tests", err, junit.Tests)
		}
		var ginkgo []types.Report
		if b, err := os.ReadFile(filepath.Join(dir, "report.json")); err != nil || json.Unmarshal(b, &ginkgo) != nil ||
			len(ginkgo) != 1 || ginkgo[0].SuiteConfig.LabelFilter != "mqtt311 && (connect)" {
			t.Errorf("report.json: %v", err)
		}
		for _, sr := range ginkgo[0].SpecReports {
			if slices.Contains(sr.Labels(), "rest") {
				t.Errorf("an MQTT-only report lists the REST spec %s", sr.FullText())
				break
			}
		}
		c := readConformance(t, dir)
		if len(c.Statements) != mqttN || c.Totals.Statements != mqttN || c.Target != "reference" || c.Generated == "" {
			t.Fatalf("conformance.json: %d statements, target %q", len(c.Statements), c.Target)
		}
		if c.Totals.SpecsFailed != 0 || c.Totals.ByVerdict["passed"] == 0 {
			t.Errorf("totals: %+v", c.Totals)
		}
		for _, s := range c.Statements {
			if s.ID == "" || s.Status == "" || s.Verdict == "" || s.Specs == nil || s.Outcomes == nil {
				t.Errorf("statement lacks a field: %+v", s)
			}
			for _, sp := range s.Specs {
				if sp.State == "passed" && s.Verdict != "passed" {
					t.Errorf("%s has a passed spec but verdict %s", s.ID, s.Verdict)
				}
			}
		}
		md, _ := os.ReadFile(filepath.Join(dir, "conformance.md"))
		html, _ := os.ReadFile(filepath.Join(dir, "conformance.html"))
		if !bytes.Contains(md, []byte(fmt.Sprintf("| Statements | %d |", mqttN))) || !bytes.Contains(md, []byte("| PASS |")) {
			t.Errorf("conformance.md looks wrong:\n%.2000s", md)
		}
		if !bytes.Contains(html, []byte("<table>")) || !bytes.Contains(html, []byte(`<tr class="passed"`)) {
			t.Errorf("conformance.html looks wrong")
		}
	})

	t.Run("the REST suite against the reference server", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "rest")
		// --rest-target alone: the REST suite only.
		out, code := runBinary(t, bin, "test", "--rest-target", "reference", "--out", dir)
		if code != 0 {
			t.Fatalf("exit code %d:\n%s", code, out)
		}
		if !strings.Contains(out, "wirecheck: REST against reference") || strings.Contains(out, "MQTT 3.1.1") {
			t.Errorf("summary:\n%s", out)
		}
		checkFiles(t, dir)
		c := readConformance(t, dir)
		if len(c.Statements) != restN || c.Target != "reference" || !strings.Contains(c.Version, "sqlite") {
			t.Fatalf("conformance.json: %d statements (want %d), target %q, version %q", len(c.Statements), restN, c.Target, c.Version)
		}
		if c.Totals.SpecsFailed != 0 || c.Totals.Specs == 0 || c.Totals.ByVerdict["passed"] != c.Totals.Tested ||
			len(c.Totals.UnknownIDs) > 0 {
			t.Errorf("totals: %+v", c.Totals)
		}
		for _, s := range c.Statements {
			if strings.HasPrefix(s.ID, "MQTT-") {
				t.Errorf("a REST-only report lists %s", s.ID)
			}
			if s.Status == "tested" && s.Verdict != "passed" {
				t.Errorf("%s: verdict %s", s.ID, s.Verdict)
			}
		}
	})

	t.Run("both suites by default, each against its reference target", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "both")
		out, code := runBinary(t, bin, "test", "--out", dir, "--label-filter", "SEED-CURL-1 || MQTT-3.1.2-24")
		if code != 0 {
			t.Fatalf("exit code %d:\n%s", code, out)
		}
		for _, want := range []string{"wirecheck: starting target reference (MQTT broker)", "wirecheck: starting target reference (REST server)",
			"wirecheck: MQTT 3.1.1 and REST against broker reference", "and REST server reference", " passed, 0 failed, "} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
		c := readConformance(t, dir)
		if len(c.Statements) != mqttN+restN || c.Target != "mqtt311: reference; rest: reference" {
			t.Fatalf("conformance.json: %d statements (want %d), target %q", len(c.Statements), mqttN+restN, c.Target)
		}
		for _, id := range []string{"SEED-CURL-1", "MQTT-3.1.2-24"} {
			for _, s := range c.Statements {
				if s.ID == id && s.Verdict != "passed" {
					t.Errorf("%s: verdict %s", id, s.Verdict)
				}
			}
		}
	})

	t.Run("dry run lists a spec for every tested statement of both suites", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "dry")
		out, code := runBinary(t, bin, "test", "--dry-run", "--out", dir)
		if code != 0 {
			t.Fatalf("exit code %d:\n%s", code, out)
		}
		if strings.Contains(out, "starting target") {
			t.Errorf("a dry run started a target:\n%s", out)
		}
		c := readConformance(t, dir)
		if len(c.Statements) != mqttN+restN {
			t.Fatalf("%d statements, want %d", len(c.Statements), mqttN+restN)
		}
		t.Logf("dry run: %d specs; %d of %d tested statements cited", c.Totals.Specs, c.Totals.TestedCovered, c.Totals.Tested)
		for _, s := range c.Statements {
			if s.Verdict != "untested" {
				t.Errorf("%s: verdict %s in a dry run", s.ID, s.Verdict)
			}
			if s.Status == "tested" && len(s.Specs) == 0 {
				t.Errorf("%s is marked tested but no spec cites it", s.ID)
			}
		}
		if len(c.Totals.UnknownIDs) > 0 {
			t.Errorf("specs cite IDs missing from the catalogue: %v", c.Totals.UnknownIDs)
		}
	})
}

// checkFiles requires the five report files, none empty.
func checkFiles(t *testing.T, dir string) {
	t.Helper()
	for _, name := range []string{"junit.xml", "report.json", "conformance.json", "conformance.md", "conformance.html"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
}
