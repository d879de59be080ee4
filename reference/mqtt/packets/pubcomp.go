package packets

// Pubcomp is the PUBCOMP packet (§3.7).
type Pubcomp struct{ PacketID uint16 }

func (*Pubcomp) Type() Type { return PUBCOMP }

func (p *Pubcomp) Unpack(h FixedHeader, body []byte, _ byte) (err error) {
	p.PacketID, err = unpackID(body, PUBCOMP)
	return err
}

func (p *Pubcomp) AppendTo(dst []byte) ([]byte, error) {
	return appendID(dst, PUBCOMP, p.PacketID), nil
}
