package bench

import (
	"bytes"
	"fmt"
	"os"
	"runtime"
	"runtime/debug"
	"strings"
	"time"
)

// disclosure is the full-disclosure header of the run, without the load
// generator's ceiling (measured next).
func (r *runner) disclosure(pinning string) Disclosure {
	cfg := r.cfg
	d := Disclosure{
		Started: time.Now().UTC(), CPU: cpuModel(), Cores: runtime.NumCPU(), Kernel: kernel(),
		GoVersion: runtime.Version(), Wirecheck: buildVersion(), Targets: map[string]string{},
		Config: map[string]string{}, Pinning: pinning, Quick: cfg.Quick,
	}
	for _, b := range r.brokers {
		d.Targets[b.Name()] = b.Version()
		d.Config[b.Name()] = b.Settings()
	}
	d.Config["load"] = fmt.Sprintf("rounds=%d duration=%v; closed loop: <=64 messages in flight per publisher, "+
		"<=%d per subscriber at QoS 1/2 (half the brokers' in-flight window), <=2048 in all; open loop at %s, "+
		"latency from the scheduled send time; open-file limit %d",
		cfg.Rounds, cfg.Duration, brokerInflight/2, rateRule(cfg), r.fdLimit)
	return d
}

// rateRule says what the open loop offers.
func rateRule(cfg Config) string {
	if cfg.Rate > 0 {
		return fmt.Sprintf("%s msgs/s", siFormat(cfg.Rate))
	}
	return "half the slowest target's closed-loop rate"
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	return parseCPUModel(b)
}

func parseCPUModel(b []byte) string {
	for line := range bytes.Lines(b) {
		k, v, ok := bytes.Cut(line, []byte(":"))
		if ok && strings.TrimSpace(string(k)) == "model name" {
			return strings.TrimSpace(string(v))
		}
	}
	return runtime.GOARCH
}

// buildVersion is this binary's module version and VCS revision, if known.
func buildVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "unknown"
	}
	v := bi.Main.Version
	for _, s := range bi.Settings {
		if s.Key == "vcs.revision" && len(s.Value) >= 12 {
			v += " " + s.Value[:12]
		}
		if s.Key == "vcs.modified" && s.Value == "true" {
			v += "+dirty"
		}
	}
	return v
}
