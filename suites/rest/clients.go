package rest

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"net/textproto"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// Long bounds one request, and a wait for an event such as a bridged
// reading becoming visible.
const Long = 10 * time.Second

// Resp is one response, read whole.
type Resp struct {
	Method string
	URL    string
	Status int
	Header http.Header
	Body   []byte
	TLS    *tls.ConnectionState
}

// String is the response as a failure message shows it.
func (r *Resp) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s → %d %s", r.Method, r.URL, r.Status, http.StatusText(r.Status))
	for _, k := range []string{"Content-Type", "ETag", "Location", "Allow", "WWW-Authenticate"} {
		if v := r.Header.Get(k); v != "" {
			fmt.Fprintf(&b, "\n%s: %s", k, v)
		}
	}
	body := r.Body
	if len(body) > 600 {
		body = append(body[:600:600], "…"...)
	}
	if len(body) > 0 {
		fmt.Fprintf(&b, "\n\n%s", body)
	}
	return b.String()
}

// MediaType is the response's Content-Type without parameters.
func (r *Resp) MediaType() string {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil {
		return ""
	}
	return mt
}

// ETag is the response's entity tag, as sent (quotes included).
func (r *Resp) ETag() string { return r.Header.Get("ETag") }

// request is what the options of Do build.
type request struct {
	header  http.Header
	body    []byte
	hasBody bool
	noAuth  bool
	chunked bool
}

// Opt changes a request.
type Opt func(*request)

// JSON sends v as an application/json body.
func JSON(v any) Opt {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return Raw("application/json", string(b))
}

// MergePatch sends v as an application/merge-patch+json body (RFC 7396).
func MergePatch(v any) Opt {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return Raw("application/merge-patch+json", string(b))
}

// Raw sends body with Content-Type ct ("" sends no Content-Type).
func Raw(ct, body string) Opt {
	return func(r *request) {
		r.body, r.hasBody = []byte(body), true
		if ct != "" {
			r.header.Set("Content-Type", ct)
		}
	}
}

// H sets a request header field.
func H(name, value string) Opt { return func(r *request) { r.header.Set(name, value) } }

// Accept sets the Accept header field.
func Accept(v string) Opt { return H("Accept", v) }

// IfMatch and IfNoneMatch set the precondition header fields.
func IfMatch(v string) Opt     { return H("If-Match", v) }
func IfNoneMatch(v string) Opt { return H("If-None-Match", v) }

// NoAuth sends a write without the target's bearer token.
func NoAuth() Opt { return func(r *request) { r.noAuth = true } }

// Chunked sends the body without a Content-Length (chunked encoding).
func Chunked() Opt { return func(r *request) { r.chunked = true } }

// URL resolves a path (or an absolute URL, returned as is) against the
// target's base URL.
func URL(path string) string {
	if strings.HasPrefix(path, "http://") || strings.HasPrefix(path, "https://") {
		return path
	}
	return info.BaseURL + path
}

func isWrite(method string) bool {
	switch method {
	case http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete:
		return true
	}
	return false
}

// Try sends a request and reads the answer, without assertions (for
// goroutines). Writes carry the target's bearer token unless NoAuth.
func Try(method, path string, opts ...Opt) (*Resp, error) {
	rq := &request{header: http.Header{}}
	for _, o := range opts {
		o(rq)
	}
	var body io.Reader
	if rq.hasBody {
		body = bytes.NewReader(rq.body)
		if rq.chunked {
			body = io.MultiReader(body) // hides the length from net/http
		}
	}
	req, err := http.NewRequest(method, URL(path), body)
	if err != nil {
		return nil, err
	}
	req.Header = rq.header
	if isWrite(method) && info.Token != "" && !rq.noAuth && req.Header.Get("Authorization") == "" {
		req.Header.Set("Authorization", "Bearer "+info.Token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the response: %w", method, req.URL, err)
	}
	return &Resp{Method: method, URL: req.URL.String(), Status: resp.StatusCode, Header: resp.Header,
		Body: b, TLS: resp.TLS}, nil
}

// Do sends a request and reads the answer. A 5xx fails the spec: nothing
// this suite sends, however wrong, is the server's fault [SEED-INPUT-1].
func Do(method, path string, opts ...Opt) *Resp {
	GinkgoHelper()
	r, err := Try(method, path, opts...)
	Expect(err).NotTo(HaveOccurred(), "%s %s", method, URL(path))
	Expect(r.Status).To(BeNumerically("<", 500), "a server error is never the right answer:\n%s", r)
	if r.Status == http.StatusUnauthorized && isWrite(method) && info.Token == "" {
		Fail("the server wants a bearer token for writes: give it with --rest-token (or WIRECHECK_REST_TOKEN)\n" + r.String())
	}
	return r
}

// ExpectStatus requires one of the codes.
func ExpectStatus(r *Resp, codes ...int) {
	GinkgoHelper()
	Expect(r.Status).To(BeElementOf(codes), "status:\n%s", r)
}

// ExpectProblem requires status and an RFC 9457 problem details body:
// application/problem+json, a JSON object whose type (if any) is a string,
// title a string, status the HTTP status [RFC9457-3, RFC9457-3.1.2]. HEAD
// answers have no body to check.
func ExpectProblem(r *Resp, status int) map[string]any {
	GinkgoHelper()
	Expect(r.Status).To(Equal(status), "status:\n%s", r)
	if r.Method == http.MethodHead {
		return nil
	}
	Expect(r.MediaType()).To(Equal("application/problem+json"), "an error is a problem details document:\n%s", r)
	var p map[string]any
	Expect(json.Unmarshal(r.Body, &p)).To(Succeed(), "problem body is a JSON object:\n%s", r)
	if t, ok := p["type"]; ok {
		Expect(t).To(BeAssignableToTypeOf(""), "type is a string (a URI reference):\n%s", r)
		_, err := url.Parse(t.(string))
		Expect(err).NotTo(HaveOccurred(), "type is a URI reference:\n%s", r)
	}
	Expect(p).To(HaveKeyWithValue("title", BeAssignableToTypeOf("")), "title is a string:\n%s", r)
	Expect(p).To(HaveKey("status"), "status member:\n%s", r)
	Expect(p["status"]).To(BeNumerically("==", status), "status member equals the HTTP status:\n%s", r)
	if d, ok := p["detail"]; ok {
		Expect(d).To(BeAssignableToTypeOf(""), "detail is a string:\n%s", r)
	}
	return p
}

// ExpectClientError requires a 4xx answered as a problem (any 4xx code).
func ExpectClientError(r *Resp) map[string]any {
	GinkgoHelper()
	Expect(r.Status).To(And(BeNumerically(">=", 400), BeNumerically("<", 500)), "a 4xx:\n%s", r)
	return ExpectProblem(r, r.Status)
}

// Object decodes a JSON object body.
func (r *Resp) Object() map[string]any {
	GinkgoHelper()
	Expect(r.MediaType()).To(Or(Equal("application/json"), HaveSuffix("+json")), "a JSON body:\n%s", r)
	var m map[string]any
	Expect(json.Unmarshal(r.Body, &m)).To(Succeed(), "a JSON object:\n%s", r)
	return m
}

// Any decodes a JSON body of any shape.
func (r *Resp) Any() any {
	GinkgoHelper()
	Expect(r.MediaType()).To(Or(Equal("application/json"), HaveSuffix("+json")), "a JSON body:\n%s", r)
	var v any
	Expect(json.Unmarshal(r.Body, &v)).To(Succeed(), "JSON:\n%s", r)
	return v
}

// Items returns the elements of a JSON list body: the top-level array, or
// the first array member of a top-level object other than "links".
func (r *Resp) Items() []map[string]any {
	GinkgoHelper()
	var arr []any
	switch v := r.Any().(type) {
	case []any:
		arr = v
	case map[string]any:
		for k, m := range v {
			if a, ok := m.([]any); ok && k != "links" {
				arr = a
				break
			}
		}
	}
	Expect(arr).NotTo(BeNil(), "a list:\n%s", r)
	out := make([]map[string]any, 0, len(arr))
	for _, e := range arr {
		switch x := e.(type) {
		case map[string]any:
			out = append(out, x)
		case string: // a list of bare names
			out = append(out, map[string]any{"name": x})
		default:
			Fail(fmt.Sprintf("list element %v is neither an object nor a name:\n%s", e, r))
		}
	}
	return out
}

// Number reads a JSON number, or a string holding one (the seed's
// {"value": "237"}).
func Number(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	case string:
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		return f, err == nil
	}
	return 0, false
}

// Link is a hypermedia control of a representation.
type Link struct{ Rel, Href string }

// Links returns the "links" array of a JSON object: [{rel, href}, …].
func Links(obj map[string]any) []Link {
	var out []Link
	arr, _ := obj["links"].([]any)
	for _, e := range arr {
		m, _ := e.(map[string]any)
		rel, _ := m["rel"].(string)
		href, _ := m["href"].(string)
		out = append(out, Link{rel, href})
	}
	return out
}

// LinkTo returns the href of the first link with rel, "" if none.
func LinkTo(obj map[string]any, rel string) string {
	for _, l := range Links(obj) {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

// Resolve resolves a URI reference (a Location, an href) against the URL
// of the response it came in.
func Resolve(base, ref string) string {
	GinkgoHelper()
	b, err := url.Parse(base)
	Expect(err).NotTo(HaveOccurred())
	u, err := url.Parse(ref)
	Expect(err).NotTo(HaveOccurred(), "URI reference %q", ref)
	return b.ResolveReference(u).String()
}

// XMLText checks that body is well-formed XML and returns its character
// data and attribute values, space-separated.
func XMLText(body []byte) (string, error) {
	dec := xml.NewDecoder(bytes.NewReader(body))
	var parts []string
	root := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			if !root {
				return "", errors.New("no root element")
			}
			return strings.Join(parts, " "), nil
		}
		if err != nil {
			return "", err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			root = true
			for _, a := range t.Attr {
				parts = append(parts, a.Value)
			}
		case xml.CharData:
			if s := strings.TrimSpace(string(t)); s != "" {
				parts = append(parts, s)
			}
		}
	}
}

// rfc3339 is the date-time production of RFC 3339 §5.6.
var rfc3339 = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$`)

// Time parses an RFC 3339 date-time strictly [RFC3339-5.6].
func Time(v any) time.Time {
	GinkgoHelper()
	s, ok := v.(string)
	Expect(ok).To(BeTrue(), "a date-time is a string, got %v", v)
	Expect(s).To(MatchRegexp(rfc3339.String()), "RFC 3339 date-time")
	t, err := time.Parse(time.RFC3339Nano, s)
	Expect(err).NotTo(HaveOccurred(), "RFC 3339 date-time %q", s)
	return t
}

// Snapshot is a resource's state as GET shows it, to compare before and
// after a request that must change nothing.
type Snapshot struct {
	Status int
	ETag   string
	Body   string
}

// Snap reads path as JSON.
func Snap(path string) Snapshot {
	GinkgoHelper()
	r := Do(http.MethodGet, path, Accept("application/json"))
	return Snapshot{r.Status, r.ETag(), string(r.Body)}
}

// ExpectUnchanged requires path to read as it did [SEED-INPUT-2].
func ExpectUnchanged(path string, before Snapshot, why string) {
	GinkgoHelper()
	Expect(Snap(path)).To(Equal(before), "%s must leave %s unchanged", why, path)
}

// SensorPath is the URL path of a sensor.
func SensorPath(name string) string { return "/sensors/" + url.PathEscape(name) }

// TaskPath is the URL path of a task, in the seed's form (trailing slash).
func TaskPath(id int64) string { return "/tasks/" + strconv.FormatInt(id, 10) + "/" }

// CreateSensor creates a sensor and requires 201.
func CreateSensor(name string) *Resp {
	GinkgoHelper()
	r := Do(http.MethodPost, "/sensors", JSON(map[string]any{"name": name}))
	Expect(r.Status).To(Equal(http.StatusCreated), "create sensor %s:\n%s", name, r)
	return r
}

// NewSensor creates a sensor with a unique name and returns the name.
func NewSensor(hint string) string {
	GinkgoHelper()
	name := Name(hint)
	CreateSensor(name)
	return name
}

// SetValue sets a sensor's value with PUT and requires 200 or 204.
func SetValue(name string, v any, opts ...Opt) *Resp {
	GinkgoHelper()
	r := Do(http.MethodPut, SensorPath(name), append([]Opt{JSON(map[string]any{"value": v})}, opts...)...)
	ExpectStatus(r, http.StatusOK, http.StatusNoContent)
	return r
}

// Sensor reads a sensor as a JSON object.
func Sensor(name string) (map[string]any, *Resp) {
	GinkgoHelper()
	r := Do(http.MethodGet, SensorPath(name), Accept("application/json"))
	Expect(r.Status).To(Equal(http.StatusOK), "GET sensor %s:\n%s", name, r)
	return r.Object(), r
}

// ValueOf is a sensor's current value.
func ValueOf(name string) float64 {
	GinkgoHelper()
	s, r := Sensor(name)
	v, ok := Number(s["value"])
	Expect(ok).To(BeTrue(), "the sensor has a numeric value:\n%s", r)
	return v
}

// SensorNames lists the names GET /sensors shows.
func SensorNames() []string {
	GinkgoHelper()
	r := Do(http.MethodGet, "/sensors", Accept("application/json"))
	Expect(r.Status).To(Equal(http.StatusOK), "%s", r)
	var names []string
	for _, it := range r.Items() {
		n, _ := it["name"].(string)
		names = append(names, n)
	}
	return names
}

// CreateTask creates a task, requires 201 and {"id": N}, and returns N.
func CreateTask(summary, description string) int64 {
	GinkgoHelper()
	r := Do(http.MethodPost, "/tasks/", JSON(map[string]any{"summary": summary, "description": description}))
	Expect(r.Status).To(Equal(http.StatusCreated), "create task:\n%s", r)
	return idOf(r)
}

// idOf reads the "id" member of a 201 body: a positive integer.
func idOf(r *Resp) int64 {
	GinkgoHelper()
	obj := r.Object()
	id, ok := obj["id"].(float64)
	Expect(ok).To(BeTrue(), "the body has a numeric id:\n%s", r)
	Expect(id).To(BeNumerically(">", 0))
	Expect(id).To(Equal(float64(int64(id))), "the id is an integer")
	return int64(id)
}

// Task reads a task as a JSON object.
func Task(id int64) map[string]any {
	GinkgoHelper()
	r := Do(http.MethodGet, TaskPath(id), Accept("application/json"))
	Expect(r.Status).To(Equal(http.StatusOK), "GET task %d:\n%s", id, r)
	return r.Object()
}

// TaskItems lists GET /tasks/ by id.
func TaskItems() map[int64]map[string]any {
	GinkgoHelper()
	r := Do(http.MethodGet, "/tasks/", Accept("application/json"))
	Expect(r.Status).To(Equal(http.StatusOK), "%s", r)
	out := map[int64]map[string]any{}
	for _, it := range r.Items() {
		id, ok := it["id"].(float64)
		Expect(ok).To(BeTrue(), "every item of the task list has a numeric id:\n%s", r)
		out[int64(id)] = it
	}
	return out
}

// Reading is one element of a sensor's history.
type Reading struct {
	Value float64
	Unit  string
	Time  time.Time
	Raw   map[string]any
}

// ReadingsPage reads one page of readings at path (a path or a next link).
func ReadingsPage(path string) ([]Reading, string, *Resp) {
	GinkgoHelper()
	r := Do(http.MethodGet, path, Accept("application/json"))
	Expect(r.Status).To(Equal(http.StatusOK), "%s", r)
	var out []Reading
	for _, it := range r.Items() {
		v, ok := Number(it["value"])
		Expect(ok).To(BeTrue(), "a reading has a numeric value: %v\n%s", it, r)
		u, _ := it["unit"].(string)
		out = append(out, Reading{Value: v, Unit: u, Time: Time(it["time"]), Raw: it})
	}
	next := ""
	if obj, ok := r.Any().(map[string]any); ok {
		if n := LinkTo(obj, "next"); n != "" {
			next = Resolve(r.URL, n)
		}
	}
	return out, next, r
}

// AllReadings follows next links from path and returns every reading and
// the number of pages.
func AllReadings(path string) ([]Reading, int) {
	GinkgoHelper()
	var all []Reading
	pages := 0
	seen := map[string]bool{}
	for path != "" {
		Expect(seen[path]).To(BeFalse(), "next link %s loops", path)
		seen[path] = true
		Expect(pages).To(BeNumerically("<", 1000), "too many pages")
		rs, next, _ := ReadingsPage(path)
		all = append(all, rs...)
		pages++
		path = next
	}
	return all, pages
}

// Values are the values of readings.
func Values(rs []Reading) []float64 {
	out := make([]float64, len(rs))
	for i, r := range rs {
		out[i] = r.Value
	}
	return out
}

// ReadingsPath is the history of a sensor, with an optional query.
func ReadingsPath(name string, q url.Values) string {
	p := SensorPath(name) + "/readings"
	if len(q) > 0 {
		p += "?" + q.Encode()
	}
	return p
}

// RawExchange sends one request without a body over a fresh connection
// (Connection: close) and returns the status code, the header block and
// every byte the server sent after it. Go's client discards what follows
// the header of a HEAD, 204 or 304 answer; this shows it.
func RawExchange(method, path string, header map[string]string) (int, http.Header, []byte) {
	GinkgoHelper()
	u, err := url.Parse(URL(path))
	Expect(err).NotTo(HaveOccurred())
	host := u.Host
	if u.Port() == "" {
		port := "80"
		if u.Scheme == "https" {
			port = "443"
		}
		host = net.JoinHostPort(u.Hostname(), port)
	}
	var nc net.Conn
	if u.Scheme == "https" {
		nc, err = tls.DialWithDialer(&net.Dialer{Timeout: Long}, "tcp", host, info.TLSConfig)
	} else {
		nc, err = net.DialTimeout("tcp", host, Long)
	}
	Expect(err).NotTo(HaveOccurred(), "dial %s", host)
	defer nc.Close()
	nc.SetDeadline(time.Now().Add(Long))
	var b strings.Builder
	fmt.Fprintf(&b, "%s %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n", method, u.RequestURI(), u.Host)
	for k, v := range header {
		fmt.Fprintf(&b, "%s: %s\r\n", k, v)
	}
	b.WriteString("\r\n")
	_, err = io.WriteString(nc, b.String())
	Expect(err).NotTo(HaveOccurred())
	all, err := io.ReadAll(nc)
	if len(all) == 0 {
		Expect(err).NotTo(HaveOccurred(), "%s %s: reading the answer", method, u)
	}
	headEnd := bytes.Index(all, []byte("\r\n\r\n"))
	Expect(headEnd).To(BeNumerically(">", 0), "%s %s: no complete header block in %q", method, u, all)
	tp := textproto.NewReader(bufio.NewReader(bytes.NewReader(all[:headEnd+4])))
	line, err := tp.ReadLine()
	Expect(err).NotTo(HaveOccurred())
	var proto string
	var status int
	_, err = fmt.Sscanf(line, "%s %d", &proto, &status)
	Expect(err).NotTo(HaveOccurred(), "status line %q", line)
	mh, err := tp.ReadMIMEHeader()
	Expect(err).NotTo(HaveOccurred(), "header block of %s %s", method, u)
	return status, http.Header(mh), all[headEnd+4:]
}
