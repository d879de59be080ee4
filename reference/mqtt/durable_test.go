package mqtt

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	"github.com/wirecheck/wirecheck/reference/mqtt/store"
)

// startDurable starts a broker on a fresh data directory. The test fails
// if the broker logs an error (a failed store commit, say) at any point.
func startDurable(t *testing.T, opts Options) (*Server, string) {
	t.Helper()
	errs := &errorLog{}
	t.Cleanup(func() { // runs after the servers are closed
		if e := errs.all(); len(e) > 0 {
			t.Errorf("broker logged errors: %q", e)
		}
	})
	opts.DataDir, opts.Logger = t.TempDir(), slog.New(errs)
	return startServer(t, opts)
}

// restartServer closes srv and starts a new broker with the same options and
// data directory (on a new port).
func restartServer(t *testing.T, srv *Server) (*Server, string) {
	t.Helper()
	if err := srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	return startServer(t, srv.opts)
}

// TestDurableRestart: retained messages, a persistent session's
// subscriptions and the QoS 1 messages queued for it while offline (each
// acknowledged to its publisher before the restart) all survive a restart.
func TestDurableRestart(t *testing.T) {
	t.Parallel()
	srv, addr := startDurable(t, Options{MaxInflight: 4}) // the queue drains through a small window

	sub, _ := connectSession(t, addr, "dur-sub", false)
	sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{
		{Filter: "dur/q", QoS: 1}, {Filter: "dur/live/#", QoS: 2}}})
	if a := expect[*packets.Suback](sub, 2*time.Second); a.ReturnCodes[0] != 1 || a.ReturnCodes[1] != 2 {
		t.Fatalf("SUBACK %v", a.ReturnCodes)
	}
	sub.disconnect()
	waitSessionOffline(t, srv, "dur-sub")

	pub := client(t, addr, "dur-pub")
	pub.publish(&packets.Publish{Topic: "dur/ret", QoS: 1, PacketID: 1, Retain: true, Payload: []byte("kept")})
	pub.publish(&packets.Publish{Topic: "dur/cleared", QoS: 1, PacketID: 1, Retain: true, Payload: []byte("old")})
	pub.publish(&packets.Publish{Topic: "dur/cleared", QoS: 1, PacketID: 1, Retain: true}) // clears it [MQTT-3.3.1-10]
	const n = 30
	for i := range n {
		pub.publish(&packets.Publish{Topic: "dur/q", QoS: 1, PacketID: uint16(i + 2), Payload: fmt.Appendf(nil, "m%d", i)})
	}

	srv, addr = restartServer(t, srv)
	sub, present := connectSession(t, addr, "dur-sub", false)
	if !present {
		t.Fatalf("session present 0 after restart: the persistent session was lost")
	}
	var got []*packets.Publish
	for i := range n {
		p := sub.expectPublish("dur/q", fmt.Sprintf("m%d", i), 1) // none lost, in order
		got = append(got, p)
		if i == srv.opts.MaxInflight-1 {
			sub.expectSilence(100 * time.Millisecond) // the window is full
		}
		if len(got) == srv.opts.MaxInflight || i == n-1 {
			for _, p := range got {
				sub.ackPub(p)
			}
			got = got[:0]
		}
	}
	sub.expectSilence(200 * time.Millisecond)

	// The subscriptions were restored, not just the queue.
	pub = client(t, addr, "dur-pub")
	pub.publish(&packets.Publish{Topic: "dur/live/x", QoS: 2, PacketID: 1, Payload: []byte("live")})
	sub.ackPub(sub.expectPublish("dur/live/x", "live", 2))

	late := client(t, addr, "dur-late")
	late.subscribe(1, "dur/+", 1)
	if p := late.expectPublish("dur/ret", "kept", 1); !p.Retain {
		t.Fatalf("retained message delivered with RETAIN=0 [MQTT-3.3.1-8]")
	}
	late.expectSilence(100 * time.Millisecond) // the cleared one stayed cleared
}

// TestDurableSessionBookkeeping: what the store keeps of sessions matches
// what the broker did before the restart: an UNSUBSCRIBE is remembered, a
// session discarded by a clean connect stays discarded [MQTT-3.1.2-6],
// QoS 2 messages queued offline come back at QoS 2, and messages dropped at
// the MaxQueued bound do not come back.
func TestDurableSessionBookkeeping(t *testing.T) {
	t.Parallel()
	srv, addr := startDurable(t, Options{MaxQueued: 3})
	a, _ := connectSession(t, addr, "dbk-a", false)
	a.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "dbk/q", QoS: 2}, {Filter: "dbk/gone", QoS: 1}}})
	expect[*packets.Suback](a, 2*time.Second)
	a.send(&packets.Unsubscribe{PacketID: 2, Filters: []string{"dbk/gone"}})
	expect[*packets.Unsuback](a, 2*time.Second)
	a.disconnect()
	b, _ := connectSession(t, addr, "dbk-b", false)
	b.subscribe(1, "dbk/q", 1)
	b.disconnect()
	b, _ = connectSession(t, addr, "dbk-b", true)
	b.disconnect()
	waitSessionOffline(t, srv, "dbk-a")
	waitSessionOffline(t, srv, "dbk-b")

	pub := client(t, addr, "dbk-pub")
	pub.publish(&packets.Publish{Topic: "dbk/gone", QoS: 1, PacketID: 1, Payload: []byte("unsubscribed")})
	for i := range 5 { // 3 queued, 2 dropped
		pub.publish(&packets.Publish{Topic: "dbk/q", QoS: 2, PacketID: uint16(i + 2), Payload: fmt.Appendf(nil, "q%d", i)})
	}
	if d := srv.Stats().MessagesDropped; d != 2 {
		t.Fatalf("MessagesDropped %d, want 2", d)
	}

	_, addr = restartServer(t, srv)
	a, present := connectSession(t, addr, "dbk-a", false)
	if !present {
		t.Fatal("session dbk-a lost")
	}
	var got []*packets.Publish
	for i := range 3 {
		got = append(got, a.expectPublish("dbk/q", fmt.Sprintf("q%d", i), 2))
	}
	for _, p := range got {
		a.ackPub(p)
	}
	a.expectSilence(200 * time.Millisecond)
	if _, present := connectSession(t, addr, "dbk-b", false); present {
		t.Fatal("session dbk-b came back after a clean connect had discarded it")
	}
}

// TestDurableInflightRestart: messages in flight to a persistent session
// when the broker stops are resent after the restart with DUP=1 and their
// packet IDs, and a PUBREL whose PUBREC had arrived is resent too.
func TestDurableInflightRestart(t *testing.T) {
	t.Parallel()
	srv, addr := startDurable(t, Options{})
	sub, _ := connectSession(t, addr, "dinf-sub", false)
	sub.subscribe(1, "dinf/#", 2)
	pub := client(t, addr, "dinf-pub")
	pub.publish(&packets.Publish{Topic: "dinf/1", QoS: 1, PacketID: 1, Payload: []byte("a")})
	pub.publish(&packets.Publish{Topic: "dinf/2", QoS: 2, PacketID: 2, Payload: []byte("b")})
	p1 := sub.expectPublish("dinf/1", "a", 1)
	p2 := sub.expectPublish("dinf/2", "b", 2)
	sub.send(&packets.Pubrec{PacketID: p2.PacketID})
	expect[*packets.Pubrel](sub, 2*time.Second)

	srv, addr = restartServer(t, srv)
	sub, present := connectSession(t, addr, "dinf-sub", false)
	if !present {
		t.Fatalf("session present 0 after restart")
	}
	r1 := expect[*packets.Publish](sub, 2*time.Second)
	if !r1.Dup || r1.PacketID != p1.PacketID || r1.Topic != "dinf/1" || string(r1.Payload) != "a" {
		t.Fatalf("resent %+v, want dinf/1 with DUP=1 and packet ID %d [MQTT-4.4.0-1]", r1, p1.PacketID)
	}
	if rel := expect[*packets.Pubrel](sub, 2*time.Second); rel.PacketID != p2.PacketID {
		t.Fatalf("resent PUBREL %d, want %d", rel.PacketID, p2.PacketID)
	}
	sub.send(&packets.Puback{PacketID: r1.PacketID})
	sub.send(&packets.Pubcomp{PacketID: p2.PacketID})
	sub.ping()
	sub.disconnect()
	waitSessionOffline(t, srv, "dinf-sub")

	// Acknowledged after the restart: gone for good, even across another one.
	_, addr = restartServer(t, srv)
	sub, _ = connectSession(t, addr, "dinf-sub", false)
	sub.expectSilence(200 * time.Millisecond)
}

// TestDurableQoS2InboundRestart: an inbound QoS 2 packet ID awaiting PUBREL
// survives a restart; a resent PUBLISH with that ID is not delivered again
// [MQTT-4.3.3-2], and PUBREL releases it with PUBCOMP.
func TestDurableQoS2InboundRestart(t *testing.T) {
	t.Parallel()
	srv, addr := startDurable(t, Options{})
	sub, _ := connectSession(t, addr, "din-sub", false)
	sub.subscribe(1, "din/t", 2)
	pub, _ := connectSession(t, addr, "din-pub", false)
	pub.send(&packets.Publish{Topic: "din/t", QoS: 2, PacketID: 7, Payload: []byte("once")})
	if rec := expect[*packets.Pubrec](pub, 2*time.Second); rec.PacketID != 7 {
		t.Fatalf("PUBREC %d", rec.PacketID)
	}
	sub.ackPub(sub.expectPublish("din/t", "once", 2))
	sub.ping()

	_, addr = restartServer(t, srv)
	sub, _ = connectSession(t, addr, "din-sub", false)
	pub, present := connectSession(t, addr, "din-pub", false)
	if !present {
		t.Fatalf("publisher's session lost")
	}
	// The publisher did not see PUBREC (as far as the broker knows) and
	// resends; the broker must not route it a second time.
	pub.send(&packets.Publish{Topic: "din/t", QoS: 2, PacketID: 7, Dup: true, Payload: []byte("once")})
	if rec := expect[*packets.Pubrec](pub, 2*time.Second); rec.PacketID != 7 {
		t.Fatalf("PUBREC %d", rec.PacketID)
	}
	pub.send(&packets.Pubrel{PacketID: 7})
	if comp := expect[*packets.Pubcomp](pub, 2*time.Second); comp.PacketID != 7 {
		t.Fatalf("PUBCOMP %d", comp.PacketID)
	}
	sub.expectSilence(200 * time.Millisecond)

	// Released: the same ID now carries a new message.
	pub.publish(&packets.Publish{Topic: "din/t", QoS: 2, PacketID: 7, Payload: []byte("twice")})
	sub.ackPub(sub.expectPublish("din/t", "twice", 2))
}

// TestDurablePubrelAfterRestart: the publisher sends only PUBREL after the
// restart (it had PUBREC) and still gets PUBCOMP.
func TestDurablePubrelAfterRestart(t *testing.T) {
	t.Parallel()
	srv, addr := startDurable(t, Options{})
	pub, _ := connectSession(t, addr, "drel-pub", false)
	pub.send(&packets.Publish{Topic: "drel/t", QoS: 2, PacketID: 9, Payload: []byte("x")})
	expect[*packets.Pubrec](pub, 2*time.Second)

	_, addr = restartServer(t, srv)
	pub, _ = connectSession(t, addr, "drel-pub", false)
	pub.send(&packets.Pubrel{PacketID: 9})
	if comp := expect[*packets.Pubcomp](pub, 2*time.Second); comp.PacketID != 9 {
		t.Fatalf("PUBCOMP %d", comp.PacketID)
	}
}

// TestDurableAckMeansStored: once PUBACK has arrived the message is on disk.
// A copy of the database file taken right after PUBACK (the broker still
// running, nothing flushed by Close) already holds it, and so does the
// broker reopened after Close.
func TestDurableAckMeansStored(t *testing.T) {
	t.Parallel()
	srv, addr := startDurable(t, Options{})
	pub := client(t, addr, "ack-pub") // clean session: nothing else is written
	pub.publish(&packets.Publish{Topic: "ack/ret", QoS: 1, PacketID: 1, Retain: true, Payload: []byte("on disk")})

	copyDir := t.TempDir()
	copyFile(t, filepath.Join(srv.opts.DataDir, store.FileName), filepath.Join(copyDir, store.FileName))
	st, err := store.Open(copyDir)
	if err != nil {
		t.Fatalf("open copy: %v", err)
	}
	snap, err := st.Load()
	st.Close()
	if err != nil {
		t.Fatalf("load copy: %v", err)
	}
	if len(snap.Retained) != 1 || snap.Retained[0].Topic != "ack/ret" || string(snap.Retained[0].Payload) != "on disk" {
		t.Fatalf("database after PUBACK holds %+v, want the retained message", snap.Retained)
	}

	_, addr = restartServer(t, srv)
	c := client(t, addr, "ack-sub")
	c.subscribe(1, "ack/ret", 1)
	c.ackPub(c.expectPublish("ack/ret", "on disk", 1))
}

func copyFile(t *testing.T, from, to string) {
	t.Helper()
	in, err := os.Open(from)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(out, in); err != nil {
		t.Fatal(err)
	}
	if err := out.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDurablePahoRestart: the Paho Go client with a persistent session and
// QoS 1 loses nothing across a broker restart.
func TestDurablePahoRestart(t *testing.T) {
	t.Parallel()
	srv, addr := startDurable(t, Options{})
	msgs := make(chan paho.Message, 100)
	opts := func(addr string) *paho.ClientOptions {
		return paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("paho-dur").
			SetCleanSession(false).SetAutoReconnect(false).SetOrderMatters(true).
			SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) { msgs <- m })
	}
	c := paho.NewClient(opts(addr))
	pahoWait(t, c.Connect(), "connect")
	pahoWait(t, c.Subscribe("pdur/t", 1, nil), "subscribe")
	c.Disconnect(250)
	waitSessionOffline(t, srv, "paho-dur")

	pub := paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("paho-dur-pub"))
	pahoWait(t, pub.Connect(), "connect publisher")
	const n = 5
	for i := range n {
		pahoWait(t, pub.Publish("pdur/t", 1, false, fmt.Sprintf("p%d", i)), "publish") // waits for PUBACK
	}
	pub.Disconnect(250)

	_, addr = restartServer(t, srv)
	c = paho.NewClient(opts(addr))
	tok := c.Connect()
	pahoWait(t, tok, "reconnect")
	defer c.Disconnect(250)
	if !tok.(*paho.ConnectToken).SessionPresent() {
		t.Fatalf("session present 0 after restart")
	}
	for i := range n {
		select {
		case m := <-msgs:
			if m.Topic() != "pdur/t" || string(m.Payload()) != fmt.Sprintf("p%d", i) || m.Qos() != 1 {
				t.Fatalf("message %d: %s %q QoS %d", i, m.Topic(), m.Payload(), m.Qos())
			}
		case <-time.After(3 * time.Second):
			t.Fatalf("received %d of %d messages after restart", i, n)
		}
	}
}

// pahoWait waits for a Paho token and fails on timeout or error.
func pahoWait(t testing.TB, tok paho.Token, what string) {
	t.Helper()
	if !tok.WaitTimeout(5 * time.Second) {
		t.Fatalf("%s: timed out", what)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("%s: %v", what, err)
	}
}

// TestDurableSessionChurnUnderLoad: while QoS 1 messages stream to a topic,
// a persistent subscriber to it is repeatedly created and then discarded by
// a clean-session connect. Every PUBLISH must still be acknowledged: the
// discarding of a session must not make the publisher's durable write fail.
func TestDurableSessionChurnUnderLoad(t *testing.T) {
	t.Parallel()
	_, addr := startDurable(t, Options{})
	pub := client(t, addr, "churn-pub")
	slots := make(chan struct{}, 256) // PUBLISH packets awaiting PUBACK
	stop := make(chan struct{})
	readErr, writeDone := make(chan error, 1), make(chan error, 1)
	go func() { // owns pub's reads
		for {
			p, err := pub.next(10 * time.Second)
			if err == nil {
				if _, ok := p.(*packets.Puback); !ok {
					err = fmt.Errorf("got %v, want PUBACK", p.Type())
				}
			}
			if err != nil {
				readErr <- err
				return
			}
			<-slots
		}
	}()
	go func() { // owns pub's writes
		var err error
		defer func() { writeDone <- err }()
		for id := uint16(1); ; id = id%60000 + 1 {
			select {
			case <-stop:
				return
			case slots <- struct{}{}:
			}
			b, _ := packets.Encode(&packets.Publish{Topic: "churn/t", QoS: 1, PacketID: id, Payload: []byte("x")})
			pub.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
			if _, err = pub.nc.Write(b); err != nil {
				return
			}
		}
	}()
	for range 40 {
		c, _ := connectSession(t, addr, "churn-sub", false)
		c.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "churn/t", QoS: 1}}})
		for { // matching PUBLISH packets may come before SUBACK (§3.8.4)
			p := expect[packets.Packet](c, 2*time.Second)
			if _, ok := p.(*packets.Suback); ok {
				break
			}
		}
		c.nc.Close()
		c, _ = connectSession(t, addr, "churn-sub", true) // discards the persistent session
		c.nc.Close()
	}
	close(stop)
	if err := <-writeDone; err != nil {
		t.Fatalf("publisher write: %v", err)
	}
	// Taking every slot succeeds once every PUBLISH has been acknowledged.
	deadline := time.After(10 * time.Second)
	for range cap(slots) {
		select {
		case slots <- struct{}{}:
		case err := <-readErr:
			t.Fatalf("publisher lost its connection with %d PUBLISH unacknowledged: %v", len(slots), err)
		case <-deadline:
			t.Fatal("not every PUBLISH was acknowledged within 10s")
		}
	}
}

// errorLog is a slog.Handler that keeps the messages of error records, so a
// test can require that the broker logged none (a failed store commit, say).
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

func (h *errorLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (h *errorLog) WithAttrs([]slog.Attr) slog.Handler           { return h }
func (h *errorLog) WithGroup(string) slog.Handler                { return h }

func (h *errorLog) Handle(_ context.Context, r slog.Record) error {
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool { msg += " " + a.String(); return true })
	h.mu.Lock()
	h.msgs = append(h.msgs, msg)
	h.mu.Unlock()
	return nil
}

func (h *errorLog) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.msgs...)
}
