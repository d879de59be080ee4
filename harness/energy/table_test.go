package energy

import (
	"encoding/binary"
	"encoding/json"
	"math"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// synthetic is a small set of events with the captured shapes: no root
// needed, so Table, Derive and WriteAll run on every machine.
func synthetic() *Events {
	ping := []Packet{{Up: true, Payload: 31, Wire: 83}, {Payload: 31, Wire: 83}, {Up: true, Wire: 52}}
	hs := []Packet{{Up: true, Payload: 150, Wire: 202}, {Payload: 1400, Wire: 1452}, {Up: true, Payload: 400, Wire: 452},
		{Payload: 60, Wire: 112}, {Up: true, Payload: 200, Wire: 252}}
	mc := append(append([]Packet{}, hs[:4]...), Packet{Up: true, Payload: 40, Wire: 92}, Packet{Payload: 4, Wire: 56},
		Packet{Up: true, Payload: 30, Wire: 82}, Packet{Payload: 5, Wire: 57})
	return &Events{TLS: ProfileStudy, MQTTConnect: mc, MQTTPing: ping, HTTPSConnect: hs, HTTPSReconnect: hs}
}

func TestTableArithmetic(t *testing.T) {
	c := constants(t)
	ev := synthetic()
	cells, err := c.Table([]*Events{ev})
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := Published()
	ping := c.EventEnergy(Radio3G, ev.MQTTPing).Joules
	for _, ka := range Keepalives {
		x := Find(cells, "powertutor", "maintain", Radio3G, "mqtt", ka)
		want := ping * 3600 / float64(ka) / 18648 * 100
		if math.Abs(x.Value-want) > 1e-12 || x.Published != pub[key("maintain", Radio3G, "mqtt", ka)] ||
			math.Abs(x.Ratio-x.Value/x.Published) > 1e-12 {
			t.Errorf("%d s: %+v, want value %.6f", ka, x, want)
		}
	}
	d := Derive(cells)
	if math.Abs(d.SavedPerDayPublished-4.14) > 0.01 || math.Abs(d.BreakEvenSPublished-332) > 1 {
		t.Errorf("published derived %+v, want 4.14 %% and 332 s (ENERGY.md)", d)
	}
	// A battery twice the study's halves every value and published value
	// alike: ratios stay.
	c2 := constants(t)
	c2.Battery.Joules *= 2
	cells2, _ := c2.Table([]*Events{ev})
	for i := range cells {
		if math.Abs(cells2[i].Value*2-cells[i].Value) > 1e-12 || math.Abs(cells2[i].Ratio-cells[i].Ratio) > 1e-9 {
			t.Fatalf("rescaled %+v vs %+v", cells2[i], cells[i])
		}
	}
	var md strings.Builder
	c2.WriteMarkdown(&md, cells2, []*Events{ev})
	if !strings.Contains(md.String(), "rescaled") {
		t.Error("energy.md does not say the published columns are rescaled")
	}
	dir := t.TempDir()
	if _, err := c.WriteAll(dir, cells, []*Events{ev}); err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	b, _ := os.ReadFile(filepath.Join(dir, "energy.json"))
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"table", "radio", "protocol", "model", "value", "published", "ratio"} {
		if _, ok := rows[0][f]; !ok {
			t.Errorf("energy.json lacks %q", f)
		}
	}
}

// ReadPcap takes sizes from the IP header, so a capture cut short by a
// small snap length still counts every byte.
func TestReadPcapSnapLen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "short.pcap")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	w := pcapgo.NewWriter(f)
	if err := w.WriteFileHeader(54, layers.LinkTypeEthernet); err != nil {
		t.Fatal(err)
	}
	t0 := time.Unix(1_700_000_000, 0)
	for i, up := range []bool{true, false} {
		frame := tcpFrame(t, up, 300)
		ci := gopacket.CaptureInfo{Timestamp: t0.Add(time.Duration(i) * 100 * time.Millisecond), CaptureLength: 54, Length: len(frame)}
		if err := w.WritePacket(ci, frame[:54]); err != nil {
			t.Fatal(err)
		}
	}
	f.Close()
	pk, err := ReadPcap(path, 8883)
	if err != nil {
		t.Fatal(err)
	}
	if len(pk) != 2 || pk[0].Payload != 300 || pk[0].Wire != 340 || !pk[0].Up || pk[1].Up || math.Abs(pk[1].T-0.1) > 1e-9 {
		t.Fatalf("packets %+v, want 300-byte payloads in 340-byte IP packets, up then down", pk)
	}
	if _, err := ReadPcap(path, 1); err == nil || !strings.Contains(err.Error(), "short.pcap") {
		t.Errorf("wrong port: %v, want an error naming the file", err)
	}
	empty := filepath.Join(t.TempDir(), "empty.pcap")
	os.WriteFile(empty, nil, 0o644)
	if _, err := ReadPcap(empty, 1); err == nil || !strings.Contains(err.Error(), "empty.pcap") {
		t.Errorf("empty file: %v, want an error naming the file", err)
	}
}

// tcpFrame is an Ethernet/IPv4/TCP frame with n payload bytes between a
// client and port 8883.
func tcpFrame(t *testing.T, up bool, n int) []byte {
	t.Helper()
	eth := &layers.Ethernet{SrcMAC: net.HardwareAddr{0, 0, 0, 0, 0, 1}, DstMAC: net.HardwareAddr{0, 0, 0, 0, 0, 2}, EthernetType: layers.EthernetTypeIPv4}
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolTCP, SrcIP: net.IP{127, 0, 0, 1}, DstIP: net.IP{127, 0, 0, 1}}
	tcp := &layers.TCP{SrcPort: 40000, DstPort: 8883, ACK: true, PSH: true, Window: 512}
	if !up {
		tcp.SrcPort, tcp.DstPort = 8883, 40000
	}
	tcp.SetNetworkLayerForChecksum(ip)
	buf := gopacket.NewSerializeBuffer()
	opts := gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}
	if err := gopacket.SerializeLayers(buf, opts, eth, ip, tcp, gopacket.Payload(make([]byte, n))); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if got := binary.BigEndian.Uint16(b[16:18]); got != uint16(20+20+n) {
		t.Fatalf("IP length %d", got)
	}
	return b
}
