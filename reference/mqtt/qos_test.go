package mqtt

import (
	"fmt"
	"io"
	"slices"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// Several tests prove that a message was NOT delivered without waiting for
// silence: the same publisher then sends a QoS 0 "sentinel" the subscriber
// also matches. The broker routes one connection's packets in order, so if
// the next thing the subscriber sees is the sentinel, nothing came before it.
const sentinelTopic = "sentinel"

func sendSentinel(pub *rawClient) {
	pub.t.Helper()
	pub.send(&packets.Publish{Topic: sentinelTopic, Payload: []byte("sentinel")})
}

// TestQoSDeliveredAtMinimum: every publish QoS × subscription QoS pair is
// delivered at the lower of the two [MQTT-3.8.4-6], DUP=0 on a first send
// [MQTT-4.3.1-1] [MQTT-4.3.2-1], with a non-zero packet ID only for QoS>0
// [MQTT-2.3.1-1] [MQTT-2.3.1-5].
func TestQoSDeliveredAtMinimum(t *testing.T) {
	t.Parallel()
	for pq := byte(0); pq <= 2; pq++ {
		for sq := byte(0); sq <= 2; sq++ {
			t.Run(fmt.Sprintf("MQTT-3.8.4-6 publish %d subscribe %d", pq, sq), func(t *testing.T) {
				t.Parallel()
				_, addr := startServer(t, Options{})
				sub := client(t, addr, "sub")
				if a := sub.subscribe(1, "q/t", sq); a.ReturnCodes[0] != sq {
					t.Fatalf("granted %v, want [%d]", a.ReturnCodes, sq)
				}
				pub := client(t, addr, "pub")
				pub.publish(&packets.Publish{Topic: "q/t", QoS: pq, PacketID: 42, Payload: []byte("m")})
				got := sub.expectPub("q/t")
				want := min(pq, sq)
				if got.QoS != want {
					t.Fatalf("delivered at QoS %d, want %d", got.QoS, want)
				}
				if got.Dup || got.Retain || string(got.Payload) != "m" {
					t.Fatalf("got %+v", got)
				}
				if (got.PacketID != 0) != (want > 0) {
					t.Fatalf("packet ID %d at QoS %d [MQTT-2.3.1-1] [MQTT-2.3.1-5]", got.PacketID, want)
				}
			})
		}
	}
}

// TestQoS2InboundExactlyOnce: a QoS 2 PUBLISH resent with DUP before PUBREL
// is acknowledged again with PUBREC but delivered once; after PUBREL and
// PUBCOMP the same ID starts a new message [MQTT-4.3.3-2].
func TestQoS2InboundExactlyOnce(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	sub := client(t, addr, "sub")
	sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "q2/t", QoS: 2}, {Filter: sentinelTopic, QoS: 0}}})
	expect[*packets.Suback](sub, 2*time.Second)
	pub := client(t, addr, "pub")

	first := &packets.Publish{Topic: "q2/t", QoS: 2, PacketID: 7, Payload: []byte("one")}
	pub.send(first)
	if r := expect[*packets.Pubrec](pub, 2*time.Second); r.PacketID != 7 {
		t.Fatalf("PUBREC %d, want 7 [MQTT-2.3.1-6]", r.PacketID)
	}
	dup := *first
	dup.Dup = true
	pub.send(&dup)
	if r := expect[*packets.Pubrec](pub, 2*time.Second); r.PacketID != 7 {
		t.Fatalf("second PUBREC %d, want 7", r.PacketID)
	}
	// A resend without DUP is the same message too: it is the packet ID that
	// identifies it until PUBREL.
	pub.send(first)
	expect[*packets.Pubrec](pub, 2*time.Second)
	sendSentinel(pub)
	if got := sub.expectPub("q2/t"); string(got.Payload) != "one" {
		t.Fatalf("payload %q", got.Payload)
	}
	sub.expectPub(sentinelTopic) // no second copy before it

	pub.send(&packets.Pubrel{PacketID: 7})
	if c := expect[*packets.Pubcomp](pub, 2*time.Second); c.PacketID != 7 {
		t.Fatalf("PUBCOMP %d, want 7", c.PacketID)
	}
	// The ID is released: the same ID now carries a new message.
	pub.publish(&packets.Publish{Topic: "q2/t", QoS: 2, PacketID: 7, Payload: []byte("two")})
	if got := sub.expectPub("q2/t"); string(got.Payload) != "two" {
		t.Fatalf("after PUBCOMP: payload %q, want %q", got.Payload, "two")
	}
	// PUBREL for an ID that is not pending still gets PUBCOMP (§4.3.3).
	pub.send(&packets.Pubrel{PacketID: 99})
	if c := expect[*packets.Pubcomp](pub, 2*time.Second); c.PacketID != 99 {
		t.Fatalf("PUBCOMP %d, want 99", c.PacketID)
	}
}

// TestQoS1SameIDIsNewMessage: after PUBACK a PUBLISH reusing the ID is a new
// message and is delivered again [MQTT-4.3.2-2].
func TestQoS1SameIDIsNewMessage(t *testing.T) {
	t.Parallel()
	for _, dup := range []bool{false, true} {
		t.Run(fmt.Sprintf("MQTT-4.3.2-2 dup=%v", dup), func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			sub := client(t, addr, "sub")
			sub.subscribe(1, "q1/t", 1)
			pub := client(t, addr, "pub")
			for i, payload := range []string{"one", "two"} {
				pub.publish(&packets.Publish{Topic: "q1/t", QoS: 1, PacketID: 5, Dup: dup && i == 1, Payload: []byte(payload)})
				got := sub.expectPub("q1/t")
				if string(got.Payload) != payload || got.QoS != 1 {
					t.Fatalf("message %d: got %+v", i, got)
				}
				if got.Dup {
					t.Fatalf("a new delivery has DUP=1 [MQTT-3.3.1-3]")
				}
			}
		})
	}
}

// TestQoSAcksEchoPacketID: PUBACK, PUBREC and PUBCOMP carry the ID of the
// PUBLISH (or PUBREL) they answer [MQTT-2.3.1-6], in order when pipelined.
func TestQoSAcksEchoPacketID(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	c := client(t, addr, "acker")
	ids := []uint16{1, 0xffff, 0x1234, 0x8000, 2}
	for _, qos := range []byte{1, 2} {
		var batch []byte
		for _, id := range ids {
			b, _ := packets.Encode(&packets.Publish{Topic: "echo", QoS: qos, PacketID: id, Payload: []byte{byte(id)}})
			batch = append(batch, b...)
		}
		c.sendBytes(batch)
		for _, id := range ids {
			var got uint16
			if qos == 1 {
				got = expect[*packets.Puback](c, 2*time.Second).PacketID
			} else {
				got = expect[*packets.Pubrec](c, 2*time.Second).PacketID
			}
			if got != id {
				t.Fatalf("QoS %d: ack for %d, want %d [MQTT-2.3.1-6]", qos, got, id)
			}
		}
	}
	for _, id := range ids {
		c.send(&packets.Pubrel{PacketID: id})
		if got := expect[*packets.Pubcomp](c, 2*time.Second).PacketID; got != id {
			t.Fatalf("PUBCOMP %d, want %d", got, id)
		}
	}
}

// TestQoSBrokerPacketIDs: IDs the broker assigns are non-zero and unique
// among its in-flight messages [MQTT-2.3.1-1] [MQTT-2.3.1-4]; the window
// (MaxInflight, default 20) holds the 21st back until one is acknowledged.
func TestQoSBrokerPacketIDs(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	sub := client(t, addr, "sub")
	sub.subscribe(1, "ids", 1)
	pub := client(t, addr, "pub")
	const window = 20
	for i := range window + 5 {
		pub.publish(&packets.Publish{Topic: "ids", QoS: 1, PacketID: uint16(i + 1), Payload: []byte{byte(i)}})
	}
	inflight := map[uint16]byte{} // id → payload
	for i := range window {
		p := expect[*packets.Publish](sub, 2*time.Second)
		if p.PacketID == 0 {
			t.Fatalf("message %d: packet ID 0 [MQTT-2.3.1-1]", i)
		}
		if _, dup := inflight[p.PacketID]; dup {
			t.Fatalf("message %d: packet ID %d already in flight [MQTT-2.3.1-4]", i, p.PacketID)
		}
		if p.Payload[0] != byte(i) {
			t.Fatalf("message %d out of order: payload %d", i, p.Payload[0])
		}
		inflight[p.PacketID] = p.Payload[0]
	}
	sub.expectSilence(200 * time.Millisecond) // the window is full
	next := byte(window)
	// Acknowledge in a scrambled order; each ack frees one slot.
	order := make([]uint16, 0, len(inflight))
	for id := range inflight {
		order = append(order, id)
	}
	slices.Sort(order)
	for i := range 5 {
		ack := order[(i*7)%len(order)] // 0, 7, 14, 1, 8: distinct
		delete(inflight, ack)
		sub.send(&packets.Puback{PacketID: ack})
		p := expect[*packets.Publish](sub, 2*time.Second)
		if p.Payload[0] != next {
			t.Fatalf("after ack: payload %d, want %d", p.Payload[0], next)
		}
		if _, dup := inflight[p.PacketID]; dup || p.PacketID == 0 {
			t.Fatalf("packet ID %d reused while in flight [MQTT-2.3.1-4]", p.PacketID)
		}
		inflight[p.PacketID] = p.Payload[0]
		next++
	}
	sub.expectSilence(100 * time.Millisecond)
}

// TestQoSFlowCompletion: a broker-sent message leaves the in-flight window
// only when its flow completes, PUBACK for QoS 1 and PUBCOMP (not PUBREC)
// for QoS 2 [MQTT-4.3.3-1] [MQTT-2.3.1-4]; a PUBREC answered twice gets
// PUBREL twice, and acknowledgements of unknown IDs change nothing.
func TestQoSFlowCompletion(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{MaxInflight: 1})
	sub := client(t, addr, "sub")
	sub.subscribe(1, "flow", 2)
	pub := client(t, addr, "pub")
	pub.publish(&packets.Publish{Topic: "flow", QoS: 2, PacketID: 1, Payload: []byte("1")})
	pub.publish(&packets.Publish{Topic: "flow", QoS: 2, PacketID: 2, Payload: []byte("2")})
	first := expect[*packets.Publish](sub, 2*time.Second)
	sub.send(&packets.Puback{PacketID: first.PacketID})       // wrong ack for QoS 2: ignored
	sub.send(&packets.Pubcomp{PacketID: first.PacketID})      // PUBCOMP before PUBREC: ignored
	sub.send(&packets.Puback{PacketID: first.PacketID + 100}) // unknown ID: ignored
	sub.send(&packets.Pubrec{PacketID: first.PacketID})
	if rel := expect[*packets.Pubrel](sub, 2*time.Second); rel.PacketID != first.PacketID {
		t.Fatalf("PUBREL %d, want %d [MQTT-2.3.1-6]", rel.PacketID, first.PacketID)
	}
	sub.send(&packets.Pubrec{PacketID: first.PacketID}) // again: PUBREL again
	if rel := expect[*packets.Pubrel](sub, 2*time.Second); rel.PacketID != first.PacketID {
		t.Fatalf("second PUBREL %d", rel.PacketID)
	}
	// PUBREC alone does not free the window: message 2 is still held back.
	sub.expectSilence(200 * time.Millisecond)
	sub.send(&packets.Pubcomp{PacketID: first.PacketID})
	second := expect[*packets.Publish](sub, 2*time.Second)
	if string(second.Payload) != "2" || second.Dup {
		t.Fatalf("after PUBCOMP: got %+v", second)
	}
	if second.PacketID == 0 {
		t.Fatalf("packet ID 0")
	}
	sub.ackPub(second)
	sub.expectSilence(100 * time.Millisecond)
}

// TestQoSPacketIDWrap takes the broker's packet ID counter past 65535 while
// one message stays unacknowledged: the wrapped counter must skip 0
// [MQTT-2.3.1-1] and the ID still in flight [MQTT-2.3.1-4], and reuses IDs
// whose flow has completed. To stay fast it moves the session's counter
// close to the wrap (white box) instead of sending 65 000 messages.
func TestQoSPacketIDWrap(t *testing.T) {
	t.Parallel()
	srv, addr := startServer(t, Options{MaxInflight: 100})
	sub := client(t, addr, "sub")
	sub.subscribe(1, "wrap", 1)
	pub := client(t, addr, "pub")
	go io.Copy(io.Discard, pub.nc) // its PUBACKs; pub.r is not used again
	pubID := uint16(0)
	publish := func(n int) {
		var batch []byte
		for range n {
			pubID++
			batch, _ = (&packets.Publish{Topic: "wrap", QoS: 1, PacketID: pubID, Payload: []byte("x")}).AppendTo(batch)
		}
		pub.sendBytes(batch)
	}

	held := uint16(0)              // never acknowledged
	inflight := map[uint16]bool{}  // received, PUBACK not yet written
	completed := map[uint16]bool{} // IDs whose flow completed
	var ids []uint16
	reused := 0
	receive := func(total int) {
		var acks []byte
		for n := 0; n < total; n++ {
			pp := expect[*packets.Publish](sub, 2*time.Second)
			id := pp.PacketID
			ids = append(ids, id)
			if id == 0 {
				t.Fatalf("packet ID 0 [MQTT-2.3.1-1]")
			}
			if inflight[id] {
				t.Fatalf("packet ID %d is still in flight [MQTT-2.3.1-4]", id)
			}
			if completed[id] {
				reused++
			}
			inflight[id] = true
			if held == 0 {
				held = id
			} else {
				a, _ := packets.Encode(&packets.Puback{PacketID: id})
				acks = append(acks, a...)
			}
			if sub.r.Buffered() == 0 && len(acks) > 0 {
				sub.sendBytes(acks) // one write per burst
				acks = acks[:0]
				for id := range inflight {
					if id != held {
						delete(inflight, id)
						completed[id] = true
					}
				}
			}
		}
	}
	publish(60)
	receive(60)
	sub.sync() // the broker has processed every PUBACK
	srv.mu.Lock()
	s := srv.sessions["sub"]
	srv.mu.Unlock()
	s.mu.Lock()
	s.nextID = 65535 - 30
	s.mu.Unlock()
	publish(150)
	receive(150)
	if reused == 0 {
		t.Fatalf("no completed packet ID was reused after the wrap: %v", ids[60:])
	}
	t.Logf("held ID %d never reused; IDs around the wrap: %v", held, ids[85:100])
}

// TestQoSOverlappingSubscriptions: a client whose subscriptions a/# (QoS 0)
// and a/b (QoS 2) both match gets the message at the highest QoS among them
// [MQTT-3.3.5-1]. One copy or one per subscription are both allowed; the
// outcome is logged.
func TestQoSOverlappingSubscriptions(t *testing.T) {
	t.Parallel()
	for _, pq := range []byte{0, 1, 2} {
		t.Run(fmt.Sprintf("MQTT-3.3.5-1 publish %d", pq), func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			sub := client(t, addr, "sub")
			sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{
				{Filter: "a/#", QoS: 0}, {Filter: "a/b", QoS: 2}, {Filter: sentinelTopic, QoS: 0}}})
			if a := expect[*packets.Suback](sub, 2*time.Second); !slices.Equal(a.ReturnCodes, []byte{0, 2, 0}) {
				t.Fatalf("SUBACK %v", a.ReturnCodes)
			}
			pub := client(t, addr, "pub")
			pub.publish(&packets.Publish{Topic: "a/b", QoS: pq, PacketID: 3, Payload: []byte("o")})
			sendSentinel(pub)
			got := sub.pubsUntil(sentinelTopic)
			if len(got) == 0 {
				t.Fatalf("not delivered")
			}
			var best byte
			for _, p := range got {
				best = max(best, p.QoS)
			}
			if best != pq {
				t.Fatalf("highest delivered QoS %d, want %d [MQTT-3.3.5-1]", best, pq)
			}
			outcome := "single copy at the highest QoS"
			if len(got) > 1 {
				outcome = "one copy per matching subscription"
			}
			t.Logf("outcome: %s (%d copies)", outcome, len(got))
		})
	}
}

// TestQoSSubackOrder: one SUBACK per SUBSCRIBE with the same packet ID
// [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-2.3.1-7], one code per filter
// [MQTT-3.8.4-5], in the order of the filters [MQTT-3.9.3-1].
func TestQoSSubackOrder(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	c := client(t, addr, "sub")
	for _, tc := range []struct {
		id   uint16
		subs []packets.Subscription
	}{
		{0x0102, []packets.Subscription{{Filter: "x/2", QoS: 2}, {Filter: "x/0", QoS: 0}, {Filter: "x/1", QoS: 1}, {Filter: "x/+/2", QoS: 2}, {Filter: "#", QoS: 0}}},
		{0xffff, []packets.Subscription{{Filter: "y", QoS: 1}}},
		{1, []packets.Subscription{{Filter: "z/0", QoS: 0}, {Filter: "z/0", QoS: 2}}}, // same filter twice: the last wins
	} {
		c.send(&packets.Subscribe{PacketID: tc.id, Subscriptions: tc.subs})
		a := expect[*packets.Suback](c, 2*time.Second)
		if a.PacketID != tc.id {
			t.Fatalf("SUBACK id %d, want %d [MQTT-3.8.4-2]", a.PacketID, tc.id)
		}
		want := make([]byte, len(tc.subs))
		for i, s := range tc.subs {
			want[i] = s.QoS
		}
		if !slices.Equal(a.ReturnCodes, want) {
			t.Fatalf("SUBACK codes %v, want %v [MQTT-3.9.3-1]", a.ReturnCodes, want)
		}
	}
}

// TestQoSResubscribeReplaces: subscribing again to an identical filter
// replaces the subscription's QoS; messages are not duplicated
// [MQTT-3.8.4-3].
func TestQoSResubscribeReplaces(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ from, to byte }{{2, 0}, {0, 2}, {1, 2}, {2, 1}} {
		t.Run(fmt.Sprintf("MQTT-3.8.4-3 %d to %d", tc.from, tc.to), func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			sub := client(t, addr, "sub")
			sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "r/+", QoS: tc.from}, {Filter: sentinelTopic}}})
			expect[*packets.Suback](sub, 2*time.Second)
			if a := sub.subscribe(2, "r/+", tc.to); a.ReturnCodes[0] != tc.to {
				t.Fatalf("SUBACK %v", a.ReturnCodes)
			}
			pub := client(t, addr, "pub")
			pub.publish(&packets.Publish{Topic: "r/x", QoS: 2, PacketID: 1, Payload: []byte("r")})
			sendSentinel(pub)
			if got := sub.expectPub("r/x"); got.QoS != tc.to {
				t.Fatalf("delivered at QoS %d, want %d", got.QoS, tc.to)
			}
			sub.expectPub(sentinelTopic) // exactly one copy
		})
	}
}

// TestQoSUnsubscribe: UNSUBSCRIBE deletes exactly the filters named
// [MQTT-3.10.4-1], stops new deliveries for them [MQTT-3.10.4-2], and is
// answered with an UNSUBACK echoing its ID [MQTT-3.10.4-4], also when
// nothing matched [MQTT-3.10.4-5]; several filters get one UNSUBACK
// [MQTT-3.10.4-6].
func TestQoSUnsubscribe(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	sub := client(t, addr, "sub")
	sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{
		{Filter: "u/a", QoS: 1}, {Filter: "u/+", QoS: 0}, {Filter: "v/b", QoS: 2}, {Filter: "w/#", QoS: 1}, {Filter: sentinelTopic}}})
	expect[*packets.Suback](sub, 2*time.Second)
	pub := client(t, addr, "pub")

	unsub := func(id uint16, filters ...string) {
		t.Helper()
		sub.send(&packets.Unsubscribe{PacketID: id, Filters: filters})
		a := expect[*packets.Unsuback](sub, 2*time.Second)
		if a.PacketID != id {
			t.Fatalf("UNSUBACK id %d, want %d [MQTT-3.10.4-4]", a.PacketID, id)
		}
	}

	// MQTT-3.10.4-5: nothing matches; still an UNSUBACK, subscriptions intact.
	unsub(10, "nothing/here")
	unsub(11, "u/#") // not literally equal to "u/+" [MQTT-3.10.4-1]
	unsub(12, "U/a") // case matters
	pub.publish(&packets.Publish{Topic: "u/a", QoS: 1, PacketID: 1, Payload: []byte("1")})
	got := sub.collectPubs(150 * time.Millisecond)
	if len(got) == 0 {
		t.Fatalf("u/a not delivered after unrelated UNSUBSCRIBEs")
	}
	t.Logf("u/a matched by two filters: %d copies", len(got))

	// MQTT-3.10.4-1/2: removing u/a leaves u/+ (QoS 0) in place.
	unsub(13, "u/a")
	pub.publish(&packets.Publish{Topic: "u/a", QoS: 1, PacketID: 2, Payload: []byte("2")})
	sendSentinel(pub)
	if p := sub.expectPub("u/a"); p.QoS != 0 {
		t.Fatalf("after removing u/a: QoS %d, want 0 (from u/+)", p.QoS)
	}
	sub.expectPub(sentinelTopic)

	// MQTT-3.10.4-6: several filters, one UNSUBACK; all of them gone.
	unsub(14, "u/+", "v/b", "w/#")
	for i, topic := range []string{"u/a", "v/b", "w/x/y"} {
		pub.publish(&packets.Publish{Topic: topic, QoS: 1, PacketID: uint16(20 + i), Payload: []byte("gone")})
	}
	sendSentinel(pub)
	sub.expectPub(sentinelTopic) // nothing before it [MQTT-3.10.4-2]
}
