package auth

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// Access is what a rule grants: Read (receive messages), Write (publish),
// or both.
type Access int

const (
	Read      Access = 1
	Write     Access = 2
	ReadWrite        = Read | Write

	deny Access = 0 // a "deny" rule grants nothing and vetoes every grant it matches
)

func (a Access) String() string {
	switch a {
	case deny:
		return "deny"
	case Read:
		return "read"
	case Write:
		return "write"
	case ReadWrite:
		return "readwrite"
	}
	return fmt.Sprintf("Access(%d)", int(a))
}

// ACL is a parsed Mosquitto acl_file.
//
// A nil *ACL stands for "no acl_file": everything is allowed, as in
// Mosquitto without one. A non-nil ACL denies whatever it does not grant.
type ACL struct {
	anonymous []rule            // "topic" lines before the first "user" line
	users     map[string][]rule // "topic" lines after "user <name>"
	patterns  []rule            // "pattern" lines, for every client
}

type rule struct {
	filter  string
	access  Access
	line    int
	usesCID bool // pattern contains %c
	usesUN  bool // pattern contains %u
}

// LoadACLFile reads a Mosquitto acl_file.
func LoadACLFile(path string) (*ACL, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseACL(f, path)
}

// ParseACL parses an acl_file; name is used in errors. The grammar is
// Mosquitto 2.0's:
//
//	topic   [read|write|readwrite|deny] <topic filter>
//	pattern [read|write|readwrite|deny] <topic filter with %c and %u>
//	user    <username>
//
// Words are separated by spaces (not tabs). When the access word is omitted
// the rule is readwrite; so "topic read" is a readwrite rule for the topic
// "read", exactly as in Mosquitto. Everything after the access word is the
// filter, which may contain spaces. A repeated "user" section extends the
// earlier one.
func ParseACL(r io.Reader, name string) (*ACL, error) {
	a := &ACL{users: make(map[string][]rule)}
	user, inUser := "", false
	err := eachLine(r, name, func(n int, line string) error {
		fail := func(format string, args ...any) error {
			return &ParseError{File: name, Line: n, Msg: fmt.Sprintf(format, args...)}
		}
		keyword, rest, _ := strings.Cut(line, " ")
		rest = strings.Trim(rest, asciiSpace)
		switch keyword {
		case "user":
			if rest == "" {
				return fail("missing username after \"user\"")
			}
			user, inUser = rest, true
			return nil
		case "topic", "pattern":
		default:
			return fail("unknown keyword %q (want topic, pattern or user)", keyword)
		}
		if rest == "" {
			return fail("missing topic after %q", keyword)
		}
		ru := rule{filter: rest, access: ReadWrite, line: n}
		if word, filter, ok := strings.Cut(rest, " "); ok {
			switch word {
			case "read":
				ru.access = Read
			case "write":
				ru.access = Write
			case "readwrite":
				ru.access = ReadWrite
			case "deny":
				ru.access = deny
			default:
				return fail("unknown access %q (want read, write, readwrite or deny)", word)
			}
			ru.filter = strings.Trim(filter, asciiSpace)
		}
		if err := packets.ValidateTopicFilter(ru.filter); err != nil || len(ru.filter) > maxUsername {
			return fail("invalid topic filter %q", ru.filter)
		}
		switch {
		case keyword == "pattern":
			ru.usesCID = strings.Contains(ru.filter, "%c")
			ru.usesUN = strings.Contains(ru.filter, "%u")
			a.patterns = append(a.patterns, ru)
		case inUser:
			a.users[user] = append(a.users[user], ru)
		default:
			a.anonymous = append(a.anonymous, ru)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return a, nil
}

// Allowed reports whether the client may publish (Write) to or receive
// (Read) messages on the concrete topic name. Asking for ReadWrite needs
// both. A matching deny rule wins over any grant, wherever either appears
// (Mosquitto 2.0 lets a user-section grant win over a deny pattern; here the
// deny always wins). On a refused PUBLISH the broker acknowledges normally or
// closes the connection [MQTT-3.3.5-2].
//
// username "" is an anonymous client: only the rules before the first
// "user" line and the patterns without %u apply to it.
func (a *ACL) Allowed(clientID, username string, topic string, access Access) bool {
	if a == nil {
		return true
	}
	if access <= 0 || access&^ReadWrite != 0 || packets.ValidateTopicName(topic) != nil {
		return false
	}
	var granted Access
	denied := false
	a.each(clientID, username, func(filter string, acc Access) bool {
		if acc == deny {
			denied = packets.MatchTopic(filter, topic)
			return !denied
		}
		if packets.MatchTopic(filter, topic) {
			granted |= acc
		}
		return true
	})
	return !denied && granted&access == access
}

// CanSubscribe reports whether a subscription to filter is granted (SUBACK
// 0x80 otherwise [MQTT-3.8.4-5]). Like Mosquitto it is permissive and lets
// delivery filter per message with Allowed(…, Read):
//
//   - some applicable rule with Read access must overlap the filter: at least
//     one topic the filter matches is readable;
//   - no applicable deny rule may cover the filter: a subscription whose every
//     topic is denied is refused.
//
// For a filter without wildcards this agrees with Allowed(…, Read).
func (a *ACL) CanSubscribe(clientID, username, filter string) bool {
	if a == nil {
		return true
	}
	if packets.ValidateTopicFilter(filter) != nil {
		return false
	}
	covered, denied := false, false
	a.each(clientID, username, func(f string, acc Access) bool {
		if acc == deny {
			denied = covers(f, filter)
			return !denied
		}
		if acc&Read != 0 && overlaps(f, filter) {
			covered = true
		}
		return true
	})
	return covered && !denied
}

// each calls fn with every rule that applies to the client, with patterns
// substituted, until fn returns false.
//
// A granting pattern is skipped when a value it needs is empty or contains
// '+', '#' or '/': client "a/b" must not reach into client "a"'s subtree
// through "devices/%c/#", nor client "+" into everyone's. (Mosquitto refuses
// pattern grants only for '+' and '#'.) A deny pattern is always substituted:
// whatever the value, the result can only deny more.
func (a *ACL) each(clientID, username string, fn func(filter string, acc Access) bool) {
	rules := a.anonymous
	if username != "" {
		rules = a.users[username]
	}
	for _, ru := range rules {
		if !fn(ru.filter, ru.access) {
			return
		}
	}
	var subst *strings.Replacer
	for _, ru := range a.patterns {
		if ru.usesUN && username == "" {
			continue // Mosquitto skips %u patterns for clients without a username
		}
		if ru.access != deny && ((ru.usesCID && !safeValue(clientID)) || (ru.usesUN && !safeValue(username))) {
			continue
		}
		filter := ru.filter
		if ru.usesCID || ru.usesUN {
			if subst == nil {
				subst = strings.NewReplacer("%c", clientID, "%u", username)
			}
			filter = subst.Replace(filter)
		}
		if !fn(filter, ru.access) {
			return
		}
	}
}

func safeValue(s string) bool { return s != "" && !strings.ContainsAny(s, "+#/") }

// covers reports whether every topic matched by filter is matched by rule.
// Both must be valid filters.
func covers(rule, filter string) bool {
	r, f := strings.Split(rule, "/"), strings.Split(filter, "/")
	// Wildcards at the first level never match '$' topics [MQTT-4.7.2-1].
	if isWildcard(r[0]) && strings.HasPrefix(f[0], "$") {
		return false
	}
	for i := 0; ; i++ {
		switch {
		case i < len(r) && r[i] == "#":
			return true // also matches the parent, so "a/#" covers "a"
		case i == len(r) || i == len(f):
			return len(r) == len(f)
		case f[i] == "#":
			return false // the request reaches deeper than the rule
		case r[i] == "+":
		case f[i] == "+" || f[i] != r[i]:
			return false
		}
	}
}

// overlaps reports whether some topic is matched by both filters.
func overlaps(x, y string) bool {
	a, b := strings.Split(x, "/"), strings.Split(y, "/")
	if (isWildcard(a[0]) && strings.HasPrefix(b[0], "$")) || (isWildcard(b[0]) && strings.HasPrefix(a[0], "$")) {
		return false
	}
	for i := 0; ; i++ {
		switch {
		case (i < len(a) && a[i] == "#") || (i < len(b) && b[i] == "#"):
			return true
		case i == len(a) || i == len(b):
			return len(a) == len(b)
		case a[i] != "+" && b[i] != "+" && a[i] != b[i]:
			return false
		}
	}
}

func isWildcard(level string) bool { return level == "+" || level == "#" }
