package rest

import (
	"net/http"
	"strconv"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// Tasks: the seed's todo list. GET /tasks/ shows id and summary, GET
// /tasks/ID/ every field; POST creates (201, {"id": N}); PUT replaces;
// PATCH changes the fields it names; DELETE strikes the task off the list.
// The summary "must be under 120 characters, no newline".
var _ = Describe("Tasks", Area("tasks"), func() {
	BeforeEach(requireTarget)

	// onlyKeys allows the links of HATEOAS next to the seed's fields.
	onlyKeys := func(obj map[string]any, keys ...string) {
		GinkgoHelper()
		allowed := append([]string{"links"}, keys...)
		for k := range obj {
			Expect(allowed).To(ContainElement(k), "member %q is not one of %v: %v", k, keys, obj)
		}
		for _, k := range keys {
			Expect(obj).To(HaveKey(k))
		}
	}

	RESTIt("create a task with 201 and the new id, at a Location that shows it",
		IDs("SEED-TASKS-5", "RFC9110-15.3.2"), func() {
			summary := Marker("recipe for tiramisu")
			r := Do(http.MethodPost, "/tasks/", JSON(map[string]any{"summary": summary, "description": "call mom and ask..."}))
			Expect(r.Status).To(Equal(http.StatusCreated), "%s", r)
			onlyKeys(r.Object(), "id")
			id := idOf(r)
			loc := r.Header.Get("Location")
			Expect(loc).NotTo(BeEmpty(), "201 carries a Location:\n%s", r)
			got := Do(http.MethodGet, Resolve(r.URL, loc), Accept("application/json"))
			Expect(got.Status).To(Equal(http.StatusOK), "%s", got)
			Expect(got.Object()).To(HaveKeyWithValue("id", BeNumerically("==", id)))
			// A second task gets another id.
			Expect(CreateTask(Marker("what to buy today"), "6 eggs, carrots, spaghetti")).NotTo(Equal(id))
		})

	RESTIt("list each task as its id and summary only", IDs("SEED-TASKS-3", "RFC9110-9.3.1"), func() {
		summary := Marker("listed")
		id := CreateTask(summary, "a description the list must not show")
		items := TaskItems()
		Expect(items).To(HaveKey(id))
		onlyKeys(items[id], "id", "summary")
		Expect(items[id]).To(HaveKeyWithValue("summary", summary))
	})

	RESTIt("show every field of one task", IDs("SEED-TASKS-4", "RFC9110-9.3.1"), func() {
		summary := Marker("what to buy today")
		id := CreateTask(summary, "6 eggs, carrots, spaghetti")
		t := Task(id)
		onlyKeys(t, "id", "summary", "description")
		Expect(t).To(HaveKeyWithValue("id", BeNumerically("==", id)))
		Expect(t).To(HaveKeyWithValue("summary", summary))
		Expect(t).To(HaveKeyWithValue("description", "6 eggs, carrots, spaghetti"))
		// Both URL forms name the task: the seed's /tasks/ID/ and /tasks/ID.
		r := Do(http.MethodGet, strings.TrimSuffix(TaskPath(id), "/"), Accept("application/json"))
		if r.Status == http.StatusOK {
			RecordOutcome("task-url-without-slash", "served")
		} else {
			RecordOutcome("task-url-without-slash", r.Header.Get("Location")+" "+http.StatusText(r.Status))
		}
	})

	RESTIt("replace a task with PUT", IDs("SEED-TASKS-6", "RFC9110-9.3.4"), func() {
		id := CreateTask(Marker("what to buy today"), "6 eggs, carrots, spaghetti")
		summary := Marker("what to buy tomorrow")
		r := Do(http.MethodPut, TaskPath(id), JSON(map[string]any{"summary": summary, "description": "bread"}))
		ExpectStatus(r, http.StatusOK, http.StatusNoContent)
		t := Task(id)
		Expect(t).To(HaveKeyWithValue("summary", summary))
		Expect(t).To(HaveKeyWithValue("description", "bread"))
		// The seed's own PUT example sends the id along.
		r = Do(http.MethodPut, TaskPath(id), JSON(map[string]any{"id": id, "summary": summary,
			"description": "6 eggs, carrots, spaghetti, bread"}))
		ExpectStatus(r, http.StatusOK, http.StatusNoContent)
		Expect(Task(id)).To(HaveKeyWithValue("description", "6 eggs, carrots, spaghetti, bread"))
		// PUT replaces: a body without a description either is refused or
		// leaves no description; it never keeps the old one.
		r = Do(http.MethodPut, TaskPath(id), JSON(map[string]any{"summary": summary}))
		t = Task(id)
		switch {
		case r.Status >= 400:
			ExpectClientError(r)
			Expect(t).To(HaveKeyWithValue("description", "6 eggs, carrots, spaghetti, bread"))
			RecordOutcome("put-without-description", "refused with "+http.StatusText(r.Status))
		default:
			ExpectStatus(r, http.StatusOK, http.StatusNoContent)
			Expect(t["description"]).To(Or(BeNil(), Equal("")), "PUT replaces the whole task")
			RecordOutcome("put-without-description", "description cleared")
		}
	})

	RESTIt("apply a JSON merge patch: only the members named change, null removes",
		IDs("SEED-TASKS-7", "RFC7396-2"), func() {
			summary := Marker("what to buy today")
			id := CreateTask(summary, "6 eggs, carrots, spaghetti")
			// The seed's PATCH example.
			r := Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"description": "6 eggs, carrots, spaghetti, bread"}))
			ExpectStatus(r, http.StatusOK, http.StatusNoContent)
			t := Task(id)
			Expect(t).To(HaveKeyWithValue("summary", summary))
			Expect(t).To(HaveKeyWithValue("description", "6 eggs, carrots, spaghetti, bread"))

			summary2 := Marker("shopping")
			r = Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"summary": summary2}))
			ExpectStatus(r, http.StatusOK, http.StatusNoContent)
			t = Task(id)
			Expect(t).To(HaveKeyWithValue("summary", summary2))
			Expect(t).To(HaveKeyWithValue("description", "6 eggs, carrots, spaghetti, bread"))

			// An empty patch changes nothing.
			before := Snap(TaskPath(id))
			r = Do(http.MethodPatch, TaskPath(id), Raw("application/merge-patch+json", `{}`))
			ExpectStatus(r, http.StatusOK, http.StatusNoContent)
			ExpectUnchanged(TaskPath(id), before, "an empty merge patch")

			// null removes the member.
			r = Do(http.MethodPatch, TaskPath(id), Raw("application/merge-patch+json", `{"description": null}`))
			ExpectStatus(r, http.StatusOK, http.StatusNoContent)
			t = Task(id)
			Expect(t).To(HaveKeyWithValue("summary", summary2))
			if d, ok := t["description"]; ok {
				Expect(d).To(Equal(""), "after a null description it is gone or empty: %v", t)
				RecordOutcome("merge-patch-null-description", `member kept as ""`)
			} else {
				RecordOutcome("merge-patch-null-description", "member removed")
			}
		})

	RESTIt("strike a deleted task off the list, with an empty body",
		IDs("SEED-TASKS-8", "RFC9110-9.3.5", "RFC9110-15.3.5"), func() {
			id := CreateTask(Marker("done soon"), "")
			Expect(TaskItems()).To(HaveKey(id))
			r := Do(http.MethodDelete, TaskPath(id))
			ExpectStatus(r, http.StatusOK, http.StatusNoContent)
			Expect(r.Body).To(BeEmpty(), "the response body is empty")
			Expect(TaskItems()).NotTo(HaveKey(id), "GET /tasks/ no longer shows it")
			ExpectProblem(Do(http.MethodGet, TaskPath(id)), http.StatusNotFound)
			ExpectProblem(Do(http.MethodPut, TaskPath(id), JSON(map[string]any{"summary": "x", "description": "y"})), http.StatusNotFound)
			ExpectProblem(Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"summary": "x"})), http.StatusNotFound)
			ExpectProblem(Do(http.MethodDelete, TaskPath(id)), http.StatusNotFound)
		})

	RESTIt("refuse a summary of 120 characters or more with 400, and take 119 of any script",
		IDs("SEED-TASKS-1", "SEED-INPUT-2"), func() {
			id := CreateTask(Marker("short"), "d")
			before := Snap(TaskPath(id))
			for _, n := range []int{121, 120, 500} {
				long := strings.Repeat("x", n)
				ExpectProblem(Do(http.MethodPost, "/tasks/", JSON(map[string]any{"summary": long, "description": "d"})), http.StatusBadRequest)
				ExpectProblem(Do(http.MethodPut, TaskPath(id), JSON(map[string]any{"summary": long, "description": "d"})), http.StatusBadRequest)
				ExpectProblem(Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"summary": long})), http.StatusBadRequest)
				ExpectUnchanged(TaskPath(id), before, "a summary of "+strconv.Itoa(n)+" characters")
			}
			// Characters, not bytes: 119 two-byte (é) and four-byte (emoji)
			// characters are under 120 and stored intact.
			for _, s := range []string{strings.Repeat("é", 119), strings.Repeat("😀", 119), strings.Repeat("x", 119)} {
				nid := CreateTask(s, "")
				Expect(Task(nid)).To(HaveKeyWithValue("summary", s))
			}
		})

	RESTIt("refuse a summary with a newline with 400", IDs("SEED-TASKS-2", "SEED-INPUT-2"), func() {
		id := CreateTask(Marker("one line"), "a description may\nspan lines")
		Expect(Task(id)).To(HaveKeyWithValue("description", "a description may\nspan lines"))
		before := Snap(TaskPath(id))
		for _, s := range []string{"two\nlines", "two\r\nlines", "carriage\rreturn", "trailing\n", "\n"} {
			ExpectProblem(Do(http.MethodPost, "/tasks/", JSON(map[string]any{"summary": s, "description": ""})), http.StatusBadRequest)
			ExpectProblem(Do(http.MethodPut, TaskPath(id), JSON(map[string]any{"summary": s, "description": ""})), http.StatusBadRequest)
			ExpectProblem(Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"summary": s})), http.StatusBadRequest)
		}
		ExpectUnchanged(TaskPath(id), before, "summaries with newlines")
	})

	RESTIt("refuse a task body with a missing summary or fields of the wrong type with 400",
		IDs("SEED-TASKS-9", "SEED-INPUT-2", "RFC9457-3"), func() {
			id := CreateTask(Marker("typed"), "d")
			before := Snap(TaskPath(id))
			for _, body := range []string{`{}`, `{"description":"no summary"}`, `{"summary":null,"description":"d"}`,
				`{"summary":5,"description":"d"}`, `{"summary":["a"],"description":"d"}`, `{"summary":{"a":1},"description":"d"}`,
				`{"summary":true,"description":"d"}`, `{"summary":"ok","description":5}`, `{"summary":"ok","description":["d"]}`} {
				r := Do(http.MethodPost, "/tasks/", Raw("application/json", body))
				ExpectProblem(r, http.StatusBadRequest)
				Expect(r.Header.Get("Location")).To(BeEmpty(), "nothing was created by %s", body)
				ExpectProblem(Do(http.MethodPut, TaskPath(id), Raw("application/json", body)), http.StatusBadRequest)
			}
			for _, body := range []string{`{"summary":null}`, `{"summary":5}`, `{"description":5}`, `{"summary":["a"]}`} {
				ExpectProblem(Do(http.MethodPatch, TaskPath(id), Raw("application/merge-patch+json", body)), http.StatusBadRequest)
			}
			ExpectUnchanged(TaskPath(id), before, "bodies of the wrong shape")
		})
})
