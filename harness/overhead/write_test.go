package overhead

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"image/png"
	"io"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// sampleRows are rows as a small run writes them.
func sampleRows() []Row {
	mk := func(exp, proto, variant, mode, event string, ka, qos *int, wire, payload, tlsOv, app, frames float64) Row {
		tlsv, _, _ := strings.Cut(variant, "-")
		r := Row{Experiment: exp, Protocol: proto, TLS: tlsv, Variant: variant, Mode: mode, KeepaliveS: ka,
			Event: event, QoS: qos, Events: 2, Frames: frames, PacketsPerEvent: frames, WireBytes: wire,
			TCPPayloadBytes: payload, TLSOverheadBytes: tlsOv, AppBytes: app, TCPPayloadBytesToServer: payload / 2,
			TCPPayloadBytesToClient: payload / 2, CaptureMode: ModeAFPacket, TimeScale: 0.001,
			Description: exp + " " + event}
		if tlsv != "none" {
			r.KeyExchange, r.CipherSuite = "X25519", "TLS_AES_128_GCM_SHA256"
			if variant == "1.3" {
				r.KeyExchange = "X25519MLKEM768"
			}
		}
		if ka != nil {
			ph := round2(wire * 3600 / float64(*ka))
			r.PerHourBytes = &ph
			pf := round2(frames * 3600 / float64(*ka))
			r.PerHourFrames = &pf
		}
		if proto == "mqtt" && event == "ping" {
			r.MQTTPackets = map[string]float64{"PINGREQ": 1, "PINGRESP": 1}
		}
		return r
	}
	rows := []Row{
		mk(ExpConnect, "mqtt", "1.2", "", "connect", nil, nil, 2178, 1238, 1182, 56, 14),
		mk(ExpConnect, "https", "1.3", "", "connect", nil, nil, 4288.5, 3612.5, 3522.5, 90, 10),
	}
	for _, ka := range []int{60, 120} {
		rows = append(rows,
			mk(ExpMaintain, "mqtt", "1.2", "", "ping", ptr(ka), nil, 260, 62, 58, 4, 3),
			mk(ExpMaintain, "mqtt", "1.3", "", "ping", ptr(ka), nil, 246, 48, 44, 4, 3),
			mk(ExpMaintain, "https", "1.2", "reconnect", "reconnect", ptr(ka), nil, 2338.5, 1351, 1186, 165, 16),
			mk(ExpMaintain, "https", "1.2", "keepalive", "repoll", ptr(ka), nil, 410, 212, 26, 186, 3))
	}
	rows = append(rows,
		mk(ExpSend, "mqtt", "none", "", "publish", nil, ptr(1), 169.2, 24, 0, 24, 2.2),
		mk(ExpShapes, "https", "1.3", "", "put", nil, nil, 1007, 861.8, 44, 817.8, 2.2))
	return rows
}

func TestJSONRoundTrip(t *testing.T) {
	rows := sampleRows()
	var buf bytes.Buffer
	if err := WriteJSON(&buf, rows); err != nil {
		t.Fatal(err)
	}
	var back []Row
	if err := json.Unmarshal(buf.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, rows) {
		t.Errorf("JSON round trip differs:\n got %+v\nwant %+v", back, rows)
	}
	// The interface other tools rely on: these names, keepalive_s null
	// outside maintain.
	var generic []map[string]any
	json.Unmarshal(buf.Bytes(), &generic)
	for _, key := range []string{"experiment", "protocol", "tls", "keepalive_s", "event", "frames", "wire_bytes",
		"tcp_payload_bytes", "app_bytes", "ip_header_bytes", "tcp_header_bytes", "tls_overhead_bytes", "tls_records",
		"per_hour_bytes", "key_exchange", "cipher_suite", "capture_mode", "time_scale", "packets_per_event", "mqtt_packets"} {
		if _, ok := generic[0][key]; !ok {
			t.Errorf("JSON row lacks %q", key)
		}
	}
	if generic[0]["keepalive_s"] != nil || generic[2]["keepalive_s"] != 60.0 {
		t.Errorf("keepalive_s: %v, %v; want null and 60", generic[0]["keepalive_s"], generic[2]["keepalive_s"])
	}
	// An empty run is an empty list, not null.
	buf.Reset()
	WriteJSON(&buf, nil)
	if strings.TrimSpace(buf.String()) != "[]" {
		t.Errorf("no rows: %q", buf.String())
	}
}

func TestCSVRoundTrip(t *testing.T) {
	cases := []struct {
		name string
		rows []Row
	}{
		{"sample", sampleRows()},
		{"none", nil},
		{"commas and quotes", []Row{{Experiment: ExpShapes, Protocol: "https", Description: `PUT {"value": 86, "unit": "C"}, 200`}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := WriteCSV(&buf, tc.rows); err != nil {
				t.Fatal(err)
			}
			back, err := ReadCSV(&buf)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(back, tc.rows) {
				t.Errorf("CSV round trip differs:\n got %+v\nwant %+v", back, tc.rows)
			}
		})
	}
	// Same columns as the JSON.
	var buf bytes.Buffer
	WriteJSON(&buf, sampleRows()[:1])
	var generic []map[string]json.RawMessage
	json.Unmarshal(buf.Bytes(), &generic)
	var jsonKeys []string
	for k := range generic[0] {
		jsonKeys = append(jsonKeys, k)
	}
	cols := Columns()
	slices.Sort(jsonKeys)
	sorted := slices.Sorted(slices.Values(cols))
	if !slices.Equal(sorted, jsonKeys) {
		t.Errorf("CSV columns %v\nJSON keys %v", sorted, jsonKeys)
	}
}

// mdTables parses the Markdown tables of r: each a header and rows.
func mdTables(t *testing.T, r io.Reader) (tables [][][]string, text string) {
	t.Helper()
	b, _ := io.ReadAll(r)
	var cur [][]string
	for line := range strings.SplitSeq(string(b), "\n") {
		if !strings.HasPrefix(line, "|") {
			if cur != nil {
				tables = append(tables, cur)
				cur = nil
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), " | ")
		for i := range cells {
			cells[i] = strings.TrimSpace(cells[i])
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		cur = append(cur, cells)
	}
	return tables, string(b)
}

func TestMarkdown(t *testing.T) {
	var buf bytes.Buffer
	if err := WriteMarkdown(&buf, sampleRows()); err != nil {
		t.Fatal(err)
	}
	tables, text := mdTables(t, &buf)
	for _, want := range []string{"Capture mode: afpacket", "Time scale: 0.001", "60 ms",
		"TLS 1.3 (Go's default): X25519MLKEM768", "TLS 1.2: X25519", "per hour"} {
		if !strings.Contains(text, want) {
			t.Errorf("overhead.md lacks %q", want)
		}
	}
	if len(tables) != 3 {
		t.Fatalf("%d tables, want 3 (per event, per interval, per hour)", len(tables))
	}
	cases := []struct {
		table int
		row   []string // the first cells that identify the row
		col   string
		want  string
	}{
		{0, []string{"connect", "connect", "MQTT", "TLS 1.2"}, "wire bytes", "2178"},
		{0, []string{"connect", "connect", "HTTPS", "TLS 1.3"}, "key exchange", "X25519MLKEM768"},
		{0, []string{"maintain", "ping", "MQTT", "TLS 1.2"}, "payload → server", "31"},
		{0, []string{"maintain", "ping", "MQTT", "TLS 1.3"}, "payload → server", "24"},
		{0, []string{"maintain", "ping", "MQTT", "TLS 1.2"}, "MQTT packets", "PINGREQ=1 PINGRESP=1"},
		{0, []string{"maintain", "ping", "MQTT", "TLS 1.2"}, "headers", "198"},
		{0, []string{"send", "publish", "MQTT QoS 1", "plain"}, "frames", "2.2"},
		{1, []string{"HTTPS reconnect", "TLS 1.2"}, "120 s", "2338.5 (16)"},
		{1, []string{"MQTT", "TLS 1.3"}, "60 s", "246 (3)"},
		{2, []string{"MQTT", "TLS 1.2"}, "60 s", "15600"},
		{2, []string{"MQTT", "TLS 1.2"}, "120 s", "7800"},
		{2, []string{"HTTPS kept-alive", "TLS 1.2"}, "120 s", "12300"},
	}
	for _, tc := range cases {
		tab := tables[tc.table]
		col := slices.Index(tab[0], tc.col)
		if col < 0 {
			t.Errorf("table %d has no column %q: %v", tc.table, tc.col, tab[0])
			continue
		}
		found := false
		for _, r := range tab[1:] {
			if slices.Equal(r[:len(tc.row)], tc.row) {
				found = true
				if r[col] != tc.want {
					t.Errorf("table %d %v %s = %q, want %q", tc.table, tc.row, tc.col, r[col], tc.want)
				}
			}
		}
		if !found {
			t.Errorf("table %d has no row %v", tc.table, tc.row)
		}
	}
	// Per event shows maintain at the shortest keepalive only.
	n := 0
	for _, r := range tables[0][1:] {
		if r[0] == ExpMaintain {
			n++
		}
	}
	if n != 4 {
		t.Errorf("%d maintain rows in the per-event table, want 4 (one keepalive)", n)
	}
}

func TestMarkdownPayloadOnly(t *testing.T) {
	rows := sampleRows()
	for i := range rows {
		rows[i].CaptureMode = ModePayloadOnly
	}
	var buf bytes.Buffer
	WriteMarkdown(&buf, rows)
	if !strings.Contains(buf.String(), "**payload-only**") || !strings.Contains(buf.String(), "TCP payload bytes (payload-only)") {
		t.Errorf("payload-only is not stated:\n%s", buf.String())
	}
}

func TestEventPanels(t *testing.T) {
	panels := EventPanels(sampleRows())
	cases := []struct {
		title  string
		labels []string
		layers [3][]float64
	}{
		{"connect", []string{"MQTT 1.2", "HTTPS 1.3"}, [3][]float64{{940, 676}, {1182, 3522.5}, {56, 90}}},
		{"maintain: one keepalive interval", []string{"MQTT 1.2", "MQTT 1.3", "HTTPS reconn. 1.2", "HTTPS kept 1.2"},
			[3][]float64{{198, 198, 987.5, 198}, {58, 44, 1186, 26}, {4, 4, 165, 186}}},
		{"send: one message", []string{"MQTT q1 plain"}, [3][]float64{{145.2}, {0}, {24}}},
		{"seed JSON reading: MQTT publish vs REST PUT", []string{"REST 1.3"}, [3][]float64{{145.2}, {44}, {817.8}}},
	}
	if len(panels) != len(cases) {
		t.Fatalf("%d panels, want %d: %+v", len(panels), len(cases), panels)
	}
	for i, tc := range cases {
		p := panels[i]
		if p.Title != tc.title || !slices.Equal(p.Labels, tc.labels) || !reflect.DeepEqual(p.Layers, tc.layers) {
			t.Errorf("panel %d\n got %+v\nwant %+v", i, p, tc)
		}
	}
}

func TestHourSeries(t *testing.T) {
	series := HourSeries(sampleRows())
	want := []Series{
		{Label: "MQTT, TLS 1.2", Proto: "mqtt", TLS: "1.2", X: []float64{60, 120}, Y: []float64{15600, 7800}},
		{Label: "MQTT, TLS 1.3", Proto: "mqtt", TLS: "1.3", X: []float64{60, 120}, Y: []float64{14760, 7380}},
		{Label: "HTTPS reconnect, TLS 1.2", Proto: "https reconnect", TLS: "1.2", X: []float64{60, 120}, Y: []float64{140310, 70155}},
		{Label: "HTTPS kept-alive, TLS 1.2", Proto: "https keepalive", TLS: "1.2", X: []float64{60, 120}, Y: []float64{24600, 12300}},
	}
	if !reflect.DeepEqual(series, want) {
		t.Errorf("series\n got %+v\nwant %+v", series, want)
	}
}

// svgTexts returns the text content of every <text> element of an SVG
// document, failing if it is not well-formed XML.
func svgTexts(t *testing.T, doc []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(doc))
	var texts []string
	inText := false
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			inText = tok.Name.Local == "text"
		case xml.EndElement:
			inText = false
		case xml.CharData:
			if inText {
				texts = append(texts, strings.TrimSpace(string(tok)))
			}
		}
	}
	return texts
}

// TestPlots compares the SVG output by what it says (titles, bar and
// tick labels, totals, legend entries), not by pixels.
func TestPlots(t *testing.T) {
	rows := sampleRows()
	cases := []struct {
		name string
		draw func(io.Writer, string, []Row) error
		want []string
	}{
		{"bytes per event", PlotBytesPerEvent, []string{
			"connect", "maintain: one keepalive interval", "send: one message",
			"seed JSON reading: MQTT publish vs REST PUT", "MQTT 1.2", "HTTPS reconn. 1.2", "REST 1.3",
			"TCP/IP headers (+ link)", "TLS overhead", "app bytes", "2178", "4288", "260", "bytes on the wire",
			"capture afpacket, time scale 0.001"}},
		{"bytes per hour", PlotBytesPerHour, []string{
			"MQTT, TLS 1.2", "HTTPS reconnect, TLS 1.2", "HTTPS kept-alive, TLS 1.2", "60", "120",
			"keepalive interval (s, log scale)"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var svg bytes.Buffer
			if err := tc.draw(&svg, "svg", rows); err != nil {
				t.Fatal(err)
			}
			texts := svgTexts(t, svg.Bytes())
			joined := strings.Join(texts, "\n")
			for _, w := range tc.want {
				if !slices.Contains(texts, w) && !strings.Contains(joined, w) {
					t.Errorf("SVG lacks text %q", w)
				}
			}
			var pngBuf bytes.Buffer
			if err := tc.draw(&pngBuf, "png", rows); err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(&pngBuf)
			if err != nil {
				t.Fatal(err)
			}
			if b := img.Bounds(); b.Dx() < 500 || b.Dy() < 300 {
				t.Errorf("PNG is %v", b)
			}
		})
	}
	// No rows: still a valid, labelled image.
	var svg bytes.Buffer
	if err := PlotBytesPerHour(&svg, "svg", nil); err != nil {
		t.Fatal(err)
	}
	if texts := svgTexts(t, svg.Bytes()); !strings.Contains(strings.Join(texts, " "), "no maintain rows") {
		t.Errorf("empty plot says %v", texts)
	}
}
