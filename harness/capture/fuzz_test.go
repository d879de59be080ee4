package capture

import (
	"net/netip"
	"testing"
)

// Seed corpora: testdata/fuzz/<target>/, real TLS 1.2 and 1.3 streams
// captured on loopback (Go client and server) and the synthetic sessions
// of the unit tests.

// FuzzTLSRecords: the record splitter and the hello parsers never panic,
// and records tile the input from offset 0.
func FuzzTLSRecords(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		recs, err := tlsRecords(data)
		off := 0
		for _, r := range recs {
			if r.Off != off || r.Len > maxTLSRecordBody || len(r.Body) > r.Len || r.Off+tlsHeaderLen+len(r.Body) > len(data) {
				t.Fatalf("record %+v at %d", r, off)
			}
			if !r.complete() && r.end() < len(data) {
				t.Fatalf("cut record %+v before the end", r)
			}
			off = r.end()
			msgs, used := hsMessages(r.Body)
			if used > len(r.Body) {
				t.Fatalf("handshake messages use %d of %d bytes", used, len(r.Body))
			}
			for _, m := range msgs {
				parseServerHello(m.Body)
				parseClientHelloRandom(m.Body)
				parseServerKeyExchangeGroup(m.Body)
			}
		}
		if err == nil && off < len(data) && len(data)-off >= tlsHeaderLen {
			t.Fatalf("stopped at %d of %d without error", off, len(data))
		}
	})
}

// FuzzMQTTFrames: frames tile the input, only the last may be cut.
func FuzzMQTTFrames(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		frames, complete, _ := mqttFrames(data)
		off := 0
		for i, fr := range frames {
			if fr.Off != off || fr.Size < 2 || fr.Type == "" {
				t.Fatalf("frame %d %+v at %d", i, fr, off)
			}
			if off+fr.Size > len(data) && i != len(frames)-1 {
				t.Fatalf("frame %d cut but not last", i)
			}
			off += fr.Size
		}
		if complete > len(data) || complete > off {
			t.Fatalf("complete %d, data %d, frames end %d", complete, len(data), off)
		}
	})
}

// FuzzAnalyze: any client and server byte streams, cut into segments at
// any step, as TLS or plain: Analyze never panics, never counts more TLS
// and application bytes than were carried, and on plain streams counts
// every byte as application data.
func FuzzAnalyze(f *testing.F) {
	f.Fuzz(func(t *testing.T, client, server []byte, step uint16, isTLS bool) {
		if len(client)+len(server) > 1<<16 {
			return
		}
		c := newSynthConn()
		// at most ~1000 segments per direction
		n := max(int(step%2048), 1, max(len(client), len(server))/1000)
		for i := 0; i < max(len(client), len(server)); i += n {
			if i < len(client) {
				c.send(ToServer, client[i:min(i+n, len(client))])
			}
			if i < len(server) {
				c.send(ToClient, server[i:min(i+n, len(server))])
			}
		}
		pkts := c.close()
		kind := Plain
		if isTLS {
			kind = TLS
		}
		acc := Analyze(pkts, func(netip.AddrPort) (Kind, Proto) { return kind, MQTT }, nil)
		for d := range 2 {
			l := acc.ByDir[d]
			if l.TLSOverhead < 0 || l.AppBytes < 0 || l.TLSOverhead+l.AppBytes > l.TCPPayloadBytes {
				t.Fatalf("%s: %+v", Direction(d), l)
			}
			if !isTLS && l.AppBytes != l.TCPPayloadBytes {
				t.Fatalf("plain %s: %+v", Direction(d), l)
			}
			if acc.HandshakeBytes > acc.TLSOverhead {
				t.Fatalf("handshake %d > overhead %d", acc.HandshakeBytes, acc.TLSOverhead)
			}
		}
	})
}
