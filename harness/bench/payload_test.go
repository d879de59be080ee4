package bench

import (
	"bytes"
	"testing"
)

func TestHeaderRoundTrip(t *testing.T) {
	tests := []struct {
		name string
		h    header
		size int
		// wire is the first HeaderSize bytes, field by field.
		wire []byte
	}{
		{"zero", header{}, 16, []byte{
			0, 0, 0, 0, // seq
			0, 0, 0, 0, 0, 0, 0, 0, // sent ns
			0, 0, 0, 0}}, // stream
		{"fields in order", header{Seq: 1, SentNS: 0x0102030405060708, Stream: 0x0a0b0c0d}, 256, []byte{
			0, 0, 0, 1,
			1, 2, 3, 4, 5, 6, 7, 8,
			0x0a, 0x0b, 0x0c, 0x0d}},
		{"max", header{Seq: ^uint32(0), SentNS: -1, Stream: ^uint32(0)}, 4096, bytes.Repeat([]byte{0xff}, 16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPayload(tt.size)
			if len(p) != tt.size {
				t.Fatalf("payload %d bytes, want %d", len(p), tt.size)
			}
			putHeader(p, tt.h)
			if !bytes.Equal(p[:HeaderSize], tt.wire) {
				t.Errorf("wire % x, want % x", p[:HeaderSize], tt.wire)
			}
			got, ok := parseHeader(p)
			if !ok || got != tt.h {
				t.Errorf("parse = %+v, %v; want %+v", got, ok, tt.h)
			}
		})
	}
}

func TestHeaderShortPayload(t *testing.T) {
	for _, n := range []int{0, 1, HeaderSize - 1} {
		if _, ok := parseHeader(make([]byte, n)); ok {
			t.Errorf("%d bytes parsed as a header", n)
		}
	}
	if n := len(newPayload(3)); n != HeaderSize {
		t.Errorf("newPayload(3) is %d bytes, want the header's %d", n, HeaderSize)
	}
}
