package report

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// Formatting shared by bench.md, bench.txt, the plots and the summary.

// fmtCount writes a rate or count for people: 3 significant digits below
// 1000, whole numbers with thousands separators above.
func fmtCount(x float64) string {
	switch {
	case math.IsNaN(x) || math.IsInf(x, 0):
		return "–"
	case math.Abs(x) < 1000:
		return strconv.FormatFloat(x, 'g', 3, 64)
	}
	s := strconv.FormatInt(int64(math.Round(math.Abs(x))), 10)
	var b strings.Builder
	if x < 0 {
		b.WriteByte('-')
	}
	for i, d := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(d)
	}
	return b.String()
}

// fmtBytes writes a size with a binary unit: 16 B, 4 KiB, 12.3 MiB.
func fmtBytes(n int64) string {
	const units = "KMGT"
	if n < 1024 {
		return fmt.Sprintf("%d B", n)
	}
	x, i := float64(n)/1024, 0
	for x >= 1024 && i < len(units)-1 {
		x /= 1024
		i++
	}
	return strconv.FormatFloat(x, 'g', 3, 64) + " " + string(units[i]) + "iB"
}

// fmtRatio writes 0.50×, 1.52×; tiny ratios keep two significant digits.
func fmtRatio(x float64) string {
	if x < 0.1 {
		return strconv.FormatFloat(x, 'g', 2, 64) + "×"
	}
	return fmt.Sprintf("%.2f×", x)
}

func fmtCPU(x float64) string {
	if x < 0 {
		return "n/a (not a local process)"
	}
	return fmtCount(x)
}

func fmtRSS(n int64) string {
	if n < 0 {
		return "n/a (unknown)"
	}
	return fmtBytes(n)
}

// cell makes text safe inside a Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(oneLine(s), "|", `\|`)
}

func cellsOf(ss []string) []string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = cell(s)
	}
	return out
}

func orDash(s string) string {
	if s == "" {
		return "–"
	}
	return s
}

func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
