package bench

import (
	"io"
	"net"
	"testing"
	"time"
)

// TestConnSetAbortsLateAdds: a connection added after the set was aborted
// (the round's context ended while it was still connecting) is closed at
// once instead of being left open.
func TestConnSetAbortsLateAdds(t *testing.T) {
	pipe := func() (*mconn, net.Conn) {
		a, b := net.Pipe()
		return &mconn{nc: a, pktReader: newPktReader(a)}, b
	}
	var s connSet
	early, earlyPeer := pipe()
	s.add(early)
	s.abort()
	late, latePeer := pipe()
	s.add(late)
	for name, peer := range map[string]net.Conn{"early": earlyPeer, "late": latePeer} {
		peer.SetReadDeadline(time.Now().Add(5 * time.Second))
		if _, err := peer.Read(make([]byte, 1)); err != io.EOF {
			t.Errorf("%s connection: read %v, want EOF (closed by the set)", name, err)
		}
	}
	if !early.closing.Load() || !late.closing.Load() {
		t.Error("aborted connections not marked closing: their readers would report errors")
	}
}
