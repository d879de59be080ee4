package capture

import (
	"net"
	"net/netip"
	"slices"
	"time"
)

// NewSocketSession is the fallback when packets cannot be captured (no
// root, no CAP_NET_RAW): connections passed through Wrap record each Read
// and Write as a Packet with its time and payload. Its packets have
// WireLen, IPHeader and TCPHeader 0, and Frames counts Read/Write calls,
// not TCP segments: every figure taken from it is "payload-only" (Mode()
// is "socket", PayloadOnly() is true). Analyze works on its packets as on
// captured ones, TLS and MQTT accounting included, as long as the wrapped
// conn is the TCP connection (wrap first, then run TLS over the wrapper).
// No pcapng is written.
func NewSocketSession() *Session {
	return &Session{mode: modeSocket, done: make(chan struct{})}
}

// Wrap returns c counting what goes through it. server is the server end
// of the connection; dir says which side c is by the direction of its
// writes: ToServer for a client's conn, ToClient for a server's (an
// invalid server is taken from c's addresses). Wrap one side of a
// connection only, or its bytes are counted twice. On a capturing
// (afpacket) session Wrap returns c unchanged: the kernel counts.
func (s *Session) Wrap(c net.Conn, server netip.AddrPort, dir Direction) net.Conn {
	if s.mode != modeSocket {
		return c
	}
	w := &countingConn{Conn: c, s: s, server: server, wdir: dir}
	if dir == ToServer {
		w.client = addrPort(c.LocalAddr())
	} else {
		w.client = addrPort(c.RemoteAddr())
	}
	if !server.IsValid() {
		if dir == ToServer {
			w.server = addrPort(c.RemoteAddr())
		} else {
			w.server = addrPort(c.LocalAddr())
		}
	}
	return w
}

func addrPort(a net.Addr) netip.AddrPort {
	if t, ok := a.(*net.TCPAddr); ok {
		return t.AddrPort()
	}
	if a != nil {
		if ap, err := netip.ParseAddrPort(a.String()); err == nil {
			return ap
		}
	}
	return netip.AddrPort{}
}

func (s *Session) record(p Packet) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.pkts = append(s.pkts, p)
	}
}

func (s *Session) stopSocket() ([]Packet, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.stopped {
		s.stopped = true
		s.result = s.pkts
		s.pkts = nil
		slices.SortStableFunc(s.result, func(a, b Packet) int { return a.Time.Compare(b.Time) })
	}
	return s.result, nil
}

type countingConn struct {
	net.Conn
	s              *Session
	client, server netip.AddrPort
	wdir           Direction
	wseq, rseq     uint32 // bytes written and read so far
}

func (c *countingConn) packet(dir Direction, b []byte, seq uint32) Packet {
	return Packet{
		Time:       time.Now(),
		Client:     c.client,
		Server:     c.server,
		Dir:        dir,
		PayloadLen: len(b),
		Payload:    slices.Clone(b),
		Seq:        seq,
	}
}

// Write counts what the wrapped connection accepted. Callers do not
// write concurrently on one conn (net.Conn allows it, TLS and MQTT
// clients do not do it), so the sequence numbers need no lock.
func (c *countingConn) Write(b []byte) (int, error) {
	n, err := c.Conn.Write(b)
	if n > 0 {
		c.s.record(c.packet(c.wdir, b[:n], c.wseq))
		c.wseq += uint32(n)
	}
	return n, err
}

func (c *countingConn) Read(b []byte) (int, error) {
	n, err := c.Conn.Read(b)
	if n > 0 {
		c.s.record(c.packet(1-c.wdir, b[:n], c.rseq))
		c.rseq += uint32(n)
	}
	return n, err
}

// CloseWrite half-closes the connection when the wrapped one can.
func (c *countingConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return c.Conn.Close()
}
