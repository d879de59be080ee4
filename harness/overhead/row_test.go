package overhead

import (
	"crypto/tls"
	"reflect"
	"testing"

	"github.com/wirecheck/wirecheck/harness/capture"
)

func ptr[T any](v T) *T { return &v }

// pingAccount is two MQTT PINGREQ/PINGRESP exchanges over TLS 1.2 as
// captured on lo: each a 31-byte record each way (2 + 29) and one ACK.
func pingAccount() capture.Account {
	toServer := capture.Layers{Frames: 2, WireBytes: 2 * (66 + 31), IPHeaderBytes: 40, TCPHeaderBytes: 64,
		TCPPayloadBytes: 62, TLSRecords: 2, TLSOverhead: 58, AppBytes: 4}
	toClient := capture.Layers{Frames: 4, WireBytes: 2*(66+31) + 2*66, IPHeaderBytes: 80, TCPHeaderBytes: 128,
		TCPPayloadBytes: 62, TLSRecords: 2, TLSOverhead: 58, AppBytes: 4}
	var all capture.Layers
	for _, l := range []capture.Layers{toServer, toClient} {
		all.Frames += l.Frames
		all.WireBytes += l.WireBytes
		all.IPHeaderBytes += l.IPHeaderBytes
		all.TCPHeaderBytes += l.TCPHeaderBytes
		all.TCPPayloadBytes += l.TCPPayloadBytes
		all.TLSRecords += l.TLSRecords
		all.TLSOverhead += l.TLSOverhead
		all.AppBytes += l.AppBytes
	}
	return capture.Account{Layers: all, ByDir: [2]capture.Layers{toServer, toClient},
		MQTT: map[string]int{"PINGREQ": 2, "PINGRESP": 2}, TLSVersion: "1.2",
		CipherSuite: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", KeyExchange: "X25519"}
}

func TestBuildRow(t *testing.T) {
	state13 := &tls.ConnectionState{CurveID: tls.X25519MLKEM768, CipherSuite: tls.TLS_AES_128_GCM_SHA256}
	cases := []struct {
		name   string
		meta   rowMeta
		acct   capture.Account
		events int
		state  *tls.ConnectionState
		mode   string
		check  func(t *testing.T, r Row)
	}{
		{
			name: "MQTT ping over TLS 1.2, per event and per hour",
			meta: rowMeta{Experiment: ExpMaintain, Protocol: "mqtt", V: tls12, Event: "ping", Keepalive: 60, QoS: -1},
			acct: pingAccount(), events: 2, mode: ModeAFPacket,
			check: func(t *testing.T, r Row) {
				want := Row{Experiment: ExpMaintain, Protocol: "mqtt", TLS: "1.2", Variant: "1.2", KeepaliveS: ptr(60),
					Event: "ping", Events: 2, Frames: 3, WireBytes: 260, IPHeaderBytes: 60, TCPHeaderBytes: 96,
					TCPPayloadBytes: 62, TLSRecords: 2, TLSOverheadBytes: 58, AppBytes: 4,
					FramesToServer: 1, FramesToClient: 2, WireBytesToServer: 97, WireBytesToClient: 163,
					TCPPayloadBytesToServer: 31, TCPPayloadBytesToClient: 31, AppBytesToServer: 2, AppBytesToClient: 2,
					PacketsPerEvent: 3, PerHourBytes: ptr(15600.0), PerHourFrames: ptr(180.0),
					MQTTPackets: map[string]float64{"PINGREQ": 1, "PINGRESP": 1},
					KeyExchange: "X25519", CipherSuite: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
					CaptureMode: ModeAFPacket, TimeScale: 0.001}
				if !reflect.DeepEqual(r, want) {
					t.Errorf("row\n got %+v\nwant %+v", r, want)
				}
			},
		},
		{
			name: "key exchange from the client when the capture has none",
			meta: rowMeta{Experiment: ExpConnect, Protocol: "https", V: tls13, Event: "connect", QoS: -1},
			acct: capture.Account{Layers: capture.Layers{Frames: 10, WireBytes: 4000}}, events: 1,
			state: state13, mode: ModeAFPacket,
			check: func(t *testing.T, r Row) {
				if r.KeyExchange != "X25519MLKEM768" || r.CipherSuite != "TLS_AES_128_GCM_SHA256" {
					t.Errorf("key exchange %q, cipher suite %q", r.KeyExchange, r.CipherSuite)
				}
				if r.KeepaliveS != nil || r.PerHourBytes != nil || r.QoS != nil {
					t.Errorf("keepalive %v, per hour %v, qos %v: want nil outside maintain and MQTT", r.KeepaliveS, r.PerHourBytes, r.QoS)
				}
			},
		},
		{
			name: "the capture's key exchange wins",
			meta: rowMeta{Experiment: ExpConnect, Protocol: "mqtt", V: tls13X25519, Event: "connect", QoS: -1},
			acct: capture.Account{KeyExchange: "X25519", CipherSuite: "TLS_CHACHA20_POLY1305_SHA256"}, events: 1,
			state: state13, mode: ModeAFPacket,
			check: func(t *testing.T, r Row) {
				if r.KeyExchange != "X25519" || r.CipherSuite != "TLS_CHACHA20_POLY1305_SHA256" || r.Variant != "1.3-x25519" {
					t.Errorf("got %q %q %q", r.KeyExchange, r.CipherSuite, r.Variant)
				}
			},
		},
		{
			name: "no key exchange without TLS",
			meta: rowMeta{Experiment: ExpSend, Protocol: "mqtt", V: plainTCP, Event: "publish", QoS: 1, Payload: 1},
			acct: capture.Account{Layers: capture.Layers{Frames: 22, WireBytes: 1692}, KeyExchange: "bogus"}, events: 10,
			state: state13, mode: ModeAFPacket,
			check: func(t *testing.T, r Row) {
				if r.KeyExchange != "" || r.CipherSuite != "" || r.TLS != "none" {
					t.Errorf("plain row has TLS fields: %q %q %q", r.KeyExchange, r.CipherSuite, r.TLS)
				}
				if r.QoS == nil || *r.QoS != 1 || r.Frames != 2.2 || r.WireBytes != 169.2 || r.Payload != 1 {
					t.Errorf("qos %v frames %v wire %v payload %d", r.QoS, r.Frames, r.WireBytes, r.Payload)
				}
			},
		},
		{
			name: "payload-only per hour counts TCP payload",
			meta: rowMeta{Experiment: ExpMaintain, Protocol: "https", V: tls13, Mode: "reconnect", Event: "reconnect", Keepalive: 240, QoS: -1},
			acct: capture.Account{Layers: capture.Layers{Frames: 8, TCPPayloadBytes: 6000}}, events: 2, mode: ModePayloadOnly,
			check: func(t *testing.T, r Row) {
				if r.PerHourBytes == nil || *r.PerHourBytes != 45000 || r.CaptureMode != ModePayloadOnly || r.Mode != "reconnect" {
					t.Errorf("per hour %v mode %q %q", r.PerHourBytes, r.CaptureMode, r.Mode)
				}
			},
		},
		{
			name: "no events: zeros, not NaN",
			meta: rowMeta{Experiment: ExpReceive, Protocol: "https", V: tls12, Event: "poll", QoS: -1},
			acct: capture.Account{Layers: capture.Layers{Frames: 3}}, events: 0, mode: ModeAFPacket,
			check: func(t *testing.T, r Row) {
				if r.Frames != 0 {
					t.Errorf("frames %v", r.Frames)
				}
			},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.check(t, buildRow(tc.meta, tc.acct, tc.events, tc.state, tc.mode, 0.001))
		})
	}
}

func TestSortRows(t *testing.T) {
	rows := []Row{
		{Experiment: ExpShapes, Protocol: "https", Variant: "none"},
		{Experiment: ExpMaintain, Protocol: "https", Mode: "keepalive", KeepaliveS: ptr(60), Variant: "1.2"},
		{Experiment: ExpMaintain, Protocol: "https", Mode: "reconnect", KeepaliveS: ptr(120), Variant: "1.2"},
		{Experiment: ExpMaintain, Protocol: "https", Mode: "reconnect", KeepaliveS: ptr(60), Variant: "1.3"},
		{Experiment: ExpMaintain, Protocol: "https", Mode: "reconnect", KeepaliveS: ptr(60), Variant: "1.2"},
		{Experiment: ExpSend, Protocol: "mqtt", QoS: ptr(1), Variant: "none"},
		{Experiment: ExpSend, Protocol: "mqtt", QoS: ptr(0), Variant: "1.3"},
		{Experiment: ExpConnect, Protocol: "https", Variant: "none"},
		{Experiment: ExpConnect, Protocol: "mqtt", Variant: "1.3-x25519"},
		{Experiment: ExpConnect, Protocol: "mqtt", Variant: "none"},
	}
	sortRows(rows)
	var got []string
	for _, r := range rows {
		ka, q := "", ""
		if r.KeepaliveS != nil {
			ka = fmtNum(float64(*r.KeepaliveS))
		}
		if r.QoS != nil {
			q = fmtNum(float64(*r.QoS))
		}
		got = append(got, r.Experiment+"/"+r.Protocol+"/"+r.Mode+"/"+ka+"/"+q+"/"+r.Variant)
	}
	want := []string{
		"connect/mqtt////none", "connect/mqtt////1.3-x25519", "connect/https////none",
		"maintain/https/reconnect/60//1.2", "maintain/https/reconnect/60//1.3", "maintain/https/reconnect/120//1.2",
		"maintain/https/keepalive/60//1.2",
		"send/mqtt///0/1.3", "send/mqtt///1/none",
		"shapes/https////none",
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("order\n got %v\nwant %v", got, want)
	}
}

func TestVariantNames(t *testing.T) {
	cases := []struct {
		v         Variant
		id, label string
		min, max  uint16
		curves    []tls.CurveID
	}{
		{plainTCP, "none", "plain", 0, 0, nil},
		{tls12, "1.2", "TLS 1.2", tls.VersionTLS12, tls.VersionTLS12, nil},
		{tls13, "1.3", "TLS 1.3", tls.VersionTLS13, tls.VersionTLS13, nil},
		{tls13X25519, "1.3-x25519", "TLS 1.3 X25519", tls.VersionTLS13, tls.VersionTLS13, []tls.CurveID{tls.X25519}},
	}
	for _, tc := range cases {
		if tc.v.ID() != tc.id || tc.v.Label() != tc.label {
			t.Errorf("%+v: ID %q Label %q, want %q %q", tc.v, tc.v.ID(), tc.v.Label(), tc.id, tc.label)
		}
		c := tc.v.clientConfig(endpoint{proto: "mqtt", host: "127.0.0.1"}, &fixtures{})
		if c.MinVersion != tc.min || c.MaxVersion != tc.max || !reflect.DeepEqual(c.CurvePreferences, tc.curves) {
			t.Errorf("%s: config min %x max %x curves %v", tc.id, c.MinVersion, c.MaxVersion, c.CurvePreferences)
		}
	}
}
