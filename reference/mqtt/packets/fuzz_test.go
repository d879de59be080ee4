package packets

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"slices"
	"testing"
)

// The seed corpus lives in testdata/fuzz/<FuzzName>/: one file per golden
// case (plus streams for FuzzReader and the MatchTopic table for
// FuzzTopicMatch). The same seeds are added with f.Add so they run even if
// the directory is pruned; crashers the fuzzer finds are kept there too.

// canonical returns a whole packet with its remaining length in the shortest
// form. MQTT 3.1.1 accepts longer forms (0x80 0x00 for 0, see
// TestRemainingLengthNotMinimal); AppendTo always writes the shortest.
func canonical(pkt []byte) []byte {
	h, n, err := ParseFixedHeader(pkt)
	if err != nil || n == 0 {
		return pkt
	}
	return slices.Concat([]byte{pkt[0]}, AppendRemainingLength(nil, h.Remaining), pkt[n:])
}

// checkRoundTrip checks decode→encode→decode for a packet p decoded from
// wire: AppendTo gives wire back (in canonical form), decoding that gives an
// equal packet, and encoding again gives the same bytes.
func checkRoundTrip(t *testing.T, wire []byte, p Packet) {
	t.Helper()
	enc, err := p.AppendTo(nil)
	if err != nil {
		t.Fatalf("AppendTo of decoded %#v: %v", p, err)
	}
	if want := canonical(wire); !bytes.Equal(enc, want) {
		t.Fatalf("decode→encode changed the bytes:\n got % x\nwant % x", enc, want)
	}
	p2, n, err := Decode(enc, Version311)
	if err != nil || n != len(enc) {
		t.Fatalf("decode→encode→decode: %d of %d bytes, %v", n, len(enc), err)
	}
	if !reflect.DeepEqual(p, p2) {
		t.Fatalf("decode→encode→decode mismatch:\nfirst  %#v\nsecond %#v", p, p2)
	}
	enc2, err := p2.AppendTo(nil)
	if err != nil || !bytes.Equal(enc, enc2) {
		t.Fatalf("second encode: % x, %v; first % x", enc2, err, enc)
	}
}

// checkError: every decoding error names its rule, except a packet cut short.
func checkError(t *testing.T, err error) {
	t.Helper()
	if err != io.ErrUnexpectedEOF && RuleOf(err) == "" {
		t.Fatalf("error without a rule: %v", err)
	}
}

func FuzzDecode(f *testing.F) {
	for _, c := range allCases() {
		f.Add(c.Bytes)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, n, err := Decode(data, Version311)
		if err != nil {
			checkError(t, err)
			return
		}
		if n < 2 || n > len(data) {
			t.Fatalf("Decode used %d of %d bytes", n, len(data))
		}
		checkRoundTrip(t, data[:n], p)
		for _, k := range []int{0, 1, n / 2, n - 1} {
			if _, _, err := Decode(data[:k], Version311); err != io.ErrUnexpectedEOF {
				t.Fatalf("Decode of %d bytes of a %d-byte packet: %v, want io.ErrUnexpectedEOF", k, n, err)
			}
		}
	})
}

// readerSeeds are the FuzzReader seeds besides one per golden case.
func readerSeeds() []struct {
	name    string
	stream  []byte
	maxSize uint16
} {
	var small []byte
	for _, c := range Golden {
		if len(c.Bytes) <= dumpLimit {
			small = append(small, c.Bytes...)
		}
	}
	rl128 := Golden[0].Bytes
	for _, c := range Golden {
		if c.Name == "PUBLISH remaining length 128" {
			rl128 = c.Bytes
		}
	}
	return []struct {
		name    string
		stream  []byte
		maxSize uint16
	}{
		{"stream-all-golden", goldenStream(), 0},
		{"stream-small-golden-max-64", small, dumpLimit},
		{"stream-too-large", slices.Concat([]byte{0xc0, 0x00}, rl128, []byte{0xd0, 0x00}), uint16(len(rl128) - 1)},
		{"stream-header-announcing-256MiB", []byte{0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, 'a'}, 0},
		{"stream-valid-then-malformed", []byte{0xc0, 0x00, 0x60, 0x02, 0x00, 0x01}, 0},
	}
}

func FuzzReader(f *testing.F) {
	for _, c := range allCases() {
		f.Add(c.Bytes, uint16(0))
	}
	for _, s := range readerSeeds() {
		f.Add(s.stream, s.maxSize)
	}
	f.Fuzz(func(t *testing.T, stream []byte, maxSize uint16) {
		r := NewReader(bytes.NewReader(stream), 16)
		r.MaxSize = int(maxSize) // 0: no limit
		for off := 0; ; {
			p, err := r.ReadPacket()
			rest := stream[off:]
			dp, n, derr := Decode(rest, Version311)
			switch {
			case err == io.EOF:
				if len(rest) != 0 {
					t.Fatalf("io.EOF with %d bytes unread", len(rest))
				}
				return
			case errors.Is(err, ErrPacketTooLarge):
				h, hn, herr := ParseFixedHeader(rest)
				if herr != nil || hn == 0 || hn+h.Remaining <= r.MaxSize {
					t.Fatalf("ErrPacketTooLarge for a header of %d+%d bytes, limit %d", hn, h.Remaining, r.MaxSize)
				}
				return
			case err != nil:
				checkError(t, err)
				if derr == nil {
					t.Fatalf("ReadPacket: %v; Decode accepted %#v", err, dp)
				}
				// With one byte left Decode asks for more; the Reader
				// already judges the type and flags.
				if len(rest) >= 2 && (err.Error() != derr.Error() || !reflect.DeepEqual(p, dp)) {
					t.Fatalf("ReadPacket: %#v, %v\nDecode:     %#v, %v", p, err, dp, derr)
				}
				return
			}
			if derr != nil {
				t.Fatalf("ReadPacket accepted %#v; Decode: %v", p, derr)
			}
			if r.MaxSize > 0 && n > r.MaxSize {
				t.Fatalf("ReadPacket accepted %d bytes, limit %d", n, r.MaxSize)
			}
			if !reflect.DeepEqual(p, dp) {
				t.Fatalf("ReadPacket: %#v\nDecode:     %#v", p, dp)
			}
			checkRoundTrip(t, rest[:n], p)
			off += n
		}
	})
}

func FuzzTopicMatch(f *testing.F) {
	for _, c := range matchTopicCases {
		f.Add(c.filter, c.topic)
	}
	f.Fuzz(func(t *testing.T, filter, topic string) {
		ferr := ValidateTopicFilter(filter)
		terr := ValidateTopicName(topic)
		_ = ValidateUTF8([]byte(topic))
		got := MatchTopic(filter, topic)
		for _, err := range []error{ferr, terr} {
			if err != nil && RuleOf(err) == "" {
				t.Fatalf("error without a rule: %v", err)
			}
		}
		if terr == nil {
			if !MatchTopic(topic, topic) {
				t.Fatalf("MatchTopic(%q, %q) = false", topic, topic)
			}
			if err := ValidateTopicFilter(topic); err != nil {
				t.Fatalf("topic name %q is not a valid filter: %v", topic, err)
			}
		}
		if ferr == nil && terr == nil {
			if want := referenceMatch(filter, topic); got != want {
				t.Fatalf("MatchTopic(%q, %q) = %v, §4.7 says %v", filter, topic, got, want)
			}
		}
	})
}
