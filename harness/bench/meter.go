package bench

import (
	"slices"
	"sync"
	"time"
)

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
	m.cpu0 = cpuOf(ep.pid)
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
	cpu1 := cpuOf(m.ep.pid)
	m.sample()
	close(m.stop)
	<-m.done
	if cpu1 >= 0 && m.cpu0 >= 0 { // not the broker's whole lifetime when the first read failed
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
