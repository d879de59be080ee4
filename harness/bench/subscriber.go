package bench

import (
	"fmt"
	"sync/atomic"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// subscriber is one load-generator client that receives, acknowledges,
// counts and times messages. Its reader goroutine (readLoop) owns track and
// pending; the round reads got and last while it runs.
type subscriber struct {
	c       *mconn
	idx     int
	track   *tracker
	lat     *latencies
	pubs    []*publisher // by stream, to release their windows
	latFrom int64        // if set, latency is measured from here (reconnect drain)
	warmEnd int64        // messages sent before this are counted but not timed

	got     atomic.Int64
	last    atomic.Int64 // arrival of the latest message, ns since epoch
	pending map[uint16]bool
	err     error
}

// readLoop receives, counts and acknowledges messages.
func (s *subscriber) readLoop() {
	var pub packets.Publish
	for {
		h, body, err := s.c.read()
		if err != nil {
			s.err = s.c.readErr(err)
			return
		}
		switch h.Type {
		case packets.PUBLISH:
			if err := pub.Unpack(h, body, packets.Version311); err != nil {
				s.err = fmt.Errorf("PUBLISH from broker: %w", err)
				s.c.abort()
				return
			}
			s.receive(&pub)
		case packets.PUBREL:
			if id, ok := ackID(body); ok {
				delete(s.pending, id)
				s.c.ack(packets.PUBCOMP, id) // [MQTT-4.3.3-2]
			}
		}
		if !s.c.buffered() {
			s.c.flush()
		}
	}
}

// receive acknowledges one PUBLISH and, unless it repeats a QoS 2 message
// still in flight, counts it.
func (s *subscriber) receive(pub *packets.Publish) {
	switch pub.QoS {
	case 1:
		s.c.ack(packets.PUBACK, pub.PacketID) // [MQTT-4.3.2-2]
	case 2:
		s.c.ack(packets.PUBREC, pub.PacketID) // [MQTT-4.3.3-2]
		// Until PUBREL, a PUBLISH with the same identifier is the same
		// message and must not be delivered onward again [MQTT-4.3.3-2].
		if s.pending == nil {
			s.pending = map[uint16]bool{}
		}
		if s.pending[pub.PacketID] {
			return
		}
		s.pending[pub.PacketID] = true
	}
	hd, ok := parseHeader(pub.Payload)
	if !ok {
		s.track.stray++
		return
	}
	t := now()
	from := hd.SentNS
	if s.latFrom != 0 {
		from = s.latFrom
	}
	if hd.SentNS >= s.warmEnd {
		s.lat.record(s.idx, t-from)
	}
	s.track.record(hd.Stream, hd.Seq)
	if int(hd.Stream) < len(s.pubs) && s.pubs[hd.Stream] != nil {
		s.pubs[hd.Stream].delivered()
	}
	s.last.Store(t)
	s.got.Add(1)
}
