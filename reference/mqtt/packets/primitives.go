package packets

import (
	"encoding/binary"
	"unicode/utf8"
)

// MaxRemainingLength is the largest value four length bytes can carry (§2.2.3).
const MaxRemainingLength = 268435455

// AppendRemainingLength appends the variable-length encoding of n (§2.2.3).
func AppendRemainingLength(dst []byte, n int) []byte {
	for {
		b := byte(n % 128)
		n /= 128
		if n > 0 {
			b |= 0x80
		}
		dst = append(dst, b)
		if n == 0 {
			return dst
		}
	}
}

// DecodeRemainingLength reads a remaining length from the front of b. It
// returns the value and how many bytes it used; n == 0 with a nil error means
// b holds too few bytes yet.
func DecodeRemainingLength(b []byte) (value, n int, err error) {
	mult := 1
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, nil
		}
		value += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			return value, i + 1, nil
		}
		mult *= 128
	}
	return 0, 0, ErrRemainingLength
}

// reader walks a packet body with up-front length checks.
type reader struct {
	b   []byte
	off int
}

func (r *reader) remaining() int { return len(r.b) - r.off }

func (r *reader) byte1(field string) (byte, error) {
	if r.remaining() < 1 {
		return 0, violationf(ErrShortPacket, "missing %s", field)
	}
	v := r.b[r.off]
	r.off++
	return v, nil
}

func (r *reader) uint16(field string) (uint16, error) {
	if r.remaining() < 2 {
		return 0, violationf(ErrShortPacket, "missing %s", field)
	}
	v := binary.BigEndian.Uint16(r.b[r.off:])
	r.off += 2
	return v, nil
}

func (r *reader) packetID() (uint16, error) {
	id, err := r.uint16("packet identifier")
	if err == nil && id == 0 {
		return 0, ErrZeroPacketID // [MQTT-2.3.1-1]
	}
	return id, err
}

// binary reads a two-byte length followed by that many bytes (§1.5.3).
func (r *reader) binary(field string) ([]byte, error) {
	n, err := r.uint16(field + " length")
	if err != nil {
		return nil, err
	}
	if r.remaining() < int(n) {
		return nil, violationf(ErrShortPacket, "%s needs %d bytes, %d left", field, n, r.remaining())
	}
	v := r.b[r.off : r.off+int(n) : r.off+int(n)]
	r.off += int(n)
	return v, nil
}

// string reads a UTF-8 encoded string and validates it (§1.5.3).
func (r *reader) string(field string) (string, error) {
	b, err := r.binary(field)
	if err != nil {
		return "", err
	}
	if err := ValidateUTF8(b); err != nil {
		return "", violationf(err.(*Violation), "in %s", field)
	}
	return string(b), nil
}

func (r *reader) rest() []byte {
	v := r.b[r.off:]
	r.off = len(r.b)
	return v
}

func (r *reader) done(what string) error {
	if r.remaining() != 0 {
		return violationf(ErrTrailingBytes, "%d extra bytes after %s", r.remaining(), what)
	}
	return nil
}

// ValidateUTF8 checks the string rules of §1.5.3: well-formed UTF-8 with no
// surrogates [MQTT-1.5.3-1] and no U+0000 [MQTT-1.5.3-2]. U+FEFF is kept
// as-is [MQTT-1.5.3-3].
func ValidateUTF8(b []byte) error {
	// utf8.Valid rejects encoded surrogates and overlong forms.
	if !utf8.Valid(b) {
		return ErrMalformedUTF8
	}
	for _, c := range b {
		if c == 0 {
			return ErrNullCharacter
		}
	}
	return nil
}

func appendUint16(dst []byte, v uint16) []byte { return append(dst, byte(v>>8), byte(v)) }

func appendBinary(dst []byte, b []byte) ([]byte, error) {
	if len(b) > 65535 {
		return dst, ErrStringTooLong
	}
	dst = appendUint16(dst, uint16(len(b)))
	return append(dst, b...), nil
}

func appendString(dst []byte, s string) ([]byte, error) {
	if len(s) > 65535 {
		return dst, ErrStringTooLong
	}
	dst = appendUint16(dst, uint16(len(s)))
	return append(dst, s...), nil
}

func stringLen(s string) int { return 2 + len(s) }
