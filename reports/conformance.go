// Package reports turns a Ginkgo run of a conformance suite into the files
// other tools read: Ginkgo's own JUnit XML and JSON reports, and a
// conformance report (JSON, Markdown, HTML) with one entry per statement of
// the catalogue.
//
// It never calls the Ginkgo DSL: it reads types.Report values, whether they
// come straight from a ReportAfterSuite node or from a JSON report on disk.
package reports

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirecheck/wirecheck/fixtures"
)

// Report entry names the conformance package records and Build reads back.
const (
	EntryOutcome  = "wirecheck.outcome"
	EntryMeasured = "wirecheck.measured"
)

// Outcome is the behaviour a target chose where the standard allows several.
type Outcome struct {
	Name   string `json:"name"`   // e.g. "overlapping-subscriptions"
	Chosen string `json:"chosen"` // e.g. "one message at the highest QoS"
}

// Measured is a time a spec measured, e.g. keepalive disconnect.
type Measured struct {
	Name    string  `json:"name"`
	Seconds float64 `json:"seconds"`
	Note    string  `json:"note,omitempty"` // e.g. "1.52 × keepalive"
}

// Verdicts of a statement.
const (
	Passed   = "passed"
	Failed   = "failed"
	Skipped  = "skipped"
	Untested = "untested" // no spec of it ran: dry run, or no spec cites it
)

// StateDryRun is the state given to specs a dry run would have run (Ginkgo
// itself reports them as passed).
const StateDryRun = "dry-run"

// IDPattern tells a label that names a statement from area, level and
// suite labels: MQTT-3.1.2-24 (MQTT), RFC9110-13.1.1 or SEED-TASKS-1 (REST).
var IDPattern = regexp.MustCompile(`^(MQTT|RFC[0-9]+|SEED)-`)

// levelLabels are the labels conformance.Statements adds for a level.
var levelLabels = map[string]bool{"must": true, "should": true, "may": true}

// Conformance is the conformance report: the run, its totals, one entry per
// catalogue statement and the specs that cite none.
type Conformance struct {
	Catalogue  string      `json:"catalogue"`
	Target     string      `json:"target"`
	Version    string      `json:"version"`
	Generated  time.Time   `json:"generated"`
	Suite      Suite       `json:"suite"`
	Totals     Totals      `json:"totals"`
	Statements []Statement `json:"statements"`
	// Unlabelled are the specs that cite no statement ID at all (a spec
	// citing only unknown IDs is in Totals.UnknownIDs instead).
	Unlabelled []SpecRef `json:"unlabelled_specs"`
}

// Suite describes the run as a whole.
type Suite struct {
	Description   string   `json:"description"`
	Succeeded     bool     `json:"succeeded"`
	DryRun        bool     `json:"dry_run"`
	LabelFilter   string   `json:"label_filter,omitempty"`
	Focus         []string `json:"focus,omitempty"`
	RandomSeed    int64    `json:"random_seed"`
	Start         string   `json:"start,omitempty"`
	DurationS     float64  `json:"duration_s"`
	FailedSetup   []Spec   `json:"failed_setup,omitempty"` // BeforeSuite, AfterSuite … nodes that failed
	FailureReason []string `json:"failure_reasons,omitempty"`
	// ProgrammaticFocus is set when the suite holds FIt/FDescribe: only those ran.
	ProgrammaticFocus bool `json:"programmatic_focus,omitempty"`
}

// Totals are the coverage and result counts.
type Totals struct {
	Statements int            `json:"statements"`
	ByStatus   map[string]int `json:"by_status"`
	ByVerdict  map[string]int `json:"by_verdict"`
	// Tested counts the statements whose status is "tested"; TestedCovered
	// those of them at least one spec cites. TestedUncovered lists the rest.
	Tested          int      `json:"tested"`
	TestedCovered   int      `json:"tested_covered"`
	TestedUncovered []string `json:"tested_uncovered"`
	// UnknownIDs are IDs cited by spec labels that are not in the catalogue.
	UnknownIDs []string `json:"unknown_ids"`
	// CitedNotTested are statements a spec cites although their status is not "tested".
	CitedNotTested []string `json:"cited_not_tested,omitempty"`

	Specs        int     `json:"specs"`
	SpecsPassed  int     `json:"specs_passed"`
	SpecsFailed  int     `json:"specs_failed"`
	SpecsSkipped int     `json:"specs_skipped"` // includes pending
	SpecsDryRun  int     `json:"specs_dry_run,omitempty"`
	DurationS    float64 `json:"duration_s"`
}

// Statement is one catalogue statement with its verdict and evidence.
type Statement struct {
	ID        string             `json:"id"`
	PrintedID string             `json:"printed_id,omitempty"`
	Section   string             `json:"section"`
	Level     string             `json:"level"`
	Actor     string             `json:"actor"`
	Status    string             `json:"status"`
	Summary   string             `json:"summary"`
	Verdict   string             `json:"verdict"`
	Specs     []Spec             `json:"specs"`
	Outcomes  []StatementOutcome `json:"outcomes"`
	Measured  []StatementMeasure `json:"measured"`
}

// Spec is one spec's result as seen from a statement.
type Spec struct {
	Name       string   `json:"name"`
	State      string   `json:"state"`
	DurationS  float64  `json:"duration_s"`
	Location   string   `json:"location,omitempty"`
	Labels     []string `json:"labels,omitempty"`
	Failure    *Failure `json:"failure,omitempty"`
	SkipReason string   `json:"skip_reason,omitempty"`
}

// Failure is why a spec failed.
type Failure struct {
	Message  string `json:"message"`
	Location string `json:"location"`
}

// StatementOutcome is an outcome recorded by the spec named Spec.
type StatementOutcome struct {
	Outcome
	Spec string `json:"spec"`
}

// StatementMeasure is a time measured by the spec named Spec.
type StatementMeasure struct {
	Measured
	Spec string `json:"spec"`
}

// SpecRef names a spec that carries no statement ID.
type SpecRef struct {
	Area  string `json:"area"`
	Name  string `json:"name"`
	State string `json:"state"`
}

// Build makes the conformance report of run r against catalogue cat.
func Build(r types.Report, cat *fixtures.Catalogue, targetName, targetVersion string) *Conformance {
	dry := r.SuiteConfig.DryRun
	c := &Conformance{
		Catalogue: cat.Name,
		Target:    targetName,
		Version:   targetVersion,
		Generated: time.Now().UTC().Truncate(time.Second),
		Suite: Suite{
			Description:       r.SuiteDescription,
			Succeeded:         r.SuiteSucceeded,
			DryRun:            dry,
			LabelFilter:       r.SuiteConfig.LabelFilter,
			Focus:             r.SuiteConfig.FocusStrings,
			RandomSeed:        r.SuiteConfig.RandomSeed,
			DurationS:         r.RunTime.Seconds(),
			FailureReason:     r.SpecialSuiteFailureReasons,
			ProgrammaticFocus: r.SuiteHasProgrammaticFocus,
		},
		Unlabelled: []SpecRef{},
	}
	if !r.StartTime.IsZero() {
		c.Suite.Start = r.StartTime.UTC().Format(time.RFC3339)
	}
	t := &c.Totals
	t.ByStatus = map[string]int{string(fixtures.Tested): 0, string(fixtures.ClientOnly): 0,
		string(fixtures.NotObservable): 0, string(fixtures.NotApplicable): 0}
	t.ByVerdict = map[string]int{Passed: 0, Failed: 0, Skipped: 0, Untested: 0}
	t.DurationS = r.RunTime.Seconds()
	t.TestedUncovered, t.UnknownIDs = []string{}, []string{}

	index := map[string]int{} // canonical ID -> position in c.Statements
	for _, s := range cat.Statements {
		index[s.ID] = len(c.Statements)
		c.Statements = append(c.Statements, Statement{
			ID: s.ID, PrintedID: s.PrintedID, Section: s.Section, Level: s.Level, Actor: s.Actor,
			Status: string(s.Status), Summary: s.Summary,
			Specs: []Spec{}, Outcomes: []StatementOutcome{}, Measured: []StatementMeasure{},
		})
	}

	setupFailed := false
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt && sr.Failed() {
			setupFailed = true
			c.Suite.FailedSetup = append(c.Suite.FailedSetup, specResult(r, sr, false, false))
		}
	}
	unknown := map[string]bool{}
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		t.Specs++
		state := stateOf(sr, dry)
		switch state {
		case Passed:
			t.SpecsPassed++
		case Failed:
			t.SpecsFailed++
		case Skipped:
			t.SpecsSkipped++
		case StateDryRun:
			t.SpecsDryRun++
		}
		outcomes, measured := entries(sr)
		cited := map[int]bool{}
		citesAny := false
		for _, l := range sr.Labels() {
			if !IDPattern.MatchString(l) {
				continue
			}
			citesAny = true
			st, ok := cat.Lookup(l)
			if !ok {
				unknown[l] = true
				continue
			}
			cited[index[st.ID]] = true
		}
		if !citesAny {
			c.Unlabelled = append(c.Unlabelled, SpecRef{Area: area(sr), Name: sr.FullText(), State: state})
			continue
		}
		res := specResult(r, sr, dry, setupFailed)
		for _, i := range slices.Sorted(maps.Keys(cited)) {
			st := &c.Statements[i]
			st.Specs = append(st.Specs, res)
			for _, o := range outcomes {
				st.Outcomes = append(st.Outcomes, StatementOutcome{Outcome: o, Spec: res.Name})
			}
			for _, m := range measured {
				st.Measured = append(st.Measured, StatementMeasure{Measured: m, Spec: res.Name})
			}
		}
	}

	for i := range c.Statements {
		st := &c.Statements[i]
		st.Verdict = verdict(st.Specs, dry)
		t.Statements++
		t.ByStatus[st.Status]++
		t.ByVerdict[st.Verdict]++
		if st.Status == string(fixtures.Tested) {
			t.Tested++
			if len(st.Specs) > 0 {
				t.TestedCovered++
			} else {
				t.TestedUncovered = append(t.TestedUncovered, st.ID)
			}
		} else if len(st.Specs) > 0 {
			t.CitedNotTested = append(t.CitedNotTested, st.ID)
		}
	}
	for id := range unknown {
		t.UnknownIDs = append(t.UnknownIDs, id)
	}
	sort.Strings(t.UnknownIDs)
	return c
}

// stateOf maps a Ginkgo state onto passed, failed, skipped (or dry-run).
func stateOf(sr types.SpecReport, dry bool) string {
	switch {
	case sr.State.Is(types.SpecStateFailureStates):
		return Failed
	case sr.State.Is(types.SpecStateSkipped | types.SpecStatePending):
		return Skipped
	case sr.State.Is(types.SpecStatePassed):
		if dry {
			return StateDryRun
		}
		return Passed
	}
	return sr.State.String()
}

// verdict: failed if any spec failed, else passed if any passed, else
// skipped if every spec was skipped, else untested (no spec, or a dry run).
func verdict(specs []Spec, dry bool) string {
	if dry || len(specs) == 0 {
		return Untested
	}
	var passed, skipped int
	for _, s := range specs {
		switch s.State {
		case Failed:
			return Failed
		case Passed:
			passed++
		case Skipped:
			skipped++
		}
	}
	switch {
	case passed > 0:
		return Passed
	case skipped == len(specs):
		return Skipped
	}
	return Untested
}

func specResult(r types.Report, sr types.SpecReport, dry, setupFailed bool) Spec {
	name := sr.FullText()
	if sr.LeafNodeType != types.NodeTypeIt {
		name = sr.LeafNodeType.String()
		if sr.LeafNodeText != "" {
			name += " " + sr.LeafNodeText
		}
	}
	s := Spec{Name: name, State: stateOf(sr, dry), DurationS: sr.RunTime.Seconds(), Labels: sr.Labels()}
	if sr.LeafNodeLocation.FileName != "" {
		s.Location = shortLocation(sr.LeafNodeLocation)
	}
	switch s.State {
	case Failed:
		msg := sr.Failure.Message
		if sr.Failure.ForwardedPanic != "" {
			msg = strings.TrimSpace(msg + "\npanic: " + sr.Failure.ForwardedPanic)
		}
		if msg == "" {
			msg = sr.State.String()
		}
		s.Failure = &Failure{Message: msg, Location: shortLocation(sr.Failure.Location)}
	case Skipped:
		s.SkipReason = skipReason(r, sr, setupFailed)
	}
	return s
}

func skipReason(r types.Report, sr types.SpecReport, setupFailed bool) string {
	if sr.State.Is(types.SpecStatePending) {
		return "pending"
	}
	if m := strings.TrimSpace(sr.Failure.Message); m != "" {
		return m
	}
	if f := r.SuiteConfig.LabelFilter; f != "" {
		if ok, err := sr.MatchesLabelFilter(f); err == nil && !ok {
			return "not selected by the label filter"
		}
	}
	if len(r.SuiteConfig.FocusStrings) > 0 && !matchesAny(r.SuiteConfig.FocusStrings, sr.FullText()) {
		return "not selected by the focus"
	}
	for _, s := range r.SuiteConfig.SkipStrings {
		if re, err := regexp.Compile(s); err == nil && re.MatchString(sr.FullText()) {
			return "skipped by a skip pattern"
		}
	}
	if setupFailed {
		return "suite setup failed"
	}
	if len(r.SpecialSuiteFailureReasons) > 0 {
		return "not run: " + strings.Join(r.SpecialSuiteFailureReasons, "; ")
	}
	return "not run"
}

func matchesAny(patterns []string, text string) bool {
	for _, p := range patterns {
		if re, err := regexp.Compile(p); err == nil && re.MatchString(text) {
			return true
		}
	}
	return false
}

// shortLocation is file:line with the file relative to the module when it
// lies inside it.
func shortLocation(cl types.CodeLocation) string {
	if cl.FileName == "" {
		return ""
	}
	f := cl.FileName
	for _, marker := range []string{"/suites/", "/harness/", "/cmd/", "/reference/"} {
		if i := strings.LastIndex(f, marker); i >= 0 {
			f = f[i+1:]
			break
		}
	}
	return fmt.Sprintf("%s:%d", f, cl.LineNumber)
}

// area is the first label of the spec's outermost labelled container that
// is neither a statement ID nor a level, else the first such leaf label.
func area(sr types.SpecReport) string {
	pick := func(labels []string) string {
		for _, l := range labels {
			if !IDPattern.MatchString(l) && !levelLabels[l] {
				return l
			}
		}
		return ""
	}
	for _, ls := range sr.ContainerHierarchyLabels {
		if a := pick(ls); a != "" {
			return a
		}
	}
	return pick(sr.LeafNodeLabels)
}

// entries decodes a spec's outcome and measured report entries. Entries
// read from a JSON report (or from another process) carry Value.AsJSON;
// entries captured in-process carry only the raw value.
func entries(sr types.SpecReport) (outcomes []Outcome, measured []Measured) {
	for _, e := range sr.ReportEntries {
		switch e.Name {
		case EntryOutcome:
			var o Outcome
			if decodeEntry(e, &o) == nil {
				outcomes = append(outcomes, o)
			}
		case EntryMeasured:
			var m Measured
			if decodeEntry(e, &m) == nil {
				measured = append(measured, m)
			}
		}
	}
	return outcomes, measured
}

func decodeEntry(e types.ReportEntry, dst any) error {
	data := []byte(e.Value.AsJSON)
	if len(data) == 0 {
		raw := e.Value.GetRawValue()
		if raw == nil {
			return fmt.Errorf("report entry %s has no value", e.Name)
		}
		var err error
		if data, err = json.Marshal(raw); err != nil {
			return err
		}
	}
	if string(bytes.TrimSpace(data)) == "null" {
		return fmt.Errorf("report entry %s has no value", e.Name)
	}
	return json.Unmarshal(data, dst)
}
