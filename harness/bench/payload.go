package bench

import (
	"encoding/binary"
	"time"
)

// HeaderSize is the smallest payload: every message starts with a header
// the subscriber reads to count loss and measure latency.
const HeaderSize = 16

// header is what a payload carries ahead of its padding.
//
//	bytes 0-3   sequence number within the stream (big endian)
//	bytes 4-11  send time, ns since the load generator's epoch; in open loop
//	            the SCHEDULED time, so a late send shows as latency
//	bytes 12-15 stream: the publisher's index in the case
type header struct {
	Seq    uint32
	SentNS int64
	Stream uint32
}

// putHeader writes h at the front of p, which must hold HeaderSize bytes.
func putHeader(p []byte, h header) {
	_ = p[HeaderSize-1]
	binary.BigEndian.PutUint32(p[0:], h.Seq)
	binary.BigEndian.PutUint64(p[4:], uint64(h.SentNS))
	binary.BigEndian.PutUint32(p[12:], h.Stream)
}

// parseHeader reads the header of a payload; ok is false if it is too short
// to be one of ours.
func parseHeader(p []byte) (h header, ok bool) {
	if len(p) < HeaderSize {
		return h, false
	}
	h.Seq = binary.BigEndian.Uint32(p[0:])
	h.SentNS = int64(binary.BigEndian.Uint64(p[4:]))
	h.Stream = binary.BigEndian.Uint32(p[12:])
	return h, true
}

// newPayload returns a payload buffer of size bytes (at least HeaderSize);
// the padding is a fixed pattern so a broker that compresses gains nothing
// it would not gain in real life either.
func newPayload(size int) []byte {
	p := make([]byte, max(size, HeaderSize))
	for i := HeaderSize; i < len(p); i++ {
		p[i] = byte('a' + i%26)
	}
	return p
}

// epoch is the load generator's time origin; timestamps are monotonic
// nanoseconds since it, valid only inside this process (publishers and
// subscribers both live here).
var epoch = time.Now()

// now is the monotonic time since epoch in ns.
func now() int64 { return int64(time.Since(epoch)) }
