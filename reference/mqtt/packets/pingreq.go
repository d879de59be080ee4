package packets

// Pingreq is the PINGREQ packet (§3.12): a fixed header and nothing else.
type Pingreq struct{}

func (*Pingreq) Type() Type { return PINGREQ }

func (*Pingreq) Unpack(h FixedHeader, body []byte, _ byte) error {
	return (&reader{b: body}).done("PINGREQ")
}

func (*Pingreq) AppendTo(dst []byte) ([]byte, error) { return append(dst, byte(PINGREQ)<<4, 0), nil }
