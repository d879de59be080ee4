package auth

import (
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
)

func loadExampleACL(t *testing.T) *ACL {
	t.Helper()
	a, err := LoadACLFile(filepath.Join("testdata", "acl.conf"))
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func mustParseACL(t *testing.T, text string) *ACL {
	t.Helper()
	a, err := ParseACL(strings.NewReader(text), "acl.conf")
	if err != nil {
		t.Fatal(err)
	}
	return a
}

type allowCase struct {
	client, user, topic string
	access              Access
	want                bool
}

func runAllowed(t *testing.T, a *ACL, cases []allowCase) {
	t.Helper()
	for _, c := range cases {
		if got := a.Allowed(c.client, c.user, c.topic, c.access); got != c.want {
			t.Errorf("Allowed(client=%q, user=%q, %q, %v) = %v, want %v", c.client, c.user, c.topic, c.access, got, c.want)
		}
	}
}

func TestAllowedExampleFile(t *testing.T) {
	a := loadExampleACL(t)
	t.Run("anonymous", func(t *testing.T) {
		runAllowed(t, a, []allowCase{
			{"anon1", "", "public/news", Read, true},
			{"anon1", "", "public/news", Write, false},
			{"anon1", "", "public", Read, true}, // "public/#" matches its parent
			{"anon1", "", "public/chat", Write, true},
			{"anon1", "", "public/chat", ReadWrite, true},        // access word omitted: readwrite
			{"anon1", "", "public/chat/moderators", Read, false}, // deny beats public/#
			{"anon1", "", "public/suggestions", Write, true},     // line had surrounding spaces
			{"anon1", "", "sensors/a/temp", Read, false},
			{"anon1", "", "alerts", Read, false},
			{"anon1", "", "$SYS/broker/uptime", Read, false},
		})
	})
	t.Run("user sections", func(t *testing.T) {
		runAllowed(t, a, []allowCase{
			{"a1", "alice", "sensors/kitchen/temp", ReadWrite, true},
			{"a1", "alice", "sensors", Read, true},
			{"a1", "alice", "sensors/private", Write, false},
			{"a1", "alice", "sensors/private/diary", Read, false},
			{"a1", "alice", "cmd/lamp/set", Write, true},
			{"a1", "alice", "cmd/lamp/set", Read, false},
			{"a1", "alice", "cmd/lamp/set/now", Write, false},
			{"a1", "alice", "cmd/set", Write, false},
			{"a1", "alice", "$SYS/broker/uptime", Read, true},
			{"a1", "alice", "$SYS/other", Read, false},
			{"a1", "alice", "alerts", Read, true}, // second "user alice" section
			{"a1", "alice", "alerts", Write, false},
			{"a1", "alice", "public/news", Read, false}, // anonymous rules are not inherited
			{"b1", "bob", "sensors/hall/temp", Read, true},
			{"b1", "bob", "sensors/hall/temp", Write, false},
			{"b1", "bob", "sensors/hall/humidity", Read, false},
			{"b1", "bob", "sensors/hall/x/temp", Read, false},
			{"b1", "bob", "reports with spaces/q1", Read, true},
			{"b1", "Bob", "sensors/hall/temp", Read, false}, // usernames are case-sensitive
			{"s1", "svc account", "svc/jobs", ReadWrite, true},
			{"c1", "carol", "sensors/hall/temp", Read, false}, // no section: patterns only
		})
	})
	t.Run("patterns", func(t *testing.T) {
		runAllowed(t, a, []allowCase{
			{"a1", "alice", "devices/a1/telemetry", Write, true},
			{"a1", "alice", "devices/a1", Read, true},
			{"a1", "alice", "devices/a1/firmware", Write, false}, // deny pattern
			{"a1", "alice", "devices/a2/telemetry", Write, false},
			{"c1", "carol", "users/carol/inbox/42", Read, true},
			{"c1", "carol", "users/carol/inbox/42", Write, false},
			{"c1", "carol", "users/carol/outbox", Write, true},
			{"c1", "carol", "users/carol/outbox", Read, false},
			{"c1", "carol", "users/alice/inbox/42", Read, false},
			{"c1", "carol", "shared/carol-c1", Read, true}, // %u and %c inside one level
			{"c1", "carol", "shared/carol-c2", Read, false},
			{"s1", "svc account", "users/svc account/inbox/1", Read, true},
			{"dev7", "", "devices/dev7/telemetry", Write, true},
			{"dev7", "", "devices/dev7/firmware", Read, false},
			{"dev7", "", "shared/-dev7", Read, false}, // %u never matches without a username
		})
	})
	t.Run("unsafe substitution", func(t *testing.T) {
		runAllowed(t, a, []allowCase{
			// A '/' in the client ID would reach into client "a"'s subtree.
			{"a/b", "", "devices/a/b/telemetry", Write, false},
			{"a/b", "alice", "devices/a/b/telemetry", Read, false},
			// Only the pattern grants are lost; other rules still apply, as in Mosquitto.
			{"a/b", "", "public/news", Read, true},
			{"a/b", "alice", "sensors/kitchen/temp", Read, true},
			{"a/b", "alice", "users/alice/inbox/1", Read, true},
			{"#", "carol", "users/carol/inbox/1", Read, true},
			{"#", "carol", "shared/carol-#", Read, false},
			{"", "carol", "shared/carol-", Read, false}, // an empty client ID grants nothing either
			// An unsafe username only disables the %u patterns.
			{"c9", "carol/x", "users/carol/x/inbox/1", Read, false},
			{"c9", "carol/x", "users/carol/outbox", Write, false},
			{"c9", "carol/x", "devices/c9/telemetry", Write, true},
			{"c9", "carol+", "devices/c9/telemetry", Write, true},
		})
	})
	t.Run("bad arguments", func(t *testing.T) {
		runAllowed(t, a, []allowCase{
			{"a1", "alice", "sensors/kitchen/temp", 0, false},
			{"a1", "alice", "sensors/kitchen/temp", 4, false},
			{"a1", "alice", "sensors/kitchen/temp", -1, false},
			{"a1", "alice", "sensors/+/temp", Read, false}, // not a topic name
			{"a1", "alice", "sensors/#", Read, false},
			{"a1", "alice", "", Read, false},
		})
	})
}

func TestAllowedSmallFiles(t *testing.T) {
	tests := []struct {
		name  string
		acl   string
		cases []allowCase
	}{
		{"wildcard rule skips $ topics [MQTT-4.7.2-1]", "topic read #\ntopic read +/status", []allowCase{
			{"c", "", "a/b", Read, true},
			{"c", "", "$SYS/uptime", Read, false},
			{"c", "", "$SYS/status", Read, false},
			{"c", "", "a/status", Read, true},
		}},
		{"$ rule", "topic read $SYS/#", []allowCase{
			{"c", "", "$SYS/broker/load", Read, true},
			{"c", "", "SYS/broker/load", Read, false},
		}},
		{"single-level wildcard", "topic write a/+/c", []allowCase{
			{"c", "", "a/b/c", Write, true},
			{"c", "", "a//c", Write, true},
			{"c", "", "a/c", Write, false},
			{"c", "", "a/b/b/c", Write, false},
		}},
		{"deny before allow", "topic deny a/#\ntopic a/b", []allowCase{
			{"c", "", "a/b", Read, false},
			{"c", "", "a/b", Write, false},
		}},
		{"deny after allow", "topic a/b\ntopic deny a/#", []allowCase{
			{"c", "", "a/b", Read, false},
		}},
		{"deny only vetoes what it matches", "topic a/#\ntopic deny a/secret", []allowCase{
			{"c", "", "a/public", ReadWrite, true},
			{"c", "", "a/secret", Read, false},
			{"c", "", "a/secret/x", Read, true},
		}},
		{"deny pattern beats user grant (Mosquitto 2.0 lets the grant win)", "user u\ntopic a/#\npattern deny a/%c", []allowCase{
			{"x", "u", "a/x", Read, false},
			{"x", "u", "a/y", Read, true},
		}},
		{"deny patterns are substituted even with unsafe values", "topic read d/#\npattern deny d/%c/fw", []allowCase{
			{"x", "", "d/x/fw", Read, false},
			{"x", "", "d/y/fw", Read, true},
			{"+", "", "d/y/fw", Read, false}, // "+" only widens the deny
			{"a/b", "", "d/a/b/fw", Read, false},
			{"a/b", "", "d/a/fw", Read, true},
			{"", "", "d//fw", Read, false},
		}},
		{"read and write rules combine", "topic read t\ntopic write t", []allowCase{
			{"c", "", "t", ReadWrite, true},
		}},
		{"access word alone is a topic", "topic read", []allowCase{
			{"c", "", "read", ReadWrite, true},
		}},
		{"pattern without %c or %u applies to everyone", "pattern read news/#", []allowCase{
			{"", "", "news/today", Read, true},
			{"a/b", "x/y", "news/today", Read, true},
		}},
		{"%c repeated", "pattern write %c/%c", []allowCase{
			{"d", "", "d/d", Write, true},
			{"d", "", "d/e", Write, false},
		}},
		{"literal percent", "pattern read a/%x/%%c", []allowCase{
			{"d", "", "a/%x/%d", Read, true},
		}},
		{"empty ACL denies everything", "# nothing\n", []allowCase{
			{"c", "", "a", Read, false},
			{"c", "u", "a", Write, false},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runAllowed(t, mustParseACL(t, tt.acl), tt.cases)
		})
	}
}

func TestNilACLAllowsEverything(t *testing.T) {
	var a *ACL
	if !a.Allowed("c", "u", "a/b", ReadWrite) || !a.CanSubscribe("c", "u", "#") {
		t.Fatal("nil *ACL must allow everything, as Mosquitto without acl_file")
	}
}

func TestCanSubscribe(t *testing.T) {
	a := loadExampleACL(t)
	tests := []struct {
		client, user, filter string
		want                 bool
	}{
		{"anon1", "", "public/#", true}, // readable in part; delivery filters the denied topic
		{"anon1", "", "public/+", true},
		{"anon1", "", "public/news", true},
		{"anon1", "", "public/chat/#", true},
		{"anon1", "", "public/chat/moderators", false},
		{"anon1", "", "public/news/#", true},
		{"anon1", "", "#", true}, // public/... is readable
		{"anon1", "", "$SYS/#", false},

		{"a1", "alice", "sensors/kitchen/#", true},
		{"a1", "alice", "sensors/kitchen/+", true},
		{"a1", "alice", "sensors/#", true},          // sensors/private/... filtered on delivery
		{"a1", "alice", "sensors/private/#", false}, // wholly denied
		{"a1", "alice", "sensors/+/temp", true},
		{"a1", "alice", "sensors/private/x", false},
		{"a1", "alice", "cmd/+/set", false}, // write-only rule
		{"a1", "alice", "$SYS/broker/+", true},
		{"a1", "alice", "$SYS/broker/#", true},
		{"a1", "alice", "$SYS/#", true},          // $SYS/broker/... is readable
		{"a1", "alice", "+/broker/uptime", true}, // sensors/broker/uptime is readable
		{"a1", "alice", "alerts", true},
		{"a1", "alice", "alerts/#", true}, // "#" matches the parent "alerts"
		{"a1", "alice", "alerts/+", false},
		{"a1", "alice", "devices/a1/#", true},
		{"a1", "alice", "devices/a1/firmware", false}, // denied pattern
		{"a1", "alice", "devices/a1/+", true},
		{"a1", "alice", "devices/a1/telemetry/#", true},
		{"a1", "alice", "users/alice/inbox/#", true},
		{"a1", "alice", "users/+/inbox/#", true},
		{"a1", "alice", "users/+/outbox", false},     // no read rule overlaps
		{"a1", "alice", "users/alice/outbox", false}, // write-only pattern

		{"b1", "bob", "sensors/+/temp", true},
		{"b1", "bob", "sensors/hall/temp", true},
		{"b1", "bob", "sensors/#", true},
		{"b1", "bob", "other/#", false},
		{"b1", "bob", "sensors/+/+", true},
		{"b1", "bob", "sensors/+/temp/#", true},
		{"b1", "bob", "reports with spaces/#", true},

		{"a/b", "", "devices/a/b/#", false},
		{"a1", "alice", "a/#/b", false}, // invalid filters are refused
		{"a1", "alice", "", false},
		{"a1", "alice", "sensors/kitchen+", false},
	}
	for _, tt := range tests {
		if got := a.CanSubscribe(tt.client, tt.user, tt.filter); got != tt.want {
			t.Errorf("CanSubscribe(client=%q, user=%q, %q) = %v, want %v", tt.client, tt.user, tt.filter, got, tt.want)
		}
	}
}

// For a filter without wildcards, CanSubscribe must agree with Allowed(Read).
func TestCanSubscribeAgreesOnTopicNames(t *testing.T) {
	a := loadExampleACL(t)
	clients := [][2]string{{"anon1", ""}, {"a1", "alice"}, {"b1", "bob"}, {"c1", "carol"}, {"a/b", "alice"}, {"c9", "carol/x"}}
	topics := []string{
		"public", "public/news", "public/chat/moderators", "sensors", "sensors/private/x", "sensors/hall/temp",
		"$SYS/broker/uptime", "$SYS", "alerts", "devices/a1/firmware", "devices/a1/x", "users/carol/inbox/1",
		"shared/carol-c1", "reports with spaces/q", "a//b", "/", "x",
	}
	for _, c := range clients {
		for _, topic := range topics {
			read := a.Allowed(c[0], c[1], topic, Read)
			if sub := a.CanSubscribe(c[0], c[1], topic); sub != read {
				t.Errorf("client=%q user=%q topic=%q: CanSubscribe=%v, Allowed(Read)=%v", c[0], c[1], topic, sub, read)
			}
		}
	}
}

func TestCoversAndOverlaps(t *testing.T) {
	tests := []struct {
		rule, filter     string
		covers, overlaps bool
	}{
		{"a/b", "a/b", true, true},
		{"a/b", "a/c", false, false},
		{"a/+", "a/b", true, true},
		{"a/+", "a/+", true, true},
		{"a/+", "a/#", false, true},
		{"a/+", "a", false, false},
		{"a/+", "a/b/c", false, false},
		{"a/#", "a", true, true},
		{"a/#", "a/#", true, true},
		{"a/#", "a/+/c/#", true, true},
		{"a", "a/#", false, true},
		{"a/b", "a/+", false, true},
		{"a/b/c", "a/+/#", false, true},
		{"#", "#", true, true},
		{"#", "a/b", true, true},
		{"#", "$SYS/x", false, false},
		{"+/x", "$SYS/x", false, false},
		{"$SYS/#", "+/x", false, false},
		{"$SYS/#", "$SYS/+", true, true},
		{"+", "$SYS", false, false},
		{"+/+", "+/#", false, true},
		{"a//b", "a/+/b", false, true},
		{"a/+/b", "a//b", true, true},
		{"+/b", "a/+", false, true},
	}
	for _, tt := range tests {
		if got := covers(tt.rule, tt.filter); got != tt.covers {
			t.Errorf("covers(%q, %q) = %v, want %v", tt.rule, tt.filter, got, tt.covers)
		}
		if got := overlaps(tt.rule, tt.filter); got != tt.overlaps {
			t.Errorf("overlaps(%q, %q) = %v, want %v", tt.rule, tt.filter, got, tt.overlaps)
		}
		if got := overlaps(tt.filter, tt.rule); got != tt.overlaps {
			t.Errorf("overlaps(%q, %q) = %v, want %v (symmetry)", tt.filter, tt.rule, got, tt.overlaps)
		}
	}
}

func TestParseACLAccepts(t *testing.T) {
	tests := []struct {
		name, acl string
		cases     []allowCase
	}{
		{"CRLF and indented comments", "  # c\r\n\r\ntopic read a\r\n", []allowCase{{"c", "", "a", Read, true}}},
		{"extra spaces", "topic    read     a b  \n", []allowCase{
			{"c", "", "a b", Read, true},
			{"c", "", "a b", Write, false},
		}},
		{"username with spaces", "user   first last  \ntopic x", []allowCase{
			{"c", "first last", "x", ReadWrite, true},
			{"c", "first", "x", Read, false},
		}},
		{"unicode topic", "topic read café/ünï", []allowCase{{"c", "", "café/ünï", Read, true}}},
		{"no trailing newline", "topic write t", []allowCase{{"c", "", "t", Write, true}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			runAllowed(t, mustParseACL(t, tt.acl), tt.cases)
		})
	}
}

func TestParseACLErrors(t *testing.T) {
	tests := []struct {
		name, in string
		line     int
		want     string
	}{
		{"missing topic", "topic", 1, `missing topic after "topic"`},
		{"missing pattern topic", "# c\n\npattern   \n", 3, `missing topic after "pattern"`},
		{"unknown access", "topic bogus a/b", 1, `unknown access "bogus"`},
		{"access is case-sensitive", "topic READ a/b", 1, `unknown access "READ"`},
		{"# not last", "topic read a/#/b", 1, `invalid topic filter "a/#/b"`},
		{"# inside a level", "topic read a/b#", 1, "invalid topic filter"},
		{"+ inside a level", "pattern sport+", 1, "invalid topic filter"},
		{"topic too long", "topic read " + strings.Repeat("t", 65536), 1, "invalid topic filter"},
		{"missing username", "topic a\nuser\n", 2, "missing username"},
		{"blank username", "user    \t", 1, "missing username"},
		{"unknown keyword", "users alice", 1, `unknown keyword "users"`},
		{"keyword is case-sensitive", "Topic read x", 1, `unknown keyword "Topic"`},
		{"tabs do not separate words", "topic\tread\tx", 1, "unknown keyword"},
		{"later line", "# acl\nuser a\ntopic read a/#\n\ntopic read a/+b\n", 5, "invalid topic filter"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseACL(strings.NewReader(tt.in), "acl.conf")
			if err == nil {
				t.Fatal("no error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) || pe.Line != tt.line || pe.File != "acl.conf" {
				t.Fatalf("error %#v, want a *ParseError for acl.conf line %d", err, tt.line)
			}
			prefix := fmt.Sprintf("acl.conf:%d: ", tt.line)
			if !strings.HasPrefix(err.Error(), prefix) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q, want prefix %q and %q", err, prefix, tt.want)
			}
		})
	}
}

func TestLoadACLFileMissing(t *testing.T) {
	path := filepath.Join(t.TempDir(), "absent.acl")
	_, err := LoadACLFile(path)
	if err == nil || !strings.Contains(err.Error(), path) {
		t.Fatalf("error %v should name %s", err, path)
	}
}

func TestAccessString(t *testing.T) {
	for a, want := range map[Access]string{deny: "deny", Read: "read", Write: "write", ReadWrite: "readwrite", 9: "Access(9)"} {
		if got := a.String(); got != want {
			t.Errorf("Access(%d).String() = %q, want %q", int(a), got, want)
		}
	}
}
