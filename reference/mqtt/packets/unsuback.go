package packets

// Unsuback is the UNSUBACK packet (§3.11).
type Unsuback struct{ PacketID uint16 }

func (*Unsuback) Type() Type { return UNSUBACK }

func (p *Unsuback) Unpack(h FixedHeader, body []byte, _ byte) (err error) {
	p.PacketID, err = unpackID(body, UNSUBACK)
	return err
}

func (p *Unsuback) AppendTo(dst []byte) ([]byte, error) {
	return appendID(dst, UNSUBACK, p.PacketID), nil
}
