package target

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/internal/syncbuf"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

func TestMosquittoNotFound(t *testing.T) {
	m := NewMosquitto("/nonexistent/mosquitto")
	err := m.Start(context.Background())
	if !errors.Is(err, ErrNoMosquitto) {
		t.Fatalf("Start with a missing binary: %v, want ErrNoMosquitto", err)
	}
	if err := m.Stop(context.Background()); err != nil {
		t.Fatalf("Stop after a failed start: %v", err)
	}
}

func TestParseMosquitto(t *testing.T) {
	tg, err := Parse("mosquitto", "")
	if err != nil {
		t.Fatal(err)
	}
	if m, ok := tg.(*Mosquitto); !ok || m.Name() != "mosquitto" {
		t.Fatalf("Parse(mosquitto) = %T", tg)
	}
}

func TestParentDeathSignal(t *testing.T) {
	f := reflect.ValueOf(parentDeathSignal()).Elem().FieldByName("Pdeathsig")
	if runtime.GOOS == "linux" && (!f.IsValid() || f.Interface() != syscall.SIGTERM) {
		t.Errorf("Pdeathsig not set to SIGTERM: %v", f)
	}
}

func TestMosquittoConf(t *testing.T) {
	c := mosquittoConf{Dir: "/d", DataDir: "/data/", Plain: 1, TLS: 2, WS: 3, Root: true}
	s := c.String()
	for _, want := range []string{"user root\n", "persistence_location /data/\n", "password_file /d/passwd\n",
		"listener 1 127.0.0.1\n", "listener 2 127.0.0.1\ncertfile /d/cert.pem\nkeyfile /d/key.pem\n",
		"listener 3 127.0.0.1\nsocket_domain ipv4\nprotocol websockets\n", "log_dest stderr\n"} {
		if !bytes.Contains([]byte(s), []byte(want)) {
			t.Errorf("config lacks %q:\n%s", want, s)
		}
	}
	c.Root, c.WS = false, 0
	s = c.String()
	if bytes.Contains([]byte(s), []byte("user ")) || bytes.Contains([]byte(s), []byte("websockets")) {
		t.Errorf("non-root config without WebSocket says user or websockets:\n%s", s)
	}
}

func TestMosquitto(t *testing.T) {
	m := NewMosquitto("")
	log := &syncbuf.Buffer{}
	m.Log = log
	t.Cleanup(func() {
		if err := m.Cleanup(); err != nil {
			t.Errorf("Cleanup: %v", err)
		}
		if t.Failed() {
			t.Logf("mosquitto's output:\n%s", log)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	start := time.Now()
	if err := m.Start(ctx); err != nil {
		if errors.Is(err, ErrNoMosquitto) {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	t.Logf("mosquitto target ready in %v: %+v", time.Since(start), m.Info())
	info := m.Info()
	if info.Kind != "mosquitto" || info.Version == "" {
		t.Errorf("Kind %q Version %q", info.Kind, info.Version)
	}
	exerciseBroker(t, m)

	t.Run("Stop", func(t *testing.T) {
		pid := m.Pid()
		if pid == 0 {
			t.Fatal("no pid while running")
		}
		if err := m.Stop(context.Background()); err != nil {
			t.Fatal(err)
		}
		if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
			t.Errorf("process %d still there after Stop (kill 0: %v)", pid, err)
		}
		if c, err := net.DialTimeout("tcp", info.Addr, time.Second); err == nil {
			c.Close()
			t.Errorf("%s still accepts connections after Stop", info.Addr)
		}
		if err := m.Stop(context.Background()); err != nil {
			t.Errorf("second Stop: %v", err)
		}
		if m.Pid() != 0 {
			t.Errorf("Pid after Stop")
		}
	})
}

// exerciseBroker checks what every mosquitto-like target declares: plain,
// TLS and WebSocket listeners, credentials, the ACL, $SYS, and a queued QoS 1
// message surviving Restart.
func exerciseBroker(t *testing.T, tg Target) {
	info := tg.Info()
	uniq := fmt.Sprintf("%x", time.Now().UnixNano())

	t.Run("LoopbackOnly", func(t *testing.T) {
		for _, a := range []string{info.Addr, info.TLSAddr, strings.TrimSuffix(strings.TrimPrefix(info.WSURL, "ws://"), "/mqtt")} {
			if a == "" {
				continue
			}
			_, port, _ := net.SplitHostPort(a)
			if bad := nonLoopbackListeners(t, port); len(bad) > 0 {
				t.Errorf("port %s listens on %v, not only 127.0.0.1", port, bad)
			}
		}
	})
	t.Run("PlainAnonymous", func(t *testing.T) {
		c := dialRaw(t, info.Dial)
		mustConnect(t, c, &packets.Connect{ClientID: "wc-plain-" + uniq, CleanSession: true})
	})
	t.Run("TLS", func(t *testing.T) {
		if info.TLSAddr == "" {
			t.Fatal("no TLS listener")
		}
		c := dialRaw(t, func(d time.Duration) (net.Conn, error) { return info.DialTLS(d, info.TLSConfig) })
		mustConnect(t, c, &packets.Connect{ClientID: "wc-tls-" + uniq, CleanSession: true})
	})
	t.Run("WebSocket", func(t *testing.T) {
		if info.WSURL == "" {
			t.Skip("no WebSocket listener declared")
		}
		c := dialRaw(t, func(d time.Duration) (net.Conn, error) { return DialWS(info.WSURL, d) })
		mustConnect(t, c, &packets.Connect{ClientID: "wc-ws-" + uniq, CleanSession: true})
	})
	t.Run("Credentials", func(t *testing.T) {
		c := dialRaw(t, info.Dial)
		mustConnect(t, c, &packets.Connect{ClientID: "wc-good-" + uniq, CleanSession: true,
			UsernameFlag: true, Username: info.Username, PasswordFlag: true, Password: []byte(info.Password)})
		c = dialRaw(t, info.Dial)
		ack, err := c.Connect(connectPacket(&packets.Connect{ClientID: "wc-bad-" + uniq, CleanSession: true,
			UsernameFlag: true, Username: info.Username, PasswordFlag: true, Password: []byte("wrong")}))
		if err != nil {
			t.Fatal(err)
		}
		// 3.1.1 allows 4 (bad user name or password) or 5 (not
		// authorized); mosquitto 2.0 answers 5.
		switch ack.ReturnCode {
		case packets.RefusedBadUsernamePassword, packets.RefusedNotAuthorized:
			t.Logf("bad password: CONNACK %d", ack.ReturnCode)
		default:
			t.Errorf("bad password: CONNACK %d, want 4 or 5", ack.ReturnCode)
		}
	})
	t.Run("ACL", func(t *testing.T) {
		allowed := "wirecheck/allowed/" + uniq
		sub := dialRaw(t, info.Dial)
		mustConnect(t, sub, &packets.Connect{ClientID: "wc-aclsub-" + uniq, CleanSession: true})
		// The denied filter may be refused (0x80) or granted and filtered
		// per message; either way nothing may arrive on it.
		if _, err := sub.Subscribe(1, packets.Subscription{Filter: info.DeniedTopic, QoS: 1},
			packets.Subscription{Filter: allowed, QoS: 1}); err != nil {
			t.Fatal(err)
		}
		pub := dialRaw(t, info.Dial)
		mustConnect(t, pub, &packets.Connect{ClientID: "wc-aclpub-" + uniq, CleanSession: true,
			UsernameFlag: true, Username: info.Username, PasswordFlag: true, Password: []byte(info.Password)})
		// Denied first: had it been delivered it would arrive before the
		// allowed one, which the subscriber receives in order.
		if err := pub.Publish(&packets.Publish{Topic: info.DeniedTopic, QoS: 1, PacketID: 1, Payload: []byte("no")}); err != nil {
			t.Fatal(err)
		}
		if err := pub.Publish(&packets.Publish{Topic: allowed, QoS: 1, PacketID: 2, Payload: []byte("yes")}); err != nil {
			t.Fatal(err)
		}
		got, err := sub.Receive(5 * time.Second)
		if err != nil {
			t.Fatal(err)
		}
		if got.Topic != allowed {
			t.Errorf("received %q on %q: the ACL let a denied topic through", got.Payload, got.Topic)
		}
	})
	t.Run("SysTopics", func(t *testing.T) {
		c := dialRaw(t, info.Dial)
		mustConnect(t, c, &packets.Connect{ClientID: "wc-sys-" + uniq, CleanSession: true})
		if _, err := c.Subscribe(1, packets.Subscription{Filter: "$SYS/broker/uptime"}); err != nil {
			t.Fatal(err)
		}
		if _, err := c.Receive(5 * time.Second); err != nil {
			t.Errorf("no $SYS/broker/uptime: %v", err)
		}
	})
	t.Run("RestartKeepsQueuedQoS1", func(t *testing.T) {
		id, topic := "wc-persist-"+uniq, "wirecheck/persist/"+uniq
		c := dialRaw(t, info.Dial)
		persistent := &packets.Connect{ClientID: id, KeepAlive: 60}
		mustConnect(t, c, persistent)
		if _, err := c.Subscribe(1, packets.Subscription{Filter: topic, QoS: 1}); err != nil {
			t.Fatal(err)
		}
		if err := c.Disconnect(); err != nil {
			t.Fatal(err)
		}
		pub := dialRaw(t, info.Dial)
		mustConnect(t, pub, &packets.Connect{ClientID: "wc-persist-pub-" + uniq, CleanSession: true})
		if err := pub.Publish(&packets.Publish{Topic: topic, QoS: 1, PacketID: 7, Payload: []byte("kept")}); err != nil {
			t.Fatal(err)
		}
		pub.Disconnect()

		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		start := time.Now()
		if err := tg.Restart(ctx); err != nil {
			t.Fatal(err)
		}
		t.Logf("restart took %v", time.Since(start))
		if tg.Info().Addr != info.Addr {
			t.Fatalf("address changed across restart: %s -> %s", info.Addr, tg.Info().Addr)
		}
		c = dialRaw(t, info.Dial)
		ack := mustConnect(t, c, persistent)
		if !ack.SessionPresent {
			t.Errorf("session not present after restart")
		}
		got, err := c.Receive(5 * time.Second)
		if err != nil {
			t.Fatalf("queued QoS 1 message lost across restart: %v", err)
		}
		if got.Topic != topic || string(got.Payload) != "kept" || got.QoS != 1 {
			t.Errorf("got %q on %q QoS %d", got.Payload, got.Topic, got.QoS)
		}
		// Leave no session behind.
		c.Disconnect()
		c = dialRaw(t, info.Dial)
		mustConnect(t, c, &packets.Connect{ClientID: id, CleanSession: true})
	})
}

// nonLoopbackListeners returns the local addresses (as /proc/net shows them)
// of listening TCP sockets on port that are not bound to 127.0.0.1.
func nonLoopbackListeners(t *testing.T, port string) []string {
	t.Helper()
	p, err := strconv.Atoi(port)
	if err != nil {
		t.Fatal(err)
	}
	suffix := fmt.Sprintf(":%04X", p)
	var bad []string
	for _, f := range []string{"/proc/net/tcp", "/proc/net/tcp6"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Skipf("cannot read %s: %v", f, err)
		}
		for _, line := range strings.Split(string(b), "\n")[1:] {
			fields := strings.Fields(line)
			if len(fields) < 4 || fields[3] != "0A" || !strings.HasSuffix(fields[1], suffix) {
				continue // not a listener on port
			}
			if fields[1] != "0100007F"+suffix {
				bad = append(bad, f+" "+fields[1])
			}
		}
	}
	return bad
}

func connectPacket(p *packets.Connect) *packets.Connect {
	p.ProtocolName, p.ProtocolLevel = "MQTT", packets.Version311
	return p
}

func dialRaw(t *testing.T, dial func(time.Duration) (net.Conn, error)) *rawclient.Client {
	t.Helper()
	nc, err := dial(5 * time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c := rawclient.New(nc)
	t.Cleanup(func() { c.Close() })
	return c
}

func mustConnect(t *testing.T, c *rawclient.Client, p *packets.Connect) *packets.Connack {
	t.Helper()
	ack, err := c.MustConnect(connectPacket(p))
	if err != nil {
		t.Fatalf("CONNECT %s: %v", p.ClientID, err)
	}
	return ack
}
