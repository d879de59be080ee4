package mqtt

import (
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// conn is one network connection and, after CONNECT, its client.
type conn struct {
	srv  *Server
	nc   net.Conn
	r    *packets.Reader
	out  *outbound
	log  *slog.Logger
	done chan struct{} // closed when teardown has finished

	// Set while handling CONNECT, read-only afterwards.
	sess      *session
	clientID  string
	username  string
	keepAlive time.Duration

	mu       sync.Mutex
	will     *message
	kicked   string // why the server closed it, "" if not
	graceful bool   // DISCONNECT received

	writerDone chan struct{}
}

// countingConn counts bytes for $SYS without touching the hot path's locks.
type countingConn struct {
	net.Conn
	rx, tx *atomic.Uint64
}

func (c countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	c.rx.Add(uint64(n))
	return n, err
}

func (c countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	c.tx.Add(uint64(n))
	return n, err
}

func newConn(srv *Server, nc net.Conn) *conn {
	cc := countingConn{nc, &srv.stats.bytesReceived, &srv.stats.bytesSent}
	c := &conn{srv: srv, nc: nc, out: newOutbound(srv.opts.MaxOutBytes),
		done: make(chan struct{}), writerDone: make(chan struct{}),
		log: srv.log.With("remote", nc.RemoteAddr().String())}
	c.r = packets.NewReader(cc, 4096)
	c.r.MaxSize = srv.opts.MaxPacketSize
	go c.writeLoop(cc)
	return c
}

// writeLoop writes whatever is queued in one go, then waits for more.
func (c *conn) writeLoop(w io.Writer) {
	defer close(c.writerDone)
	for range c.out.wake {
		b := c.out.take()
		if len(b) > 0 {
			c.nc.SetWriteDeadline(time.Now().Add(writeTimeout))
			if _, err := w.Write(b); err != nil {
				c.out.close()
				c.nc.Close() // unblocks the reader too
				return
			}
			c.out.recycle(b)
		}
		if c.out.isClosed() {
			if b := c.out.take(); len(b) > 0 { // what was queued before close
				w.Write(b)
			}
			return
		}
	}
}

// kick closes the connection from the server side; the will is published
// unless the client had sent DISCONNECT [MQTT-3.1.2-8].
func (c *conn) kick(reason string) {
	c.mu.Lock()
	if c.kicked == "" {
		c.kicked = reason
	}
	c.mu.Unlock()
	c.nc.Close()
}

// serve runs the read loop, then tears the connection down.
func (c *conn) serve() {
	err := c.readLoop()
	c.teardown(err)
}

func (c *conn) readLoop() error {
	// Before CONNECT the deadline is the connect timeout.
	c.nc.SetReadDeadline(time.Now().Add(c.srv.opts.ConnectTimeout))
	p, err := c.r.ReadPacket()
	if err != nil {
		if cp, ok := p.(*packets.Connect); ok && errors.Is(err, packets.ErrProtocolLevel) {
			// [MQTT-3.1.2-2] CONNACK 0x01, then close.
			c.out.send(&packets.Connack{ReturnCode: packets.RefusedProtocolVersion}, false)
			c.log.Info("refused", "reason", "protocol level", "level", cp.ProtocolLevel)
		}
		return err
	}
	cp, ok := p.(*packets.Connect)
	if !ok {
		return errFirstNotConnect // [MQTT-3.1.0-1] [MQTT-3.2.0-1]
	}
	if err := c.connect(cp); err != nil {
		return err
	}
	for {
		if c.keepAlive > 0 && !c.srv.opts.Faults.NoKeepalive {
			// [MQTT-3.1.2-24] a client silent for 1.5 × keep alive is dropped.
			c.nc.SetReadDeadline(time.Now().Add(c.keepAlive * 3 / 2))
		} else {
			c.nc.SetReadDeadline(time.Time{})
		}
		p, err := c.r.ReadPacket()
		if err != nil {
			if c.srv.opts.Faults.TolerateMalformed && packets.RuleOf(err) != "" && p != nil {
				continue
			}
			return err
		}
		if err := c.handle(p); err != nil {
			return err
		}
		if c.isGraceful() {
			return nil
		}
	}
}

// flushTimeout bounds how long a closing connection waits for its last bytes.
const flushTimeout = 2 * time.Second

var (
	errFirstNotConnect = errors.New("[MQTT-3.1.0-1] first packet is not CONNECT")
	errSecondConnect   = errors.New("[MQTT-3.1.0-2] second CONNECT on one connection")
	errUnexpected      = errors.New("[MQTT-4.8.0-1] packet type a client must not send")
	errRefused         = errors.New("connection refused")
)

func (c *conn) isGraceful() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.graceful
}

// teardown flushes output, closes the socket, detaches the session and
// publishes the will when the close was not a DISCONNECT.
func (c *conn) teardown(err error) {
	c.out.close()
	// Let the writer flush what is queued (CONNACK refusals, final acks).
	select {
	case <-c.writerDone:
	case <-time.After(flushTimeout):
	}
	c.nc.Close()
	c.mu.Lock()
	will, graceful, kicked := c.will, c.graceful, c.kicked
	c.will = nil
	c.mu.Unlock()
	if c.sess != nil {
		c.srv.detach(c)
		c.srv.stats.clientsConnected.Add(-1)
	}
	switch {
	case graceful:
		c.log.Debug("disconnected")
	case kicked != "":
		c.log.Info("closed by server", "reason", kicked)
	case err != nil && !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed):
		c.log.Info("connection closed", "err", err)
	}
	if will != nil && (!graceful || c.srv.opts.Faults.KeepWillOnDisconnect) && !c.srv.isClosing() {
		// The will is published on the client's behalf: the ACL and $SYS
		// protection apply as to its own PUBLISH (as in Mosquitto, a denied
		// will is dropped, not refused at CONNECT).
		if c.mayPublish(will.topic) {
			c.srv.publish(will, nil, nil)
		} else {
			c.log.Info("will denied", "topic", will.topic)
		}
	}
	close(c.done)
}
