package packets

import (
	"errors"
	"fmt"
)

// Violation is a decoding or protocol error tied to the normative statement
// (or, where the standard has none, the section) it breaks. Errors returned by
// the codec wrap one of the sentinels below, so callers can test with
// errors.Is and recover the rule with RuleOf.
type Violation struct {
	Rule   string // statement ID such as "MQTT-3.3.1-4", or "§2.2.3" when none exists
	Reason string
}

func (v *Violation) Error() string { return "[" + v.Rule + "] " + v.Reason }

// Is lets errors built from a per-type flag rule still match ErrReservedFlags.
func (v *Violation) Is(target error) bool {
	t, ok := target.(*Violation)
	if !ok {
		return false
	}
	if v == t {
		return true
	}
	return t == ErrReservedFlags && v.Reason == ErrReservedFlags.Reason
}

// RuleOf returns the statement ID or section an error violates, or "".
func RuleOf(err error) string {
	var v *Violation
	if errors.As(err, &v) {
		return v.Rule
	}
	return ""
}

// violationf wraps a sentinel with detail; errors.Is still matches the sentinel.
func violationf(sentinel *Violation, format string, args ...any) error {
	return fmt.Errorf("%w: %s", sentinel, fmt.Sprintf(format, args...))
}

// Sentinels. Each names the statement that a receiver enforces by closing the
// network connection ([MQTT-4.8.0-1]) unless the broker decides otherwise.
var (
	ErrReservedFlags          = &Violation{"MQTT-2.2.2-2", "invalid fixed-header flags"}
	ErrRemainingLength        = &Violation{"§2.2.3", "malformed remaining length (more than 4 bytes)"}
	ErrShortPacket            = &Violation{"§2.2.3", "packet shorter than its fields require"}
	ErrTrailingBytes          = &Violation{"§2.2.3", "packet longer than its fields require"}
	ErrPacketTooLarge         = &Violation{"§2.2.3", "packet exceeds the maximum size"}
	ErrUnknownType            = &Violation{"§2.2.1", "reserved control packet type"}
	ErrMalformedUTF8          = &Violation{"MQTT-1.5.3-1", "ill-formed UTF-8 string"}
	ErrNullCharacter          = &Violation{"MQTT-1.5.3-2", "string contains U+0000"}
	ErrZeroPacketID           = &Violation{"MQTT-2.3.1-1", "packet identifier 0"}
	ErrProtocolName           = &Violation{"MQTT-3.1.2-1", "unknown protocol name"}
	ErrProtocolLevel          = &Violation{"MQTT-3.1.2-2", "unsupported protocol level"}
	ErrConnectReserved        = &Violation{"MQTT-3.1.2-3", "CONNECT reserved flag is not zero"}
	ErrWillFlags              = &Violation{"MQTT-3.1.2-11", "will QoS/retain set without will flag"}
	ErrWillQoS                = &Violation{"MQTT-3.1.2-14", "will QoS 3"}
	ErrPasswordWithoutUser    = &Violation{"MQTT-3.1.2-22", "password flag set without user name flag"}
	ErrConnackReserved        = &Violation{"§3.2.2.1", "CONNACK reserved flag bits are not zero"}
	ErrConnackCode            = &Violation{"§3.2.2.3", "CONNACK return code out of range"}
	ErrSessionPresentRefused  = &Violation{"MQTT-3.2.2-4", "session present set with a non-zero return code"}
	ErrPublishDupQoS0         = &Violation{"MQTT-3.3.1-2", "DUP set on a QoS 0 PUBLISH"}
	ErrPublishQoS3            = &Violation{"MQTT-3.3.1-4", "PUBLISH QoS 3"}
	ErrTopicWildcard          = &Violation{"MQTT-3.3.2-2", "wildcard in a PUBLISH topic name"}
	ErrTopicEmpty             = &Violation{"MQTT-4.7.3-1", "empty topic name or filter"}
	ErrFilterMultiLevel       = &Violation{"MQTT-4.7.1-2", "'#' is not alone in the last level"}
	ErrFilterSingleLevel      = &Violation{"MQTT-4.7.1-3", "'+' does not fill a whole level"}
	ErrSubscribeEmpty         = &Violation{"MQTT-3.8.3-3", "SUBSCRIBE with no topic filter"}
	ErrSubscribeOptions       = &Violation{"MQTT-3.8.3-4", "SUBSCRIBE requested QoS reserved bits or QoS 3"}
	ErrSubackCode             = &Violation{"MQTT-3.9.3-2", "SUBACK return code not 0x00, 0x01, 0x02 or 0x80"}
	ErrUnsubscribeEmpty       = &Violation{"MQTT-3.10.3-2", "UNSUBSCRIBE with no topic filter"}
	ErrStringTooLong          = &Violation{"MQTT-4.7.3-3", "string longer than 65535 bytes"}
	ErrRemainingLengthTooLong = &Violation{"§2.2.3", "remaining length over 268,435,455"}
)
