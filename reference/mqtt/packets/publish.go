package packets

// Publish is the PUBLISH packet (§3.3).
type Publish struct {
	Dup      bool
	QoS      byte
	Retain   bool
	Topic    string
	PacketID uint16 // only for QoS 1 and 2 [MQTT-2.3.1-5]
	Payload  []byte
}

func (*Publish) Type() Type { return PUBLISH }

func (p *Publish) Unpack(h FixedHeader, body []byte, _ byte) error {
	p.Dup = h.Flags&0x08 != 0
	p.QoS = h.Flags >> 1 & 0x03
	p.Retain = h.Flags&0x01 != 0
	if p.QoS == 3 {
		return ErrPublishQoS3 // [MQTT-3.3.1-4]
	}
	if p.QoS == 0 && p.Dup {
		return ErrPublishDupQoS0 // [MQTT-3.3.1-2]
	}
	r := reader{b: body}
	var err error
	if p.Topic, err = r.string("topic name"); err != nil { // [MQTT-3.3.2-1]
		return err
	}
	if err = ValidateTopicName(p.Topic); err != nil {
		return err
	}
	if p.QoS > 0 {
		if p.PacketID, err = r.packetID(); err != nil {
			return err
		}
	}
	p.Payload = r.rest()
	return nil
}

// Flags returns the low nibble of the fixed header.
func (p *Publish) Flags() byte {
	f := p.QoS << 1
	if p.Dup {
		f |= 0x08
	}
	if p.Retain {
		f |= 0x01
	}
	return f
}

func (p *Publish) AppendTo(dst []byte) ([]byte, error) {
	n := stringLen(p.Topic) + len(p.Payload)
	if p.QoS > 0 {
		n += 2
	}
	dst, err := appendHeader(dst, PUBLISH, p.Flags(), n)
	if err != nil {
		return dst, err
	}
	if dst, err = appendString(dst, p.Topic); err != nil {
		return dst, err
	}
	if p.QoS > 0 {
		dst = appendUint16(dst, p.PacketID)
	}
	return append(dst, p.Payload...), nil
}
