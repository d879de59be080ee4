package rest

import (
	"strconv"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// TestTasksSeed follows the seed's todo-list example: POST returns 201 and
// {"id": N}; the list shows id and summary; one task shows all fields; PUT
// replaces; PATCH changes only what it names; DELETE strikes the task off.
func TestTasksSeed(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, Options{})
		r := e.must(201, "POST", "/tasks/", `{"summary": "recipe for tiramisu", "description": "call mom and ask..."}`)
		created := decode[struct {
			ID    int64
			Links []jLink
		}](t, r)
		self := "/tasks/" + strconv.FormatInt(created.ID, 10) + "/"
		if created.ID <= 0 || r.header.Get("Location") != self || href(created.Links, "self") != e.srv.URL+self {
			t.Fatalf("201: %+v Location %q", created, r.header.Get("Location"))
		}
		e.must(201, "POST", "/tasks", `{"summary": "what to buy today", "description": "6 eggs, carrots, spaghetti"}`)

		list := decode[[]jTaskItem](t, e.must(200, "GET", "/tasks/", ""))
		if len(list) != 2 || list[0].Summary != "recipe for tiramisu" || list[1].Summary != "what to buy today" {
			t.Fatalf("list %+v", list)
		}
		id := list[1].ID
		path := "/tasks/" + strconv.FormatInt(id, 10) + "/"
		for _, p := range []string{path, strings.TrimSuffix(path, "/")} {
			task := decode[jTask](t, e.must(200, "GET", p, ""))
			if task.ID != id || task.Description != "6 eggs, carrots, spaghetti" ||
				href(task.Links, "self") != e.srv.URL+path || href(task.Links, "collection") != e.srv.URL+"/tasks/" {
				t.Errorf("GET %s: %+v", p, task)
			}
		}

		// The seed's PUT, id included.
		put := `{"id": ` + strconv.FormatInt(id, 10) + `, "summary": "what to buy today", "description": "6 eggs, carrots, spaghetti, bread"}`
		task := decode[jTask](t, e.must(200, "PUT", path, put))
		if task.Description != "6 eggs, carrots, spaghetti, bread" {
			t.Errorf("after PUT %+v", task)
		}
		// The seed's PATCH.
		task = decode[jTask](t, e.must(200, "PATCH", path, `{"description": "6 eggs, carrots, spaghetti, bread, milk"}`,
			"Content-Type", "application/merge-patch+json"))
		if task.Summary != "what to buy today" || task.Description != "6 eggs, carrots, spaghetti, bread, milk" {
			t.Errorf("after PATCH %+v", task)
		}

		e.must(204, "DELETE", path, "")
		problemOf(t, e.do("GET", path, ""), 404)
		problemOf(t, e.do("DELETE", path, ""), 404)
		list = decode[[]jTaskItem](t, e.must(200, "GET", "/tasks", ""))
		if len(list) != 1 || list[0].ID == id {
			t.Fatalf("list after DELETE %+v", list)
		}
	})
}

func TestTaskValidation(t *testing.T) {
	s119 := strings.Repeat("é", 119) // characters, not bytes
	s120 := strings.Repeat("a", 120)
	cases := []struct {
		name, method, body string
		want               int
		detail             string
	}{
		{"POST ok", "POST", `{"summary":"s","description":"d"}`, 201, ""},
		{"POST without description", "POST", `{"summary":"s"}`, 201, ""},
		{"POST empty description", "POST", `{"summary":"s","description":""}`, 201, ""},
		{"POST 119 characters", "POST", `{"summary":"` + s119 + `"}`, 201, ""},
		{"POST multi-line description", "POST", `{"summary":"s","description":"a\nb\r\n\tc"}`, 201, ""},
		{"POST 120 characters", "POST", `{"summary":"` + s120 + `"}`, 400, "under 120"},
		{"POST 121 characters", "POST", `{"summary":"` + s120 + `a"}`, 400, "under 120"},
		{"POST newline", "POST", `{"summary":"a\nb"}`, 400, "one line"},
		{"POST carriage return", "POST", `{"summary":"a\rb"}`, 400, "one line"},
		{"POST tab", "POST", `{"summary":"a\tb"}`, 400, "control character"},
		{"POST line separator", "POST", `{"summary":"a\u2028b"}`, 400, "control character"},
		{"POST empty summary", "POST", `{"summary":""}`, 400, "empty"},
		{"POST blank summary", "POST", `{"summary":"   "}`, 400, "empty"},
		{"POST missing summary", "POST", `{"description":"d"}`, 400, "summary: required"},
		{"POST null summary", "POST", `{"summary":null}`, 400, "summary: required"},
		{"POST numeric summary", "POST", `{"summary":1}`, 400, "must be a string"},
		{"POST numeric description", "POST", `{"summary":"s","description":2}`, 400, "must be a string"},
		{"POST NUL in description", "POST", `{"summary":"s","description":"a\u0000b"}`, 400, "control character"},
		{"POST id", "POST", `{"id":5,"summary":"s"}`, 400, "unknown field"},
		{"POST unknown field", "POST", `{"summary":"s","done":true}`, 400, "unknown field"},
		{"PUT ok", "PUT", `{"summary":"s","description":"d"}`, 200, ""},
		{"PUT own id", "PUT", `{"id":1,"summary":"s","description":"d"}`, 200, ""},
		{"PUT other id", "PUT", `{"id":2,"summary":"s","description":"d"}`, 400, "ids cannot be changed"},
		{"PUT id as string", "PUT", `{"id":"1","summary":"s","description":"d"}`, 400, "ids cannot be changed"},
		{"PUT without description", "PUT", `{"summary":"s"}`, 400, "description: required"},
		{"PUT without summary", "PUT", `{"description":"d"}`, 400, "summary: required"},
		{"PUT 120 characters", "PUT", `{"summary":"` + s120 + `","description":""}`, 400, "under 120"},
		{"PATCH summary", "PATCH", `{"summary":"new"}`, 200, ""},
		{"PATCH empty", "PATCH", `{}`, 200, ""},
		{"PATCH remove summary", "PATCH", `{"summary":null}`, 400, "cannot be removed"},
		{"PATCH remove id", "PATCH", `{"id":null}`, 400, "cannot be removed"},
		{"PATCH newline", "PATCH", `{"summary":"a\nb"}`, 400, "one line"},
		{"PATCH unknown field", "PATCH", `{"priority":1}`, 400, "unknown field"},
		{"PATCH not an object", "PATCH", `"x"`, 400, "JSON object"},
		{"PATCH nested", "PATCH", `{"description":{"a":1}}`, 400, "must be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, nil, Options{})
			e.must(201, "POST", "/tasks/", `{"summary":"original","description":"text"}`)
			before := e.must(200, "GET", "/tasks/1/", "")
			path := "/tasks/"
			if tc.method != "POST" {
				path = "/tasks/1/"
			}
			r := e.do(tc.method, path, tc.body)
			if tc.want < 300 {
				if r.status != tc.want {
					t.Fatalf("status %d, want %d: %s", r.status, tc.want, r)
				}
				return
			}
			p := problemOf(t, r, tc.want)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
			}
			if after := e.must(200, "GET", "/tasks/1/", ""); string(after.body) != string(before.body) {
				t.Errorf("refused request changed the task:\n%s\n%s", before.body, after.body)
			}
			if list := decode[[]jTaskItem](t, e.must(200, "GET", "/tasks/", "")); len(list) != 1 {
				t.Errorf("refused request changed the list: %+v", list)
			}
		})
	}
}

// TestPatchMergeSemantics checks RFC 7396 on a task: absent members stay,
// present ones replace, null removes (description becomes ""), an empty
// patch changes nothing (not even the version).
func TestPatchMergeSemantics(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.must(201, "POST", "/tasks/", `{"summary":"s0","description":"d0"}`)
	mp := []string{"Content-Type", "application/merge-patch+json"}
	steps := []struct {
		patch, summary, description, etag string
	}{
		{`{"summary":"s1"}`, "s1", "d0", `"v2-json"`},
		{`{"description":"d1"}`, "s1", "d1", `"v3-json"`},
		{`{}`, "s1", "d1", `"v3-json"`},
		{`{"summary":"s1"}`, "s1", "d1", `"v3-json"`},
		{`{"description":null}`, "s1", "", `"v4-json"`},
		{`{"summary":"s2","description":"d2","id":1}`, "s2", "d2", `"v5-json"`},
	}
	for _, s := range steps {
		r := e.must(200, "PATCH", "/tasks/1/", s.patch, mp...)
		task := decode[jTask](t, r)
		if task.Summary != s.summary || task.Description != s.description || r.header.Get("ETag") != s.etag {
			t.Errorf("after %s: %+v ETag %s; want %q %q %s", s.patch, task, r.header.Get("ETag"), s.summary, s.description, s.etag)
		}
	}
	// application/json is accepted as a merge patch too; others are 415
	// with Accept-Patch.
	e.must(200, "PATCH", "/tasks/1", `{"summary":"s3"}`, "Content-Type", "application/json")
	r := e.do("PATCH", "/tasks/1/", `[{"op":"remove","path":"/summary"}]`, "Content-Type", "application/json-patch+json")
	problemOf(t, r, 415)
	if ap := r.header.Get("Accept-Patch"); !strings.Contains(ap, "application/merge-patch+json") {
		t.Errorf("Accept-Patch %q", ap)
	}
	if task := decode[jTask](t, e.must(200, "GET", "/tasks/1/", "")); task.Summary != "s3" {
		t.Errorf("after refused JSON Patch: %+v", task)
	}
}

func TestTaskIDs(t *testing.T) {
	e := newEnv(t, nil, Options{})
	e.must(201, "POST", "/tasks/", `{"summary":"s"}`)
	for _, p := range []string{"/tasks/0/", "/tasks/-1/", "/tasks/01/", "/tasks/+1/", "/tasks/x/", "/tasks/99999999999999999999/", "/tasks/2/"} {
		problemOf(t, e.do("GET", p, ""), 404)
		problemOf(t, e.do("PUT", p, `{"summary":"s","description":""}`), 404)
		problemOf(t, e.do("PATCH", p, `{"summary":"s"}`), 404)
		problemOf(t, e.do("DELETE", p, ""), 404)
	}
}
