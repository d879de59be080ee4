package bench

import (
	"bytes"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"time"
)

// clockTick is the unit of utime/stime in /proc/PID/stat: USER_HZ, which
// Linux fixes at 100 for user space on every architecture Go supports.
const clockTick = 10 * time.Millisecond

// parseStatCPU returns utime+stime from the text of /proc/PID/stat. The
// command name (field 2) is in parentheses and may itself hold spaces or
// parentheses, so fields are counted from the last ')'.
func parseStatCPU(b []byte) (time.Duration, error) {
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0, fmt.Errorf("stat: no ')' in %q", b)
	}
	f := bytes.Fields(b[i+1:])
	// After the name: state(3) ppid(4) … utime(14) stime(15), so indexes 11, 12.
	if len(f) < 13 {
		return 0, fmt.Errorf("stat: %d fields after the name, want at least 13", len(f))
	}
	ut, err1 := strconv.ParseInt(string(f[11]), 10, 64)
	st, err2 := strconv.ParseInt(string(f[12]), 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("stat: utime %q stime %q", f[11], f[12])
	}
	return time.Duration(ut+st) * clockTick, nil
}

// parseStatusKB returns the value of a "Key:   123 kB" line of
// /proc/PID/status in bytes.
func parseStatusKB(b []byte, key string) (int64, error) {
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if !ok || string(k) != key {
			continue
		}
		f := bytes.Fields(v)
		if len(f) == 0 {
			break
		}
		n, err := strconv.ParseInt(string(f[0]), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("status %s: %w", key, err)
		}
		if len(f) > 1 && string(f[1]) == "kB" {
			n *= 1024
		}
		return n, nil
	}
	return 0, fmt.Errorf("status: no %s line", key)
}

// parseSchedstat returns the first field of /proc/PID/task/TID/schedstat:
// the nanoseconds the thread has run, user and system time together.
func parseSchedstat(b []byte) (time.Duration, error) {
	f := bytes.Fields(b)
	if len(f) == 0 {
		return 0, fmt.Errorf("schedstat: empty")
	}
	ns, err := strconv.ParseInt(string(f[0]), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("schedstat: %w", err)
	}
	return time.Duration(ns), nil
}

// procCPU is the process's user+system CPU time so far: the sum over its
// threads of schedstat, which is utime+stime in nanoseconds where
// /proc/PID/stat counts 10 ms ticks (too coarse for a short round); stat
// when schedstat is not there. (A thread that exits takes its time with it;
// brokers keep their threads.)
func procCPU(pid int) (time.Duration, error) {
	dir := "/proc/" + strconv.Itoa(pid)
	if ents, err := os.ReadDir(dir + "/task"); err == nil {
		var sum time.Duration
		ok := true
		for _, e := range ents {
			b, err := os.ReadFile(dir + "/task/" + e.Name() + "/schedstat")
			if err != nil {
				if os.IsNotExist(err) && len(ents) > 1 {
					continue // the thread just exited
				}
				ok = false
				break
			}
			d, err := parseSchedstat(b)
			if err != nil {
				ok = false
				break
			}
			sum += d
		}
		if ok {
			return sum, nil
		}
	}
	b, err := os.ReadFile(dir + "/stat")
	if err != nil {
		return 0, err
	}
	return parseStatCPU(b)
}

// procRSS is the process's resident set size in bytes.
func procRSS(pid int) (int64, error) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0, err
	}
	return parseStatusKB(b, "VmRSS")
}

// rssInterval is how often a running case samples the broker's RSS.
const rssInterval = 100 * time.Millisecond

// endpoint is where a round sends its load and what it can measure there.
type endpoint struct {
	addr   string
	pid    int  // the broker's process, 0 = not a local process
	inProc bool // the broker runs in this process: the load generator's own CPU cannot be told apart
}

// usage is what a round cost: broker CPU, load-generator CPU, broker RSS
// (peak and steady); -1 each when unknown.
type usage struct {
	cpu, self    time.Duration
	peak, steady int64
}

// meter measures a round: both processes' CPU between start and finish, the
// broker's RSS every rssInterval.
type meter struct {
	ep      endpoint
	cpu0    time.Duration
	self0   time.Duration
	mu      sync.Mutex
	samples []int64
	stop    chan struct{}
	done    chan struct{}
}

func startMeter(ep endpoint) *meter {
	m := &meter{ep: ep, stop: make(chan struct{}), done: make(chan struct{}), self0: selfCPU()}
	if ep.pid == 0 {
		close(m.done)
		return m
	}
	m.cpu0, _ = procCPU(ep.pid)
	m.sample()
	go func() {
		defer close(m.done)
		t := time.NewTicker(rssInterval)
		defer t.Stop()
		for {
			select {
			case <-m.stop:
				return
			case <-t.C:
				m.sample()
			}
		}
	}()
	return m
}

func (m *meter) sample() {
	if rss, err := procRSS(m.ep.pid); err == nil {
		m.mu.Lock()
		m.samples = append(m.samples, rss)
		m.mu.Unlock()
	}
}

// finish stops the meter. Steady RSS is the median of the second half of
// the samples, once start-up allocation has settled.
func (m *meter) finish() usage {
	u := usage{cpu: -1, self: -1, peak: -1, steady: -1}
	if s1 := selfCPU(); !m.ep.inProc && s1 >= 0 && m.self0 >= 0 {
		u.self = s1 - m.self0
	}
	if m.ep.pid == 0 {
		return u
	}
	cpu1, err := procCPU(m.ep.pid)
	m.sample()
	close(m.stop)
	<-m.done
	if err == nil {
		u.cpu = cpu1 - m.cpu0
	}
	m.mu.Lock()
	s := slices.Clone(m.samples)
	m.mu.Unlock()
	if len(s) > 0 {
		u.peak = slices.Max(s)
		u.steady = medianInt(s[len(s)/2:])
	}
	return u
}
