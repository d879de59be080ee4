package packets

// unpackID decodes the body shared by PUBACK, PUBREC, PUBREL, PUBCOMP and
// UNSUBACK: a non-zero packet identifier and nothing else.
func unpackID(body []byte, t Type) (uint16, error) {
	r := reader{b: body}
	id, err := r.packetID()
	if err != nil {
		return 0, err
	}
	return id, r.done(t.String())
}

func appendID(dst []byte, t Type, id uint16) []byte {
	return append(dst, byte(t)<<4|byte(requiredFlags[t]), 2, byte(id>>8), byte(id))
}
