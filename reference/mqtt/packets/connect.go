package packets

// Connect is the CONNECT packet (§3.1).
type Connect struct {
	ProtocolName  string
	ProtocolLevel byte
	CleanSession  bool
	KeepAlive     uint16 // seconds
	ClientID      string
	WillFlag      bool
	WillQoS       byte
	WillRetain    bool
	WillTopic     string
	WillMessage   []byte
	UsernameFlag  bool
	PasswordFlag  bool
	Username      string
	Password      []byte
	ReservedFlag  bool // bit 0 of the connect flags; must be zero [MQTT-3.1.2-3]
}

func (*Connect) Type() Type { return CONNECT }

// Unpack decodes a CONNECT body. An unsupported protocol level returns
// ErrProtocolLevel with ProtocolName and ProtocolLevel filled in, so the
// server can answer CONNACK 0x01 [MQTT-3.1.2-2].
func (c *Connect) Unpack(h FixedHeader, body []byte, _ byte) error {
	r := reader{b: body}
	var err error
	if c.ProtocolName, err = r.string("protocol name"); err != nil {
		return err
	}
	if c.ProtocolLevel, err = r.byte1("protocol level"); err != nil {
		return err
	}
	switch {
	case c.ProtocolName == "MQTT" && c.ProtocolLevel == Version311:
	case c.ProtocolName == "MQTT" || (c.ProtocolName == "MQIsdp" && c.ProtocolLevel == Version31):
		return violationf(ErrProtocolLevel, "%s level %d", c.ProtocolName, c.ProtocolLevel)
	default:
		return violationf(ErrProtocolName, "%q", c.ProtocolName) // [MQTT-3.1.2-1]
	}
	flags, err := r.byte1("connect flags")
	if err != nil {
		return err
	}
	c.ReservedFlag = flags&0x01 != 0
	c.CleanSession = flags&0x02 != 0
	c.WillFlag = flags&0x04 != 0
	c.WillQoS = flags >> 3 & 0x03
	c.WillRetain = flags&0x20 != 0
	c.PasswordFlag = flags&0x40 != 0
	c.UsernameFlag = flags&0x80 != 0
	switch {
	case c.ReservedFlag:
		return ErrConnectReserved // [MQTT-3.1.2-3]
	case !c.WillFlag && (c.WillQoS != 0 || c.WillRetain):
		return ErrWillFlags // [MQTT-3.1.2-11] [MQTT-3.1.2-13] [MQTT-3.1.2-15]
	case c.WillQoS == 3:
		return ErrWillQoS // [MQTT-3.1.2-14]
	case c.PasswordFlag && !c.UsernameFlag:
		return ErrPasswordWithoutUser // [MQTT-3.1.2-22]
	}
	if c.KeepAlive, err = r.uint16("keep alive"); err != nil {
		return err
	}
	// Payload order is fixed [MQTT-3.1.3-1].
	if c.ClientID, err = r.string("client identifier"); err != nil {
		return err
	}
	if c.WillFlag {
		if c.WillTopic, err = r.string("will topic"); err != nil {
			return err
		}
		if err = ValidateTopicName(c.WillTopic); err != nil {
			return err
		}
		if c.WillMessage, err = r.binary("will message"); err != nil {
			return err
		}
	}
	if c.UsernameFlag {
		if c.Username, err = r.string("user name"); err != nil {
			return err
		}
	}
	if c.PasswordFlag {
		if c.Password, err = r.binary("password"); err != nil {
			return err
		}
	}
	return r.done("CONNECT payload")
}

func (c *Connect) flags() byte {
	var f byte
	if c.ReservedFlag {
		f |= 0x01
	}
	if c.CleanSession {
		f |= 0x02
	}
	if c.WillFlag {
		f |= 0x04 | c.WillQoS<<3
		if c.WillRetain {
			f |= 0x20
		}
	}
	if c.PasswordFlag {
		f |= 0x40
	}
	if c.UsernameFlag {
		f |= 0x80
	}
	return f
}

// AppendTo encodes the packet. Fields whose flag is unset are not written, so
// a Connect decoded from the wire encodes back to the same bytes.
func (c *Connect) AppendTo(dst []byte) ([]byte, error) {
	name := c.ProtocolName
	if name == "" {
		name = "MQTT"
	}
	level := c.ProtocolLevel
	if level == 0 {
		level = Version311
	}
	n := stringLen(name) + 1 + 1 + 2 + stringLen(c.ClientID)
	if c.WillFlag {
		n += stringLen(c.WillTopic) + 2 + len(c.WillMessage)
	}
	if c.UsernameFlag {
		n += stringLen(c.Username)
	}
	if c.PasswordFlag {
		n += 2 + len(c.Password)
	}
	dst, err := appendHeader(dst, CONNECT, 0, n)
	if err != nil {
		return dst, err
	}
	if dst, err = appendString(dst, name); err != nil {
		return dst, err
	}
	dst = append(dst, level, c.flags())
	dst = appendUint16(dst, c.KeepAlive)
	if dst, err = appendString(dst, c.ClientID); err != nil {
		return dst, err
	}
	if c.WillFlag {
		if dst, err = appendString(dst, c.WillTopic); err != nil {
			return dst, err
		}
		if dst, err = appendBinary(dst, c.WillMessage); err != nil {
			return dst, err
		}
	}
	if c.UsernameFlag {
		if dst, err = appendString(dst, c.Username); err != nil {
			return dst, err
		}
	}
	if c.PasswordFlag {
		dst, err = appendBinary(dst, c.Password)
	}
	return dst, err
}
