package energy

// Physical radio models in continuous time (fixtures/energy/physical.json):
// 3G after AT&T ARO's defaults, LTE after ARO's lte.conf (Huang et al. 2012),
// WiFi PSM after ARO's WiFi.conf. Unlike the PowerTutor model they charge
// what the radio draws, tails included, so their absolute values are
// several times the published tables; compare shapes (ENERGY.md).
//
// Packets are grouped into bursts (gaps up to the model's burst gap). Each
// burst finds the radio idle, in a tail phase, or still busy:
//   - idle: the model's promotion starts at the burst's first packet;
//     packets inside it wait for its end (ARO's rule for a send from the
//     phone, and what Retime's link promotion produces);
//   - in a tail phase: that phase's promotion if it has one (3G FACH->DCH),
//     else straight to active; a phase with an RLC buffer (3G FACH) serves
//     the burst itself when neither direction's buffer overflows;
//   - busy (the burst arrives before the last one's active period ended):
//     it waits and joins the active radio.
//
// The radio is active from the promotion's end to the burst's last packet,
// then runs its tail phases in order, cut short by the next burst, then
// idles. Energy = promotion + active + tail + idle, each over its time;
// LTE adds its transfer term (alpha * megabits) to the active part.

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"

	fix "github.com/wirecheck/wirecheck/fixtures/energy"
)

// PhysicalModel is one radio's continuous-time model, as physical.json
// gives it; Radio is its key there ("3g", "lte", "wifi").
type PhysicalModel struct {
	Radio     string          `json:"-"`
	Name      string          `json:"name"`
	Sources   string          `json:"sources"`
	Checked   []string        `json:"checked_in_source"`
	Unchecked []string        `json:"from_energy_md_only"`
	BurstGap  float64         `json:"burst_gap_s"`
	Promotion RadioPromotion  `json:"promotion"` // from idle
	Active    ActiveLevel     `json:"active"`
	Tail      []TailPhase     `json:"tail"` // in order after the last packet
	Idle      RadioPowerLevel `json:"idle"`
}

// RadioPromotion is a promotion's duration and mean power.
type RadioPromotion struct {
	State string  `json:"state"`
	S     float64 `json:"s"`
	W     float64 `json:"w"`
}

// ActiveLevel is the power while packets flow: W, plus for LTE a transfer
// term in mW per Mbit/s of throughput in each direction.
type ActiveLevel struct {
	State         string  `json:"state"`
	W             float64 `json:"w"`
	UpMWPerMbps   float64 `json:"up_mw_per_mbps"`
	DownMWPerMbps float64 `json:"down_mw_per_mbps"`
}

// transferJ is the throughput term summed over a period: mW/Mbps times
// Mbit/s times seconds is mJ per Mbit moved, whatever the windows.
func (a ActiveLevel) transferJ(upBytes, downBytes int) float64 {
	return (a.UpMWPerMbps*float64(upBytes) + a.DownMWPerMbps*float64(downBytes)) * 8 / 1e6 / 1000
}

// RadioPowerLevel is a state's power: W, or the mean of a DRX cycle.
type RadioPowerLevel struct {
	State string    `json:"state"`
	W     float64   `json:"w"`
	DRX   *DRXCycle `json:"drx,omitempty"`
}

// DRXCycle is a wake-up of On seconds at OnW every Period, OffW between.
type DRXCycle struct {
	Period float64 `json:"period_s"`
	On     float64 `json:"on_s"`
	OnW    float64 `json:"on_w"`
	OffW   float64 `json:"off_w"`
}

// Watts is the state's mean power; a DRX cycle is averaged (the cycles
// are tens of ms to 1.28 s, short against the tails and gaps modelled).
func (l RadioPowerLevel) Watts() float64 {
	if d := l.DRX; d != nil {
		return (d.On*d.OnW + (d.Period-d.On)*d.OffW) / d.Period
	}
	return l.W
}

// TailPhase is one state of the tail, S seconds long.
type TailPhase struct {
	RadioPowerLevel
	S         float64         `json:"s"`
	Promotion *RadioPromotion `json:"promotion,omitempty"` // to active, for a burst arriving in this phase
	RLC       *RLCBuffer      `json:"rlc,omitempty"`       // bursts that fit are served in this phase
}

// RLCBuffer is 3G's rule for serving small transfers on FACH (ARO's
// FachQueue): each direction's buffer empties when the gap since that
// direction's last packet exceeds its drain time c0 + c1*q + c2*q^2 ms.
type RLCBuffer struct {
	UpBytes     int        `json:"up_bytes"`
	DownBytes   int        `json:"down_bytes"`
	UpDrainMS   [3]float64 `json:"up_drain_ms"`
	DownDrainMS [3]float64 `json:"down_drain_ms"`
}

// Fits reports whether neither buffer ever holds more than its threshold
// over the burst, so no promotion is needed. The buffers start empty: a
// burst follows a gap longer than 3G's burst gap (1.5 s), longer than
// the drain time of a full buffer (1.3 s up).
func (r *RLCBuffer) Fits(burst []Packet) bool {
	var q [2]float64
	last := [2]float64{math.Inf(-1), math.Inf(-1)}
	for _, p := range burst {
		d, th, c := 1, r.DownBytes, r.DownDrainMS
		if p.Up {
			d, th, c = 0, r.UpBytes, r.UpDrainMS
		}
		if p.T-last[d] > (c[0]+c[1]*q[d]+c[2]*q[d]*q[d])/1000 {
			q[d] = 0
		}
		q[d] += float64(wireBytes(p))
		last[d] = p.T
		if q[d] > float64(th) {
			return false
		}
	}
	return true
}

// wireBytes is a packet's size on the link (IP length, as ARO counts),
// the payload when the wire size is unknown (as Retime does).
func wireBytes(p Packet) int {
	if p.Wire > 0 {
		return p.Wire
	}
	return p.Payload
}

// TailSeconds is the full tail: how long the radio stays up after a burst.
func (m *PhysicalModel) TailSeconds() float64 {
	s := 0.0
	for _, ph := range m.Tail {
		s += ph.S
	}
	return s
}

func (m *PhysicalModel) String() string {
	var tail []string
	for _, ph := range m.Tail {
		tail = append(tail, fmt.Sprintf("%s %g s at %.4g W", ph.State, ph.S, ph.Watts()))
	}
	return fmt.Sprintf("%s: promotion %g s at %g W, active %g W, tail %s, %s %.4g W",
		m.Name, m.Promotion.S, m.Promotion.W, m.Active.W, strings.Join(tail, " + "), m.Idle.State, m.Idle.Watts())
}

// LoadPhysical loads the embedded physical.json, keyed by radio.
func LoadPhysical() (map[string]*PhysicalModel, error) {
	b, err := fix.Files.ReadFile("physical.json")
	if err != nil {
		return nil, err
	}
	return ParsePhysical(b)
}

// ParsePhysical reads physical.json's format and checks every model.
func ParsePhysical(b []byte) (map[string]*PhysicalModel, error) {
	var f struct {
		Models map[string]*PhysicalModel `json:"models"`
	}
	if err := json.Unmarshal(b, &f); err != nil {
		return nil, fmt.Errorf("physical.json: %w", err)
	}
	if len(f.Models) == 0 {
		return nil, errors.New("physical.json: no models")
	}
	for k, m := range f.Models {
		m.Radio = k
		if err := m.check(); err != nil {
			return nil, fmt.Errorf("physical.json: %s: %w", k, err)
		}
	}
	return f.Models, nil
}

func (m *PhysicalModel) check() error {
	lv := func(l RadioPowerLevel) error {
		if d := l.DRX; d != nil && (d.Period <= 0 || d.On < 0 || d.On > d.Period) {
			return fmt.Errorf("%s: bad DRX cycle", l.State)
		}
		return nil
	}
	switch {
	case m.BurstGap <= 0:
		return errors.New("burst_gap_s must be positive")
	case m.Promotion.S < 0 || m.Active.W < 0 || m.Idle.W < 0:
		return errors.New("negative time or power")
	case len(m.Tail) == 0:
		return errors.New("no tail phases")
	}
	if err := lv(m.Idle); err != nil {
		return err
	}
	for _, ph := range m.Tail {
		if ph.S <= 0 || ph.W < 0 {
			return fmt.Errorf("tail %s: duration must be positive", ph.State)
		}
		if err := lv(ph.RadioPowerLevel); err != nil {
			return err
		}
		if r := ph.RLC; r != nil && (r.UpBytes <= 0 || r.DownBytes <= 0) {
			return fmt.Errorf("tail %s: RLC thresholds must be positive", ph.State)
		}
	}
	return nil
}

// Segment kinds in a Breakdown's timeline.
const (
	kindPromotion = "promotion"
	kindActive    = "active"
	kindTail      = "tail"
	kindIdle      = "idle"
)

// RadioSegment is a stretch of the timeline in one state: Kind is
// "promotion", "active", "tail" or "idle"; Watts is the mean power over
// it (Joules over its length), for plots.
type RadioSegment struct {
	Start, End float64
	State      string
	Kind       string
	Watts      float64
	Joules     float64
}

// Breakdown is the energy of a packet sequence on one radio, in joules,
// over [Start, End]: from the first burst's first packet to the end of
// the last tail. Idle is what the radio draws between bursts (LTE paging,
// WiFi standby; 3G idles at 0 W); nothing is charged before the first
// burst or after the last tail, so no packets cost 0 J.
type Breakdown struct {
	Model      string
	Promotion  float64
	Active     float64
	Tail       float64
	Idle       float64
	Start, End float64
	Bursts     int
	Promotions int
	Timeline   []RadioSegment
}

// Traffic is the energy above idle states: promotion, active and tail.
func (b Breakdown) Traffic() float64 { return b.Promotion + b.Active + b.Tail }

// Total adds the idle energy between bursts.
func (b Breakdown) Total() float64 { return b.Traffic() + b.Idle }

// Energy runs the model over packets (any order; sorted by time here),
// returning the breakdown and the full state timeline.
func (m *PhysicalModel) Energy(pkts []Packet) Breakdown {
	ps := slices.Clone(pkts)
	slices.SortStableFunc(ps, func(a, b Packet) int { return cmp.Compare(a.T, b.T) })
	s := &physSim{m: m, keep: math.Inf(1)}
	for _, p := range ps {
		s.add(p)
	}
	return s.finish()
}

// Periodic is Energy over n copies of event, the k-th shifted by
// k*period, without building them all: time grows with n, memory does not.
// It is exact when the period is shorter than the tail too (each copy
// then finds the radio still up, and shares its tail). The last copy's
// tail is counted in full, so per hour is Traffic()/n * 3600/period for
// n large enough that the first copy's promotion from idle is diluted
// (or any n once the period exceeds promotion + tail). The timeline
// covers the first three periods. The event must be shorter than the
// period.
func (m *PhysicalModel) Periodic(event []Packet, period float64, n int) (Breakdown, error) {
	if period <= 0 || n < 0 {
		return Breakdown{}, fmt.Errorf("periodic: period %g s, %d events", period, n)
	}
	ev := slices.Clone(event)
	slices.SortStableFunc(ev, func(a, b Packet) int { return cmp.Compare(a.T, b.T) })
	if len(ev) == 0 || n == 0 {
		return Breakdown{Model: m.Radio}, nil
	}
	if span := ev[len(ev)-1].T - ev[0].T; span >= period {
		return Breakdown{}, fmt.Errorf("periodic: event lasts %g s, not shorter than the period %g s", span, period)
	}
	s := &physSim{m: m, keep: ev[0].T + 3*period}
	for k := range n {
		off := float64(k) * period
		for _, p := range ev {
			p.T += off
			s.add(p)
		}
	}
	return s.finish(), nil
}

// physSim is the state machine, fed packets in time order.
type physSim struct {
	m     *PhysicalModel
	b     Breakdown
	keep  float64 // timeline kept for segments starting before this
	up    bool    // a burst has been seen
	from  float64 // the tail runs from here,
	phase int     // starting with this phase
	cur   []Packet
}

func (s *physSim) add(p Packet) {
	if n := len(s.cur); n > 0 && p.T-s.cur[n-1].T > s.m.BurstGap {
		s.burst(s.cur)
		s.cur = s.cur[:0]
	}
	s.cur = append(s.cur, p)
}

func (s *physSim) finish() Breakdown {
	s.b.Model = s.m.Radio
	if len(s.cur) > 0 {
		s.burst(s.cur)
		s.cur = nil
	}
	if s.up {
		at := s.from
		for _, ph := range s.m.Tail[s.phase:] {
			s.emit(at, at+ph.S, ph.State, kindTail, ph.Watts(), 0)
			at += ph.S
		}
		s.b.End = at
	}
	return s.b
}

func (s *physSim) burst(pk []Packet) {
	m := s.m
	s.b.Bursts++
	start, last := pk[0].T, pk[len(pk)-1].T
	promo := &m.Promotion
	if !s.up {
		s.up = true
		s.b.Start = start
	} else {
		start = max(start, s.from) // a busy radio: wait for it
		at, k := s.from, s.phase
		for ; k < len(m.Tail) && start >= at+m.Tail[k].S; k++ {
			ph := m.Tail[k]
			s.emit(at, at+ph.S, ph.State, kindTail, ph.Watts(), 0)
			at += ph.S
		}
		if k == len(m.Tail) {
			s.emit(at, start, m.Idle.State, kindIdle, m.Idle.Watts(), 0)
		} else {
			ph := m.Tail[k]
			s.emit(at, start, ph.State, kindTail, ph.Watts(), 0)
			if ph.RLC != nil && ph.RLC.Fits(pk) {
				// Served in this state: no promotion, and its timer
				// restarts at the last packet.
				end := max(last, start)
				s.emit(start, end, ph.State, kindActive, ph.Watts(), 0)
				s.from, s.phase = end, k
				return
			}
			promo = ph.Promotion // nil: straight back to active
		}
	}
	a0 := start
	if promo != nil && promo.S > 0 {
		s.b.Promotions++
		s.emit(start, start+promo.S, promo.State, kindPromotion, promo.W, 0)
		a0 += promo.S
	}
	up, down := 0, 0
	for _, p := range pk {
		if p.Up {
			up += wireBytes(p)
		} else {
			down += wireBytes(p)
		}
	}
	a1 := max(a0, last) // packets sent during the promotion waited for it
	s.emit(a0, a1, m.Active.State, kindActive, m.Active.W, m.Active.transferJ(up, down))
	s.from, s.phase = a1, 0
}

// emit charges a segment to its kind and records it on the timeline.
func (s *physSim) emit(a, b float64, state, kind string, w, extraJ float64) {
	d := b - a
	if d <= 0 && extraJ == 0 {
		return
	}
	d = max(d, 0)
	j := w*d + extraJ
	switch kind {
	case kindPromotion:
		s.b.Promotion += j
	case kindActive:
		s.b.Active += j
	case kindTail:
		s.b.Tail += j
	default:
		s.b.Idle += j
	}
	if a < s.keep {
		mean := w
		if d > 0 {
			mean = j / d
		}
		s.b.Timeline = append(s.b.Timeline, RadioSegment{Start: a, End: a + d, State: state, Kind: kind, Watts: mean, Joules: j})
	}
}
