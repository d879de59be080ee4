package energy

import (
	"math"
	"slices"
	"testing"
)

// physModels loads the embedded physical.json.
func physModels(t *testing.T) map[string]*PhysicalModel {
	t.Helper()
	ms, err := LoadPhysical()
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func TestPhysicalEmbedded(t *testing.T) {
	ms, err := LoadPhysical()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []string{"3g", "lte", "wifi"} {
		if ms[r] == nil {
			t.Errorf("no %s model", r)
		}
	}
}

// The fixture holds the constants ENERGY.md quotes, each model with its sources.
func TestPhysicalFixture(t *testing.T) {
	ms := physModels(t)
	for _, r := range []string{"3g", "lte", "wifi"} {
		m := ms[r]
		if m == nil {
			t.Fatalf("no %s model", r)
		}
		if m.Radio != r || m.Sources == "" || len(m.Checked) == 0 {
			t.Errorf("%s: radio %q, sources %q, checked %v", r, m.Radio, m.Sources, m.Checked)
		}
	}
	g, l, w := ms["3g"], ms["lte"], ms["wifi"]
	fach := g.Tail[1]
	checks := []struct {
		name      string
		got, want float64
	}{
		{"3g DCH W", g.Active.W, 0.70},
		{"3g DCH tail W", g.Tail[0].Watts(), 0.70},
		{"3g FACH W", fach.Watts(), 0.35},
		{"3g IDLE W", g.Idle.Watts(), 0},
		{"3g IDLE->DCH s", g.Promotion.S, 2.0},
		{"3g FACH->DCH s", fach.Promotion.S, 1.5},
		{"3g DCH tail s", g.Tail[0].S, 5},
		{"3g FACH tail s", fach.S, 12},
		{"3g RLC up B", float64(fach.RLC.UpBytes), 543},
		{"3g RLC down B", float64(fach.RLC.DownBytes), 475},
		{"lte promotion W", l.Promotion.W, 1.21},
		{"lte promotion s", l.Promotion.S, 0.26},
		{"lte tail baseline W", l.Tail[2].DRX.OffW, 1.06},
		{"lte alpha up", l.Active.UpMWPerMbps, 438.39},
		{"lte alpha down", l.Active.DownMWPerMbps, 51.97},
		{"lte beta", l.Active.W, 1.2},
		{"lte tail s (ARO timers)", l.TailSeconds(), 10.12},
		{"wifi active W", w.Active.W, 0.403},
		{"wifi tail s", w.TailSeconds(), 0.25},
		{"wifi standby W", w.Idle.Watts(), 0.02},
		{"wifi promotion s", w.Promotion.S, 0},
	}
	for _, c := range checks {
		if math.Abs(c.got-c.want) > 1e-12 {
			t.Errorf("%s = %g, want %g", c.name, c.got, c.want)
		}
	}
}

func TestParsePhysicalRejects(t *testing.T) {
	for _, s := range []string{
		`{}`,
		`{"models": {"x": {"burst_gap_s": 0, "tail": [{"s": 1}]}}}`,
		`{"models": {"x": {"burst_gap_s": 1, "tail": []}}}`,
		`{"models": {"x": {"burst_gap_s": 1, "tail": [{"s": 0}]}}}`,
		`{"models": {"x": {"burst_gap_s": 1, "tail": [{"s": 1, "drx": {"period_s": 0}}]}}}`,
	} {
		if _, err := ParsePhysical([]byte(s)); err == nil {
			t.Errorf("accepted %s", s)
		}
	}
}

// Hand-computed constants (fixture values):
const (
	lteShortDRX = (0.002*1.68 + 0.018*1.06) / 0.02 // 1.122 W
	lteLongDRX  = (0.002*1.68 + 0.038*1.06) / 0.04 // 1.091 W
	lteTailJ    = 1.2*0.1 + lteShortDRX*0.02 + lteLongDRX*10
	lteUp66J    = 438.39e-3 * 66 * 8 / 1e6 // alpha_up (J/Mbit) * Mbit
	lteDown66J  = 51.97e-3 * 66 * 8 / 1e6
	g3Tail      = 0.70*5 + 0.35*12 // DCH then FACH tail
	g3Promo     = 0.53 * 2.0
	g3FachPromo = 0.55 * 1.5
)

func physUp(t float64, n int) Packet   { return Packet{T: t, Up: true, Payload: n, Wire: n} }
func physDown(t float64, n int) Packet { return Packet{T: t, Payload: n, Wire: n} }

// physKeepalive is one MQTT physKeepalive: 66 bytes each way, 100 ms apart.
var physKeepalive = []Packet{physUp(0, 66), physDown(0.1, 66)}

func TestPhysicalHandComputed(t *testing.T) {
	ms := physModels(t)
	cases := []struct {
		radio, name               string
		pkts                      []Packet
		promo, active, tail, idle float64
		bursts, promotions        int
	}{
		// One tiny packet from idle: promotion + (no) active + full tail.
		{"3g", "one packet", []Packet{physUp(0, 66)}, g3Promo, 0, g3Tail, 0, 1, 1},
		{"lte", "one packet", []Packet{physUp(0, 66)}, 1.21 * 0.26, lteUp66J, lteTailJ, 0, 1, 1},
		{"wifi", "one packet", []Packet{physUp(0, 66)}, 0, 0, 0.403 * 0.25, 0, 1, 0},
		// A physKeepalive: on 3G and LTE the reply comes within the promotion
		// and waits for it; WiFi has none, so 100 ms active.
		{"3g", "keepalive", physKeepalive, g3Promo, 0, g3Tail, 0, 1, 1},
		{"lte", "keepalive", physKeepalive, 1.21 * 0.26, lteUp66J + lteDown66J, lteTailJ, 0, 1, 1},
		{"wifi", "keepalive", physKeepalive, 0, 0.403 * 0.1, 0.403 * 0.25, 0, 1, 0},
		{"wifi", "keepalive reversed", []Packet{physKeepalive[1], physKeepalive[0]}, 0, 0.403 * 0.1, 0.403 * 0.25, 0, 1, 0},
		// Two bursts closer than the tail: the first tail is cut, no second promotion.
		// 3G: DCH tail 2..4 s, then the second burst's full tail.
		{"3g", "second burst in DCH tail", []Packet{physUp(0, 66), physUp(4, 66)}, g3Promo, 0, 0.70*2 + g3Tail, 0, 2, 1},
		// LTE: CR 0.1 s, short DRX 0.02 s, long DRX 0.38..5 s, then a full tail.
		{"lte", "second burst in long DRX", []Packet{physUp(0, 66), physUp(5, 66)}, 1.21 * 0.26, 2 * lteUp66J,
			1.2*0.1 + lteShortDRX*0.02 + lteLongDRX*(5-0.38) + lteTailJ, 0, 2, 1},
		// WiFi: 0.25 s tail, standby 0.25..1 s, then a second tail.
		{"wifi", "second burst after tail", []Packet{physUp(0, 66), physUp(1, 66)}, 0, 0, 2 * 0.403 * 0.25, 0.02 * 0.75, 2, 0},
		// 3G, a second transfer at 10 s finds the radio in FACH (7..19 s).
		// Within the RLC thresholds it is served on FACH: FACH 7..10, then
		// a fresh 12 s FACH tail; above them, FACH->DCH and a full tail.
		{"3g", "FACH: 543 B up stays", []Packet{physUp(0, 66), physUp(10, 543)}, g3Promo, 0, 0.70*5 + 0.35*3 + 0.35*12, 0, 2, 1},
		{"3g", "FACH: 544 B up promotes", []Packet{physUp(0, 66), physUp(10, 544)}, g3Promo + g3FachPromo, 0, 0.70*5 + 0.35*3 + g3Tail, 0, 2, 2},
		{"3g", "FACH: 475 B down stays", []Packet{physUp(0, 66), physDown(10, 475)}, g3Promo, 0, 0.70*5 + 0.35*3 + 0.35*12, 0, 2, 1},
		{"3g", "FACH: 476 B down promotes", []Packet{physUp(0, 66), physDown(10, 476)}, g3Promo + g3FachPromo, 0, 0.70*5 + 0.35*3 + g3Tail, 0, 2, 2},
		// The buffer adds up packets closer than its drain time (20 + 1.6 q
		// + 0.0014 q^2 ms: 626 ms at 300 B), and empties between further ones.
		{"3g", "FACH: 2x300 B within drain promotes", []Packet{physUp(0, 66), physUp(10, 300), physUp(10.1, 300)},
			g3Promo + g3FachPromo, 0, 0.70*5 + 0.35*3 + g3Tail, 0, 2, 2},
		{"3g", "FACH: 2x300 B drained stays", []Packet{physUp(0, 66), physUp(10, 300), physUp(11, 300)},
			g3Promo, 0.35 * 1, 0.70*5 + 0.35*3 + 0.35*12, 0, 2, 1},
		// After the full tail (19 s) the radio idles at 0 W and promotes again.
		{"3g", "second burst after tail", []Packet{physUp(0, 66), physUp(30, 66)}, 2 * g3Promo, 0, 2 * g3Tail, 0, 2, 2},
	}
	for _, tc := range cases {
		t.Run(tc.radio+"/"+tc.name, func(t *testing.T) {
			b := ms[tc.radio].Energy(tc.pkts)
			got := []float64{b.Promotion, b.Active, b.Tail, b.Idle}
			want := []float64{tc.promo, tc.active, tc.tail, tc.idle}
			for i, k := range []string{"promotion", "active", "tail", "idle"} {
				if math.Abs(got[i]-want[i]) > 1e-9 {
					t.Errorf("%s %.9f J, want %.9f", k, got[i], want[i])
				}
			}
			if b.Bursts != tc.bursts || b.Promotions != tc.promotions {
				t.Errorf("%d bursts, %d promotions; want %d, %d", b.Bursts, b.Promotions, tc.bursts, tc.promotions)
			}
			checkTimeline(t, b)
		})
	}
}

// checkTimeline: segments are contiguous from Start to End and sum to the total.
func checkTimeline(t *testing.T, b Breakdown) {
	t.Helper()
	at, sum := b.Start, 0.0
	for _, s := range b.Timeline {
		if math.Abs(s.Start-at) > 1e-9 || s.End < s.Start {
			t.Fatalf("timeline gap or overlap at %g: %+v", at, b.Timeline)
		}
		at, sum = s.End, sum+s.Joules
	}
	if math.Abs(at-b.End) > 1e-9 || math.Abs(sum-b.Total()) > 1e-9 {
		t.Errorf("timeline ends %g (End %g), sums %g J (Total %g)", at, b.End, sum, b.Total())
	}
}

func TestPhysicalTimelineStates(t *testing.T) {
	ms := physModels(t)
	b := ms["3g"].Energy(physKeepalive)
	var states []string
	for _, s := range b.Timeline {
		states = append(states, s.State)
	}
	if want := []string{"PROMO_IDLE_DCH", "DCH_TAIL", "FACH"}; !slices.Equal(states, want) {
		t.Errorf("states %v, want %v", states, want)
	}
	if b.Start != 0 || b.End != 19 {
		t.Errorf("span %g..%g s, want 0..19", b.Start, b.End)
	}
}

// LTE's transfer term: energy rises with the bytes moved, by alpha per Mbit.
func TestPhysicalLTEBytes(t *testing.T) {
	m := physModels(t)["lte"]
	burst := func(size int, isUp bool) []Packet {
		var ps []Packet
		for i := range 21 { // 0..1 s, 50 ms apart: one burst
			ps = append(ps, Packet{T: float64(i) * 0.05, Up: isUp, Wire: size})
		}
		return ps
	}
	prev := 0.0
	for _, size := range []int{100, 1000, 10000} {
		b := m.Energy(burst(size, true))
		if b.Bursts != 1 {
			t.Fatalf("%d bursts, want 1", b.Bursts)
		}
		// beta over 0.26..1 s (the promotion holds the first packets) plus alpha_up * Mbit.
		want := 1.2*(1-0.26) + 438.39e-3*float64(21*size*8)/1e6
		if math.Abs(b.Active-want) > 1e-9 {
			t.Errorf("%d B/packet: active %.6f J, want %.6f", size, b.Active, want)
		}
		if b.Active <= prev {
			t.Errorf("%d B/packet: active %.6f J did not rise", size, b.Active)
		}
		prev = b.Active
		if d := m.Energy(burst(size, false)); d.Active >= b.Active {
			t.Errorf("%d B/packet: downlink %.6f J not below uplink %.6f", size, d.Active, b.Active)
		}
	}
	// Gaps above the inactivity timer split bursts.
	if b := m.Energy([]Packet{physUp(0, 66), physUp(0.2, 66)}); b.Bursts != 2 {
		t.Errorf("0.2 s apart: %d bursts, want 2", b.Bursts)
	}
}

func TestPhysicalEmpty(t *testing.T) {
	for r, m := range physModels(t) {
		if b := m.Energy(nil); b.Total() != 0 || len(b.Timeline) != 0 || b.End != 0 {
			t.Errorf("%s: no packets cost %g J over %g..%g s", r, b.Total(), b.Start, b.End)
		}
		if b, err := m.Periodic(nil, 60, 60); err != nil || b.Total() != 0 {
			t.Errorf("%s: periodic nothing: %g J, %v", r, b.Total(), err)
		}
		if _, err := m.Periodic(physKeepalive, 0, 1); err == nil {
			t.Errorf("%s: period 0 accepted", r)
		}
		if _, err := m.Periodic(physKeepalive, 0.1, 2); err == nil {
			t.Errorf("%s: event as long as the period accepted", r)
		}
	}
}

// Periodic equals Energy over the built-out sequence, also when the
// period is shorter than the tail.
func TestPhysicalPeriodicMatchesEnergy(t *testing.T) {
	ms := physModels(t)
	for r, m := range ms {
		for _, period := range []float64{0.2, 3, 10, 30, 60} {
			const n = 40
			var all []Packet
			for k := range n {
				for _, p := range physKeepalive {
					p.T += float64(k) * period
					all = append(all, p)
				}
			}
			want := m.Energy(all)
			got, err := m.Periodic(physKeepalive, period, n)
			if err != nil {
				t.Fatal(err)
			}
			g := []float64{got.Promotion, got.Active, got.Tail, got.Idle, got.End}
			w := []float64{want.Promotion, want.Active, want.Tail, want.Idle, want.End}
			for i := range g {
				if math.Abs(g[i]-w[i]) > 1e-9*max(1, math.Abs(w[i])) {
					t.Errorf("%s every %g s: periodic %v, built out %v", r, period, g, w)
					break
				}
			}
			if got.Bursts != want.Bursts || got.Promotions != want.Promotions {
				t.Errorf("%s every %g s: %d/%d bursts, %d/%d promotions", r, period, got.Bursts, want.Bursts, got.Promotions, want.Promotions)
			}
			if len(got.Timeline) == 0 || got.Timeline[len(got.Timeline)-1].Start >= 3*period {
				t.Errorf("%s every %g s: timeline not cut at three periods", r, period)
			}
		}
	}
}

// Gaps shorter than the tail share it: on 3G a physKeepalive every 10 s is
// served on FACH after the first, each one adding 10 s of FACH (3.5 J),
// against 8.76 J for one from idle.
func TestPhysicalShortPeriod3G(t *testing.T) {
	m := physModels(t)["3g"]
	a, _ := m.Periodic(physKeepalive, 10, 10)
	b, _ := m.Periodic(physKeepalive, 10, 11)
	if d := b.Total() - a.Total(); math.Abs(d-0.35*10) > 1e-9 {
		t.Errorf("one more physKeepalive at 10 s costs %.4f J, want 3.5", d)
	}
	if b.Promotions != 1 {
		t.Errorf("%d promotions, want 1", b.Promotions)
	}
}

// Keepalives every T once T exceeds promotion + tail: each costs what one
// from idle costs, so energy per hour (per keepalive x 3600/T) is ∝ 1/T.
func TestPhysicalKeepaliveShape(t *testing.T) {
	const battery = 18648.0 // J, Nicholas 2012's HTC Desire
	ms := physModels(t)
	for _, r := range []string{"3g", "lte", "wifi"} {
		m := ms[r]
		one := m.Energy(physKeepalive).Traffic()
		var k0 float64
		for i, T := range []int{60, 120, 240, 480} {
			if float64(T) <= m.Promotion.S+m.TailSeconds() {
				t.Fatalf("%s: %d s is inside the tail", r, T)
			}
			const n = 8
			b, err := m.Periodic(physKeepalive, float64(T), n)
			if err != nil {
				t.Fatal(err)
			}
			if math.Abs(b.Traffic()-n*one) > 1e-9*b.Traffic() {
				t.Errorf("%s every %d s: %.6f J for %d, want %d x %.6f", r, T, b.Traffic(), n, n, one)
			}
			perHour := b.Traffic() / n * 3600 / float64(T)
			withIdle := (b.Traffic()/n + b.Idle/(n-1)) * 3600 / float64(T) // n-1 idle gaps
			k := perHour * float64(T)                                      // constant if ∝ 1/T
			if i == 0 {
				k0 = k
			} else if math.Abs(k-k0) > 1e-9*k0 {
				t.Errorf("%s every %d s: J/h x T = %.6f, at 60 s %.6f", r, T, k, k0)
			}
			if (b.Idle > 0) != (m.Idle.Watts() > 0) {
				t.Errorf("%s: idle %.4f J at %.4f W", r, b.Idle, m.Idle.Watts())
			}
			t.Logf("%s keepalive every %3d s: %.4f J/h = %.5f %%/h (%.5f %%/h with the idle between)",
				r, T, perHour, perHour/battery*100, withIdle/battery*100)
		}
	}
}
