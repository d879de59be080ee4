package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"slices"
)

// Records are encoded in a small binary format whose first byte is the format
// version, so that a later version can still read what this one wrote. Every
// decoder checks lengths before slicing and returns an error, never panics:
// the file may have been damaged.
//
//	message:  ver flags uvarint(len(topic)) topic payload…
//	out:      ver seq(8, big-endian) packetID(2) flags uvarint(len(topic)) topic payload…
//	session:  ver uvarint(len(id)) id uvarint(n) n × (uvarint(len(filter)) filter qos)
//
// flags: bit 0 retain, bits 1–2 QoS, bit 3 PUBREL sent (out records only).
// The payload runs to the end of the value, which saves a length field.
const recordVersion = 1

const (
	flagRetain   = 1 << 0
	flagQoSShift = 1
	flagQoSMask  = 3 << flagQoSShift
	flagPubrel   = 1 << 3
)

var (
	errShort   = errors.New("truncated record")
	errVersion = errors.New("unknown record version")
)

func msgFlags(m Message) byte {
	f := (m.QoS & 3) << flagQoSShift
	if m.Retain {
		f |= flagRetain
	}
	return f
}

func appendMessageBody(dst []byte, m Message) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(m.Topic)))
	dst = append(dst, m.Topic...)
	return append(dst, m.Payload...)
}

func encodeMessage(m Message) []byte {
	dst := make([]byte, 0, 2+binary.MaxVarintLen32+len(m.Topic)+len(m.Payload))
	dst = append(dst, recordVersion, msgFlags(m))
	return appendMessageBody(dst, m)
}

func encodeOutRecord(r OutRecord) []byte {
	dst := make([]byte, 0, 12+binary.MaxVarintLen32+len(r.Msg.Topic)+len(r.Msg.Payload))
	dst = append(dst, recordVersion)
	dst = binary.BigEndian.AppendUint64(dst, r.Seq)
	dst = binary.BigEndian.AppendUint16(dst, r.PacketID)
	f := msgFlags(r.Msg)
	if r.Pubrel {
		f |= flagPubrel
	}
	dst = append(dst, f)
	return appendMessageBody(dst, r.Msg)
}

func encodeSessionRecord(s SessionRecord) []byte {
	// Filters are written sorted so that equal records encode equally.
	filters := make([]string, 0, len(s.Subscriptions))
	n := 1 + 2*binary.MaxVarintLen32 + len(s.ClientID)
	for f := range s.Subscriptions {
		filters = append(filters, f)
		n += binary.MaxVarintLen32 + len(f) + 1
	}
	slices.Sort(filters)
	dst := make([]byte, 0, n)
	dst = append(dst, recordVersion)
	dst = appendString(dst, s.ClientID)
	dst = binary.AppendUvarint(dst, uint64(len(filters)))
	for _, f := range filters {
		dst = appendString(dst, f)
		dst = append(dst, s.Subscriptions[f])
	}
	return dst
}

func appendString(dst []byte, s string) []byte {
	dst = binary.AppendUvarint(dst, uint64(len(s)))
	return append(dst, s...)
}

// reader consumes a record; the first failure sticks so callers check once.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(err error) {
	if r.err == nil {
		r.err = err
	}
}

func (r *reader) byte() byte {
	if r.err != nil || len(r.b) < 1 {
		r.fail(errShort)
		return 0
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c
}

func (r *reader) bytes(n int) []byte {
	if r.err != nil || len(r.b) < n {
		r.fail(errShort)
		return nil
	}
	p := r.b[:n]
	r.b = r.b[n:]
	return p
}

func (r *reader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.fail(errors.New("bad varint"))
		return 0
	}
	r.b = r.b[n:]
	return v
}

// string copies, since bbolt values are only valid inside their transaction.
func (r *reader) string() string {
	n := r.uvarint()
	if r.err == nil && n > uint64(len(r.b)) {
		r.fail(errShort)
	}
	return string(r.bytes(int(min(n, uint64(len(r.b))))))
}

func (r *reader) version() {
	if v := r.byte(); r.err == nil && v != recordVersion {
		r.fail(fmt.Errorf("%w %d", errVersion, v))
	}
}

// messageBody reads topic and payload; the payload is copied, and an empty
// one becomes nil so both stores load identical values.
func (r *reader) messageBody(flags byte) Message {
	m := Message{Retain: flags&flagRetain != 0, QoS: (flags & flagQoSMask) >> flagQoSShift}
	m.Topic = r.string()
	if r.err == nil && len(r.b) > 0 {
		m.Payload = slices.Clone(r.b)
	}
	r.b = nil
	return m
}

func decodeMessage(b []byte) (Message, error) {
	r := reader{b: b}
	r.version()
	flags := r.byte()
	if r.err == nil && flags&^(flagRetain|flagQoSMask) != 0 {
		r.fail(fmt.Errorf("reserved flag bits 0x%02x", flags))
	}
	m := r.messageBody(flags)
	if r.err == nil {
		if err := checkName("topic", m.Topic); err != nil {
			r.fail(err)
		} else if err := checkQoS(m.QoS); err != nil {
			r.fail(err)
		}
	}
	if r.err != nil {
		return Message{}, r.err
	}
	return m, nil
}

func decodeOutRecord(b []byte) (OutRecord, error) {
	r := reader{b: b}
	r.version()
	var o OutRecord
	if p := r.bytes(8); p != nil {
		o.Seq = binary.BigEndian.Uint64(p)
	}
	if p := r.bytes(2); p != nil {
		o.PacketID = binary.BigEndian.Uint16(p)
	}
	flags := r.byte()
	if r.err == nil && flags&^(flagRetain|flagQoSMask|flagPubrel) != 0 {
		r.fail(fmt.Errorf("reserved flag bits 0x%02x", flags))
	}
	o.Pubrel = flags&flagPubrel != 0
	o.Msg = r.messageBody(flags)
	if r.err == nil {
		r.fail(checkOut(o))
	}
	if r.err != nil {
		return OutRecord{}, r.err
	}
	return o, nil
}

func decodeSessionRecord(b []byte) (SessionRecord, error) {
	r := reader{b: b}
	r.version()
	s := SessionRecord{ClientID: r.string()}
	if r.err == nil {
		r.fail(checkName("client ID", s.ClientID))
	}
	n := r.uvarint()
	// Each entry takes at least 3 bytes; checking first keeps a corrupt
	// count from allocating a huge map.
	if r.err == nil && n > uint64(len(r.b))/3 {
		r.fail(fmt.Errorf("subscription count %d exceeds record", n))
	}
	if r.err != nil {
		return SessionRecord{}, r.err
	}
	s.Subscriptions = make(map[string]byte, n)
	for range n {
		f := r.string()
		q := r.byte()
		if r.err != nil {
			break
		}
		if f == "" {
			r.fail(errors.New("empty topic filter"))
		} else if q > 2 {
			r.fail(fmt.Errorf("filter %q: granted QoS %d", f, q))
		} else if _, dup := s.Subscriptions[f]; dup {
			r.fail(fmt.Errorf("duplicate filter %q", f))
		}
		s.Subscriptions[f] = q
	}
	if r.err == nil && len(r.b) != 0 {
		r.fail(fmt.Errorf("%d trailing bytes", len(r.b)))
	}
	if r.err != nil {
		return SessionRecord{}, r.err
	}
	return s, nil
}
