package overhead

import (
	"fmt"
	"io"
	"slices"
	"strings"
)

// protoName is MQTT, HTTPS, or HTTP when the row ran without TLS.
func protoName(r Row) string {
	switch {
	case r.Protocol != "https":
		return "MQTT"
	case r.TLS == "none":
		return "HTTP"
	}
	return "HTTPS"
}

// protoLabel names a row's protocol for people: MQTT, HTTP (plain),
// HTTPS, with the maintenance mode or QoS where it applies.
func protoLabel(r Row) string {
	p := protoName(r)
	if r.Protocol == "https" && r.Experiment == ExpShapes {
		p += " REST"
	}
	switch {
	case r.Mode == "reconnect":
		p += " reconnect"
	case r.Mode == "keepalive":
		p += " kept-alive"
	case r.QoS != nil && r.Experiment != ExpShapes && r.Experiment != ExpConnect:
		p += fmt.Sprintf(" QoS %d", *r.QoS)
	}
	return p
}

func variantLabel(id string) string {
	switch id {
	case "none":
		return "plain"
	case "1.3-x25519":
		return "TLS 1.3 X25519"
	}
	return "TLS " + id
}

// SummaryLine states how the figures were taken: capture mode, time
// scale and the key exchanges and cipher suites seen.
func SummaryLine(rows []Row) string {
	if len(rows) == 0 {
		return "No rows."
	}
	mode, scale := rows[0].CaptureMode, rows[0].TimeScale
	var b strings.Builder
	switch mode {
	case ModeAFPacket:
		b.WriteString("Capture mode: afpacket (every frame on lo; wire bytes include the 14-byte Ethernet header, IP and TCP headers).")
	default:
		b.WriteString("Capture mode: **payload-only** (no capture privilege: bytes counted at the socket; " +
			"wire, IP and TCP header bytes are 0 and frames count reads and writes, not TCP segments).")
	}
	fmt.Fprintf(&b, " Time scale: %s (a 60 s keepalive interval ran in %s of wall time; bytes per interval do not depend on its length).",
		fmtNum(scale), wallOf(60, scale))
	b.WriteString(" Key exchange: " + kxSummary(rows) + ".")
	return b.String()
}

func wallOf(seconds int, scale float64) string {
	ms := float64(seconds) * scale * 1000
	if ms < 1000 {
		return fmtNum(round2(ms)) + " ms"
	}
	return fmtNum(round2(ms/1000)) + " s"
}

// kxSummary lists, per TLS variant, the key exchange and cipher suite.
func kxSummary(rows []Row) string {
	type kx struct{ kx, cs string }
	seen := map[string][]kx{}
	var order []string
	for _, r := range rows {
		if r.TLS == "none" || r.KeyExchange == "" {
			continue
		}
		k := kx{r.KeyExchange, r.CipherSuite}
		if !slices.Contains(order, r.Variant) {
			order = append(order, r.Variant)
		}
		if !slices.Contains(seen[r.Variant], k) {
			seen[r.Variant] = append(seen[r.Variant], k)
		}
	}
	slices.SortFunc(order, func(a, b string) int { return variantOrder(a) - variantOrder(b) })
	var parts []string
	for _, v := range order {
		var ks []string
		for _, k := range seen[v] {
			ks = append(ks, k.kx+" with "+k.cs)
		}
		note := ""
		switch v {
		case "1.3":
			note = " (Go's default)"
		case "1.3-x25519":
			note = " (CurvePreferences forced)"
		}
		parts = append(parts, variantLabel(v)+note+": "+strings.Join(ks, ", "))
	}
	if len(parts) == 0 {
		return "none (no TLS)"
	}
	return strings.Join(parts, "; ")
}

// mdTable writes a Markdown table.
func mdTable(w io.Writer, header []string, rows [][]string) {
	fmt.Fprintf(w, "| %s |\n", strings.Join(header, " | "))
	seps := make([]string, len(header))
	for i := range seps {
		seps[i] = "---"
		if i > 0 {
			seps[i] = "---:"
		}
	}
	fmt.Fprintf(w, "|%s|\n", strings.Join(seps, "|"))
	for _, r := range rows {
		for i := range r {
			r[i] = strings.ReplaceAll(r[i], "|", `\|`)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(r, " | "))
	}
	fmt.Fprintln(w)
}

// keepalives lists the keepalive intervals in rows, ascending.
func keepalives(rows []Row) []int {
	var kas []int
	for _, r := range rows {
		if r.KeepaliveS != nil && !slices.Contains(kas, *r.KeepaliveS) {
			kas = append(kas, *r.KeepaliveS)
		}
	}
	slices.Sort(kas)
	return kas
}

// WriteMarkdown writes overhead.md: the summary line, bytes and packets
// per event, per keepalive interval and per hour.
func WriteMarkdown(w io.Writer, rows []Row) error {
	fmt.Fprintf(w, "# MQTT vs HTTPS: bytes on the wire\n\n%s\n\n", SummaryLine(rows))
	kas := keepalives(rows)

	fmt.Fprintf(w, "## Bytes and packets per event\n\n")
	fmt.Fprintf(w, "Per event, averaged over `events`. headers = link + IP + TCP headers; "+
		"payload = TCP payload = TLS overhead + app bytes. Maintain rows are one keepalive interval")
	if len(kas) > 0 {
		fmt.Fprintf(w, " at %d s (the same at every interval, see below)", kas[0])
	}
	fmt.Fprintf(w, ".\n\n")
	header := []string{"experiment", "event", "protocol", "TLS", "key exchange", "events", "frames",
		"wire bytes", "headers", "TLS overhead", "app bytes", "payload → server", "payload → client",
		"app → server", "app → client", "MQTT packets"}
	var cells [][]string
	for _, r := range rows {
		if r.KeepaliveS != nil && len(kas) > 0 && *r.KeepaliveS != kas[0] {
			continue
		}
		cells = append(cells, []string{r.Experiment, r.Event, protoLabel(r), variantLabel(r.Variant), r.KeyExchange,
			fmt.Sprint(r.Events), fmtNum(r.Frames), fmtNum(r.WireBytes), fmtNum(round2(r.WireBytes - r.TCPPayloadBytes)),
			fmtNum(r.TLSOverheadBytes), fmtNum(r.AppBytes), fmtNum(r.TCPPayloadBytesToServer),
			fmtNum(r.TCPPayloadBytesToClient), fmtNum(r.AppBytesToServer), fmtNum(r.AppBytesToClient),
			mqttPacketsString(r.MQTTPackets)})
	}
	mdTable(w, header, cells)

	if len(kas) == 0 {
		return nil
	}
	type key struct{ proto, variant, kx string }
	var keys []key
	byKey := map[key]map[int]Row{}
	for _, r := range rows {
		if r.Experiment != ExpMaintain || r.KeepaliveS == nil {
			continue
		}
		k := key{protoLabel(r), r.Variant, r.KeyExchange}
		if byKey[k] == nil {
			byKey[k] = map[int]Row{}
			keys = append(keys, k)
		}
		byKey[k][*r.KeepaliveS] = r
	}
	unit := "wire bytes"
	if rows[0].CaptureMode == ModePayloadOnly {
		unit = "TCP payload bytes (payload-only)"
	}
	fmt.Fprintf(w, "## Maintaining the connection: per keepalive interval\n\n%s (frames) per interval.\n\n", unit)
	header = []string{"protocol", "TLS", "key exchange"}
	for _, ka := range kas {
		header = append(header, fmt.Sprintf("%d s", ka))
	}
	cells = nil
	for _, k := range keys {
		line := []string{k.proto, variantLabel(k.variant), k.kx}
		for _, ka := range kas {
			r, ok := byKey[k][ka]
			switch {
			case !ok:
				line = append(line, "")
			case r.CaptureMode == ModePayloadOnly:
				line = append(line, fmt.Sprintf("%s (%s)", fmtNum(r.TCPPayloadBytes), fmtNum(r.Frames)))
			default:
				line = append(line, fmt.Sprintf("%s (%s)", fmtNum(r.WireBytes), fmtNum(r.Frames)))
			}
		}
		cells = append(cells, line)
	}
	mdTable(w, header, cells)

	fmt.Fprintf(w, "## Maintaining the connection: per hour\n\n%s per hour = per interval × 3600 / keepalive.\n\n", unit)
	cells = nil
	for _, k := range keys {
		line := []string{k.proto, variantLabel(k.variant), k.kx}
		for _, ka := range kas {
			if r, ok := byKey[k][ka]; ok && r.PerHourBytes != nil {
				line = append(line, fmtNum(*r.PerHourBytes))
			} else {
				line = append(line, "")
			}
		}
		cells = append(cells, line)
	}
	mdTable(w, header, cells)

	fmt.Fprintf(w, "## Events\n\n")
	seen := map[string]bool{}
	for _, r := range rows {
		k := r.Experiment + "/" + protoLabel(r) + "/" + r.Event
		if seen[k] || r.Description == "" {
			continue
		}
		seen[k] = true
		fmt.Fprintf(w, "- %s, %s, %s: %s\n", r.Experiment, protoLabel(r), r.Event, r.Description)
	}
	return nil
}
