package mqtt311

import (
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/onsi/ginkgo/v2/types"

	"github.com/wirecheck/wirecheck/fixtures"
	"github.com/wirecheck/wirecheck/reports"
	"github.com/wirecheck/wirecheck/suites/conformance"
)

// statementLabel tells a statement ID label from area and level labels.
var statementLabel = regexp.MustCompile(`^MQTT-`)

// TestCoverage computes coverage from the suite itself: it re-runs this test
// binary as a Ginkgo dry run (RunSpecs runs once per process, and
// TestMQTT311 has that one run) and checks the spec tree against the
// catalogue: every statement ID a spec cites is in the catalogue, and every
// statement marked "tested" is cited by at least one spec.
func TestCoverage(t *testing.T) {
	if os.Getenv(conformance.EnvDryRun) == "1" {
		t.Skip("inside the dry run")
	}
	r := conformance.DryRun(t, "TestMQTT311")

	cat := fixtures.MQTT311()
	cited := map[string][]string{}   // canonical ID -> specs citing it
	unknown := map[string][]string{} // cited ID not in the catalogue -> specs
	specs := 0
	for _, sr := range r.SpecReports {
		if sr.LeafNodeType != types.NodeTypeIt {
			continue
		}
		specs++
		for _, l := range sr.Labels() {
			if !statementLabel.MatchString(l) {
				continue
			}
			if s, ok := cat.Lookup(l); ok {
				cited[s.ID] = append(cited[s.ID], sr.FullText())
			} else {
				unknown[l] = append(unknown[l], sr.FullText())
			}
		}
	}
	if specs == 0 {
		t.Fatal("the dry run found no specs")
	}

	for _, id := range sortedKeys(unknown) {
		t.Errorf("%s is cited but not in the catalogue, by: %s", id, strings.Join(unknown[id], "; "))
	}
	var uncovered, citedNotTested []string
	for _, s := range cat.Statements {
		switch {
		case s.Status == fixtures.Tested && len(cited[s.ID]) == 0:
			uncovered = append(uncovered, s.ID)
		case s.Status != fixtures.Tested && len(cited[s.ID]) > 0:
			citedNotTested = append(citedNotTested, s.ID+" ("+string(s.Status)+")")
		}
	}
	for _, id := range uncovered {
		st, _ := cat.Lookup(id)
		t.Errorf("%s is marked tested but no spec cites it: %s", id, st.Summary)
	}
	if len(citedNotTested) > 0 {
		t.Logf("cited by a spec although not marked tested: %s", strings.Join(citedNotTested, ", "))
	}

	// The same totals the conformance report shows.
	c := reports.Build(r, cat, "dry run", "")
	tt := c.Totals
	t.Logf("coverage: %d specs (%d without a statement ID); %d statements: tested %d, client-only %d, not-observable %d, not-applicable %d; %d of %d tested statements cited by ≥1 spec; %d unknown IDs",
		tt.Specs, len(c.Unlabelled), tt.Statements, tt.ByStatus[string(fixtures.Tested)], tt.ByStatus[string(fixtures.ClientOnly)],
		tt.ByStatus[string(fixtures.NotObservable)], tt.ByStatus[string(fixtures.NotApplicable)],
		tt.TestedCovered, tt.Tested, len(tt.UnknownIDs))
	if tt.TestedCovered != tt.Tested-len(uncovered) || len(tt.UnknownIDs) != len(unknown) {
		t.Errorf("reports.Build disagrees: covered %d, unknown %v", tt.TestedCovered, tt.UnknownIDs)
	}
}

func sortedKeys(m map[string][]string) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}
