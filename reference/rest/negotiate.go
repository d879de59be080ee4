package rest

import (
	"mime"
	"net/http"
	"strings"
)

// Media types the server reads and writes.
const (
	mtJSON        = "application/json"
	mtXML         = "application/xml"
	mtTextXML     = "text/xml"
	mtProblemJSON = "application/problem+json"
	mtProblemXML  = "application/problem+xml"
	mtMergePatch  = "application/merge-patch+json"
)

// format is the encoding of a response body.
type format int

const (
	fmtJSON format = iota
	fmtXML
)

// variant is one representation the server can send: its encoding, the
// Content-Type it is labelled with, and the suffix that makes its ETag
// differ from the other variants of the same resource version.
type variant struct {
	format      format
	contentType string
	tag         string
}

// offers, in the server's order of preference: on equal quality JSON wins,
// and JSON is what a request without Accept gets.
var offers = []variant{
	{fmtJSON, mtJSON, "json"},
	{fmtXML, mtXML + "; charset=utf-8", "xml"},
	{fmtXML, mtTextXML + "; charset=utf-8", "text-xml"},
}

var offerTypes = []string{mtJSON, mtXML, mtTextXML}

// mediaRange is one element of an Accept header (RFC 9110 §12.5.1).
type mediaRange struct {
	typ, sub string
	q        int // quality in thousandths, 0..1000
}

// parseAccept parses the Accept header fields of r. present reports whether
// the request had an Accept field with at least one non-empty element.
// Elements that are not valid media ranges, or whose q is not a valid
// qvalue, are dropped.
func parseAccept(r *http.Request) (ranges []mediaRange, present bool) {
	for _, v := range r.Header.Values("Accept") {
		for _, el := range splitList(v) {
			present = true
			mr, ok := parseMediaRange(el)
			if ok {
				ranges = append(ranges, mr)
			}
		}
	}
	return ranges, present
}

// splitList splits a comma-separated header list, honouring quoted strings,
// and drops empty elements (RFC 9110 §5.6.1).
func splitList(v string) []string {
	var out []string
	start, quoted, escaped := 0, false, false
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case escaped:
			escaped = false
		case quoted && c == '\\':
			escaped = true
		case c == '"':
			quoted = !quoted
		case c == ',' && !quoted:
			if el := strings.TrimSpace(v[start:i]); el != "" {
				out = append(out, el)
			}
			start = i + 1
		}
	}
	if el := strings.TrimSpace(v[start:]); el != "" {
		out = append(out, el)
	}
	return out
}

func parseMediaRange(el string) (mediaRange, bool) {
	mt, params, err := mime.ParseMediaType(el)
	if err != nil {
		return mediaRange{}, false
	}
	typ, sub, ok := strings.Cut(mt, "/")
	if !ok || typ == "" || sub == "" || (typ == "*" && sub != "*") {
		return mediaRange{}, false
	}
	q := 1000
	if qs, ok := params["q"]; ok {
		if q, ok = parseQValue(qs); !ok {
			return mediaRange{}, false
		}
	}
	return mediaRange{typ, sub, q}, true
}

// parseQValue parses qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] ).
func parseQValue(s string) (int, bool) {
	if s == "" || len(s) > 5 || (s[0] != '0' && s[0] != '1') {
		return 0, false
	}
	q := int(s[0]-'0') * 1000
	if len(s) > 1 {
		if s[1] != '.' {
			return 0, false
		}
		scale := 100
		for _, c := range []byte(s[2:]) {
			if c < '0' || c > '9' {
				return 0, false
			}
			q += int(c-'0') * scale
			scale /= 10
		}
	}
	if q > 1000 {
		return 0, false
	}
	return q, true
}

// quality is the q the ranges give to media type typ/sub: that of the most
// specific matching range (exact beats type/* beats */*), 0 if none matches.
func quality(ranges []mediaRange, mt string) int {
	typ, sub, _ := strings.Cut(mt, "/")
	best, spec := 0, 0
	for _, mr := range ranges {
		s := 0
		switch {
		case mr.typ == typ && mr.sub == sub:
			s = 3
		case mr.typ == typ && mr.sub == "*":
			s = 2
		case mr.typ == "*":
			s = 1
		default:
			continue
		}
		if s > spec || (s == spec && mr.q > best) {
			best, spec = mr.q, s
		}
	}
	return best
}

// negotiate picks the representation for r's Accept header: the offer with
// the highest quality, JSON on ties and when Accept is absent. ok is false
// when nothing acceptable is on offer (406).
func negotiate(r *http.Request) (variant, bool) {
	ranges, present := parseAccept(r)
	if !present {
		return offers[0], true
	}
	best, bestQ := -1, 0
	for i, mt := range offerTypes {
		if q := quality(ranges, mt); q > bestQ {
			best, bestQ = i, q
		}
	}
	if best < 0 {
		return variant{}, false
	}
	return offers[best], true
}

// problemFormat chooses the encoding of an error: XML when the client
// prefers some XML type to every JSON one, JSON otherwise (also when it
// accepts neither).
func problemFormat(r *http.Request) format {
	ranges, present := parseAccept(r)
	if !present {
		return fmtJSON
	}
	q := func(types ...string) int {
		m := 0
		for _, t := range types {
			m = max(m, quality(ranges, t))
		}
		return m
	}
	if q(mtXML, mtTextXML, mtProblemXML) > q(mtJSON, mtProblemJSON) {
		return fmtXML
	}
	return fmtJSON
}

// checkContentType answers 415 unless the request body is labelled with
// one of the media types in allowed (parameters other than a UTF-8 charset
// are refused too). The 415 response says what would have been accepted:
// Accept-Patch for PATCH (RFC 5789 §2.2), Accept otherwise (RFC 9110 §15.5.16).
func checkContentType(r *http.Request, allowed ...string) error {
	hint := func() *httpError {
		e := errorf(http.StatusUnsupportedMediaType, "")
		name := "Accept"
		if r.Method == http.MethodPatch {
			name = "Accept-Patch"
		}
		e.header = http.Header{name: {strings.Join(allowed, ", ")}}
		return e
	}
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		e := hint()
		e.detail = "the request body needs a Content-Type: " + strings.Join(allowed, " or ")
		return e
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		e := hint()
		e.detail = "malformed Content-Type " + quoteShort(ct)
		return e
	}
	for _, a := range allowed {
		if mt != a {
			continue
		}
		for k, v := range params {
			if k != "charset" || !strings.EqualFold(v, "utf-8") {
				e := hint()
				e.detail = "unsupported parameter " + quoteShort(k+"="+v) + " in Content-Type; request bodies are UTF-8 JSON"
				return e
			}
		}
		return nil
	}
	e := hint()
	e.detail = "Content-Type " + quoteShort(mt) + " is not supported here; send " + strings.Join(allowed, " or ")
	return e
}
