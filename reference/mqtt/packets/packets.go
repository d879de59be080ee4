// Package packets encodes and decodes MQTT 3.1.1 control packets.
//
// Each packet type lives in its own file with an Unpack method (decode the
// body after the fixed header) and an AppendTo method (encode the whole
// packet). Decoding is strict: every violation is a *Violation naming the
// normative statement it breaks. The protocol level travels with Decode so
// that MQTT 5.0 properties and reason codes can be added per type later.
package packets

import (
	"bufio"
	"fmt"
	"io"
	"slices"
)

// Type is the control packet type, the high nibble of the first byte (§2.2.1).
type Type byte

const (
	CONNECT Type = iota + 1
	CONNACK
	PUBLISH
	PUBACK
	PUBREC
	PUBREL
	PUBCOMP
	SUBSCRIBE
	SUBACK
	UNSUBSCRIBE
	UNSUBACK
	PINGREQ
	PINGRESP
	DISCONNECT
)

var typeNames = [...]string{"RESERVED", "CONNECT", "CONNACK", "PUBLISH", "PUBACK", "PUBREC", "PUBREL",
	"PUBCOMP", "SUBSCRIBE", "SUBACK", "UNSUBSCRIBE", "UNSUBACK", "PINGREQ", "PINGRESP", "DISCONNECT", "RESERVED"}

func (t Type) String() string {
	if int(t) < len(typeNames) {
		return typeNames[t]
	}
	return fmt.Sprintf("Type(%d)", byte(t))
}

// Protocol levels (§3.1.2.2).
const (
	Version31  byte = 3 // "MQIsdp", recognised only to refuse it with CONNACK 1
	Version311 byte = 4
)

// Packet is any control packet.
type Packet interface {
	Type() Type
	// AppendTo appends the packet's full wire form, fixed header included.
	AppendTo(dst []byte) ([]byte, error)
}

// FixedHeader is the first 2–5 bytes of every packet (§2.2).
type FixedHeader struct {
	Type      Type
	Flags     byte // low nibble of byte 1
	Remaining int  // remaining length
}

// requiredFlags holds the fixed flags of Table 2.2; PUBLISH (-1) varies.
var requiredFlags = [16]int{-2, 0, 0, -1, 0, 0, 2, 0, 2, 0, 2, 0, 0, 0, 0, -2}

// flagRule names the statement broken by bad flags on a given type.
var flagRule = map[Type]string{PUBREL: "MQTT-3.6.1-1", SUBSCRIBE: "MQTT-3.8.1-1",
	UNSUBSCRIBE: "MQTT-3.10.1-1", DISCONNECT: "MQTT-3.14.1-1"}

// ParseFixedHeader decodes the fixed header at the front of b. n == 0 with a
// nil error means more bytes are needed.
func ParseFixedHeader(b []byte) (h FixedHeader, n int, err error) {
	if len(b) < 2 {
		return h, 0, nil
	}
	h.Type, h.Flags = Type(b[0]>>4), b[0]&0x0f
	if err := h.checkFlags(); err != nil {
		return h, 0, err
	}
	rl, m, err := DecodeRemainingLength(b[1:])
	if err != nil || m == 0 {
		return h, 0, err
	}
	h.Remaining = rl
	return h, 1 + m, nil
}

func (h FixedHeader) checkFlags() error {
	want := requiredFlags[h.Type]
	switch {
	case want == -2:
		return violationf(ErrUnknownType, "type %d", byte(h.Type))
	case want >= 0 && int(h.Flags) != want:
		if rule, ok := flagRule[h.Type]; ok {
			return violationf(&Violation{rule, ErrReservedFlags.Reason}, "%v flags %04b, want %04b", h.Type, h.Flags, want)
		}
		return violationf(ErrReservedFlags, "%v flags %04b, want %04b", h.Type, h.Flags, want) // [MQTT-2.2.2-2]
	}
	return nil
}

// appendHeader appends a fixed header for a body of n bytes.
func appendHeader(dst []byte, t Type, flags byte, n int) ([]byte, error) {
	if n > MaxRemainingLength {
		return dst, ErrRemainingLengthTooLong
	}
	dst = append(dst, byte(t)<<4|flags)
	return AppendRemainingLength(dst, n), nil
}

// New returns an empty packet of type t, ready for Unpack.
func New(t Type) (Unpacker, error) {
	switch t {
	case CONNECT:
		return &Connect{}, nil
	case CONNACK:
		return &Connack{}, nil
	case PUBLISH:
		return &Publish{}, nil
	case PUBACK:
		return &Puback{}, nil
	case PUBREC:
		return &Pubrec{}, nil
	case PUBREL:
		return &Pubrel{}, nil
	case PUBCOMP:
		return &Pubcomp{}, nil
	case SUBSCRIBE:
		return &Subscribe{}, nil
	case SUBACK:
		return &Suback{}, nil
	case UNSUBSCRIBE:
		return &Unsubscribe{}, nil
	case UNSUBACK:
		return &Unsuback{}, nil
	case PINGREQ:
		return &Pingreq{}, nil
	case PINGRESP:
		return &Pingresp{}, nil
	case DISCONNECT:
		return &Disconnect{}, nil
	}
	return nil, violationf(ErrUnknownType, "type %d", byte(t))
}

// Unpacker is a packet that can decode its body.
type Unpacker interface {
	Packet
	// Unpack decodes the body that follows the fixed header h. The packet may
	// keep references into body.
	Unpack(h FixedHeader, body []byte, version byte) error
}

// Decode decodes one whole packet from the front of b and reports how many
// bytes it used. With too few bytes it returns io.ErrUnexpectedEOF.
func Decode(b []byte, version byte) (Packet, int, error) {
	h, n, err := ParseFixedHeader(b)
	if err != nil {
		return nil, 0, err
	}
	if n == 0 || len(b)-n < h.Remaining {
		return nil, 0, io.ErrUnexpectedEOF
	}
	p, err := New(h.Type)
	if err != nil {
		return nil, 0, err
	}
	end := n + h.Remaining
	if err := p.Unpack(h, b[n:end:end], version); err != nil {
		return p, end, err
	}
	return p, end, nil
}

// Reader reads packets from a byte stream.
type Reader struct {
	r       *bufio.Reader
	Version byte // protocol level used to decode; set after CONNECT
	MaxSize int  // largest accepted packet, fixed header included; 0 = no limit
}

// NewReader wraps r; it buffers, so use only the Reader afterwards.
func NewReader(r io.Reader, bufSize int) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, bufSize), Version: Version311}
}

// ReadHeader reads a fixed header from the stream.
func (r *Reader) ReadHeader() (FixedHeader, int, error) {
	var h FixedHeader
	b0, err := r.r.ReadByte()
	if err != nil {
		return h, 0, err
	}
	h.Type, h.Flags = Type(b0>>4), b0&0x0f
	if err := h.checkFlags(); err != nil {
		return h, 1, err
	}
	mult, n := 1, 1
	for i := 0; ; i++ {
		if i == 4 {
			return h, n, ErrRemainingLength
		}
		b, err := r.r.ReadByte()
		if err != nil {
			return h, n, unexpected(err)
		}
		n++
		h.Remaining += int(b&0x7f) * mult
		if b&0x80 == 0 {
			break
		}
		mult *= 128
	}
	return h, n, nil
}

// ReadPacket reads and decodes the next packet. On a decode error the packet
// read so far may be returned as well (CONNECT with a bad protocol level is
// needed to answer with CONNACK 1).
func (r *Reader) ReadPacket() (Packet, error) {
	h, n, err := r.ReadHeader()
	if err != nil {
		return nil, err
	}
	if r.MaxSize > 0 && n+h.Remaining > r.MaxSize {
		return nil, violationf(ErrPacketTooLarge, "%d bytes, limit %d", n+h.Remaining, r.MaxSize)
	}
	body, err := readBody(r.r, h.Remaining)
	if err != nil {
		return nil, err
	}
	p, err := New(h.Type)
	if err != nil {
		return nil, err
	}
	if err := p.Unpack(h, body, r.Version); err != nil {
		return p, err
	}
	return p, nil
}

// bodyChunk is the most ReadPacket allocates before the bytes it has read
// justify more.
const bodyChunk = 64 << 10

// readBody reads an n-byte packet body. The buffer grows with the bytes that
// arrive, so a 5-byte header announcing 256 MiB costs memory only once that
// data is actually sent.
func readBody(r io.Reader, n int) ([]byte, error) {
	b := make([]byte, 0, min(n, bodyChunk))
	for len(b) < n {
		if len(b) == cap(b) {
			b = slices.Grow(b, min(n-len(b), len(b)))
		}
		m, err := io.ReadFull(r, b[len(b):min(n, cap(b))])
		b = b[:len(b)+m]
		if err != nil {
			return nil, unexpected(err)
		}
	}
	return b[:n:n], nil // Unpack may keep sub-slices: no spare capacity behind them
}

// Buffered reports how many bytes are waiting in the read buffer.
func (r *Reader) Buffered() int { return r.r.Buffered() }

func unexpected(err error) error {
	if err == io.EOF {
		return io.ErrUnexpectedEOF
	}
	return err
}

// Encode returns the wire form of p.
func Encode(p Packet) ([]byte, error) { return p.AppendTo(nil) }
