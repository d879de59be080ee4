package rest

import (
	"crypto/sha256"
	"encoding/hex"
	"net/http"
	"strconv"
	"strings"
)

// Entity tags (RFC 9110 §8.8.3). A stored resource's tag is built from its
// store version and the variant's suffix: "v7-json", "v7-xml",
// "v7-text-xml". A collection (or a page of readings) has no version of its
// own, so its tag is a digest of the exact bytes sent: "c<hex>-json". Both
// are strong validators: a different tag for every different body.

func versionTag(version int64, v variant) string {
	return "v" + strconv.FormatInt(version, 10) + "-" + v.tag
}

func digestTag(body []byte, v variant) string {
	sum := sha256.Sum256(body)
	return "c" + hex.EncodeToString(sum[:12]) + "-" + v.tag
}

// versionOfTag returns the version named by a version tag of any variant.
func versionOfTag(opaque string) (int64, bool) {
	rest, ok := strings.CutPrefix(opaque, "v")
	if !ok {
		return 0, false
	}
	num, suffix, ok := strings.Cut(rest, "-")
	if !ok || num == "" || num[0] == '0' || num[0] == '+' {
		return 0, false
	}
	n, err := strconv.ParseInt(num, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	for _, o := range offers {
		if o.tag == suffix {
			return n, true
		}
	}
	return 0, false
}

type entityTag struct {
	weak   bool
	opaque string // without the quotes
}

// parseETags parses If-Match / If-None-Match: "*" or a list of entity tags.
// ok is false for a field that does not follow the grammar.
func parseETags(values []string) (tags []entityTag, star, ok bool) {
	for _, v := range values {
		s := v
		for {
			s = strings.TrimLeft(s, " \t,")
			if s == "" {
				break
			}
			if s[0] == '*' {
				star = true
				s = s[1:]
			} else {
				var t entityTag
				if rest, ok := strings.CutPrefix(s, "W/"); ok {
					t.weak, s = true, rest
				}
				if s == "" || s[0] != '"' {
					return nil, false, false
				}
				end := strings.IndexByte(s[1:], '"')
				if end < 0 {
					return nil, false, false
				}
				t.opaque = s[1 : 1+end]
				for i := 0; i < len(t.opaque); i++ {
					if c := t.opaque[i]; c < 0x21 || c == 0x7f {
						return nil, false, false
					}
				}
				tags = append(tags, t)
				s = s[end+2:]
			}
			s = strings.TrimLeft(s, " \t")
			if s != "" && s[0] != ',' {
				return nil, false, false
			}
		}
	}
	if star && len(tags) > 0 {
		return nil, false, false
	}
	return tags, star, true
}

// validator describes the current state of a target resource for the
// precondition checks of RFC 9110 §13.
type validator struct {
	exists bool
	// current reports whether opaque is the tag of a current representation
	// of the resource (any variant).
	current func(opaque string) bool
	// selected is the tag of the representation a GET would send now.
	selected string
}

// versioned is the validator of a stored resource at version ver.
func versioned(exists bool, ver int64, selected variant) validator {
	return validator{
		exists:   exists,
		current:  func(o string) bool { n, ok := versionOfTag(o); return ok && n == ver },
		selected: versionTag(ver, selected),
	}
}

// hasPreconditions reports whether r carries a precondition this server
// evaluates. (If-Modified-Since and If-Unmodified-Since are not evaluated:
// representations carry no Last-Modified, only strong entity tags.)
func hasPreconditions(r *http.Request) bool {
	return len(r.Header.Values("If-Match")) > 0 || len(r.Header.Values("If-None-Match")) > 0
}

func hasIfMatch(r *http.Request) bool { return len(r.Header.Values("If-Match")) > 0 }

// ifMatch evaluates If-Match with the strong comparison (§13.1.1): weak
// tags never match, "*" matches any current representation, nothing
// matches a resource that does not exist. A malformed field is false, so
// the request fails safe with 412 instead of running unconditionally.
func ifMatch(r *http.Request, v validator) bool {
	tags, star, ok := parseETags(r.Header.Values("If-Match"))
	if !ok || !v.exists {
		return false
	}
	if star {
		return true
	}
	for _, t := range tags {
		if !t.weak && v.current(t.opaque) {
			return true
		}
	}
	return false
}

// ifNoneMatch evaluates If-None-Match with the weak comparison (§13.1.2):
// false when "*" is given and the resource exists, or when a listed tag
// matches. For GET and HEAD only the selected representation's tag counts;
// for other methods any current representation's. A malformed field is
// ignored (true), as if it listed no tag that matches.
func ifNoneMatch(r *http.Request, v validator, safe bool) bool {
	tags, star, ok := parseETags(r.Header.Values("If-None-Match"))
	if !ok {
		return true
	}
	if star {
		return !v.exists
	}
	if !v.exists {
		return true
	}
	for _, t := range tags {
		if safe && t.opaque == v.selected || !safe && v.current(t.opaque) {
			return false
		}
	}
	return true
}

// checkRead evaluates the preconditions of a GET or HEAD on an existing
// resource, in the order of §13.2.2: a failed If-Match is 412, a failed
// If-None-Match means 304 Not Modified.
func checkRead(r *http.Request, v validator) (notModified bool, err error) {
	if hasIfMatch(r) && !ifMatch(r, v) {
		return false, errPrecondition()
	}
	if len(r.Header.Values("If-None-Match")) > 0 && !ifNoneMatch(r, v, true) {
		return true, nil
	}
	return false, nil
}

// checkWrite evaluates the preconditions of a state-changing request: any
// failure is 412 (§13.1.1, §13.1.2).
func checkWrite(r *http.Request, v validator) error {
	if hasIfMatch(r) && !ifMatch(r, v) {
		return errPrecondition()
	}
	if len(r.Header.Values("If-None-Match")) > 0 && !ifNoneMatch(r, v, false) {
		return errPrecondition()
	}
	return nil
}

// notModified answers 304 with the headers a 200 would have carried that
// matter to caches (§15.4.5).
func notModified(w http.ResponseWriter, etag string) {
	h := w.Header()
	h.Set("ETag", `"`+etag+`"`)
	h.Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusNotModified)
}
