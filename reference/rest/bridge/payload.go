package bridge

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// ErrMalformed is wrapped by every error ParsePayload and SensorFromTopic
// return: the message can never be stored, so it is acknowledged and dropped.
var ErrMalformed = errors.New("malformed reading")

// MaxPayload is the largest payload the bridge reads. A reading is a few
// dozen bytes; anything near this size is not one.
const MaxPayload = 64 << 10

// clockSkew is how far in the future an "HH:MM:SS" time may be (device clock
// ahead of ours) before it is taken to mean yesterday.
const clockSkew = time.Minute

// Measurement is one reading decoded from an MQTT payload.
type Measurement struct {
	Value float64
	Unit  string    // "C", "F" or "" (not given)
	Time  time.Time // when it was measured; the receive time if not given
	// TimeGiven reports whether the payload carried the time (false: Time is
	// the receive time).
	TimeGiven bool
}

// Keys accepted for each field: the seed's pub/sub example
// ({"Sensor": 1, "C_F": "C", "Value": 86, "Time": "22:31:11"}) and a
// lowercase spelling ({"sensor", "unit", "value", "time"}). Other keys are
// ignored, so devices may add fields.
var (
	valueKeys = []string{"Value", "value"}
	unitKeys  = []string{"C_F", "unit"}
	timeKeys  = []string{"Time", "time"}
	// "Sensor"/"sensor" is accepted and ignored: the topic names the sensor
	// (the seed's Sensor is a device number, not a REST name).
)

// ParsePayload decodes an MQTT reading. now is the receive time: it stands
// in for a missing time and anchors a clock-only "HH:MM:SS" time.
//
// Accepted shapes:
//   - a JSON object with a value ("Value" or "value": a number, or a string
//     holding a JSON number), an optional unit ("C_F" or "unit": "C" or "F",
//     either case, stored upper case; null or absent means not given) and an
//     optional time ("Time" or "time": RFC 3339, or "HH:MM:SS" meaning that
//     clock time today in UTC — yesterday if that is more than a minute
//     ahead of now; null or absent means now);
//   - a bare JSON number, such as the text `21.5` (no unit, time now).
//
// Every error wraps ErrMalformed.
func ParsePayload(payload []byte, now time.Time) (Measurement, error) {
	if len(payload) > MaxPayload {
		return Measurement{}, malformed("payload is %d bytes (limit %d)", len(payload), MaxPayload)
	}
	text := bytes.TrimSpace(payload)
	if len(text) == 0 {
		return Measurement{}, malformed("empty payload")
	}
	if text[0] != '{' {
		v, err := parseNumber(string(text))
		if err != nil {
			return Measurement{}, malformed("payload is neither a JSON object nor a number: %v", err)
		}
		return Measurement{Value: v, Time: now}, nil
	}

	var obj map[string]json.RawMessage
	if err := json.Unmarshal(text, &obj); err != nil {
		return Measurement{}, malformed("bad JSON: %v", err)
	}
	m := Measurement{Time: now}

	raw, key, err := lookup(obj, valueKeys)
	if err != nil {
		return Measurement{}, err
	}
	if raw == nil || isNull(raw) {
		return Measurement{}, malformed("no value (want %q or %q)", valueKeys[0], valueKeys[1])
	}
	if m.Value, err = decodeValue(raw); err != nil {
		return Measurement{}, malformed("%s: %v", key, err)
	}

	raw, key, err = lookup(obj, unitKeys)
	if err != nil {
		return Measurement{}, err
	}
	if raw != nil && !isNull(raw) {
		var u string
		if err := json.Unmarshal(raw, &u); err != nil {
			return Measurement{}, malformed("%s must be a string \"C\" or \"F\"", key)
		}
		switch u {
		case "C", "c":
			m.Unit = "C"
		case "F", "f":
			m.Unit = "F"
		default:
			return Measurement{}, malformed("%s is %q (want \"C\" or \"F\")", key, truncate(u))
		}
	}

	raw, key, err = lookup(obj, timeKeys)
	if err != nil {
		return Measurement{}, err
	}
	if raw != nil && !isNull(raw) {
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return Measurement{}, malformed("%s must be a string (RFC 3339 or HH:MM:SS)", key)
		}
		t, err := parseTime(s, now)
		if err != nil {
			return Measurement{}, malformed("%s: %v", key, err)
		}
		m.Time, m.TimeGiven = t, true
	}
	return m, nil
}

// lookup returns the value of whichever of keys is present. Two spellings of
// the same field in one payload are ambiguous and rejected.
func lookup(obj map[string]json.RawMessage, keys []string) (json.RawMessage, string, error) {
	var raw json.RawMessage
	found := ""
	for _, k := range keys {
		v, ok := obj[k]
		if !ok {
			continue
		}
		if found != "" {
			return nil, "", malformed("payload has both %q and %q", found, k)
		}
		raw, found = v, k
	}
	return raw, found, nil
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// decodeValue reads a JSON number, or a JSON string holding one ("86").
func decodeValue(raw json.RawMessage) (float64, error) {
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, err
		}
		return parseNumber(strings.TrimSpace(s))
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return parseNumber(string(raw))
	default:
		return 0, errors.New("want a number or a numeric string")
	}
}

// parseNumber accepts exactly JSON's number syntax, so "NaN", "Inf", "0x10",
// "1_000" and "+1" are all refused, and the result is always finite.
func parseNumber(s string) (float64, error) {
	if s == "" || (s[0] != '-' && (s[0] < '0' || s[0] > '9')) {
		return 0, fmt.Errorf("%q is not a number", truncate(s))
	}
	var v float64
	if err := json.Unmarshal([]byte(s), &v); err != nil {
		return 0, fmt.Errorf("%q is not a finite number", truncate(s))
	}
	if math.IsNaN(v) || math.IsInf(v, 0) { // unreachable via JSON; kept as a guard
		return 0, fmt.Errorf("%q is not a finite number", truncate(s))
	}
	return v, nil
}

// parseTime reads RFC 3339 (fractional seconds allowed) or a clock time
// "HH:MM:SS" as in the seed (Python's time.strftime("%H:%M:%S")).
func parseTime(s string, now time.Time) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	c, err := time.Parse(time.TimeOnly, s)
	if err != nil || len(s) != len(time.TimeOnly) {
		return time.Time{}, fmt.Errorf("%q is neither RFC 3339 nor HH:MM:SS", truncate(s))
	}
	now = now.UTC()
	t := time.Date(now.Year(), now.Month(), now.Day(), c.Hour(), c.Minute(), c.Second(), 0, time.UTC)
	if t.Sub(now) > clockSkew {
		t = t.AddDate(0, 0, -1)
	}
	return t, nil
}

// truncate keeps error messages (and so logs) short whatever a device sends.
func truncate(s string) string {
	const max = 40
	if len(s) <= max {
		return s
	}
	return s[:max] + "…"
}

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformed, fmt.Sprintf(format, args...))
}

// MaxNameLen is the longest sensor name, as on the REST API.
const MaxNameLen = 64

// ValidName reports whether s is a sensor name the REST API accepts:
// 1 to 64 characters from [A-Za-z0-9._-].
func ValidName(s string) bool {
	if len(s) == 0 || len(s) > MaxNameLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z', c >= '0' && c <= '9', c == '.', c == '_', c == '-':
		default:
			return false
		}
	}
	return true
}

// Topic is the filter the bridge subscribes to; the middle level is the
// sensor's name.
const Topic = "sensors/+/value"

// SensorFromTopic returns the sensor name of a topic "sensors/NAME/value".
// Errors wrap ErrMalformed.
func SensorFromTopic(topic string) (string, error) {
	parts := strings.Split(topic, "/")
	if len(parts) != 3 || parts[0] != "sensors" || parts[2] != "value" {
		return "", malformed("topic %q is not sensors/NAME/value", truncate(topic))
	}
	if !ValidName(parts[1]) {
		return "", malformed("sensor name %q in topic is not 1-%d characters of [A-Za-z0-9._-]", truncate(parts[1]), MaxNameLen)
	}
	return parts[1], nil
}
