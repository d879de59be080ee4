package energy

import (
	"encoding/csv"
	"fmt"
	"slices"
	"strconv"

	fix "github.com/wirecheck/wirecheck/fixtures/energy"
)

// Cell is one line of energy.json. The first eight fields are an interface
// other tools rely on: add, never rename.
type Cell struct {
	Table      string  `json:"table"` // connect or maintain
	Radio      string  `json:"radio"` // 3g or wifi (physical models also lte)
	Protocol   string  `json:"protocol"`
	KeepaliveS *int    `json:"keepalive_s,omitempty"`
	Model      string  `json:"model"`          // powertutor, or physical-<radio>
	Value      float64 `json:"value"`          // % battery (connect) or %/hour (maintain)
	Published  float64 `json:"published"`      // 0 when the study has no such cell (LTE)
	Ratio      float64 `json:"ratio"`          // value/published, 0 without a published value
	EventJ     float64 `json:"event_joules"`   // one connect, or one keepalive/reconnect
	Split      float64 `json:"split_fraction"` // PowerTutor: share of poll phases where the event spans two polls
	SpanS      float64 `json:"span_s"`         // the event's duration on the link model
	Captures   int     `json:"captures"`       // captured repetitions the median is taken over
	Timing     string  `json:"timing"`         // how the loopback capture was timed
	Link       string  `json:"link"`
	TLS        string  `json:"tls"`
}

// Key is a cell's identity in the published table.
func key(table, radio, proto string, ka int) string {
	return fmt.Sprintf("%s/%s/%s/%d", table, radio, proto, ka)
}

// fixtureRows reads a CSV fixture without its header line.
func fixtureRows(name string) ([][]string, error) {
	f, err := fix.Files.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if len(recs) == 0 {
		return nil, fmt.Errorf("%s: empty", name)
	}
	return recs[1:], nil
}

// Published reads published.csv: key → value.
func Published() (map[string]float64, error) {
	recs, err := fixtureRows("published.csv")
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, r := range recs {
		ka, _ := strconv.Atoi(r[3])
		v, err := strconv.ParseFloat(r[4], 64)
		if err != nil {
			return nil, err
		}
		out[key(r[0], r[1], r[2], ka)] = v
	}
	return out, nil
}

// Keepalives of the maintain table.
var Keepalives = []int{60, 120, 240, 480}

// Radios and protocols in the published column order.
var (
	Radios    = []string{Radio3G, RadioWiFi}
	Protocols = []string{"https", "mqtt"}
)

// pick returns an event's packets: a connect, or what one keepalive
// interval costs (an MQTT ping, an HTTPS long-poll reconnect).
func (e *Events) pick(table, proto string) []Packet {
	switch {
	case table == "connect" && proto == "mqtt":
		return e.MQTTConnect
	case table == "connect":
		return e.HTTPSConnect
	case proto == "mqtt":
		return e.MQTTPing
	}
	return e.HTTPSReconnect
}

// median returns the event whose energy is the median over captures.
func median(evs []Event) Event {
	s := slices.Clone(evs)
	slices.SortFunc(s, func(a, b Event) int { return cmpFloat(a.Joules, b.Joules) })
	return s[len(s)/2]
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// Table computes the connect and maintain cells of the PowerTutor model
// from one or more captures of the events (the median event is used).
func (c *Constants) Table(caps []*Events) ([]Cell, error) {
	if len(caps) == 0 {
		return nil, fmt.Errorf("energy: no captured events")
	}
	pub, err := Published()
	if err != nil {
		return nil, err
	}
	var cells []Cell
	event := map[string]Event{}
	for _, table := range []string{"connect", "maintain"} {
		for _, radio := range Radios {
			for _, proto := range Protocols {
				var evs []Event
				for _, e := range caps {
					evs = append(evs, c.EventEnergy(radio, e.pick(table, proto)))
				}
				event[table+radio+proto] = median(evs)
			}
		}
	}
	add := func(table, radio, proto string, ka int) {
		ev := event[table+radio+proto]
		cell := Cell{Table: table, Radio: radio, Protocol: proto, Model: "powertutor", EventJ: ev.Joules,
			Split: ev.Split, SpanS: ev.Span, Captures: len(caps), Timing: "re-timed with the link model",
			Link: c.Links[radio].String(), TLS: caps[0].TLS}
		cells = append(cells, c.fill(cell, ka, pub))
	}
	for _, radio := range Radios {
		for _, proto := range Protocols {
			add("connect", radio, proto, 0)
		}
	}
	for _, ka := range Keepalives {
		for _, radio := range Radios {
			for _, proto := range Protocols {
				add("maintain", radio, proto, ka)
			}
		}
	}
	return cells, nil
}

// fill sets a cell's keepalive, value (% per event, or %/hour for one
// event per keepalive), published value and ratio from its EventJ. The
// published % are of the study's battery: rescaled to this one.
func (c *Constants) fill(cell Cell, ka int, pub map[string]float64) Cell {
	cell.Value = c.Percent(cell.EventJ)
	if ka > 0 {
		cell.KeepaliveS = &ka
		cell.Value = c.Percent(cell.EventJ * 3600 / float64(ka))
	}
	cell.Published = pub[key(cell.Table, cell.Radio, cell.Protocol, ka)] * c.studyJoules / c.Battery.Joules
	if cell.Published > 0 {
		cell.Ratio = cell.Value / cell.Published
	}
	return cell
}

// StudyBattery reports whether the battery is the study's, which the
// published percentages are of.
func (c *Constants) StudyBattery() bool { return c.Battery.Joules == c.studyJoules }

// Derived are the slides' two derived figures.
type Derived struct {
	SavedPerDay, SavedPerDayPublished float64 // % per day, 3G, 240 s
	BreakEvenS, BreakEvenSPublished   float64
}

// Find returns the cell of a model, or the zero Cell.
func Find(cells []Cell, model, table, radio, proto string, ka int) Cell {
	for _, c := range cells {
		k := 0
		if c.KeepaliveS != nil {
			k = *c.KeepaliveS
		}
		if c.Model == model && c.Table == table && c.Radio == radio && c.Protocol == proto && k == ka {
			return c
		}
	}
	return Cell{}
}

// Derive computes the per-day saving and break-even interval (3G, 240 s)
// of the PowerTutor cells and of the published table.
func Derive(cells []Cell) Derived {
	f := func(v func(Cell) float64) (float64, float64) {
		get := func(table, proto string, ka int) float64 {
			return v(Find(cells, "powertutor", table, Radio3G, proto, ka))
		}
		hm := get("maintain", "https", 240) - get("maintain", "mqtt", 240)
		cd := get("connect", "mqtt", 0) - get("connect", "https", 0)
		return hm * 24, cd / (hm / 3600)
	}
	var d Derived
	d.SavedPerDay, d.BreakEvenS = f(func(c Cell) float64 { return c.Value })
	d.SavedPerDayPublished, d.BreakEvenSPublished = f(func(c Cell) float64 { return c.Published })
	return d
}
