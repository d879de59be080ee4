package bench

import (
	"bufio"
	"encoding/binary"
	"io"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// pktReader reads packets without allocating: a packet's body is valid
// until the next read. The load generator's connections and the null relay
// both read with it.
type pktReader struct {
	br   *bufio.Reader
	hdr  [5]byte
	body []byte
}

func newPktReader(r io.Reader) pktReader { return pktReader{br: bufio.NewReaderSize(r, 64<<10)} }

// read returns the next packet's fixed header and body.
func (c *pktReader) read() (packets.FixedHeader, []byte, error) {
	var h packets.FixedHeader
	b0, err := c.br.ReadByte()
	if err != nil {
		return h, nil, err
	}
	c.hdr[0] = b0
	n := 1
	for {
		// The remaining length takes at most 4 bytes (§2.2.3).
		if n == len(c.hdr) {
			return h, nil, packets.ErrRemainingLength
		}
		b, err := c.br.ReadByte()
		if err != nil {
			return h, nil, unexpectedEOF(err)
		}
		c.hdr[n] = b
		n++
		if b&0x80 == 0 {
			break
		}
	}
	h, _, err = packets.ParseFixedHeader(c.hdr[:n])
	if err != nil {
		return h, nil, err
	}
	if cap(c.body) < h.Remaining {
		c.body = make([]byte, h.Remaining)
	}
	body := c.body[:h.Remaining]
	if _, err := io.ReadFull(c.br, body); err != nil {
		return h, nil, unexpectedEOF(err)
	}
	return h, body, nil
}

func unexpectedEOF(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// buffered reports whether more input is already waiting: the reader
// flushes its acks only when it is about to block.
func (c *pktReader) buffered() bool { return c.br.Buffered() > 0 }

// ackID is the packet identifier a PUBACK, PUBREC, PUBREL or PUBCOMP body
// holds; ok is false for a body too short to hold one.
func ackID(body []byte) (id uint16, ok bool) {
	if len(body) < 2 {
		return 0, false
	}
	return binary.BigEndian.Uint16(body), true
}

// ackBytes encodes a PUBACK, PUBREC, PUBREL or PUBCOMP: fixed header,
// remaining length 2, packet identifier.
func ackBytes(t packets.Type, id uint16) [4]byte {
	flags := byte(0)
	if t == packets.PUBREL {
		flags = 2 // [MQTT-3.6.1-1]
	}
	return [4]byte{byte(t)<<4 | flags, 2, byte(id >> 8), byte(id)}
}
