package overhead

import (
	"fmt"
	"image/color"
	"io"
	"math"
	"slices"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"

	"github.com/wirecheck/wirecheck/harness/plots"
)

// Layers of a bar, bottom to top.
var layerNames = [3]string{"TCP/IP headers (+ link)", "TLS overhead", "app bytes"}

var layerColors = [3]color.Color{
	color.RGBA{R: 0x99, G: 0x99, B: 0x99, A: 0xff},
	color.RGBA{R: 0xe6, G: 0x7e, B: 0x22, A: 0xff},
	color.RGBA{R: 0x2e, G: 0x6f, B: 0xb7, A: 0xff},
}

// Panel is one tile of bytes_per_event: one bar per protocol+TLS
// variant, each stacked by layer.
type Panel struct {
	Title  string
	Labels []string
	Layers [3][]float64 // headers, TLS overhead, app bytes; per bar
}

// panelSpec picks the rows of a panel.
type panelSpec struct {
	title string
	pick  func(Row) bool
}

// EventPanels groups rows into the panels of bytes_per_event: connect,
// one maintenance interval at the shortest keepalive, send and receive
// (per message) and the seed's message shape. In payload-only mode the
// header layer is empty.
func EventPanels(rows []Row) []Panel {
	kas := keepalives(rows)
	specs := []panelSpec{
		{"connect", func(r Row) bool { return r.Experiment == ExpConnect }},
		{"maintain: one keepalive interval", func(r Row) bool {
			return r.Experiment == ExpMaintain && len(kas) > 0 && r.KeepaliveS != nil && *r.KeepaliveS == kas[0]
		}},
		{"send: one message", func(r Row) bool { return r.Experiment == ExpSend }},
		{"receive: one message", func(r Row) bool { return r.Experiment == ExpReceive }},
		{"seed JSON reading: MQTT publish vs REST PUT", func(r Row) bool { return r.Experiment == ExpShapes }},
	}
	var panels []Panel
	for _, s := range specs {
		var p Panel
		p.Title = s.title
		for _, r := range rows {
			if !s.pick(r) {
				continue
			}
			p.Labels = append(p.Labels, barLabel(r))
			headers := round2(r.WireBytes - r.TCPPayloadBytes)
			p.Layers[0] = append(p.Layers[0], max(headers, 0))
			p.Layers[1] = append(p.Layers[1], r.TLSOverheadBytes)
			p.Layers[2] = append(p.Layers[2], r.AppBytes)
		}
		if len(p.Labels) > 0 {
			panels = append(panels, p)
		}
	}
	return panels
}

// barLabel is a short name for a bar: protocol (and QoS or maintenance
// mode) and transport.
func barLabel(r Row) string {
	p := protoName(r)
	if r.Protocol == "https" && r.Experiment == ExpShapes {
		p = "REST"
	}
	switch {
	case r.Mode == "reconnect":
		p += " reconn."
	case r.Mode == "keepalive":
		p += " kept"
	case r.QoS != nil && (r.Experiment == ExpSend || r.Experiment == ExpReceive):
		p += fmt.Sprintf(" q%d", *r.QoS)
	}
	v := map[string]string{"none": "plain", "1.2": "1.2", "1.3": "1.3", "1.3-x25519": "1.3 X25519"}[r.Variant]
	return p + " " + v
}

// PlotBytesPerEvent draws the panels of EventPanels side by side, as
// format "png" or "svg".
func PlotBytesPerEvent(w io.Writer, format string, rows []Row) error {
	panels := EventPanels(rows)
	if len(panels) == 0 {
		return plots.WriteEmpty(w, format, "bytes per event: no rows")
	}
	const cols = 3
	nrows := (len(panels) + cols - 1) / cols
	plots := make([][]*plot.Plot, nrows)
	for i := range plots {
		plots[i] = make([]*plot.Plot, cols)
	}
	unit := unitOf(rows)
	legendOwn := len(panels)%cols != 0 // a free tile holds the legend
	for i, pn := range panels {
		p, err := panelPlot(pn, unit, !legendOwn && i == 0)
		if err != nil {
			return err
		}
		plots[i/cols][i%cols] = p
	}
	if legendOwn {
		plots[nrows-1][cols-1] = legendPlot(rows)
	}
	width, height := 16*vg.Inch, vg.Length(nrows)*5.5*vg.Inch
	c, err := draw.NewFormattedCanvas(width, height, format)
	if err != nil {
		return err
	}
	dc := draw.New(c)
	title := "Bytes per event by protocol, TLS and layer — " + captionOf(rows)
	dc = drawTitle(dc, title)
	t := draw.Tiles{Rows: nrows, Cols: cols, PadX: vg.Inch / 4, PadY: vg.Inch / 4,
		PadTop: vg.Inch / 8, PadBottom: vg.Inch / 8, PadLeft: vg.Inch / 8, PadRight: vg.Inch / 8}
	canvases := plot.Align(plots, t, dc)
	for i := range plots {
		for j := range plots[i] {
			if plots[i][j] != nil {
				plots[i][j].Draw(canvases[i][j])
			}
		}
	}
	_, err = c.WriteTo(w)
	return err
}

func unitOf(rows []Row) string {
	if len(rows) > 0 && rows[0].CaptureMode == ModePayloadOnly {
		return "TCP payload bytes (payload-only)"
	}
	return "bytes on the wire"
}

func captionOf(rows []Row) string {
	if len(rows) == 0 {
		return ""
	}
	return fmt.Sprintf("capture %s, time scale %s", rows[0].CaptureMode, fmtNum(rows[0].TimeScale))
}

// drawTitle writes a title line at the top of dc and returns the rest.
func drawTitle(dc draw.Canvas, title string) draw.Canvas {
	sty := plot.New().Title.TextStyle
	sty.Font.Size = vg.Points(14)
	sty.XAlign, sty.YAlign = draw.XCenter, draw.YTop
	h := sty.Height(title) + vg.Points(8)
	dc.FillText(sty, vg.Point{X: dc.Center().X, Y: dc.Max.Y - vg.Points(4)}, title)
	dc.Max.Y -= h
	return dc
}

// intTicks are the default ticks labelled without decimals.
type intTicks struct{}

func (intTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = fmt.Sprintf("%.0f", ticks[i].Value)
		}
	}
	return ticks
}

// legendPlot is a tile with only the layer legend and how to read it.
func legendPlot(rows []Row) *plot.Plot {
	p := plot.New()
	p.HideAxes()
	p.Title.Text = "layers (bottom to top)"
	for li := range 3 {
		bc, err := plotter.NewBarChart(plotter.Values{0}, vg.Points(10))
		if err != nil {
			continue
		}
		bc.Color = layerColors[li]
		p.Legend.Add(layerNames[li], bc)
	}
	p.Legend.Top, p.Legend.Left = true, true
	p.Legend.TextStyle.Font.Size = vg.Points(12)
	p.Legend.ThumbnailWidth = vg.Points(24)
	notes := plotter.XYLabels{
		XYs: []plotter.XY{{X: 0, Y: 0.45}, {X: 0, Y: 0.35}, {X: 0, Y: 0.25}, {X: 0, Y: 0.15}},
		Labels: []string{
			"numbers above the bars: total per event",
			"headers = wire bytes - TCP payload",
			"TCP payload = TLS overhead + app bytes",
			captionOf(rows),
		},
	}
	if lb, err := plotter.NewLabels(notes); err == nil {
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = vg.Points(11)
		}
		p.Add(lb)
	}
	p.X.Min, p.X.Max, p.Y.Min, p.Y.Max = 0, 1, 0, 1
	return p
}

func panelPlot(pn Panel, unit string, legend bool) (*plot.Plot, error) {
	p := plot.New()
	p.Title.Text = pn.Title
	p.Y.Label.Text = unit
	p.Y.Min = 0
	p.Y.Tick.Marker = intTicks{}
	var prev *plotter.BarChart
	width := vg.Points(18)
	for li := range 3 {
		bc, err := plotter.NewBarChart(plotter.Values(pn.Layers[li]), width)
		if err != nil {
			return nil, err
		}
		bc.Color = layerColors[li]
		bc.LineStyle.Width = 0
		if prev != nil {
			bc.StackOn(prev)
		}
		p.Add(bc)
		if legend {
			p.Legend.Add(layerNames[li], bc)
		}
		prev = bc
	}
	// Totals above the bars.
	var labels plotter.XYLabels
	for i := range pn.Labels {
		total := pn.Layers[0][i] + pn.Layers[1][i] + pn.Layers[2][i]
		labels.XYs = append(labels.XYs, plotter.XY{X: float64(i), Y: total})
		labels.Labels = append(labels.Labels, fmt.Sprintf("%.0f", total))
	}
	if lb, err := plotter.NewLabels(labels); err == nil {
		for i := range lb.TextStyle {
			lb.TextStyle[i].Font.Size = vg.Points(7)
			lb.TextStyle[i].XAlign = draw.XCenter
			lb.TextStyle[i].YAlign = draw.YBottom
		}
		p.Add(lb)
	}
	p.Legend.Top = true
	p.Legend.Left = true
	p.NominalX(pn.Labels...)
	p.X.Tick.Label.Rotation = math.Pi / 3
	p.X.Tick.Label.XAlign = draw.XRight
	p.X.Tick.Label.YAlign = draw.YCenter
	p.X.Tick.Label.Font.Size = vg.Points(9)
	// Headroom for the totals and the legend.
	_, _, _, ymax := prev.DataRange()
	p.Y.Max = ymax * 1.3
	return p, nil
}

// Series is one line of bytes_per_hour: a protocol+TLS variant's bytes
// per hour at each keepalive interval.
type Series struct {
	Label string
	Proto string // "mqtt", "https reconnect", "https keepalive": picks the colour
	TLS   string // variant: picks the dash
	X, Y  []float64
}

// HourSeries builds the lines of bytes_per_hour from the maintain rows.
func HourSeries(rows []Row) []Series {
	idx := map[string]int{}
	var out []Series
	for _, r := range rows {
		if r.Experiment != ExpMaintain || r.KeepaliveS == nil || r.PerHourBytes == nil {
			continue
		}
		label := protoLabel(r) + ", " + variantLabel(r.Variant)
		i, ok := idx[label]
		if !ok {
			proto := r.Protocol
			if r.Mode != "" {
				proto += " " + r.Mode
			}
			i = len(out)
			idx[label] = i
			out = append(out, Series{Label: label, Proto: proto, TLS: r.Variant})
		}
		out[i].X = append(out[i].X, float64(*r.KeepaliveS))
		out[i].Y = append(out[i].Y, *r.PerHourBytes)
	}
	for i := range out {
		s := &out[i]
		order := make([]int, len(s.X))
		for k := range order {
			order[k] = k
		}
		slices.SortFunc(order, func(a, b int) int { return int(s.X[a] - s.X[b]) })
		x, y := make([]float64, len(order)), make([]float64, len(order))
		for k, o := range order {
			x[k], y[k] = s.X[o], s.Y[o]
		}
		s.X, s.Y = x, y
	}
	return out
}

var protoColors = map[string]color.Color{
	"mqtt":            color.RGBA{R: 0x2e, G: 0x6f, B: 0xb7, A: 0xff},
	"https reconnect": color.RGBA{R: 0xc0, G: 0x39, B: 0x2b, A: 0xff},
	"https keepalive": color.RGBA{R: 0x27, G: 0xae, B: 0x60, A: 0xff},
}

var tlsDashes = map[string][]vg.Length{
	"none":       {vg.Points(2), vg.Points(3)},
	"1.2":        {vg.Points(8), vg.Points(4)},
	"1.3":        nil,
	"1.3-x25519": {vg.Points(8), vg.Points(3), vg.Points(2), vg.Points(3)},
}

var tlsGlyphs = map[string]draw.GlyphDrawer{
	"none":       draw.CircleGlyph{},
	"1.2":        draw.SquareGlyph{},
	"1.3":        draw.TriangleGlyph{},
	"1.3-x25519": draw.PlusGlyph{},
}

// PlotBytesPerHour draws bytes per hour against the keepalive interval,
// both axes logarithmic, one line per protocol+TLS variant.
func PlotBytesPerHour(w io.Writer, format string, rows []Row) error {
	series := HourSeries(rows)
	if len(series) == 0 {
		return plots.WriteEmpty(w, format, "bytes per hour: no maintain rows")
	}
	p := plot.New()
	p.Title.Text = "Maintaining an idle connection: " + unitOf(rows) + " per hour — " + captionOf(rows)
	p.X.Label.Text = "keepalive interval (s, log scale)"
	p.Y.Label.Text = unitOf(rows) + " per hour (log scale)"
	p.X.Scale, p.Y.Scale = plot.LogScale{}, plot.LogScale{}
	var ticks []plot.Tick
	ymin, ymax := math.Inf(1), math.Inf(-1)
	for _, ka := range keepalives(rows) {
		ticks = append(ticks, plot.Tick{Value: float64(ka), Label: fmt.Sprint(ka)})
	}
	p.X.Tick.Marker = plot.ConstantTicks(ticks)
	for _, s := range series {
		xys := make(plotter.XYs, len(s.X))
		for i := range s.X {
			y := max(s.Y[i], 1) // log scale: no zeros
			xys[i] = plotter.XY{X: s.X[i], Y: y}
			ymin, ymax = min(ymin, y), max(ymax, y)
		}
		line, points, err := plotter.NewLinePoints(xys)
		if err != nil {
			return err
		}
		c := protoColors[s.Proto]
		if c == nil {
			c = color.Black
		}
		line.Color, points.Color = c, c
		line.Width = vg.Points(1.5)
		line.Dashes = tlsDashes[s.TLS]
		points.Shape = tlsGlyphs[s.TLS]
		points.Radius = vg.Points(3)
		p.Add(line, points)
		p.Legend.Add(s.Label, line, points)
	}
	p.Y.Tick.Marker = plot.LogTicks{Prec: -1}
	p.Y.Min, p.Y.Max = ymin/2, ymax*2
	p.X.Min, p.X.Max = p.X.Min*0.9, p.X.Max*1.1
	p.Legend.Top = true
	p.Legend.Left = false
	p.Legend.XOffs = -vg.Points(4)
	p.Legend.TextStyle.Font.Size = vg.Points(9)
	p.Add(plotter.NewGrid())
	wt, err := p.WriterTo(11*vg.Inch, 7*vg.Inch, format)
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
