package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"regexp"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2"
	"github.com/onsi/ginkgo/v2/types"
	"github.com/onsi/gomega"
	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/fixtures"
	"github.com/wirecheck/wirecheck/harness/target"
	"github.com/wirecheck/wirecheck/reports"
	"github.com/wirecheck/wirecheck/suites/mqtt311"
)

type testFlags struct {
	target      string
	profile     string
	labelFilter string
	focus       []string
	out         string
	dryRun      bool
	timeout     time.Duration
	startLimit  time.Duration
	seed        int64
	verbose     int
	noColor     bool
}

const (
	defaultReportDir = "./wirecheck-report"
	suiteName        = "MQTT 3.1.1 conformance"
	targetStartLimit = 3 * time.Minute  // launching mosquitto or a container can be slow
	externalWait     = 15 * time.Second // an external broker should already be up
	targetStopLimit  = time.Minute
)

func newTestCmd() *cobra.Command {
	var f testFlags
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the MQTT 3.1.1 conformance suite against a broker",
		Long: `Run the MQTT 3.1.1 conformance suite in-process (no Go toolchain needed)
against a broker, show progress, and write reports.

Targets (--target):
  reference               wirecheck's own broker, in-process on random loopback ports (default)
  mosquitto               a local mosquitto binary run as a child process with a generated
                          config (password file, ACL, TLS, persistence), stopped afterwards
  container[:IMAGE]       Mosquitto in a container via testcontainers-go (default image
                          $WIRECHECK_CONTAINER_IMAGE, else eclipse-mosquitto:2); needs a
                          Docker engine
  tcp://HOST:PORT         any running broker (also mqtt://); it is neither started,
  ssl://HOST:PORT         stopped nor restarted, so restart specs skip (also tls://, mqtts://)
  ws://HOST:PORT/PATH     MQTT over WebSocket

For an external broker, --profile FILE (YAML) says what the suite may assume:
  username: alice                    a user the broker accepts (enables auth specs)
  password: secret
  denied_topic: private/x            a topic the ACL denies that user (enables ACL specs)
  tls_addr: 127.0.0.1:8883           a TLS listener, for TLS specs
  ca_file: ca.pem                    PEM to trust for TLS
  insecure_skip_verify: false
  ws_url: ws://127.0.0.1:8080/mqtt   a WebSocket listener
  capabilities:
    retain: true                     retained messages supported
    max_qos: 2                       highest QoS granted
    wildcards: true
    anonymous: true                  clients without a user name are accepted
    connect_timeout: 10s             idle sockets are closed after this
    queues_qos0_offline: false       QoS 0 is queued for offline sessions
    sys_topics: true                 $SYS is published
Specs whose preconditions a target does not meet are skipped and say why.

Labels (--label-filter, Ginkgo's label syntax: ||, &&, !, parentheses, /regexp/):
  every spec carries the IDs of the statements it checks (MQTT-3.1.2-24), the
  level of those statements (must, should, may) and the area of the standard
  it belongs to: connect, session, will, keepalive, security, transport,
  publish, qos, retained, subscribe, topics, packet-ids, malformed.
  --focus REGEXP selects specs by their full text instead (repeatable).
  --dry-run lists what would run without touching a broker.

Outputs, in --out (default ./wirecheck-report), overwritten on each run:
  junit.xml          JUnit XML (Ginkgo's)
  report.json        Ginkgo's JSON report
  conformance.json   one entry per catalogue statement: id, status, verdict
                     (passed, failed, skipped, untested), specs, outcomes, measured times
  conformance.md     the same as Markdown: totals, then one row per statement
  conformance.html   the same as a self-contained HTML page

Exit codes: 0 every spec that ran passed; 1 a spec (or the suite's setup) failed;
2 bad flags, an unknown target, or a target that would not start.`,
		Example: `  wirecheck test
  wirecheck test --label-filter 'MQTT-3.1.2-24 || will' --out /tmp/wc
  wirecheck test --label-filter 'must && !keepalive'
  wirecheck test --target mosquitto -v
  wirecheck test --target container:eclipse-mosquitto:2
  wirecheck test --target tcp://127.0.0.1:1883 --profile broker.yaml
  wirecheck test --dry-run --out /tmp/coverage`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTest(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.target, "target", "t", "reference", "broker under test: reference, mosquitto, container[:IMAGE], or a tcp://, ssl:// or ws:// URL")
	fl.StringVar(&f.profile, "profile", "", "YAML profile of an external target (see above)")
	fl.StringVarP(&f.labelFilter, "label-filter", "l", "", "run only specs whose labels match this Ginkgo label expression")
	fl.StringArrayVar(&f.focus, "focus", nil, "run only specs whose full text matches this regular expression (repeatable)")
	fl.StringVarP(&f.out, "out", "o", defaultReportDir, "directory for the reports")
	fl.BoolVar(&f.dryRun, "dry-run", false, "list the specs that would run and write reports without running them")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "stop the suite after this long")
	fl.DurationVar(&f.startLimit, "start-timeout", 0, "how long to wait for the target to accept connections (default 3m, 15s for a URL target)")
	fl.Int64Var(&f.seed, "seed", 0, "random seed for spec order (0: time-based)")
	fl.CountVarP(&f.verbose, "verbose", "v", "show each spec as it runs (-vv: and every step)")
	fl.BoolVar(&f.noColor, "no-color", false, "no colours in the progress output (the default when stdout is not a terminal)")
	return cmd
}

// ginkgoT is the GinkgoTestingT RunSpecs reports a failed suite to.
type ginkgoT struct{ failed bool }

func (t *ginkgoT) Fail() { t.failed = true }

// suiteRan guards RunSpecs, which Ginkgo allows once per process.
var suiteRan bool

func runTest(cmd *cobra.Command, f *testFlags) error {
	out := cmd.OutOrStdout()
	if f.labelFilter != "" {
		if _, err := types.ParseLabelFilter(f.labelFilter); err != nil {
			return usagef("--label-filter %q: %s", f.labelFilter, plainError(err))
		}
	}
	for _, re := range f.focus {
		if _, err := regexp.Compile(re); err != nil {
			return usagef("--focus %q: %v", re, err)
		}
	}
	if f.timeout <= 0 {
		return usagef("--timeout must be positive, got %s", f.timeout)
	}
	if f.out == "" {
		return usagef("--out must name a directory")
	}
	if suiteRan {
		return errors.New("the suite can run only once per process")
	}
	if f.profile != "" {
		if !strings.Contains(f.target, "://") {
			return usagef("--profile describes an external broker: use it with a tcp://, ssl:// or ws:// --target")
		}
		if _, err := os.Stat(f.profile); err != nil {
			return usagef("--profile: %v", err)
		}
	}
	tgt, err := target.Parse(f.target, f.profile)
	if err != nil {
		return usageError{err}
	}

	// The target is started here, not in the suite's BeforeSuite, so that a
	// target that will not start is a usage/target error (exit 2), not a
	// failed suite. A dry run needs no broker.
	started := false
	if !f.dryRun {
		fmt.Fprintf(cmd.ErrOrStderr(), "wirecheck: starting target %s\n", tgt.Name())
		limit := f.startLimit
		if limit <= 0 {
			limit = targetStartLimit
			if _, external := tgt.(*target.External); external {
				limit = externalWait
			}
		}
		ctx, cancel := context.WithTimeout(orBackground(cmd.Context()), limit)
		err := tgt.Start(ctx)
		cancel()
		if err != nil {
			stopTarget(tgt)
			return usagef("target %s did not start: %v", tgt.Name(), err)
		}
		started = true
	}
	defer func() {
		if started {
			stopTarget(tgt)
		}
	}()
	info := tgt.Info()
	mqtt311.SetTarget(tgt, true)

	// Ginkgo's own configuration is bound to flag.CommandLine and its
	// -ginkgo.* flags, which this binary never parses: build it here.
	suiteConfig := types.NewDefaultSuiteConfig()
	suiteConfig.LabelFilter = f.labelFilter
	suiteConfig.FocusStrings = f.focus
	suiteConfig.DryRun = f.dryRun
	suiteConfig.Timeout = f.timeout
	if f.seed != 0 {
		suiteConfig.RandomSeed = f.seed
	}
	reporterConfig := types.NewDefaultReporterConfig()
	reporterConfig.NoColor = f.noColor || !isTerminal(os.Stdout)
	switch {
	case f.verbose >= 2:
		reporterConfig.VeryVerbose = true
	case f.verbose == 1:
		reporterConfig.Verbose = true
	case f.labelFilter != "" || len(f.focus) > 0:
		// One "S" per unselected spec is noise.
		reporterConfig.SilenceSkips = true
	}

	var report *types.Report
	ginkgo.ReportAfterSuite("wirecheck reports", func(r types.Report) { report = &r })
	gomega.RegisterFailHandler(ginkgo.Fail)
	// RunSpecs exits the process when a suite with FIt/FDescribe passes,
	// unless it thinks an editor runs it; the report says so instead.
	os.Setenv("GINKGO_EDITOR_INTEGRATION", "true")
	suiteRan = true
	t := &ginkgoT{}
	ginkgo.RunSpecs(t, suiteName, suiteConfig, reporterConfig)

	if started {
		stopTarget(tgt)
		started = false
	}
	if report == nil {
		return errors.New("the suite ended without a report")
	}
	if v := tgt.Info().Version; v != "" {
		info.Version = v
	}
	c := reports.Build(*report, fixtures.MQTT311(), tgt.Name(), info.Version)
	werr := reports.WriteAll(f.out, *report, c)
	printSummary(out, c, f.out, werr == nil)
	if werr != nil {
		return fmt.Errorf("writing reports: %w", werr)
	}
	switch n := c.Totals.SpecsFailed; {
	case n > 0:
		return fmt.Errorf("%d of %d specs failed", n, c.Totals.Specs)
	case t.failed || !report.SuiteSucceeded:
		reason := "the suite failed"
		if rs := report.SpecialSuiteFailureReasons; len(rs) > 0 {
			reason += ": " + strings.Join(rs, "; ")
		} else if len(c.Suite.FailedSetup) > 0 {
			reason += " in " + c.Suite.FailedSetup[0].Name
		}
		return errors.New(reason)
	}
	return nil
}

func stopTarget(tgt target.Target) {
	ctx, cancel := context.WithTimeout(context.Background(), targetStopLimit)
	defer cancel()
	if err := tgt.Stop(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "wirecheck: stopping target %s: %v\n", tgt.Name(), err)
	}
	switch c := tgt.(type) {
	case interface{ Cleanup() error }:
		if err := c.Cleanup(); err != nil {
			fmt.Fprintf(os.Stderr, "wirecheck: cleaning up target %s: %v\n", tgt.Name(), err)
		}
	case interface{ Cleanup() }:
		c.Cleanup()
	}
}

func printSummary(w io.Writer, c *reports.Conformance, dir string, written bool) {
	t := c.Totals
	var b strings.Builder
	fmt.Fprintf(&b, "\nwirecheck: %s against %s", c.Catalogue, c.Target)
	if c.Version != "" {
		fmt.Fprintf(&b, " (%s)", c.Version)
	}
	if c.Suite.DryRun {
		fmt.Fprintf(&b, ", dry run: %d specs would run, %d not selected", t.SpecsDryRun, t.SpecsSkipped)
	} else {
		fmt.Fprintf(&b, ": specs %d passed, %d failed, %d skipped", t.SpecsPassed, t.SpecsFailed, t.SpecsSkipped)
	}
	fmt.Fprintf(&b, "; statements %d passed, %d failed, %d skipped, %d untested of %d (%d of %d tested statements cited by a spec)",
		t.ByVerdict[reports.Passed], t.ByVerdict[reports.Failed], t.ByVerdict[reports.Skipped], t.ByVerdict[reports.Untested],
		t.Statements, t.TestedCovered, t.Tested)
	if len(t.UnknownIDs) > 0 {
		fmt.Fprintf(&b, "; unknown IDs cited: %s", strings.Join(t.UnknownIDs, ", "))
	}
	fmt.Fprintf(&b, "; %.1f s.", t.DurationS)
	if c.Suite.ProgrammaticFocus {
		b.WriteString(" The suite has focused specs (FIt/FDescribe): only those ran.")
	}
	if written {
		fmt.Fprintf(&b, "\nReports: %s\n", strings.Join(reports.Files(dir), ", "))
	} else {
		b.WriteString("\n")
	}
	io.WriteString(w, b.String())
}

var (
	ginkgoMarkup = regexp.MustCompile(`\{\{[^}]*\}\}`)
	ansiEscape   = regexp.MustCompile("\x1b\\[[0-9;]*m")
)

// plainError is a Ginkgo error on one line without colour codes or markup.
func plainError(err error) string {
	msg := err.Error()
	var ge types.GinkgoError
	if errors.As(err, &ge) {
		msg = ge.Heading + ": " + ginkgoMarkup.ReplaceAllString(ge.Message, "")
	}
	return strings.Join(strings.Fields(ansiEscape.ReplaceAllString(msg, "")), " ")
}

func orBackground(ctx context.Context) context.Context {
	if ctx == nil {
		return context.Background()
	}
	return ctx
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
