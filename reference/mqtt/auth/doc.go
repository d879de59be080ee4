// Package auth implements Mosquitto-compatible authentication (the
// password_file written by mosquitto_passwd) and authorisation (the
// acl_file) for the reference MQTT 3.1.1 broker.
//
// Both files are parsed once; a *Passwords or *ACL is read-only afterwards
// and safe for concurrent use. Parsers reject what Mosquitto would reject or
// silently drop, and name the file and line, so that a configuration that
// loads here also loads in Mosquitto with the same meaning.
package auth

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"strings"
)

// ParseError reports a malformed line in a password or ACL file.
// Error() renders it as "file:line: message".
type ParseError struct {
	File string
	Line int
	Msg  string
}

func (e *ParseError) Error() string { return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg) }

// asciiSpace is what Mosquitto's isspace-based trimming removes; Unicode
// spaces are kept because they are legal in topic names and usernames.
const asciiSpace = " \t\n\v\f\r"

// eachLine calls fn with every line of r (1-based number, surrounding ASCII
// whitespace removed), skipping blank lines and '#' comments. There is no
// line-length limit, as with Mosquitto's fgets_extending.
func eachLine(r io.Reader, name string, fn func(n int, line string) error) error {
	br := bufio.NewReader(r)
	for n := 1; ; n++ {
		raw, err := br.ReadString('\n')
		if err != nil && !errors.Is(err, io.EOF) {
			return fmt.Errorf("%s:%d: %w", name, n, err)
		}
		if line := strings.Trim(raw, asciiSpace); line != "" && line[0] != '#' {
			if ferr := fn(n, line); ferr != nil {
				return ferr
			}
		}
		if err != nil {
			return nil
		}
	}
}
