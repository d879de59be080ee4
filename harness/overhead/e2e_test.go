package overhead

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/wirecheck/wirecheck/harness/capture"
)

// requireCapture skips unless packets can be captured on lo (root or
// CAP_NET_RAW); under CI=true it fails instead, since CI runs as root.
func requireCapture(t *testing.T) {
	t.Helper()
	s, err := capture.Start(capture.Options{Interface: "lo", Ports: []uint16{9}})
	if err == nil {
		s.Stop()
		return
	}
	msg := "cannot capture on lo (" + err.Error() + "): run as root for the afpacket end-to-end test"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
}

// find returns the row of an experiment, protocol, variant, event and
// keepalive (0: none).
func find(t *testing.T, rows []Row, exp, proto, variant, event string, ka int) Row {
	t.Helper()
	for _, r := range rows {
		if r.Experiment == exp && r.Protocol == proto && r.Variant == variant && r.Event == event &&
			(ka == 0 && r.KeepaliveS == nil || r.KeepaliveS != nil && *r.KeepaliveS == ka) {
			return r
		}
	}
	t.Fatalf("no row %s %s %s %s %d", exp, proto, variant, event, ka)
	return Row{}
}

func readRows(t *testing.T, dir string) []Row {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(dir, FileJSON))
	if err != nil {
		t.Fatal(err)
	}
	var rows []Row
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	return rows
}

// TestQuickRun is the "done when": the quick experiments against
// the reference servers, captured on lo.
func TestQuickRun(t *testing.T) {
	requireCapture(t)
	dir := t.TempDir()
	var progress bytes.Buffer
	res, err := Run(context.Background(), Options{Out: dir, Quick: true, Progress: &progress})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("quick run: %v, %d rows\n%s", res.Elapsed, len(res.Rows), progress.String())
	if res.CaptureMode != ModeAFPacket || res.TimeScale != 0.001 {
		t.Errorf("capture %q, time scale %v", res.CaptureMode, res.TimeScale)
	}
	for _, name := range []string{FileJSON, FileCSV, FileMarkdown, "bytes_per_event.png", "bytes_per_event.svg",
		"bytes_per_hour.png", "bytes_per_hour.svg", "connect.pcapng", "maintain.pcapng", "send.pcapng",
		"receive.pcapng", "shapes.pcapng"} {
		if fi, err := os.Stat(filepath.Join(dir, name)); err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
	}
	rows := readRows(t, dir)
	if len(rows) != len(res.Rows) {
		t.Errorf("overhead.json has %d rows, the run %d", len(rows), len(res.Rows))
	}
	for _, r := range rows {
		if r.CaptureMode != ModeAFPacket || r.TimeScale != 0.001 || r.Events == 0 || r.Frames == 0 {
			t.Errorf("row %+v", r)
		}
		if r.TLS != "none" && r.KeyExchange == "" {
			t.Errorf("%s %s %s: no key exchange", r.Experiment, r.Protocol, r.Variant)
		}
	}

	// PINGREQ: 2 bytes of MQTT in one record of 31 bytes over TLS 1.2
	// (5 header + 8 explicit nonce + 16 tag), 24 over TLS 1.3 (5 + 1
	// content type + 16), at every keepalive interval.
	for _, ka := range []int{60, 120, 240, 480} {
		for _, tc := range []struct {
			variant      string
			payload, app float64
		}{{"none", 2, 2}, {"1.2", 31, 2}, {"1.3", 24, 2}, {"1.3-x25519", 24, 2}} {
			r := find(t, rows, ExpMaintain, "mqtt", tc.variant, "ping", ka)
			if r.TCPPayloadBytesToServer != tc.payload || r.AppBytesToServer != tc.app {
				t.Errorf("PINGREQ over %s at %d s: %v bytes of TCP payload and %v of MQTT, want %v and %v",
					tc.variant, ka, r.TCPPayloadBytesToServer, r.AppBytesToServer, tc.payload, tc.app)
			}
			if r.TCPPayloadBytesToClient != tc.payload || r.MQTTPackets["PINGREQ"] != 1 || r.MQTTPackets["PINGRESP"] != 1 {
				t.Errorf("PINGRESP over %s at %d s: %v bytes, MQTT %v", tc.variant, ka, r.TCPPayloadBytesToClient, r.MQTTPackets)
			}
		}
	}
	// The study's idle HTTPS client (reconnect every interval) costs more
	// than MQTT's ping at every interval, over every transport.
	for _, ka := range []int{60, 120, 240, 480} {
		for _, v := range []string{"none", "1.2", "1.3", "1.3-x25519"} {
			m := find(t, rows, ExpMaintain, "mqtt", v, "ping", ka)
			h := find(t, rows, ExpMaintain, "https", v, "reconnect", ka)
			if h.WireBytes <= m.WireBytes || *h.PerHourBytes <= *m.PerHourBytes {
				t.Errorf("%s at %d s: HTTPS reconnect %v B/interval (%v/h), MQTT %v (%v/h)",
					v, ka, h.WireBytes, *h.PerHourBytes, m.WireBytes, *m.PerHourBytes)
			}
		}
	}
	// Go's default TLS 1.3 key exchange is the hybrid X25519MLKEM768; its
	// key shares make the handshake about 2.3 KB bigger than X25519's.
	for _, proto := range []string{"mqtt", "https"} {
		pq := find(t, rows, ExpConnect, proto, "1.3", "connect", 0)
		x := find(t, rows, ExpConnect, proto, "1.3-x25519", "connect", 0)
		if pq.KeyExchange != "X25519MLKEM768" || x.KeyExchange != "X25519" {
			t.Errorf("%s key exchanges %q and %q", proto, pq.KeyExchange, x.KeyExchange)
		}
		if d := pq.TCPPayloadBytes - x.TCPPayloadBytes; d < 2000 || d > 2600 {
			t.Errorf("%s: the ML-KEM key shares add %v bytes, want about 2.3 KB (1184 up, 1088 down)", proto, d)
		}
	}
	if kx := find(t, rows, ExpConnect, "mqtt", "1.2", "connect", 0).KeyExchange; kx != "X25519" {
		t.Errorf("TLS 1.2 key exchange %q", kx)
	}
	// Per-hour figures follow per interval × 3600 / interval.
	r := find(t, rows, ExpMaintain, "mqtt", "1.2", "ping", 240)
	if want := round2(r.WireBytes * 3600 / 240); *r.PerHourBytes != want {
		t.Errorf("per hour %v, want %v", *r.PerHourBytes, want)
	}
	// The seed's reading: its JSON is the MQTT payload, its REST body is
	// in the PUT.
	pub := find(t, rows, ExpShapes, "mqtt", "none", "publish", 0)
	if want := float64(2 + 2 + len(SeedTopic) + len(SeedReading)); pub.AppBytes != want {
		t.Errorf("seed PUBLISH is %v MQTT bytes, want %v", pub.AppBytes, want)
	}
}

// TestPayloadOnlyRun runs the fallback (socket counting) anywhere, root
// or not: every output says payload-only, and the PINGREQ's TLS record is
// still 31 / 24 bytes.
func TestPayloadOnlyRun(t *testing.T) {
	dir := t.TempDir()
	res, err := Run(context.Background(), Options{Out: dir, Quick: true, NoCapture: true,
		Experiments: []string{ExpConnect, ExpMaintain}, Keepalives: []int{60, 120}})
	if err != nil {
		t.Fatal(err)
	}
	if res.CaptureMode != ModePayloadOnly {
		t.Fatalf("capture mode %q", res.CaptureMode)
	}
	rows := readRows(t, dir)
	for _, r := range rows {
		if r.CaptureMode != ModePayloadOnly || r.WireBytes != 0 {
			t.Errorf("row %s %s %s: mode %q, wire bytes %v", r.Experiment, r.Protocol, r.Variant, r.CaptureMode, r.WireBytes)
		}
	}
	for _, tc := range []struct {
		variant string
		payload float64
	}{{"1.2", 31}, {"1.3", 24}} {
		r := find(t, rows, ExpMaintain, "mqtt", tc.variant, "ping", 60)
		if r.TCPPayloadBytesToServer != tc.payload || r.AppBytesToServer != 2 {
			t.Errorf("PINGREQ over %s: %v / %v", tc.variant, r.TCPPayloadBytesToServer, r.AppBytesToServer)
		}
	}
	md, _ := os.ReadFile(filepath.Join(dir, FileMarkdown))
	if !bytes.Contains(md, []byte("payload-only")) {
		t.Error("overhead.md does not say payload-only")
	}
	for _, name := range []string{"bytes_per_event.svg", "bytes_per_hour.svg"} {
		svg, _ := os.ReadFile(filepath.Join(dir, name))
		if !bytes.Contains(svg, []byte("payload-only")) {
			t.Errorf("%s does not say payload-only", name)
		}
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "*.pcapng")); len(m) != 0 {
		t.Errorf("payload-only run wrote %v", m)
	}
}
