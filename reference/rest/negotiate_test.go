package rest

import (
	"encoding/xml"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestNegotiate checks the choice of representation against RFC 9110
// §12.5.1: q-values, specificity (a more specific range overrides a less
// specific one), JSON on ties and by default.
func TestNegotiate(t *testing.T) {
	cases := []struct {
		accept []string // header fields; nil = no Accept
		want   string   // Content-Type media type, "" = 406
	}{
		{nil, "application/json"},
		{[]string{""}, "application/json"},
		{[]string{"*/*"}, "application/json"},
		{[]string{"application/*"}, "application/json"},
		{[]string{"application/json"}, "application/json"},
		{[]string{"application/xml"}, "application/xml"},
		{[]string{"text/xml"}, "text/xml"},
		{[]string{"text/*"}, "text/xml"},
		{[]string{"APPLICATION/XML"}, "application/xml"},
		{[]string{"application/xml, application/json"}, "application/json"},
		{[]string{"application/json;q=0.5, application/xml"}, "application/xml"},
		{[]string{"application/json;q=0.5", "application/xml;q=0.6"}, "application/xml"},
		{[]string{"*/*;q=0.1, application/xml;q=0.2"}, "application/xml"},
		{[]string{"application/*;q=0.5, application/json;q=0.1"}, "application/xml"},
		{[]string{"*/*, application/json;q=0"}, "application/xml"},
		{[]string{"application/json; charset=utf-8"}, "application/json"},
		{[]string{"application/json;q=1.000"}, "application/json"},
		{[]string{`application/xml;foo="a,b";q=0.9, application/json;q=0.8`}, "application/xml"},
		{[]string{"text/html"}, ""},
		{[]string{"image/png, text/html;q=0.9"}, ""},
		{[]string{"application/json;q=0"}, ""},
		{[]string{"*/*;q=0"}, ""},
		{[]string{"application/json;q=1.5"}, ""}, // not a qvalue: the range is dropped
		{[]string{"application/json;q=0.0001"}, ""},
		{[]string{"garbage"}, ""},
		{[]string{"*/json"}, ""},
		{[]string{"application/problem+json"}, ""},
		{[]string{"text/html, garbage, application/json;q=0.1"}, "application/json"},
	}
	for _, tc := range cases {
		r := httptest.NewRequest("GET", "/", nil)
		for _, a := range tc.accept {
			r.Header.Add("Accept", a)
		}
		v, ok := negotiate(r)
		got := ""
		if ok {
			got, _, _ = strings.Cut(v.contentType, ";")
		}
		if got != tc.want {
			t.Errorf("Accept %q: got %q, want %q", tc.accept, got, tc.want)
		}
	}
}

func TestParseQValue(t *testing.T) {
	for s, want := range map[string]int{"0": 0, "1": 1000, "0.5": 500, "0.123": 123, "1.0": 1000, "1.000": 1000, "0.": 0} {
		if q, ok := parseQValue(s); !ok || q != want {
			t.Errorf("%q: %d %v, want %d", s, q, ok, want)
		}
	}
	for _, s := range []string{"", "2", "1.1", "1.001", "0.1234", ".5", "-0", "0,5", "1e0"} {
		if q, ok := parseQValue(s); ok {
			t.Errorf("%q accepted as %d", s, q)
		}
	}
}

func TestXMLAndJSONRepresentations(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.must(201, "POST", "/sensors", `{"name":"s1"}`)
	e.must(200, "PUT", "/sensors/s1", `{"value":21.5,"unit":"C"}`)
	e.must(201, "POST", "/tasks/", `{"summary":"a <b> & c","description":"x"}`)

	r := e.must(200, "GET", "/sensors/s1", "", "Accept", "application/xml")
	if ct := r.header.Get("Content-Type"); ct != "application/xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	if r.header.Get("ETag") != `"v2-xml"` || r.header.Get("Vary") != "Accept" {
		t.Errorf("headers %v", r.header)
	}
	var s struct {
		XMLName xml.Name `xml:"sensor"`
		Name    string   `xml:"name"`
		Value   float64  `xml:"value"`
		Unit    string   `xml:"unit"`
		Links   []struct {
			Rel  string `xml:"rel,attr"`
			Href string `xml:"href,attr"`
		} `xml:"links>link"`
	}
	if err := xml.Unmarshal(r.body, &s); err != nil {
		t.Fatalf("%v\n%s", err, r.body)
	}
	if s.Name != "s1" || s.Value != 21.5 || s.Unit != "C" || len(s.Links) != 3 || s.Links[2].Rel != "readings" {
		t.Errorf("XML sensor %+v", s)
	}

	r = e.must(200, "GET", "/sensors", "", "Accept", "text/xml")
	if ct := r.header.Get("Content-Type"); ct != "text/xml; charset=utf-8" {
		t.Errorf("Content-Type %q", ct)
	}
	var list struct {
		XMLName xml.Name `xml:"sensors"`
		Sensors []struct {
			Name string `xml:"name"`
		} `xml:"sensor"`
	}
	if err := xml.Unmarshal(r.body, &list); err != nil || len(list.Sensors) != 1 || list.Sensors[0].Name != "s1" {
		t.Errorf("XML list %+v %v\n%s", list, err, r.body)
	}

	r = e.must(200, "GET", "/tasks/1/", "", "Accept", "application/xml")
	var task struct {
		XMLName     xml.Name `xml:"task"`
		ID          int64    `xml:"id"`
		Summary     string   `xml:"summary"`
		Description string   `xml:"description"`
	}
	if err := xml.Unmarshal(r.body, &task); err != nil || task.Summary != "a <b> & c" {
		t.Errorf("XML task %+v %v\n%s", task, err, r.body)
	}
	e.must(200, "GET", "/tasks/", "", "Accept", "application/xml")
	e.must(200, "GET", "/sensors/s1/readings", "", "Accept", "application/xml")
	e.must(200, "GET", "/", "", "Accept", "application/xml")
	// A write answers in the negotiated type too.
	r = e.must(201, "POST", "/sensors", `{"name":"s2"}`, "Accept", "application/xml")
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") || !strings.Contains(string(r.body), "<name>s2</name>") {
		t.Errorf("POST with Accept XML: %s", r)
	}
}

func TestNotAcceptableAndProblemFormat(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.must(201, "POST", "/sensors", `{"name":"s1"}`)

	// 406 is a JSON problem when the client accepts neither.
	problemOf(t, e.do("GET", "/sensors/s1", "", "Accept", "text/html"), 406)
	// A write that could not be answered acceptably is refused before it
	// changes anything.
	problemOf(t, e.do("POST", "/sensors", `{"name":"s2"}`, "Accept", "image/png"), 406)
	e.must(404, "GET", "/sensors/s2", "")
	// DELETE sends no representation: Accept does not matter.
	e.must(201, "POST", "/sensors", `{"name":"s3"}`)
	e.must(204, "DELETE", "/sensors/s3", "", "Accept", "image/png")

	// A client that prefers XML gets problems in XML (RFC 9457 Appendix B).
	r := e.do("GET", "/sensors/nope", "", "Accept", "application/xml")
	if r.status != 404 || r.header.Get("Content-Type") != "application/problem+xml; charset=utf-8" {
		t.Fatalf("%s", r)
	}
	var p struct {
		XMLName xml.Name `xml:"urn:ietf:rfc:7807 problem"`
		Type    string   `xml:"type"`
		Title   string   `xml:"title"`
		Status  int      `xml:"status"`
		Detail  string   `xml:"detail"`
	}
	if err := xml.Unmarshal(r.body, &p); err != nil || p.Status != 404 || p.Title != "Not Found" || p.Type != "about:blank" {
		t.Errorf("XML problem %+v %v\n%s", p, err, r.body)
	}
	r = e.do("PUT", "/sensors/s1", `{"value":"x"}`, "Accept", "text/xml, application/json;q=0.5")
	if r.status != 400 || r.header.Get("Content-Type") != "application/problem+xml; charset=utf-8" {
		t.Errorf("%s", r)
	}
	// Equal preference: JSON.
	problemOf(t, e.do("GET", "/sensors/nope", "", "Accept", "application/xml, application/json"), 404)
}

func TestUnsupportedMediaType(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.must(201, "POST", "/sensors", `{"name":"s1"}`)
	e.must(201, "POST", "/tasks/", `{"summary":"s"}`)
	cases := []struct{ method, path, ct string }{
		{"POST", "/sensors", ""},
		{"POST", "/sensors", "application/x-www-form-urlencoded"}, // curl -d without -H
		{"POST", "/sensors", "text/plain"},
		{"POST", "/sensors", "application/xml"},
		{"POST", "/sensors", "application/json; charset=latin1"},
		{"POST", "/sensors", "application/json; version=2"},
		{"POST", "/sensors", "application/merge-patch+json"},
		{"POST", "/sensors", "json"},
		{"PUT", "/sensors/s1", "text/plain"},
		{"POST", "/tasks/", "multipart/form-data; boundary=x"},
		{"PUT", "/tasks/1/", "application/merge-patch+json"},
		{"PATCH", "/tasks/1/", "application/json-patch+json"},
		{"PATCH", "/tasks/1/", "text/plain"},
	}
	for _, c := range cases {
		r := e.do(c.method, c.path, `{"name":"x","value":1,"summary":"s","description":""}`, "Content-Type", c.ct)
		p := problemOf(t, r, 415)
		hint := "Accept"
		if c.method == "PATCH" {
			hint = "Accept-Patch"
		}
		if r.header.Get(hint) == "" {
			t.Errorf("%s %s %q: no %s header (%s)", c.method, c.path, c.ct, hint, p.Detail)
		}
	}
	// Accepted: a charset of utf-8 in any case.
	e.must(201, "POST", "/sensors", `{"name":"s2"}`, "Content-Type", "application/json; charset=UTF-8")
}
