package mqtt

import (
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// keepAliveSlack is what the keep-alive checks tolerate beyond 1.5 × KA for
// scheduling on a loaded machine (-race, parallel tests).
const keepAliveSlack = 500 * time.Millisecond

// TestKeepAliveExpiry: a client silent for one and a half keep-alive periods
// is disconnected [MQTT-3.1.2-24]; the period runs from the last packet
// received, not from CONNACK. The measured time is logged.
func TestKeepAliveExpiry(t *testing.T) {
	t.Parallel()
	const ka = time.Second
	for _, tc := range []struct {
		name string
		idle time.Duration // activity this long after CONNACK, then silence
	}{
		{"MQTT-3.1.2-24 silent from CONNACK", 0},
		{"MQTT-3.1.2-24 silent after a PINGREQ", 400 * time.Millisecond},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			c := dialRaw(t, addr)
			c.connect(&packets.Connect{ClientID: "ka", CleanSession: true, KeepAlive: uint16(ka / time.Second)}, packets.Accepted)
			if tc.idle > 0 {
				c.expectOpenFor(tc.idle)
				c.sync()
			}
			d := c.expectClosed(3 * ka)
			t.Logf("closed %v after the last packet: %.2f × keep alive", d.Round(time.Millisecond), float64(d)/float64(ka))
			if d < ka {
				t.Errorf("closed after %v, before one keep-alive period (%v)", d, ka)
			}
			if limit := ka*3/2 + keepAliveSlack; d > limit {
				t.Errorf("closed after %v, want at most 1.5 × %v + %v [MQTT-3.1.2-24]", d, ka, keepAliveSlack)
			}
		})
	}
}

// TestKeepAlivePing: every PINGREQ gets a PINGRESP [MQTT-3.12.4-1], also
// when several are pipelined, and also with keep alive 0.
func TestKeepAlivePing(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	c := client(t, addr, "pinger")
	c.send(&packets.Pingreq{})
	expect[*packets.Pingresp](c, 2*time.Second)
	c.sendBytes([]byte{0xc0, 0x00, 0xc0, 0x00, 0xc0, 0x00, 0xc0, 0x00, 0xc0, 0x00})
	for i := range 5 {
		if _, err := c.next(2 * time.Second); err != nil {
			t.Fatalf("PINGRESP %d: %v", i+1, err)
		}
	}
	c.expectSilence(100 * time.Millisecond)
	// PINGREQ with a non-zero remaining length is malformed: closed.
	c.sendBytes([]byte{0xc0, 0x01, 0x00})
	c.expectClosed(2 * time.Second)
}

// TestKeepAliveActivityKeepsAlive: a keep-alive-1 client that sends a packet
// every 0.5 s stays connected, for 3 s with PINGREQs [MQTT-3.1.2-23]
// [MQTT-3.12.4-1] and for 2 s with other control packets.
func TestKeepAliveActivityKeepsAlive(t *testing.T) {
	if testing.Short() {
		t.Skip("3 s")
	}
	t.Parallel()
	for _, tc := range []struct {
		name string
		d    time.Duration
		send func(c *rawClient)
	}{
		{"MQTT-3.12.4-1 PINGREQ", 3 * time.Second, func(c *rawClient) { c.sync() }},
		{"MQTT-3.1.2-24 QoS 0 PUBLISH", 2 * time.Second, func(c *rawClient) { c.send(&packets.Publish{Topic: "ka/x", Payload: []byte("x")}) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			c := dialRaw(t, addr)
			c.connect(&packets.Connect{ClientID: "alive", CleanSession: true, KeepAlive: 1}, packets.Accepted)
			start := time.Now()
			for time.Since(start) < tc.d {
				c.expectOpenFor(500 * time.Millisecond) // the wait between packets
				tc.send(c)
			}
			c.sync() // still connected and answering
		})
	}
}

// TestKeepAliveZero: keep alive 0 turns the mechanism off; a client silent
// for 2 s stays connected [MQTT-3.1.2-24 applies to non-zero values only].
func TestKeepAliveZero(t *testing.T) {
	if testing.Short() {
		t.Skip("2 s")
	}
	t.Parallel()
	_, addr := startServer(t, Options{})
	c := dialRaw(t, addr)
	c.connect(&packets.Connect{ClientID: "forever", CleanSession: true, KeepAlive: 0}, packets.Accepted)
	c.expectOpenFor(2 * time.Second)
	c.sync()
}
