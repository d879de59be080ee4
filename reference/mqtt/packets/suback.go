package packets

// SubackFailure is the SUBACK return code for a refused subscription.
const SubackFailure byte = 0x80

// Suback is the SUBACK packet (§3.9).
type Suback struct {
	PacketID    uint16
	ReturnCodes []byte // one per filter, in SUBSCRIBE order [MQTT-3.9.3-1]
}

func (*Suback) Type() Type { return SUBACK }

func (s *Suback) Unpack(h FixedHeader, body []byte, _ byte) error {
	r := reader{b: body}
	var err error
	if s.PacketID, err = r.packetID(); err != nil {
		return err
	}
	s.ReturnCodes = r.rest()
	for _, c := range s.ReturnCodes {
		if c > 2 && c != SubackFailure {
			return violationf(ErrSubackCode, "code 0x%02x", c) // [MQTT-3.9.3-2]
		}
	}
	return nil
}

func (s *Suback) AppendTo(dst []byte) ([]byte, error) {
	dst, err := appendHeader(dst, SUBACK, 0, 2+len(s.ReturnCodes))
	if err != nil {
		return dst, err
	}
	dst = appendUint16(dst, s.PacketID)
	return append(dst, s.ReturnCodes...), nil
}
