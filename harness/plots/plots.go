// Package plots holds what the harness's gonum/plot outputs share.
package plots

import (
	"io"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/vg"
)

// WriteEmpty draws a plot that only says why it is empty, so an output
// file always exists and explains itself.
func WriteEmpty(w io.Writer, format, msg string) error {
	p := plot.New()
	p.Title.Text = msg
	p.HideAxes()
	wt, err := p.WriterTo(4*vg.Inch, 2*vg.Inch, format)
	if err != nil {
		return err
	}
	_, err = wt.WriteTo(w)
	return err
}
