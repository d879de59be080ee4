package packets

// Subscription is one topic filter and its requested QoS.
type Subscription struct {
	Filter string
	QoS    byte
}

// Subscribe is the SUBSCRIBE packet (§3.8).
type Subscribe struct {
	PacketID      uint16
	Subscriptions []Subscription
}

func (*Subscribe) Type() Type { return SUBSCRIBE }

func (s *Subscribe) Unpack(h FixedHeader, body []byte, _ byte) error {
	r := reader{b: body}
	var err error
	if s.PacketID, err = r.packetID(); err != nil {
		return err
	}
	if r.remaining() == 0 {
		return ErrSubscribeEmpty // [MQTT-3.8.3-3]
	}
	for r.remaining() > 0 {
		f, err := r.string("topic filter") // [MQTT-3.8.3-1]
		if err != nil {
			return err
		}
		if err := ValidateTopicFilter(f); err != nil {
			return err
		}
		q, err := r.byte1("requested QoS")
		if err != nil {
			return err
		}
		if q > 2 {
			return violationf(ErrSubscribeOptions, "byte 0x%02x", q) // [MQTT-3.8.3-4]
		}
		s.Subscriptions = append(s.Subscriptions, Subscription{f, q})
	}
	return nil
}

func (s *Subscribe) AppendTo(dst []byte) ([]byte, error) {
	n := 2
	for _, sub := range s.Subscriptions {
		n += stringLen(sub.Filter) + 1
	}
	dst, err := appendHeader(dst, SUBSCRIBE, 2, n)
	if err != nil {
		return dst, err
	}
	dst = appendUint16(dst, s.PacketID)
	for _, sub := range s.Subscriptions {
		if dst, err = appendString(dst, sub.Filter); err != nil {
			return dst, err
		}
		dst = append(dst, sub.QoS)
	}
	return dst, nil
}
