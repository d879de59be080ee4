package packets

import "strings"

// ValidateTopicName checks a PUBLISH topic name: at least one character
// [MQTT-4.7.3-1] and no wildcards [MQTT-3.3.2-2] [MQTT-4.7.1-1].
func ValidateTopicName(t string) error {
	if t == "" {
		return ErrTopicEmpty
	}
	if strings.ContainsAny(t, "+#") {
		return violationf(ErrTopicWildcard, "%q", t)
	}
	return nil
}

// ValidateTopicFilter checks a SUBSCRIBE/UNSUBSCRIBE topic filter (§4.7.1).
func ValidateTopicFilter(f string) error {
	if f == "" {
		return ErrTopicEmpty // [MQTT-4.7.3-1]
	}
	levels := strings.Split(f, "/")
	for i, l := range levels {
		switch {
		case strings.Contains(l, "#"):
			if l != "#" || i != len(levels)-1 {
				return violationf(ErrFilterMultiLevel, "%q", f) // [MQTT-4.7.1-2]
			}
		case strings.Contains(l, "+"):
			if l != "+" {
				return violationf(ErrFilterSingleLevel, "%q", f) // [MQTT-4.7.1-3]
			}
		}
	}
	return nil
}

// MatchTopic reports whether a valid topic name matches a valid filter.
// Characters are compared as-is, with no normalisation [MQTT-4.7.3-4];
// a filter starting with a wildcard does not match a topic starting with
// '$' [MQTT-4.7.2-1].
func MatchTopic(filter, topic string) bool {
	if len(topic) > 0 && topic[0] == '$' && len(filter) > 0 && (filter[0] == '+' || filter[0] == '#') {
		return false
	}
	for {
		fl, frest, fmore := strings.Cut(filter, "/")
		tl, trest, tmore := strings.Cut(topic, "/")
		switch fl {
		case "#":
			return true // matches the parent level too ("a/#" matches "a")
		case "+":
		default:
			if fl != tl {
				return false
			}
		}
		if !fmore || !tmore {
			if fmore && !tmore {
				return frest == "#"
			}
			return fmore == tmore
		}
		filter, topic = frest, trest
	}
}
