package mqtt

import (
	"context"
	"crypto/rand"
	"crypto/sha512"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/wirecheck/wirecheck/reference/mqtt/auth"
	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// startServerListen is startServer with the listeners given (startServer
// always listens on one plain TCP port). It returns one address per
// listener, in order.
func startServerListen(t testing.TB, opts Options, listen ...string) (*Server, []string) {
	t.Helper()
	opts.Listen = listen
	if opts.SysInterval == 0 {
		opts.SysInterval = -1
	}
	if !opts.AllowAnonymous && opts.Passwords == nil {
		opts.AllowAnonymous = true
	}
	srv, err := New(opts)
	if err != nil {
		t.Fatalf("new server: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	var addrs []string
	for _, a := range srv.Addrs() {
		addrs = append(addrs, a.String())
	}
	return srv, addrs
}

// writePasswordFile writes a Mosquitto password file for users (name →
// password) with mosquitto_passwd, or, when the binary is not installed or
// inTest is set, in its $6$ format: base64 salt and base64
// SHA-512(password || salt).
func writePasswordFile(t testing.TB, users map[string]string, inTest bool) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "passwd")
	if bin, err := exec.LookPath("mosquitto_passwd"); err == nil && !inTest {
		first := true
		for u, p := range users {
			args := []string{"-b", path, u, p}
			if first {
				args = append([]string{"-c"}, args...)
				first = false
			}
			if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
				t.Fatalf("mosquitto_passwd: %v\n%s", err, out)
			}
		}
		return path
	}
	if !inTest {
		t.Log("mosquitto_passwd not on PATH: writing $6$ hashes in-test")
	}
	var b strings.Builder
	for u, p := range users {
		salt := make([]byte, 12)
		rand.Read(salt)
		sum := sha512.Sum512(append([]byte(p), salt...))
		fmt.Fprintf(&b, "%s:$6$%s$%s\n", u, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(sum[:]))
	}
	if err := os.WriteFile(path, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func loadPasswords(t testing.TB, users map[string]string) *auth.Passwords {
	t.Helper()
	pw, err := auth.LoadPasswordFile(writePasswordFile(t, users, false))
	if err != nil {
		t.Fatalf("load password file: %v", err)
	}
	return pw
}

// TestSecurityPasswords: a password file from mosquitto_passwd (Debian's
// 2.0.11 writes $7$ PBKDF2 hashes) and one in the $6$ format; good
// credentials are accepted, bad ones refused with CONNACK 4, an anonymous
// client with CONNACK 5 when anonymous access is off. A refused client gets
// session present 0 and a closed connection [MQTT-3.2.2-4] [MQTT-3.2.2-5].
func TestSecurityPasswords(t *testing.T) {
	t.Parallel()
	users := map[string]string{"alice": "secretA", "bob": "secret B"}
	for _, inTest := range []bool{false, true} {
		name := map[bool]string{false: "mosquitto_passwd", true: "sha512 in-test"}[inTest]
		t.Run(name, func(t *testing.T) {
			pw, err := auth.LoadPasswordFile(writePasswordFile(t, users, inTest))
			if err != nil {
				t.Fatalf("load password file: %v", err)
			}
			_, addr := startServer(t, Options{Passwords: pw})
			checkCredentials(t, addr)
		})
	}
}

func checkCredentials(t *testing.T, addr string) {
	for _, c := range []struct {
		name string
		p    packets.Connect
		code byte
	}{
		{"good alice", packets.Connect{UsernameFlag: true, Username: "alice", PasswordFlag: true, Password: []byte("secretA")}, packets.Accepted},
		{"good bob", packets.Connect{UsernameFlag: true, Username: "bob", PasswordFlag: true, Password: []byte("secret B")}, packets.Accepted},
		{"bad password", packets.Connect{UsernameFlag: true, Username: "alice", PasswordFlag: true, Password: []byte("secretB")}, packets.RefusedBadUsernamePassword},
		{"other user's password", packets.Connect{UsernameFlag: true, Username: "bob", PasswordFlag: true, Password: []byte("secretA")}, packets.RefusedBadUsernamePassword},
		{"unknown user", packets.Connect{UsernameFlag: true, Username: "mallory", PasswordFlag: true, Password: []byte("secretA")}, packets.RefusedBadUsernamePassword},
		{"user without password", packets.Connect{UsernameFlag: true, Username: "alice"}, packets.RefusedBadUsernamePassword},
		{"anonymous", packets.Connect{}, packets.RefusedNotAuthorized},
	} {
		t.Run(c.name, func(t *testing.T) {
			c.p.ClientID, c.p.CleanSession = "pw-"+strings.ReplaceAll(c.name, " ", "-"), true
			rc := dialRaw(t, addr)
			ack := rc.connect(&c.p, c.code)
			if c.code != packets.Accepted {
				if ack.SessionPresent {
					t.Fatalf("session present 1 on a refusal [MQTT-3.2.2-4]")
				}
				rc.expectClosed(2 * time.Second)
				return
			}
			rc.ping()
		})
	}
}

const testACL = `# wirecheck security_test
user alice
topic readwrite shared/#
topic read news/#
topic write inbox/#

user bob
topic readwrite news/#
topic readwrite shared/#

pattern readwrite dev/%c/#
pattern read inbox/%u/#
`

func connectUser(t testing.TB, addr, id, user, password string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.connect(&packets.Connect{ClientID: id, CleanSession: true, UsernameFlag: true, Username: user,
		PasswordFlag: true, Password: []byte(password)}, packets.Accepted)
	return c
}

func (c *rawClient) subscribeMany(id uint16, filters ...string) []byte {
	c.t.Helper()
	p := &packets.Subscribe{PacketID: id}
	for _, f := range filters {
		p.Subscriptions = append(p.Subscriptions, packets.Subscription{Filter: f, QoS: 1})
	}
	c.send(p)
	return expect[*packets.Suback](c, 2*time.Second).ReturnCodes
}

// aclOptions: testACL loaded from a file, users alice and bob.
func aclOptions(t *testing.T) Options {
	t.Helper()
	aclPath := filepath.Join(t.TempDir(), "acl")
	if err := os.WriteFile(aclPath, []byte(testACL), 0o600); err != nil {
		t.Fatal(err)
	}
	acl, err := auth.LoadACLFile(aclPath)
	if err != nil {
		t.Fatal(err)
	}
	return Options{ACL: acl, Passwords: loadPasswords(t, map[string]string{"alice": "a-pw", "bob": "b-pw"})}
}

// TestSecurityACL: an acl_file with user sections and %c / %u patterns.
// Refused subscriptions get 0x80 [MQTT-3.8.4-5]; a refused PUBLISH is
// acknowledged as usual and delivered to no one [MQTT-3.3.5-2].
func TestSecurityACL(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, aclOptions(t))
	a := connectUser(t, addr, "dev-a", "alice", "a-pw")
	b := connectUser(t, addr, "dev-b", "bob", "b-pw")

	const no = packets.SubackFailure
	for _, c := range []struct {
		who     *rawClient
		filters []string
		want    []byte
	}{
		{a, []string{"secret/#", "news/#", "dev/dev-a/#", "dev/dev-b/#", "inbox/alice/#", "inbox/bob/#"},
			[]byte{no, 1, 1, no, 1, no}},
		{b, []string{"news/#", "shared/#", "inbox/bob/#", "inbox/alice/#", "dev/dev-b/#", "dev/dev-a/#"},
			[]byte{1, 1, 1, no, 1, no}},
	} {
		if got := c.who.subscribeMany(1, c.filters...); string(got) != string(c.want) {
			t.Fatalf("SUBACK for %v: %v, want %v", c.filters, got, c.want)
		}
	}

	// Denied for alice: news/ is read-only, dev/dev-b/ is dev-b's (%c).
	// Each is acknowledged normally.
	a.publish(&packets.Publish{Topic: "news/x", QoS: 1, PacketID: 1, Payload: []byte("denied")})
	a.publish(&packets.Publish{Topic: "dev/dev-b/x", QoS: 2, PacketID: 2, Payload: []byte("denied")})
	a.publish(&packets.Publish{Topic: "news/y", QoS: 0, Payload: []byte("denied")})
	// Allowed: the first thing bob receives is this, so the denied ones
	// went nowhere (a connection's messages keep their order).
	a.publish(&packets.Publish{Topic: "inbox/bob/hi", QoS: 1, PacketID: 3, Payload: []byte("for bob")}) // %u
	b.ackPub(b.expectPublish("inbox/bob/hi", "for bob", 1))

	// QoS 0 below: the publishers are subscribers too, and their own copy
	// may overtake a PUBACK.
	b.publish(&packets.Publish{Topic: "dev/dev-b/t", Payload: []byte("own")}) // %c
	b.expectPublish("dev/dev-b/t", "own", 0)
	a.publish(&packets.Publish{Topic: "dev/dev-a/t", Payload: []byte("own")}) // %c
	a.expectPublish("dev/dev-a/t", "own", 0)

	b.publish(&packets.Publish{Topic: "news/n", Payload: []byte("news")})
	a.expectPublish("news/n", "news", 0)
	b.expectPublish("news/n", "news", 0)
}

// selfSigned returns a server TLS config and a client config trusting it.
func selfSigned(t testing.TB) (server, client *tls.Config, certPEM []byte) {
	t.Helper()
	conf, pemBytes, err := listeners.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pemBytes) {
		t.Fatal("bad PEM")
	}
	return conf, &tls.Config{RootCAs: pool, MinVersion: tls.VersionTLS12}, pemBytes
}

// TestSecurityTLS: a tls:// listener serves a raw TLS client and Paho over
// ssl://; a plaintext client on the TLS port is closed.
func TestSecurityTLS(t *testing.T) {
	t.Parallel()
	serverConf, clientConf, _ := selfSigned(t)
	_, addrs := startServerListen(t, Options{TLS: serverConf}, "tls://127.0.0.1:0")
	addr := addrs[0]

	d := &net.Dialer{Timeout: 2 * time.Second}
	tc, err := tls.DialWithDialer(d, "tcp", addr, clientConf)
	if err != nil {
		t.Fatalf("TLS dial: %v", err)
	}
	t.Cleanup(func() { tc.Close() })
	raw := &rawClient{t: t, nc: tc, r: packets.NewReader(tc, 4096)}
	raw.connect(&packets.Connect{ClientID: "tls-raw", CleanSession: true}, packets.Accepted)
	raw.subscribe(1, "tls/raw", 1)

	msgs := make(chan paho.Message, 10)
	pc := paho.NewClient(paho.NewClientOptions().AddBroker("ssl://" + addr).SetClientID("tls-paho").
		SetTLSConfig(clientConf).SetAutoReconnect(false))
	pahoWait(t, pc.Connect(), "paho ssl connect")
	defer pc.Disconnect(250)
	pahoWait(t, pc.Subscribe("tls/paho", 1, func(_ paho.Client, m paho.Message) { msgs <- m }), "subscribe")
	pahoWait(t, pc.Publish("tls/raw", 1, false, "from paho"), "publish")
	raw.ackPub(raw.expectPublish("tls/raw", "from paho", 1))
	raw.publish(&packets.Publish{Topic: "tls/paho", QoS: 1, PacketID: 5, Payload: []byte("from raw")})
	select {
	case m := <-msgs:
		if string(m.Payload()) != "from raw" {
			t.Fatalf("paho got %q", m.Payload())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("paho over TLS received nothing")
	}

	plain := dialRaw(t, addr)
	plain.send(&packets.Connect{ClientID: "tls-plain", CleanSession: true})
	plain.expectClosed(3 * time.Second)
}

// TestSecurityWebSocket: a ws:// listener (subprotocol "mqtt") serves Paho
// over ws:// and a raw WebSocket client whose CONNECT spans two binary
// frames [MQTT-6.0.0-2]; messages cross between TCP and WebSocket clients.
func TestSecurityWebSocket(t *testing.T) {
	t.Parallel()
	_, addrs := startServerListen(t, Options{}, "127.0.0.1:0", "ws://127.0.0.1:0")
	tcpAddr, wsAddr := addrs[0], addrs[1]

	msgs := make(chan paho.Message, 10)
	pc := paho.NewClient(paho.NewClientOptions().AddBroker("ws://" + wsAddr + "/mqtt").SetClientID("ws-paho").
		SetAutoReconnect(false))
	pahoWait(t, pc.Connect(), "paho ws connect")
	defer pc.Disconnect(250)
	pahoWait(t, pc.Subscribe("ws/paho", 2, func(_ paho.Client, m paho.Message) { msgs <- m }), "subscribe")

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ws, _, err := websocket.Dial(ctx, "ws://"+wsAddr+"/mqtt", &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
	if err != nil {
		t.Fatalf("websocket dial: %v", err)
	}
	if ws.Subprotocol() != "mqtt" {
		t.Fatalf("subprotocol %q, want mqtt [MQTT-6.0.0-4]", ws.Subprotocol())
	}
	nc := websocket.NetConn(context.Background(), ws, websocket.MessageBinary) // one frame per Write
	t.Cleanup(func() { nc.Close() })
	raw := &rawClient{t: t, nc: nc, r: packets.NewReader(nc, 4096)}
	connect, _ := packets.Encode(&packets.Connect{ClientID: "ws-raw", CleanSession: true, KeepAlive: 30})
	raw.sendBytes(connect[:7]) // frame 1: fixed header and part of the protocol name
	raw.sendBytes(connect[7:]) // frame 2: the rest
	if ack := expect[*packets.Connack](raw, 2*time.Second); ack.ReturnCode != 0 {
		t.Fatalf("CONNACK %d", ack.ReturnCode)
	}
	// Two packets in one frame.
	sub, _ := packets.Encode(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "ws/raw", QoS: 1}}})
	pub, _ := packets.Encode(&packets.Publish{Topic: "ws/paho", QoS: 1, PacketID: 2, Payload: []byte("from ws raw")})
	raw.sendBytes(append(sub, pub...))
	expect[*packets.Suback](raw, 2*time.Second)
	expect[*packets.Puback](raw, 2*time.Second)
	select {
	case m := <-msgs:
		if string(m.Payload()) != "from ws raw" {
			t.Fatalf("paho got %q", m.Payload())
		}
	case <-time.After(3 * time.Second):
		t.Fatal("paho over ws received nothing")
	}

	tcp := client(t, tcpAddr, "ws-tcp")
	tcp.publish(&packets.Publish{Topic: "ws/raw", QoS: 1, PacketID: 1, Payload: []byte("from tcp")})
	raw.ackPub(raw.expectPublish("ws/raw", "from tcp", 1))
	raw.disconnect()
}

// TestSecurityMaxPacketSize: a packet over MaxPacketSize closes that
// connection only; one exactly at the limit is accepted.
func TestSecurityMaxPacketSize(t *testing.T) {
	t.Parallel()
	const limit = 1024
	_, addr := startServer(t, Options{MaxPacketSize: limit})
	sub := client(t, addr, "lim-sub")
	sub.subscribe(1, "lim/t", 1)
	// PUBLISH "lim/t" QoS 1: 1 type byte + 2 length bytes + 7 topic + 2 ID.
	const overhead = 1 + 2 + 7 + 2
	big := dialRaw(t, addr)
	big.connect(&packets.Connect{ClientID: "lim-big", CleanSession: true}, packets.Accepted)
	at := &packets.Publish{Topic: "lim/t", QoS: 1, PacketID: 1, Payload: make([]byte, limit-overhead)}
	if b, _ := packets.Encode(at); len(b) != limit {
		t.Fatalf("test bug: packet is %d bytes", len(b))
	}
	big.publish(at)
	sub.ackPub(sub.expectPublish("lim/t", string(at.Payload), 1))

	big.send(&packets.Publish{Topic: "lim/t", QoS: 1, PacketID: 2, Payload: make([]byte, limit-overhead+1)})
	big.expectClosed(2 * time.Second)

	other := client(t, addr, "lim-other")
	other.publish(&packets.Publish{Topic: "lim/t", QoS: 1, PacketID: 1, Payload: []byte("small")})
	sub.ackPub(sub.expectPublish("lim/t", "small", 1)) // the oversized one was not routed
}

// TestSecurityMaxConnections: a connection beyond MaxConnections is closed
// at once; the others are unaffected, and the slot frees when one leaves.
func TestSecurityMaxConnections(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{MaxConnections: 2})
	c1 := client(t, addr, "max-1")
	c2 := client(t, addr, "max-2")
	extra := dialRaw(t, addr)
	extra.expectClosed(2 * time.Second)
	c1.ping()
	c2.ping()

	c2.disconnect()
	waitUntilTrue(t, 3*time.Second, "a free connection slot", func() bool {
		nc, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false
		}
		defer nc.Close()
		c := &rawClient{t: t, nc: nc, r: packets.NewReader(nc, 64)}
		b, _ := packets.Encode(&packets.Connect{ClientID: "max-3", CleanSession: true})
		if _, err := nc.Write(b); err != nil {
			return false
		}
		p, err := c.next(time.Second)
		ack, ok := p.(*packets.Connack)
		return err == nil && ok && ack.ReturnCode == 0
	})
	c1.ping()
}

// TestSecurityWillACL: a will is a PUBLISH made on the client's behalf, so
// the ACL applies to it as to any other: a will on a topic the client may
// not write, or on $SYS, reaches no one. Refusing the CONNECT (CONNACK 5)
// and accepting it but never delivering the will (what Mosquitto 2.0.11
// does) are both acceptable; delivering it is not.
func TestSecurityWillACL(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, aclOptions(t))
	bob := connectUser(t, addr, "wacl-bob", "bob", "b-pw")
	if got := bob.subscribeMany(1, "news/#", "shared/#"); string(got) != "\x01\x01" {
		t.Fatalf("SUBACK %v", got)
	}
	for _, c := range []struct{ id, topic string }{
		{"wacl-denied", "news/fake"},  // alice may only read news/
		{"wacl-sys", "$SYS/broker/x"}, // the broker's own
		{"wacl-ok", "shared/will"},    // allowed: the control case
	} {
		a := dialRaw(t, addr)
		a.send(&packets.Connect{ClientID: c.id, CleanSession: true, UsernameFlag: true, Username: "alice",
			PasswordFlag: true, Password: []byte("a-pw"), WillFlag: true, WillTopic: c.topic, WillMessage: []byte("will of " + c.id)})
		ack := expect[*packets.Connack](a, 2*time.Second)
		switch ack.ReturnCode {
		case packets.Accepted:
			a.nc.Close() // abnormal close: the will is due, if allowed
		case packets.RefusedNotAuthorized:
			if c.topic == "shared/will" {
				t.Fatalf("allowed will topic refused")
			}
			t.Logf("outcome: will on %q refused at CONNECT (CONNACK 5)", c.topic)
		default:
			t.Fatalf("CONNACK %d", ack.ReturnCode)
		}
	}
	// Only the allowed will arrives, and it is the first thing bob gets.
	bob.ackPub(bob.expectPublish("shared/will", "will of wacl-ok", 0))
	bob.expectSilence(200 * time.Millisecond)
}

// TestSecurityACLDurableSession: a persistent session restored from the
// store after a restart is still its user's: while it is offline, before it
// has reconnected, messages its ACL lets it read are kept for it and the
// others are not delivered.
func TestSecurityACLDurableSession(t *testing.T) {
	t.Parallel()
	srv, addr := startDurable(t, aclOptions(t))
	connect := func(addr, id string) (*rawClient, bool) {
		c := dialRaw(t, addr)
		ack := c.connect(&packets.Connect{ClientID: id, UsernameFlag: true, Username: "bob",
			PasswordFlag: true, Password: []byte("b-pw")}, packets.Accepted)
		return c, ack.SessionPresent
	}
	sub, _ := connect(addr, "adur-sub")
	// inbox/# is granted (it overlaps inbox/bob/#, which bob may read), but
	// only bob's own inbox is delivered.
	if got := sub.subscribeMany(1, "news/#", "inbox/#"); string(got) != "\x01\x01" {
		t.Fatalf("SUBACK %v", got)
	}
	sub.disconnect()
	waitSessionOffline(t, srv, "adur-sub")

	_, addr = restartServer(t, srv)
	pub, _ := connect(addr, "adur-pub")
	pub.publish(&packets.Publish{Topic: "news/after-restart", QoS: 1, PacketID: 1, Payload: []byte("n")})
	alice := connectUser(t, addr, "adur-alice", "alice", "a-pw")
	alice.publish(&packets.Publish{Topic: "inbox/carol/m", QoS: 1, PacketID: 1, Payload: []byte("not bob's")})
	alice.publish(&packets.Publish{Topic: "inbox/bob/m", QoS: 1, PacketID: 2, Payload: []byte("m")}) // %u

	sub, present := connect(addr, "adur-sub")
	if !present {
		t.Fatal("session lost")
	}
	p1 := sub.expectPublish("news/after-restart", "n", 1)
	p2 := sub.expectPublish("inbox/bob/m", "m", 1)
	sub.ackPub(p1)
	sub.ackPub(p2)
	sub.expectSilence(200 * time.Millisecond)
}
