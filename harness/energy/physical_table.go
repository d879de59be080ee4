package energy

import "fmt"

// PhysicalRadios are the physical models in report order.
var PhysicalRadios = []string{Radio3G, "lte", RadioWiFi}

// PhysicalTable computes the connect and maintain cells with the physical
// radio models (physical.json): each event re-timed with its radio's link
// round trip and bandwidths after the model's promotion from idle, and
// charged for promotion, transfer and tail. Idle power between events is
// left out: it is the same for both protocols. Published values are the
// study's PowerTutor cells where the radio has one, for comparing shapes.
func (c *Constants) PhysicalTable(caps []*Events) ([]Cell, error) {
	models, err := LoadPhysical()
	if err != nil {
		return nil, err
	}
	pub, err := Published()
	if err != nil {
		return nil, err
	}
	var cells []Cell
	for _, radio := range PhysicalRadios {
		m, ok := models[radio]
		if !ok {
			return nil, fmt.Errorf("physical.json has no %q model", radio)
		}
		link, ok := c.Links[radio]
		if !ok {
			return nil, fmt.Errorf("powertutor.json has no %q link", radio)
		}
		// From idle the radio promotes straight to its active state: the
		// replies wait for that promotion, then keep the link's spacing.
		link.Promotion, link.FachDch = m.Promotion.S, 0
		for _, table := range []string{"connect", "maintain"} {
			for _, proto := range Protocols {
				var evs []Event
				for _, e := range caps {
					rt := Retime(e.pick(table, proto), link)
					evs = append(evs, Event{Joules: m.Energy(rt).Traffic(), Span: rt[len(rt)-1].T - rt[0].T})
				}
				ev := median(evs)
				kas := []int{0}
				if table == "maintain" {
					kas = Keepalives
				}
				for _, ka := range kas {
					cell := Cell{Table: table, Radio: radio, Protocol: proto, Model: "physical-" + radio,
						EventJ: ev.Joules, SpanS: ev.Span, Captures: len(caps),
						Timing: "re-timed with the link's round trip and bandwidth after the model's promotion from idle",
						Link:   link.String(), TLS: caps[0].TLS}
					cells = append(cells, c.fill(cell, ka, pub))
				}
			}
		}
	}
	return cells, nil
}
