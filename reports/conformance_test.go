package reports

import (
	"encoding/json"
	"encoding/xml"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirecheck/wirecheck/fixtures"
)

// Statement IDs of the real catalogue used below.
const (
	idA       = "MQTT-1.5.3-1"   // tested
	idB       = "MQTT-1.5.3-2"   // tested
	idC       = "MQTT-3.1.4-4"   // tested
	idPrinted = "MQTT-3.3.1.-1"  // printed form of MQTT-3.3.1-1
	idClient  = "MQTT-2.3.1-2"   // client-only
	idUnknown = "MQTT-9.9.9-999" // not in the catalogue
)

type specOpt func(*types.SpecReport)

func failed(msg string) specOpt {
	return func(s *types.SpecReport) {
		s.State = types.SpecStateFailed
		s.Failure = types.Failure{Message: msg, Location: types.CodeLocation{FileName: "/src/wirecheck/suites/mqtt311/connect.go", LineNumber: 42}}
	}
}

func state(st types.SpecState, msg string) specOpt {
	return func(s *types.SpecReport) { s.State, s.Failure.Message = st, msg }
}

func entry(name string, v types.ReportEntryValue) specOpt {
	return func(s *types.SpecReport) {
		s.ReportEntries = append(s.ReportEntries, types.ReportEntry{Name: name, Value: v})
	}
}

func asJSON(js string) types.ReportEntryValue { return types.ReportEntryValue{AsJSON: js} }

// spec is a passed It in a container labelled with area "connect".
func spec(text string, labels []string, opts ...specOpt) types.SpecReport {
	s := types.SpecReport{
		ContainerHierarchyTexts:  []string{"CONNECT"},
		ContainerHierarchyLabels: [][]string{{"connect"}},
		LeafNodeType:             types.NodeTypeIt,
		LeafNodeText:             text,
		LeafNodeLabels:           labels,
		LeafNodeLocation:         types.CodeLocation{FileName: "/src/wirecheck/suites/mqtt311/connect.go", LineNumber: 10},
		State:                    types.SpecStatePassed,
		RunTime:                  25 * time.Millisecond,
	}
	for _, o := range opts {
		o(&s)
	}
	return s
}

func report(dry bool, specs ...types.SpecReport) types.Report {
	return types.Report{
		SuiteDescription: "MQTT 3.1.1 conformance",
		SuiteSucceeded:   true,
		SuiteConfig:      types.SuiteConfig{DryRun: dry, RandomSeed: 7},
		StartTime:        time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		RunTime:          1500 * time.Millisecond,
		SpecReports:      specs,
	}
}

func statement(t *testing.T, c *Conformance, id string) Statement {
	t.Helper()
	for _, s := range c.Statements {
		if s.ID == id {
			return s
		}
	}
	t.Fatalf("statement %s not in report", id)
	return Statement{}
}

func TestVerdicts(t *testing.T) {
	cases := []struct {
		name  string
		dry   bool
		specs []types.SpecReport
		want  map[string]string
	}{
		{"one passed spec", false, []types.SpecReport{spec("a", []string{idA, "must"})},
			map[string]string{idA: Passed, idB: Untested}},
		{"failed wins over passed", false, []types.SpecReport{
			spec("a1", []string{idA}), spec("a2", []string{idA}, failed("boom"))},
			map[string]string{idA: Failed}},
		{"panicked, timed out and interrupted count as failed", false, []types.SpecReport{
			spec("a", []string{idA}, state(types.SpecStatePanicked, "panic")),
			spec("b", []string{idB}, state(types.SpecStateTimedout, "timeout")),
			spec("c", []string{idC}, state(types.SpecStateInterrupted, "interrupted"))},
			map[string]string{idA: Failed, idB: Failed, idC: Failed}},
		{"passed wins over skipped", false, []types.SpecReport{
			spec("a1", []string{idA}), spec("a2", []string{idA}, state(types.SpecStateSkipped, "no TLS"))},
			map[string]string{idA: Passed}},
		{"all skipped or pending", false, []types.SpecReport{
			spec("a1", []string{idA}, state(types.SpecStateSkipped, "")), spec("a2", []string{idA}, state(types.SpecStatePending, ""))},
			map[string]string{idA: Skipped}},
		{"printed ID maps to the canonical statement", false, []types.SpecReport{spec("p", []string{idPrinted})},
			map[string]string{"MQTT-3.3.1-1": Passed}},
		{"container labels count", false, []types.SpecReport{func() types.SpecReport {
			s := spec("c", nil)
			s.ContainerHierarchyLabels = [][]string{{"connect", idC}}
			return s
		}()}, map[string]string{idC: Passed}},
		{"dry run is untested", true, []types.SpecReport{spec("a", []string{idA}), spec("b", []string{idB}, state(types.SpecStateSkipped, ""))},
			map[string]string{idA: Untested, idB: Untested}},
		{"client-only statement without spec", false, nil, map[string]string{idClient: Untested}},
	}
	cat := fixtures.MQTT311()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := Build(report(tc.dry, tc.specs...), cat, "reference", "v1")
			for id, want := range tc.want {
				if got := statement(t, c, id).Verdict; got != want {
					t.Errorf("%s: verdict %q, want %q", id, got, want)
				}
			}
		})
	}
}

func TestSpecsListed(t *testing.T) {
	r := report(false,
		spec("a", []string{idA, idB}, failed("Expected\n    <int>: 1\nto equal\n    <int>: 0")),
		spec("skipped", []string{idC}, state(types.SpecStateSkipped, "target cannot restart")))
	r.SuiteConfig.LabelFilter = idA
	r.SpecReports = append(r.SpecReports, spec("filtered", []string{idC}, state(types.SpecStateSkipped, "")))
	c := Build(r, fixtures.MQTT311(), "reference", "v1")

	a := statement(t, c, idA)
	if len(a.Specs) != 1 || a.Specs[0].Name != "CONNECT a" || a.Specs[0].State != Failed {
		t.Fatalf("specs of %s: %+v", idA, a.Specs)
	}
	f := a.Specs[0].Failure
	if f == nil || !strings.Contains(f.Message, "to equal") || f.Location != "suites/mqtt311/connect.go:42" {
		t.Errorf("failure: %+v", f)
	}
	if a.Specs[0].Location != "suites/mqtt311/connect.go:10" || a.Specs[0].DurationS != 0.025 {
		t.Errorf("location/duration: %+v", a.Specs[0])
	}
	if b := statement(t, c, idB); len(b.Specs) != 1 || b.Verdict != Failed {
		t.Errorf("a spec citing two IDs counts for both: %+v", b)
	}
	cs := statement(t, c, idC).Specs
	if len(cs) != 2 || cs[0].SkipReason != "target cannot restart" || cs[1].SkipReason != "not selected by the label filter" {
		t.Errorf("skip reasons: %+v", cs)
	}
}

func TestOutcomesAndMeasured(t *testing.T) {
	r := report(false,
		// As read back from a JSON report (or from another process): AsJSON.
		spec("overlap", []string{idA},
			entry(EntryOutcome, asJSON(`{"name":"overlapping-subscriptions","chosen":"one message"}`)),
			entry(EntryMeasured, asJSON(`{"name":"keepalive","seconds":1.52,"note":"1.52 × keepalive"}`)),
			entry("unrelated", asJSON(`"x"`))),
		// As captured in-process by ReportAfterSuite: only the raw value.
		spec("raw", []string{idA, idB},
			entry(EntryOutcome, types.WrapEntryValue(Outcome{Name: "qos0-offline", Chosen: "queued"})),
			entry(EntryMeasured, types.WrapEntryValue(Measured{Name: "connect", Seconds: 0.01}))))
	c := Build(r, fixtures.MQTT311(), "reference", "v1")

	a := statement(t, c, idA)
	wantO := []StatementOutcome{
		{Outcome{"overlapping-subscriptions", "one message"}, "CONNECT overlap"},
		{Outcome{"qos0-offline", "queued"}, "CONNECT raw"},
	}
	if !slices.Equal(a.Outcomes, wantO) {
		t.Errorf("outcomes %+v, want %+v", a.Outcomes, wantO)
	}
	wantM := []StatementMeasure{
		{Measured{"keepalive", 1.52, "1.52 × keepalive"}, "CONNECT overlap"},
		{Measured{"connect", 0.01, ""}, "CONNECT raw"},
	}
	if !slices.Equal(a.Measured, wantM) {
		t.Errorf("measured %+v, want %+v", a.Measured, wantM)
	}
	if b := statement(t, c, idB); len(b.Outcomes) != 1 || b.Outcomes[0].Chosen != "queued" {
		t.Errorf("outcomes of %s: %+v", idB, b.Outcomes)
	}
	// The JSON shape other tools read: name/chosen/spec flattened.
	js, _ := json.Marshal(a.Outcomes[0])
	if string(js) != `{"name":"overlapping-subscriptions","chosen":"one message","spec":"CONNECT overlap"}` {
		t.Errorf("outcome JSON %s", js)
	}
}

func TestTotals(t *testing.T) {
	setup := types.SpecReport{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStatePassed}
	r := report(false, setup,
		spec("a", []string{idA, "must"}),
		spec("b", []string{idB}, failed("boom")),
		spec("c", []string{idC}, state(types.SpecStateSkipped, "why")),
		spec("client", []string{idClient}),
		spec("unknown", []string{idUnknown, idA}),
		spec("plain", []string{"smoke"}),
	)
	c := Build(r, fixtures.MQTT311(), "reference", "v1")
	tt := c.Totals
	if tt.Statements != 141 || tt.ByStatus["tested"] != 106 || tt.ByStatus["client-only"] != 31 ||
		tt.ByStatus["not-observable"] != 3 || tt.ByStatus["not-applicable"] != 1 {
		t.Errorf("statement totals: %+v", tt)
	}
	if tt.ByVerdict[Passed] != 2 || tt.ByVerdict[Failed] != 1 || tt.ByVerdict[Skipped] != 1 || tt.ByVerdict[Untested] != 137 {
		t.Errorf("by verdict: %v", tt.ByVerdict)
	}
	if tt.Tested != 106 || tt.TestedCovered != 3 || len(tt.TestedUncovered) != 103 {
		t.Errorf("coverage: tested %d covered %d uncovered %d", tt.Tested, tt.TestedCovered, len(tt.TestedUncovered))
	}
	if !slices.Equal(tt.UnknownIDs, []string{idUnknown}) || !slices.Equal(tt.CitedNotTested, []string{idClient}) {
		t.Errorf("unknown %v, cited-not-tested %v", tt.UnknownIDs, tt.CitedNotTested)
	}
	if tt.Specs != 6 || tt.SpecsPassed != 4 || tt.SpecsFailed != 1 || tt.SpecsSkipped != 1 || tt.DurationS != 1.5 {
		t.Errorf("spec totals: %+v", tt)
	}
	if len(c.Unlabelled) != 1 || c.Unlabelled[0] != (SpecRef{Area: "connect", Name: "CONNECT plain", State: Passed}) {
		t.Errorf("unlabelled: %+v", c.Unlabelled)
	}
}

func TestDryRun(t *testing.T) {
	c := Build(report(true, spec("a", []string{idA}), spec("b", []string{idA}, state(types.SpecStateSkipped, ""))),
		fixtures.MQTT311(), "", "")
	a := statement(t, c, idA)
	if a.Verdict != Untested || len(a.Specs) != 2 || a.Specs[0].State != StateDryRun || a.Specs[1].State != Skipped {
		t.Errorf("dry run statement: %+v", a)
	}
	if c.Totals.SpecsPassed != 0 || c.Totals.SpecsDryRun != 1 || c.Totals.ByVerdict[Untested] != 141 || !c.Suite.DryRun {
		t.Errorf("dry run totals: %+v", c.Totals)
	}
}

func TestSetupFailure(t *testing.T) {
	r := report(false,
		types.SpecReport{LeafNodeType: types.NodeTypeBeforeSuite, State: types.SpecStateFailed,
			Failure: types.Failure{Message: "target did not start"}},
		spec("a", []string{idA}, state(types.SpecStateSkipped, "")))
	r.SuiteSucceeded = false
	c := Build(r, fixtures.MQTT311(), "reference", "")
	if len(c.Suite.FailedSetup) != 1 || c.Suite.FailedSetup[0].Failure.Message != "target did not start" {
		t.Errorf("failed setup: %+v", c.Suite.FailedSetup)
	}
	if a := statement(t, c, idA); a.Verdict != Skipped || a.Specs[0].SkipReason != "suite setup failed" {
		t.Errorf("spec after failed setup: %+v", a)
	}
}

func TestWriteAll(t *testing.T) {
	nasty := `quotes "and" <script>alert(1)</script> | pipe`
	r := report(false,
		// In-process entries carry the raw value; report.json turns it into AsJSON.
		spec("passes", []string{idA, "must"}, entry(EntryOutcome, types.WrapEntryValue(Outcome{"overlap", "one"})),
			entry(EntryMeasured, types.WrapEntryValue(Measured{"keepalive", 1.5, "1.5 × KA"}))),
		spec(nasty, []string{idB}, failed("expected <nil> & got | something")),
		spec("skips", []string{idC}, state(types.SpecStateSkipped, "no restart")),
		spec("plain", nil))
	r.SuiteSucceeded = false
	c := Build(r, fixtures.MQTT311(), "reference", "wirecheck reference")
	dir := filepath.Join(t.TempDir(), "out")
	if err := WriteAll(dir, r, c); err != nil {
		t.Fatal(err)
	}
	read := func(name string) []byte {
		t.Helper()
		b, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || len(b) == 0 {
			t.Fatalf("%s: %v (%d bytes)", name, err, len(b))
		}
		return b
	}

	var junit reporters.JUnitTestSuites
	if err := xml.Unmarshal(read(JUnitFile), &junit); err != nil {
		t.Fatalf("junit.xml: %v", err)
	}
	if junit.Tests != 4 || junit.Failures != 1 {
		t.Errorf("junit: tests %d failures %d", junit.Tests, junit.Failures)
	}

	var ginkgo []types.Report
	if err := json.Unmarshal(read(GinkgoJSONFile), &ginkgo); err != nil || len(ginkgo) != 1 {
		t.Fatalf("report.json: %v (%d reports)", err, len(ginkgo))
	}
	// Building from Ginkgo's JSON report gives the same statements.
	again := Build(ginkgo[0], fixtures.MQTT311(), "reference", "wirecheck reference")
	if a := statement(t, again, idA); len(a.Outcomes) != 1 || a.Outcomes[0].Chosen != "one" || len(a.Measured) != 1 {
		t.Errorf("from report.json: %+v", a)
	}

	var conf struct {
		Target     string          `json:"target"`
		Version    string          `json:"version"`
		Generated  time.Time       `json:"generated"`
		Totals     json.RawMessage `json:"totals"`
		Statements []struct {
			ID       string            `json:"id"`
			Status   string            `json:"status"`
			Verdict  string            `json:"verdict"`
			Specs    []json.RawMessage `json:"specs"`
			Outcomes []json.RawMessage `json:"outcomes"`
		} `json:"statements"`
	}
	if err := json.Unmarshal(read(ConformanceJSONFile), &conf); err != nil {
		t.Fatalf("conformance.json: %v", err)
	}
	if conf.Target != "reference" || conf.Version != "wirecheck reference" || conf.Generated.IsZero() ||
		len(conf.Totals) == 0 || len(conf.Statements) != 141 {
		t.Errorf("conformance.json header: %s %s %v %d", conf.Target, conf.Version, conf.Generated, len(conf.Statements))
	}
	for _, s := range conf.Statements {
		if s.ID == "" || s.Status == "" || s.Verdict == "" || s.Specs == nil || s.Outcomes == nil {
			t.Errorf("statement missing a field: %+v", s)
			break
		}
	}

	mdText := string(read(MarkdownFile))
	for _, want := range []string{"| Statements | 141 |", "| " + idA + " | MUST | tested | PASS |", "| " + idB + " | MUST NOT | tested | FAIL |",
		"| " + idC + " | MUST | tested | SKIP |", "| MQTT-2.3.1-2 | MUST | client-only | — |", "overlap: one", "keepalive 1.500 s (1.5 × KA)",
		`\| pipe`, "&lt;script&gt;", "## Failures", "## Specs without a statement ID"} {
		if !strings.Contains(mdText, want) {
			t.Errorf("conformance.md lacks %q", want)
		}
	}

	html := string(read(HTMLFile))
	for _, want := range []string{"&lt;script&gt;alert(1)&lt;/script&gt;", "expected &lt;nil&gt; &amp; got", `<tr class="failed" id="` + idB + `">`, "<style>"} {
		if !strings.Contains(html, want) {
			t.Errorf("conformance.html lacks %q", want)
		}
	}
	for _, bad := range []string{"<script>", "http://", "https://", "<link", "src="} {
		if strings.Contains(html, bad) {
			t.Errorf("conformance.html contains %q", bad)
		}
	}
}
