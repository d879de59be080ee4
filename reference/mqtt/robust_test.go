package mqtt

import (
	"errors"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// TestRobustMalformed: a malformed packet closes the connection that sent it
// [MQTT-4.8.0-1] and nothing else: a bystander subscriber stays connected
// and keeps receiving.
func TestRobustMalformed(t *testing.T) {
	t.Parallel()
	_, addr := startServer(t, Options{})
	watcher := client(t, addr, "mal-watch")
	watcher.subscribe(1, "mal/#", 1)
	pub := client(t, addr, "mal-pub")

	str := func(s string) []byte { return append([]byte{0, byte(len(s))}, s...) }
	cat := func(parts ...[]byte) []byte {
		var b []byte
		for _, p := range parts {
			b = append(b, p...)
		}
		return b
	}
	body := cat(str("mal/x"), []byte{0, 1}, []byte("p"))
	cases := []struct {
		name string
		b    []byte
	}{
		{"reserved type 15, 5-byte remaining length", []byte{0xff, 0xff, 0xff, 0xff, 0xff}},
		{"reserved type 0", []byte{0x00, 0x00}},
		{"PUBLISH QoS 3 [MQTT-3.3.1-4]", cat([]byte{0x36, byte(len(body))}, body)},
		{"PUBLISH DUP with QoS 0 [MQTT-3.3.1-2]", cat([]byte{0x38, 7}, str("mal/x"))},
		{"remaining length over 4 bytes", []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}},
		{"remaining length 268,435,455 (over MaxPacketSize)", []byte{0x30, 0xff, 0xff, 0xff, 0x7f}},
		{"PUBLISH wildcard topic [MQTT-3.3.2-2]", cat([]byte{0x32, 9}, str("mal/#"), []byte{0, 1})},
		{"PUBLISH bad UTF-8 topic [MQTT-1.5.3-1]", cat([]byte{0x30, 4}, []byte{0, 2, 0xc3, 0x28})},
		{"PUBLISH packet ID 0 [MQTT-2.3.1-1]", cat([]byte{0x32, 9}, str("mal/x"), []byte{0, 0})},
		{"SUBSCRIBE reserved flags [MQTT-3.8.1-1]", cat([]byte{0x80, 6}, []byte{0, 1}, str("a"), []byte{0, 1})},
		{"SUBSCRIBE QoS 3", cat([]byte{0x82, 6}, []byte{0, 1}, str("a"), []byte{3})},
		{"PUBLISH shorter than its topic", cat([]byte{0x30, 3}, []byte{0, 9, 'a'})},
		{"second CONNECT [MQTT-3.1.0-2]", mustEncode(t, &packets.Connect{ClientID: "again", CleanSession: true})},
	}
	for i, c := range cases {
		for _, afterConnect := range []bool{true, false} {
			name := c.name + map[bool]string{true: " after CONNECT", false: " as first packet"}[afterConnect]
			if !afterConnect && i == len(cases)-1 {
				continue // a first CONNECT is not malformed
			}
			t.Run(name, func(t *testing.T) {
				var bad *rawClient
				if afterConnect {
					bad = client(t, addr, fmt.Sprintf("mal-%d", i))
				} else {
					bad = dialRaw(t, addr)
				}
				bad.sendBytes(c.b)
				bad.expectClosed(2 * time.Second)
			})
		}
	}
	for i := range 3 {
		pub.publish(&packets.Publish{Topic: "mal/ok", QoS: 1, PacketID: uint16(i + 1), Payload: []byte("still here")})
		watcher.ackPub(watcher.expectPublish("mal/ok", "still here", 1))
	}
	watcher.ping()
}

func mustEncode(t testing.TB, p packets.Packet) []byte {
	t.Helper()
	b, err := packets.Encode(p)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// dialSmallBuffer dials addr with a 4 KiB receive buffer set before the
// handshake, so the advertised window stays small.
func dialSmallBuffer(t testing.TB, addr string) *rawClient {
	t.Helper()
	d := net.Dialer{Timeout: 2 * time.Second, Control: func(_, _ string, rc syscall.RawConn) error {
		var serr error
		err := rc.Control(func(fd uintptr) {
			serr = syscall.SetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4096)
		})
		return errors.Join(err, serr)
	}}
	nc, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatalf("dial: %v", err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, r: packets.NewReader(nc, 4096)}
}

// TestRobustSlowReader: a subscriber that stops reading does not hold up
// delivery to the others. The publisher stays at most one batch ahead of a
// fast subscriber, which must keep receiving every message while the slow
// one's QoS 0 backlog overflows; every message is then accounted for: what
// the slow subscriber eventually reads plus what was dropped is what was
// published.
func TestRobustSlowReader(t *testing.T) {
	t.Parallel()
	const (
		total   = 2000
		batch   = 16
		size    = 4 << 10
		outCap  = 128 << 10 // batch*size is well below, so the fast one never drops
		timeout = 15 * time.Second
	)
	srv, addr := startServer(t, Options{MaxOutBytes: outCap})

	slow := dialSmallBuffer(t, addr)
	slow.connect(&packets.Connect{ClientID: "slow", CleanSession: true}, packets.Accepted)
	slow.subscribe(1, "flood", 0)

	fast := client(t, addr, "fast")
	fast.subscribe(1, "flood", 0)
	got := make(chan int, total)
	readErr := make(chan error, 1)
	go func() {
		// This goroutine owns fast's reads; it reports each arrival.
		for n := 0; n < total; {
			fast.nc.SetReadDeadline(time.Now().Add(timeout))
			p, err := fast.r.ReadPacket()
			if err != nil {
				readErr <- err
				return
			}
			if pp, ok := p.(*packets.Publish); ok && len(pp.Payload) == size {
				n++
				got <- n
			}
		}
	}()

	pub := client(t, addr, "flooder")
	before := srv.Stats().MessagesDropped
	payload := make([]byte, size)
	msg := mustEncode(t, &packets.Publish{Topic: "flood", Payload: payload})
	start := time.Now()
	deadline := time.After(timeout)
	received := 0
	for sent := 0; sent < total; {
		var buf []byte
		for range batch {
			buf = append(buf, msg...)
		}
		pub.sendBytes(buf)
		sent += batch
		for received < sent {
			select {
			case received = <-got:
			case err := <-readErr:
				t.Fatalf("fast subscriber: %v after %d messages", err, received)
			case <-deadline:
				t.Fatalf("fast subscriber got %d of %d messages in %v: delivery stalled", received, sent, timeout)
			}
		}
	}
	elapsed := time.Since(start)
	dropped := srv.Stats().MessagesDropped - before
	t.Logf("fast subscriber received all %d messages of %d B in %v; slow subscriber: %d dropped",
		total, size, elapsed.Round(time.Millisecond), dropped)
	if dropped == 0 {
		t.Fatalf("no QoS 0 message was dropped for a subscriber that never reads")
	}
	if dropped >= total {
		t.Fatalf("dropped %d of %d", dropped, total)
	}

	// The slow subscriber reads at last: it gets exactly what was not dropped.
	want := total - int(dropped)
	n := 0
	for n < want {
		p, err := slow.next(5 * time.Second)
		if err != nil {
			t.Fatalf("slow subscriber: read %d of %d: %v", n, want, err)
		}
		if pp, ok := p.(*packets.Publish); ok && len(pp.Payload) == size {
			n++
		}
	}
	slow.expectSilence(100 * time.Millisecond)
}

// TestRobustNoGoroutineLeak: clients that come and go in every way leave no
// goroutine behind, and Close stops everything the server started.
// Not parallel: it counts the process's goroutines.
func TestRobustNoGoroutineLeak(t *testing.T) {
	base := runtime.NumGoroutine()
	srv, addr := startServer(t, Options{})
	serving := runtime.NumGoroutine()

	pub := client(t, addr, "leak-pub")
	for i := range 50 {
		id := fmt.Sprintf("leak-%d", i)
		switch i % 6 {
		case 0: // graceful
			c := client(t, addr, id)
			c.disconnect()
		case 1: // socket dropped
			c := client(t, addr, id)
			c.nc.Close()
		case 2: // subscribed, then dropped
			c := client(t, addr, id)
			c.subscribe(1, "leak/+", 0)
			c.nc.Close()
		case 3: // persistent, a QoS 1 message in flight, dropped
			c, _ := connectSession(t, addr, id, false)
			c.subscribe(1, "leak/"+id, 1)
			pub.publish(&packets.Publish{Topic: "leak/" + id, QoS: 1, PacketID: 1, Payload: []byte("x")})
			c.expectPublish("leak/"+id, "x", 1) // never acknowledged
			c.nc.Close()
		case 4: // publishes QoS 1 and leaves without reading the PUBACK
			c := client(t, addr, id)
			c.send(&packets.Publish{Topic: "leak/x", QoS: 1, PacketID: 1, Payload: []byte("y")})
			c.nc.Close()
		case 5: // half a CONNECT, then gone
			c := dialRaw(t, addr)
			c.sendBytes(mustEncode(t, &packets.Connect{ClientID: id})[:5])
			c.nc.Close()
		}
	}
	pub.disconnect()
	// Every connection's reader and writer have exited: only the accept loop
	// (and at most a goroutine of the runtime's own) remain.
	waitGoroutines(t, serving+1, 5*time.Second)
	if err := srv.Close(); err != nil {
		t.Fatalf("close: %v", err)
	}
	waitGoroutines(t, base, 5*time.Second)
}
