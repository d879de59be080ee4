package rest

import (
	"crypto/tls"
	"crypto/x509"
	"math"
	"net/http"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// Security: bearer tokens for writes (RFC 6750), HTTPS, and bad input of
// every kind, which must get a 4xx problem, never a 5xx, and change nothing.

// needToken skips a spec when the target takes writes without a token.
func needToken() {
	GinkgoHelper()
	if Info().Token == "" {
		Skip("REST target " + Target().Name() + " has no bearer token (give one with --rest-token or a profile)")
	}
}

// serial reports whether this process is the only one running specs, so
// that whole collections can be compared before and after.
func serial() bool {
	sc, _ := GinkgoConfiguration()
	return sc.ParallelTotal <= 1
}

var _ = Describe("Security", Area("security"), func() {
	BeforeEach(requireTarget)

	// write is one kind of write request, against a sensor and a task
	// that exist.
	type write struct {
		method, path, ct, body string
	}
	writes := func(sensor string, task int64) []write {
		return []write{
			{http.MethodPost, "/sensors", "application/json", `{"name":"` + Name("auth") + `"}`},
			{http.MethodPut, SensorPath(sensor), "application/json", `{"value":99}`},
			{http.MethodDelete, SensorPath(sensor), "", ""},
			{http.MethodPost, "/tasks/", "application/json", `{"summary":"` + Marker("auth") + `","description":""}`},
			{http.MethodPut, TaskPath(task), "application/json", `{"summary":"x","description":"y"}`},
			{http.MethodPatch, TaskPath(task), "application/merge-patch+json", `{"summary":"x"}`},
			{http.MethodDelete, TaskPath(task), "", ""},
		}
	}
	send := func(w write, opts ...Opt) *Resp {
		GinkgoHelper()
		if w.body != "" || w.ct != "" {
			opts = append(opts, Raw(w.ct, w.body))
		}
		return Do(w.method, w.path, opts...)
	}
	// state is everything the writes could change.
	state := func(sensor string, task int64) []Snapshot {
		GinkgoHelper()
		s := []Snapshot{Snap(SensorPath(sensor)), Snap(TaskPath(task))}
		if serial() {
			s = append(s, Snap("/sensors"), Snap("/tasks/"))
		}
		return s
	}

	RESTIt("refuse a write without credentials with 401 and a Bearer challenge, and change nothing",
		IDs("RFC6750-3", "SEED-INPUT-2"), func() {
			needToken()
			s := NewSensor("auth")
			SetValue(s, 1)
			id := CreateTask(Marker("auth"), "d")
			before := state(s, id)
			for _, w := range writes(s, id) {
				for _, auth := range []Opt{NoAuth(), H("Authorization", "Basic dXNlcjpwYXNz"), H("Authorization", "Bearer"),
					H("Authorization", "Bearer ")} {
					r := send(w, auth)
					ExpectProblem(r, http.StatusUnauthorized)
					Expect(strings.ToLower(r.Header.Get("WWW-Authenticate"))).To(HavePrefix("bearer"), "a Bearer challenge:\n%s", r)
				}
			}
			Expect(state(s, id)).To(Equal(before), "refused writes change nothing")
		})

	RESTIt("refuse a write with a wrong bearer token with 401 and error=\"invalid_token\"",
		IDs("RFC6750-3.1", "SEED-INPUT-2"), func() {
			needToken()
			s := NewSensor("badtoken")
			SetValue(s, 1)
			id := CreateTask(Marker("badtoken"), "d")
			before := state(s, id)
			for _, w := range writes(s, id) {
				for _, tok := range []string{"wrong", Info().Token + "x", strings.ToUpper(Info().Token) + "Z", Info().Token[:len(Info().Token)-1]} {
					if tok == "" || tok == Info().Token {
						continue // a one-character token truncates to no token at all
					}
					r := send(w, H("Authorization", "Bearer "+tok))
					ExpectProblem(r, http.StatusUnauthorized)
					Expect(r.Header.Get("WWW-Authenticate")).To(MatchRegexp(`(?i)^bearer\b.*error="invalid_token"`), "%s", r)
				}
			}
			Expect(state(s, id)).To(Equal(before), "refused writes change nothing")
		})

	RESTIt("take writes with the right bearer token, and reads without one", IDs("RFC6750-2.1"), func() {
		needToken()
		name := Name("token")
		r := Do(http.MethodPost, "/sensors", JSON(map[string]any{"name": name}), H("Authorization", "Bearer "+Info().Token))
		Expect(r.Status).To(Equal(http.StatusCreated), "%s", r)
		// The scheme name is case-insensitive (RFC 9110 §11.1).
		r = Do(http.MethodPut, SensorPath(name), JSON(map[string]any{"value": 3}), H("Authorization", "bearer "+Info().Token))
		ExpectStatus(r, http.StatusOK, http.StatusNoContent)
		for _, p := range []string{"/sensors", SensorPath(name), ReadingsPath(name, nil), "/tasks/"} {
			r := Do(http.MethodGet, p, NoAuth())
			Expect(r.Status).To(Equal(http.StatusOK), "reads need no token:\n%s", r)
		}
	})

	RESTIt("serve the same API over HTTPS with a certificate the client can verify", IDs("RFC9110-4.2.2"), func() {
		base := Info().TLSURL
		if base == "" {
			Skip("REST target " + Target().Name() + " offers no HTTPS (give tls_url in its profile)")
		}
		name := Name("tls")
		r := Do(http.MethodPost, base+"/sensors", JSON(map[string]any{"name": name}))
		Expect(r.Status).To(Equal(http.StatusCreated), "%s", r)
		Expect(r.TLS).NotTo(BeNil())
		SetValue(name, 5)
		got := Do(http.MethodGet, base+SensorPath(name))
		Expect(got.TLS).NotTo(BeNil())
		obj := got.Object()
		Expect(obj).To(HaveKeyWithValue("name", name))
		if self := LinkTo(obj, "self"); self != "" {
			Expect(self).To(HavePrefix("https://"), "links of an HTTPS representation stay on HTTPS")
		}
		if !Info().TLSConfig.InsecureSkipVerify {
			// A client that trusts nothing is refused: there is a real
			// certificate check to pass.
			c := &http.Client{Timeout: Long, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: emptyPool()}}}
			_, err := c.Get(base + "/sensors")
			Expect(err).To(HaveOccurred(), "an untrusted client must not get through")
		}
	})

	RESTIt("answer bad input of every kind with a 4xx problem, never a 5xx, and change nothing",
		IDs("SEED-INPUT-1", "SEED-INPUT-2", "RFC9457-3", "RFC9457-3.1.2"), func() {
			s := NewSensor("badin")
			SetValue(s, 1)
			id := CreateTask(Marker("badin"), "d")
			before := state(s, id)
			deep := strings.Repeat("[", 20000) + strings.Repeat("]", 20000)
			malformed := []string{`{"value":`, `{value: 1}`, `{"value": 1}}`, `{"value": 1,}`, `'{"value": 1}'`,
				`{"value": 01}`, `[]`, `"237"`, `null`, `237`, ``, `   `, "{\"value\":\"\xff\"}", "{\"value\":1}\x00",
				`{"value": 1} {"value": 2}`, deep, `{"a":` + deep + `}`, "\xef\xbb\xbf\xef\xbb\xbf{"}
			huge := `{"summary":"x","description":"` + strings.Repeat("a", 1<<20) + `"}`
			long, nl := strings.Repeat("y", 121), "two\nlines"
			type bad struct{ method, path, ct, body string }
			var cases []bad
			for _, m := range malformed {
				cases = append(cases,
					bad{http.MethodPost, "/sensors", "application/json", m},
					bad{http.MethodPut, SensorPath(s), "application/json", m},
					bad{http.MethodPost, "/tasks/", "application/json", m},
					bad{http.MethodPut, TaskPath(id), "application/json", m},
					bad{http.MethodPatch, TaskPath(id), "application/merge-patch+json", m})
			}
			cases = append(cases,
				// wrong types
				bad{http.MethodPost, "/sensors", "application/json", `{"name":12}`},
				bad{http.MethodPut, SensorPath(s), "application/json", `{"value":true}`},
				bad{http.MethodPut, SensorPath(s), "application/json", `{"value":{"$gt":0}}`},
				bad{http.MethodPost, "/tasks/", "application/json", `{"summary":["x"],"description":""}`},
				bad{http.MethodPut, TaskPath(id), "application/json", `{"summary":"x","description":{}}`},
				bad{http.MethodPatch, TaskPath(id), "application/merge-patch+json", `{"summary":false}`},
				// unknown fields
				bad{http.MethodPost, "/sensors", "application/json", `{"name":"` + Name("x") + `","colour":"red"}`},
				bad{http.MethodPut, SensorPath(s), "application/json", `{"value":2,"colour":"red"}`},
				bad{http.MethodPost, "/tasks/", "application/json", `{"summary":"` + Marker("x") + `","description":"","priority":1}`},
				bad{http.MethodPut, TaskPath(id), "application/json", `{"summary":"x","description":"y","done":true}`},
				bad{http.MethodPatch, TaskPath(id), "application/merge-patch+json", `{"priority":1}`},
				// the seed's summary rules
				bad{http.MethodPost, "/tasks/", "application/json", `{"summary":"` + long + `","description":""}`},
				bad{http.MethodPut, TaskPath(id), "application/json", `{"summary":"` + long + `","description":""}`},
				bad{http.MethodPost, "/tasks/", "application/json", `{"summary":"` + strings.ReplaceAll(nl, "\n", `\n`) + `","description":""}`},
				bad{http.MethodPatch, TaskPath(id), "application/merge-patch+json", `{"summary":"` + strings.ReplaceAll(nl, "\n", `\n`) + `"}`},
				// huge bodies
				bad{http.MethodPost, "/tasks/", "application/json", huge},
				bad{http.MethodPut, TaskPath(id), "application/json", huge},
				bad{http.MethodPut, SensorPath(s), "application/json", `{"value":"` + strings.Repeat("9", 1<<20) + `"}`},
				// a Content-Type that is no media type
				bad{http.MethodPut, SensorPath(s), ";;;", `{"value":2}`},
				bad{http.MethodPut, SensorPath(s), "application/", `{"value":2}`},
			)
			for _, c := range cases {
				r := Do(c.method, c.path, Raw(c.ct, c.body))
				Expect(r.Status).To(And(BeNumerically(">=", 400), BeNumerically("<", 500)),
					"%s %s with %.80q must be refused:\n%s", c.method, c.path, c.body, r)
				ExpectProblem(r, r.Status)
			}
			// Preconditions that cannot be parsed never let a write through.
			for _, cond := range []string{`"unterminated`, `no-quotes`, `W/`, `"a" "b"`} {
				r := Do(http.MethodPut, SensorPath(s), JSON(map[string]any{"value": 3}), IfMatch(cond))
				ExpectClientError(r)
			}
			Expect(state(s, id)).To(Equal(before), "nothing changed")
		})

	RESTIt("answer odd paths, queries and header fields without a server error", IDs("SEED-INPUT-1"), func() {
		s := NewSensor("odd")
		SetValue(s, 1)
		before := Snap(SensorPath(s))
		for _, p := range []string{"/sensors/%00", "/sensors/%2e%2e", "/sensors/a%2Fb", "/sensors/" + strings.Repeat("x", 4000),
			"/sensors/%E2%82", "/sensors/%zz", "/tasks/-1/", "/tasks/abc/", "/tasks/0/", "/tasks/1.5/",
			"/tasks/99999999999999999999/", "/tasks/0x10/", "/tasks/%201/", "/tasks//", "/sensors//readings"} {
			for _, m := range []string{http.MethodGet, http.MethodDelete, http.MethodPut} {
				r, err := Try(m, p, JSON(map[string]any{"value": 1}))
				if err != nil { // the client refused to send it (an invalid URL)
					continue
				}
				Expect(r.Status).To(BeNumerically("<", 500), "%s %s:\n%s", m, p, r)
				Expect(r.Status).NotTo(BeNumerically("<", 300), "%s %s names no resource:\n%s", m, p, r)
			}
		}
		for _, q := range []string{"limit=-1", "limit=abc", "limit=99999999999", "after=-5", "after=abc", "limit=0",
			"from=2024-01-01T00:00:00Z&from=2024-01-02T00:00:00Z", "from=%zz", "from=" + strings.Repeat("9", 5000)} {
			r := Do(http.MethodGet, ReadingsPath(s, nil)+"?"+q)
			if r.Status >= 400 {
				ExpectClientError(r)
			}
		}
		for _, h := range [][2]string{{"Accept", ";;;,,,q=abc"}, {"Accept", strings.Repeat("a/b;q=0.5,", 2000)},
			{"If-None-Match", `"unterminated`}, {"If-None-Match", strings.Repeat(`"x",`, 2000)}, {"Content-Type", "\x01"},
			{"Authorization", "Bearer " + strings.Repeat("x", 8000)}} {
			r, err := Try(http.MethodGet, SensorPath(s), H(h[0], h[1]))
			if err != nil { // the client refused to send it
				continue
			}
			Expect(r.Status).To(BeNumerically("<", 500), "%s: %.60q:\n%s", h[0], h[1], r)
		}
		ExpectUnchanged(SensorPath(s), before, "odd requests")
	})

	RESTIt("store odd but valid input intact, or refuse it with a 4xx, never a 5xx", IDs("SEED-INPUT-1"), func() {
		id := CreateTask(Marker("odd"), "d")
		for _, d := range []string{"nul \u0000 inside", "emoji 😀 and RTL \u05e9\u05dc\u05d5\u05dd", "line\u2028separator",
			"tab\tand\r\ncrlf", strings.Repeat("ü", 20000), "\ufffd replacement", "`'; DROP TABLE tasks; --"} {
			r := Do(http.MethodPatch, TaskPath(id), MergePatch(map[string]any{"description": d}))
			if r.Status >= 400 {
				ExpectClientError(r)
				RecordOutcome("odd-description", "refused: "+strings.Split(d, " ")[0])
				continue
			}
			Expect(Task(id)).To(HaveKeyWithValue("description", d), "stored as sent")
		}
		s := NewSensor("oddvalue")
		for _, v := range []any{1e308, -1e308, 5e-324, "123456789012345678901234567890", 0.1} {
			r := Do(http.MethodPut, SensorPath(s), JSON(map[string]any{"value": v}))
			if r.Status >= 400 {
				ExpectClientError(r)
				continue
			}
			want, _ := Number(v)
			Expect(ValueOf(s)).To(BeNumerically("~", want, abs(want)*1e-12), "value %v", v)
		}
		n64 := Name("len64")
		n64 += strings.Repeat("n", max(0, 64-len(n64)))
		for _, n := range []string{n64, Name("a.b_c-d"), n64 + strings.Repeat("m", 236)} {
			r := Do(http.MethodPost, "/sensors", JSON(map[string]any{"name": n}))
			if r.Status >= 400 {
				ExpectClientError(r)
				continue
			}
			Expect(Do(http.MethodGet, SensorPath(n)).Object()).To(HaveKeyWithValue("name", n))
			Do(http.MethodDelete, SensorPath(n))
		}
		// Duplicate members: RFC 8259 leaves the meaning open.
		r := Do(http.MethodPut, SensorPath(s), Raw("application/json", `{"value":1,"value":2}`))
		if r.Status >= 400 {
			ExpectClientError(r)
			RecordOutcome("duplicate-json-member", "refused")
		} else {
			RecordOutcome("duplicate-json-member", "accepted")
		}
	})
})

func emptyPool() *x509.CertPool { return x509.NewCertPool() }

func abs(x float64) float64 { return math.Abs(x) }
