package store

import (
	"reflect"
	"strings"
	"testing"
)

var (
	codecMessages = []Message{
		{Topic: "a"},
		{Topic: "sensors/1/temp", Payload: []byte("21.5"), QoS: 1},
		{Topic: "retained", Payload: []byte{0, 0xff, 0x80}, QoS: 2, Retain: true},
		{Topic: strings.Repeat("t", 300), Payload: make([]byte, 1000)}, // 2-byte varint length
		{Topic: "ü/€", Payload: []byte("utf-8")},
	}
	codecOuts = []OutRecord{
		{Seq: 1, Msg: Message{Topic: "q", QoS: 0}},
		{Seq: 2, Msg: Message{Topic: "queued", Payload: []byte("x"), QoS: 1}},
		{Seq: 1 << 63, Msg: Message{Topic: "sent", Payload: []byte("y"), QoS: 1, Retain: true}, PacketID: 65535},
		{Seq: 7, Msg: Message{Topic: "rel", QoS: 2}, PacketID: 1, Pubrel: true},
	}
	codecSessions = []SessionRecord{
		{ClientID: "c", Subscriptions: map[string]byte{}},
		{ClientID: "client-1", Subscriptions: map[string]byte{"#": 0, "a/+/b": 1, "x": 2}},
	}
)

func TestCodecRoundTrip(t *testing.T) {
	for _, m := range codecMessages {
		got, err := decodeMessage(encodeMessage(m))
		if err != nil || !reflect.DeepEqual(normMsg(got), normMsg(m)) {
			t.Errorf("message %q: got %+v, %v", m.Topic, got, err)
		}
	}
	for _, r := range codecOuts {
		got, err := decodeOutRecord(encodeOutRecord(r))
		r.Msg = normMsg(r.Msg)
		if err != nil || !reflect.DeepEqual(got, r) {
			t.Errorf("out %d: got %+v, %v", r.Seq, got, err)
		}
	}
	for _, s := range codecSessions {
		got, err := decodeSessionRecord(encodeSessionRecord(s))
		if err != nil || !reflect.DeepEqual(got, s) {
			t.Errorf("session %q: got %+v, %v", s.ClientID, got, err)
		}
	}
}

// TestCodecTruncated: every proper prefix of a record must be rejected.
// (A message or out record cut inside its payload is indistinguishable from
// a shorter payload, so those are cut only up to the end of the topic.)
func TestCodecTruncated(t *testing.T) {
	for _, m := range codecMessages {
		v := encodeMessage(m)
		for n := range len(v) - len(m.Payload) {
			if _, err := decodeMessage(v[:n]); err == nil {
				t.Errorf("message %q cut to %d bytes: no error", m.Topic, n)
			}
		}
	}
	for _, r := range codecOuts {
		v := encodeOutRecord(r)
		for n := range len(v) - len(r.Msg.Payload) {
			if _, err := decodeOutRecord(v[:n]); err == nil {
				t.Errorf("out %d cut to %d bytes: no error", r.Seq, n)
			}
		}
	}
	for _, s := range codecSessions {
		v := encodeSessionRecord(s)
		for n := range len(v) {
			if _, err := decodeSessionRecord(v[:n]); err == nil {
				t.Errorf("session %q cut to %d bytes: no error", s.ClientID, n)
			}
		}
	}
}

func TestCodecRejects(t *testing.T) {
	tests := []struct {
		name   string
		decode func([]byte) error
		in     []byte
		want   string
	}{
		{"message empty", decodeMsgErr, nil, "truncated"},
		{"message version", decodeMsgErr, []byte{2, 0, 1, 'a'}, "unknown record version 2"},
		{"message reserved flags", decodeMsgErr, []byte{1, 0x10, 1, 'a'}, "reserved flag"},
		{"message QoS 3", decodeMsgErr, []byte{1, 3 << flagQoSShift, 1, 'a'}, "QoS 3"},
		{"message empty topic", decodeMsgErr, []byte{1, 0, 0}, "empty topic"},
		{"message topic longer than record", decodeMsgErr, []byte{1, 0, 5, 'a'}, "truncated"},
		{"message huge varint", decodeMsgErr, []byte{1, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, "bad varint"},
		{"out PUBREL on QoS 1", decodeOutErr, append([]byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, flagPubrel | 1<<flagQoSShift}, 1, 'a'), "PUBREL"},
		{"out QoS 0 with packet ID", decodeOutErr, []byte{1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 1, 0, 1, 'a'}, "packet ID"},
		{"session count too large", decodeSessErr, []byte{1, 1, 'c', 0xff, 0x01, 1, 'a', 0}, "exceeds record"},
		{"session duplicate filter", decodeSessErr, []byte{1, 1, 'c', 2, 1, 'a', 0, 1, 'a', 1}, "duplicate filter"},
		{"session bad QoS", decodeSessErr, []byte{1, 1, 'c', 1, 1, 'a', 0x80}, "granted QoS 128"},
		{"session empty client", decodeSessErr, []byte{1, 0, 0}, "empty client ID"},
		{"session trailing bytes", decodeSessErr, []byte{1, 1, 'c', 0, 0}, "trailing"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.decode(tt.in)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func decodeMsgErr(b []byte) error  { _, err := decodeMessage(b); return err }
func decodeOutErr(b []byte) error  { _, err := decodeOutRecord(b); return err }
func decodeSessErr(b []byte) error { _, err := decodeSessionRecord(b); return err }

// The fuzz targets check that decoders never panic on damaged input and that
// whatever they accept survives a re-encode unchanged.

func FuzzDecodeMessage(f *testing.F) {
	for _, m := range codecMessages {
		f.Add(encodeMessage(m))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMessage(b)
		if err != nil {
			return
		}
		again, err := decodeMessage(encodeMessage(m))
		if err != nil || !reflect.DeepEqual(again, m) {
			t.Fatalf("re-encode of %+v: got %+v, %v", m, again, err)
		}
	})
}

func FuzzDecodeOutRecord(f *testing.F) {
	for _, r := range codecOuts {
		f.Add(encodeOutRecord(r))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := decodeOutRecord(b)
		if err != nil {
			return
		}
		if err := checkOut(r); err != nil {
			t.Fatalf("decoder accepted an invalid record %+v: %v", r, err)
		}
		again, err := decodeOutRecord(encodeOutRecord(r))
		if err != nil || !reflect.DeepEqual(again, r) {
			t.Fatalf("re-encode of %+v: got %+v, %v", r, again, err)
		}
	})
}

func FuzzDecodeSessionRecord(f *testing.F) {
	for _, s := range codecSessions {
		f.Add(encodeSessionRecord(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		s, err := decodeSessionRecord(b)
		if err != nil {
			return
		}
		if s.Subscriptions == nil {
			t.Fatal("nil Subscriptions")
		}
		again, err := decodeSessionRecord(encodeSessionRecord(s))
		if err != nil || !reflect.DeepEqual(again, s) {
			t.Fatalf("re-encode of %+v: got %+v, %v", s, again, err)
		}
	})
}
