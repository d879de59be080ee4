package bench

import "math/bits"

// tracker counts what one subscriber received against what it should have
// got: each stream it expects (a contiguous range of publisher indexes) has
// a bitmap of the sequence numbers seen. It is owned by the subscriber's
// reader goroutine; read it only after that goroutine has ended.
type tracker struct {
	lo      uint32 // first stream expected
	streams []streamSeen
	stray   int64 // messages from a stream this subscriber should not get
}

type streamSeen struct {
	bits      []uint64
	max       int64 // highest sequence number seen, -1 = none
	unique    int64
	dup       int64
	reordered int64
}

// newTracker expects streams lo … lo+n-1.
func newTracker(lo uint32, n int) *tracker {
	t := &tracker{lo: lo, streams: make([]streamSeen, n)}
	for i := range t.streams {
		t.streams[i].max = -1
	}
	return t
}

// record counts one arrival of seq on stream.
func (t *tracker) record(stream, seq uint32) {
	i := int64(stream) - int64(t.lo)
	if i < 0 || i >= int64(len(t.streams)) {
		t.stray++
		return
	}
	s := &t.streams[i]
	w, bit := int(seq/64), uint64(1)<<(seq%64)
	if w >= len(s.bits) {
		s.bits = append(s.bits, make([]uint64, w+1-len(s.bits)+len(s.bits)/2)...)
	}
	if s.bits[w]&bit != 0 {
		s.dup++ // QoS 1 is "at least once": a duplicate is allowed, and counted
		return
	}
	s.bits[w] |= bit
	s.unique++
	if int64(seq) < s.max {
		s.reordered++ // a later message of the same stream came first [MQTT-4.6.0-5] for QoS 1/2
	} else {
		s.max = int64(seq)
	}
}

// counts is loss accounting summed over subscribers.
type counts struct {
	Expected, Delivered, Lost, Dup, Reordered int64
}

func (c *counts) add(o counts) {
	c.Expected += o.Expected
	c.Delivered += o.Delivered
	c.Lost += o.Lost
	c.Dup += o.Dup
	c.Reordered += o.Reordered
}

// result compares what arrived with sent[stream], the number of messages
// each publisher sent (sequence numbers 0 … sent-1). Delivered counts
// distinct messages; duplicates and strays are counted apart.
func (t *tracker) result(sent func(stream uint32) int64) counts {
	var c counts
	for i := range t.streams {
		s := &t.streams[i]
		want := sent(t.lo + uint32(i))
		got := s.seenBelow(want)
		// Sequence numbers beyond what was sent cannot be ours to expect:
		// counted apart, like strays, and never in place of a lost message.
		c.Dup += s.unique - got
		c.Expected += want
		c.Delivered += got
		c.Lost += want - got
		c.Dup += s.dup
		c.Reordered += s.reordered
	}
	c.Dup += t.stray
	return c
}

// seenBelow counts the distinct sequence numbers below n that arrived.
func (s *streamSeen) seenBelow(n int64) int64 {
	var c int
	for w, word := range s.bits {
		lo := int64(w) * 64
		if lo >= n {
			break
		}
		if n-lo < 64 {
			word &= 1<<uint(n-lo) - 1
		}
		c += bits.OnesCount64(word)
	}
	return int64(c)
}
