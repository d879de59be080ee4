package mqtt

import (
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// TestTopicMatching runs filter/topic pairs through the broker: matching is
// level by level with '+' and '#' [MQTT-4.7.1-2] [MQTT-4.7.1-3], characters
// are compared as they are, with no case folding, Unicode normalisation or
// trimming of '/' [MQTT-4.7.3-4], and filters starting with a wildcard do
// not match topics starting with '$' [MQTT-4.7.2-1]. Non-delivery is proven
// with a sentinel from the same publisher, so no case waits for silence.
func TestTopicMatching(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	for i, tc := range []struct {
		rule, filter, topic string
		match               bool
	}{
		// Examples of §4.7.1.
		{"MQTT-4.7.1-2", "sport/tennis/player1/#", "sport/tennis/player1", true},
		{"MQTT-4.7.1-2", "sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
		{"MQTT-4.7.1-2", "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
		{"MQTT-4.7.1-2", "sport/#", "sport", true},
		{"MQTT-4.7.1-2", "#", "a/b/c", true},
		{"MQTT-4.7.1-2", "#", "/", true},
		{"MQTT-4.7.1-2", "a/#", "a/", true},
		{"MQTT-4.7.1-2", "a/#", "ab", false},
		{"MQTT-4.7.1-3", "sport/tennis/+", "sport/tennis/player1", true},
		{"MQTT-4.7.1-3", "sport/tennis/+", "sport/tennis/player1/ranking", false},
		{"MQTT-4.7.1-3", "sport/+", "sport", false},
		{"MQTT-4.7.1-3", "sport/+", "sport/", true},
		{"MQTT-4.7.1-3", "+/+", "/finance", true},
		{"MQTT-4.7.1-3", "/+", "/finance", true},
		{"MQTT-4.7.1-3", "+", "/finance", false},
		{"MQTT-4.7.1-3", "+", "finance", true},
		{"MQTT-4.7.1-3", "a/+/b", "a//b", true},
		{"MQTT-4.7.1-3", "+/+/#", "a/b", true},
		// No normalisation [MQTT-4.7.3-4].
		{"MQTT-4.7.3-4", "a/b", "A/b", false},
		{"MQTT-4.7.3-4", "A/B", "a/b", false},
		{"MQTT-4.7.3-4", "a/b", "a/b/", false},
		{"MQTT-4.7.3-4", "a/b/", "a/b", false},
		{"MQTT-4.7.3-4", "a/b/", "a/b/", true},
		{"MQTT-4.7.3-4", "/a/b", "a/b", false},
		{"MQTT-4.7.3-4", "a//b", "a/b", false},
		{"MQTT-4.7.3-4", "a/b", "a/b ", false},
		{"MQTT-4.7.3-4", " a/b", " a/b", true},
		{"MQTT-4.7.3-4", "caf\u00e9", "cafe\u0301", false}, // NFC filter, NFD topic
		{"MQTT-4.7.3-4", "caf\u00e9/+", "caf\u00e9/x", true},
		{"MQTT-4.7.3-4", "\ufeffa", "a", false}, // U+FEFF is kept [MQTT-1.5.3-3]
		// '$' topics [MQTT-4.7.2-1].
		{"MQTT-4.7.2-1", "#", "$app/x", false},
		{"MQTT-4.7.2-1", "+/x", "$app/x", false},
		{"MQTT-4.7.2-1", "+/#", "$app/x", false},
		{"MQTT-4.7.2-1", "+", "$app", false},
		{"MQTT-4.7.2-1", "$app/#", "$app/x", true},
		{"MQTT-4.7.2-1", "$app/+", "$app/x", true},
		{"MQTT-4.7.2-1", "$app/x", "$app/x", true},
		{"MQTT-4.7.2-1", "a/+", "a/$x", true}, // '$' only matters at the first level
		{"MQTT-4.7.2-1", "a/#", "a/$x/y", true},
	} {
		t.Run(fmt.Sprintf("%s %q vs %q", tc.rule, tc.filter, tc.topic), func(t *testing.T) {
			sub := client(t, addr, fmt.Sprintf("sub%d", i))
			sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: tc.filter, QoS: 1}, {Filter: sentinelTopic}}})
			if a := expect[*packets.Suback](sub, 2*time.Second); a.ReturnCodes[0] != 1 {
				t.Fatalf("SUBACK %v", a.ReturnCodes)
			}
			pub := client(t, addr, fmt.Sprintf("pub%d", i))
			pub.publish(&packets.Publish{Topic: tc.topic, QoS: 1, PacketID: 1, Payload: []byte("m")})
			sendSentinel(pub)
			got := sub.pubsUntil(sentinelTopic)
			switch {
			case tc.match && len(got) != 1:
				t.Fatalf("filter %q, topic %q: %d deliveries, want 1", tc.filter, tc.topic, len(got))
			case !tc.match && len(got) != 0:
				t.Fatalf("filter %q matched topic %q", tc.filter, tc.topic)
			case tc.match && got[0].Topic != tc.topic:
				t.Fatalf("delivered on %q, want %q unchanged", got[0].Topic, tc.topic)
			}
		})
	}
}

// TestTopicSys: with SysInterval set, the broker publishes its counters under
// $SYS/broker/ (retained, and refreshed live); a "$SYS/#" subscription gets
// them while "#" and "+/…" do not [MQTT-4.7.2-1].
func TestTopicSys(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{SysInterval: 100 * time.Millisecond, Version: "wc-test-1"})
	wild := client(t, addr, "wild")
	wild.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{
		{Filter: "#"}, {Filter: "+/broker/#"}, {Filter: "+/+/version"}, {Filter: "+"}}})
	expect[*packets.Suback](wild, 2*time.Second)

	sys := client(t, addr, "sys")
	sys.subscribe(1, "$SYS/#", 0)
	number := func(topic, v string) uint64 {
		t.Helper()
		n, err := strconv.ParseUint(strings.TrimSuffix(v, " seconds"), 10, 64)
		if err != nil {
			t.Fatalf("%s = %q: not a number", topic, v)
		}
		return n
	}
	retained := map[string]string{}
	live := map[string]string{}
	want := []string{"version", "uptime", "clients/connected", "clients/total", "messages/received",
		"messages/sent", "load/bytes/received", "load/bytes/sent", "subscriptions/count"}
	deadline := time.Now().Add(3 * time.Second)
	for {
		missing := 0
		for _, k := range want {
			if _, ok := live[k]; !ok {
				missing++
			}
		}
		if missing == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 3 s: retained %v, live %v; want live values for %v", retained, live, want)
		}
		p := expect[*packets.Publish](sys, time.Until(deadline))
		k, ok := strings.CutPrefix(p.Topic, "$SYS/broker/")
		if !ok {
			t.Fatalf("unexpected topic %q", p.Topic)
		}
		if p.Retain {
			retained[k] = string(p.Payload)
		} else {
			live[k] = string(p.Payload)
		}
	}
	if len(retained) == 0 {
		t.Errorf("no retained $SYS values on subscribe")
	}
	if live["version"] != "wc-test-1" {
		t.Errorf("$SYS/broker/version = %q", live["version"])
	}
	for _, k := range want[1:] {
		number(k, live[k])
	}
	if n := number("clients/connected", live["clients/connected"]); n < 2 {
		t.Errorf("clients/connected = %d, want >= 2 (wild and sys)", n)
	}
	if n := number("load/bytes/received", live["load/bytes/received"]); n == 0 {
		t.Errorf("load/bytes/received = 0 after two CONNECTs")
	}
	if n := number("subscriptions/count", live["subscriptions/count"]); n < 5 {
		t.Errorf("subscriptions/count = %d, want >= 5", n)
	}
	t.Logf("live $SYS values: %v", live)
	// Several $SYS rounds went by; the wildcard subscriber got none of them.
	wild.expectSilence(150 * time.Millisecond)
}

// TestTopicSysPublishDenied: $SYS belongs to the broker. A client PUBLISH
// there is acknowledged as usual but reaches no one [MQTT-3.3.5-2], and a
// retained one is not stored.
func TestTopicSysPublishDenied(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	sub := client(t, addr, "sub")
	sub.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "$SYS/#", QoS: 2}, {Filter: sentinelTopic}}})
	expect[*packets.Suback](sub, 2*time.Second)
	pub := client(t, addr, "pub")
	for qos := byte(0); qos <= 2; qos++ {
		pub.publish(&packets.Publish{Topic: "$SYS/x", QoS: qos, PacketID: uint16(qos + 1), Retain: true, Payload: []byte("fake")})
		pub.publish(&packets.Publish{Topic: "$SYS/broker/version", QoS: qos, PacketID: uint16(qos + 1), Payload: []byte("fake")})
	}
	sendSentinel(pub)
	if got := sub.pubsUntil(sentinelTopic); len(got) != 0 {
		t.Fatalf("client publish to $SYS delivered: %+v", got[0])
	}
	if got := retainedOn(t, addr, "late", "$SYS/#", 0); len(got) != 0 {
		t.Fatalf("client publish to $SYS retained: %+v", got[0])
	}
}

// TestTopicInvalidFilters: a SUBSCRIBE or UNSUBSCRIBE with a malformed filter
// is a protocol violation: the broker closes the connection without SUBACK
// [MQTT-4.7.1-2] [MQTT-4.7.1-3] [MQTT-4.7.3-1] [MQTT-4.8.0-1]. Valid but
// unusual filters are granted.
func TestTopicInvalidFilters(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	for i, tc := range []struct {
		rule   string
		filter string
		unsub  bool
	}{
		{"MQTT-4.7.1-2", "a/#/b", false},
		{"MQTT-4.7.1-2", "#/a", false},
		{"MQTT-4.7.1-2", "a/b#", false},
		{"MQTT-4.7.1-2", "a/##", false},
		{"MQTT-4.7.1-3", "a+", false},
		{"MQTT-4.7.1-3", "a/+b/c", false},
		{"MQTT-4.7.1-3", "++", false},
		{"MQTT-4.7.3-1", "", false},
		{"MQTT-4.7.1-2", "a/#/b", true},
		{"MQTT-4.7.1-3", "a+", true},
		{"MQTT-4.7.3-1", "", true},
	} {
		kind := "SUBSCRIBE"
		if tc.unsub {
			kind = "UNSUBSCRIBE"
		}
		t.Run(fmt.Sprintf("%s %s %q", tc.rule, kind, tc.filter), func(t *testing.T) {
			c := client(t, addr, fmt.Sprintf("bad%d", i))
			if tc.unsub {
				c.send(&packets.Unsubscribe{PacketID: 1, Filters: []string{"ok/filter", tc.filter}})
			} else {
				c.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "ok/filter"}, {Filter: tc.filter}}})
			}
			p, err := c.next(2 * time.Second)
			if err == nil {
				t.Fatalf("got %v %+v, want the connection closed", p.Type(), p)
			}
			if isTimeout(err) {
				t.Fatalf("connection still open")
			}
		})
	}
	t.Run("valid unusual filters are granted", func(t *testing.T) {
		c := client(t, addr, "good")
		filters := []string{"#", "+", "/", "+/+", "a//b", "/#", "+/#", "$SYS/#", "a/+/#", " ", "\u00e9/\u4e2d"}
		subs := make([]packets.Subscription, len(filters))
		want := make([]byte, len(filters))
		for i, f := range filters {
			subs[i] = packets.Subscription{Filter: f, QoS: byte(i % 3)}
			want[i] = byte(i % 3)
		}
		c.send(&packets.Subscribe{PacketID: 1, Subscriptions: subs})
		if a := expect[*packets.Suback](c, 2*time.Second); string(a.ReturnCodes) != string(want) {
			t.Fatalf("SUBACK %v, want %v", a.ReturnCodes, want)
		}
	})
}

// TestTopicPublishInvalidName: a PUBLISH whose topic name holds a wildcard
// [MQTT-3.3.2-2] [MQTT-4.7.1-1] or is empty [MQTT-4.7.3-1] closes the
// connection and is delivered nowhere; a will topic with a wildcard fails the
// CONNECT [MQTT-3.1.4-1].
func TestTopicPublishInvalidName(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	watcher := client(t, addr, "watcher")
	watcher.subscribe(1, "#", 0)
	for i, tc := range []struct {
		rule, topic string
		qos         byte
	}{
		{"MQTT-3.3.2-2", "a/+", 0},
		{"MQTT-3.3.2-2", "a/#", 1},
		{"MQTT-3.3.2-2", "#", 2},
		{"MQTT-3.3.2-2", "+", 0},
		{"MQTT-4.7.1-1", "a+b", 0},
		{"MQTT-4.7.1-1", "a#", 1},
		{"MQTT-4.7.3-1", "", 0},
	} {
		t.Run(fmt.Sprintf("%s %q", tc.rule, tc.topic), func(t *testing.T) {
			c := client(t, addr, fmt.Sprintf("p%d", i))
			c.send(&packets.Publish{Topic: tc.topic, QoS: tc.qos, PacketID: 1, Payload: []byte("bad")})
			p, err := c.next(2 * time.Second)
			if err == nil {
				t.Fatalf("got %v %+v, want the connection closed", p.Type(), p)
			}
			if isTimeout(err) {
				t.Fatalf("connection still open")
			}
		})
	}
	t.Run("MQTT-3.1.4-1 will topic with a wildcard", func(t *testing.T) {
		c := dialRaw(t, addr)
		c.send(&packets.Connect{ClientID: "willbad", CleanSession: true, WillFlag: true, WillTopic: "w/+", WillMessage: []byte("x")})
		p, err := c.next(2 * time.Second)
		if err == nil {
			t.Fatalf("got %v %+v, want close without CONNACK", p.Type(), p)
		}
	})
	// Nothing was routed: the watcher's next message is a fresh one.
	pub := client(t, addr, "after")
	pub.publish(&packets.Publish{Topic: "after", QoS: 1, PacketID: 1})
	watcher.expectPub("after")
}
