package mqtt

import (
	"fmt"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// retainedOn subscribes a fresh client to filter (plus the sentinel) and
// returns the retained messages sent because of the subscription. The
// broker sends them right after SUBACK; a QoS 0 publish to the sentinel by
// the same client, sent after SUBACK, marks their end.
func retainedOn(t *testing.T, addr, id, filter string, qos byte) []*packets.Publish {
	t.Helper()
	c := client(t, addr, id)
	c.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: filter, QoS: qos}, {Filter: sentinelTopic}}})
	if a := expect[*packets.Suback](c, 2*time.Second); a.ReturnCodes[0] != qos {
		t.Fatalf("SUBACK %v", a.ReturnCodes)
	}
	// The retained messages are queued on the connection before SUBACK is
	// even read, and the sentinel goes through the same connection after.
	sendSentinel(c)
	got := c.pubsUntil(sentinelTopic)
	for _, p := range got {
		if !p.Retain {
			t.Errorf("retained message on %q sent on subscribe with RETAIN=0 [MQTT-3.3.1-8]", p.Topic)
		}
	}
	return got
}

func payloads(ps []*packets.Publish) map[string]string {
	m := map[string]string{}
	for _, p := range ps {
		m[p.Topic] = string(p.Payload)
	}
	return m
}

// TestRetainedStoreReplaceClear: the broker keeps the last retained message
// per topic [MQTT-3.3.1-5], a new one replaces it, and a zero-length retained
// message clears it [MQTT-3.3.1-10] [MQTT-3.3.1-11].
func TestRetainedStoreReplaceClear(t *testing.T) {
	t.Parallel()
	type pub struct {
		payload string
		retain  bool
	}
	for _, tc := range []struct {
		name string
		pubs []pub
		want string // retained payload seen by a new subscriber, "" for none
	}{
		{"MQTT-3.3.1-5 stored", []pub{{"v1", true}}, "v1"},
		{"MQTT-3.3.1-5 replaced", []pub{{"v1", true}, {"v2", true}}, "v2"},
		{"MQTT-3.3.1-10 cleared by empty payload", []pub{{"v1", true}, {"", true}}, ""},
		{"MQTT-3.3.1-11 empty payload is never stored", []pub{{"", true}}, ""},
		{"MQTT-3.3.1-10 stored again after clear", []pub{{"v1", true}, {"", true}, {"v3", true}}, "v3"},
		{"MQTT-3.3.1-12 retain=0 does not replace", []pub{{"v1", true}, {"live", false}}, "v1"},
		{"MQTT-3.3.1-12 retain=0 empty does not clear", []pub{{"v1", true}, {"", false}}, "v1"},
		{"MQTT-3.3.1-12 retain=0 alone stores nothing", []pub{{"live", false}}, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, addr := startServer(t, Options{})
			p := client(t, addr, "pub")
			for i, m := range tc.pubs {
				p.publish(&packets.Publish{Topic: "r/t", QoS: byte(i % 3), PacketID: uint16(i + 1), Retain: m.retain, Payload: []byte(m.payload)})
			}
			p.sync() // a QoS 0 publish has no ack to wait for
			got := retainedOn(t, addr, "late", "r/t", 2)
			switch {
			case tc.want == "" && len(got) != 0:
				t.Fatalf("got retained %+v, want none", got[0])
			case tc.want != "" && len(got) != 1:
				t.Fatalf("got %d retained messages, want 1", len(got))
			case tc.want != "" && string(got[0].Payload) != tc.want:
				t.Fatalf("retained payload %q, want %q", got[0].Payload, tc.want)
			}
			if n, want := srv.Stats().Retained, min(len(got), 1); n != want {
				t.Fatalf("Stats().Retained = %d, want %d", n, want)
			}
		})
	}
}

// TestRetainedLiveDelivery: messages forwarded to existing subscriptions
// carry RETAIN=0 whatever the publisher set [MQTT-3.3.1-9]; a zero-length
// retained message is still delivered live [MQTT-3.3.1-10].
func TestRetainedLiveDelivery(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	sub := client(t, addr, "sub")
	sub.subscribe(1, "live/#", 2)
	pub := client(t, addr, "pub")
	for i, tc := range []struct {
		qos     byte
		payload string
	}{{0, "a"}, {1, "b"}, {2, "c"}, {0, ""}, {1, ""}, {2, ""}} {
		pub.publish(&packets.Publish{Topic: "live/x", QoS: tc.qos, PacketID: uint16(i + 1), Retain: true, Payload: []byte(tc.payload)})
		got := sub.expectPub("live/x")
		if got.Retain {
			t.Fatalf("QoS %d %q: live delivery with RETAIN=1 [MQTT-3.3.1-9]", tc.qos, tc.payload)
		}
		if string(got.Payload) != tc.payload || got.QoS != tc.qos {
			t.Fatalf("got %+v, want QoS %d payload %q [MQTT-3.3.1-10]", got, tc.qos, tc.payload)
		}
	}
}

// TestRetainedOnSubscribe: a new subscription gets the retained message of
// every matching topic [MQTT-3.3.1-6] with RETAIN=1 [MQTT-3.3.1-8], through
// exact and wildcard filters alike.
func TestRetainedOnSubscribe(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	p := client(t, addr, "pub")
	topics := []string{"home/kitchen/temp", "home/kitchen/hum", "home/hall/temp", "home", "office/temp", "$app/state"}
	for i, topic := range topics {
		p.publish(&packets.Publish{Topic: topic, QoS: 1, PacketID: uint16(i + 1), Retain: true, Payload: []byte("v-" + topic)})
	}
	for i, tc := range []struct {
		filter string
		want   []string
	}{
		{"home/kitchen/temp", []string{"home/kitchen/temp"}},
		{"home/kitchen/+", []string{"home/kitchen/temp", "home/kitchen/hum"}},
		{"home/+/temp", []string{"home/kitchen/temp", "home/hall/temp"}},
		{"home/#", []string{"home/kitchen/temp", "home/kitchen/hum", "home/hall/temp", "home"}},
		{"+/temp", []string{"office/temp"}},
		{"#", []string{"home/kitchen/temp", "home/kitchen/hum", "home/hall/temp", "home", "office/temp"}}, // not $app [MQTT-4.7.2-1]
		{"$app/#", []string{"$app/state"}},
		{"home/kitchen", nil},
		{"Home/#", nil}, // no case folding [MQTT-4.7.3-4]
	} {
		t.Run(fmt.Sprintf("MQTT-3.3.1-6 %s", tc.filter), func(t *testing.T) {
			got := payloads(retainedOn(t, addr, fmt.Sprintf("s%d", i), tc.filter, 1))
			if len(got) != len(tc.want) {
				t.Fatalf("got %v, want topics %v", got, tc.want)
			}
			for _, topic := range tc.want {
				if got[topic] != "v-"+topic {
					t.Fatalf("got %v, want topics %v", got, tc.want)
				}
			}
		})
	}
}

// TestRetainedQoS: a retained message is sent on subscribe at the lower of
// its stored QoS and the subscription's [MQTT-3.8.4-6].
func TestRetainedQoS(t *testing.T) {
	t.Parallel()
	for pq := byte(0); pq <= 2; pq++ {
		for sq := byte(0); sq <= 2; sq++ {
			t.Run(fmt.Sprintf("MQTT-3.8.4-6 stored %d subscribed %d", pq, sq), func(t *testing.T) {
				t.Parallel()
				_, addr := startServer(t, Options{})
				p := client(t, addr, "pub")
				p.publish(&packets.Publish{Topic: "rq", QoS: pq, PacketID: 9, Retain: true, Payload: []byte("q")})
				p.sync()
				got := retainedOn(t, addr, "sub", "rq", sq)
				if len(got) != 1 {
					t.Fatalf("got %d retained messages", len(got))
				}
				if got[0].QoS != min(pq, sq) {
					t.Fatalf("QoS %d, want %d", got[0].QoS, min(pq, sq))
				}
				if (got[0].PacketID != 0) != (got[0].QoS > 0) {
					t.Fatalf("packet ID %d at QoS %d", got[0].PacketID, got[0].QoS)
				}
			})
		}
	}
}

// TestRetainedResubscribe: subscribing again to an identical filter re-sends
// the retained messages [MQTT-3.8.4-3], each time with RETAIN=1; the live
// copy of a later retained publish still has RETAIN=0.
func TestRetainedResubscribe(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	pub := client(t, addr, "pub")
	pub.publish(&packets.Publish{Topic: "rs", QoS: 1, PacketID: 1, Retain: true, Payload: []byte("1")})
	sub := client(t, addr, "sub")
	for i := range 3 {
		sub.send(&packets.Subscribe{PacketID: uint16(i + 1), Subscriptions: []packets.Subscription{{Filter: "rs", QoS: 1}}})
		expect[*packets.Suback](sub, 2*time.Second)
		if p := sub.expectPub("rs"); !p.Retain || string(p.Payload) != "1" {
			t.Fatalf("subscription %d: got %+v, want the retained message [MQTT-3.8.4-3]", i+1, p)
		}
	}
	pub.publish(&packets.Publish{Topic: "rs", QoS: 1, PacketID: 2, Retain: true, Payload: []byte("2")})
	if p := sub.expectPub("rs"); p.Retain || string(p.Payload) != "2" {
		t.Fatalf("live: got %+v, want RETAIN=0 payload 2 [MQTT-3.3.1-9]", p)
	}
	sub.expectSilence(100 * time.Millisecond) // one subscription, one copy
}
