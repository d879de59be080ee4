package rest

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Request bodies: JSON objects only, read whole (up to MaxBody) and parsed
// strictly: valid UTF-8, exactly one object, no duplicate or unknown
// members, member names matched exactly (encoding/json alone would match
// them case-insensitively and keep the last duplicate).

// fields are the members of a request's JSON object, values still raw.
type fields map[string]json.RawMessage

// readBody checks the Content-Type against allowed (415) and reads the
// body under the size limit (413). These are the "normal request checks"
// of RFC 9110 §13.2.1: they come before preconditions (412), which come
// before the content is parsed and validated (parseObject, 400).
func (h *handler) readBody(w http.ResponseWriter, r *http.Request, allowed ...string) ([]byte, error) {
	if err := checkContentType(r, allowed...); err != nil {
		return nil, err
	}
	if r.ContentLength > h.maxBody {
		return nil, errTooLarge(h.maxBody)
	}
	// MaxBytesReader marks the connection for closing after a 413, but only
	// when it is handed net/http's own ResponseWriter.
	for {
		u, ok := w.(interface{ Unwrap() http.ResponseWriter })
		if !ok {
			break
		}
		w = u.Unwrap()
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, errTooLarge(h.maxBody)
		}
		return nil, badRequest("could not read the request body")
	}
	return body, nil
}

func errTooLarge(limit int64) *httpError {
	return errorf(http.StatusRequestEntityTooLarge, "the request body is larger than the limit of %d bytes", limit)
}

// parseObject parses body as exactly one JSON object.
func parseObject(body []byte) (fields, error) {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, badRequest("the request body is empty; a JSON object is expected")
	}
	if !utf8.Valid(body) {
		return nil, badRequest("the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if err != nil {
		return nil, malformed(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, badRequest("the request body must be a JSON object")
	}
	f := fields{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, malformed(err)
		}
		key, ok := tok.(string)
		if !ok {
			return nil, badRequest("malformed JSON: object member name expected")
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, malformed(err)
		}
		if _, dup := f[key]; dup {
			return nil, badRequest("duplicate member %s in the JSON object", quoteShort(key))
		}
		f[key] = bytes.TrimSpace(raw)
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, malformed(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, badRequest("malformed JSON: data after the object")
	}
	return f, nil
}

func malformed(err error) *httpError {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return badRequest("malformed JSON: unexpected end of input")
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return badRequest("malformed JSON at byte %d: %s", se.Offset, se.Error())
	}
	return badRequest("malformed JSON")
}

// only refuses members other than known.
func (f fields) only(known ...string) error {
	var unknown []string
	for k := range f {
		if !slices.Contains(known, k) {
			unknown = append(unknown, quoteShort(k))
		}
	}
	if len(unknown) == 0 {
		return nil
	}
	slices.Sort(unknown)
	if len(unknown) > 5 {
		unknown = append(unknown[:5], "…")
	}
	return badRequest("unknown field %s; this body takes only %s", strings.Join(unknown, ", "), strings.Join(known, ", "))
}

func isNull(raw json.RawMessage) bool { return string(raw) == "null" }

// str reads a string member. present is false when it is absent, null true
// when it is JSON null; any other non-string is a 400.
func (f fields) str(name string) (val string, present, null bool, err error) {
	raw, ok := f[name]
	if !ok {
		return "", false, false, nil
	}
	if isNull(raw) {
		return "", true, true, nil
	}
	if len(raw) == 0 || raw[0] != '"' {
		return "", true, false, badRequest("%s: must be a string, not %s", name, jsonKind(raw))
	}
	if err := json.Unmarshal(raw, &val); err != nil {
		return "", true, false, badRequest("%s: malformed string", name)
	}
	return val, true, false, nil
}

// jsonKind names the JSON type of a raw value, for error messages.
func jsonKind(raw json.RawMessage) string {
	if len(raw) == 0 {
		return "nothing"
	}
	switch raw[0] {
	case '"':
		return "a string"
	case '{':
		return "an object"
	case '[':
		return "an array"
	case 't', 'f':
		return "a boolean"
	case 'n':
		return "null"
	}
	return "a number"
}

// isNumber reports whether s is a decimal number: JSON's number grammar,
// except that leading zeros are allowed ("0237").
func isNumber(s string) bool {
	i := 0
	if i < len(s) && s[i] == '-' {
		i++
	}
	digits := func() int {
		n := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
			n++
		}
		return n
	}
	if digits() == 0 {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// encode renders a representation: jv as JSON, or xv as XML (jv when xv is
// nil), with a final newline.
func encode(v variant, jv, xv any) ([]byte, error) {
	if v.format == fmtXML {
		if xv == nil {
			xv = jv
		}
		b, err := xml.Marshal(xv)
		if err != nil {
			return nil, err
		}
		return append(append([]byte(xml.Header), b...), '\n'), nil
	}
	b, err := json.Marshal(jv)
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// reply is a representation to send.
type reply struct {
	status   int
	body     []byte
	etag     string // opaque tag, "" for none
	links    []link // also sent in the Link header
	location string
}

// send writes a representation with its validators and cache headers.
// HEAD gets the same header fields and no body.
func send(w http.ResponseWriter, r *http.Request, v variant, rp reply) {
	h := w.Header()
	h.Set("Content-Type", v.contentType)
	h.Set("Content-Length", strconv.Itoa(len(rp.body)))
	// Representations may be stored but must be revalidated (with the
	// entity tag) before each reuse.
	h.Set("Cache-Control", "no-cache")
	if rp.etag != "" {
		h.Set("ETag", `"`+rp.etag+`"`)
	}
	if len(rp.links) > 0 {
		h.Set("Link", linkHeader(rp.links))
	}
	if rp.location != "" {
		h.Set("Location", rp.location)
	}
	status := rp.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		w.Write(rp.body)
	}
}

// sendCollection sends a representation without a stored version (a list,
// a page of readings): its tag is a digest of the body, and preconditions
// are evaluated against it.
func sendCollection(w http.ResponseWriter, r *http.Request, v variant, body []byte, links []link) error {
	tag := digestTag(body, v)
	val := validator{exists: true, current: func(o string) bool { return o == tag }, selected: tag}
	nm, err := checkRead(r, val)
	if err != nil {
		return err
	}
	if nm {
		notModified(w, tag)
		return nil
	}
	send(w, r, v, reply{body: body, etag: tag, links: links})
	return nil
}
