package report

import (
	"fmt"
	"image/color"
	"io"
	"math"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/wirecheck/wirecheck/harness/bench"
	"github.com/wirecheck/wirecheck/harness/plots"
)

// wideRange is the max/min ratio above which throughput uses a log axis.
const wideRange = 100

// clampLog is a log scale that draws values at or below the axis minimum
// on the axis: a bar's base is 0, which plot.LogScale rejects with a panic.
type clampLog struct{}

func (clampLog) Normalize(min, max, x float64) float64 {
	return plot.LogScale{}.Normalize(min, max, math.Max(x, min))
}

// Percentiles drawn on the latency plot, low to high.
var percentiles = []struct {
	name  string
	of    func(*bench.Result) float64
	glyph draw.GlyphDrawer
}{
	{"p50", func(r *bench.Result) float64 { return r.P50us }, draw.CircleGlyph{}},
	{"p90", func(r *bench.Result) float64 { return r.P90us }, draw.SquareGlyph{}},
	{"p99", func(r *bench.Result) float64 { return r.P99us }, draw.TriangleGlyph{}},
	{"p99.9", func(r *bench.Result) float64 { return r.P999us }, draw.PyramidGlyph{}},
	{"max", func(r *bench.Result) float64 { return r.MaxUs }, draw.CrossGlyph{}},
}

// PlotThroughput draws, per scenario, delivered messages per second (conn:
// connections per second) per case, bars grouped by target; log scale
// when the values span more than two decades.
func PlotThroughput(w io.Writer, format string, r *bench.Report) error {
	ix, targets := indexOf(r), Targets(r)
	maxCases := 0
	for _, sc := range Scenarios(r) {
		maxCases = max(maxCases, len(Cases(r, sc)))
	}
	width := figureWidth(maxCases, len(targets))
	var panels []*plot.Plot
	for _, sc := range Scenarios(r) {
		p, err := throughputPanel(ix, sc, targets, Cases(r, sc), width)
		if err != nil {
			return err
		}
		if p != nil {
			panels = append(panels, p)
		}
	}
	return drawPanels(w, format, panels, width, "Throughput per case, median over rounds", caption(r))
}

func throughputPanel(ix index, scenario string, targets []string, cases []bench.Case, figWidth vg.Length) (*plot.Plot, error) {
	if len(cases) == 0 || len(targets) == 0 {
		return nil, nil
	}
	p := plot.New()
	unit := "delivered msgs/s"
	if scenario == bench.Conn {
		unit = "connections/s"
	}
	p.Title.Text = scenario
	p.Y.Label.Text = unit
	// A group of bars fills 80 % of the room a case gets, up to a maximum.
	room := (figWidth - 1.5*vg.Inch) / vg.Length(len(cases))
	width := min(0.8*room/vg.Length(len(targets)), 0.4*vg.Inch)
	lo, hi := math.Inf(1), 0.0
	missing := make([]plotter.XYLabels, len(targets)) // n/a and errors, written at the base
	for i, t := range targets {
		vals := make(plotter.Values, len(cases))
		for k, c := range cases {
			res := ix.get(t, c)
			if !Ran(res) {
				missing[i].XYs = append(missing[i].XYs, plotter.XY{X: float64(k)})
				missing[i].Labels = append(missing[i].Labels, missingWord(res))
				continue
			}
			vals[k] = Throughput(res)
			if vals[k] > 0 {
				lo, hi = min(lo, vals[k]), max(hi, vals[k])
			}
		}
		bc, err := plotter.NewBarChart(vals, width)
		if err != nil {
			return nil, err
		}
		bc.Color = plotutil.Color(i)
		bc.LineStyle.Width = 0
		bc.Offset = groupOffset(i, len(targets), width)
		p.Add(bc)
		p.Legend.Add(t, bc)
	}
	base := 0.0
	if hi > 0 && hi/lo > wideRange {
		p.Y.Scale = clampLog{}
		p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		p.Y.Label.Text += " (log scale)"
		// Whole decades: LogTicks labels a minimum between decades on top of
		// the decade below it.
		base = decadeBelow(lo)
		p.Y.Min, p.Y.Max = base, decadeAbove(hi)*10 // headroom for the legend
	} else {
		p.Y.Min, p.Y.Max = 0, math.Max(hi, 1)*1.3
	}
	for i := range missing {
		for k := range missing[i].XYs {
			missing[i].XYs[k].Y = base
		}
		if err := addMissing(p, missing[i], groupOffset(i, len(targets), width)); err != nil {
			return nil, err
		}
	}
	finishCases(p, cases)
	return p, nil
}

// PlotLatency draws, per scenario, the latency percentiles of each case
// and target on a log axis: a vertical stick from p50 to max with a glyph
// per percentile, one colour per target. conn has no latency: no panel.
func PlotLatency(w io.Writer, format string, r *bench.Report) error {
	ix, targets := indexOf(r), Targets(r)
	var panels []*plot.Plot
	maxCases := 0
	for _, sc := range Scenarios(r) {
		if sc == bench.Conn {
			continue
		}
		cases := Cases(r, sc)
		p, err := latencyPanel(ix, sc, targets, cases)
		if err != nil {
			return err
		}
		if p != nil {
			panels = append(panels, p)
			maxCases = max(maxCases, len(cases))
		}
	}
	return drawPanels(w, format, panels, figureWidth(maxCases, len(targets)),
		"Latency percentiles per case, median over rounds (open loop: from the scheduled send time)", caption(r))
}

func latencyPanel(ix index, scenario string, targets []string, cases []bench.Case) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = scenario
	p.Y.Label.Text = "latency µs (log scale)"
	p.Y.Scale = clampLog{}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	lo, hi := math.Inf(1), 0.0
	// Sticks sit at data offsets around each case so that targets do not overlap.
	spread := 0.7 / float64(max(len(targets), 1))
	for i, t := range targets {
		dx := (float64(i) - float64(len(targets)-1)/2) * spread
		col := plotutil.Color(i)
		var drawn bool
		pts := make([]plotter.XYs, len(percentiles))
		for k, c := range cases {
			res := ix.get(t, c)
			if !Ran(res) || res.P50us <= 0 {
				continue
			}
			x := float64(k) + dx
			top := res.P50us
			for j, pc := range percentiles {
				if v := pc.of(res); v > 0 {
					pts[j] = append(pts[j], plotter.XY{X: x, Y: v})
					top = max(top, v)
				}
			}
			stick, err := plotter.NewLine(plotter.XYs{{X: x, Y: res.P50us}, {X: x, Y: top}})
			if err != nil {
				return nil, err
			}
			stick.Color, stick.Width = col, vg.Points(1)
			p.Add(stick)
			lo, hi = min(lo, res.P50us), max(hi, top)
			drawn = true
		}
		for j, xys := range pts {
			if len(xys) == 0 {
				continue
			}
			sc, err := plotter.NewScatter(xys)
			if err != nil {
				return nil, err
			}
			sc.Color, sc.Shape, sc.Radius = col, percentiles[j].glyph, vg.Points(3)
			p.Add(sc)
		}
		if drawn {
			l, _ := plotter.NewLine(plotter.XYs{{}, {}})
			l.Color, l.Width = col, vg.Points(3)
			p.Legend.Add(t, l)
		}
	}
	if hi == 0 {
		return nil, nil
	}
	for _, pc := range percentiles {
		sc, _ := plotter.NewScatter(plotter.XYs{{X: 0, Y: 1}})
		sc.Color, sc.Shape, sc.Radius = color.Black, pc.glyph, vg.Points(3)
		p.Legend.Add(pc.name, sc)
	}
	p.Y.Min, p.Y.Max = decadeBelow(lo), decadeAbove(hi)*10 // headroom for the legend
	finishCases(p, cases)
	p.X.Min, p.X.Max = -0.5, float64(len(cases))-0.5
	p.Add(plotter.NewGrid())
	return p, nil
}

func groupOffset(i, n int, width vg.Length) vg.Length {
	return (vg.Length(i) - vg.Length(n-1)/2) * width
}

// missingWord marks a bar that is not there.
func missingWord(res *bench.Result) string {
	if res != nil && res.Error != "" {
		return "err"
	}
	return "n/a"
}

func addMissing(p *plot.Plot, l plotter.XYLabels, offset vg.Length) error {
	if len(l.XYs) == 0 {
		return nil
	}
	lb, err := plotter.NewLabels(l)
	if err != nil {
		return err
	}
	for i := range lb.TextStyle {
		lb.TextStyle[i].Font.Size = vg.Points(7)
		lb.TextStyle[i].XAlign = draw.XCenter
		lb.TextStyle[i].YAlign = draw.YBottom
	}
	lb.Offset = vg.Point{X: offset, Y: vg.Points(2)}
	p.Add(lb)
	return nil
}

// finishCases names the x positions after the cases and places the legend.
func finishCases(p *plot.Plot, cases []bench.Case) {
	labels := make([]string, len(cases))
	for i, c := range cases {
		labels[i] = shortLabel(c)
	}
	p.NominalX(labels...)
	p.X.Label.Text = "clients/QoS/payload/mode"
	p.X.Tick.Label.Rotation = math.Pi / 4
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.X.Tick.Label.Font.Size = vg.Points(8)
	p.Legend.Top = true
	p.Legend.TextStyle.Font.Size = vg.Points(9)
}

func decadeBelow(x float64) float64 { return math.Pow(10, math.Floor(math.Log10(x))) }
func decadeAbove(x float64) float64 { return math.Pow(10, math.Ceil(math.Log10(x))) }

// figureWidth grows with the number of cases and targets so that bars
// and tick labels stay readable: at least 0.25 in per bar.
func figureWidth(cases, targets int) vg.Length {
	perCase := max(0.5*vg.Inch, vg.Length(targets)*0.25*vg.Inch/0.8)
	return max(10*vg.Inch, vg.Length(cases)*perCase+1.5*vg.Inch)
}

// drawPanels stacks the panels vertically, one scenario per row, under a
// title.
func drawPanels(w io.Writer, format string, panels []*plot.Plot, width vg.Length, title, sub string) error {
	if len(panels) == 0 {
		return plots.WriteEmpty(w, format, "no measurements to plot")
	}
	height := vg.Length(len(panels))*4.5*vg.Inch + 0.5*vg.Inch
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return err
	}
	dc := drawTitle(draw.New(c), title, 13)
	dc = drawTitle(dc, sub, 10)
	grid := make([][]*plot.Plot, len(panels))
	for i, p := range panels {
		grid[i] = []*plot.Plot{p}
	}
	t := draw.Tiles{Rows: len(panels), Cols: 1, PadX: vg.Inch / 4, PadY: vg.Inch / 4,
		PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 4}
	canvases := plot.Align(grid, t, dc)
	for i := range grid {
		grid[i][0].Draw(canvases[i][0])
	}
	_, err = c.WriteTo(w)
	return err
}

// drawTitle writes a line at the top of dc and returns the rest.
func drawTitle(dc draw.Canvas, title string, size float64) draw.Canvas {
	sty := plot.New().Title.TextStyle
	sty.Font.Size = vg.Points(size)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	h := sty.Height(title) + vg.Points(8)
	dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - vg.Points(4)}, title)
	dc.Max.Y -= h
	return dc
}

// caption says where the figures come from.
func caption(r *bench.Report) string {
	d := r.Disclosure
	s := fmt.Sprintf("%s, %d cores, pinning %s", orDash(d.CPU), d.Cores, orNone(d.Pinning))
	if d.LoadgenCeiling > 0 {
		s += ", load-generator ceiling " + fmtCount(d.LoadgenCeiling) + "/s"
	}
	return s
}
