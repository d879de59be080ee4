package mqtt

import (
	"fmt"
	"io"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// Helpers shared by session_test.go, durable_test.go, security_test.go,
// robust_test.go and paho_test.go.

// connectSession dials addr and connects id with the given CleanSession
// flag, requiring CONNACK 0; it returns the client and Session Present.
func connectSession(t testing.TB, addr, id string, clean bool) (*rawClient, bool) {
	t.Helper()
	c := dialRaw(t, addr)
	ack := c.connect(&packets.Connect{ClientID: id, CleanSession: clean}, packets.Accepted)
	return c, ack.SessionPresent
}

// disconnect sends DISCONNECT and waits for the broker to close the socket.
func (c *rawClient) disconnect() {
	c.t.Helper()
	c.send(&packets.Disconnect{})
	c.expectClosed(2 * time.Second)
}

// waitUntilTrue polls cond until it holds or d passes. It waits for a state
// change inside the broker that no packet announces (a session being
// detached after its socket closed), so polling with a deadline is the
// event wait here.
func waitUntilTrue(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitSessionOffline waits until the broker has detached the connection of
// session id (it closes the socket first and detaches just after), so that
// what is published next is queued rather than sent on the dying connection.
// The connection's done channel is closed once teardown, detach included,
// has finished.
func waitSessionOffline(t testing.TB, srv *Server, id string) {
	t.Helper()
	srv.mu.Lock()
	s := srv.sessions[id]
	srv.mu.Unlock()
	if s == nil {
		return
	}
	s.mu.Lock()
	c := s.conn
	s.mu.Unlock()
	if c == nil {
		return
	}
	select {
	case <-c.done:
	case <-time.After(2 * time.Second):
		t.Fatalf("session %s still attached after 2s", id)
	}
}

// expectPublish reads the next packet within 2 s and requires a PUBLISH with
// the given topic, payload and QoS; it does not acknowledge it.
func (c *rawClient) expectPublish(topic, payload string, qos byte) *packets.Publish {
	c.t.Helper()
	p := expect[*packets.Publish](c, 2*time.Second)
	if p.Topic != topic || string(p.Payload) != payload || p.QoS != qos {
		c.t.Fatalf("got PUBLISH %q %q QoS %d (dup %v, id %d), want %q %q QoS %d",
			p.Topic, p.Payload, p.QoS, p.Dup, p.PacketID, topic, payload, qos)
	}
	return p
}

// ping proves the connection is alive and that the broker has processed
// everything sent before it: PINGRESP comes after the responses to earlier
// packets because a connection's packets are handled in order.
func (c *rawClient) ping() {
	c.t.Helper()
	c.send(&packets.Pingreq{})
	for {
		p, err := c.next(2 * time.Second)
		if err != nil {
			c.t.Fatalf("waiting for PINGRESP: %v", err)
		}
		if _, ok := p.(*packets.Pingresp); ok {
			return
		}
		c.t.Fatalf("got %v %+v while waiting for PINGRESP", p.Type(), p)
	}
}

// TestSessionPersistentSubscriptions: a persistent session keeps its
// subscriptions across a reconnect and CONNACK says so.
func TestSessionPersistentSubscriptions(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Options{})
	sub, present := connectSession(t, addr, "ps-sub", false)
	if present {
		t.Fatalf("session present 1 for a new session [MQTT-3.2.2-3]")
	}
	if a := sub.subscribe(1, "ps/+", 1); a.ReturnCodes[0] != 1 {
		t.Fatalf("SUBACK %v", a.ReturnCodes)
	}
	sub.disconnect()
	waitSessionOffline(t, srv, "ps-sub")

	sub, present = connectSession(t, addr, "ps-sub", false)
	if !present {
		t.Fatalf("session present 0 on resuming a persistent session [MQTT-3.2.2-2]")
	}
	pub := client(t, addr, "ps-pub")
	pub.publish(&packets.Publish{Topic: "ps/a", QoS: 1, PacketID: 1, Payload: []byte("hello")})
	p := sub.expectPublish("ps/a", "hello", 1)
	if p.Dup || p.Retain {
		t.Fatalf("DUP %v RETAIN %v on a first live delivery", p.Dup, p.Retain)
	}
	sub.ackPub(p)
}

// TestSessionQueuedWhileOffline: QoS 1 and 2 messages for an offline
// persistent session are stored and delivered in order on reconnect
// [MQTT-3.1.2-5]; QoS 0 ones are not (the broker's chosen behaviour).
func TestSessionQueuedWhileOffline(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Options{})
	sub, _ := connectSession(t, addr, "q-sub", false)
	sub.subscribe(1, "q/#", 2)
	sub.disconnect()
	waitSessionOffline(t, srv, "q-sub")

	pub := client(t, addr, "q-pub")
	pub.publish(&packets.Publish{Topic: "q/0", QoS: 0, Payload: []byte("zero")})
	pub.publish(&packets.Publish{Topic: "q/1", QoS: 1, PacketID: 1, Payload: []byte("one")})
	pub.publish(&packets.Publish{Topic: "q/2", QoS: 2, PacketID: 2, Payload: []byte("two")})
	pub.publish(&packets.Publish{Topic: "q/1b", QoS: 1, PacketID: 3, Payload: []byte("one-b")})

	sub, present := connectSession(t, addr, "q-sub", false)
	if !present {
		t.Fatalf("session present 0 [MQTT-3.2.2-2]")
	}
	// All three fit the in-flight window, so they come back to back.
	var got []*packets.Publish
	for _, w := range []struct {
		topic, payload string
		qos            byte
	}{{"q/1", "one", 1}, {"q/2", "two", 2}, {"q/1b", "one-b", 1}} {
		p := sub.expectPublish(w.topic, w.payload, w.qos)
		if p.Dup {
			t.Fatalf("%s: DUP=1 on the first delivery of a queued message", w.topic)
		}
		got = append(got, p)
	}
	for _, p := range got {
		sub.ackPub(p)
	}
	sub.expectSilence(200 * time.Millisecond)
	t.Log("outcome: QoS 0 messages are not queued for an offline persistent session")
}

// TestSessionQueueBounded: at most MaxQueued messages wait for an offline
// session; the rest are dropped and counted.
func TestSessionQueueBounded(t *testing.T) {
	t.Parallel()
	const maxQueued, sent = 5, 8
	srv, addr := startServer(t, Options{MaxQueued: maxQueued})
	sub, _ := connectSession(t, addr, "bound-sub", false)
	sub.subscribe(1, "bound/t", 1)
	sub.disconnect()
	waitSessionOffline(t, srv, "bound-sub")

	before := srv.Stats().MessagesDropped
	pub := client(t, addr, "bound-pub")
	for i := range sent {
		pub.publish(&packets.Publish{Topic: "bound/t", QoS: 1, PacketID: uint16(i + 1), Payload: fmt.Appendf(nil, "m%d", i)})
	}
	if d := srv.Stats().MessagesDropped - before; d != sent-maxQueued {
		t.Fatalf("MessagesDropped grew by %d, want %d", d, sent-maxQueued)
	}
	sub, _ = connectSession(t, addr, "bound-sub", false)
	for i := range maxQueued { // the oldest are kept, later arrivals dropped
		sub.ackPub(sub.expectPublish("bound/t", fmt.Sprintf("m%d", i), 1))
	}
	sub.expectSilence(200 * time.Millisecond)
}

// TestSessionInflightResent: on resuming a session the broker resends
// unacknowledged PUBLISH packets with DUP=1 and their original packet IDs,
// and PUBREL where PUBREC had arrived, in the original order [MQTT-4.4.0-1]
// [MQTT-3.3.1-1].
func TestSessionInflightResent(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	sub, _ := connectSession(t, addr, "inf-sub", false)
	sub.subscribe(1, "inf/#", 2)
	pub := client(t, addr, "inf-pub")
	pub.publish(&packets.Publish{Topic: "inf/1", QoS: 1, PacketID: 1, Payload: []byte("a")})
	pub.publish(&packets.Publish{Topic: "inf/2", QoS: 2, PacketID: 2, Payload: []byte("b")})
	pub.publish(&packets.Publish{Topic: "inf/3", QoS: 2, PacketID: 3, Payload: []byte("c")})

	p1 := sub.expectPublish("inf/1", "a", 1) // not acknowledged
	p2 := sub.expectPublish("inf/2", "b", 2) // not acknowledged
	p3 := sub.expectPublish("inf/3", "c", 2)
	sub.send(&packets.Pubrec{PacketID: p3.PacketID})
	if rel := expect[*packets.Pubrel](sub, 2*time.Second); rel.PacketID != p3.PacketID {
		t.Fatalf("PUBREL %d, want %d", rel.PacketID, p3.PacketID)
	}
	sub.nc.Close() // drop the connection: no PUBACK, PUBREC or PUBCOMP

	sub, present := connectSession(t, addr, "inf-sub", false)
	if !present {
		t.Fatalf("session present 0")
	}
	r1 := expect[*packets.Publish](sub, 2*time.Second)
	r2 := expect[*packets.Publish](sub, 2*time.Second)
	rel := expect[*packets.Pubrel](sub, 2*time.Second)
	for _, c := range []struct {
		got, want *packets.Publish
	}{{r1, p1}, {r2, p2}} {
		if !c.got.Dup || c.got.PacketID != c.want.PacketID || c.got.Topic != c.want.Topic ||
			c.got.QoS != c.want.QoS || string(c.got.Payload) != string(c.want.Payload) {
			t.Fatalf("resent %+v, want %+v with DUP=1 and the same packet ID [MQTT-4.4.0-1]", c.got, c.want)
		}
	}
	if rel.PacketID != p3.PacketID {
		t.Fatalf("resent PUBREL %d, want %d", rel.PacketID, p3.PacketID)
	}
	sub.send(&packets.Puback{PacketID: r1.PacketID})
	sub.ackPub(r2)
	sub.send(&packets.Pubcomp{PacketID: rel.PacketID})
	sub.ping()
	sub.disconnect()

	// Everything was acknowledged: nothing is resent next time.
	sub, present = connectSession(t, addr, "inf-sub", false)
	if !present {
		t.Fatalf("session present 0")
	}
	sub.expectSilence(200 * time.Millisecond)
}

// TestSessionCleanDiscardsPersistent: CleanSession=1 discards the previous
// persistent session, with its subscriptions and queued messages, and the
// clean session itself ends with its connection [MQTT-3.1.2-6].
func TestSessionCleanDiscardsPersistent(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Options{})
	sub, _ := connectSession(t, addr, "cl-sub", false)
	sub.subscribe(1, "cl/t", 1)
	sub.disconnect()
	waitSessionOffline(t, srv, "cl-sub")
	pub := client(t, addr, "cl-pub")
	pub.publish(&packets.Publish{Topic: "cl/t", QoS: 1, PacketID: 1, Payload: []byte("queued")})

	sub, present := connectSession(t, addr, "cl-sub", true)
	if present {
		t.Fatalf("session present 1 with CleanSession=1 [MQTT-3.2.2-1]")
	}
	sub.expectSilence(200 * time.Millisecond) // the queued message went with the old session
	pub.publish(&packets.Publish{Topic: "cl/t", QoS: 1, PacketID: 2, Payload: []byte("live")})
	sub.ping() // the subscription went too
	sub.disconnect()
	waitSessionOffline(t, srv, "cl-sub")

	sub, present = connectSession(t, addr, "cl-sub", false)
	if present {
		t.Fatalf("session present 1 after a clean session ended [MQTT-3.1.2-6]")
	}
	pub.publish(&packets.Publish{Topic: "cl/t", QoS: 1, PacketID: 3, Payload: []byte("after")})
	sub.expectSilence(200 * time.Millisecond)
}

// TestSessionConnackFirstUnderLoad: while messages stream to a persistent
// session, every reconnect sees CONNACK first [MQTT-3.2.0-1], then the
// resent in-flight messages (DUP=1) before any new one, with no message
// sent twice as new.
func TestSessionConnackFirstUnderLoad(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	sub, _ := connectSession(t, addr, "load-sub", false)
	sub.subscribe(1, "load/#", 1)
	sub.send(&packets.Subscribe{PacketID: 2, Subscriptions: []packets.Subscription{{Filter: "load0/#", QoS: 0}}})
	expect[*packets.Suback](sub, 2*time.Second)

	stop := make(chan struct{})
	pubDone := make(chan error, 1)
	pub := client(t, addr, "load-pub")
	go io.Copy(io.Discard, pub.nc) // PUBACKs are read and ignored
	go func() {
		// QoS 0 and QoS 1 alternate, as fast as the broker reads them.
		var err error
		defer func() { pubDone <- err }()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			default:
			}
			var p packets.Packet = &packets.Publish{Topic: "load0/t", Payload: []byte("x")}
			if i%2 == 1 {
				p = &packets.Publish{Topic: "load/t", QoS: 1, PacketID: uint16(i%60000 + 1), Payload: fmt.Appendf(nil, "%d", i)}
			}
			b, _ := packets.Encode(p)
			pub.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
			if _, err = pub.nc.Write(b); err != nil {
				return
			}
		}
	}()
	defer func() {
		close(stop)
		if err := <-pubDone; err != nil {
			t.Errorf("publisher: %v", err)
		}
	}()

	for round := range 30 {
		sub.nc.Close()
		sub = dialRaw(t, addr)
		sub.send(&packets.Connect{ClientID: "load-sub"})
		first, err := sub.next(2 * time.Second)
		if err != nil {
			t.Fatalf("round %d: %v", round, err)
		}
		if ack, ok := first.(*packets.Connack); !ok || !ack.SessionPresent || ack.ReturnCode != 0 {
			t.Fatalf("round %d: first packet %v %+v, want CONNACK with session present [MQTT-3.2.0-1]", round, first.Type(), first)
		}
		// Read a few packets: once a DUP=0 QoS 1 PUBLISH has been seen, no
		// DUP=1 may follow (resends come first, in order [MQTT-4.4.0-1]).
		seenNew := false
		for range 20 {
			p := expect[*packets.Publish](sub, 2*time.Second)
			if p.QoS == 0 {
				continue
			}
			if p.Dup && seenNew {
				t.Fatalf("round %d: resent PUBLISH %d after a new one", round, p.PacketID)
			}
			seenNew = seenNew || !p.Dup
			sub.send(&packets.Puback{PacketID: p.PacketID})
		}
	}
}
