package packets

// Unsubscribe is the UNSUBSCRIBE packet (§3.10).
type Unsubscribe struct {
	PacketID uint16
	Filters  []string
}

func (*Unsubscribe) Type() Type { return UNSUBSCRIBE }

func (u *Unsubscribe) Unpack(h FixedHeader, body []byte, _ byte) error {
	r := reader{b: body}
	var err error
	if u.PacketID, err = r.packetID(); err != nil {
		return err
	}
	if r.remaining() == 0 {
		return ErrUnsubscribeEmpty // [MQTT-3.10.3-2]
	}
	for r.remaining() > 0 {
		f, err := r.string("topic filter") // [MQTT-3.10.3-1]
		if err != nil {
			return err
		}
		if err := ValidateTopicFilter(f); err != nil {
			return err
		}
		u.Filters = append(u.Filters, f)
	}
	return nil
}

func (u *Unsubscribe) AppendTo(dst []byte) ([]byte, error) {
	n := 2
	for _, f := range u.Filters {
		n += stringLen(f)
	}
	dst, err := appendHeader(dst, UNSUBSCRIBE, 2, n)
	if err != nil {
		return dst, err
	}
	dst = appendUint16(dst, u.PacketID)
	for _, f := range u.Filters {
		if dst, err = appendString(dst, f); err != nil {
			return dst, err
		}
	}
	return dst, nil
}
