package mqtt

import (
	"errors"
	"net"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// encodeConnect encodes p, failing the test on error.
func encodeConnect(t *testing.T, p *packets.Connect) []byte {
	t.Helper()
	b, err := packets.Encode(p)
	if err != nil {
		t.Fatalf("encode CONNECT: %v", err)
	}
	return b
}

// TestConnectHandshake covers what the broker answers to the first CONNECT:
// CONNACK with a return code (then close when refused), or a close with no
// CONNACK when the packet is not a 3.1.1 CONNECT at all.
func TestConnectHandshake(t *testing.T) {
	t.Parallel()
	// reservedFlag is CONNECT with bit 0 of the connect flags set; the codec's
	// encoder refuses nothing, so build it from a valid packet.
	valid := encodeConnect(t, &packets.Connect{ClientID: "rsv", CleanSession: true})
	reservedFlag := append([]byte(nil), valid...)
	reservedFlag[9] |= 0x01 // 10 00 | 00 04 'MQTT' | 04 | flags
	badName := encodeConnect(t, &packets.Connect{ProtocolName: "MQTX", ClientID: "x", CleanSession: true})
	// A complete packet whose payload is cut short: client ID length says 3
	// bytes, remaining length leaves room for none.
	truncated := append([]byte(nil), valid[:len(valid)-3]...)
	truncated[1] -= 3

	// withFlags returns p encoded with extra connect flag bits set.
	withFlags := func(p *packets.Connect, bits byte) []byte {
		b := encodeConnect(t, p)
		b[9] |= bits
		return b
	}
	will := &packets.Connect{ClientID: "wf", CleanSession: true, WillFlag: true, WillTopic: "w", WillMessage: []byte("x"), WillQoS: 1}
	plain := &packets.Connect{ClientID: "wf", CleanSession: true}

	for _, tc := range []struct {
		name     string
		bytes    []byte
		wantCode int // -1: no CONNACK
		open     bool
	}{
		{"MQTT-3.1.4-4 valid CONNECT gets code 0", valid, 0, true},
		{"MQTT-3.1.2-2 MQTT level 3 gets 0x01 then close",
			encodeConnect(t, &packets.Connect{ProtocolLevel: 3, ClientID: "l3", CleanSession: true}), 1, false},
		{"MQTT-3.1.2-2 MQTT level 5 gets 0x01 then close",
			encodeConnect(t, &packets.Connect{ProtocolLevel: 5, ClientID: "l5", CleanSession: true}), 1, false},
		{"MQTT-3.1.2-2 MQIsdp level 3 gets 0x01 then close",
			encodeConnect(t, &packets.Connect{ProtocolName: "MQIsdp", ProtocolLevel: 3, ClientID: "isdp", CleanSession: true}), 1, false},
		{"MQTT-3.1.2-1 unknown protocol name closes without CONNACK", badName, -1, false},
		{"MQTT-3.1.2-1 MQIsdp with level 4 closes without CONNACK",
			encodeConnect(t, &packets.Connect{ProtocolName: "MQIsdp", ProtocolLevel: 4, ClientID: "x", CleanSession: true}), -1, false},
		{"MQTT-3.1.2-3 reserved connect flag closes without CONNACK", reservedFlag, -1, false},
		{"MQTT-3.1.3-6 empty client ID with clean session is accepted",
			encodeConnect(t, &packets.Connect{CleanSession: true}), 0, true},
		{"MQTT-3.1.4-1 will QoS 3 (MQTT-3.1.2-14) closes without CONNACK", withFlags(will, 0x18), -1, false},
		{"MQTT-3.1.4-1 will QoS without will flag (MQTT-3.1.2-13) closes without CONNACK", withFlags(plain, 0x08), -1, false},
		{"MQTT-3.1.4-1 will retain without will flag (MQTT-3.1.2-15) closes without CONNACK", withFlags(plain, 0x20), -1, false},
		{"MQTT-3.1.4-1 password without user name (MQTT-3.1.2-22) closes without CONNACK", withFlags(plain, 0x40), -1, false},
		{"MQTT-3.1.3-5 23-character alphanumeric ID is accepted",
			encodeConnect(t, &packets.Connect{ClientID: "abcdefghijklmnopqrstuvW", CleanSession: true}), 0, true},
		{"MQTT-3.1.3-5 1-character ID is accepted",
			encodeConnect(t, &packets.Connect{ClientID: "0", CleanSession: true}), 0, true},
		{"MQTT-3.1.3-5 longer IDs with other characters are accepted (a choice)",
			encodeConnect(t, &packets.Connect{ClientID: "device/äöü-0123456789-0123456789-0123456789", CleanSession: true}), 0, true},
		{"MQTT-3.1.3-8 empty client ID with persistent session gets 0x02 then close",
			encodeConnect(t, &packets.Connect{}), 2, false},
		{"MQTT-3.1.0-1 first packet PINGREQ closes", []byte{0xc0, 0x00}, -1, false},
		{"MQTT-3.1.0-1 first packet SUBSCRIBE closes",
			[]byte{0x82, 0x06, 0x00, 0x01, 0x00, 0x01, 'a', 0x00}, -1, false},
		{"MQTT-3.1.0-1 first packet PUBLISH closes", []byte{0x30, 0x04, 0x00, 0x01, 'a', 'x'}, -1, false},
		{"MQTT-3.1.4-1 truncated CONNECT closes without CONNACK", truncated, -1, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{ConnectTimeout: time.Second})
			c := dialRaw(t, addr)
			c.sendBytes(tc.bytes)
			if tc.wantCode >= 0 {
				ack := expect[*packets.Connack](c, 2*time.Second)
				if int(ack.ReturnCode) != tc.wantCode {
					t.Fatalf("CONNACK code %d, want %d", ack.ReturnCode, tc.wantCode)
				}
				if ack.SessionPresent && ack.ReturnCode != 0 {
					t.Fatalf("session present with code %d [MQTT-3.2.2-4]", ack.ReturnCode)
				}
			}
			if tc.open {
				// Still usable: PINGREQ → PINGRESP.
				c.send(&packets.Pingreq{})
				expect[*packets.Pingresp](c, 2*time.Second)
				return
			}
			// [MQTT-3.2.2-5] / [MQTT-3.1.4-1]: closed, and nothing else first.
			p, err := c.next(2 * time.Second)
			if err == nil {
				t.Fatalf("got %v %+v, want close", p.Type(), p)
			}
			if isTimeout(err) {
				t.Fatalf("connection still open after 2s")
			}
		})
	}
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// TestConnectEmptyIDsAreUnique checks that two clients with empty IDs get
// different assigned IDs: otherwise the second would take over the first
// [MQTT-3.1.3-6].
func TestConnectEmptyIDsAreUnique(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	a := dialRaw(t, addr)
	a.connect(&packets.Connect{CleanSession: true}, packets.Accepted)
	b := dialRaw(t, addr)
	b.connect(&packets.Connect{CleanSession: true}, packets.Accepted)
	for _, c := range []*rawClient{a, b} {
		c.send(&packets.Pingreq{})
		expect[*packets.Pingresp](c, 2*time.Second)
	}
}

// TestConnectSecondConnect: a second CONNECT on one connection is a protocol
// violation and the broker disconnects [MQTT-3.1.0-2].
func TestConnectSecondConnect(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	c := client(t, addr, "twice")
	c.send(&packets.Connect{ClientID: "twice", CleanSession: true})
	c.expectClosed(2 * time.Second)
}

// TestConnectTakeover: a CONNECT with the ID of a connected client closes the
// existing connection [MQTT-3.1.4-2]; the new one works.
func TestConnectTakeover(t *testing.T) {
	t.Parallel()
	for _, clean := range []bool{true, false} {
		name := "clean"
		if !clean {
			name = "persistent"
		}
		t.Run("MQTT-3.1.4-2 "+name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			first := dialRaw(t, addr)
			first.connect(&packets.Connect{ClientID: "dup", CleanSession: clean}, packets.Accepted)
			second := dialRaw(t, addr)
			ack := second.connect(&packets.Connect{ClientID: "dup", CleanSession: clean}, packets.Accepted)
			d := first.expectClosed(2 * time.Second)
			t.Logf("first connection closed %v after the takeover CONNACK", d.Round(time.Millisecond))
			if !clean && !ack.SessionPresent {
				t.Errorf("persistent takeover: session present 0, want 1 [MQTT-3.2.2-2]")
			}
			second.send(&packets.Pingreq{})
			expect[*packets.Pingresp](second, 2*time.Second)
		})
	}
}

// TestConnectTimeout: a socket that never sends CONNECT is closed after
// Options.ConnectTimeout.
func TestConnectTimeout(t *testing.T) {
	t.Parallel()
	const timeout = 300 * time.Millisecond
	for _, tc := range []struct {
		name  string
		bytes []byte
	}{
		{"idle socket", nil},
		{"partial CONNECT", []byte{0x10, 0x0c, 0x00, 0x04, 'M'}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{ConnectTimeout: timeout})
			c := dialRaw(t, addr)
			if tc.bytes != nil {
				c.sendBytes(tc.bytes)
			}
			d := c.expectClosed(3 * time.Second)
			t.Logf("closed after %v (connect timeout %v)", d.Round(time.Millisecond), timeout)
			if d < timeout-50*time.Millisecond {
				t.Errorf("closed after %v, before the %v connect timeout", d, timeout)
			}
		})
	}
}

// TestConnackSessionPresent covers the session present flag
// [MQTT-3.2.2-1] [MQTT-3.2.2-2] [MQTT-3.2.2-3].
func TestConnackSessionPresent(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name  string
		steps []bool // CleanSession of each successive connection
		want  []bool // session present of each CONNACK
	}{
		{"MQTT-3.2.2-1 clean", []bool{true}, []bool{false}},
		{"MQTT-3.2.2-1 clean after clean", []bool{true, true}, []bool{false, false}},
		{"MQTT-3.2.2-3 persistent new", []bool{false}, []bool{false}},
		{"MQTT-3.2.2-2 persistent resumed", []bool{false, false}, []bool{false, true}},
		{"MQTT-3.2.2-1 clean discards persistent", []bool{false, true, false}, []bool{false, false, false}},
		{"MQTT-3.2.2-3 persistent after clean", []bool{true, false}, []bool{false, false}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			for i, clean := range tc.steps {
				c := dialRaw(t, addr)
				ack := c.connect(&packets.Connect{ClientID: "sp", CleanSession: clean}, packets.Accepted)
				if ack.SessionPresent != tc.want[i] {
					t.Fatalf("connection %d (clean=%v): session present %v, want %v", i+1, clean, ack.SessionPresent, tc.want[i])
				}
				c.send(&packets.Disconnect{})
				c.expectClosed(2 * time.Second)
			}
		})
	}
}

// TestConnectDataAfterRefusal: bytes sent behind a refused CONNECT are not
// processed [MQTT-3.1.4-5].
func TestConnectDataAfterRefusal(t *testing.T) {
	t.Parallel()
	pub, _ := packets.Encode(&packets.Publish{Topic: "after/refusal", Payload: []byte("x")})
	sub, _ := packets.Encode(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: "#", QoS: 0}}})
	for _, tc := range []struct {
		name    string
		connect *packets.Connect
		code    byte
	}{
		{"MQTT-3.1.3-8 empty ID persistent", &packets.Connect{}, packets.RefusedIdentifierRejected},
		{"MQTT-3.1.2-2 protocol level 5", &packets.Connect{ProtocolLevel: 5, ClientID: "v5", CleanSession: true}, packets.RefusedProtocolVersion},
	} {
		t.Run("MQTT-3.1.4-5 "+tc.name, func(t *testing.T) {
			t.Parallel()
			_, addr := startServer(t, Options{})
			watcher := client(t, addr, "watcher")
			watcher.subscribe(1, "after/#", 0)
			c := dialRaw(t, addr)
			b := encodeConnect(t, tc.connect)
			b = append(b, sub...)
			b = append(b, pub...)
			c.sendBytes(b) // one write: the broker has it all at once
			ack := expect[*packets.Connack](c, 2*time.Second)
			if ack.ReturnCode != tc.code || ack.SessionPresent {
				t.Fatalf("CONNACK %+v, want code %d, session present 0", ack, tc.code)
			}
			// Nothing else: no SUBACK, just the close [MQTT-3.2.2-5].
			p, err := c.next(2 * time.Second)
			if err == nil {
				t.Fatalf("got %v %+v after refused CONNACK", p.Type(), p)
			}
			watcher.expectSilence(200 * time.Millisecond)
		})
	}
}
