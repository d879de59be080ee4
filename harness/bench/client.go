package bench

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// handshakeTimeout bounds CONNECT→CONNACK and SUBSCRIBE→SUBACK.
const handshakeTimeout = 10 * time.Second

// mconn is one load-generator connection: MQTT 3.1.1 over TCP with buffered
// writes. One goroutine reads; writes from any goroutine go through wmu and
// reach the socket on flush (or when the 64 KiB buffer fills), so a burst
// of publishes or acks costs one syscall.
type mconn struct {
	nc net.Conn
	pktReader

	wmu    sync.Mutex
	bw     *bufio.Writer
	enc    []byte
	ackBuf [4]byte
	dirty  bool

	closing atomic.Bool // set before we close it: read errors then are expected
}

// errNA marks a case the target cannot run: a result, not a failure.
type errNA struct{ reason string }

func (e errNA) Error() string { return e.reason }

// dialMQTT connects and completes CONNECT/CONNACK. Keep alive is 0, which
// turns the keep-alive mechanism off (§3.1.2.10), so idle load-generator
// connections need no PINGREQ.
func dialMQTT(ctx context.Context, addr, clientID string, clean bool) (*mconn, *packets.Connack, error) {
	d := net.Dialer{Timeout: handshakeTimeout}
	nc, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, nil, err
	}
	c := &mconn{nc: nc, pktReader: newPktReader(nc), bw: bufio.NewWriterSize(nc, 64<<10)}
	ack, err := c.connect(clientID, clean)
	if err != nil {
		nc.Close()
		return nil, nil, err
	}
	return c, ack, nil
}

func (c *mconn) connect(clientID string, clean bool) (*packets.Connack, error) {
	c.nc.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.nc.SetDeadline(time.Time{})
	if err := c.send(&packets.Connect{ClientID: clientID, CleanSession: clean}); err != nil {
		return nil, err
	}
	if err := c.flush(); err != nil {
		return nil, err
	}
	h, body, err := c.read()
	if err != nil {
		return nil, fmt.Errorf("waiting for CONNACK: %w", err)
	}
	if h.Type != packets.CONNACK {
		return nil, fmt.Errorf("got %v, want CONNACK", h.Type) // [MQTT-3.2.0-1]
	}
	var ack packets.Connack
	if err := ack.Unpack(h, body, packets.Version311); err != nil {
		return nil, err
	}
	if ack.ReturnCode != packets.Accepted {
		return nil, fmt.Errorf("CONNACK return code %d", ack.ReturnCode)
	}
	return &ack, nil
}

// subscribe sends one SUBSCRIBE and returns the granted QoS; call it before
// the reader goroutine starts.
func (c *mconn) subscribe(filter string, qos byte) (byte, error) {
	c.nc.SetDeadline(time.Now().Add(handshakeTimeout))
	defer c.nc.SetDeadline(time.Time{})
	if err := c.send(&packets.Subscribe{PacketID: 1, Subscriptions: []packets.Subscription{{Filter: filter, QoS: qos}}}); err != nil {
		return 0, err
	}
	if err := c.flush(); err != nil {
		return 0, err
	}
	for {
		h, body, err := c.read()
		if err != nil {
			return 0, fmt.Errorf("waiting for SUBACK: %w", err)
		}
		if h.Type != packets.SUBACK {
			continue // e.g. a retained message of someone else's: not ours to count
		}
		var ack packets.Suback
		if err := ack.Unpack(h, body, packets.Version311); err != nil {
			return 0, err
		}
		if ack.PacketID != 1 || len(ack.ReturnCodes) != 1 {
			return 0, fmt.Errorf("SUBACK id %d with %d codes for one filter", ack.PacketID, len(ack.ReturnCodes)) // [MQTT-3.8.4-2] [MQTT-3.8.4-5]
		}
		return ack.ReturnCodes[0], nil
	}
}

// subscribeAt subscribes at exactly qos. A refusal, or a lower QoS granted
// (a server may grant less than asked, §3.8.4), is errNA: not a case this
// target runs.
func (c *mconn) subscribeAt(filter string, qos byte) error {
	g, err := c.subscribe(filter, qos)
	switch {
	case err != nil:
		return err
	case g == packets.SubackFailure:
		return errNA{"SUBSCRIBE refused (SUBACK 0x80)"}
	case g < qos:
		return errNA{fmt.Sprintf("SUBACK granted QoS %d for QoS %d", g, qos)}
	}
	return nil
}

// send encodes p into the write buffer.
func (c *mconn) send(p packets.Packet) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	return c.sendLocked(p)
}

func (c *mconn) sendLocked(p packets.Packet) error {
	var err error
	if c.enc, err = p.AppendTo(c.enc[:0]); err != nil {
		return err
	}
	_, err = c.bw.Write(c.enc)
	c.dirty = true
	return err
}

// ack writes a 4-byte acknowledgement (PUBACK, PUBREC, PUBREL, PUBCOMP).
func (c *mconn) ack(t packets.Type, id uint16) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.dirty = true
	c.ackBuf = ackBytes(t, id)
	_, err := c.bw.Write(c.ackBuf[:])
	return err
}

// flush writes out whatever is buffered.
func (c *mconn) flush() error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if !c.dirty {
		return nil
	}
	c.dirty = false
	return c.bw.Flush()
}

// sendDisconnect marks the connection as closing and writes out DISCONNECT
// with whatever is still buffered, after setDeadline (the connection's
// write or read/write deadline) to d from now.
func (c *mconn) sendDisconnect(setDeadline func(time.Time) error, d time.Duration) {
	c.closing.Store(true)
	setDeadline(time.Now().Add(d))
	c.wmu.Lock()
	c.bw.Write([]byte{byte(packets.DISCONNECT) << 4, 0})
	c.bw.Flush()
	c.wmu.Unlock()
}

// disconnect sends DISCONNECT, on which the server discards any will
// [MQTT-3.14.4-3], and closes the connection as a client must after it
// [MQTT-3.14.4-1].
func (c *mconn) disconnect() {
	c.sendDisconnect(c.nc.SetWriteDeadline, 2*time.Second)
	c.nc.Close()
}

// disconnectWait sends DISCONNECT and waits up to 5 s for the server to
// close its side, which it does once it has handled the DISCONNECT
// (§3.14.4), so the session is offline when it returns. Only for a
// connection no reader goroutine reads.
func (c *mconn) disconnectWait() {
	c.sendDisconnect(c.nc.SetDeadline, 5*time.Second)
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.CloseWrite()
	}
	io.Copy(io.Discard, c.br)
	c.nc.Close()
}

// abort closes without DISCONNECT.
func (c *mconn) abort() {
	c.closing.Store(true)
	c.nc.Close()
}

// reset closes without DISCONNECT and with an RST instead of a FIN:
// thousands of sockets in TIME_WAIT would use up the loopback ephemeral
// ports over a few rounds.
func (c *mconn) reset() {
	if tc, ok := c.nc.(*net.TCPConn); ok {
		tc.SetLinger(0)
	}
	c.abort()
}

// readErr turns a read error into nil when we closed the connection ourselves.
func (c *mconn) readErr(err error) error {
	if c.closing.Load() {
		return nil
	}
	return err
}
