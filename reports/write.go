package reports

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"os"
	"path/filepath"
	"strings"

	"github.com/onsi/ginkgo/v2/reporters"
	"github.com/onsi/ginkgo/v2/types"
)

// File names WriteAll writes into its directory.
const (
	JUnitFile           = "junit.xml"
	GinkgoJSONFile      = "report.json"
	ConformanceJSONFile = "conformance.json"
	MarkdownFile        = "conformance.md"
	HTMLFile            = "conformance.html"
)

// Files returns the paths WriteAll writes in dir, in a stable order.
func Files(dir string) []string {
	var out []string
	for _, f := range []string{JUnitFile, GinkgoJSONFile, ConformanceJSONFile, MarkdownFile, HTMLFile} {
		out = append(out, filepath.Join(dir, f))
	}
	return out
}

// WriteAll writes Ginkgo's JUnit XML and JSON reports of r and the
// conformance report c (JSON, Markdown, HTML) into dir, creating it. It
// writes every file it can and returns the errors of those it could not.
func WriteAll(dir string, r types.Report, c *Conformance) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	var errs []error
	// Ginkgo's generators take a path and join with path, not filepath.
	if err := reporters.GenerateJUnitReport(r, filepath.Join(dir, JUnitFile)); err != nil {
		errs = append(errs, fmt.Errorf("junit report: %w", err))
	}
	if err := reporters.GenerateJSONReport(r, filepath.Join(dir, GinkgoJSONFile)); err != nil {
		errs = append(errs, fmt.Errorf("json report: %w", err))
	}
	write := func(name string, render func() ([]byte, error)) {
		b, err := render()
		if err == nil {
			err = os.WriteFile(filepath.Join(dir, name), b, 0o644)
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	write(ConformanceJSONFile, c.JSON)
	write(MarkdownFile, func() ([]byte, error) { return c.Markdown(), nil })
	write(HTMLFile, c.HTML)
	return errors.Join(errs...)
}

// JSON is the conformance report as indented JSON.
func (c *Conformance) JSON() ([]byte, error) {
	b, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// Marker is the verdict as a short plain-text marker.
func Marker(verdict string) string {
	switch verdict {
	case Passed:
		return "PASS"
	case Failed:
		return "FAIL"
	case Skipped:
		return "SKIP"
	}
	return "—"
}

// Markdown renders the report as GitHub-flavoured Markdown.
func (c *Conformance) Markdown() []byte {
	var b bytes.Buffer
	p := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }
	p("# %s conformance: %s\n\n", c.Catalogue, md(c.targetLabel()))
	p("%s\n\n", md(c.runLine()))
	if c.Suite.DryRun {
		p("**Dry run**: no spec ran; verdicts are `untested` and the specs listed are those that would run.\n\n")
	}
	if c.Suite.ProgrammaticFocus {
		p("**Focused suite**: the suite holds focused specs (FIt/FDescribe); only those ran.\n\n")
	}

	p("## Totals\n\n| | |\n|---|---|\n")
	for _, row := range c.totalsRows() {
		p("| %s | %s |\n", md(row[0]), md(row[1]))
	}
	p("\n")
	if len(c.Totals.TestedUncovered) > 0 {
		p("Statements marked tested that no spec cites: %s\n\n", md(strings.Join(c.Totals.TestedUncovered, ", ")))
	}
	if len(c.Totals.UnknownIDs) > 0 {
		p("IDs cited by specs but not in the catalogue: %s\n\n", md(strings.Join(c.Totals.UnknownIDs, ", ")))
	}
	if len(c.Suite.FailedSetup) > 0 || len(c.Suite.FailureReason) > 0 {
		p("## Suite failures\n\n")
		for _, r := range c.Suite.FailureReason {
			p("- %s\n", md(r))
		}
		for _, s := range c.Suite.FailedSetup {
			p("- **%s** (%s) at %s:\n\n```\n%s\n```\n", md(s.Name), s.State, md(s.Failure.Location), fence(s.Failure.Message))
		}
		p("\n")
	}

	p("## Statements\n\n")
	p("| ID | Level | Status | Verdict | Specs | Outcomes | Measured |\n")
	p("|---|---|---|---|---|---|---|\n")
	for _, s := range c.Statements {
		id := s.ID
		if s.PrintedID != "" {
			id += " (printed " + s.PrintedID + ")"
		}
		var specs, outcomes, measured []string
		for _, sp := range s.Specs {
			specs = append(specs, md(sp.Name)+" ("+sp.State+")")
		}
		for _, o := range s.Outcomes {
			outcomes = append(outcomes, md(o.Name+": "+o.Chosen))
		}
		for _, m := range s.Measured {
			measured = append(measured, md(m.text()))
		}
		p("| %s | %s | %s | %s | %s | %s | %s |\n", md(id), md(s.Level), md(s.Status), Marker(s.Verdict),
			strings.Join(specs, "<br>"), strings.Join(outcomes, "<br>"), strings.Join(measured, "<br>"))
	}
	p("\n")

	if failed := c.failures(); len(failed) > 0 {
		p("## Failures\n\n")
		for _, f := range failed {
			p("### %s\n\n%s — at %s\n\n```\n%s\n```\n\n", md(strings.Join(f.IDs, ", ")), md(f.Spec.Name),
				md(f.Spec.Failure.Location), fence(f.Spec.Failure.Message))
		}
	}
	if len(c.Unlabelled) > 0 {
		p("## Specs without a statement ID\n\n| Area | Spec | State |\n|---|---|---|\n")
		for _, s := range c.Unlabelled {
			p("| %s | %s | %s |\n", md(s.Area), md(s.Name), s.State)
		}
		p("\n")
	}
	return b.Bytes()
}

func (m Measured) text() string {
	s := fmt.Sprintf("%s %.3f s", m.Name, m.Seconds)
	if m.Note != "" {
		s += " (" + m.Note + ")"
	}
	return s
}

func (c *Conformance) targetLabel() string {
	t := c.Target
	if t == "" {
		t = "(no target)"
	}
	if c.Version != "" {
		t += " (" + c.Version + ")"
	}
	return t
}

func (c *Conformance) runLine() string {
	parts := []string{"Generated " + c.Generated.Format("2006-01-02 15:04:05 MST")}
	if c.Suite.LabelFilter != "" {
		parts = append(parts, "label filter "+c.Suite.LabelFilter)
	}
	if len(c.Suite.Focus) > 0 {
		parts = append(parts, "focus "+strings.Join(c.Suite.Focus, ", "))
	}
	parts = append(parts, fmt.Sprintf("seed %d", c.Suite.RandomSeed), fmt.Sprintf("%.1f s", c.Suite.DurationS))
	return strings.Join(parts, " · ")
}

func (c *Conformance) totalsRows() [][2]string {
	t := c.Totals
	return [][2]string{
		{"Statements", fmt.Sprint(t.Statements)},
		{"By status", fmt.Sprintf("tested %d · client-only %d · not-observable %d · not-applicable %d",
			t.ByStatus["tested"], t.ByStatus["client-only"], t.ByStatus["not-observable"], t.ByStatus["not-applicable"])},
		{"By verdict", fmt.Sprintf("passed %d · failed %d · skipped %d · untested %d",
			t.ByVerdict[Passed], t.ByVerdict[Failed], t.ByVerdict[Skipped], t.ByVerdict[Untested])},
		{"Tested statements cited by ≥1 spec", fmt.Sprintf("%d of %d", t.TestedCovered, t.Tested)},
		{"Unknown IDs cited", fmt.Sprint(len(t.UnknownIDs))},
		{"Specs", c.specLine()},
		{"Duration", fmt.Sprintf("%.2f s", t.DurationS)},
	}
}

func (c *Conformance) specLine() string {
	t := c.Totals
	s := fmt.Sprintf("%d: passed %d · failed %d · skipped %d", t.Specs, t.SpecsPassed, t.SpecsFailed, t.SpecsSkipped)
	if t.SpecsDryRun > 0 {
		s += fmt.Sprintf(" · dry run %d", t.SpecsDryRun)
	}
	if n := len(c.Unlabelled); n > 0 {
		s += fmt.Sprintf(" (%d without a statement ID)", n)
	}
	return s
}

type failure struct {
	IDs  []string
	Spec Spec
}

// failures lists each failed spec once with the statements it cites.
func (c *Conformance) failures() []failure {
	var out []failure
	at := map[string]int{}
	for _, s := range c.Statements {
		for _, sp := range s.Specs {
			if sp.Failure == nil {
				continue
			}
			key := sp.Name + "\x00" + sp.Location
			if i, ok := at[key]; ok {
				out[i].IDs = append(out[i].IDs, s.ID)
				continue
			}
			at[key] = len(out)
			out = append(out, failure{IDs: []string{s.ID}, Spec: sp})
		}
	}
	return out
}

// md escapes text for a Markdown table cell.
func md(s string) string {
	r := strings.NewReplacer("|", `\|`, "<", "&lt;", ">", "&gt;", "\r\n", " ", "\n", " ", "`", "\\`", "*", `\*`, "_", `\_`)
	return r.Replace(s)
}

// fence keeps text from closing a ``` block.
func fence(s string) string {
	return strings.ReplaceAll(strings.TrimRight(s, "\n"), "```", "`\u200b``")
}

//go:embed conformance.html.tmpl
var htmlSource string

var htmlTmpl = template.Must(template.New("conformance").Funcs(template.FuncMap{
	"marker": Marker,
	"secs":   func(f float64) string { return fmt.Sprintf("%.3f s", f) },
}).Parse(htmlSource))

// HTML renders the report as one self-contained HTML page.
func (c *Conformance) HTML() ([]byte, error) {
	var b bytes.Buffer
	err := htmlTmpl.Execute(&b, struct {
		*Conformance
		TargetLabel string
		RunLine     string
		TotalsRows  [][2]string
		Failures    []failure
	}{c, c.targetLabel(), c.runLine(), c.totalsRows(), c.failures()})
	return b.Bytes(), err
}
