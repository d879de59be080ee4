package energy

import (
	"os"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"

	"github.com/wirecheck/wirecheck/harness/plots"
)

// PlotMaintain plots the PowerTutor model against the published %/hour
// per keepalive, log scale, one line per protocol and radio; writes
// base.png and base.svg.
func PlotMaintain(cells []Cell, base string) error {
	p := keepalivePlot("Maintain: % battery per hour (solid: PowerTutor model, dashed: published)")
	i := 0
	for _, radio := range Radios {
		for _, proto := range Protocols {
			var model, pub plotter.XYs
			for _, ka := range Keepalives {
				x := Find(cells, "powertutor", "maintain", radio, proto, ka)
				if x.Value > 0 {
					model = append(model, plotter.XY{X: float64(ka), Y: x.Value})
				}
				if x.Published > 0 {
					pub = append(pub, plotter.XY{X: float64(ka), Y: x.Published})
				}
			}
			if len(model) == 0 || len(pub) == 0 {
				continue // nothing to compare on this line
			}
			lm, pm, err := plotter.NewLinePoints(model)
			if err != nil {
				return err
			}
			lp, err := plotter.NewLine(pub)
			if err != nil {
				return err
			}
			lm.Color, pm.Color, lp.Color = plotutil.Color(i), plotutil.Color(i), plotutil.Color(i)
			pm.Shape = plotutil.Shape(i)
			lp.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			p.Add(lm, pm, lp)
			p.Legend.Add(strings.ToUpper(radio)+" "+strings.ToUpper(proto), lm, pm)
			i++
		}
	}
	if i == 0 {
		return saveEmpty(base, "no maintain cells with values in this run")
	}
	return saveBoth(p, base)
}

// PlotPhysical plots the physical models' %/hour per keepalive, log
// scales, one line per model and protocol; writes base.png and base.svg.
func PlotPhysical(cells []Cell, base string) error {
	p := keepalivePlot("Maintain, physical radio models: % battery per hour (solid: HTTPS, dashed: MQTT)")
	lines := 0
	for i, radio := range PhysicalRadios {
		for _, proto := range Protocols {
			var xys plotter.XYs
			for _, ka := range Keepalives {
				if x := Find(cells, "physical-"+radio, "maintain", radio, proto, ka); x.Value > 0 {
					xys = append(xys, plotter.XY{X: float64(ka), Y: x.Value})
				}
			}
			if len(xys) == 0 {
				continue
			}
			lines++
			l, pts, err := plotter.NewLinePoints(xys)
			if err != nil {
				return err
			}
			l.Color, pts.Color, pts.Shape = plotutil.Color(i), plotutil.Color(i), plotutil.Shape(i)
			if proto == "mqtt" {
				l.Dashes = []vg.Length{vg.Points(4), vg.Points(3)}
			}
			p.Add(l, pts)
			p.Legend.Add(strings.ToUpper(radio)+" "+strings.ToUpper(proto), l, pts)
		}
	}
	if lines == 0 {
		return saveEmpty(base, "no physical-model cells in this run")
	}
	return saveBoth(p, base)
}

// keepalivePlot is a log-log plot of %/hour against the keepalive.
func keepalivePlot(title string) *plot.Plot {
	p := plot.New()
	p.Title.Text = title
	p.X.Label.Text = "keepalive interval (s)"
	p.Y.Label.Text = "% battery per hour"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	p.X.Tick.Marker = plot.ConstantTicks(keepaliveTicks())
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Legend.Left = true // the lines fall to the right
	return p
}

// saveEmpty writes base.png and base.svg saying why there is no plot (a
// log axis without values cannot be drawn).
func saveEmpty(base, why string) error {
	for _, ext := range []string{"png", "svg"} {
		f, err := os.Create(base + "." + ext)
		if err != nil {
			return err
		}
		err = plots.WriteEmpty(f, ext, why)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// saveBoth writes base.png and base.svg.
func saveBoth(p *plot.Plot, base string) error {
	for _, ext := range []string{".png", ".svg"} {
		if err := p.Save(8*vg.Inch, 5*vg.Inch, base+ext); err != nil {
			return err
		}
	}
	return nil
}

func keepaliveTicks() []plot.Tick {
	var ts []plot.Tick
	for _, ka := range Keepalives {
		ts = append(ts, plot.Tick{Value: float64(ka), Label: strconv.Itoa(ka)})
	}
	return ts
}
