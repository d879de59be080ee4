package mqtt

import (
	"errors"
	"io"
	"net"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// startServer runs a broker on a random loopback port (nats-server's
// "port: -1" idea) and stops it when the test ends.
func startServer(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	opts.Listen = []string{"127.0.0.1:0"}
	if opts.SysInterval == 0 {
		opts.SysInterval = -1 // tests that want $SYS ask for it
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
	return srv, srv.Addrs()[0].String()
}

// rawClient speaks packets on a TCP connection, for tests that need to send
// exactly what they choose and see exactly what comes back.
type rawClient struct {
	t  testing.TB
	nc net.Conn
	r  *packets.Reader
}

func dialRaw(t testing.TB, addr string) *rawClient {
	t.Helper()
	nc, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	t.Cleanup(func() { nc.Close() })
	return &rawClient{t: t, nc: nc, r: packets.NewReader(nc, 4096)}
}

func (c *rawClient) send(p packets.Packet) {
	c.t.Helper()
	b, err := packets.Encode(p)
	if err != nil {
		c.t.Fatalf("encode %v: %v", p.Type(), err)
	}
	c.sendBytes(b)
}

func (c *rawClient) sendBytes(b []byte) {
	c.t.Helper()
	c.nc.SetWriteDeadline(time.Now().Add(2 * time.Second))
	if _, err := c.nc.Write(b); err != nil {
		c.t.Fatalf("write: %v", err)
	}
}

// next reads the next packet within d.
func (c *rawClient) next(d time.Duration) (packets.Packet, error) {
	c.nc.SetReadDeadline(time.Now().Add(d))
	return c.r.ReadPacket()
}

// expect reads the next packet and fails unless it is of type T.
func expect[T packets.Packet](c *rawClient, d time.Duration) T {
	c.t.Helper()
	p, err := c.next(d)
	if err != nil {
		c.t.Fatalf("waiting for %T: %v", *new(T), err)
	}
	v, ok := p.(T)
	if !ok {
		c.t.Fatalf("got %v %+v, want %T", p.Type(), p, *new(T))
	}
	return v
}

// expectClosed waits up to d for the broker to close the connection and
// returns how long that took.
func (c *rawClient) expectClosed(d time.Duration) time.Duration {
	c.t.Helper()
	start := time.Now()
	for {
		p, err := c.next(d - time.Since(start))
		var ne net.Error
		switch {
		case err == nil:
			c.t.Logf("packet while waiting for close: %v %+v", p.Type(), p)
			continue
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), isReset(err):
			return time.Since(start)
		case errors.As(err, &ne) && ne.Timeout():
			c.t.Fatalf("connection still open after %v", d)
		default:
			return time.Since(start)
		}
	}
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe) && !oe.Timeout()
}

// expectSilence fails if a packet arrives within d.
func (c *rawClient) expectSilence(d time.Duration) {
	c.t.Helper()
	p, err := c.next(d)
	if err == nil {
		c.t.Fatalf("unexpected %v %+v", p.Type(), p)
	}
}

// connect sends CONNECT and requires CONNACK with the given code.
func (c *rawClient) connect(p *packets.Connect, code byte) *packets.Connack {
	c.t.Helper()
	c.send(p)
	ack := expect[*packets.Connack](c, 2*time.Second)
	if ack.ReturnCode != code {
		c.t.Fatalf("CONNACK code %d, want %d", ack.ReturnCode, code)
	}
	return ack
}

// client dials and connects a clean session with the given ID.
func client(t testing.TB, addr, id string) *rawClient {
	t.Helper()
	c := dialRaw(t, addr)
	c.connect(&packets.Connect{ClientID: id, CleanSession: true}, packets.Accepted)
	return c
}

func (c *rawClient) subscribe(id uint16, filter string, qos byte) *packets.Suback {
	c.t.Helper()
	c.send(&packets.Subscribe{PacketID: id, Subscriptions: []packets.Subscription{{Filter: filter, QoS: qos}}})
	return expect[*packets.Suback](c, 2*time.Second)
}

// publish sends a PUBLISH and completes its flow from the client side.
func (c *rawClient) publish(p *packets.Publish) {
	c.t.Helper()
	c.send(p)
	switch p.QoS {
	case 1:
		if a := expect[*packets.Puback](c, 2*time.Second); a.PacketID != p.PacketID {
			c.t.Fatalf("PUBACK %d, want %d", a.PacketID, p.PacketID)
		}
	case 2:
		expect[*packets.Pubrec](c, 2*time.Second)
		c.send(&packets.Pubrel{PacketID: p.PacketID})
		expect[*packets.Pubcomp](c, 2*time.Second)
	}
}

// waitGoroutines polls until the goroutine count is back to at most n.
func waitGoroutines(t testing.TB, n int, d time.Duration) {
	t.Helper()
	deadline := time.Now().Add(d)
	for runtime.NumGoroutine() > n {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("goroutines: %d, want <= %d\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestMain(m *testing.M) { os.Exit(m.Run()) }

// expectOpenFor waits d and fails if a packet arrives or the broker closes
// the connection meanwhile. It is a deadline-bound read, not a sleep: a close
// is seen as soon as it happens.
func (c *rawClient) expectOpenFor(d time.Duration) {
	c.t.Helper()
	start := time.Now()
	p, err := c.next(d)
	var ne net.Error
	switch {
	case err == nil:
		c.t.Fatalf("unexpected %v %+v", p.Type(), p)
	case errors.As(err, &ne) && ne.Timeout():
	default:
		c.t.Fatalf("connection closed after %v, want open for %v: %v", time.Since(start).Round(time.Millisecond), d, err)
	}
}

// expectPub reads the next PUBLISH, requires it to be on topic, and
// acknowledges it: PUBACK for QoS 1, PUBREC for QoS 2. A PUBREL met on the
// way (the broker's answer to an earlier PUBREC) gets its PUBCOMP, so QoS 2
// flows complete while other messages interleave with them.
func (c *rawClient) expectPub(topic string) *packets.Publish {
	c.t.Helper()
	for {
		p, err := c.next(2 * time.Second)
		if err != nil {
			c.t.Fatalf("waiting for PUBLISH on %q: %v", topic, err)
		}
		switch p := p.(type) {
		case *packets.Pubrel:
			c.send(&packets.Pubcomp{PacketID: p.PacketID})
		case *packets.Publish:
			if p.Topic != topic {
				c.t.Fatalf("PUBLISH on %q (%+v), want %q", p.Topic, p, topic)
			}
			c.ackFirst(p)
			return p
		default:
			c.t.Fatalf("got %v %+v, want PUBLISH on %q", p.Type(), p, topic)
		}
	}
}

// pubsUntil acknowledges and returns every PUBLISH that arrives before one
// on topic (which is acknowledged too but not returned).
func (c *rawClient) pubsUntil(topic string) []*packets.Publish {
	c.t.Helper()
	var out []*packets.Publish
	for {
		p, err := c.next(2 * time.Second)
		if err != nil {
			c.t.Fatalf("waiting for PUBLISH on %q: %v", topic, err)
		}
		switch p := p.(type) {
		case *packets.Pubrel:
			c.send(&packets.Pubcomp{PacketID: p.PacketID})
		case *packets.Publish:
			c.ackFirst(p)
			if p.Topic == topic {
				return out
			}
			out = append(out, p)
		default:
			c.t.Fatalf("got %v %+v, want PUBLISH", p.Type(), p)
		}
	}
}

// ackFirst sends the receiver's first acknowledgement of p: PUBACK for
// QoS 1, PUBREC for QoS 2 (the PUBREL is answered where it is met).
func (c *rawClient) ackFirst(p *packets.Publish) {
	switch p.QoS {
	case 1:
		c.send(&packets.Puback{PacketID: p.PacketID})
	case 2:
		c.send(&packets.Pubrec{PacketID: p.PacketID})
	}
}

// ackPub completes the receiver's side of p's QoS flow, waiting for the
// PUBREL of a QoS 2 message (use it when nothing else can interleave).
func (c *rawClient) ackPub(p *packets.Publish) {
	c.t.Helper()
	c.ackFirst(p)
	if p.QoS == 2 {
		if rel := expect[*packets.Pubrel](c, 2*time.Second); rel.PacketID != p.PacketID {
			c.t.Fatalf("PUBREL %d, want %d [MQTT-2.3.1-6]", rel.PacketID, p.PacketID)
		}
		c.send(&packets.Pubcomp{PacketID: p.PacketID})
	}
}

// collectPubs reads PUBLISH packets (acknowledging each) until none arrives
// for quiet, and returns them.
func (c *rawClient) collectPubs(quiet time.Duration) []*packets.Publish {
	c.t.Helper()
	var out []*packets.Publish
	for {
		p, err := c.next(quiet)
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				return out
			}
			c.t.Fatalf("collecting PUBLISH: %v", err)
		}
		switch p := p.(type) {
		case *packets.Publish:
			c.ackFirst(p) // QoS 2 completes when its PUBREL comes
			out = append(out, p)
		case *packets.Pubrel:
			c.send(&packets.Pubcomp{PacketID: p.PacketID})
		default:
			c.t.Fatalf("got %v %+v while collecting PUBLISH", p.Type(), p)
		}
	}
}

// sync makes a PINGREQ/PINGRESP round trip. The broker handles one
// connection's packets in order, so afterwards everything sent before it
// (a QoS 0 publish, say) has been processed.
func (c *rawClient) sync() {
	c.t.Helper()
	c.send(&packets.Pingreq{})
	expect[*packets.Pingresp](c, 2*time.Second)
}
