package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// mosquittoChild runs mosquitto with a minimal configuration matching the
// reference broker's defaults.
type mosquittoChild struct {
	child
	bin     string
	dir     string
	version string
}

// findMosquitto looks for mosquitto on PATH, then in /usr/sbin (Debian puts
// it there, outside a normal user's PATH).
func findMosquitto() (string, error) {
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("/usr/sbin/mosquitto"); err == nil {
		return p, nil
	}
	return "", errors.New("target mosquitto: no mosquitto binary on PATH or in /usr/sbin (Debian package mosquitto)")
}

func (m *mosquittoChild) Name() string { return "mosquitto" }

// mosquittoConf is the whole configuration. Nagle's algorithm stays on
// (mosquitto's default; set_tcp_nodelay true measured 1.7× slower in p2p
// and 2× in fan-out here, with no better latency).
func mosquittoConf(port int, root bool) string {
	var b strings.Builder
	b.WriteString("# written by wirecheck bench\n")
	if root {
		// As root, mosquitto 2 would switch to user "mosquitto" after
		// reading this file; stay as we are (nothing to protect here).
		b.WriteString("user root\n")
	}
	fmt.Fprintf(&b, "listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n", port)
	fmt.Fprintf(&b, "max_inflight_messages %d\nmax_queued_messages %d\n", brokerInflight, brokerQueued)
	b.WriteString("log_dest stderr\nlog_type error\nlog_type warning\n")
	return b.String()
}

func (m *mosquittoChild) Start(ctx context.Context) error {
	if m.dir == "" {
		dir, err := os.MkdirTemp("", "wirecheck-bench-mosquitto-")
		if err != nil {
			return err
		}
		m.dir = dir
	}
	return m.startOnFreePort(ctx, func(port int) error {
		conf := filepath.Join(m.dir, "mosquitto.conf")
		if err := os.WriteFile(conf, []byte(mosquittoConf(port, os.Geteuid() == 0)), 0o600); err != nil {
			return err
		}
		return m.spawn(ctx, "127.0.0.1:"+strconv.Itoa(port), m.dir, m.bin, "-c", conf)
	})
}

func (m *mosquittoChild) Stop(ctx context.Context) error {
	err := m.child.Stop(ctx)
	if m.dir != "" {
		os.RemoveAll(m.dir)
		m.dir = ""
	}
	return err
}

// Version is the first line of `mosquitto -h` (it exits 3 after the help).
func (m *mosquittoChild) Version() string {
	if m.version == "" {
		out, _ := exec.Command(m.bin, "-h").Output()
		line, _, _ := strings.Cut(string(out), "\n")
		m.version = strings.TrimSpace(line)
		if !strings.HasPrefix(m.version, "mosquitto version") {
			m.version = "mosquitto (unknown version)"
		}
	}
	return m.version
}

func (m *mosquittoChild) Settings() string {
	return fmt.Sprintf("max_inflight_messages=%d max_queued_messages=%d persistence=false set_tcp_nodelay=false (default)", brokerInflight, brokerQueued)
}
