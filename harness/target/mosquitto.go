package target

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wirecheck/wirecheck/internal/loopback"
)

// ErrNoMosquitto is returned by Start when no mosquitto binary is found.
var ErrNoMosquitto = errors.New("mosquitto not found: install Debian package mosquitto (make test does this as root)")

// mosquittoStopGrace is how long Stop waits after SIGTERM before SIGKILL.
const mosquittoStopGrace = 5 * time.Second

// mosquittoConnectTimeout is when mosquitto drops a socket that never sends
// CONNECT: it has no setting for this, but gives every new connection a
// keepalive of 60 s until CONNECT says otherwise and closes it at 1.5 times
// that ("Client <unknown> has exceeded timeout"). Measured with 2.0.11: 94.9 s,
// its keepalive check runs every few seconds.
const mosquittoConnectTimeout = 90 * time.Second

// Mosquitto runs a local mosquitto binary as a child process on random
// loopback ports, with a password file, an ACL, a TLS listener and
// persistence in a temporary directory, so Restart keeps sessions.
type Mosquitto struct {
	// Log receives the broker's output (its log goes to stderr, which is
	// unbuffered); nil or unset means io.Discard. Read at each start.
	Log io.Writer

	bin string // as given; resolved at the first Start

	mu     sync.Mutex
	proc   *childProc
	dir    string
	conf   string
	addrs  []string // listeners to wait for: plain, TLS, WebSocket if any
	info   Info
	output *tailBuffer
}

// childProc is one run of the broker.
type childProc struct {
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited and output is drained
	err  error         // cmd.Wait's result, valid once done is closed
}

// NewMosquitto returns a target for the mosquitto binary at bin ("" looks up
// "mosquitto" on PATH, then /usr/sbin/mosquitto); Start runs it.
func NewMosquitto(bin string) *Mosquitto { return &Mosquitto{bin: bin} }

func init() { kinds["mosquitto"] = func(bin string) Target { return NewMosquitto(bin) } }

func (m *Mosquitto) Name() string { return "mosquitto" }

// findMosquitto resolves bin to an executable path.
func findMosquitto(bin string) (string, error) {
	if bin != "" {
		p, err := exec.LookPath(bin)
		if err != nil {
			return "", fmt.Errorf("%w (looked for %s: %v)", ErrNoMosquitto, bin, err)
		}
		return p, nil
	}
	if p, err := exec.LookPath("mosquitto"); err == nil {
		return p, nil
	}
	if p, err := exec.LookPath("/usr/sbin/mosquitto"); err == nil {
		return p, nil
	}
	return "", ErrNoMosquitto
}

func (m *Mosquitto) Start(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc != nil {
		select {
		case <-m.proc.done: // died on its own: start it again
			m.proc = nil
		default:
			return nil
		}
	}
	if m.dir == "" {
		if err := m.prepare(); err != nil {
			return err
		}
	}
	return m.startLocked(ctx)
}

// prepare finds the binary and writes the configuration, credentials and
// certificate once, so a restart comes back on the same ports with the same
// persistence file.
func (m *Mosquitto) prepare() (err error) {
	bin, err := findMosquitto(m.bin)
	if err != nil {
		return err
	}
	dir, certPEM, err := writeBrokerDir("wirecheck-mosquitto-")
	if err != nil {
		return err
	}
	defer func() {
		if err != nil {
			os.RemoveAll(dir)
		}
	}()
	ws, err := binarySupportsWebSockets(bin)
	if err != nil {
		return err
	}
	mc := mosquittoConf{Dir: dir, DataDir: dir, Root: os.Geteuid() == 0}
	if mc.Plain, err = loopback.FreePort(); err != nil {
		return err
	}
	if mc.TLS, err = loopback.FreePort(); err != nil {
		return err
	}
	if ws {
		if mc.WS, err = loopback.FreePort(); err != nil {
			return err
		}
	}
	conf := filepath.Join(dir, "mosquitto.conf")
	if err = os.WriteFile(conf, []byte(mc.String()), 0o600); err != nil {
		return err
	}
	m.bin, m.dir, m.conf = bin, dir, conf
	m.info = mc.info("mosquitto", mosquittoVersion(bin), certPEM)
	m.addrs = mc.addrs()
	m.output = &tailBuffer{max: 8 << 10}
	return nil
}

// mosquittoVersion returns the first line of `mosquitto -h`, e.g.
// "mosquitto version 2.0.11" (mosquitto exits 3 after printing help).
func mosquittoVersion(bin string) string {
	out, _ := exec.Command(bin, "-h").Output()
	line, _, _ := strings.Cut(string(out), "\n")
	line = strings.TrimSpace(line)
	if !strings.HasPrefix(line, "mosquitto version ") {
		return "mosquitto (unknown version)"
	}
	return line
}

// binarySupportsWebSockets reports whether mosquitto was built with
// libwebsockets, linked statically (Debian's 2.0.11) or dynamically: either
// way the binary names libwebsockets' functions.
func binarySupportsWebSockets(bin string) (bool, error) {
	b, err := os.ReadFile(bin)
	if err != nil {
		return false, err
	}
	return bytes.Contains(b, []byte("lws_create_context")), nil
}

func (m *Mosquitto) startLocked(ctx context.Context) error {
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, 30*time.Second)
		defer cancel()
	}
	for {
		p, err := m.spawn()
		if err != nil {
			return err
		}
		err = m.waitReady(ctx, p)
		if err == nil {
			m.proc = p
			return nil
		}
		// A port of the previous run can be briefly busy on restart: retry
		// until ctx ends; any other failure is final.
		busy := strings.Contains(m.output.String(), "Address already in use")
		if !busy || ctx.Err() != nil {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func (m *Mosquitto) spawn() (*childProc, error) {
	m.output.Reset()
	log := m.Log
	if log == nil {
		log = io.Discard
	}
	out := io.MultiWriter(log, m.output)
	cmd := exec.Command(m.bin, "-c", m.conf)
	cmd.Dir = m.dir
	cmd.Stdout, cmd.Stderr = out, out
	cmd.SysProcAttr = parentDeathSignal()
	cmd.WaitDelay = 2 * time.Second // bound the output copy once it has exited
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", m.bin, err)
	}
	p := &childProc{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// waitReady waits until every listener accepts TCP connections; if the
// broker exits or ctx ends first, it makes sure the process is gone and
// returns an error with the end of its log.
func (m *Mosquitto) waitReady(ctx context.Context, p *childProc) error {
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		select {
		case <-p.done:
			cancel()
		case <-wctx.Done():
		}
	}()
	var err error
	for _, a := range m.addrs {
		if err = waitListening(wctx, a); err != nil {
			break
		}
	}
	if err == nil {
		return nil
	}
	select {
	case <-p.done:
		return fmt.Errorf("mosquitto exited while starting (%v); its log:\n%s", p.err, m.output)
	default:
	}
	p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("mosquitto did not start listening: %w; its log:\n%s", err, m.output)
}

func (m *Mosquitto) Stop(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.stopLocked(ctx)
}

// stopLocked sends SIGTERM (mosquitto then writes its persistence file),
// waits up to mosquittoStopGrace or until ctx ends, then kills. The process
// is gone when it returns, whatever it returns.
func (m *Mosquitto) stopLocked(ctx context.Context) error {
	p := m.proc
	if p == nil {
		return nil
	}
	m.proc = nil
	select {
	case <-p.done:
		return fmt.Errorf("mosquitto had exited by itself (%v); its log:\n%s", p.err, m.output)
	default:
	}
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		p.cmd.Process.Kill()
		<-p.done
		return fmt.Errorf("stop mosquitto: %w", err)
	}
	termAt := time.Now()
	grace := time.NewTimer(mosquittoStopGrace)
	defer grace.Stop()
	select {
	case <-p.done:
		return nil
	case <-grace.C:
	case <-ctx.Done():
	}
	p.cmd.Process.Kill()
	<-p.done
	return fmt.Errorf("mosquitto had not exited %v after SIGTERM: killed, so its persistence file may be stale", time.Since(termAt).Round(time.Millisecond))
}

// Restart stops mosquitto (which saves its persistence file) and starts it
// again with the same configuration and ports.
func (m *Mosquitto) Restart(ctx context.Context) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.dir == "" {
		return errors.New("restart mosquitto: not started")
	}
	if err := m.stopLocked(ctx); err != nil {
		return err
	}
	return m.startLocked(ctx)
}

func (m *Mosquitto) Info() Info {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.info
}

// Pid is the broker's process ID, 0 when it is not running.
func (m *Mosquitto) Pid() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.proc == nil {
		return 0
	}
	return m.proc.cmd.Process.Pid
}

// Cleanup stops the broker if it still runs and removes the temporary
// directory; a later Start prepares a new one (new ports, no state).
func (m *Mosquitto) Cleanup() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	stopErr := m.stopLocked(context.Background())
	if m.dir == "" {
		return stopErr
	}
	err := os.RemoveAll(m.dir)
	m.dir = ""
	return errors.Join(stopErr, err)
}

// mosquittoConf is a mosquitto 2.0 configuration as both the process and the
// container target write it; Dir and DataDir are paths as the broker sees them.
type mosquittoConf struct {
	Dir     string // holds passwd, acl, cert.pem, key.pem
	DataDir string // persistence_location
	Root    bool   // running as root: say `user root`, or mosquitto drops to user "mosquitto"
	Plain   int    // ports on 127.0.0.1; WS 0 = no WebSocket listener
	TLS     int
	WS      int
}

func (c mosquittoConf) String() string {
	var b strings.Builder
	b.WriteString("# written by wirecheck for a conformance run\n")
	if c.Root {
		// As root, mosquitto 2.0 switches to user "mosquitto" (or "nobody")
		// after reading its config, and could then no longer read the
		// password file or write persistence; "root" keeps it as it is.
		b.WriteString("user root\n")
	}
	fmt.Fprintf(&b, `per_listener_settings false
allow_anonymous true
password_file %[1]s/passwd
acl_file %[1]s/acl
persistence true
persistence_location %[2]s/
sys_interval 1
max_queued_messages 1000
queue_qos0_messages false
# stdout is block-buffered when it is a pipe; stderr is not
log_dest stderr

listener %[3]d 127.0.0.1

listener %[4]d 127.0.0.1
certfile %[1]s/cert.pem
keyfile %[1]s/key.pem
`, c.Dir, strings.TrimSuffix(c.DataDir, "/"), c.Plain, c.TLS)
	if c.WS != 0 {
		// Without socket_domain, 2.0.11's libwebsockets listener ignores
		// the bind address and listens on every interface.
		fmt.Fprintf(&b, "\nlistener %d 127.0.0.1\nsocket_domain ipv4\nprotocol websockets\n", c.WS)
	}
	return b.String()
}

func (c mosquittoConf) addrs() []string {
	a := []string{hostPort(c.Plain), hostPort(c.TLS)}
	if c.WS != 0 {
		a = append(a, hostPort(c.WS))
	}
	return a
}

func hostPort(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }

// info describes a broker running this configuration.
func (c mosquittoConf) info(kind, version string, certPEM []byte) Info {
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	no := false
	i := Info{Kind: kind, Version: version, Addr: hostPort(c.Plain), TLSAddr: hostPort(c.TLS),
		TLSConfig: &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"},
		Username:  testUser, Password: testPassword, DeniedTopic: testDeniedTopic,
		Caps: Capabilities{Retain: true, MaxQoS: 2, Wildcards: true, Restart: true, Auth: true,
			AnonymousAllowed: true, ACL: true, ConnectTimeout: mosquittoConnectTimeout,
			QueuesQoS0: &no, SysTopics: true}}
	if c.WS != 0 {
		i.WSURL = "ws://" + hostPort(c.WS) + "/mqtt"
	}
	return i
}

// tailBuffer keeps the last max bytes written to it, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	b   []byte
}

func (t *tailBuffer) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - t.max; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tailBuffer) Reset() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = t.b[:0]
}

func (t *tailBuffer) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}

// parentDeathSignal asks Linux to SIGTERM the broker if the test process
// dies without stopping it (a go test timeout, a panic). Pdeathsig exists
// only on Linux, hence reflection rather than a build-tagged file. (Linux
// sends it when the OS thread that started the child exits; Go keeps its
// threads unless a goroutine exits while locked to one.)
func parentDeathSignal() *syscall.SysProcAttr {
	attr := &syscall.SysProcAttr{}
	if f := reflect.ValueOf(attr).Elem().FieldByName("Pdeathsig"); f.IsValid() && f.CanSet() {
		f.Set(reflect.ValueOf(syscall.SIGTERM))
	}
	return attr
}
