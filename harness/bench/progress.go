package bench

import (
	"fmt"
	"strconv"
	"strings"
)

// What Run prints while it runs, and the number formats it uses there.

func (r *runner) logf(format string, args ...any) {
	fmt.Fprintf(r.out, format+"\n", args...)
}

// progress prints one line for a round of c against target.
func (r *runner) progress(c Case, target string, round int, rr roundResult) {
	head := fmt.Sprintf("[%d/%d] %-32s %-10s round %d/%d:", r.done, r.total, c.String(), target, round, r.cfg.Rounds)
	switch {
	case rr.na != "":
		r.logf("%s n/a (%s)", head, rr.na)
	case rr.err != nil:
		r.logf("%s FAILED: %v", head, rr.err)
	case c.Scenario == Conn:
		line := fmt.Sprintf("%s %s conn/s, CONNACK p99 %s", head, siFormat(rr.connPerS), usFormat(rr.lat.P99))
		if rr.bytesPerConn > 0 {
			line += fmt.Sprintf(", %.1f kB/conn", rr.bytesPerConn/1024)
		}
		if rr.note != "" {
			line += " (" + rr.note + ")"
		}
		r.logf("%s", line)
	default:
		line := fmt.Sprintf("%s %s msgs/s, p99 %s, lost %d, dup %d", head, siFormat(rr.perS), usFormat(rr.lat.P99), rr.counts.Lost, rr.counts.Dup)
		if cpu := rr.cpuPerMsg(); cpu >= 0 {
			line += fmt.Sprintf(", cpu %.2f µs/msg", cpu)
		}
		if cpu := rr.loadgenPerMsg(); cpu >= 0 {
			line += fmt.Sprintf(" (load generator %.2f)", cpu)
		}
		r.logf("%s", line)
	}
}

// usFormat prints a latency in µs, in ms from 10 ms up.
func usFormat(us float64) string {
	if us >= 10000 {
		return fmt.Sprintf("%.1f ms", us/1000)
	}
	return fmt.Sprintf("%.0f µs", us)
}

// cpuList prints CPU numbers as the disclosure shows them: 0,1.
func cpuList(cpus []int) string {
	s := make([]string, len(cpus))
	for i, c := range cpus {
		s[i] = strconv.Itoa(c)
	}
	return strings.Join(s, ",")
}

// siFormat prints 12345 as 12.3k.
func siFormat(v float64) string {
	switch {
	case v >= 10e6:
		return fmt.Sprintf("%.0fM", v/1e6)
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 10e3:
		return fmt.Sprintf("%.0fk", v/1e3)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
