// Package conformance declares conformance specs: a thin wrapper over
// Ginkgo's It that labels a spec with the statements it checks, their level
// and checks them against the catalogue, and records named outcomes and measured
// times as report entries the reports package reads.
package conformance

import (
	"sort"
	"strings"
	"sync"
	"time"

	g "github.com/onsi/ginkgo/v2"

	"github.com/wirecheck/wirecheck/fixtures"
	"github.com/wirecheck/wirecheck/reports"
)

// Report entry names read back by the reports package (defined there so
// that reports need not import the Ginkgo DSL).
const (
	EntryOutcome  = reports.EntryOutcome
	EntryMeasured = reports.EntryMeasured
)

// Outcome is the behaviour a target chose where the standard allows several.
type Outcome = reports.Outcome

// Measured is a time the spec measured, e.g. keepalive disconnect.
type Measured = reports.Measured

var (
	catMu   sync.Mutex
	catalog = map[string]*fixtures.Catalogue{}
	unknown []string // IDs cited by specs but missing from their catalogue
)

func catalogue(name string) *fixtures.Catalogue {
	catMu.Lock()
	defer catMu.Unlock()
	c := catalog[name]
	if c == nil {
		switch name {
		case "mqtt311":
			c = fixtures.MQTT311()
		case "rest":
			c = fixtures.REST()
		default:
			panic("conformance: unknown catalogue " + name)
		}
		catalog[name] = c
	}
	return c
}

// Unknown returns the statement IDs cited by specs that are not in their
// catalogue; the suite's own tests fail when it is not empty.
func Unknown() []string {
	catMu.Lock()
	defer catMu.Unlock()
	out := append([]string(nil), unknown...)
	sort.Strings(out)
	return out
}

// Statements builds the decorations for a spec checking ids of the named
// catalogue: one label per ID and one per level (must/should/may).
func Statements(cat string, ids ...string) []any {
	c := catalogue(cat)
	var labels []string
	levels := map[string]bool{}
	for _, id := range ids {
		s, ok := c.Lookup(id)
		if !ok {
			catMu.Lock()
			unknown = append(unknown, id)
			catMu.Unlock()
			labels = append(labels, id)
			continue
		}
		labels = append(labels, s.ID)
		levels[s.LevelLabel()] = true
	}
	for l := range levels {
		labels = append(labels, l)
	}
	labels = append(labels, cat) // the suite: lets one run select mqtt311 or rest
	sort.Strings(labels)
	return []any{g.Label(labels...)}
}

// ConformanceIt declares a conformance spec on the MQTT 3.1.1 catalogue. ids are the
// statement IDs it checks; body and any Ginkgo decorators follow.
func ConformanceIt(text string, ids []string, args ...any) bool {
	decos := append(Statements("mqtt311", ids...), args...)
	// Offset(1): the spec's location is its caller's line, not this one.
	return g.It(text+" "+cite(ids), append(decos, g.Offset(1))...)
}

func cite(ids []string) string { return "[" + strings.Join(ids, " ") + "]" }

// IDs is sugar for the ids argument of It.
func IDs(ids ...string) []string { return ids }

// RecordOutcome notes which allowed behaviour the target chose.
func RecordOutcome(name, chosen string) {
	g.AddReportEntry(EntryOutcome, g.Offset(1), g.ReportEntryVisibilityFailureOrVerbose, Outcome{Name: name, Chosen: chosen})
}

// RecordMeasured notes a measured time.
func RecordMeasured(name string, d time.Duration, note string) {
	g.AddReportEntry(EntryMeasured, g.Offset(1), g.ReportEntryVisibilityFailureOrVerbose, Measured{Name: name, Seconds: d.Seconds(), Note: note})
}

// Area returns the decoration for a container covering one area of the
// standard (connect, qos, retained, will, keepalive, ...).
func Area(name string) g.Labels { return g.Label(name) }

// RESTIt declares a spec of the REST suite; ids are checks of the REST
// catalogue (fixtures/rest/statements.csv), e.g. "RFC9110-13.1.1".
func RESTIt(text string, ids []string, args ...any) bool {
	decos := append(Statements("rest", ids...), args...)
	return g.It(text+" "+cite(ids), append(decos, g.Offset(1))...)
}
