package mqtt

import (
	"fmt"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// willConnect connects a client carrying a will on topic "will/<id>".
func willConnect(t *testing.T, addr, id string, keepAlive uint16, qos byte, retain bool) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.connect(&packets.Connect{ClientID: id, CleanSession: true, KeepAlive: keepAlive,
		WillFlag: true, WillTopic: "will/" + id, WillMessage: []byte("gone:" + id), WillQoS: qos, WillRetain: retain},
		packets.Accepted)
	return c
}

// TestWillTriggers: the will is published when the connection ends without
// DISCONNECT [MQTT-3.1.2-8], whatever ends it, and only once [MQTT-3.1.2-10];
// it is discarded on DISCONNECT [MQTT-3.14.4-3] [MQTT-3.1.2-10], and a client
// without a will leaves nothing [MQTT-3.1.2-12].
func TestWillTriggers(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name      string
		keepAlive uint16
		noWill    bool
		end       func(t *testing.T, c *rawClient, addr string)
		want      bool
	}{
		{"MQTT-3.1.2-8 client closes the socket", 0, false, func(t *testing.T, c *rawClient, _ string) {
			c.nc.Close()
		}, true},
		{"MQTT-3.1.2-8 half-close (FIN) from the client", 0, false, func(t *testing.T, c *rawClient, _ string) {
			c.nc.(interface{ CloseWrite() error }).CloseWrite()
			c.expectClosed(2 * time.Second)
		}, true},
		{"MQTT-3.1.2-24 keep alive expiry", 1, false, func(t *testing.T, c *rawClient, _ string) {
			d := c.expectClosed(3 * time.Second)
			t.Logf("closed %v after CONNACK (keep alive 1 s)", d.Round(time.Millisecond))
		}, true},
		{"MQTT-4.8.0-1 protocol error: reserved packet type", 0, false, func(t *testing.T, c *rawClient, _ string) {
			c.sendBytes([]byte{0x00, 0x00})
			c.expectClosed(2 * time.Second)
		}, true},
		{"MQTT-3.3.1-4 protocol error: PUBLISH QoS 3", 0, false, func(t *testing.T, c *rawClient, _ string) {
			c.sendBytes([]byte{0x36, 0x05, 0x00, 0x01, 'a', 0x00, 0x01})
			c.expectClosed(2 * time.Second)
		}, true},
		{"MQTT-3.1.0-2 protocol error: second CONNECT", 0, false, func(t *testing.T, c *rawClient, _ string) {
			c.send(&packets.Connect{ClientID: "again", CleanSession: true})
			c.expectClosed(2 * time.Second)
		}, true},
		{"MQTT-3.14.1-1 protocol error: DISCONNECT with flags", 0, false, func(t *testing.T, c *rawClient, _ string) {
			c.sendBytes([]byte{0xe1, 0x00})
			c.expectClosed(2 * time.Second)
		}, true},
		{"MQTT-3.1.4-2 taken over by the same client ID", 0, false, func(t *testing.T, c *rawClient, addr string) {
			client(t, addr, "w") // same ID
			c.expectClosed(2 * time.Second)
		}, true},
		{"MQTT-3.14.4-3 DISCONNECT discards the will", 0, false, func(t *testing.T, c *rawClient, _ string) {
			c.send(&packets.Disconnect{})
			c.expectClosed(2 * time.Second)
		}, false},
		{"MQTT-3.14.4-3 DISCONNECT then the client closes", 0, false, func(t *testing.T, c *rawClient, _ string) {
			c.send(&packets.Disconnect{})
			c.nc.Close()
		}, false},
		{"MQTT-3.1.2-12 no will flag, socket closed", 0, true, func(t *testing.T, c *rawClient, _ string) {
			c.nc.Close()
		}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			watcher := client(t, addr, "watcher")
			watcher.subscribe(1, "will/#", 2)
			var c *rawClient
			if tc.noWill {
				c = client(t, addr, "w")
			} else {
				c = willConnect(t, addr, "w", tc.keepAlive, 1, false)
			}
			start := time.Now()
			tc.end(t, c, addr)
			if !tc.want {
				watcher.expectSilence(300 * time.Millisecond)
				return
			}
			p := watcher.expectPub("will/w")
			t.Logf("will arrived %v after the trigger began", time.Since(start).Round(time.Millisecond))
			if string(p.Payload) != "gone:w" || p.QoS != 1 || p.Retain {
				t.Fatalf("will %+v", p)
			}
			// [MQTT-3.1.2-10] published once, then discarded.
			watcher.expectSilence(150 * time.Millisecond)
		})
	}
}

// TestWillQoS: the will is published at its Will QoS, then downgraded per
// subscription like any message [MQTT-3.1.2-14] [MQTT-3.8.4-6].
func TestWillQoS(t *testing.T) {
	t.Parallel()
	for wq := byte(0); wq <= 2; wq++ {
		for sq := byte(0); sq <= 2; sq++ {
			t.Run(fmt.Sprintf("will QoS %d subscription %d", wq, sq), func(t *testing.T) {
				t.Parallel()
				_, addr := startServer(t, Options{})
				watcher := client(t, addr, "watcher")
				watcher.subscribe(1, "will/+", sq)
				c := willConnect(t, addr, "q", 0, wq, false)
				c.nc.Close()
				if p := watcher.expectPub("will/q"); p.QoS != min(wq, sq) {
					t.Fatalf("will delivered at QoS %d, want %d", p.QoS, min(wq, sq))
				}
			})
		}
	}
}

// TestWillRetain: Will Retain=1 publishes the will as a retained message
// [MQTT-3.1.2-17] (live copies still carry RETAIN=0 [MQTT-3.3.1-9]); Will
// Retain=0 does not store it [MQTT-3.1.2-16].
func TestWillRetain(t *testing.T) {
	t.Parallel()
	for _, retain := range []bool{true, false} {
		name := "MQTT-3.1.2-17 retain=1"
		if !retain {
			name = "MQTT-3.1.2-16 retain=0"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			watcher := client(t, addr, "watcher")
			watcher.subscribe(1, "will/#", 1)
			c := willConnect(t, addr, "r", 0, 1, retain)
			c.nc.Close()
			if p := watcher.expectPub("will/r"); p.Retain {
				t.Fatalf("live will with RETAIN=1 [MQTT-3.3.1-9]")
			}
			// The retained store is updated before live delivery, so a later
			// subscriber sees it now.
			got := retainedOn(t, addr, "late", "will/r", 2)
			switch {
			case retain && len(got) != 1:
				t.Fatalf("retained will: got %d messages, want 1 [MQTT-3.1.2-17]", len(got))
			case retain && (string(got[0].Payload) != "gone:r" || got[0].QoS != 1 || !got[0].Retain):
				t.Fatalf("retained will %+v", got[0])
			case !retain && len(got) != 0:
				t.Fatalf("will with retain=0 was stored: %+v [MQTT-3.1.2-16]", got[0])
			}
		})
	}
}

// TestWillEmptyRetained: a will with Retain=1 and a zero-length message
// clears the retained message of its topic [MQTT-3.1.2-17] [MQTT-3.3.1-10],
// and is still delivered to current subscribers.
func TestWillEmptyRetained(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	pub := client(t, addr, "pub")
	pub.publish(&packets.Publish{Topic: "will/e", QoS: 1, PacketID: 1, Retain: true, Payload: []byte("old")})
	watcher := client(t, addr, "watcher")
	watcher.subscribe(1, "will/e", 1)
	if p := watcher.expectPub("will/e"); !p.Retain || string(p.Payload) != "old" {
		t.Fatalf("retained before the will: %+v", p)
	}
	c := dialRaw(t, addr)
	c.connect(&packets.Connect{ClientID: "e", CleanSession: true, WillFlag: true, WillTopic: "will/e", WillQoS: 1, WillRetain: true}, packets.Accepted)
	c.nc.Close()
	if p := watcher.expectPub("will/e"); len(p.Payload) != 0 || p.Retain {
		t.Fatalf("live empty will: %+v", p)
	}
	if got := retainedOn(t, addr, "late", "will/e", 1); len(got) != 0 {
		t.Fatalf("retained message not cleared by the empty will: %+v", got[0])
	}
}
