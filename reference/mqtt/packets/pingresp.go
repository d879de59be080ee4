package packets

// Pingresp is the PINGRESP packet (§3.13): a fixed header and nothing else.
type Pingresp struct{}

func (*Pingresp) Type() Type { return PINGRESP }

func (*Pingresp) Unpack(h FixedHeader, body []byte, _ byte) error {
	return (&reader{b: body}).done("PINGRESP")
}

func (*Pingresp) AppendTo(dst []byte) ([]byte, error) { return append(dst, byte(PINGRESP)<<4, 0), nil }
