package energy

import (
	"math"
	"strconv"
)

// Bursts counts the radio bursts of a published per-second 3G trace (runs
// of ticks with at least three at PowerTutor's FACH or DCH level) and how
// many of them reached DCH. Ticks at other values are where readings of
// several components mix; runs of those alone are not radio bursts.
func (c *Constants) Bursts(trace []float64) (bursts, withDCH int) {
	near := func(v, level, tol float64) bool { return math.Abs(v-level) <= tol }
	flush := func(run []float64) {
		radio, dch := 0, false
		for _, v := range run {
			if near(v, c.ThreeG.FachMW, 15) || near(v, c.ThreeG.DchMW, 15) {
				radio++
			}
			if near(v, c.ThreeG.DchMW, 15) {
				dch = true
			}
		}
		if radio >= 3 {
			bursts++
			if dch {
				withDCH++
			}
		}
	}
	var run []float64
	for _, v := range trace {
		if v > 0 {
			run = append(run, v)
			continue
		}
		flush(run)
		run = run[:0]
	}
	flush(run)
	return bursts, withDCH
}

// Binomial returns P(X ≤ k) and P(X ≥ k) for X ~ Binomial(n, p): how
// likely the count seen in a trace is if the model's split rate is right.
func Binomial(n, k int, p float64) (atMost, atLeast float64) {
	pmf := func(i int) float64 {
		switch {
		case p <= 0:
			return b2f(i == 0)
		case p >= 1:
			return b2f(i == n)
		}
		ln, _ := math.Lgamma(float64(n + 1))
		li, _ := math.Lgamma(float64(i + 1))
		lr, _ := math.Lgamma(float64(n - i + 1))
		return math.Exp(ln - li - lr + float64(i)*math.Log(p) + float64(n-i)*math.Log1p(-p))
	}
	for i := 0; i <= n; i++ {
		pr := pmf(i)
		if i <= k {
			atMost += pr
		}
		if i >= k {
			atLeast += pr
		}
	}
	return min(atMost, 1), min(atLeast, 1)
}

func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Traces reads a trace CSV of the fixtures (chart,series,second,milliwatts):
// "chart/series" → mW per second.
func Traces(name string) (map[string][]float64, error) {
	recs, err := fixtureRows(name)
	if err != nil {
		return nil, err
	}
	out := map[string][]float64{}
	for _, r := range recs {
		v, err := strconv.ParseFloat(r[3], 64)
		if err != nil {
			return nil, err
		}
		k := r[0] + "/" + r[1]
		out[k] = append(out[k], v)
	}
	return out, nil
}
