package rest

import (
	"fmt"
	"net/http"
	"sync"
	"testing"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

func TestParseETags(t *testing.T) {
	cases := []struct {
		in   []string
		tags []entityTag
		star bool
		ok   bool
	}{
		{[]string{`"v1-json"`}, []entityTag{{false, "v1-json"}}, false, true},
		{[]string{`W/"v1-json"`}, []entityTag{{true, "v1-json"}}, false, true},
		{[]string{`"a", W/"b" ,"c"`}, []entityTag{{false, "a"}, {true, "b"}, {false, "c"}}, false, true},
		{[]string{`"a"`, `"b"`}, []entityTag{{false, "a"}, {false, "b"}}, false, true},
		{[]string{`""`}, []entityTag{{false, ""}}, false, true},
		{[]string{`*`}, nil, true, true},
		{[]string{` * `}, nil, true, true},
		{[]string{`v1-json`}, nil, false, false},
		{[]string{`"v1-json`}, nil, false, false},
		{[]string{`w/"x"`}, nil, false, false},
		{[]string{`"a" "b"`}, nil, false, false},
		{[]string{`*, "a"`}, nil, false, false},
		{[]string{`"a b"`}, nil, false, false},
	}
	for _, tc := range cases {
		tags, star, ok := parseETags(tc.in)
		if ok != tc.ok || star != tc.star || len(tags) != len(tc.tags) {
			t.Errorf("%q: %v %v %v", tc.in, tags, star, ok)
			continue
		}
		for i := range tags {
			if tags[i] != tc.tags[i] {
				t.Errorf("%q: tag %d = %v, want %v", tc.in, i, tags[i], tc.tags[i])
			}
		}
	}
	for s, want := range map[string]int64{"v1-json": 1, "v42-xml": 42, "v7-text-xml": 7} {
		if n, ok := versionOfTag(s); !ok || n != want {
			t.Errorf("versionOfTag(%q) = %d %v", s, n, ok)
		}
	}
	for _, s := range []string{"v0-json", "v01-json", "v1-yaml", "v-1-json", "1-json", "v1", "v+1-json", "c12-json"} {
		if n, ok := versionOfTag(s); ok {
			t.Errorf("versionOfTag(%q) = %d", s, n)
		}
	}
}

// TestConditionalRequests covers RFC 9110 §13: strong ETags on every
// representation, If-None-Match → 304 on GET and HEAD, If-Match → 412 on
// mismatch for PUT, PATCH and DELETE, weak tags never matching If-Match.
func TestConditionalRequests(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, Options{})
		e.must(201, "POST", "/sensors", `{"name":"s"}`)
		e.must(201, "POST", "/tasks/", `{"summary":"s"}`)

		// GET: a strong tag per version and media type; 304 for a match.
		r := e.must(200, "GET", "/sensors/s", "")
		tag := r.header.Get("ETag")
		if tag != `"v1-json"` || r.header.Get("Cache-Control") != "no-cache" || r.header.Get("Vary") != "Accept" {
			t.Fatalf("headers %v", r.header)
		}
		for _, inm := range []string{tag, `W/"v1-json"`, `"v0-json", "v1-json"`, `*`} {
			for _, m := range []string{"GET", "HEAD"} {
				r := e.must(304, m, "/sensors/s", "", "If-None-Match", inm)
				if r.header.Get("ETag") != tag || len(r.body) != 0 {
					t.Errorf("%s If-None-Match %s: %v %q", m, inm, r.header, r.body)
				}
			}
		}
		// The XML variant has its own tag: a JSON tag does not validate it.
		if r := e.must(200, "GET", "/sensors/s", "", "Accept", "application/xml", "If-None-Match", tag); r.header.Get("ETag") != `"v1-xml"` {
			t.Errorf("XML ETag %q", r.header.Get("ETag"))
		}
		e.must(200, "GET", "/sensors/s", "", "If-None-Match", `"v2-json"`)
		e.must(200, "GET", "/sensors/s", "", "If-None-Match", `not-a-tag`) // malformed: ignored
		e.must(412, "GET", "/sensors/s", "", "If-Match", `"v9-json"`)
		e.must(200, "GET", "/sensors/s", "", "If-Match", tag)

		// Collections: a digest tag, 304 on a match, a new tag on change.
		lr := e.must(200, "GET", "/sensors", "")
		ltag := lr.header.Get("ETag")
		if ltag == "" || lr.header.Get("Link") == "" {
			t.Fatalf("list headers %v", lr.header)
		}
		e.must(304, "GET", "/sensors", "", "If-None-Match", ltag)
		tr := e.must(200, "GET", "/tasks/", "")
		e.must(304, "GET", "/tasks/", "", "If-None-Match", tr.header.Get("ETag"))
		rr := e.must(200, "GET", "/sensors/s/readings", "")
		e.must(304, "GET", "/sensors/s/readings", "", "If-None-Match", rr.header.Get("ETag"))

		// PUT with a stale, weak, malformed or foreign tag: 412, no change.
		for _, im := range []string{`"v2-json"`, `W/"v1-json"`, `v1-json`, `"c1-json"`, `"v1-yaml"`} {
			problemOf(t, e.do("PUT", "/sensors/s", `{"value":1}`, "If-Match", im), http.StatusPreconditionFailed)
		}
		e.must(304, "GET", "/sensors/s", "", "If-None-Match", tag) // unchanged
		// The matching tag (of any variant), a list holding it, or *: 200.
		r = e.must(200, "PUT", "/sensors/s", `{"value":1}`, "If-Match", tag)
		if r.header.Get("ETag") != `"v2-json"` {
			t.Errorf("ETag after PUT %q", r.header.Get("ETag"))
		}
		e.must(200, "PUT", "/sensors/s", `{"value":2}`, "If-Match", `"v1-json", "v2-xml"`)
		e.must(200, "PUT", "/sensors/s", `{"value":3}`, "If-Match", `"v0-json"`, "If-Match", `"v3-json"`)
		e.must(200, "PUT", "/sensors/s", `{"value":4}`, "If-Match", `*`)
		// If-None-Match: * on a write means "only if it does not exist".
		e.must(412, "PUT", "/sensors/s", `{"value":5}`, "If-None-Match", `*`)
		e.must(412, "PUT", "/sensors/s", `{"value":5}`, "If-None-Match", `"v5-json"`)
		e.must(200, "PUT", "/sensors/s", `{"value":5}`, "If-None-Match", `"v1-json"`)
		// On a resource that does not exist, the answer without the
		// preconditions would be 404, so they are ignored (§13.2.1).
		problemOf(t, e.do("PUT", "/sensors/gone", `{"value":1}`, "If-Match", `*`), 404)
		problemOf(t, e.do("DELETE", "/sensors/gone", "", "If-Match", `"v1-json"`), 404)
		problemOf(t, e.do("PUT", "/tasks/99/", `{"summary":"x","description":""}`, "If-Match", `*`), 404)
		problemOf(t, e.do("PATCH", "/tasks/99/", `{"summary":"x"}`, "If-Match", `"v1-json"`), 404)
		problemOf(t, e.do("DELETE", "/tasks/99/", "", "If-Match", `*`), 404)
		problemOf(t, e.do("PUT", "/sensors/gone", `{"value":"bad"}`, "If-Match", `*`), 404)
		// Order (§13.2.1, §13.2.2): the normal checks (415, 413) first, then
		// the preconditions (412), then the content (400).
		problemOf(t, e.do("PUT", "/sensors/s", `{"value":1}`, "If-Match", `"v1-json"`, "Content-Type", "text/plain"), 415)
		problemOf(t, e.do("PUT", "/sensors/s", `{"value":"bad"}`, "If-Match", `"v1-json"`), 412)
		problemOf(t, e.do("PATCH", "/tasks/1/", `{"summary":null}`, "If-Match", `"v9-json"`), 412)
		problemOf(t, e.do("PUT", "/sensors/s", `{"value":"bad"}`, "If-Match", `*`), 400)

		// Tasks: PUT, PATCH, DELETE.
		e.must(412, "PUT", "/tasks/1/", `{"summary":"x","description":""}`, "If-Match", `"v2-json"`)
		e.must(200, "PUT", "/tasks/1/", `{"summary":"x","description":""}`, "If-Match", `"v1-json"`)
		e.must(412, "PATCH", "/tasks/1/", `{"summary":"y"}`, "If-Match", `"v1-json"`)
		r = e.must(200, "PATCH", "/tasks/1/", `{"summary":"y"}`, "If-Match", `"v2-json"`)
		if r.header.Get("ETag") != `"v3-json"` {
			t.Errorf("ETag after PATCH %q", r.header.Get("ETag"))
		}
		e.must(412, "DELETE", "/tasks/1/", "", "If-Match", `"v2-json"`)
		e.must(200, "GET", "/tasks/1/", "")
		e.must(204, "DELETE", "/tasks/1/", "", "If-Match", `"v3-json"`)

		// DELETE of a sensor under If-Match.
		e.must(412, "DELETE", "/sensors/s", "", "If-Match", `"v1-json"`)
		e.must(204, "DELETE", "/sensors/s", "", "If-Match", `"v6-json"`)
		e.must(404, "GET", "/sensors/s", "")

		// If-Match on a collection POST: * holds, a stale digest does not.
		e.must(201, "POST", "/sensors", `{"name":"a"}`, "If-Match", `*`)
		e.must(412, "POST", "/sensors", `{"name":"b"}`, "If-Match", ltag)
		cur := e.must(200, "GET", "/sensors", "").header.Get("ETag")
		e.must(201, "POST", "/sensors", `{"name":"b"}`, "If-Match", cur)
	})
}

// TestConcurrentPutsSameIfMatch: 20 clients PUT with the same If-Match at
// once; the store's conditional update lets exactly one win, the others get
// 412, and exactly one reading is recorded.
func TestConcurrentPutsSameIfMatch(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, Options{})
		e.must(201, "POST", "/sensors", `{"name":"race"}`)
		e.must(201, "POST", "/tasks/", `{"summary":"race"}`)
		for _, target := range []struct{ method, path, body string }{
			{"PUT", "/sensors/race", `{"value":%d}`},
			{"PUT", "/tasks/1/", `{"summary":"by %d","description":""}`},
			{"PATCH", "/tasks/1/", `{"summary":"patched by %d"}`},
		} {
			tag := e.must(200, "GET", target.path, "").header.Get("ETag")
			const n = 20
			codes := make([]int, n)
			var wg sync.WaitGroup
			start := make(chan struct{})
			for i := range n {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					codes[i] = e.do(target.method, target.path, fmt.Sprintf(target.body, i), "If-Match", tag).status
				}()
			}
			close(start)
			wg.Wait()
			won, lost := 0, 0
			for _, c := range codes {
				switch c {
				case 200:
					won++
				case 412:
					lost++
				}
			}
			if won != 1 || lost != n-1 {
				t.Errorf("%s %s: %d won, %d got 412, codes %v", target.method, target.path, won, lost, codes)
			}
		}
		rd := decode[jReadings](t, e.must(200, "GET", "/sensors/race/readings", ""))
		if len(rd.Readings) != 1 {
			t.Errorf("%d readings recorded, want 1", len(rd.Readings))
		}
	})
}
