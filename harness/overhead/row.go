package overhead

import (
	"crypto/tls"
	"math"
	"sort"
	"strings"

	"github.com/wirecheck/wirecheck/harness/capture"
)

// Capture modes as rows name them.
const (
	ModeAFPacket    = "afpacket"     // link-layer capture on lo: every byte on the wire
	ModePayloadOnly = "payload-only" // socket counting: TCP payload only, no headers
)

// Row is one line of overhead.json / overhead.csv: the cost of one event
// (a connect, one keepalive interval, one message) of one protocol over
// one transport variant, averaged over Events events. Counts are per
// event, so they may be fractional when events differ (frames do, by
// when the kernel sends a delayed ACK).
type Row struct {
	Experiment string `json:"experiment"` // connect, maintain, send, receive, shapes
	Protocol   string `json:"protocol"`   // mqtt or https (https with tls "none" is plain HTTP)
	TLS        string `json:"tls"`        // none, 1.2 or 1.3
	Variant    string `json:"variant"`    // none, 1.2, 1.3, 1.3-x25519 (key exchange forced to X25519)
	Mode       string `json:"mode"`       // maintain over HTTPS: reconnect or keepalive; else ""
	KeepaliveS *int   `json:"keepalive_s"`
	Event      string `json:"event"`         // connect, ping, reconnect, repoll, publish, post, deliver, poll, put
	QoS        *int   `json:"qos"`           // MQTT QoS where it applies
	Payload    int    `json:"payload_bytes"` // message size (send, receive, shapes), else 0
	Events     int    `json:"events"`        // events measured; every count is per event

	Frames           float64 `json:"frames"`
	WireBytes        float64 `json:"wire_bytes"` // link layer: 14-byte Ethernet header + IP packet
	IPHeaderBytes    float64 `json:"ip_header_bytes"`
	TCPHeaderBytes   float64 `json:"tcp_header_bytes"`
	TCPPayloadBytes  float64 `json:"tcp_payload_bytes"`
	TLSRecords       float64 `json:"tls_records"`
	TLSOverheadBytes float64 `json:"tls_overhead_bytes"` // record headers, nonces, tags and the handshake
	HandshakeBytes   float64 `json:"handshake_bytes"`
	AppBytes         float64 `json:"app_bytes"` // MQTT packets or HTTP messages

	FramesToServer          float64 `json:"frames_to_server"`
	FramesToClient          float64 `json:"frames_to_client"`
	WireBytesToServer       float64 `json:"wire_bytes_to_server"`
	WireBytesToClient       float64 `json:"wire_bytes_to_client"`
	TCPPayloadBytesToServer float64 `json:"tcp_payload_bytes_to_server"`
	TCPPayloadBytesToClient float64 `json:"tcp_payload_bytes_to_client"`
	AppBytesToServer        float64 `json:"app_bytes_to_server"`
	AppBytesToClient        float64 `json:"app_bytes_to_client"`

	PacketsPerEvent float64            `json:"packets_per_event"` // frames per event (TCP segments; payload-only: reads and writes)
	PerHourBytes    *float64           `json:"per_hour_bytes"`    // maintain: wire bytes (payload-only: TCP payload) × 3600 / keepalive
	PerHourFrames   *float64           `json:"per_hour_frames"`   // maintain: frames × 3600 / keepalive
	MQTTPackets     map[string]float64 `json:"mqtt_packets"`      // MQTT control packets per event, by type (plain streams)

	KeyExchange string  `json:"key_exchange"` // e.g. X25519MLKEM768; "" without TLS
	CipherSuite string  `json:"cipher_suite"`
	CaptureMode string  `json:"capture_mode"` // afpacket or payload-only
	TimeScale   float64 `json:"time_scale"`   // wall time / protocol time of the run
	Description string  `json:"description"`
}

// rowMeta is what a row says about its job, apart from the counts.
type rowMeta struct {
	Experiment, Protocol, Variant, Mode, Event, Description string
	V                                                       Variant
	Keepalive, QoS, Payload                                 int
}

func (j *job) meta() rowMeta {
	return rowMeta{Experiment: j.experiment, Protocol: j.proto, V: j.v, Mode: j.mode, Event: j.event,
		Description: j.note, Keepalive: j.keepalive, QoS: j.qos, Payload: j.payload}
}

// round2 keeps two decimals: means of integer counts.
func round2(x float64) float64 { return math.Round(x*100) / 100 }

func perEvent(total, events int) float64 {
	if events <= 0 {
		return 0
	}
	return round2(float64(total) / float64(events))
}

// buildRow turns the account of a job's events into its row. state is the
// client's view of the first TLS handshake (nil without TLS); the
// capture's own view of the key exchange and cipher suite wins when it
// has one.
func buildRow(m rowMeta, a capture.Account, events int, state *tls.ConnectionState, mode string, scale float64) Row {
	r := Row{
		Experiment: m.Experiment, Protocol: m.Protocol, TLS: m.V.TLS, Variant: m.V.ID(), Mode: m.Mode,
		Event: m.Event, Payload: m.Payload, Events: events, CaptureMode: mode, TimeScale: scale,
		Description: m.Description,
	}
	if m.Keepalive > 0 {
		ka := m.Keepalive
		r.KeepaliveS = &ka
	}
	if m.QoS >= 0 && m.Protocol == "mqtt" {
		q := m.QoS
		r.QoS = &q
	}
	l := a.Layers
	r.Frames = perEvent(l.Frames, events)
	r.WireBytes = perEvent(l.WireBytes, events)
	r.IPHeaderBytes = perEvent(l.IPHeaderBytes, events)
	r.TCPHeaderBytes = perEvent(l.TCPHeaderBytes, events)
	r.TCPPayloadBytes = perEvent(l.TCPPayloadBytes, events)
	r.TLSRecords = perEvent(l.TLSRecords, events)
	r.TLSOverheadBytes = perEvent(l.TLSOverhead, events)
	r.HandshakeBytes = perEvent(a.HandshakeBytes, events)
	r.AppBytes = perEvent(l.AppBytes, events)
	ts, tc := a.ByDir[capture.ToServer], a.ByDir[capture.ToClient]
	r.FramesToServer, r.FramesToClient = perEvent(ts.Frames, events), perEvent(tc.Frames, events)
	r.WireBytesToServer, r.WireBytesToClient = perEvent(ts.WireBytes, events), perEvent(tc.WireBytes, events)
	r.TCPPayloadBytesToServer, r.TCPPayloadBytesToClient = perEvent(ts.TCPPayloadBytes, events), perEvent(tc.TCPPayloadBytes, events)
	r.AppBytesToServer, r.AppBytesToClient = perEvent(ts.AppBytes, events), perEvent(tc.AppBytes, events)
	r.PacketsPerEvent = r.Frames
	if len(a.MQTT) > 0 {
		r.MQTTPackets = map[string]float64{}
		for k, n := range a.MQTT {
			r.MQTTPackets[k] = perEvent(n, events)
		}
	}
	if m.Keepalive > 0 {
		bytes := round2(r.WireBytes * 3600 / float64(m.Keepalive))
		frames := round2(r.Frames * 3600 / float64(m.Keepalive))
		if mode == ModePayloadOnly { // no link layer: per hour of what was counted
			bytes = round2(r.TCPPayloadBytes * 3600 / float64(m.Keepalive))
		}
		r.PerHourBytes, r.PerHourFrames = &bytes, &frames
	}
	if m.V.secure() {
		r.KeyExchange, r.CipherSuite = a.KeyExchange, a.CipherSuite
		if state != nil {
			if r.KeyExchange == "" {
				r.KeyExchange = state.CurveID.String()
			}
			if r.CipherSuite == "" {
				r.CipherSuite = tls.CipherSuiteName(state.CipherSuite)
			}
		}
	}
	return r
}

// mqttPacketsString renders MQTT counts for CSV and Markdown:
// "PINGREQ=1 PINGRESP=1", sorted by name.
func mqttPacketsString(m map[string]float64) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k + "=" + fmtNum(m[k]))
	}
	return b.String()
}

// sortRows orders rows by experiment (run order), protocol, keepalive,
// mode, variant, QoS.
func sortRows(rows []Row) {
	expOrder := map[string]int{}
	for i, e := range Experiments {
		expOrder[e] = i
	}
	deref := func(p *int) int {
		if p == nil {
			return -1
		}
		return *p
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		switch {
		case a.Experiment != b.Experiment:
			return expOrder[a.Experiment] < expOrder[b.Experiment]
		case a.Protocol != b.Protocol:
			return a.Protocol > b.Protocol // mqtt first
		case a.Mode != b.Mode:
			return a.Mode > b.Mode // reconnect before keepalive
		case deref(a.KeepaliveS) != deref(b.KeepaliveS):
			return deref(a.KeepaliveS) < deref(b.KeepaliveS)
		case deref(a.QoS) != deref(b.QoS):
			return deref(a.QoS) < deref(b.QoS)
		}
		return variantOrder(a.Variant) < variantOrder(b.Variant)
	})
}

func variantOrder(id string) int {
	for i, v := range []string{"none", "1.2", "1.3", "1.3-x25519"} {
		if v == id {
			return i
		}
	}
	return 99
}
