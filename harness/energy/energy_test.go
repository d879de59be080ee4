package energy

import (
	"math"
	"os"
	"path/filepath"
	"testing"
)

func constants(t *testing.T) *Constants {
	t.Helper()
	c, err := Default()
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestThreeGEvents(t *testing.T) {
	c := constants(t)
	cases := []struct {
		name  string
		ticks []Tick
		want  []float64
		joule float64
	}{
		{"keepalive", []Tick{{Up: 31, Down: 31, Packets: 3}}, []float64{405.81, 405.81, 405.81, 405.81, 405.81, 405.81, 0}, 2.435},
		{"reconnect", []Tick{{Up: 300, Packets: 5}, {Up: 400, Down: 2000, Packets: 8}},
			[]float64{405.81, 902.03, 902.03, 902.03, 902.03, 405.81, 405.81, 405.81, 405.81, 405.81, 405.81, 0}, 6.4432},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := c.ThreeGTrace(tc.ticks)
			if len(got) != len(tc.want) {
				t.Fatalf("trace %v, want %v", got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Fatalf("trace %v, want %v", got, tc.want)
				}
			}
			if j := Joules(got); math.Abs(j-tc.joule)/tc.joule > 0.01 {
				t.Errorf("energy %.4f J, want %.4f", j, tc.joule)
			}
		})
	}
}

func TestWiFiLevels(t *testing.T) {
	c := constants(t)
	got := c.WiFiTrace([]Tick{{Up: 10, Packets: 2}, {}, {Up: 5000, Down: 9000, Packets: 20}, {Up: 100, Packets: 10}, {Down: 10, Packets: 3}})
	want := []float64{34.37, 0, 404.46, 404.46, 34.37}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("got %v, want %v", got, want)
		}
	}
}

func TestRetime(t *testing.T) {
	l := Link{RTT: 0.4, UpBps: 8000, DownBps: 8000}
	got := Retime([]Packet{{Up: true, Wire: 100}, {Up: false, Wire: 100}, {Up: false, Wire: 100}, {Up: true, Wire: 0, Payload: 0}}, l)
	want := []float64{0.1, 0.4, 0.5, 0.7}
	for i := range want {
		if math.Abs(got[i].T-want[i]) > 1e-9 {
			t.Fatalf("times %v, want %v", got, want)
		}
	}
}

// The published traces sum to the published cells.
func TestTracesSumToTable(t *testing.T) {
	c := constants(t)
	tr, err := Traces("power-traces-2012-mqtt-vs-https.csv")
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		series string
		want   float64 // % battery
	}{
		{"3G_Sporadic/MQTT", 0.27239},
		{"W_Sporadic/MQTT", 0.00411},
		{"3G_Sporadic/HTTPS", 0.34645 + 0.02972},
	}
	for _, tc := range cases {
		s, ok := tr[tc.series]
		if !ok {
			t.Fatalf("no series %s", tc.series)
		}
		got := c.Percent(Joules(s))
		if math.Abs(got-tc.want)/tc.want > 0.01 {
			t.Errorf("%s sums to %.5f %%, want %.5f within 1 %%", tc.series, got, tc.want)
		}
	}
}

// The traces hold only PowerTutor's levels, 0 and the values of ticks where
// several apps' or components' readings mix (transitions, screen, CPU).
func TestTraceLevels(t *testing.T) {
	c := constants(t)
	tr, err := Traces("power-traces-2012-mqtt-vs-https.csv")
	if err != nil {
		t.Fatal(err)
	}
	levels := map[string][]float64{
		"3G_Sporadic/MQTT": {0, c.ThreeG.FachMW, c.ThreeG.DchMW},
		"W_Sporadic/MQTT":  {0, c.WiFi.LowMW, c.WiFi.HighMW},
	}
	for series, lv := range levels {
		on, off := 0, 0
		for _, v := range tr[series] {
			hit := false
			for _, l := range lv {
				if math.Abs(v-l) <= 3 {
					hit = true
				}
			}
			if hit {
				on++
			} else {
				off++
			}
		}
		if frac := float64(off) / float64(on+off); frac > 0.01 {
			t.Errorf("%s: %d of %d seconds off PowerTutor's levels %v", series, off, on+off, lv)
		}
	}
}

// Validation: the model fed a keepalive and a reconnect re-timed on the 3G
// link lands on the trace's levels.
func TestEventsOn3GLink(t *testing.T) {
	c := constants(t)
	ping := []Packet{{Up: true, Payload: 31, Wire: 83}, {Payload: 31, Wire: 83}, {Up: true, Wire: 52}}
	_, tr := c.EventEnergy(Radio3G, ping)
	if Joules(tr) < 2.4 || Joules(tr) > 2.5 {
		t.Errorf("keepalive trace %v: %.3f J, want about 2.435", tr, Joules(tr))
	}
	// A TLS 1.2 handshake + GET: 8 direction changes, at 0.4 s RTT it spans
	// at least two ticks, so the radio reaches DCH.
	var hs []Packet
	for i := range 8 {
		hs = append(hs, Packet{Up: i%2 == 0, Payload: 200, Wire: 252})
	}
	_, tr = c.EventEnergy(Radio3G, hs)
	sawDCH := false
	for _, v := range tr {
		if v == c.ThreeG.DchMW {
			sawDCH = true
		}
	}
	if !sawDCH {
		t.Errorf("handshake trace %v never reaches DCH", tr)
	}
}

func TestCaptureTable(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("capture on lo needs root")
	}
	c := constants(t)
	ev, err := CaptureEvents()
	if err != nil {
		t.Fatal(err)
	}
	cells, err := c.Table(ev)
	if err != nil {
		t.Fatal(err)
	}
	if len(cells) != 4+16 {
		t.Fatalf("%d cells", len(cells))
	}
	for _, x := range cells {
		if x.Value <= 0 || x.Published <= 0 {
			t.Errorf("cell %+v", x)
		}
	}
	files, err := c.WriteAll(t.TempDir(), cells, ev)
	if err != nil || len(files) != 5 {
		t.Fatal(files, err)
	}
	_ = filepath.Join
}
