package rest

import (
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// resource is one kind of resource of the API, for specs that check a
// property of every one.
type resource struct {
	kind  string
	path  string
	allow []string // methods it must support
	// shared: a collection other specs change too, so two reads agree
	// only when no other process runs specs against the same server.
	shared bool
}

// stable reports whether two reads of res in a row must agree.
func (res resource) stable() bool { return !res.shared || serial() }

// someResources makes one of each kind: the sensor list, a sensor with two
// values, its readings, the task list and a task.
func someResources() []resource {
	GinkgoHelper()
	s := NewSensor("http")
	SetValue(s, 20)
	SetValue(s, 21)
	id := CreateTask(Marker("http"), "d")
	return []resource{
		{"sensor list", "/sensors", []string{"GET", "HEAD", "POST"}, true},
		{"sensor", SensorPath(s), []string{"GET", "HEAD", "PUT", "DELETE"}, false},
		{"readings", ReadingsPath(s, nil), []string{"GET", "HEAD"}, false},
		{"task list", "/tasks/", []string{"GET", "HEAD", "POST"}, true},
		{"task", TaskPath(id), []string{"GET", "HEAD", "PUT", "PATCH", "DELETE"}, false},
	}
}

// strongETag is an entity-tag without W/ (RFC 9110 §8.8.3).
var strongETag = regexp.MustCompile(`^"[\x21\x23-\x7e\x80-\xff]*"$`)

// allowed splits an Allow header field into upper-case methods.
func allowed(r *Resp) []string {
	var out []string
	for _, v := range r.Header.Values("Allow") {
		for _, m := range strings.Split(v, ",") {
			if m = strings.TrimSpace(m); m != "" {
				out = append(out, strings.ToUpper(m))
			}
		}
	}
	return out
}

func isXML(mt string) bool {
	return mt == "application/xml" || mt == "text/xml" || strings.HasSuffix(mt, "+xml")
}

var _ = Describe("HTTP semantics", Area("http"), func() {
	BeforeEach(requireTarget)

	RESTIt("answer GET with 200, a Date, and a Content-Type that says what the content is",
		IDs("RFC9110-9.3.1", "RFC9110-6.6.1", "RFC9110-8.3"), func() {
			for _, res := range someResources() {
				r := Do(http.MethodGet, res.path)
				Expect(r.Status).To(Equal(http.StatusOK), "%s:\n%s", res.kind, r)
				Expect(r.Body).NotTo(BeEmpty())
				r.Any() // JSON, and labelled so
				x := Do(http.MethodGet, res.path, Accept("application/xml"))
				Expect(x.Status).To(Equal(http.StatusOK), "%s as XML:\n%s", res.kind, x)
				Expect(isXML(x.MediaType())).To(BeTrue(), "XML labelled as XML:\n%s", x)
				_, err := XMLText(x.Body)
				Expect(err).NotTo(HaveOccurred(), "well-formed XML:\n%s", x)
			}
			// Date in 2xx, 3xx and 4xx answers alike.
			s := NewSensor("date")
			ok := Do(http.MethodGet, SensorPath(s))
			missing := Do(http.MethodGet, SensorPath(Name("nodate")))
			nm := Do(http.MethodGet, SensorPath(s), IfNoneMatch(ok.ETag()))
			for _, r := range []*Resp{ok, missing, nm} {
				d, err := http.ParseTime(r.Header.Get("Date"))
				Expect(err).NotTo(HaveOccurred(), "a valid Date:\n%s", r)
				Expect(d).To(BeTemporally("~", time.Now(), time.Hour), "Date is the server's clock:\n%s", r)
			}
		})

	RESTIt("answer HEAD with GET's status and header fields and no content", IDs("RFC9110-9.3.2"), func() {
		for _, res := range someResources() {
			if !res.stable() {
				continue
			}
			g := Do(http.MethodGet, res.path)
			h := Do(http.MethodHead, res.path)
			Expect(h.Status).To(Equal(g.Status), "%s", res.kind)
			for _, k := range []string{"Content-Type", "ETag", "Content-Length", "Link", "Vary", "Cache-Control"} {
				if h.Header.Get(k) != "" || g.Header.Get(k) != "" {
					Expect(h.Header.Get(k)).To(Equal(g.Header.Get(k)), "%s: HEAD and GET send the same %s", res.kind, k)
				}
			}
			status, _, rest := RawExchange(http.MethodHead, res.path, nil)
			Expect(status).To(Equal(http.StatusOK))
			Expect(rest).To(BeEmpty(), "HEAD %s: no content after the header", res.path)
		}
		status, _, rest := RawExchange(http.MethodHead, SensorPath(Name("nohead")), nil)
		Expect(status).To(Equal(http.StatusNotFound))
		Expect(rest).To(BeEmpty(), "a HEAD answered 404 has no content either")
	})

	RESTIt("give every resource a strong ETag that changes with it, and only then", IDs("RFC9110-8.8.3"), func() {
		for _, res := range someResources() {
			a := Do(http.MethodGet, res.path)
			Expect(a.ETag()).To(MatchRegexp(strongETag.String()), "%s has a strong entity tag:\n%s", res.kind, a)
			if res.stable() {
				Expect(Do(http.MethodGet, res.path).ETag()).To(Equal(a.ETag()), "%s: the same representation, the same tag", res.kind)
			}
			x := Do(http.MethodGet, res.path, Accept("application/xml"))
			Expect(x.ETag()).To(MatchRegexp(strongETag.String()), "%s as XML:\n%s", res.kind, x)
			Expect(x.ETag()).NotTo(Equal(a.ETag()), "%s: a strong tag differs between JSON and XML, which differ in content", res.kind)
		}
		// A change changes the tag: sensor, its readings, the list; task.
		s := NewSensor("etag")
		e1, r1, l1 := Do(http.MethodGet, SensorPath(s)).ETag(), Do(http.MethodGet, ReadingsPath(s, nil)).ETag(), Do(http.MethodGet, "/sensors").ETag()
		SetValue(s, 1)
		Expect(Do(http.MethodGet, SensorPath(s)).ETag()).NotTo(Equal(e1))
		Expect(Do(http.MethodGet, ReadingsPath(s, nil)).ETag()).NotTo(Equal(r1))
		Expect(Do(http.MethodGet, "/sensors").ETag()).NotTo(Equal(l1), "the list shows the new value")
		id := CreateTask(Marker("etag"), "d")
		t1, tl := Do(http.MethodGet, TaskPath(id)).ETag(), Do(http.MethodGet, "/tasks/").ETag()
		Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"description": "e"}))
		Expect(Do(http.MethodGet, TaskPath(id)).ETag()).NotTo(Equal(t1))
		if serial() {
			Expect(Do(http.MethodGet, "/tasks/").ETag()).To(Equal(tl), "the list shows no description, so its tag stays")
		}
	})

	RESTIt("perform a write only when If-Match names the current ETag, else answer 412 and change nothing",
		IDs("RFC9110-13.1.1", "RFC9110-15.5.13", "SEED-INPUT-2"), func() {
			s := NewSensor("ifmatch")
			SetValue(s, 1)
			e1 := Do(http.MethodGet, SensorPath(s)).ETag()
			SetValue(s, 2, IfMatch(e1))
			before := Snap(SensorPath(s))
			e2 := Do(http.MethodGet, SensorPath(s)).ETag()
			for _, stale := range []string{e1, `"no-such-tag"`, "W/" + e2} {
				r := Do(http.MethodPut, SensorPath(s), JSON(map[string]any{"value": 3}), IfMatch(stale))
				ExpectProblem(r, http.StatusPreconditionFailed)
				ExpectProblem(Do(http.MethodDelete, SensorPath(s), IfMatch(stale)), http.StatusPreconditionFailed)
				ExpectUnchanged(SensorPath(s), before, "If-Match: "+stale)
			}
			SetValue(s, 4, IfMatch(`"no-such-tag", `+e2))
			SetValue(s, 5, IfMatch("*"))
			Expect(ValueOf(s)).To(BeNumerically("==", 5))

			id := CreateTask(Marker("ifmatch"), "d")
			t1 := Do(http.MethodGet, TaskPath(id)).ETag()
			ExpectStatus(Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"description": "e"}), IfMatch(t1)), http.StatusOK, http.StatusNoContent)
			tb := Snap(TaskPath(id))
			ExpectProblem(Do(http.MethodPut, TaskPath(id), JSON(map[string]any{"summary": "x", "description": "y"}), IfMatch(t1)), http.StatusPreconditionFailed)
			ExpectProblem(Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"summary": "x"}), IfMatch(t1)), http.StatusPreconditionFailed)
			ExpectProblem(Do(http.MethodDelete, TaskPath(id), IfMatch(t1)), http.StatusPreconditionFailed)
			ExpectUnchanged(TaskPath(id), tb, "stale If-Match on a task")
			ExpectStatus(Do(http.MethodDelete, TaskPath(id), IfMatch(tb.ETag)), http.StatusOK, http.StatusNoContent)
		})

	RESTIt("answer 404, not 412, to If-Match on a resource that does not exist", IDs("RFC9110-13.2.1", "RFC9110-15.5.5"), func() {
		missing := SensorPath(Name("ifmatch-missing"))
		ExpectProblem(Do(http.MethodPut, missing, JSON(map[string]any{"value": 1}), IfMatch("*")), http.StatusNotFound)
		ExpectProblem(Do(http.MethodDelete, missing, IfMatch(`"v1-json"`)), http.StatusNotFound)
		id := CreateTask(Marker("gone"), "")
		Do(http.MethodDelete, TaskPath(id))
		ExpectProblem(Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"summary": "x"}), IfMatch("*")), http.StatusNotFound)
	})

	RESTIt("answer GET and HEAD with 304 and the ETag when If-None-Match matches; other methods with 412",
		IDs("RFC9110-13.1.2", "RFC9110-15.4.5", "RFC9110-15.5.13", "SEED-INPUT-2"), func() {
			for _, res := range someResources() {
				if !res.stable() {
					continue
				}
				g := Do(http.MethodGet, res.path)
				e := g.ETag()
				for _, cond := range []string{e, "W/" + e, "*", `"other", ` + e} {
					for _, m := range []string{http.MethodGet, http.MethodHead} {
						r := Do(m, res.path, IfNoneMatch(cond))
						Expect(r.Status).To(Equal(http.StatusNotModified), "%s %s If-None-Match: %s:\n%s", m, res.kind, cond, r)
						Expect(r.ETag()).To(Equal(e), "a 304 sends the ETag a 200 would have")
					}
				}
				status, h, rest := RawExchange(http.MethodGet, res.path, map[string]string{"If-None-Match": e})
				Expect(status).To(Equal(http.StatusNotModified))
				Expect(h.Get("ETag")).To(Equal(e))
				Expect(rest).To(BeEmpty(), "a 304 has no content")
				r := Do(http.MethodGet, res.path, IfNoneMatch(`"other"`))
				Expect(r.Status).To(Equal(http.StatusOK), "a tag that does not match:\n%s", r)
			}
			s := NewSensor("inm")
			SetValue(s, 7)
			before := Snap(SensorPath(s))
			for _, cond := range []string{before.ETag, "*"} {
				ExpectProblem(Do(http.MethodPut, SensorPath(s), JSON(map[string]any{"value": 8}), IfNoneMatch(cond)), http.StatusPreconditionFailed)
				ExpectUnchanged(SensorPath(s), before, "PUT with If-None-Match: "+cond)
			}
		})

	RESTIt("answer OPTIONS with an Allow header naming the methods of the resource", IDs("RFC9110-9.3.7"), func() {
		for _, res := range someResources() {
			r := Do(http.MethodOptions, res.path)
			ExpectStatus(r, http.StatusOK, http.StatusNoContent)
			Expect(allowed(r)).To(ContainElements(res.allow), "OPTIONS %s:\n%s", res.kind, r)
		}
	})

	RESTIt("answer 405 with an Allow header to a method the resource does not support",
		IDs("RFC9110-15.5.6", "RFC9457-3", "SEED-INPUT-2"), func() {
			s := NewSensor("405")
			id := CreateTask(Marker("405"), "d")
			before := Snap(SensorPath(s))
			for _, tc := range []struct {
				method, path string
				allow        []string
			}{
				{http.MethodDelete, "/sensors", []string{"GET", "POST"}},
				{http.MethodPut, "/sensors", []string{"GET", "POST"}},
				{http.MethodPatch, SensorPath(s), []string{"GET", "PUT", "DELETE"}},
				{http.MethodPost, SensorPath(s), []string{"GET", "PUT", "DELETE"}},
				{http.MethodPost, ReadingsPath(s, nil), []string{"GET"}},
				{http.MethodDelete, ReadingsPath(s, nil), []string{"GET"}},
				{http.MethodDelete, "/tasks/", []string{"GET", "POST"}},
				{http.MethodPost, TaskPath(id), []string{"GET", "PUT", "PATCH", "DELETE"}},
			} {
				r := Do(tc.method, tc.path, JSON(map[string]any{}))
				ExpectProblem(r, http.StatusMethodNotAllowed)
				Expect(allowed(r)).To(And(ContainElements(tc.allow), Not(ContainElement(tc.method))), "%s %s", tc.method, tc.path)
			}
			ExpectUnchanged(SensorPath(s), before, "refused methods")
		})

	RESTIt("answer 415 to content in a media type the resource does not take, and store nothing",
		IDs("RFC9110-15.5.16", "RFC9457-3", "SEED-INPUT-2"), func() {
			s := NewSensor("415")
			SetValue(s, 1)
			id := CreateTask(Marker("415"), "d")
			before, tbefore := Snap(SensorPath(s)), Snap(TaskPath(id))
			name := Name("415new")
			for _, tc := range []struct{ method, path, ct, body string }{
				{http.MethodPost, "/sensors", "text/plain", `{"name":"` + name + `"}`},
				{http.MethodPost, "/sensors", "application/x-www-form-urlencoded", "name=" + name},
				{http.MethodPost, "/sensors", "application/xml", "<sensor><name>" + name + "</name></sensor>"},
				{http.MethodPut, SensorPath(s), "text/plain", `{"value":2}`},
				{http.MethodPut, SensorPath(s), "application/octet-stream", `{"value":2}`},
				{http.MethodPost, "/tasks/", "text/plain", `{"summary":"x","description":"y"}`},
				{http.MethodPut, TaskPath(id), "multipart/form-data; boundary=x", "--x--"},
				{http.MethodPatch, TaskPath(id), "application/json-patch+json", `[{"op":"replace","path":"/summary","value":"x"}]`},
			} {
				r := Do(tc.method, tc.path, Raw(tc.ct, tc.body))
				ExpectProblem(r, http.StatusUnsupportedMediaType)
			}
			ExpectUnchanged(SensorPath(s), before, "415 answers")
			ExpectUnchanged(TaskPath(id), tbefore, "415 answers")
			Expect(SensorNames()).NotTo(ContainElement(name))
			r := Do(http.MethodPut, SensorPath(s), Raw("", `{"value":2}`))
			ExpectClientError(r)
			RecordOutcome("body-without-content-type", http.StatusText(r.Status))
			ExpectUnchanged(SensorPath(s), before, "a body without Content-Type")
		})

	RESTIt("answer 406 when Accept lists no media type on offer, or disregard it", IDs("RFC9110-15.5.7"), func() {
		s := NewSensor("406")
		for _, acc := range []string{"text/csv", "image/png, text/html;q=0.5", "application/json;q=0"} {
			r := Do(http.MethodGet, SensorPath(s), Accept(acc))
			switch r.Status {
			case http.StatusNotAcceptable:
				ExpectProblem(r, http.StatusNotAcceptable)
				RecordOutcome("unacceptable-accept", "406 Not Acceptable")
			default:
				Expect(r.Status).To(Equal(http.StatusOK), "406 or a representation:\n%s", r)
				RecordOutcome("unacceptable-accept", "disregarded: "+r.MediaType())
			}
		}
	})

	RESTIt("choose JSON or XML by Accept and its q-values, JSON by default, and say Vary: Accept",
		IDs("RFC9110-12.5.1", "RFC9110-12.5.5", "SEED-REPR-1"), func() {
			s := NewSensor("accept")
			SetValue(s, 237)
			for _, tc := range []struct {
				accept string
				xml    bool
			}{
				{"", false}, {"*/*", false}, {"application/json", false}, {"application/xml", true}, {"text/xml", true},
				{"application/json;q=0.5, application/xml", true}, {"application/xml;q=0.5, application/json", false},
				{"application/json;q=0, */*", true}, {"application/*;q=0.2, application/xml;q=0.9", true},
				{"text/html, application/json;q=0.9, */*;q=0.1", false},
			} {
				var opts []Opt
				if tc.accept != "" {
					opts = append(opts, Accept(tc.accept))
				}
				r := Do(http.MethodGet, SensorPath(s), opts...)
				Expect(r.Status).To(Equal(http.StatusOK), "Accept: %s\n%s", tc.accept, r)
				if tc.xml {
					Expect(isXML(r.MediaType())).To(BeTrue(), "Accept: %s wants XML:\n%s", tc.accept, r)
					text, err := XMLText(r.Body)
					Expect(err).NotTo(HaveOccurred(), "%s", r)
					Expect(text).To(And(ContainSubstring(s), ContainSubstring("237")), "the XML carries the same data")
				} else {
					Expect(r.MediaType()).To(Equal("application/json"), "Accept: %q wants JSON:\n%s", tc.accept, r)
					Expect(r.Object()).To(HaveKeyWithValue("name", s))
				}
				var vary []string
				for _, v := range r.Header.Values("Vary") {
					for _, f := range strings.Split(v, ",") {
						vary = append(vary, strings.ToLower(strings.TrimSpace(f)))
					}
				}
				Expect(vary).To(Or(ContainElement("accept"), ContainElement("*")), "Vary names Accept:\n%s", r)
			}
		})

	RESTIt("serve the same data as XML: sensors, tasks, readings", IDs("SEED-REPR-1"), func() {
		s := NewSensor("xml")
		SetValue(s, 41)
		SetValue(s, 42)
		summary := Marker("xml <&> task")
		id := CreateTask(summary, "café & crème")
		for _, tc := range []struct {
			path string
			want []string
		}{
			{"/sensors", []string{s, "42"}},
			{SensorPath(s), []string{s, "42"}},
			{ReadingsPath(s, nil), []string{"41", "42"}},
			{"/tasks/", []string{summary}},
			{TaskPath(id), []string{summary, "café & crème"}},
		} {
			r := Do(http.MethodGet, tc.path, Accept("application/xml"))
			Expect(r.Status).To(Equal(http.StatusOK))
			text, err := XMLText(r.Body)
			Expect(err).NotTo(HaveOccurred(), "well-formed XML:\n%s", r)
			for _, w := range tc.want {
				Expect(text).To(ContainSubstring(w), "GET %s as XML:\n%s", tc.path, r)
			}
		}
	})

	RESTIt("answer every error with an RFC 9457 problem whose status is the response's",
		IDs("RFC9457-3", "RFC9457-3.1.2"), func() {
			s := NewSensor("problem")
			e := Do(http.MethodGet, SensorPath(s)).ETag()
			SetValue(s, 1)
			for _, r := range []*Resp{
				Do(http.MethodGet, SensorPath(Name("none"))),                                    // 404
				Do(http.MethodDelete, "/sensors"),                                               // 405
				Do(http.MethodPost, "/sensors", JSON(map[string]any{"name": s})),                // 409
				Do(http.MethodPut, SensorPath(s), JSON(map[string]any{"value": 2}), IfMatch(e)), // 412
				Do(http.MethodPut, SensorPath(s), Raw("text/plain", "2")),                       // 415
				Do(http.MethodPut, SensorPath(s), Raw("application/json", "{")),                 // 400
				Do(http.MethodGet, "/no/such/resource"),                                         // 404
			} {
				p := ExpectClientError(r)
				Expect(p).To(HaveKey("title"))
			}
			// An XML client may get the problem as XML (RFC 9457 Appendix B).
			r := Do(http.MethodGet, SensorPath(Name("none")), Accept("application/xml"))
			Expect(r.Status).To(Equal(http.StatusNotFound))
			switch mt := r.MediaType(); mt {
			case "application/problem+json":
				RecordOutcome("problem-for-xml-client", mt)
			default:
				Expect(mt).To(Equal("application/problem+xml"), "%s", r)
				text, err := XMLText(r.Body)
				Expect(err).NotTo(HaveOccurred())
				Expect(text).To(ContainSubstring("404"))
				RecordOutcome("problem-for-xml-client", mt)
			}
		})

	RESTIt("link each representation to itself and its collection with absolute hrefs",
		IDs("SEED-LINKS-1"), func() {
			s := NewSensor("links")
			SetValue(s, 3)
			id := CreateTask(Marker("links"), "d")
			check := func(path string, rels ...string) map[string]any {
				GinkgoHelper()
				r := Do(http.MethodGet, path)
				obj := r.Object()
				ls := Links(obj)
				Expect(ls).NotTo(BeEmpty(), "links [{rel, href}]:\n%s", r)
				for _, l := range ls {
					Expect(l.Rel).NotTo(BeEmpty(), "every link has a rel:\n%s", r)
					Expect(l.Href).To(MatchRegexp(`^https?://[^/]+/`), "href is a complete URL:\n%s", r)
				}
				for _, rel := range rels {
					Expect(LinkTo(obj, rel)).NotTo(BeEmpty(), "a %q link:\n%s", rel, r)
				}
				self := Do(http.MethodGet, LinkTo(obj, "self"))
				Expect(self.Status).To(Equal(http.StatusOK))
				Expect(self.ETag()).To(Equal(r.ETag()), "self is the resource itself")
				return obj
			}
			so := check(SensorPath(s), "self", "collection", "readings")
			Expect(Do(http.MethodGet, LinkTo(so, "collection")).Items()).To(ContainElement(HaveKeyWithValue("name", s)))
			to := check(TaskPath(id), "self", "collection")
			Expect(Do(http.MethodGet, LinkTo(to, "collection")).Items()).To(ContainElement(HaveKeyWithValue("id", BeNumerically("==", id))))
			check(ReadingsPath(s, nil), "self")
		})

	RESTIt("let a client reach every resource by following links from the entry point",
		IDs("SEED-LINKS-2"), func() {
			s := NewSensor("hateoas")
			SetValue(s, 9)
			id := CreateTask(Marker("hateoas"), "d")
			sensors, tasks := URL("/sensors"), URL("/tasks/")
			root := Do(http.MethodGet, "/")
			if root.Status == http.StatusOK && root.MediaType() == "application/json" {
				obj := root.Object()
				if l := LinkTo(obj, "sensors"); l != "" {
					sensors = Resolve(root.URL, l)
				}
				if l := LinkTo(obj, "tasks"); l != "" {
					tasks = Resolve(root.URL, l)
				}
				RecordOutcome("entry-point", "GET / links the collections")
			} else {
				RecordOutcome("entry-point", "none: /sensors and /tasks/ are the fixed URLs")
			}
			// sensors list → the sensor (by its self link) → its readings.
			var sensorURL string
			list := Do(http.MethodGet, sensors)
			for _, it := range list.Items() {
				if it["name"] == s {
					sensorURL = LinkTo(it, "self")
				}
			}
			Expect(sensorURL).NotTo(BeEmpty(), "the list links each sensor:\n%s", list)
			sensor := Do(http.MethodGet, Resolve(list.URL, sensorURL))
			readings := LinkTo(sensor.Object(), "readings")
			Expect(readings).NotTo(BeEmpty())
			rs, _, _ := ReadingsPage(Resolve(sensor.URL, readings))
			Expect(Values(rs)).To(Equal([]float64{9}))
			// tasks list → the task.
			var taskURL string
			tl := Do(http.MethodGet, tasks)
			for _, it := range tl.Items() {
				if n, _ := Number(it["id"]); int64(n) == id {
					taskURL = LinkTo(it, "self")
				}
			}
			Expect(taskURL).NotTo(BeEmpty(), "the list links each task:\n%s", tl)
			Expect(Do(http.MethodGet, Resolve(tl.URL, taskURL)).Object()).To(HaveKeyWithValue("description", "d"))
		})

	RESTIt("let exactly one of two PUTs carrying the same If-Match win, as the seed's optimistic locking says",
		IDs("SEED-OCC-1", "RFC9110-13.1.1", "RFC9110-15.5.13"), func() {
			s := NewSensor("occ")
			SetValue(s, 0)
			e := Do(http.MethodGet, SensorPath(s)).ETag()
			SetValue(s, 1, IfMatch(e))
			ExpectProblem(Do(http.MethodPut, SensorPath(s), JSON(map[string]any{"value": 2}), IfMatch(e)), http.StatusPreconditionFailed)
			Expect(ValueOf(s)).To(BeNumerically("==", 1), "the second PUT was based on the first version")
		})

	RESTIt("let exactly one of 20 concurrent writes carrying the same If-Match win",
		IDs("SEED-OCC-1", "RFC9110-13.1.1", "RFC9110-15.5.13"), func() {
			const n = 20
			race := func(reqs func(i int) (*Resp, error)) (winners []int, statuses map[int]int) {
				GinkgoHelper()
				var wg sync.WaitGroup
				start := make(chan struct{})
				res := make([]*Resp, n)
				errs := make([]error, n)
				for i := range n {
					wg.Go(func() {
						<-start
						res[i], errs[i] = reqs(i)
					})
				}
				close(start)
				wg.Wait()
				statuses = map[int]int{}
				for i := range n {
					Expect(errs[i]).NotTo(HaveOccurred())
					statuses[res[i].Status]++
					if res[i].Status < 300 {
						winners = append(winners, i)
					} else {
						Expect(res[i].Status).To(BeElementOf(http.StatusPreconditionFailed, http.StatusNotFound), "a loser:\n%s", res[i])
					}
				}
				return winners, statuses
			}

			s := NewSensor("race")
			SetValue(s, -1)
			before, _ := AllReadings(ReadingsPath(s, nil))
			e := Do(http.MethodGet, SensorPath(s)).ETag()
			winners, st := race(func(i int) (*Resp, error) {
				return Try(http.MethodPut, SensorPath(s), JSON(map[string]any{"value": i}), IfMatch(e))
			})
			Expect(winners).To(HaveLen(1), "PUT: exactly one winner; statuses %v", st)
			Expect(ValueOf(s)).To(BeNumerically("==", winners[0]), "the winner's value is stored")
			after, _ := AllReadings(ReadingsPath(s, nil))
			Expect(after).To(HaveLen(len(before)+1), "one reading per successful write")

			id := CreateTask(Marker("race"), "d")
			te := Do(http.MethodGet, TaskPath(id)).ETag()
			winners, st = race(func(i int) (*Resp, error) {
				return Try(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"description": fmt.Sprint("by ", i)}), IfMatch(te))
			})
			Expect(winners).To(HaveLen(1), "PATCH: exactly one winner; statuses %v", st)
			Expect(Task(id)).To(HaveKeyWithValue("description", fmt.Sprint("by ", winners[0])))

			te = Do(http.MethodGet, TaskPath(id)).ETag()
			winners, st = race(func(i int) (*Resp, error) { return Try(http.MethodDelete, TaskPath(id), IfMatch(te)) })
			Expect(winners).To(HaveLen(1), "DELETE: exactly one winner; statuses %v", st)
			ExpectProblem(Do(http.MethodGet, TaskPath(id)), http.StatusNotFound)
		})

	RESTIt("answer 413 to content over the size limit, and store nothing",
		IDs("RFC9110-15.5.14", "SEED-INPUT-1", "SEED-INPUT-2"), func() {
			marker := Marker("huge")
			body := func(size int) string {
				// A valid task whose description pads the body to size bytes.
				head := `{"summary":"` + marker + `","description":"`
				return head + strings.Repeat("a", max(0, size-len(head)-2)) + `"}`
			}
			mine := func() int {
				n := 0
				for _, it := range TaskItems() {
					if it["summary"] == marker {
						n++
					}
				}
				return n
			}
			limit := Info().MaxBody
			if limit == 0 {
				// Unknown limit: 8 MiB is more than any task needs.
				r, err := Try(http.MethodPost, "/tasks/", Raw("application/json", body(8<<20)))
				if err != nil {
					RecordOutcome("body-over-limit", "connection closed: "+err.Error())
				} else {
					Expect(r.Status).To(And(BeNumerically(">=", 400), BeNumerically("<", 500)), "8 MiB is refused:\n%s", r)
					ExpectClientError(r)
					RecordOutcome("body-over-limit", http.StatusText(r.Status))
				}
				Expect(mine()).To(Equal(0))
				return
			}
			for _, chunked := range []bool{false, true} {
				opts := []Opt{Raw("application/json", body(int(limit)+1))}
				if chunked {
					opts = append(opts, Chunked())
				}
				r := Do(http.MethodPost, "/tasks/", opts...)
				ExpectProblem(r, http.StatusRequestEntityTooLarge)
			}
			Expect(mine()).To(Equal(0), "nothing stored")
			r := Do(http.MethodPost, "/tasks/", Raw("application/json", body(int(limit))))
			Expect(r.Status).To(Equal(http.StatusCreated), "a body of exactly the limit is taken:\n%.300s", r)
			Expect(mine()).To(Equal(1))
		})
})
