package energy

import (
	"fmt"
	"io"
	"math"
	"strings"
)

// WriteMarkdown writes energy.md: the tables next to the published ones,
// the derived figures, the check against the study's traces, and an
// explanation of the model and its limits that a student can cite.
func (c *Constants) WriteMarkdown(w io.Writer, cells []Cell, caps []*Events) {
	ev := caps[0]
	fmt.Fprintf(w, "# Energy: MQTT vs HTTPS long polling, PowerTutor model\n\n")
	fmt.Fprintf(w, "Reproduces the connect and maintain tables of S. Nicholas, \"Power Profiling: HTTPS Long Polling vs. MQTT with SSL, on Android\" (2012).\n\n")
	fmt.Fprintf(w, "- TLS: %s\n- captures: %d of each event on loopback; each cell uses the median event\n", ProfileDescription(ev.TLS), len(caps))
	fmt.Fprintf(w, "- timing: every event re-timed with the link model, never loopback timing\n")
	if !c.StudyBattery() {
		fmt.Fprintf(w, "- battery: %g J, not the study's %g J; the published columns are rescaled to it\n", c.Battery.Joules, c.studyJoules)
	}
	for _, r := range Radios {
		fmt.Fprintf(w, "- %s link: %s\n", strings.ToUpper(r), c.Links[r])
	}
	fmt.Fprintf(w, "\n## Connect (%% battery per connect)\n\n")
	c.writeGrid(w, cells, "connect", []int{0})
	fmt.Fprintf(w, "\n## Maintain (%% battery per hour)\n\n")
	c.writeGrid(w, cells, "maintain", Keepalives)
	d := Derive(cells)
	fmt.Fprintf(w, "\n## Derived (3G, keepalive 240 s)\n\n")
	fmt.Fprintf(w, "- battery per day saved by MQTT: model %.2f %%, published %.2f %%\n", d.SavedPerDay, d.SavedPerDayPublished)
	fmt.Fprintf(w, "- connection lifetime after which MQTT's dearer connect pays off: model %.0f s (%.1f min), published %.0f s (%.1f min)\n",
		d.BreakEvenS, d.BreakEvenS/60, d.BreakEvenSPublished, d.BreakEvenSPublished/60)
	c.writeTraceCheck(w, cells)
	writePhysical(w, cells)
	fmt.Fprintf(w, "\n## Captured events\n\n| event | packets | payload bytes up | payload bytes down | span on the 3G link (s) |\n|---|---|---|---|---|\n")
	for _, e := range []struct {
		name string
		p    []Packet
	}{{"MQTT connect", ev.MQTTConnect}, {"MQTT keepalive", ev.MQTTPing}, {"HTTPS connect", ev.HTTPSConnect}, {"HTTPS reconnect", ev.HTTPSReconnect}} {
		up, down := 0, 0
		for _, p := range e.p {
			if p.Up {
				up += p.Payload
			} else {
				down += p.Payload
			}
		}
		rt := Retime(e.p, c.Links[Radio3G])
		fmt.Fprintf(w, "| %s | %d | %d | %d | %.2f |\n", e.name, len(e.p), up, down, rt[len(rt)-1].T)
	}
	c.writeExplanation(w)
}

// writeGrid writes one table in the published layout: a row per keepalive,
// a column per radio and protocol, "model / published (ratio)".
func (c *Constants) writeGrid(w io.Writer, cells []Cell, table string, kas []int) {
	fmt.Fprintf(w, "| keepalive s |")
	for _, r := range Radios {
		for _, p := range Protocols {
			fmt.Fprintf(w, " %s %s model / published (ratio) |", strings.ToUpper(r), strings.ToUpper(p))
		}
	}
	fmt.Fprintf(w, "\n|---|---|---|---|---|\n")
	for _, ka := range kas {
		label := "-"
		if ka > 0 {
			label = fmt.Sprint(ka)
		}
		fmt.Fprintf(w, "| %s |", label)
		for _, r := range Radios {
			for _, p := range Protocols {
				x := Find(cells, "powertutor", table, r, p, ka)
				fmt.Fprintf(w, " %.5f / %.5f (%.2f) |", x.Value, x.Published, x.Ratio)
			}
		}
		fmt.Fprintln(w)
	}
}

// writePhysical writes the physical models' cells and the shape checks
// that are all a physical model can be held to against PowerTutor's table.
func writePhysical(w io.Writer, cells []Cell) {
	fmt.Fprintf(w, "\n## Physical radio models (physically plausible; compare shapes, not cells)\n\n")
	fmt.Fprintf(w, "| model | connect HTTPS / MQTT (%%) |")
	for _, ka := range Keepalives {
		fmt.Fprintf(w, " maintain %d s HTTPS / MQTT (%%/h) |", ka)
	}
	fmt.Fprintf(w, " MQTT cheaper to maintain | HTTPS cheaper to connect |\n|---|---|---|---|---|---|---|---|\n")
	for _, radio := range PhysicalRadios {
		model := "physical-" + radio
		get := func(table, proto string, ka int) float64 { return Find(cells, model, table, radio, proto, ka).Value }
		if get("connect", "mqtt", 0) == 0 {
			continue
		}
		fmt.Fprintf(w, "| %s | %.5f / %.5f |", model, get("connect", "https", 0), get("connect", "mqtt", 0))
		cheaper := true
		for _, ka := range Keepalives {
			h, m := get("maintain", "https", ka), get("maintain", "mqtt", ka)
			cheaper = cheaper && m < h
			fmt.Fprintf(w, " %.5f / %.5f |", h, m)
		}
		fmt.Fprintf(w, " %s | %s |\n", yesNo(cheaper), yesNo(get("connect", "https", 0) < get("connect", "mqtt", 0)))
	}
	fmt.Fprintf(w, "\nEach event is charged promotion, transfer and tail from idle (idle power between events is the same for both protocols and left out); energy per hour falls as 1/keepalive once the keepalive exceeds the tail. Constants and their sources: fixtures/energy/physical.json.\n")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// writeTraceCheck compares how often the model's events span two
// PowerTutor polls (and so reach DCH) with how often the study's own 3G
// trace reached DCH.
func (c *Constants) writeTraceCheck(w io.Writer, cells []Cell) {
	tr, err := Traces("power-traces-2012-mqtt-vs-https.csv")
	if err != nil {
		fmt.Fprintf(w, "\n(trace check unavailable: %v)\n", err)
		return
	}
	fmt.Fprintf(w, "\n## Check against the study's 3G trace (3G_Sporadic, keepalive 240 s)\n\n")
	fmt.Fprintf(w, "| series | radio bursts | bursts that reached DCH | model: share of events spanning two polls | P(count at most as seen) | P(count at least as seen) |\n|---|---|---|---|---|---|\n")
	for _, proto := range Protocols {
		n, k := c.Bursts(tr["3G_Sporadic/"+strings.ToUpper(proto)])
		p := Find(cells, "powertutor", "maintain", Radio3G, proto, 240).Split
		lo, hi := Binomial(n, k, p)
		fmt.Fprintf(w, "| %s | %d | %d | %.3f | %.3f | %.3f |\n", strings.ToUpper(proto), n, k, p, lo, hi)
	}
	fmt.Fprintf(w, "\nA probability under 0.05 says the link model times that event differently from the study's phone.\n")
}

func (c *Constants) writeExplanation(w io.Writer) {
	fmt.Fprintf(w, `
## How the model works

PowerTutor (public repo msg555/PowerTutor) is the software power model the
study read its figures from; the tables are its output, not a power meter's.
This reproduction follows its source:

- Power levels (PassionConstants.java, the HTC Desire used the Nexus One's):
  3G FACH %.2f mW, DCH %.2f mW; WiFi low %.2f mW, high %.2f mW. Battery
  %g mAh x %g V = %g J; %% battery = joules / %g x 100.
- 3G (Threeg.java): IDLE to FACH on any bytes, FACH to DCH on bytes in a later
  poll, DCH to FACH after %d idle ticks, FACH to IDLE after %d. WiFi
  (Wifi.java): more than %g packets in a poll means high power, fewer than %g
  low; only polls with bytes are charged. An app's packets are estimated
  from its bytes over the interface's mean packet size (taken here as the
  mean size of the event's own packets).
- Polling (isStale() in both files): an idle app's byte counters are read
  only when min(%g s, its inactive time) has passed since the last read;
  while its 3G state is FACH or DCH, every second. So after a long idle an
  event lands in one poll, unless a poll falls inside it: then the rest is
  seen a second later and the radio goes to DCH. Cells are means over %d
  evenly spaced positions of that first poll.
- Link timing: loopback exchanges take microseconds, so each captured event
  is re-timed on the phone's clock: a reply to the phone's data one round
  trip after it, each packet its size over the link's bandwidth, and on 3G
  the first flight larger than the RLC buffer threshold waits for the
  FACH-to-DCH promotion.
- Maintain %%/hour = energy of one keepalive (MQTT PINGREQ/PINGRESP) or one
  long-poll reconnect (HTTPS: close, TCP + TLS handshake, GET) x 3600 /
  keepalive / battery; every interval follows an idle longer than the tails.

Sources: %s. %s. %s.

## Limits

- PowerTutor's per-app polling makes 3G cells depend on how long an event
  lasts relative to its 10 s idle poll, so on the link's round trip and
  promotion delays; the study did not record its link. The link figures
  are typical published measurements, not the study's.
- The published 3G MQTT maintain cells are %s below even the cheapest
  PowerTutor keepalive (%d FACH ticks, %.3f J), so every split keepalive
  moves the model further above them; the 2011 and 2012 runs of the same
  phone differ by 3-18 %%, about the honest floor for a reproduction.
- WiFi: PowerTutor estimates an app's packets from its bytes and the whole
  interface's mean packet size, which depended on everything else the
  phone sent; with this traffic alone a reconnect stays under the
  high-power threshold, while the study's WiFi HTTPS cells imply it crossed it.
- The study's exact TLS stack, cipher suite and certificate chain are not
  recorded; the "study" profile is the closest documented setup.
`, c.ThreeG.FachMW, c.ThreeG.DchMW, c.WiFi.LowMW, c.WiFi.HighMW,
		c.Battery.MAh, c.Battery.Volts, c.Battery.Joules, c.Battery.Joules,
		c.ThreeG.DchFachDelay, c.ThreeG.FachIdleDelay, c.WiFi.HighThreshold, c.WiFi.LowThreshold,
		c.ThreeG.IdlePollS, c.Phases, c.Sources["idle_poll"], c.Sources["link_3g"], c.Sources["link_wifi"],
		c.belowFloor(), c.ThreeG.FachIdleDelay, c.floorJ())
}

// floorJ is the cheapest 3G event PowerTutor can charge: one poll with
// bytes, then FACH until the FACH→IDLE delay runs out.
func (c *Constants) floorJ() float64 {
	return float64(c.ThreeG.FachIdleDelay) * c.ThreeG.FachMW / 1000
}

// belowFloor says how far the published 3G MQTT maintain cells fall below
// one floor-cost keepalive per interval, e.g. "8-18 %%".
func (c *Constants) belowFloor() string {
	pub, err := Published()
	if err != nil {
		return "(unknown)"
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, ka := range Keepalives {
		floor := c.floorJ() * 3600 / float64(ka) / c.studyJoules * 100
		below := (1 - pub[key("maintain", Radio3G, "mqtt", ka)]/floor) * 100
		lo, hi = math.Min(lo, below), math.Max(hi, below)
	}
	return fmt.Sprintf("%.0f-%.0f %%", lo, hi)
}
