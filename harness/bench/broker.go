package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt"
)

// broker is one target: something that speaks MQTT on a loopback address
// and, when it is a local child process, has a PID to measure.
type broker interface {
	Name() string
	Start(ctx context.Context) error // a fresh broker: no sessions, no retained messages
	Stop(ctx context.Context) error  // safe to call twice
	Addr() string                    // host:port while running
	Pid() int                        // 0 unless a local child process
	Alive() bool
	Version() string
	Settings() string
}

// settings the load depends on, shared by both local brokers for fairness:
// 20 QoS 1/2 messages in flight per client, 1000 more queued, no persistence.
const (
	brokerInflight = 20
	brokerQueued   = 1000
)

// newBroker turns a --target value into a broker. pin, if not empty, is the
// CPU set local broker processes are pinned to.
func newBroker(spec, brokerBin string, pin []int) (broker, error) {
	switch {
	case spec == "reference" && brokerBin != "":
		return &refChild{child: child{pin: pin}, bin: brokerBin}, nil
	case spec == "reference":
		return &refInProc{}, nil
	case spec == "mosquitto":
		bin, err := findMosquitto()
		if err != nil {
			return nil, err
		}
		return &mosquittoChild{child: child{pin: pin}, bin: bin}, nil
	case strings.HasPrefix(spec, "tcp://"):
		u, err := url.Parse(spec)
		if err != nil || u.Host == "" || u.Port() == "" {
			return nil, fmt.Errorf("target %q: want tcp://HOST:PORT", spec)
		}
		return &external{spec: spec, addr: u.Host}, nil
	}
	return nil, fmt.Errorf("unknown target %q: want reference, mosquitto or tcp://HOST:PORT", spec)
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

// freePort asks the kernel for a free loopback port. Another process could
// take it before the broker binds it; start retries with a new one.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// child runs one broker process and waits until it accepts connections.
type child struct {
	pin []int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	addr string
	out  tail
}

// spawn starts argv listening on addr; on failure the process is gone.
func (c *child) spawn(ctx context.Context, addr string, dir string, argv ...string) error {
	c.out.reset()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &c.out, &c.out
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if len(c.pin) > 0 {
		pinTasks(cmd.Process.Pid, c.pin) // the startup threads; later ones inherit
	}
	if err := waitAccepting(ctx, addr, done); err != nil {
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s on %s: %w; its output:\n%s", filepath.Base(argv[0]), addr, err, c.out.String())
	}
	if len(c.pin) > 0 {
		pinTasks(cmd.Process.Pid, c.pin) // threads started while it set up
	}
	c.mu.Lock()
	c.cmd, c.done, c.addr = cmd, done, addr
	c.mu.Unlock()
	return nil
}

// waitAccepting polls addr until a TCP connect succeeds, the process exits
// (done closes) or 15 s pass.
func waitAccepting(ctx context.Context, addr string, done <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			nc.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after 15 s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return errors.New("exited while starting")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM, then SIGKILL after 3 s; the process is gone after.
func (c *child) Stop(ctx context.Context) error {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.cmd, c.done = nil, nil
	c.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(3 * time.Second)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	cmd.Process.Kill()
	<-done
	return nil
}

func (c *child) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

func (c *child) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

func (c *child) Alive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// startOnFreePort retries spawn a few times: a port found free can be taken
// before the broker binds it.
func (c *child) startOnFreePort(ctx context.Context, run func(port int) error) error {
	var err error
	for range 3 {
		var port int
		if port, err = freePort(); err != nil {
			return err
		}
		if err = run(port); err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "in use") {
			return err
		}
	}
	return err
}

// refChild is the reference broker run as `wirecheck broker`, a child process.
type refChild struct {
	child
	bin     string
	version string
}

func (r *refChild) Name() string { return "reference" }

func (r *refChild) Start(ctx context.Context) error {
	return r.startOnFreePort(ctx, func(port int) error {
		addr := "127.0.0.1:" + strconv.Itoa(port)
		return r.spawn(ctx, addr, "", r.bin, "broker", "--listen", addr, "--log-level", "warn",
			"--max-inflight", strconv.Itoa(brokerInflight), "--max-queued", strconv.Itoa(brokerQueued))
	})
}

func (r *refChild) Version() string {
	if r.version == "" {
		out, _ := exec.Command(r.bin, "--version").Output()
		r.version = strings.TrimSpace(string(out))
		if r.version == "" {
			r.version = "wirecheck (unknown version)"
		}
	}
	return r.version + " (child process)"
}

func (r *refChild) Settings() string {
	return fmt.Sprintf("max_inflight=%d max_queued=%d in-memory sys_interval=10s", brokerInflight, brokerQueued)
}

// refInProc is the reference broker inside this process: no PID of its
// own, so no CPU or RSS figures.
type refInProc struct {
	mu  sync.Mutex
	srv *mqtt.Server
}

func (r *refInProc) Name() string { return "reference" }

func (r *refInProc) Start(ctx context.Context) error {
	srv, err := mqtt.New(mqtt.Options{Listen: []string{"127.0.0.1:0"}, AllowAnonymous: true,
		MaxInflight: brokerInflight, MaxQueued: brokerQueued, Version: "wirecheck reference (in-process)"})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start in-process reference broker: %w", err)
	}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	return nil
}

func (r *refInProc) Stop(ctx context.Context) error {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

func (r *refInProc) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv == nil || len(r.srv.Addrs()) == 0 {
		return ""
	}
	return r.srv.Addrs()[0].String()
}

func (r *refInProc) Pid() int { return 0 }

func (r *refInProc) Alive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.srv != nil
}

func (r *refInProc) Version() string { return "wirecheck reference (in-process)" }

func (r *refInProc) Settings() string {
	return fmt.Sprintf("max_inflight=%d max_queued=%d in-memory sys_interval=10s", brokerInflight, brokerQueued)
}

// mosquittoChild runs mosquitto with a minimal configuration matching the
// reference broker's defaults.
type mosquittoChild struct {
	child
	bin     string
	dir     string
	version string
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

// external is a broker someone else runs: never restarted, not measured.
type external struct {
	spec, addr string
}

func (e *external) Name() string { return e.spec }

func (e *external) Start(ctx context.Context) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return fmt.Errorf("target %s: %w", e.spec, err)
	}
	return nc.Close()
}

func (e *external) Stop(context.Context) error { return nil }
func (e *external) Addr() string               { return e.addr }
func (e *external) Pid() int                   { return 0 }
func (e *external) Alive() bool                { return true }
func (e *external) Version() string            { return "external (not restarted, not measured)" }
func (e *external) Settings() string           { return "unknown" }

// tail keeps the last 8 KiB written to it, for error messages.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - 8<<10; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) reset() {
	t.mu.Lock()
	t.b = t.b[:0]
	t.mu.Unlock()
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
