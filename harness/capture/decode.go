package capture

import (
	"encoding/binary"
	"net/netip"
)

// frameDecoder decodes Ethernet / IPv4|IPv6 / TCP frames. Every field is
// length-checked before it is read; anything else is not ours.
type frameDecoder struct{}

const (
	ethHeaderLen = 14
	ipv6Header   = 40
)

// decode parses a captured frame of origLen bytes on the wire (data may be
// shorter: the snap length). ports are the server ports; frames to or from
// none of them are rejected. The Payload of the result aliases data.
func (frameDecoder) decode(data []byte, origLen int, ports map[uint16]bool) (Packet, bool) {
	var p Packet
	if len(data) < ethHeaderLen {
		return p, false
	}
	var (
		src, dst netip.Addr
		ipHdr    int
		ipTotal  int // IP packet length declared by the header; 0 = unknown (TSO)
		proto    byte
	)
	ip := data[ethHeaderLen:]
	switch binary.BigEndian.Uint16(data[12:14]) {
	case 0x0800:
		if len(ip) < 20 || ip[0]>>4 != 4 {
			return p, false
		}
		ipHdr = int(ip[0]&0x0f) * 4
		if ipHdr < 20 || len(ip) < ipHdr {
			return p, false
		}
		if binary.BigEndian.Uint16(ip[6:8])&0x1fff != 0 {
			return p, false // a later fragment
		}
		ipTotal = int(binary.BigEndian.Uint16(ip[2:4]))
		proto = ip[9]
		src = netip.AddrFrom4([4]byte(ip[12:16]))
		dst = netip.AddrFrom4([4]byte(ip[16:20]))
	case 0x86dd:
		if len(ip) < ipv6Header || ip[0]>>4 != 6 {
			return p, false
		}
		ipHdr = ipv6Header
		if pl := int(binary.BigEndian.Uint16(ip[4:6])); pl > 0 {
			ipTotal = ipv6Header + pl
		}
		proto = ip[6] // extension headers are not used on loopback TCP
		src = netip.AddrFrom16([16]byte(ip[8:24]))
		dst = netip.AddrFrom16([16]byte(ip[24:40]))
	default:
		return p, false
	}
	if proto != 6 {
		return p, false
	}
	tcp := ip[ipHdr:]
	if len(tcp) < 20 {
		return p, false
	}
	tcpHdr := int(tcp[12]>>4) * 4
	if tcpHdr < 20 || len(tcp) < tcpHdr {
		return p, false
	}
	sport := binary.BigEndian.Uint16(tcp[0:2])
	dport := binary.BigEndian.Uint16(tcp[2:4])
	a, b := netip.AddrPortFrom(src, sport), netip.AddrPortFrom(dst, dport)
	switch {
	case ports[dport]:
		p.Client, p.Server, p.Dir = a, b, ToServer
	case ports[sport]:
		p.Client, p.Server, p.Dir = b, a, ToClient
	default:
		return p, false
	}
	if ipTotal == 0 || ipTotal < ipHdr+tcpHdr {
		// No length in the IP header (segmentation offload): the frame's.
		ipTotal = origLen - ethHeaderLen
	}
	p.WireLen = origLen
	p.IPHeader = ipHdr
	p.TCPHeader = tcpHdr
	p.PayloadLen = max(ipTotal-ipHdr-tcpHdr, 0)
	payload := tcp[tcpHdr:]
	if len(payload) > p.PayloadLen {
		payload = payload[:p.PayloadLen] // Ethernet padding
	}
	p.Payload = payload
	p.Seq = binary.BigEndian.Uint32(tcp[4:8])
	p.Ack = binary.BigEndian.Uint32(tcp[8:12])
	flags := tcp[13]
	p.FIN = flags&0x01 != 0
	p.SYN = flags&0x02 != 0
	p.RST = flags&0x04 != 0
	p.ACK = flags&0x10 != 0
	return p, true
}
