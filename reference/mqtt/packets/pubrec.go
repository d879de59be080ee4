package packets

// Pubrec is the PUBREC packet (§3.5).
type Pubrec struct{ PacketID uint16 }

func (*Pubrec) Type() Type { return PUBREC }

func (p *Pubrec) Unpack(h FixedHeader, body []byte, _ byte) (err error) {
	p.PacketID, err = unpackID(body, PUBREC)
	return err
}

func (p *Pubrec) AppendTo(dst []byte) ([]byte, error) { return appendID(dst, PUBREC, p.PacketID), nil }
