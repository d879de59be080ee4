package rest

import (
	"encoding/json"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"unicode/utf8"
)

// The fuzz targets send arbitrary bodies to the two writes that validate
// the most. Whatever the body: no panic, never a 5xx, a refused request
// leaves the data as it was, and an accepted one stores only valid data.
// Seed corpora are in testdata/fuzz/<target>/; run with e.g.
//
//	go test ./reference/rest -run '^$' -fuzz FuzzSensorPUT -fuzztime 30s -fuzzminimizetime 100x
//
// (Every execution writes to SQLite, so minimizing an interesting input
// with the default 60s budget shows up as long pauses at "0/sec".)

func fuzzHandler(f *testing.F) http.Handler {
	return NewHandler(Options{Store: sqliteStore(f), MaxBody: 4096})
}

func serve(h http.Handler, method, path, ct string, body []byte) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(string(body)))
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func FuzzSensorPUT(f *testing.F) {
	for _, s := range []string{
		`{"value":"237"}`, `{"value":237}`, `{"value":-1.5e3,"unit":"C"}`, `{"value":"1e400"}`, `{"value":null}`,
		`{"value":1,"unit":"F","name":"s"}`, `{"value":1,"name":"t"}`, `{"value":[1]}`, `{`, `"237"`, ``,
	} {
		f.Add([]byte(s))
	}
	h := fuzzHandler(f)
	if rec := serve(h, "POST", "/sensors", "application/json", []byte(`{"name":"s"}`)); rec.Code != 201 {
		f.Fatal(rec.Body.String())
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		before := serve(h, "GET", "/sensors/s", "", nil)
		rec := serve(h, "PUT", "/sensors/s", "application/json", body)
		if rec.Code >= 500 {
			t.Fatalf("PUT %q: %d %s", body, rec.Code, rec.Body.String())
		}
		after := serve(h, "GET", "/sensors/s", "", nil)
		if rec.Code != 200 {
			if rec.Code < 400 {
				t.Fatalf("PUT %q: %d", body, rec.Code)
			}
			if after.Body.String() != before.Body.String() {
				t.Fatalf("refused PUT %q changed the sensor", body)
			}
			return
		}
		var s struct {
			Value *float64
			Unit  *string
		}
		if err := json.Unmarshal(after.Body.Bytes(), &s); err != nil || s.Value == nil || math.IsInf(*s.Value, 0) || math.IsNaN(*s.Value) {
			t.Fatalf("PUT %q stored %s", body, after.Body.String())
		}
		if s.Unit != nil && *s.Unit != "C" && *s.Unit != "F" {
			t.Fatalf("PUT %q stored unit %q", body, *s.Unit)
		}
	})
}

func FuzzTaskPOST(f *testing.F) {
	for _, s := range []string{
		`{"summary":"recipe for tiramisu","description":"call mom and ask..."}`, `{"summary":"s"}`,
		`{"summary":"a\nb"}`, `{"summary":"` + strings.Repeat("x", 119) + `"}`, `{"summary":"` + strings.Repeat("x", 120) + `"}`,
		`{"summary":"s","description":"\u0000"}`, `{"summary":null}`, `{"id":1,"summary":"s"}`, `[]`, `{"summary":"\u2028"}`,
	} {
		f.Add([]byte(s))
	}
	h := fuzzHandler(f)
	count := func() int {
		var list []json.RawMessage
		json.Unmarshal(serve(h, "GET", "/tasks/", "", nil).Body.Bytes(), &list)
		return len(list)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n := count()
		rec := serve(h, "POST", "/tasks/", "application/json", body)
		if rec.Code >= 500 {
			t.Fatalf("POST %q: %d %s", body, rec.Code, rec.Body.String())
		}
		if rec.Code != 201 {
			if rec.Code < 400 {
				t.Fatalf("POST %q: %d", body, rec.Code)
			}
			if count() != n {
				t.Fatalf("refused POST %q added a task", body)
			}
			return
		}
		loc := rec.Header().Get("Location")
		got := serve(h, "GET", loc, "", nil)
		var task struct{ Summary, Description string }
		if err := json.Unmarshal(got.Body.Bytes(), &task); err != nil {
			t.Fatalf("GET %s: %v", loc, err)
		}
		if n := utf8.RuneCountInString(task.Summary); n == 0 || n > 119 || strings.ContainsAny(task.Summary, "\r\n") {
			t.Fatalf("POST %q stored summary %q", body, task.Summary)
		}
		if strings.ContainsRune(task.Description, 0) {
			t.Fatalf("POST %q stored a NUL", body)
		}
		// Keep the list short so that count stays cheap.
		if rec := serve(h, "DELETE", loc, "", nil); rec.Code != 204 {
			t.Fatalf("DELETE %s: %d", loc, rec.Code)
		}
	})
}
