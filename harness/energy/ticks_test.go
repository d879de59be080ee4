package energy

// PowerTutor's state machines stepped every second, as PowerTutor steps
// them for the interface's own counters: the tests use them to check the
// keepers against the study's trace shapes without the per-app polling.

// Tick is one second of traffic.
type Tick struct {
	Up, Down int // payload bytes
	Packets  int // segments
}

// ThreeGTrace runs PowerTutor's 3G state machine (Threeg.java) over ticks
// read every second (as PowerTutor reads the interface's own counters) and
// on until the radio is back in IDLE: power per tick in mW.
func (c *Constants) ThreeGTrace(ts []Tick) []float64 { return c.tickTrace(Radio3G, ts) }

// WiFiTrace runs PowerTutor's WiFi model (Wifi.java) over ticks read every
// second: a tick with bytes costs the low or high level by its packet count,
// with hysteresis; ticks without bytes are not charged. The link-rate term
// of the high state is left out.
func (c *Constants) WiFiTrace(ts []Tick) []float64 { return c.tickTrace(RadioWiFi, ts) }

func (c *Constants) tickTrace(radio string, ts []Tick) []float64 {
	k := c.keeper(radio)
	var out []float64
	for i := 0; i < len(ts) || !k.done(); i++ {
		var t Tick
		if i < len(ts) {
			t = ts[i]
		}
		out = append(out, k.step(t.Up, t.Down, float64(t.Packets)))
	}
	return out
}
