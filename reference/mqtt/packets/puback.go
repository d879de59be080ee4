package packets

// Puback is the PUBACK packet (§3.4).
type Puback struct{ PacketID uint16 }

func (*Puback) Type() Type { return PUBACK }

func (p *Puback) Unpack(h FixedHeader, body []byte, _ byte) (err error) {
	p.PacketID, err = unpackID(body, PUBACK)
	return err
}

func (p *Puback) AppendTo(dst []byte) ([]byte, error) { return appendID(dst, PUBACK, p.PacketID), nil }
