// Package energy turns captured MQTT and HTTPS exchanges into battery
// figures with a PowerTutor-compatible model (msg555/PowerTutor, the
// software power model the 2012 study behind the seed's tables used; see
// ENERGY.md) and compares them with the published tables.
//
// Loopback exchanges finish in microseconds, while the study's 3G link
// took hundreds of milliseconds per round trip, and PowerTutor's 1-second
// ticks are sensitive to that. Every event is therefore re-timed with a
// link model (fixtures/energy/powertutor.json): each packet keeps its
// place in the exchange, every change of direction costs half a round
// trip and every packet its size over the link's bandwidth. The figures
// are means over start phases within the 1-second tick.
package energy

import (
	"encoding/json"
	"fmt"
	"math"

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
	} `json:"threeg"`
	WiFi struct {
		LowMW         float64 `json:"low_mw"`
		HighMW        float64 `json:"high_mw"`
		LowThreshold  float64 `json:"low_threshold_packets"`
		HighThreshold float64 `json:"high_threshold_packets"`
	} `json:"wifi"`
	Battery struct {
		MAh    float64 `json:"mah"`
		Volts  float64 `json:"volts"`
		Joules float64 `json:"joules"`
	} `json:"battery"`
	Links  map[string]Link `json:"links"`
	Phases int             `json:"phases"`
}

// Link is a radio's link model used to re-time loopback exchanges.
type Link struct {
	Name    string  `json:"name"`
	RTT     float64 `json:"rtt_s"`
	UpBps   float64 `json:"up_bps"`
	DownBps float64 `json:"down_bps"`
}

func (l Link) String() string {
	return fmt.Sprintf("%s: RTT %g ms, up %g kbit/s, down %g kbit/s", l.Name, l.RTT*1000, l.UpBps/1000, l.DownBps/1000)
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

// Tick is one second of traffic.
type Tick struct {
	Up, Down int // payload bytes
	Packets  int // segments
}

// Ticks bins packets into 1-second ticks starting at 0.
func Ticks(pkts []Packet) []Tick {
	var ts []Tick
	for _, p := range pkts {
		i := int(math.Floor(p.T))
		if i < 0 {
			i = 0
		}
		for len(ts) <= i {
			ts = append(ts, Tick{})
		}
		if p.Up {
			ts[i].Up += p.Payload
		} else {
			ts[i].Down += p.Payload
		}
		ts[i].Packets++
	}
	return ts
}

// ThreeGTrace runs PowerTutor's 3G state machine (Threeg.java) over the ticks
// and on until the radio is back in IDLE: the app's power per tick in mW.
func (c *Constants) ThreeGTrace(ts []Tick) []float64 {
	const idle, fach, dch = 0, 1, 2
	state, stateTime := idle, 0
	var out []float64
	for i := 0; i < len(ts) || state != idle; i++ {
		var t Tick
		if i < len(ts) {
			t = ts[i]
		}
		inactive := t.Up == 0 && t.Down == 0
		switch state {
		case idle:
			if !inactive {
				state = fach
			}
		case fach:
			if inactive {
				stateTime++
				if stateTime >= c.ThreeG.FachIdleDelay {
					stateTime, state = 0, idle
				}
			} else {
				stateTime, state = 0, dch
			}
		default:
			if inactive {
				stateTime++
				if stateTime >= c.ThreeG.DchFachDelay {
					stateTime, state = 0, fach
				}
			} else {
				stateTime = 0
			}
		}
		switch {
		case state == fach:
			out = append(out, c.ThreeG.FachMW)
		case state == dch:
			out = append(out, c.ThreeG.DchMW)
		case c.ThreeG.IdleChargedToApp || !inactive:
			// PowerTutor charges an app in IDLE only for ticks with bytes,
			// which cannot happen (bytes move IDLE to FACH).
			out = append(out, c.ThreeG.IdleMW)
		default:
			out = append(out, 0)
		}
	}
	return out
}

// WiFiTrace runs PowerTutor's WiFi model (Wifi.java): a tick with bytes costs
// the low or high level by its packet count, with hysteresis; ticks
// without bytes are not charged to the app. The link-rate term of the
// high state is left out.
func (c *Constants) WiFiTrace(ts []Tick) []float64 {
	high := false
	out := make([]float64, len(ts))
	for i, t := range ts {
		if float64(t.Packets) < c.WiFi.LowThreshold {
			high = false
		} else if float64(t.Packets) > c.WiFi.HighThreshold {
			high = true
		}
		switch {
		case t.Up == 0 && t.Down == 0:
			out[i] = 0
		case high:
			out[i] = c.WiFi.HighMW
		default:
			out[i] = c.WiFi.LowMW
		}
	}
	return out
}

// Trace runs the radio's model.
func (c *Constants) Trace(radio string, ts []Tick) []float64 {
	if radio == RadioWiFi {
		return c.WiFiTrace(ts)
	}
	return c.ThreeGTrace(ts)
}

// Joules sums a per-second trace in mW.
func Joules(mw []float64) float64 {
	s := 0.0
	for _, x := range mw {
		s += x / 1000
	}
	return s
}

// Retime places an exchange's packets (in capture order) on the link:
// the first at 0, each change of direction half a round trip later, each
// packet its wire size over the bandwidth of its direction.
func Retime(pkts []Packet, l Link) []Packet {
	out := make([]Packet, len(pkts))
	t := 0.0
	for i, p := range pkts {
		if i > 0 && p.Up != pkts[i-1].Up {
			t += l.RTT / 2
		}
		bw := l.DownBps
		if p.Up {
			bw = l.UpBps
		}
		size := p.Wire
		if size == 0 {
			size = p.Payload
		}
		if bw > 0 {
			t += float64(size) * 8 / bw
		}
		p.T = t
		out[i] = p
	}
	return out
}

// EventEnergy is the energy (J) of one event on a radio: the exchange
// re-timed with the radio's link, started at Phases evenly spaced offsets
// within a tick, and the mean taken. It also returns the trace at phase 0.
func (c *Constants) EventEnergy(radio string, pkts []Packet) (float64, []float64) {
	rt := Retime(pkts, c.Links[radio])
	n := max(c.Phases, 1)
	sum := 0.0
	var first []float64
	for k := range n {
		ph := float64(k) / float64(n)
		shifted := make([]Packet, len(rt))
		for i, p := range rt {
			p.T += ph
			shifted[i] = p
		}
		tr := c.Trace(radio, Ticks(shifted))
		if k == 0 {
			first = tr
		}
		sum += Joules(tr)
	}
	return sum / float64(n), first
}
