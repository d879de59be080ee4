// Package energy turns captured MQTT and HTTPS exchanges into battery
// figures with a PowerTutor-compatible model (msg555/PowerTutor, the
// software power model the 2012 study behind the seed's tables used; see
// ENERGY.md) and compares them with the published tables.
//
// Loopback exchanges finish in microseconds, while the study's 3G link
// took hundreds of milliseconds per round trip, and PowerTutor is
// sensitive to that: an event that a poll splits reaches DCH. Every event
// is therefore re-timed with a link model (fixtures/energy/powertutor.json,
// see Retime) and sampled as PowerTutor samples an idle app (Sample); the
// figures are means over the first poll's position within the 10 s idle
// poll interval.
package energy

import (
	"encoding/json"
	"fmt"

	fix "github.com/wirecheck/wirecheck/fixtures/energy"
)

// Constants are the model's fixture (powertutor.json).
type Constants struct {
	Model   string            `json:"model"`
	Sources map[string]string `json:"sources"`
	ThreeG  struct {
		IdleMW           float64 `json:"idle_mw"`
		FachMW           float64 `json:"fach_mw"`
		DchMW            float64 `json:"dch_mw"`
		DchFachDelay     int     `json:"dch_fach_delay_ticks"`
		FachIdleDelay    int     `json:"fach_idle_delay_ticks"`
		IdleChargedToApp bool    `json:"idle_charged_to_app"`
		IdlePollS        float64 `json:"idle_poll_s"`
	} `json:"threeg"`
	WiFi struct {
		LowMW         float64 `json:"low_mw"`
		HighMW        float64 `json:"high_mw"`
		LowThreshold  float64 `json:"low_threshold_packets"`
		HighThreshold float64 `json:"high_threshold_packets"`
		IdlePollS     float64 `json:"idle_poll_s"`
	} `json:"wifi"`
	Battery struct {
		MAh    float64 `json:"mah"`
		Volts  float64 `json:"volts"`
		Joules float64 `json:"joules"`
	} `json:"battery"`
	Links  map[string]Link `json:"links"`
	Phases int             `json:"phases"`

	studyJoules float64 // the study's battery, which the published % refer to
}

// Link is a radio's link model used to re-time loopback exchanges.
type Link struct {
	Name string  `json:"name"`
	RTT  float64 `json:"rtt_s"`
	// Promotion is how long the radio takes to leave its idle state
	// before the first packet of an exchange goes out.
	Promotion float64 `json:"promotion_s"`
	// A flight of packets in one direction larger than the radio's RLC
	// buffer threshold moves a 3G radio from FACH to DCH, which takes
	// FachDch seconds; 0 thresholds mean no such promotion (WiFi).
	FachDch      float64 `json:"fach_dch_promotion_s"`
	RLCUpBytes   int     `json:"rlc_up_bytes"`
	RLCDownBytes int     `json:"rlc_down_bytes"`
	UpBps        float64 `json:"up_bps"`
	DownBps      float64 `json:"down_bps"`
}

func (l Link) String() string {
	s := fmt.Sprintf("%s: RTT %g ms, up %g kbit/s, down %g kbit/s", l.Name, l.RTT*1000, l.UpBps/1000, l.DownBps/1000)
	if l.Promotion > 0 {
		s += fmt.Sprintf(", promotion from idle %g s", l.Promotion)
	}
	if l.FachDch > 0 {
		s += fmt.Sprintf(", FACH→DCH %g s for flights over %d B up / %d B down", l.FachDch, l.RLCUpBytes, l.RLCDownBytes)
	}
	return s
}

// Radios in table order.
const (
	Radio3G   = "3g"
	RadioWiFi = "wifi"
)

// Default loads the embedded fixture.
func Default() (*Constants, error) {
	b, err := fix.Files.ReadFile("powertutor.json")
	if err != nil {
		return nil, err
	}
	var c Constants
	if err := json.Unmarshal(b, &c); err != nil {
		return nil, fmt.Errorf("powertutor.json: %w", err)
	}
	if c.Phases <= 0 {
		c.Phases = 1
	}
	c.studyJoules = c.Battery.Joules
	return &c, nil
}

// Percent is joules as a percentage of the battery.
func (c *Constants) Percent(joules float64) float64 { return joules / c.Battery.Joules * 100 }

// Packet is one TCP segment of an exchange, as the model sees it.
type Packet struct {
	T       float64 // seconds from the start of the sequence
	Up      bool    // phone to server
	Payload int     // TCP payload bytes (what PowerTutor's per-app counters count)
	Wire    int     // bytes on the link (headers included), for serialization time
}

// Joules sums a per-second trace in mW.
func Joules(mw []float64) float64 {
	s := 0.0
	for _, x := range mw {
		s += x / 1000
	}
	return s
}

// Retime places an exchange's packets (in capture order) on the phone's
// clock over the link: the first at 0 (an app's send is counted when it is
// made); when the phone starts the exchange, the rest after the radio's
// promotion from idle; a reply to the phone's data a full round trip after
// it, the phone's own answer at once; each packet its wire size over the
// bandwidth of its direction. Bare ACKs gate nothing, so they neither wait
// nor make the next packet wait. The first flight in one direction that
// outgrows the RLC buffer threshold waits for FACH→DCH (ARO's rule); after
// that the radio stays in DCH for the rest of the exchange.
func Retime(pkts []Packet, l Link) []Packet {
	out := make([]Packet, len(pkts))
	t := 0.0
	lastUp, seen := false, false // direction of the last packet with payload
	flight, dch := 0, l.FachDch == 0
	for i, p := range pkts {
		after := 0.0 // delay that follows this packet
		if i == 1 && pkts[0].Up {
			t += l.Promotion
		}
		size := max(p.Wire, p.Payload)
		if p.Payload > 0 {
			if seen && lastUp && !p.Up {
				t += l.RTT
			}
			if !seen || p.Up != lastUp {
				flight = 0
			}
			lastUp, seen = p.Up, true
			flight += size
			limit := l.RLCDownBytes
			if p.Up {
				limit = l.RLCUpBytes
			}
			if !dch && flight > limit {
				// The phone's own data is counted when written, so an
				// upload's promotion delays what follows, a download's
				// delays its arrival.
				dch = true
				if p.Up {
					after = l.FachDch
				} else {
					t += l.FachDch
				}
			}
		}
		bw := l.DownBps
		if p.Up {
			bw = l.UpBps
		}
		if bw > 0 {
			t += float64(size) * 8 / bw
		}
		p.T = t
		out[i] = p
		t += after
	}
	return out
}

// Event is what the model makes of one event.
type Event struct {
	Joules float64   // mean over the poll phases
	Split  float64   // fraction of phases in which the event's bytes fell in more than one poll
	Span   float64   // seconds from the first to the last packet, re-timed
	Trace  []float64 // mW per tick at the middle phase
}

// EventEnergy models one event that follows a long idle on a radio: the
// exchange re-timed with the radio's link, sampled as PowerTutor samples
// an idle app (Sample) with its first poll at Phases evenly spaced offsets
// within the idle poll interval, and the mean taken.
func (c *Constants) EventEnergy(radio string, pkts []Packet) Event {
	return c.sampled(radio, Retime(pkts, c.Links[radio]))
}

// sampled averages Sample over the first poll's phases for packets
// already on the phone's clock.
func (c *Constants) sampled(radio string, rt []Packet) Event {
	period := c.idlePoll(radio)
	up, down := meanWire(rt)
	n := max(c.Phases, 1)
	var ev Event
	if len(rt) > 0 {
		ev.Span = rt[len(rt)-1].T - rt[0].T
	}
	for k := range n {
		tr, polls := c.sample(radio, rt, (float64(k)+0.5)*period/float64(n), up, down)
		if k == n/2 {
			ev.Trace = tr
		}
		if polls > 1 {
			ev.Split++
		}
		ev.Joules += Joules(tr)
	}
	ev.Joules /= float64(n)
	ev.Split /= float64(n)
	return ev
}
