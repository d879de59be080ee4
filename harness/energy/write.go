package energy

import (
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Outputs are the files WriteAll writes, in order.
var Outputs = []string{"energy.json", "energy.csv", "energy.md", "energy_maintain.png", "energy_maintain.svg",
	"energy_physical.png", "energy_physical.svg"}

// WriteAll writes energy.json (a list of cells), energy.csv, energy.md and
// the plots into dir and returns the paths.
func (c *Constants) WriteAll(dir string, cells []Cell, caps []*Events) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var paths []string
	for _, f := range Outputs {
		paths = append(paths, filepath.Join(dir, f))
	}
	b, err := json.MarshalIndent(cells, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(paths[0], append(b, '\n'), 0o644); err != nil {
		return nil, err
	}
	if err := os.WriteFile(paths[1], []byte(cellsCSV(cells)), 0o644); err != nil {
		return nil, err
	}
	var md strings.Builder
	c.WriteMarkdown(&md, cells, caps)
	if err := os.WriteFile(paths[2], []byte(md.String()), 0o644); err != nil {
		return nil, err
	}
	if err := PlotMaintain(cells, strings.TrimSuffix(paths[3], ".png")); err != nil {
		return nil, err
	}
	if err := PlotPhysical(cells, strings.TrimSuffix(paths[5], ".png")); err != nil {
		return nil, err
	}
	return paths, nil
}

func cellsCSV(cells []Cell) string {
	var sb strings.Builder
	w := csv.NewWriter(&sb)
	w.Write([]string{"table", "radio", "protocol", "keepalive_s", "model", "value", "published", "ratio",
		"event_joules", "split_fraction", "span_s", "captures", "timing", "tls", "link"})
	for _, x := range cells {
		ka := ""
		if x.KeepaliveS != nil {
			ka = strconv.Itoa(*x.KeepaliveS)
		}
		w.Write([]string{x.Table, x.Radio, x.Protocol, ka, x.Model, g(x.Value), g(x.Published), g(x.Ratio),
			g(x.EventJ), g(x.Split), g(x.SpanS), strconv.Itoa(x.Captures), x.Timing, x.TLS, x.Link})
	}
	w.Flush()
	return sb.String()
}

func g(x float64) string { return strconv.FormatFloat(x, 'g', 6, 64) }
