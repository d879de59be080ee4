package rest

import (
	"os"
	"sort"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirecheck/wirecheck/fixtures"
	"github.com/wirecheck/wirecheck/reports"
	"github.com/wirecheck/wirecheck/suites/conformance"
)

// TestCoverage computes coverage from the suite itself: it re-runs this test
// binary as a Ginkgo dry run (RunSpecs runs once per process, and TestREST
// has that one run) and checks the spec tree against the catalogue: every
// check ID a spec cites is in the catalogue, every check marked "tested" is
// cited by at least one spec, and every spec carries the suite label.
func TestCoverage(t *testing.T) {
	if os.Getenv(conformance.EnvDryRun) == "1" || os.Getenv(envChild) != "" {
		t.Skip("inside a child run of the suite")
	}
	r := conformance.DryRun(t, "TestREST")

	cat := fixtures.REST()
	cited := map[string][]string{}   // ID -> specs citing it
	unknown := map[string][]string{} // cited ID not in the catalogue -> specs
	areas := map[string]int{}
	specs := 0
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		specs++
		labels := sr.Labels()
		if !contains(labels, "rest") {
			t.Errorf("%s lacks the suite label \"rest\": %v", sr.FullText(), labels)
		}
		ids := 0
		for _, l := range labels {
			if !reports.IDPattern.MatchString(l) {
				continue
			}
			ids++
			if s, ok := cat.Lookup(l); ok {
				cited[s.ID] = append(cited[s.ID], sr.FullText())
			} else {
				unknown[l] = append(unknown[l], sr.FullText())
			}
		}
		if ids == 0 {
			t.Errorf("%s cites no check ID", sr.FullText())
		}
		var area string
		for _, ls := range sr.ContainerHierarchyLabels {
			if len(ls) > 0 {
				area = ls[0]
				break
			}
		}
		switch area {
		case "sensors", "tasks", "http", "readings", "bridge", "security":
			areas[area]++
		default:
			t.Errorf("%s has no area label (got %q)", sr.FullText(), area)
		}
	}
	if specs == 0 {
		t.Fatal("the dry run found no specs")
	}
	for _, id := range sortedKeys(unknown) {
		t.Errorf("%s is cited but not in the catalogue, by: %s", id, strings.Join(unknown[id], "; "))
	}
	var uncovered []string
	for _, s := range cat.Statements {
		if s.Status == fixtures.Tested && len(cited[s.ID]) == 0 {
			uncovered = append(uncovered, s.ID)
			t.Errorf("%s is marked tested but no spec cites it: %s", s.ID, s.Summary)
		}
		if len(s.Summary) == 0 || strings.ContainsAny(s.Summary, "\n\r") {
			t.Errorf("%s: the summary must be one line", s.ID)
		}
	}

	c := reports.Build(r, cat, "dry run", "")
	tt := c.Totals
	t.Logf("coverage: %d specs (areas %v); %d checks in the catalogue, %d tested, %d of them cited by ≥1 spec; %d unknown IDs",
		tt.Specs, areas, tt.Statements, tt.Tested, tt.TestedCovered, len(tt.UnknownIDs))
	if tt.TestedCovered != tt.Tested-len(uncovered) || len(tt.UnknownIDs) != len(unknown) || len(c.Unlabelled) != 0 {
		t.Errorf("reports.Build disagrees: covered %d, unknown %v, unlabelled %v", tt.TestedCovered, tt.UnknownIDs, c.Unlabelled)
	}
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

func sortedKeys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
