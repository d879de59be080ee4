package capture

import (
	"errors"
	"fmt"
)

// mqttTypeNames are the MQTT control packet types (MQTT 3.1.1 §2.2.1,
// MQTT 5.0 §2.1.2; AUTH is 5.0 only), by the high nibble of byte 1.
var mqttTypeNames = [16]string{
	0:  "", // reserved
	1:  "CONNECT",
	2:  "CONNACK",
	3:  "PUBLISH",
	4:  "PUBACK",
	5:  "PUBREC",
	6:  "PUBREL",
	7:  "PUBCOMP",
	8:  "SUBSCRIBE",
	9:  "SUBACK",
	10: "UNSUBSCRIBE",
	11: "UNSUBACK",
	12: "PINGREQ",
	13: "PINGRESP",
	14: "DISCONNECT",
	15: "AUTH",
}

// mqttFrame is one control packet found in a byte stream.
type mqttFrame struct {
	Off  int    // offset of the fixed header's first byte
	Size int    // fixed header + remaining length: the whole packet
	Type string // control packet type name
}

var (
	errMQTTReservedType = errors.New("mqtt: reserved control packet type 0")
	errMQTTVarint       = errors.New("mqtt: remaining length longer than 4 bytes")
)

// mqttFrames splits data, a prefix of an MQTT byte stream, into control
// packets by their fixed headers: byte 1 (type and flags), then the
// remaining length, a variable byte integer of 1 to 4 bytes, 7 bits each,
// least significant group first (MQTT 3.1.1 §2.2.3). The last packet may be
// incomplete (its header complete, its body not yet all there): it is
// returned with its full Size, and complete is the end of the last whole
// packet. A header cut by the end of data is not returned. On malformed
// input the frames before it come back with the error.
func mqttFrames(data []byte) (frames []mqttFrame, complete int, err error) {
	off := 0
	for off < len(data) {
		typ := data[off] >> 4
		if typ == 0 {
			return frames, complete, fmt.Errorf("%w at offset %d", errMQTTReservedType, off)
		}
		rem, n, ok, verr := mqttVarint(data[off+1:])
		if verr != nil {
			return frames, complete, fmt.Errorf("%w at offset %d", verr, off)
		}
		if !ok {
			return frames, complete, nil // header cut by the end of data
		}
		size := 1 + n + rem
		frames = append(frames, mqttFrame{Off: off, Size: size, Type: mqttTypeNames[typ]})
		if off+size > len(data) {
			return frames, complete, nil
		}
		off += size
		complete = off
	}
	return frames, complete, nil
}

// mqttVarint decodes a variable byte integer: its value, its length in
// bytes, whether it was complete in b.
func mqttVarint(b []byte) (val, n int, ok bool, err error) {
	mult := 1
	for i := 0; i < 4; i++ {
		if i >= len(b) {
			return 0, 0, false, nil
		}
		val += int(b[i]&0x7f) * mult
		if b[i]&0x80 == 0 {
			return val, i + 1, true, nil
		}
		mult *= 128
	}
	return 0, 0, false, errMQTTVarint
}
