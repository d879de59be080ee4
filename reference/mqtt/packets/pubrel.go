package packets

// Pubrel is the PUBREL packet (§3.6).
type Pubrel struct{ PacketID uint16 }

func (*Pubrel) Type() Type { return PUBREL }

func (p *Pubrel) Unpack(h FixedHeader, body []byte, _ byte) (err error) {
	p.PacketID, err = unpackID(body, PUBREL)
	return err
}

func (p *Pubrel) AppendTo(dst []byte) ([]byte, error) { return appendID(dst, PUBREL, p.PacketID), nil }
