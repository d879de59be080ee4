package rest

import (
	"encoding/xml"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// Tasks: the seed's todo list.
//
//	GET    /tasks/        [{"id", "summary", "links"}, …]
//	GET    /tasks/{id}/   {"id", "summary", "description", "links"}
//	POST   /tasks/        {"summary", "description"} → 201, Location, {"id": N, "links"}
//	PUT    /tasks/{id}/   {"summary", "description"}: replaces both (both required)
//	PATCH  /tasks/{id}/   JSON Merge Patch (RFC 7396): members given are set,
//	                      "description": null empties it; summary cannot be removed
//	DELETE /tasks/{id}/   204; the task is gone from the list
//
// The seed says the summary "must be under 120 characters, no newline": a
// summary is 1 to 119 characters (Unicode code points), not all white
// space, with no control character (so no newline, carriage return or tab)
// and no line or paragraph separator (U+2028, U+2029). The description is
// free text, possibly empty, with any characters except the C0 controls
// other than tab, newline and carriage return (NUL cannot be stored in
// PostgreSQL text and none of them can be written in XML 1.0).
//
// A PUT or PATCH body may include "id" (the seed's PUT example does) if it
// is the task's own. Every invalid body is 400, including a merge patch that
// would remove the summary.

// maxSummary is the most characters a summary may have: "under 120".
const maxSummary = 119

func checkSummary(s string) error {
	if strings.TrimSpace(s) == "" {
		return badRequest("summary: must not be empty")
	}
	if n := utf8.RuneCountInString(s); n > maxSummary {
		return badRequest("summary: %d characters; it must be under 120 (at most %d)", n, maxSummary)
	}
	for _, c := range s {
		switch {
		case c == '\n' || c == '\r':
			return badRequest("summary: must be one line, without newline or carriage return")
		case unicode.IsControl(c) || c == '\u2028' || c == '\u2029':
			return badRequest("summary: control character %U is not allowed", c)
		}
	}
	return nil
}

func checkDescription(s string) error {
	for _, c := range s {
		if c < 0x20 && c != '\t' && c != '\n' && c != '\r' {
			return badRequest("description: control character %U is not allowed", c)
		}
	}
	return nil
}

type taskRep struct {
	XMLName     xml.Name `json:"-" xml:"task"`
	ID          int64    `json:"id" xml:"id"`
	Summary     string   `json:"summary" xml:"summary"`
	Description string   `json:"description" xml:"description"`
	Links       []link   `json:"links" xml:"links>link"`
}

// taskItem is a task as the list shows it: id and summary.
type taskItem struct {
	XMLName xml.Name `json:"-" xml:"task"`
	ID      int64    `json:"id" xml:"id"`
	Summary string   `json:"summary" xml:"summary"`
	Links   []link   `json:"links" xml:"links>link"`
}

type tasksXML struct {
	XMLName xml.Name   `xml:"tasks"`
	Tasks   []taskItem `xml:"task"`
	Links   []link     `xml:"links>link"`
}

// taskCreated is the body of 201: the seed's {"id": 3792}, plus links.
type taskCreated struct {
	XMLName xml.Name `json:"-" xml:"task"`
	ID      int64    `json:"id" xml:"id"`
	Links   []link   `json:"links" xml:"links>link"`
}

func noTask(s string) *httpError {
	return errorf(http.StatusNotFound, "no task with id %s", quoteShort(s))
}

func taskID(r *http.Request) (int64, error) {
	s := r.PathValue("id")
	id, ok := parseID(s)
	if !ok {
		return 0, noTask(s)
	}
	return id, nil
}

func (h *handler) renderTasks(r *http.Request, v variant) ([]byte, []link, error) {
	ts, err := h.st.ListTasks(r.Context())
	if err != nil {
		return nil, nil, err
	}
	items := make([]taskItem, 0, len(ts))
	for _, t := range ts {
		items = append(items, taskItem{ID: t.ID, Summary: t.Summary, Links: taskLinks(r, t.ID)})
	}
	links := []link{{"self", abs(r, tasksPath())}}
	body, err := encode(v, items, tasksXML{Tasks: items, Links: links})
	return body, links, err
}

func (h *handler) listTasks(w http.ResponseWriter, r *http.Request, v variant) error {
	body, links, err := h.renderTasks(r, v)
	if err != nil {
		return err
	}
	return sendCollection(w, r, v, body, links)
}

func (h *handler) getTask(w http.ResponseWriter, r *http.Request, v variant) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	t, err := h.st.GetTask(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return noTask(r.PathValue("id"))
	}
	if err != nil {
		return err
	}
	nm, err := checkRead(r, versioned(true, t.Version, v))
	if err != nil {
		return err
	}
	if nm {
		notModified(w, versionTag(t.Version, v))
		return nil
	}
	return sendTask(w, r, v, t)
}

func sendTask(w http.ResponseWriter, r *http.Request, v variant, t store.Task) error {
	rep := taskRep{ID: t.ID, Summary: t.Summary, Description: t.Description, Links: taskLinks(r, t.ID)}
	body, err := encode(v, rep, nil)
	if err != nil {
		return err
	}
	send(w, r, v, reply{body: body, etag: versionTag(t.Version, v), links: rep.Links})
	return nil
}

// taskFields reads summary and description from a POST or PUT body.
// needDescription: PUT replaces the task, so both are required; POST lets
// the description default to "".
func taskFields(f fields, needDescription bool) (summary, description string, err error) {
	summary, present, null, err := f.str("summary")
	if err != nil {
		return "", "", err
	}
	if !present || null {
		return "", "", badRequest(`summary: required, a one-line string under 120 characters`)
	}
	if err := checkSummary(summary); err != nil {
		return "", "", err
	}
	description, present, null, err = f.str("description")
	if err != nil {
		return "", "", err
	}
	if needDescription && (!present || null) {
		return "", "", badRequest(`description: required (PUT replaces the whole task; use "" for none, or PATCH)`)
	}
	if err := checkDescription(description); err != nil {
		return "", "", err
	}
	return summary, description, nil
}

// checkIDMember accepts an "id" member only if it is the task's own id.
func checkIDMember(f fields, id int64) error {
	raw, ok := f["id"]
	if !ok {
		return nil
	}
	if n, err := strconv.ParseInt(string(raw), 10, 64); err != nil || n != id {
		return badRequest("id: %s is not this task's id (%d); ids cannot be changed", quoteShort(string(raw)), id)
	}
	return nil
}

func (h *handler) createTask(w http.ResponseWriter, r *http.Request, v variant) error {
	body, err := h.readBody(w, r, mtJSON)
	if err != nil {
		return err
	}
	if err := h.checkCollectionWrite(r, func(v variant) ([]byte, error) {
		b, _, err := h.renderTasks(r, v)
		return b, err
	}); err != nil {
		return err
	}
	f, err := parseObject(body)
	if err != nil {
		return err
	}
	if err := f.only("summary", "description"); err != nil {
		return err
	}
	summary, description, err := taskFields(f, false)
	if err != nil {
		return err
	}
	t, err := h.st.CreateTask(r.Context(), summary, description)
	if err != nil {
		return err
	}
	rep := taskCreated{ID: t.ID, Links: taskLinks(r, t.ID)}
	out, err := encode(v, rep, nil)
	if err != nil {
		return err
	}
	send(w, r, v, reply{status: http.StatusCreated, body: out, links: rep.Links, location: taskPath(t.ID)})
	return nil
}

func (h *handler) taskVersion(r *http.Request, id int64) func() (int64, error) {
	return func() (int64, error) {
		t, err := h.st.GetTask(r.Context(), id)
		return t.Version, err
	}
}

func (h *handler) putTask(w http.ResponseWriter, r *http.Request, v variant) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r, mtJSON)
	if err != nil {
		return err
	}
	ifv, err := h.writeVersion(r, h.taskVersion(r, id), noTask(r.PathValue("id")))
	if err != nil {
		return err
	}
	f, err := parseObject(body)
	if err != nil {
		return err
	}
	if err := f.only("summary", "description", "id"); err != nil {
		return err
	}
	if err := checkIDMember(f, id); err != nil {
		return err
	}
	summary, description, err := taskFields(f, true)
	if err != nil {
		return err
	}
	t, err := h.st.ReplaceTask(r.Context(), id, summary, description, ifv)
	if err != nil {
		return writeErr(err, noTask(r.PathValue("id")))
	}
	return sendTask(w, r, v, t)
}

// taskPatch is a parsed merge patch: the members it sets.
type taskPatch struct {
	summary, description       string
	hasSummary, hasDescription bool
}

func parseTaskPatch(body []byte, id int64) (taskPatch, error) {
	var p taskPatch
	f, err := parseObject(body)
	if err != nil {
		return p, err
	}
	if err := f.only("summary", "description", "id"); err != nil {
		return p, err
	}
	if raw, ok := f["id"]; ok && isNull(raw) {
		return p, badRequest("id: cannot be removed")
	}
	if err := checkIDMember(f, id); err != nil {
		return p, err
	}
	var null bool
	p.summary, p.hasSummary, null, err = f.str("summary")
	if err != nil {
		return p, err
	}
	if null {
		return p, badRequest("summary: cannot be removed (a task needs a summary); send a new one instead")
	}
	if p.hasSummary {
		if err := checkSummary(p.summary); err != nil {
			return p, err
		}
	}
	p.description, p.hasDescription, _, err = f.str("description") // null: "" (removed)
	if err != nil {
		return p, err
	}
	return p, checkDescription(p.description)
}

// patchTask applies a JSON Merge Patch (RFC 7396) to a task. The task is
// read, its preconditions checked, the patch parsed and applied, and the
// result written back conditionally on the version read; if another write
// got in between, the patch is applied again to the new state (unless the
// client's If-Match pinned the version: then 412).
func (h *handler) patchTask(w http.ResponseWriter, r *http.Request, v variant) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r, mtMergePatch, mtJSON)
	if err != nil {
		return err
	}
	var patch *taskPatch
	const attempts = 5
	for range attempts {
		cur, err := h.st.GetTask(r.Context(), id)
		if err != nil {
			return writeErr(err, noTask(r.PathValue("id")))
		}
		if err := checkWrite(r, versioned(true, cur.Version, v)); err != nil {
			return err
		}
		if patch == nil {
			p, err := parseTaskPatch(body, id)
			if err != nil {
				return err
			}
			patch = &p
		}
		next := cur
		if patch.hasSummary {
			next.Summary = patch.summary
		}
		if patch.hasDescription {
			next.Description = patch.description
		}
		if next.Summary == cur.Summary && next.Description == cur.Description {
			return sendTask(w, r, v, cur) // nothing to change
		}
		t, err := h.st.ReplaceTask(r.Context(), id, next.Summary, next.Description, cur.Version)
		if errors.Is(err, store.ErrPrecondition) && !hasIfMatch(r) {
			continue // changed since we read it: merge again
		}
		if err != nil {
			return writeErr(err, noTask(r.PathValue("id")))
		}
		return sendTask(w, r, v, t)
	}
	return errorf(http.StatusConflict, "the task kept changing while the patch was applied; try again")
}

func (h *handler) deleteTask(w http.ResponseWriter, r *http.Request, _ variant) error {
	id, err := taskID(r)
	if err != nil {
		return err
	}
	ifv, err := h.writeVersion(r, h.taskVersion(r, id), noTask(r.PathValue("id")))
	if err != nil {
		return err
	}
	if err := h.st.DeleteTask(r.Context(), id, ifv); err != nil {
		return writeErr(err, noTask(r.PathValue("id")))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}
