package auth

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// More seeds live in testdata/fuzz/<FuzzName>/; the example files are
// added here so the corpus follows them.

func FuzzParsePasswords(f *testing.F) {
	for _, name := range []string{"passwd.txt", "mosquitto_passwd.txt"} {
		if b, err := os.ReadFile(filepath.Join("testdata", name)); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := ParsePasswords(bytes.NewReader(data), "fuzz")
		if err != nil {
			checkParseError(t, err, data)
			return
		}
		if p.Len() != len(p.users) {
			t.Fatalf("Len() = %d with %d users", p.Len(), len(p.users))
		}
		for user, e := range p.users {
			if user == "" || e.salt == nil || len(e.digest) != digestLen {
				t.Fatalf("accepted a bad entry: %q %+v", user, e)
			}
			if e.iterations > 2000 {
				continue // valid, but too slow to hash on every input
			}
			if p.Check(user, nil) {
				t.Fatalf("Check(%q, nil) = true", user)
			}
			p.Check(user, data)
		}
	})
}

func FuzzParseACL(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "acl.conf")); err == nil {
		f.Add(b, "a1", "alice", "sensors/kitchen/temp")
		f.Add(b, "dev7", "", "devices/dev7/firmware")
	}
	f.Fuzz(func(t *testing.T, data []byte, clientID, username, topic string) {
		a, err := ParseACL(bytes.NewReader(data), "fuzz")
		if err != nil {
			checkParseError(t, err, data)
			return
		}
		r := a.Allowed(clientID, username, topic, Read)
		w := a.Allowed(clientID, username, topic, Write)
		if rw := a.Allowed(clientID, username, topic, ReadWrite); rw != (r && w) {
			t.Fatalf("Allowed(ReadWrite) = %v, Read %v, Write %v", rw, r, w)
		}
		sub := a.CanSubscribe(clientID, username, topic)
		// A filter without wildcards is a topic name: both checks must agree.
		if packets.ValidateTopicName(topic) == nil && sub != r {
			t.Fatalf("CanSubscribe(%q) = %v, Allowed(Read) = %v", topic, sub, r)
		}
	})
}

// checkParseError requires a *ParseError for the fuzz input pointing at an
// existing line.
func checkParseError(t *testing.T, err error, data []byte) {
	t.Helper()
	var pe *ParseError
	if !errors.As(err, &pe) {
		t.Fatalf("error %v is not a *ParseError", err)
	}
	if lines := bytes.Count(data, []byte("\n")) + 1; pe.File != "fuzz" || pe.Line < 1 || pe.Line > lines {
		t.Fatalf("error %v points outside the %d-line input", err, lines)
	}
}
