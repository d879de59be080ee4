package energy

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	fix "github.com/wirecheck/wirecheck/fixtures/energy"
)

// Cell is one line of energy.json.
type Cell struct {
	Table      string  `json:"table"` // connect or maintain
	Radio      string  `json:"radio"` // 3g or wifi
	Protocol   string  `json:"protocol"`
	KeepaliveS *int    `json:"keepalive_s,omitempty"`
	Model      string  `json:"model"`
	Value      float64 `json:"value"` // % battery (connect) or %/hour (maintain)
	Published  float64 `json:"published"`
	Ratio      float64 `json:"ratio"`
	EventJ     float64 `json:"event_joules"`
	Link       string  `json:"link"`
	TLS        string  `json:"tls"`
}

// Key is a cell's identity in the published table.
func key(table, radio, proto string, ka int) string {
	return fmt.Sprintf("%s/%s/%s/%d", table, radio, proto, ka)
}

// Published reads published.csv: key → value.
func Published() (map[string]float64, error) {
	f, err := fix.Files.Open("published.csv")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for _, r := range recs[1:] {
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

// Table computes the connect and maintain cells from captured events.
func (c *Constants) Table(ev *Events) ([]Cell, error) {
	pub, err := Published()
	if err != nil {
		return nil, err
	}
	var cells []Cell
	add := func(table, radio, proto string, ka int, evJ, value float64) {
		p := pub[key(table, radio, proto, ka)]
		cell := Cell{Table: table, Radio: radio, Protocol: proto, Model: "powertutor", Value: value,
			Published: p, EventJ: evJ, Link: c.Links[radio].String(), TLS: ev.TLS}
		if ka > 0 {
			k := ka
			cell.KeepaliveS = &k
		}
		if p > 0 {
			cell.Ratio = value / p
		}
		cells = append(cells, cell)
	}
	for _, radio := range []string{Radio3G, RadioWiFi} {
		for _, proto := range []string{"https", "mqtt"} {
			pk := ev.MQTTConnect
			if proto == "https" {
				pk = ev.HTTPSConnect
			}
			j, _ := c.EventEnergy(radio, pk)
			add("connect", radio, proto, 0, j, c.Percent(j))
		}
	}
	for _, ka := range Keepalives {
		for _, radio := range []string{Radio3G, RadioWiFi} {
			for _, proto := range []string{"https", "mqtt"} {
				pk := ev.MQTTPing
				if proto == "https" {
					pk = ev.HTTPSReconnect
				}
				j, _ := c.EventEnergy(radio, pk)
				add("maintain", radio, proto, ka, j, c.Percent(j*3600/float64(ka)))
			}
		}
	}
	return cells, nil
}

// Derived are the slides' two derived figures.
type Derived struct {
	SavedPerDay, SavedPerDayPublished float64 // % per day, 3G, 240 s
	BreakEvenS, BreakEvenSPublished   float64
}

func find(cells []Cell, table, radio, proto string, ka int) Cell {
	for _, c := range cells {
		k := 0
		if c.KeepaliveS != nil {
			k = *c.KeepaliveS
		}
		if c.Table == table && c.Radio == radio && c.Protocol == proto && k == ka {
			return c
		}
	}
	return Cell{}
}

// Derive computes the per-day saving and break-even interval (3G, 240 s).
func Derive(cells []Cell) Derived {
	f := func(v func(Cell) float64) (float64, float64) {
		hm := v(find(cells, "maintain", Radio3G, "https", 240)) - v(find(cells, "maintain", Radio3G, "mqtt", 240))
		cd := v(find(cells, "connect", Radio3G, "mqtt", 0)) - v(find(cells, "connect", Radio3G, "https", 0))
		return hm * 24, cd / (hm / 3600)
	}
	var d Derived
	d.SavedPerDay, d.BreakEvenS = f(func(c Cell) float64 { return c.Value })
	d.SavedPerDayPublished, d.BreakEvenSPublished = f(func(c Cell) float64 { return c.Published })
	return d
}

// WriteAll writes energy.json, energy.csv, energy.md and the plots into dir.
func (c *Constants) WriteAll(dir string, cells []Cell, ev *Events) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	files := []string{"energy.json", "energy.csv", "energy.md", "energy_maintain.png", "energy_maintain.svg"}
	b, _ := json.MarshalIndent(cells, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, files[0]), append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	w.Write([]string{"table", "radio", "protocol", "keepalive_s", "model", "value", "published", "ratio", "event_joules", "tls", "link"})
	for _, x := range cells {
		ka := ""
		if x.KeepaliveS != nil {
			ka = strconv.Itoa(*x.KeepaliveS)
		}
		w.Write([]string{x.Table, x.Radio, x.Protocol, ka, x.Model, g(x.Value), g(x.Published), g(x.Ratio), g(x.EventJ), x.TLS, x.Link})
	}
	w.Flush()
	if err := os.WriteFile(filepath.Join(dir, files[1]), []byte(sb.String()), 0o644); err != nil {
		return nil, err
	}
	sb.Reset()
	c.WriteMarkdown(&sb, cells, ev)
	if err := os.WriteFile(filepath.Join(dir, files[2]), []byte(sb.String()), 0o644); err != nil {
		return nil, err
	}
	if err := PlotMaintain(cells, filepath.Join(dir, "energy_maintain")); err != nil {
		return nil, err
	}
	return files, nil
}

func g(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }

// WriteMarkdown writes the tables with published values and ratios, the
// derived figures and the model's explanation.
func (c *Constants) WriteMarkdown(w io.Writer, cells []Cell, ev *Events) {
	fmt.Fprintf(w, "# Energy: MQTT vs HTTPS, PowerTutor model\n\n")
	fmt.Fprintf(w, "Re-timed with link model 3G = %s; WiFi = %s. TLS %s (the study used SSL with RSA; TLS 1.2 is the closest).\n\n",
		c.Links[Radio3G], c.Links[RadioWiFi], ev.TLS)
	fmt.Fprintf(w, "## Connect (%% battery per connect)\n\n| radio | protocol | model | published | ratio |\n|---|---|---|---|---|\n")
	for _, x := range cells {
		if x.Table == "connect" {
			fmt.Fprintf(w, "| %s | %s | %.5f | %.5f | %.2f |\n", x.Radio, x.Protocol, x.Value, x.Published, x.Ratio)
		}
	}
	fmt.Fprintf(w, "\n## Maintain (%% battery per hour)\n\n| keepalive s | radio | protocol | model | published | ratio |\n|---|---|---|---|---|---|\n")
	for _, x := range cells {
		if x.Table == "maintain" {
			fmt.Fprintf(w, "| %d | %s | %s | %.5f | %.5f | %.2f |\n", *x.KeepaliveS, x.Radio, x.Protocol, x.Value, x.Published, x.Ratio)
		}
	}
	d := Derive(cells)
	fmt.Fprintf(w, "\n## Derived (3G, keepalive 240 s)\n\n")
	fmt.Fprintf(w, "- %% battery per day saved by MQTT: model %.2f %%, published %.2f %%\n", d.SavedPerDay, d.SavedPerDayPublished)
	fmt.Fprintf(w, "- break-even connection lifetime for MQTT's dearer connect: model %.0f s (%.1f min), published %.0f s (%.1f min)\n",
		d.BreakEvenS, d.BreakEvenS/60, d.BreakEvenSPublished, d.BreakEvenSPublished/60)
	fmt.Fprintf(w, "\n## Events (captured on loopback, TLS %s)\n\n| event | packets | payload bytes up | payload bytes down |\n|---|---|---|---|\n", ev.TLS)
	for _, e := range []struct {
		n string
		p []Packet
	}{{"MQTT connect", ev.MQTTConnect}, {"MQTT keepalive", ev.MQTTPing}, {"HTTPS connect", ev.HTTPSConnect}, {"HTTPS reconnect", ev.HTTPSReconnect}} {
		up, down := 0, 0
		for _, p := range e.p {
			if p.Up {
				up += p.Payload
			} else {
				down += p.Payload
			}
		}
		fmt.Fprintf(w, "| %s | %d | %d | %d |\n", e.n, len(e.p), up, down)
	}
	fmt.Fprintf(w, `
## Model

PowerTutor (msg555/PowerTutor, Threeg.java and Wifi.java; constants of
PassionConstants.java, which the study's HTC Desire used): 1-second ticks of
the app's TCP payload bytes. 3G: IDLE to FACH (%.2f mW) on any bytes, FACH to
DCH (%.2f mW) on bytes in a later tick, DCH to FACH after %d idle ticks, FACH to
IDLE after %d idle ticks; an idle app is charged nothing. WiFi: a tick with
bytes costs %.2f mW (fewer than %g packets) or %.2f mW (more than %g), without
the link-rate term; idle ticks cost nothing. Battery %g mAh x %g V = %g J.
Maintain %%/hour = event energy x 3600 / keepalive / battery.

Link timing: loopback exchanges take microseconds; each captured event is
re-timed with the radio's link model: packets keep their capture order, each
change of direction costs half a round trip and each packet its size over the
bandwidth of its direction. Figures are means over %d start phases within the
1-second tick. Sources: %s; %s.

Limits: the link figures are round typical values, not the study's measured
link; radio promotion delays (IDLE to DCH takes about 2 s on UMTS), TCP slow
start, loss and the study's mutual-certificate authentication and 1024-bit
RSA key exchange are not modelled; PowerTutor is itself a model, not a power
meter, so the published cells are what this model should reproduce, not
physical truth.
`, c.ThreeG.FachMW, c.ThreeG.DchMW, c.ThreeG.DchFachDelay, c.ThreeG.FachIdleDelay,
		c.WiFi.LowMW, c.WiFi.LowThreshold, c.WiFi.HighMW, c.WiFi.HighThreshold,
		c.Battery.MAh, c.Battery.Volts, c.Battery.Joules, c.Phases, c.Sources["link_3g"], c.Sources["link_wifi"])
}

// PlotMaintain plots model vs published %/hour per keepalive, log scale,
// one line per protocol and radio; writes base.png and base.svg.
func PlotMaintain(cells []Cell, base string) error {
	p := plot.New()
	p.Title.Text = "Maintain: % battery per hour (solid: PowerTutor model, dashed: published)"
	p.X.Label.Text = "keepalive interval (s)"
	p.Y.Label.Text = "% battery per hour"
	p.Y.Scale = plot.LogScale{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	i := 0
	for _, radio := range []string{Radio3G, RadioWiFi} {
		for _, proto := range []string{"https", "mqtt"} {
			var model, pub plotter.XYs
			for _, ka := range Keepalives {
				x := find(cells, "maintain", radio, proto, ka)
				if x.Value > 0 {
					model = append(model, plotter.XY{X: float64(ka), Y: x.Value})
				}
				if x.Published > 0 {
					pub = append(pub, plotter.XY{X: float64(ka), Y: x.Published})
				}
			}
			lm, err := plotter.NewLine(model)
			if err != nil {
				return err
			}
			lp, err := plotter.NewLine(pub)
			if err != nil {
				return err
			}
			lm.Color = plotutil.Color(i)
			lp.Color = plotutil.Color(i)
			lp.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(lm, lp)
			p.Legend.Add(strings.ToUpper(radio)+" "+strings.ToUpper(proto), lm)
			i++
		}
	}
	p.Legend.Top = true
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(8*vg.Inch, 5*vg.Inch, base+ext); err != nil {
			return err
		}
	}
	return nil
}

// Round5 rounds to five decimals (for reports).
func Round5(x float64) float64 { return math.Round(x*1e5) / 1e5 }
