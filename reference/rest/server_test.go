package rest

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/internal/syncbuf"
	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// TestStatusCodes is the table of every status code the server answers,
// each case on a fresh server holding sensor "s" (value 1) and task 1.
func TestStatusCodes(t *testing.T) {
	big := `{"name":"` + strings.Repeat("a", 2000) + `"}`
	cases := []struct {
		name                 string
		method, path, body   string
		hdr                  []string
		want                 int
		wantHeader, contains string // a header that must be present, containing this
	}{
		{"GET root", "GET", "/", "", nil, 200, "Link", "/sensors"},
		{"GET sensors", "GET", "/sensors", "", nil, 200, "ETag", `-json"`},
		{"GET sensor", "GET", "/sensors/s", "", nil, 200, "ETag", `"v2-json"`},
		{"HEAD sensor", "HEAD", "/sensors/s", "", nil, 200, "Content-Length", ""},
		{"GET readings", "GET", "/sensors/s/readings", "", nil, 200, "Cache-Control", "no-cache"},
		{"GET tasks", "GET", "/tasks/", "", nil, 200, "Link", "/tasks/"},
		{"GET tasks without slash", "GET", "/tasks", "", nil, 200, "", ""},
		{"GET task", "GET", "/tasks/1/", "", nil, 200, "ETag", `"v1-json"`},
		{"POST sensor", "POST", "/sensors", `{"name":"n"}`, nil, 201, "Location", "/sensors/n"},
		{"POST task", "POST", "/tasks/", `{"summary":"t"}`, nil, 201, "Location", "/tasks/2/"},
		{"PUT sensor", "PUT", "/sensors/s", `{"value":"237"}`, nil, 200, "ETag", `"v3-json"`},
		{"PUT task", "PUT", "/tasks/1/", `{"summary":"a","description":"b"}`, nil, 200, "", ""},
		{"PATCH task", "PATCH", "/tasks/1", `{"summary":"a"}`, []string{"Content-Type", "application/merge-patch+json"}, 200, "", ""},
		{"DELETE sensor", "DELETE", "/sensors/s", "", nil, 204, "", ""},
		{"DELETE task", "DELETE", "/tasks/1", "", nil, 204, "", ""},
		{"OPTIONS sensors", "OPTIONS", "/sensors", "", nil, 204, "Allow", "GET, HEAD, OPTIONS, POST"},
		{"OPTIONS sensor", "OPTIONS", "/sensors/s", "", nil, 204, "Allow", "DELETE, GET, HEAD, OPTIONS, PUT"},
		{"OPTIONS readings", "OPTIONS", "/sensors/s/readings", "", nil, 204, "Allow", "GET, HEAD, OPTIONS"},
		{"OPTIONS task", "OPTIONS", "/tasks/1/", "", nil, 204, "Accept-Patch", "application/merge-patch+json"},
		{"OPTIONS tasks", "OPTIONS", "/tasks/", "", nil, 204, "Allow", "GET, HEAD, OPTIONS, POST"},
		{"OPTIONS root", "OPTIONS", "/", "", nil, 204, "Allow", "GET, HEAD, OPTIONS"},
		{"304", "GET", "/sensors/s", "", []string{"If-None-Match", `"v2-json"`}, 304, "ETag", `"v2-json"`},
		{"400 malformed JSON", "POST", "/sensors", `{"name"`, nil, 400, "", ""},
		{"400 wrong type", "PUT", "/sensors/s", `{"value":[1]}`, nil, 400, "", ""},
		{"400 unknown field", "POST", "/tasks/", `{"summary":"s","extra":1}`, nil, 400, "", ""},
		{"400 bad date", "GET", "/sensors/s/readings?from=monday", "", nil, 400, "", ""},
		{"404 sensor", "GET", "/sensors/x", "", nil, 404, "", ""},
		{"404 task", "GET", "/tasks/9/", "", nil, 404, "", ""},
		{"404 path", "GET", "/sensor", "", nil, 404, "", ""},
		{"405 PATCH sensor", "PATCH", "/sensors/s", `{}`, nil, 405, "Allow", "DELETE, GET, HEAD, OPTIONS, PUT"},
		{"405 DELETE collection", "DELETE", "/sensors", "", nil, 405, "Allow", "GET, HEAD, OPTIONS, POST"},
		{"405 POST readings", "POST", "/sensors/s/readings", `{}`, nil, 405, "Allow", "GET, HEAD, OPTIONS"},
		{"405 PUT tasks", "PUT", "/tasks/", `{}`, nil, 405, "Allow", "GET, HEAD, OPTIONS, POST"},
		{"405 POST task", "POST", "/tasks/1/", `{}`, nil, 405, "Allow", "DELETE, GET, HEAD, OPTIONS, PATCH, PUT"},
		{"405 odd method", "BREW", "/sensors", "", nil, 405, "Allow", "GET"},
		{"406", "GET", "/sensors", "", []string{"Accept", "text/html"}, 406, "", ""},
		{"409", "POST", "/sensors", `{"name":"s"}`, nil, 409, "", ""},
		{"412", "PUT", "/sensors/s", `{"value":1}`, []string{"If-Match", `"v1-json"`}, 412, "", ""},
		{"413 by Content-Length", "POST", "/sensors", big, nil, 413, "", ""},
		{"415", "POST", "/sensors", `{"name":"n"}`, []string{"Content-Type", "text/plain"}, 415, "Accept", "application/json"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, Options{MaxBody: 1024})
			e.must(201, "POST", "/sensors", `{"name":"s"}`)
			e.must(200, "PUT", "/sensors/s", `{"value":1}`)
			e.must(201, "POST", "/tasks/", `{"summary":"t"}`)
			r := e.do(tc.method, tc.path, tc.body, tc.hdr...)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d\n%s", r.status, tc.want, r)
			}
			if tc.wantHeader != "" {
				if v := r.header.Get(tc.wantHeader); v == "" || !strings.Contains(v, tc.contains) {
					t.Errorf("%s: %q, want it to contain %q", tc.wantHeader, v, tc.contains)
				}
			}
			if r.status >= 400 && tc.method != "HEAD" {
				problemOf(t, r, tc.want)
			}
			if r.header.Get("Vary") != "Accept" {
				t.Errorf("Vary %q", r.header.Get("Vary"))
			}
		})
	}
}

// TestHead: HEAD answers everything GET does, with the same header fields
// and no body.
func TestHead(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.must(201, "POST", "/sensors", `{"name":"s"}`)
	e.must(201, "POST", "/tasks/", `{"summary":"t"}`)
	for _, p := range []string{"/", "/sensors", "/sensors/s", "/sensors/s/readings", "/tasks/", "/tasks", "/tasks/1/", "/tasks/1"} {
		g := e.must(200, "GET", p, "")
		h := e.must(200, "HEAD", p, "")
		if len(h.body) != 0 {
			t.Errorf("HEAD %s has a body", p)
		}
		for _, k := range []string{"Content-Type", "Content-Length", "ETag", "Cache-Control", "Link", "Vary"} {
			if g.header.Get(k) != h.header.Get(k) {
				t.Errorf("HEAD %s: %s %q, GET has %q", p, k, h.header.Get(k), g.header.Get(k))
			}
		}
	}
}

func TestOptionsAsterisk(t *testing.T) {
	srv := New(Options{Store: sqliteStore(t)})
	addr, err := srv.ListenAndServe("127.0.0.1:0", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Shutdown(context.Background())
	conn, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	io.WriteString(conn, "OPTIONS * HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
	b, _ := io.ReadAll(conn)
	if !bytes.HasPrefix(b, []byte("HTTP/1.1 204")) || !bytes.Contains(b, []byte("Allow: DELETE, GET")) {
		t.Errorf("%s", b)
	}
}

// TestBodyLimit: a body over MaxBody is 413 whether or not it declares its
// length, and nothing is stored.
func TestBodyLimit(t *testing.T) {
	e := newEnv(t, nil, Options{MaxBody: 100})
	e.must(201, "POST", "/sensors", `{"name":"s"}`)
	e.must(201, "POST", "/tasks/", `{"summary":"t"}`)
	huge := `{"summary":"x","description":"` + strings.Repeat("d", 200) + `"}`
	problemOf(t, e.do("POST", "/tasks/", huge), 413)
	problemOf(t, e.do("PUT", "/tasks/1/", huge), 413)
	// Chunked: no Content-Length, the limit is hit while reading.
	req, _ := http.NewRequest("PATCH", e.srv.URL+"/tasks/1/", io.MultiReader(strings.NewReader(huge)))
	req.Header.Set("Content-Type", "application/json")
	req.ContentLength = -1
	res, err := e.hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 413 {
		t.Errorf("chunked: %d", res.StatusCode)
	}
	// Exactly at the limit is fine.
	body := `{"summary":"x","description":"` + strings.Repeat("d", 100-len(`{"summary":"x","description":""}`)) + `"}`
	if len(body) != 100 {
		t.Fatal(len(body))
	}
	e.must(200, "PUT", "/tasks/1/", body)
	if got := decode[jTask](t, e.must(200, "GET", "/tasks/1/", "")); got.Summary != "x" {
		t.Errorf("%+v", got)
	}
	if list := decode[[]jTaskItem](t, e.must(200, "GET", "/tasks/", "")); len(list) != 1 {
		t.Errorf("%+v", list)
	}
}

// TestBadInputNeverChangesData sends bad input of every kind to every
// write and checks that each gets a 4xx problem, never a 5xx, and that the
// stored data is exactly what it was.
func TestBadInputNeverChangesData(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, Options{MaxBody: 4096})
		e.must(201, "POST", "/sensors", `{"name":"s"}`)
		e.must(200, "PUT", "/sensors/s", `{"value":1,"unit":"C"}`)
		e.must(201, "POST", "/tasks/", `{"summary":"t","description":"d"}`)
		snapshot := func() string {
			var b strings.Builder
			for _, p := range []string{"/sensors", "/sensors/s", "/sensors/s/readings", "/tasks/", "/tasks/1/"} {
				r := e.must(200, "GET", p, "")
				b.WriteString(r.header.Get("ETag") + string(r.body))
			}
			return b.String()
		}
		before := snapshot()
		bodies := []string{
			`{`, `}`, `[]`, `null`, `true`, `1`, `"x"`, `{"a":1}`, `{"value":1,}`, `{,}`, `{"value":1}{"value":2}`,
			`{"name":1}`, `{"name":""}`, `{"name":"s"}`, `{"name":"a b"}`, `{"name":"` + strings.Repeat("n", 65) + `"}`,
			`{"value":"1e999"}`, `{"value":"NaN"}`, `{"value":-1e309}`, `{"value":[]}`, `{"value":{"x":1}}`, `{"value":"12abc"}`,
			`{"value":1,"unit":"kelvin"}`, `{"value":1,"unit":true}`, `{"value":1,"extra":null}`,
			`{"summary":"` + strings.Repeat("s", 120) + `","description":""}`,
			`{"summary":"` + strings.Repeat("s", 121) + `","description":""}`,
			`{"summary":"line\nbreak","description":""}`, `{"summary":"cr\r","description":""}`,
			`{"summary":null,"description":""}`, `{"summary":"","description":""}`, `{"summary":1,"description":""}`,
			`{"summary":"s","description":null,"x":1}`, `{"summary":"s","description":"\u0000"}`,
			`{"summary":"s","description":""` + strings.Repeat(" ", 5000) + `}`, // over MaxBody
			strings.Repeat(`[`, 3000) + strings.Repeat(`]`, 3000),
			"{\"summary\":\"\xc3\x28\"}", "\xef\xbb\xbf{\"name\":\"bom\"}", "{\"name\":\"x\"\x00}",
		}
		targets := []struct {
			method, path string
		}{
			{"POST", "/sensors"}, {"PUT", "/sensors/s"}, {"POST", "/tasks/"}, {"PUT", "/tasks/1/"}, {"PATCH", "/tasks/1/"},
		}
		for _, tg := range targets {
			for _, body := range bodies {
				r := e.do(tg.method, tg.path, body)
				if r.status >= 500 {
					t.Errorf("%s %s %q: %s", tg.method, tg.path, body, r)
					continue
				}
				if r.status < 400 {
					t.Errorf("%s %s %.40q accepted: %d", tg.method, tg.path, body, r.status)
					continue
				}
				if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
					t.Errorf("%s %s: Content-Type %q", tg.method, tg.path, r.header.Get("Content-Type"))
				}
			}
		}
		// Bad headers and paths.
		for _, c := range []struct{ method, path, body string }{
			{"GET", "/sensors/s/readings?limit=99999999999999999999", ""},
			{"GET", "/sensors/s/readings?after=99999999999999999999", ""},
			{"PUT", "/sensors/%2e%2e", `{"value":2}`},
			{"DELETE", "/tasks/1e3/", ""},
		} {
			if r := e.do(c.method, c.path, c.body); r.status < 400 || r.status >= 500 {
				t.Errorf("%s %s: %s", c.method, c.path, r)
			}
		}
		if after := snapshot(); after != before {
			t.Errorf("refused requests changed the data:\n%s\n%s", before, after)
		}
	})
}

func TestBearerToken(t *testing.T) {
	e := newEnv(t, nil, Options{Token: "s3cret"})
	// Reads are open.
	e.must(200, "GET", "/sensors", "")
	e.must(204, "OPTIONS", "/sensors", "")
	for _, auth := range []string{"", "Bearer", "Bearer ", "Bearer wrong", "Basic czNjcmV0", "Bearer s3cret2", "s3cret"} {
		for _, c := range []struct{ method, path, body string }{
			{"POST", "/sensors", `{"name":"a"}`}, {"PUT", "/sensors/a", `{"value":1}`}, {"DELETE", "/sensors/a", ""},
			{"POST", "/tasks/", `{"summary":"t"}`}, {"PATCH", "/tasks/1/", `{"summary":"t"}`},
		} {
			hdr := []string{"Authorization", auth}
			r := e.do(c.method, c.path, c.body, hdr...)
			problemOf(t, r, 401)
			if ch := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(ch, "Bearer") {
				t.Errorf("%s %s with %q: WWW-Authenticate %q", c.method, c.path, auth, ch)
			}
		}
	}
	if list := decode[[]jSensor](t, e.must(200, "GET", "/sensors", "")); len(list) != 0 {
		t.Fatalf("unauthorized write went through: %+v", list)
	}
	// 401 comes before anything else: even a body that would be 415.
	problemOf(t, e.do("POST", "/sensors", "x", "Content-Type", "text/plain"), 401)
	e.token = "s3cret"
	e.must(201, "POST", "/sensors", `{"name":"a"}`)
	e.must(200, "PUT", "/sensors/a", `{"value":1}`, "Authorization", "bearer s3cret") // scheme is case-insensitive
	e.must(204, "DELETE", "/sensors/a", "")
}

// TestServerTLSAndShutdown runs Server on a real loopback listener over
// TLS: the links say https, the bound address is reported, Shutdown stops it.
func TestServerTLSAndShutdown(t *testing.T) {
	conf, certPEM, err := listeners.SelfSigned("127.0.0.1")
	if err != nil {
		t.Fatal(err)
	}
	var logBuf syncbuf.Buffer
	srv := New(Options{Store: sqliteStore(t), Logger: slog.New(slog.NewTextHandler(&logBuf, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	addr, err := srv.ListenAndServe("127.0.0.1:0", conf)
	if err != nil {
		t.Fatal(err)
	}
	if srv.Addr().String() != addr.String() || !strings.HasPrefix(srv.URL(), "https://127.0.0.1:") {
		t.Fatalf("Addr %v, URL %s", srv.Addr(), srv.URL())
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}, Timeout: 10 * time.Second}
	res, err := hc.Post(srv.URL()+"/sensors", "application/json", strings.NewReader(`{"name":"tls"}`))
	if err != nil {
		t.Fatal(err)
	}
	var s jSensor
	json.NewDecoder(res.Body).Decode(&s)
	res.Body.Close()
	if res.StatusCode != 201 || !strings.HasPrefix(href(s.Links, "self"), "https://127.0.0.1:") {
		t.Errorf("%d %+v", res.StatusCode, s)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := hc.Get(srv.URL() + "/sensors"); err == nil {
		t.Error("server still answers after Shutdown")
	}
	// The access log is at debug level.
	if !strings.Contains(logBuf.String(), `msg=request method=POST path=/sensors status=201`) {
		t.Errorf("access log:\n%s", logBuf.String())
	}
}

// TestServe runs Server.Serve on a listener the caller made.
func TestServe(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := New(Options{Store: sqliteStore(t)})
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ln) }()
	res, err := http.Get("http://" + ln.Addr().String() + "/")
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || srv.Addr().String() != ln.Addr().String() {
		t.Errorf("%d %v", res.StatusCode, srv.Addr())
	}
	srv.Shutdown(context.Background())
	if err := <-done; err != nil {
		t.Errorf("Serve returned %v after Shutdown", err)
	}
}

// TestLinksFollowHost: hrefs are absolute and built from the Host header.
func TestLinksFollowHost(t *testing.T) {
	e := newEnv(t, nil, Options{})
	r := e.must(201, "POST", "/sensors", `{"name":"s"}`, "Host", "example.test:8080")
	s := decode[jSensor](t, r)
	want := map[string]string{
		"self":       "http://example.test:8080/sensors/s",
		"collection": "http://example.test:8080/sensors",
		"readings":   "http://example.test:8080/sensors/s/readings",
	}
	for rel, h := range want {
		if got := href(s.Links, rel); got != h {
			t.Errorf("%s: %q, want %q", rel, got, h)
		}
	}
	if lh := r.header.Get("Link"); !strings.Contains(lh, `<http://example.test:8080/sensors/s>; rel="self"`) {
		t.Errorf("Link %q", lh)
	}
}

// TestStoreFailureIs500 checks that an unexpected store error is a 500
// problem that leaks nothing, and is logged.
func TestStoreFailureIs500(t *testing.T) {
	st := sqliteStore(t)
	var logBuf syncbuf.Buffer
	h := NewHandler(Options{Store: st, Logger: slog.New(slog.NewTextHandler(&logBuf, nil))})
	st.Close() // every call now fails with "sql: database is closed"
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/sensors", ""}, {"GET", "/sensors/s", ""}, {"POST", "/tasks/", `{"summary":"x"}`},
	} {
		rec := httptest.NewRecorder()
		req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
		req.Header.Set("Content-Type", "application/json")
		h.ServeHTTP(rec, req)
		if rec.Code != 500 || !strings.Contains(rec.Body.String(), `"detail":"the server could not complete the request"`) ||
			strings.Contains(rec.Body.String(), "sql") {
			t.Errorf("%s %s: %d %s", c.method, c.path, rec.Code, rec.Body.String())
		}
	}
	if !strings.Contains(logBuf.String(), "level=ERROR msg=\"internal error\"") || !strings.Contains(logBuf.String(), "closed") {
		t.Errorf("log:\n%s", logBuf.String())
	}
}
