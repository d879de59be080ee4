package mqtt

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// Interoperability with real clients: the Debian mosquitto-clients binaries
// and the Eclipse Paho Go client.

// needMosquittoClients skips the test when the Debian clients are missing.
func needMosquittoClients(t *testing.T) {
	t.Helper()
	for _, bin := range []string{"mosquitto_pub", "mosquitto_sub"} {
		if _, err := exec.LookPath(bin); err != nil {
			t.Skipf("%s not on PATH (Debian package mosquitto-clients): skipping the real-client interop test", bin)
		}
	}
}

func hostPort(t testing.TB, addr string) (host, port string) {
	t.Helper()
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatal(err)
	}
	return host, port
}

// mosqSub is a running mosquitto_sub whose output lines arrive on a channel.
type mosqSub struct {
	t     *testing.T
	cmd   *exec.Cmd
	lines chan string
	done  chan error // the process's exit status, once
	out   strings.Builder
	mu    sync.Mutex
}

// startMosqSub runs mosquitto_sub against addr with -F "MSG|%t|%q|%r|%p".
// Its output is block-buffered (a pipe, not a terminal), so readiness is
// observed on the broker side with waitSubscribed, not from its output.
func startMosqSub(t *testing.T, addr string, args ...string) *mosqSub {
	t.Helper()
	host, port := hostPort(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	args = append([]string{"-h", host, "-p", port, "-F", "MSG|%t|%q|%r|%p"}, args...)
	cmd := exec.CommandContext(ctx, "mosquitto_sub", args...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatalf("start mosquitto_sub: %v", err)
	}
	m := &mosqSub{t: t, cmd: cmd, lines: make(chan string, 100), done: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			m.mu.Lock()
			m.out.WriteString(sc.Text() + "\n")
			m.mu.Unlock()
			m.lines <- sc.Text()
		}
		close(m.lines)
		m.done <- cmd.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		for range m.lines {
		}
	})
	return m
}

func (m *mosqSub) output() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.out.String()
}

// messages collects the MSG lines until the process exits (it was started
// with -C) and requires a zero exit status.
func (m *mosqSub) messages(d time.Duration) []string {
	m.t.Helper()
	var msgs []string
	timeout := time.After(d)
	for {
		select {
		case l, ok := <-m.lines:
			if !ok {
				if err := <-m.done; err != nil {
					m.t.Fatalf("mosquitto_sub: %v; output:\n%s", err, m.output())
				}
				return msgs
			}
			if rest, ok := strings.CutPrefix(l, "MSG|"); ok {
				msgs = append(msgs, rest)
			}
		case <-timeout:
			m.t.Fatalf("mosquitto_sub did not exit within %v; output:\n%s", d, m.output())
		}
	}
}

// waitSubscribed waits until client id holds a subscription to filter (the
// broker adds it to its routing tree before recording it in the session).
func waitSubscribed(t testing.TB, srv *Server, id, filter string) {
	t.Helper()
	waitUntilTrue(t, 5*time.Second, id+" subscribed to "+filter, func() bool {
		srv.mu.Lock()
		s := srv.sessions[id]
		srv.mu.Unlock()
		if s == nil {
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		_, ok := s.subs[filter]
		return ok
	})
}

// mosqPub runs mosquitto_pub to completion.
func mosqPub(t *testing.T, addr string, args ...string) {
	t.Helper()
	host, port := hostPort(t, addr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "mosquitto_pub", append([]string{"-h", host, "-p", port}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("mosquitto_pub %v: %v\n%s", args, err, out)
	}
}

// TestMosquittoClientsQoS: messages published with mosquitto_pub at QoS 0,
// 1 and 2 reach mosquitto_sub with the QoS they were published at.
func TestMosquittoClientsQoS(t *testing.T) {
	needMosquittoClients(t)
	t.Parallel()
	srv, addr := startServer(t, Options{})
	sub := startMosqSub(t, addr, "-i", "mq-sub", "-t", "mq/#", "-q", "2", "-C", "3")
	waitSubscribed(t, srv, "mq-sub", "mq/#")
	for q := range 3 {
		mosqPub(t, addr, "-i", fmt.Sprintf("mq-pub-%d", q), "-t", fmt.Sprintf("mq/%d", q), "-q", fmt.Sprint(q), "-m", fmt.Sprintf("payload %d", q))
	}
	got := sub.messages(5 * time.Second)
	sort.Strings(got) // separate publisher connections: no order across them
	want := []string{"mq/0|0|0|payload 0", "mq/1|1|0|payload 1", "mq/2|2|0|payload 2"}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Fatalf("mosquitto_sub got\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestMosquittoClientsRetained: a message published with mosquitto_pub -r
// is delivered, flagged retained, to a mosquitto_sub started afterwards.
func TestMosquittoClientsRetained(t *testing.T) {
	needMosquittoClients(t)
	t.Parallel()
	_, addr := startServer(t, Options{})
	mosqPub(t, addr, "-i", "mr-pub", "-t", "mr/t", "-q", "1", "-r", "-m", "kept")
	sub := startMosqSub(t, addr, "-i", "mr-sub", "-t", "mr/#", "-q", "1", "-C", "1")
	if got := sub.messages(5 * time.Second); len(got) != 1 || got[0] != "mr/t|1|1|kept" {
		t.Fatalf("mosquitto_sub got %q, want [mr/t|1|1|kept]", got)
	}
}

// TestMosquittoClientsWill: the will of a mosquitto_sub killed with SIGKILL
// is published [MQTT-3.1.2-8].
func TestMosquittoClientsWill(t *testing.T) {
	needMosquittoClients(t)
	t.Parallel()
	srv, addr := startServer(t, Options{})
	watcher := client(t, addr, "mw-watch")
	watcher.subscribe(1, "mw/will", 1)
	sub := startMosqSub(t, addr, "-i", "mw-sub", "-t", "mw/none", "-k", "60",
		"--will-topic", "mw/will", "--will-payload", "gone", "--will-qos", "1")
	waitSubscribed(t, srv, "mw-sub", "mw/none")
	if err := sub.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	watcher.ackPub(watcher.expectPublish("mw/will", "gone", 1))
}

// TestMosquittoClientsTLS: mosquitto_sub and mosquitto_pub with --cafile
// trusting the broker's self-signed certificate.
func TestMosquittoClientsTLS(t *testing.T) {
	needMosquittoClients(t)
	t.Parallel()
	serverConf, _, certPEM := selfSigned(t)
	srv, addrs := startServerListen(t, Options{TLS: serverConf}, "tls://127.0.0.1:0")
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	sub := startMosqSub(t, addrs[0], "--cafile", ca, "-i", "mt-sub", "-t", "mt/t", "-q", "1", "-C", "1")
	waitSubscribed(t, srv, "mt-sub", "mt/t")
	mosqPub(t, addrs[0], "--cafile", ca, "-i", "mt-pub", "-t", "mt/t", "-q", "1", "-m", "secure")
	if got := sub.messages(5 * time.Second); len(got) != 1 || got[0] != "mt/t|1|0|secure" {
		t.Fatalf("mosquitto_sub over TLS got %q", got)
	}
}

func pahoClient(t testing.TB, opts *paho.ClientOptions) paho.Client {
	t.Helper()
	c := paho.NewClient(opts.SetAutoReconnect(false).SetConnectTimeout(3 * time.Second))
	pahoWait(t, c.Connect(), "connect")
	t.Cleanup(func() {
		if c.IsConnected() {
			c.Disconnect(100)
		}
	})
	return c
}

func recvMsg(t testing.TB, ch <-chan paho.Message, d time.Duration) paho.Message {
	t.Helper()
	select {
	case m := <-ch:
		return m
	case <-time.After(d):
		t.Fatalf("no message within %v", d)
		return nil
	}
}

// TestPahoQoSRoundTrip: Paho publishes at QoS 0, 1 and 2 and a Paho
// subscriber receives each once, in order, at the QoS it was published at.
func TestPahoQoSRoundTrip(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	msgs := make(chan paho.Message, 10)
	sub := pahoClient(t, paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("pq-sub"))
	pahoWait(t, sub.Subscribe("pq/#", 2, func(_ paho.Client, m paho.Message) { msgs <- m }), "subscribe")
	pub := pahoClient(t, paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("pq-pub"))
	for q := range byte(3) {
		pahoWait(t, pub.Publish(fmt.Sprintf("pq/%d", q), q, false, fmt.Sprintf("m%d", q)), "publish")
	}
	for q := range byte(3) {
		m := recvMsg(t, msgs, 3*time.Second)
		if m.Topic() != fmt.Sprintf("pq/%d", q) || string(m.Payload()) != fmt.Sprintf("m%d", q) || m.Qos() != q || m.Duplicate() || m.Retained() {
			t.Fatalf("message %d: %s %q QoS %d dup %v retained %v", q, m.Topic(), m.Payload(), m.Qos(), m.Duplicate(), m.Retained())
		}
	}
	select {
	case m := <-msgs:
		t.Fatalf("extra message %s %q", m.Topic(), m.Payload())
	case <-time.After(200 * time.Millisecond):
	}
}

// TestPahoRetained: a retained message reaches later Paho subscribers with
// the retained flag, and an empty retained message clears it
// [MQTT-3.3.1-10] [MQTT-3.3.1-11].
func TestPahoRetained(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	pub := pahoClient(t, paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("pr-pub"))
	pahoWait(t, pub.Publish("pr/t", 1, true, "kept"), "publish retained")

	msgs := make(chan paho.Message, 10)
	sub := pahoClient(t, paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("pr-sub"))
	pahoWait(t, sub.Subscribe("pr/#", 1, func(_ paho.Client, m paho.Message) { msgs <- m }), "subscribe")
	if m := recvMsg(t, msgs, 3*time.Second); m.Topic() != "pr/t" || string(m.Payload()) != "kept" || !m.Retained() {
		t.Fatalf("got %s %q retained %v", m.Topic(), m.Payload(), m.Retained())
	}

	pahoWait(t, pub.Publish("pr/t", 1, true, ""), "clear retained")
	// The live subscriber gets the empty message itself, not flagged retained
	// [MQTT-3.3.1-9]; a later subscriber gets nothing.
	if m := recvMsg(t, msgs, 3*time.Second); len(m.Payload()) != 0 || m.Retained() {
		t.Fatalf("got %q retained %v", m.Payload(), m.Retained())
	}
	late := make(chan paho.Message, 10)
	sub2 := pahoClient(t, paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("pr-late"))
	pahoWait(t, sub2.Subscribe("pr/#", 1, func(_ paho.Client, m paho.Message) { late <- m }), "subscribe")
	pahoWait(t, pub.Publish("pr/marker", 1, false, "after"), "publish marker")
	if m := recvMsg(t, late, 3*time.Second); m.Topic() != "pr/marker" {
		t.Fatalf("late subscriber got %s %q (retained %v) before the marker", m.Topic(), m.Payload(), m.Retained())
	}
}

// TestPahoWill: the will of a Paho client whose connection drops is
// published; after a DISCONNECT it is not [MQTT-3.1.2-10].
func TestPahoWill(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	msgs := make(chan paho.Message, 10)
	watch := pahoClient(t, paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("pw-watch"))
	pahoWait(t, watch.Subscribe("pw/#", 1, func(_ paho.Client, m paho.Message) { msgs <- m }), "subscribe")

	// Graceful first: no will. A marker published after the DISCONNECT is
	// the first thing the watcher gets, so no will came before it.
	polite := pahoClient(t, paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("pw-polite").
		SetWill("pw/will", "polite gone", 1, false))
	polite.Disconnect(250)
	pub := pahoClient(t, paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("pw-pub"))
	pahoWait(t, pub.Publish("pw/marker", 1, false, "marker"), "publish marker")
	if m := recvMsg(t, msgs, 3*time.Second); m.Topic() != "pw/marker" {
		t.Fatalf("got %s %q: will published after DISCONNECT", m.Topic(), m.Payload())
	}

	var mu sync.Mutex
	var nc net.Conn
	pahoClient(t, paho.NewClientOptions().AddBroker("tcp://"+addr).SetClientID("pw-rude").
		SetWill("pw/will", "rude gone", 1, false).
		SetCustomOpenConnectionFn(func(u *url.URL, _ paho.ClientOptions) (net.Conn, error) {
			c, err := net.DialTimeout("tcp", u.Host, 2*time.Second)
			mu.Lock()
			nc = c
			mu.Unlock()
			return c, err
		}))
	mu.Lock()
	nc.Close() // the network fails under the client
	mu.Unlock()
	m := recvMsg(t, msgs, 3*time.Second)
	if m.Topic() != "pw/will" || string(m.Payload()) != "rude gone" || m.Qos() != 1 {
		t.Fatalf("got %s %q QoS %d, want the will", m.Topic(), m.Payload(), m.Qos())
	}
}

// TestPahoPersistentOffline: a Paho client with a persistent session gets
// the QoS 1 and 2 messages published while it was away, on reconnect.
func TestPahoPersistentOffline(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Options{})
	msgs := make(chan paho.Message, 10)
	opts := func() *paho.ClientOptions {
		return paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("pp-sub").SetCleanSession(false).
			SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { msgs <- m })
	}
	sub := pahoClient(t, opts())
	pahoWait(t, sub.Subscribe("pp/t", 2, nil), "subscribe")
	sub.Disconnect(250)
	waitSessionOffline(t, srv, "pp-sub")

	pub := client(t, addr, "pp-pub")
	pub.publish(&packets.Publish{Topic: "pp/t", QoS: 1, PacketID: 1, Payload: []byte("one")})
	pub.publish(&packets.Publish{Topic: "pp/t", QoS: 2, PacketID: 2, Payload: []byte("two")})

	pahoClient(t, opts())
	for _, want := range []string{"one", "two"} {
		if m := recvMsg(t, msgs, 3*time.Second); string(m.Payload()) != want {
			t.Fatalf("got %q, want %q", m.Payload(), want)
		}
	}
}
