package packets

// CONNACK return codes (§3.2.2.3).
const (
	Accepted                   byte = 0
	RefusedProtocolVersion     byte = 1
	RefusedIdentifierRejected  byte = 2
	RefusedServerUnavailable   byte = 3
	RefusedBadUsernamePassword byte = 4
	RefusedNotAuthorized       byte = 5
)

// Connack is the CONNACK packet (§3.2).
type Connack struct {
	SessionPresent bool
	ReturnCode     byte
}

func (*Connack) Type() Type { return CONNACK }

func (c *Connack) Unpack(h FixedHeader, body []byte, _ byte) error {
	r := reader{b: body}
	flags, err := r.byte1("acknowledge flags")
	if err != nil {
		return err
	}
	if flags&0xfe != 0 {
		return ErrConnackReserved
	}
	c.SessionPresent = flags == 1
	if c.ReturnCode, err = r.byte1("return code"); err != nil {
		return err
	}
	if c.ReturnCode > RefusedNotAuthorized {
		return violationf(ErrConnackCode, "code %d", c.ReturnCode)
	}
	if c.SessionPresent && c.ReturnCode != Accepted {
		return ErrSessionPresentRefused // [MQTT-3.2.2-4]
	}
	return r.done("CONNACK")
}

func (c *Connack) AppendTo(dst []byte) ([]byte, error) {
	var f byte
	if c.SessionPresent {
		f = 1
	}
	return append(dst, byte(CONNACK)<<4, 2, f, c.ReturnCode), nil
}
