package energy

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
)

// ReadPcap reads a pcap or pcapng file and returns the TCP segments to or
// from port as model packets (Up = towards port), at their captured times.
func ReadPcap(path string, port uint16) ([]Packet, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	pkts, err := readPcap(bufio.NewReader(f), port)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return pkts, nil
}

func readPcap(br *bufio.Reader, port uint16) ([]Packet, error) {
	magic, err := br.Peek(4)
	if err != nil {
		return nil, fmt.Errorf("not a pcap or pcapng file (%w)", err)
	}
	type src interface {
		ReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var r src
	var lt layers.LinkType
	if string(magic) == "\x0a\x0d\x0d\x0a" {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return nil, err
		}
		r, lt = ng, ng.LinkType()
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return nil, err
		}
		r, lt = pr, pr.LinkType()
	}
	var out []Packet
	var t0 time.Time
	for {
		data, ci, err := r.ReadPacketData()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		pk := gopacket.NewPacket(data, lt, gopacket.DecodeOptions{Lazy: true, NoCopy: true})
		tl, ok := pk.Layer(layers.LayerTypeTCP).(*layers.TCP)
		if !ok {
			continue
		}
		up := uint16(tl.DstPort) == port
		if !up && uint16(tl.SrcPort) != port {
			continue
		}
		wire, payload := ipSizes(pk, tl, ci.Length)
		if t0.IsZero() {
			t0 = ci.Timestamp
		}
		out = append(out, Packet{T: ci.Timestamp.Sub(t0).Seconds(), Up: up, Payload: payload, Wire: wire})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no TCP packets to or from port %d", port)
	}
	return out, nil
}

// ipSizes reads the packet's IP and TCP payload lengths from the IP header,
// so a capture cut short by its snap length still counts every byte.
func ipSizes(pk gopacket.Packet, tl *layers.TCP, frameLen int) (wire, payload int) {
	hdr := len(tl.LayerContents())
	switch ip := pk.NetworkLayer().(type) {
	case *layers.IPv4:
		wire = int(ip.Length)
		return wire, max(wire-int(ip.IHL)*4-hdr, 0)
	case *layers.IPv6:
		wire = int(ip.Length) + 40
		return wire, max(int(ip.Length)-hdr, 0) // extension headers: rare on TCP, ignored
	}
	return frameLen, len(tl.LayerPayload())
}

// FileEnergy applies the model to a capture at its own timing (taken to
// be the phone's own traffic: no re-timing), as an event after a long idle.
func (c *Constants) FileEnergy(radio string, pkts []Packet) Event {
	return c.sampled(radio, pkts)
}
