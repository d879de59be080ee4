package packets

// Disconnect is the DISCONNECT packet (§3.14): a fixed header and nothing else.
type Disconnect struct{}

func (*Disconnect) Type() Type { return DISCONNECT }

func (*Disconnect) Unpack(h FixedHeader, body []byte, _ byte) error {
	return (&reader{b: body}).done("DISCONNECT")
}

func (*Disconnect) AppendTo(dst []byte) ([]byte, error) {
	return append(dst, byte(DISCONNECT)<<4, 0), nil
}
