package auth

import (
	"crypto/pbkdf2"
	"crypto/sha512"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
)

// Hash formats written by mosquitto_passwd (2.0: -H sha512 | sha512-pbkdf2).
const (
	hashSHA512 = "6" // $6$<salt>$<SHA-512(password || salt)>
	hashPBKDF2 = "7" // $7$<iterations>$<salt>$<PBKDF2-HMAC-SHA512(password, salt, iterations, 64)>

	// Mosquitto drops entries whose salt is not 12 bytes or whose digest is
	// not 64 bytes; we refuse them so a file never means more here than there.
	saltLen   = 12
	digestLen = sha512.Size

	// maxUsername is the longest string an MQTT packet can carry.
	maxUsername = 65535

	// defaultIterations is mosquitto_passwd's default for $7$.
	defaultIterations = 101
)

// Passwords holds the users of a Mosquitto password file.
type Passwords struct {
	users map[string]*pwEntry
}

type pwEntry struct {
	kind       string // hashSHA512 or hashPBKDF2
	iterations int
	salt       []byte
	digest     []byte
}

// decoy is hashed when the user is unknown, so a failed lookup costs about
// as much as a wrong password and does not reveal which usernames exist.
var decoy = &pwEntry{kind: hashPBKDF2, iterations: defaultIterations, salt: make([]byte, saltLen), digest: make([]byte, digestLen)}

// LoadPasswordFile reads a Mosquitto password file.
func LoadPasswordFile(path string) (*Passwords, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err // *PathError already names the file
	}
	defer f.Close()
	return ParsePasswords(f, path)
}

// ParsePasswords parses "username:hash" lines; name is used in errors.
// Blank lines and lines starting with '#' are ignored; whitespace around the
// username and the hash is trimmed, as Mosquitto does. Plain-text passwords,
// unknown hash types and repeated usernames are errors.
func ParsePasswords(r io.Reader, name string) (*Passwords, error) {
	p := &Passwords{users: make(map[string]*pwEntry)}
	firstLine := make(map[string]int)
	err := eachLine(r, name, func(n int, line string) error {
		fail := func(format string, args ...any) error {
			return &ParseError{File: name, Line: n, Msg: fmt.Sprintf(format, args...)}
		}
		user, hash, ok := strings.Cut(line, ":")
		if !ok {
			return fail("malformed line: want username:hash")
		}
		user = strings.Trim(user, asciiSpace)
		switch {
		case user == "":
			return fail("empty username")
		case len(user) > maxUsername:
			return fail("username longer than %d bytes", maxUsername)
		}
		if prev, dup := firstLine[user]; dup {
			return fail("duplicate user %q (first on line %d)", user, prev)
		}
		e, msg := parseHash(strings.Trim(hash, asciiSpace))
		if msg != "" {
			// The hash itself is never echoed: error logs are not the place for it.
			return fail("bad hash for user %q: %s", user, msg)
		}
		p.users[user] = e
		firstLine[user] = n
		return nil
	})
	if err != nil {
		return nil, err
	}
	return p, nil
}

// parseHash decodes "$6$salt$digest" or "$7$iterations$salt$digest".
// It returns a non-empty reason instead of an error so the caller can add
// the file position.
func parseHash(s string) (*pwEntry, string) {
	parts := strings.Split(s, "$")
	if len(parts) < 2 || parts[0] != "" {
		return nil, "not a $6$ or $7$ hash (plain-text passwords are not supported)"
	}
	e := &pwEntry{kind: parts[1]}
	var rest []string
	switch e.kind {
	case hashSHA512:
		if len(parts) != 4 {
			return nil, "want $6$<salt>$<hash>"
		}
		rest = parts[2:]
	case hashPBKDF2:
		if len(parts) != 5 {
			return nil, "want $7$<iterations>$<salt>$<hash>"
		}
		// Digits only, unlike Mosquitto's atoi: "12abc" is a typo, not 12.
		it, err := strconv.ParseUint(parts[2], 10, 31)
		if err != nil || it < 1 {
			return nil, "iteration count must be an integer from 1 to 2147483647"
		}
		e.iterations = int(it)
		rest = parts[3:]
	default:
		return nil, fmt.Sprintf("unsupported hash type $%.10s$ (want $6$ or $7$)", parts[1])
	}
	var err error
	if e.salt, err = decodeStrict(rest[0]); err != nil || len(e.salt) != saltLen {
		return nil, fmt.Sprintf("salt must be %d bytes of base64", saltLen)
	}
	if e.digest, err = decodeStrict(rest[1]); err != nil || len(e.digest) != digestLen {
		return nil, fmt.Sprintf("digest must be %d bytes of base64", digestLen)
	}
	return e, ""
}

// decodeStrict is padded standard base64. Go's decoder skips '\r' and '\n';
// refusing them keeps one spelling per hash.
func decodeStrict(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		return nil, base64.CorruptInputError(strings.IndexAny(s, "\r\n"))
	}
	return base64.StdEncoding.Strict().DecodeString(s)
}

// Check reports whether password is right for username. A nil password
// (CONNECT without the password flag) never matches, as in Mosquitto; an
// empty non-nil password is hashed like any other. The password is used as
// the binary data MQTT carries; Mosquitto stops at its first NUL byte, we do
// not. The digests are compared in constant time.
func (p *Passwords) Check(username string, password []byte) bool {
	e, known := (*pwEntry)(nil), false
	if p != nil {
		e, known = p.users[username]
	}
	if !known {
		e = decoy
	}
	got, ok := e.derive(password)
	match := ok && subtle.ConstantTimeCompare(got, e.digest) == 1
	return known && password != nil && match
}

// derive computes the digest the entry's format would store for password.
func (e *pwEntry) derive(password []byte) ([]byte, bool) {
	switch e.kind {
	case hashSHA512:
		h := sha512.New()
		h.Write(password)
		h.Write(e.salt)
		return h.Sum(nil), true
	case hashPBKDF2:
		dk, err := pbkdf2.Key(sha512.New, string(password), e.salt, e.iterations, digestLen)
		return dk, err == nil
	}
	return nil, false
}

// Len returns the number of users.
func (p *Passwords) Len() int {
	if p == nil {
		return 0
	}
	return len(p.users)
}
