package capture

import (
	"bytes"
	"encoding/binary"
	"net/netip"
	"time"
)

// Synthetic connections for the unit tests: frames built byte by byte and
// packets cut from byte streams at chosen offsets.

var (
	synthClient = netip.MustParseAddrPort("127.0.0.1:50000")
	synthServer = netip.MustParseAddrPort("127.0.0.1:1883")
	synthT0     = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

const (
	synthISNClient = 0xfffffff0 // wraps during the stream
	synthISNServer = 1000
	tcpFIN         = 0x01
	tcpSYN         = 0x02
	tcpRST         = 0x04
	tcpPSH         = 0x08
	tcpACK         = 0x10
)

// buildFrame is an Ethernet/IP/TCP frame (TCP header with the 12-byte
// timestamp option, as Linux sends them).
func buildFrame(src, dst netip.AddrPort, seq, ack uint32, flags byte, payload []byte) []byte {
	tcp := make([]byte, 32)
	binary.BigEndian.PutUint16(tcp[0:], src.Port())
	binary.BigEndian.PutUint16(tcp[2:], dst.Port())
	binary.BigEndian.PutUint32(tcp[4:], seq)
	binary.BigEndian.PutUint32(tcp[8:], ack)
	tcp[12] = 8 << 4
	tcp[13] = flags
	binary.BigEndian.PutUint16(tcp[14:], 65483)
	copy(tcp[20:], []byte{1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2}) // NOP NOP TS
	seg := append(tcp, payload...)
	var ip []byte
	eth := make([]byte, 14)
	if src.Addr().Is4() {
		binary.BigEndian.PutUint16(eth[12:], 0x0800)
		ip = make([]byte, 20)
		ip[0] = 0x45
		binary.BigEndian.PutUint16(ip[2:], uint16(20+len(seg)))
		ip[6] = 0x40 // DF
		ip[8], ip[9] = 64, 6
		s, d := src.Addr().As4(), dst.Addr().As4()
		copy(ip[12:], s[:])
		copy(ip[16:], d[:])
	} else {
		binary.BigEndian.PutUint16(eth[12:], 0x86dd)
		ip = make([]byte, 40)
		ip[0] = 0x60
		binary.BigEndian.PutUint16(ip[4:], uint16(len(seg)))
		ip[6], ip[7] = 6, 64
		s, d := src.Addr().As16(), dst.Addr().As16()
		copy(ip[8:], s[:])
		copy(ip[24:], d[:])
	}
	return append(append(eth, ip...), seg...)
}

// synthConn builds the packets of one connection: handshake, then the
// given segments in order, then FIN from both sides.
type synthConn struct {
	pkts     []Packet
	seq      [2]uint32 // next sequence number per direction
	t        time.Time
	client   netip.AddrPort
	server   netip.AddrPort
	sent     [2][]byte // stream per direction
	segments int
}

func newSynthConn() *synthConn {
	c := &synthConn{t: synthT0, client: synthClient, server: synthServer}
	c.raw(ToServer, synthISNClient, tcpSYN, nil)
	c.raw(ToClient, synthISNServer, tcpSYN|tcpACK, nil)
	c.seq = [2]uint32{synthISNClient + 1, synthISNServer + 1}
	c.raw(ToServer, c.seq[ToServer], tcpACK, nil)
	return c
}

func (c *synthConn) raw(d Direction, seq uint32, flags byte, payload []byte) {
	src, dst := c.client, c.server
	if d == ToClient {
		src, dst = dst, src
	}
	f := buildFrame(src, dst, seq, c.seq[1-d], flags, payload)
	p, ok := frameDecoder{}.decode(f, len(f), map[uint16]bool{c.server.Port(): true})
	if !ok {
		panic("synthetic frame does not decode")
	}
	c.t = c.t.Add(time.Millisecond)
	p.Time = c.t
	p.frame = f
	c.pkts = append(c.pkts, p)
}

// send sends b in direction d as one segment.
func (c *synthConn) send(d Direction, b []byte) {
	c.raw(d, c.seq[d], tcpACK|tcpPSH, b)
	c.seq[d] += uint32(len(b))
	c.sent[d] = append(c.sent[d], b...)
	c.segments++
}

// sendCut sends b cut at the given offsets (one segment per piece).
func (c *synthConn) sendCut(d Direction, b []byte, cuts ...int) {
	prev := 0
	for _, cut := range append(cuts, len(b)) {
		if cut > prev {
			c.send(d, b[prev:cut])
		}
		prev = max(prev, cut)
	}
}

// resend retransmits the stream bytes [from, to) of direction d.
func (c *synthConn) resend(d Direction, from, to int) {
	base := c.seq[d] - uint32(len(c.sent[d]))
	c.raw(d, base+uint32(from), tcpACK|tcpPSH, c.sent[d][from:to])
}

// closeServerFirst: the server closes first (on the client's
// close_notify), before the client's own FIN.
func (c *synthConn) closeServerFirst() []Packet {
	c.raw(ToClient, c.seq[ToClient], tcpFIN|tcpACK, nil)
	c.raw(ToServer, c.seq[ToServer], tcpFIN|tcpACK, nil)
	c.raw(ToClient, c.seq[ToClient]+1, tcpACK, nil)
	return c.pkts
}

func (c *synthConn) close() []Packet {
	c.raw(ToServer, c.seq[ToServer], tcpFIN|tcpACK, nil)
	c.raw(ToClient, c.seq[ToClient], tcpFIN|tcpACK, nil)
	c.raw(ToServer, c.seq[ToServer]+1, tcpACK, nil)
	return c.pkts
}

// MQTT 3.1.1 packets, bytes annotated.
var (
	mqttConnect = []byte{
		0x10, 0x10, // CONNECT, remaining length 16
		0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
		0x04,       // protocol level 4 (3.1.1)
		0x02,       // connect flags: clean session
		0x00, 0x3c, // keepalive 60 s
		0x00, 0x04, 'w', 'c', 'h', 'k', // client identifier
	}
	mqttConnack    = []byte{0x20, 0x02, 0x00, 0x00} // CONNACK, session present 0, accepted
	mqttPingreq    = []byte{0xc0, 0x00}
	mqttPingresp   = []byte{0xd0, 0x00}
	mqttDisconnect = []byte{0xe0, 0x00}
)

// mqttPublish is a QoS 0 PUBLISH to topic "t" with n bytes of payload.
func mqttPublish(n int) []byte {
	rem := 3 + n // topic length (2) + "t" + payload
	b := []byte{0x30}
	for {
		d := byte(rem % 128)
		rem /= 128
		if rem > 0 {
			d |= 0x80
		}
		b = append(b, d)
		if rem == 0 {
			break
		}
	}
	b = append(b, 0x00, 0x01, 't')
	return append(b, bytes.Repeat([]byte{'x'}, n)...)
}

// TLS records and handshake messages.

func mkRecord(typ byte, body []byte) []byte {
	return append([]byte{typ, 0x03, 0x03, byte(len(body) >> 8), byte(len(body))}, body...)
}

func hsMsg(typ byte, body []byte) []byte {
	n := len(body)
	return append([]byte{typ, byte(n >> 16), byte(n >> 8), byte(n)}, body...)
}

// mkClientHello is a minimal ClientHello body with the given random.
func mkClientHello(random byte) []byte {
	b := []byte{0x03, 0x03}
	b = append(b, bytes.Repeat([]byte{random}, 32)...)
	b = append(b, 0x00)                   // session id
	b = append(b, 0x00, 0x02, 0x13, 0x01) // cipher suites
	b = append(b, 0x01, 0x00)             // compression
	return append(b, 0x00, 0x00)          // extensions
}

// mkServerHello is a ServerHello body; version 0x0304 adds supported_versions,
// group a key_share (with a key of keyLen bytes).
func mkServerHello(random byte, suite uint16, version uint16, group uint16, keyLen int) []byte {
	b := []byte{0x03, 0x03}
	b = append(b, bytes.Repeat([]byte{random}, 32)...)
	b = append(b, 0x00)
	b = append(b, byte(suite>>8), byte(suite), 0x00)
	var ext []byte
	if version == 0x0304 {
		ext = append(ext, 0x00, 43, 0x00, 0x02, 0x03, 0x04)
	}
	if group != 0 {
		ks := []byte{byte(group >> 8), byte(group)}
		if keyLen > 0 {
			ks = append(ks, byte(keyLen>>8), byte(keyLen))
			ks = append(ks, bytes.Repeat([]byte{0x42}, keyLen)...)
		}
		ext = append(ext, 0x00, 51, byte(len(ks)>>8), byte(len(ks)))
		ext = append(ext, ks...)
	}
	return append(append(b, byte(len(ext)>>8), byte(len(ext))), ext...)
}

// opaque is n filler bytes (certificates, ciphertext).
func opaque(n int) []byte { return bytes.Repeat([]byte{0xab}, n) }
