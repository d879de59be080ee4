package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"regexp"
	"slices"
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
	restsuite "github.com/wirecheck/wirecheck/suites/rest"
)

type testFlags struct {
	target      string
	profile     string
	restTarget  string
	restToken   string
	restProfile string
	suite       string
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
	targetStartLimit = 3 * time.Minute  // launching mosquitto or a container can be slow
	externalWait     = 15 * time.Second // an external broker should already be up
	targetStopLimit  = time.Minute
)

func newTestCmd() *cobra.Command {
	var f testFlags
	cmd := &cobra.Command{
		Use:   "test",
		Short: "Run the MQTT 3.1.1 and REST conformance suites against a broker and a REST server",
		Long: `Run the conformance suites in-process (no Go toolchain needed), show progress,
and write reports: the MQTT 3.1.1 suite against a broker (--target) and the
REST suite against a REST server (--rest-target).

Suites (--suite mqtt311, rest or all): by default both when neither --target
nor --rest-target is given, only mqtt311 when only --target is, only rest when
only --rest-target is, and both when both are. Only the chosen suites' targets
are started. The choice is a label filter (mqtt311, rest) ANDed with yours.

MQTT targets (--target):
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

REST targets (--rest-target):
  reference               wirecheck's reference REST server, in-process on loopback, SQLite in
                          a temporary directory, HTTP and HTTPS, a random bearer token for
                          writes, and an in-process MQTT broker it bridges readings from (default)
  reference-postgres      the same on a throwaway PostgreSQL server (Debian's postgresql)
  http://HOST:PORT[/BASE] any server that claims the seed's sensors and tasks API; it is
  https://HOST:PORT       neither started nor stopped; --rest-token gives the bearer token
                          its writes need

For an external REST server, --rest-profile FILE (YAML) says what the suite may assume:
  token: secret                      bearer token for writes (--rest-token overrides it)
  mqtt_url: tcp://127.0.0.1:1883     the broker it bridges sensors/+/value from (enables bridge specs)
  max_body: 65536                    its request body limit in bytes (sharpens the 413 spec)
  tls_url: https://127.0.0.1:8443    an HTTPS base URL of the same API
  ca_file: ca.pem                    PEM to trust for HTTPS
  insecure_skip_verify: false
Specs whose preconditions a target does not meet are skipped and say why.

Labels (--label-filter, Ginkgo's label syntax: ||, &&, !, parentheses, /regexp/):
  every spec carries the suite (mqtt311, rest), the IDs of the statements it
  checks (MQTT-3.1.2-24; RFC9110-13.1.1, SEED-TASKS-1 for REST), their level
  (must, should, may) and the area it belongs to. MQTT areas: connect,
  session, will, keepalive, security, transport, publish, qos, retained,
  subscribe, topics, packet-ids, malformed. REST areas: sensors, tasks, http,
  readings, bridge, security.
  --focus REGEXP selects specs by their full text instead (repeatable).
  --dry-run lists what would run without touching a broker or server.

Outputs, in --out (default ./wirecheck-report), overwritten on each run:
  junit.xml          JUnit XML (Ginkgo's)
  report.json        Ginkgo's JSON report
  conformance.json   one entry per catalogue statement of every suite that ran: id,
                     status, verdict (passed, failed, skipped, untested), specs,
                     outcomes, measured times
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
  wirecheck test --rest-target reference --out /tmp/rest
  wirecheck test --rest-target reference-postgres --label-filter 'tasks || http'
  wirecheck test --rest-target http://127.0.0.1:8000 --rest-token secret
  wirecheck test --dry-run --out /tmp/coverage`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runTest(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.target, "target", "t", "reference", "broker under test: reference, mosquitto, container[:IMAGE], or a tcp://, ssl:// or ws:// URL")
	fl.StringVar(&f.profile, "profile", "", "YAML profile of an external target (see above)")
	fl.StringVar(&f.restTarget, "rest-target", "reference", "REST server under test: reference, reference-postgres, or an http:// or https:// base URL")
	fl.StringVar(&f.restToken, "rest-token", "", "bearer token for the writes of an external REST server")
	fl.StringVar(&f.restProfile, "rest-profile", "", "YAML profile of an external REST server (see above)")
	fl.StringVar(&f.suite, "suite", "", "suites to run: mqtt311, rest or all (default: from --target and --rest-target, see above)")
	fl.StringVarP(&f.labelFilter, "label-filter", "l", "", "run only specs whose labels match this Ginkgo label expression")
	fl.StringArrayVar(&f.focus, "focus", nil, "run only specs whose full text matches this regular expression (repeatable)")
	fl.StringVarP(&f.out, "out", "o", defaultReportDir, "directory for the reports")
	fl.BoolVar(&f.dryRun, "dry-run", false, "list the specs that would run and write reports without running them")
	fl.DurationVar(&f.timeout, "timeout", 10*time.Minute, "stop the suite after this long")
	fl.DurationVar(&f.startLimit, "start-timeout", 0, "how long to wait for a target to accept connections (default 3m, 15s for a URL target)")
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

// Suite names, which are also the labels that select a suite's specs.
const (
	suiteMQTT = "mqtt311"
	suiteREST = "rest"
	suiteAll  = "all"
)

// chooseSuites applies the --suite rules: explicit, or from which of
// --target and --rest-target were given.
func chooseSuites(cmd *cobra.Command, f *testFlags) (mqtt, rest bool, err error) {
	fl := cmd.Flags()
	switch f.suite {
	case suiteMQTT:
		mqtt = true
	case suiteREST:
		rest = true
	case suiteAll:
		mqtt, rest = true, true
	case "":
		mqttGiven, restGiven := fl.Changed("target"), fl.Changed("rest-target")
		mqtt = mqttGiven || !restGiven
		rest = restGiven || !mqttGiven
	default:
		return false, false, usagef("--suite %q: want mqtt311, rest or all", f.suite)
	}
	for _, name := range []string{"target", "profile"} {
		if !mqtt && fl.Changed(name) {
			return false, false, usagef("--%s is for the mqtt311 suite, which --suite %s does not run", name, f.suite)
		}
	}
	for _, name := range []string{"rest-target", "rest-token", "rest-profile"} {
		if !rest && fl.Changed(name) {
			return false, false, usagef("--%s is for the rest suite, which --suite %s does not run", name, f.suite)
		}
	}
	return mqtt, rest, nil
}

// suiteFilter ANDs the suite choice with the user's label filter.
func suiteFilter(mqtt, rest bool, user string) string {
	var suite string
	switch {
	case mqtt && !rest:
		suite = suiteMQTT
	case rest && !mqtt:
		suite = suiteREST
	}
	switch {
	case suite == "":
		return user
	case user == "":
		return suite
	}
	return suite + " && (" + user + ")"
}

// idle stands in for the broker when the MQTT suite does not run: its
// BeforeSuite still runs (Ginkgo has one per process) and must find a
// started target to describe, not start one.
type idle struct{}

func (idle) Name() string                  { return "(not run)" }
func (idle) Start(context.Context) error   { return nil }
func (idle) Stop(context.Context) error    { return nil }
func (idle) Restart(context.Context) error { return target.ErrNotSupported }
func (idle) Info() target.Info             { return target.Info{Kind: "none"} }

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
	runMQTT, runREST, err := chooseSuites(cmd, f)
	if err != nil {
		return err
	}
	if suiteRan {
		return errors.New("the suite can run only once per process")
	}

	var tgt target.Target = idle{}
	if runMQTT {
		if f.profile != "" {
			if !strings.Contains(f.target, "://") {
				return usagef("--profile describes an external broker: use it with a tcp://, ssl:// or ws:// --target")
			}
			if _, err := os.Stat(f.profile); err != nil {
				return usagef("--profile: %v", err)
			}
		}
		if tgt, err = target.Parse(f.target, f.profile); err != nil {
			return usageError{err}
		}
	}
	var restTgt target.RESTTarget
	if runREST {
		if f.restProfile != "" {
			if _, err := os.Stat(f.restProfile); err != nil {
				return usagef("--rest-profile: %v", err)
			}
		}
		if restTgt, err = target.ParseRESTWith(f.restTarget, f.restProfile, f.restToken); err != nil {
			return usageError{fmt.Errorf("--rest-target: %w", err)}
		}
		if ref, ok := restTgt.(*target.RESTReference); ok {
			// The server's errors (the cause of a 500) show with the spec.
			ref.Logger = slog.New(slog.NewTextHandler(ginkgo.GinkgoWriter, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
	}

	// Targets are started here, not in the suites' setup, so that a target
	// that will not start is a usage/target error (exit 2), not a failed
	// suite. A dry run needs neither.
	var stops []func()
	defer func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
	}()
	stopAll := func() {
		for i := len(stops) - 1; i >= 0; i-- {
			stops[i]()
		}
		stops = nil
	}
	start := func(kind, name string, external bool, startFn func(context.Context) error, stopFn func()) error {
		fmt.Fprintf(cmd.ErrOrStderr(), "wirecheck: starting target %s (%s)\n", name, kind)
		limit := f.startLimit
		if limit <= 0 {
			limit = targetStartLimit
			if external {
				limit = externalWait
			}
		}
		ctx, cancel := context.WithTimeout(orBackground(cmd.Context()), limit)
		err := startFn(ctx)
		cancel()
		if err != nil {
			stopFn()
			return usagef("target %s (%s) did not start: %v", name, kind, err)
		}
		stops = append(stops, stopFn)
		return nil
	}
	if !f.dryRun && runMQTT {
		_, external := tgt.(*target.External)
		if err := start("MQTT broker", tgt.Name(), external, tgt.Start, func() { stopTarget(tgt) }); err != nil {
			return err
		}
	}
	if !f.dryRun && runREST {
		_, external := restTgt.(*target.RESTExternal)
		if err := start("REST server", restTgt.Name(), external, restTgt.Start, func() { stopRESTTarget(restTgt) }); err != nil {
			return err
		}
	}
	info := tgt.Info()
	mqtt311.SetTarget(tgt, true)
	if runREST {
		restsuite.SetTarget(restTgt, true)
	}

	// Ginkgo's own configuration is bound to flag.CommandLine and its
	// -ginkgo.* flags, which this binary never parses: build it here.
	suiteConfig := types.NewDefaultSuiteConfig()
	suiteConfig.LabelFilter = suiteFilter(runMQTT, runREST, f.labelFilter)
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
	case suiteConfig.LabelFilter != "" || len(f.focus) > 0:
		// One "S" per unselected spec is noise.
		reporterConfig.SilenceSkips = true
	}

	var cats []*fixtures.Catalogue
	var names []string
	if runMQTT {
		cats, names = append(cats, fixtures.MQTT311()), append(names, "MQTT 3.1.1")
	}
	if runREST {
		cats, names = append(cats, fixtures.REST()), append(names, "REST")
	}
	catalogue, err := fixtures.Merge(strings.Join(names, " and "), cats...)
	if err != nil {
		return err
	}

	var report *types.Report
	ginkgo.ReportAfterSuite("wirecheck reports", func(r types.Report) { report = &r })
	gomega.RegisterFailHandler(ginkgo.Fail)
	// RunSpecs exits the process when a suite with FIt/FDescribe passes,
	// unless it thinks an editor runs it; the report says so instead.
	os.Setenv("GINKGO_EDITOR_INTEGRATION", "true")
	suiteRan = true
	t := &ginkgoT{}
	ginkgo.RunSpecs(t, catalogue.Name+" conformance", suiteConfig, reporterConfig)

	// Versions as the running targets report them, before they stop.
	if v := tgt.Info().Version; v != "" {
		info.Version = v
	}
	var restInfo target.RESTInfo
	if runREST {
		restInfo = restTgt.Info()
	}
	stopAll()
	if report == nil {
		return errors.New("the suite ended without a report")
	}
	*report = onlySuites(*report, runMQTT, runREST)
	targetName, version, against := describeTargets(runMQTT, runREST, tgt, info, restTgt, restInfo)
	c := reports.Build(*report, catalogue, targetName, version)
	werr := reports.WriteAll(f.out, *report, c)
	printSummary(out, c, against, f.out, werr == nil)
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

// onlySuites drops the specs of a suite that was not chosen: one binary
// holds both suites, but a run of one reports only its own specs (as
// skipped when the user's filter left them out), not the other's.
func onlySuites(r types.Report, mqtt, rest bool) types.Report {
	if mqtt && rest {
		return r
	}
	keep := suiteMQTT
	if rest {
		keep = suiteREST
	}
	specs := make(types.SpecReports, 0, len(r.SpecReports))
	total := 0
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType == types.NodeTypeIt {
			if !slices.Contains(sr.Labels(), keep) {
				continue
			}
			total++
		}
		specs = append(specs, sr)
	}
	r.SpecReports = specs
	r.PreRunStats.TotalSpecs = total
	return r
}

// describeTargets names the target(s) and version(s) for the reports (as
// before for one suite; "mqtt311: A; rest: B" for both) and for the
// summary line.
func describeTargets(runMQTT, runREST bool, tgt target.Target, info target.Info, rt target.RESTTarget, ri target.RESTInfo) (name, version, against string) {
	restVersion := ri.Version
	if ri.Store != "" {
		restVersion = strings.TrimSpace(restVersion + " on " + ri.Store)
	}
	withVersion := func(name, v string) string {
		if v != "" {
			return name + " (" + v + ")"
		}
		return name
	}
	switch {
	case runMQTT && !runREST:
		return tgt.Name(), info.Version, withVersion(tgt.Name(), info.Version)
	case runREST && !runMQTT:
		return rt.Name(), restVersion, withVersion(rt.Name(), restVersion)
	}
	name = suiteMQTT + ": " + tgt.Name() + "; " + suiteREST + ": " + rt.Name()
	if info.Version != "" || restVersion != "" {
		version = suiteMQTT + ": " + orNone(info.Version) + "; " + suiteREST + ": " + orNone(restVersion)
	}
	against = "broker " + withVersion(tgt.Name(), info.Version) + " and REST server " + withVersion(rt.Name(), restVersion)
	return name, version, against
}

func orNone(s string) string {
	if s == "" {
		return "unknown"
	}
	return s
}

func stopRESTTarget(t target.RESTTarget) {
	ctx, cancel := context.WithTimeout(context.Background(), targetStopLimit)
	defer cancel()
	if err := t.Stop(ctx); err != nil {
		fmt.Fprintf(os.Stderr, "wirecheck: stopping REST target %s: %v\n", t.Name(), err)
	}
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

// printSummary writes the closing line; against names the target(s).
func printSummary(w io.Writer, c *reports.Conformance, against, dir string, written bool) {
	t := c.Totals
	var b strings.Builder
	fmt.Fprintf(&b, "\nwirecheck: %s against %s", c.Catalogue, against)
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
