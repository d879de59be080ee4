package rest

import (
	"net/http"
	"net/url"
	"strconv"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// Readings: every value update is kept with its time, and
// GET /sensors/NAME/readings?from=&to= returns the history in a date range,
// page by page.

// clockSlack is how far the server's clock may be from ours.
func clockSlack() time.Duration {
	if Info().Kind == "external" {
		return 5 * time.Minute
	}
	return time.Second
}

// stamp formats t as RFC 3339 with the zone of loc.
func stamp(t time.Time, loc *time.Location) string { return t.In(loc).Format(time.RFC3339Nano) }

// putValues sets values one after the other and returns the history.
func putValues(name string, values ...float64) []Reading {
	GinkgoHelper()
	for _, v := range values {
		SetValue(name, v)
	}
	all, _ := AllReadings(ReadingsPath(name, nil))
	Expect(Values(all)).To(Equal(values), "one reading per update, oldest first")
	return all
}

var _ = Describe("Readings", Area("readings"), func() {
	BeforeEach(requireTarget)

	RESTIt("keep every value update as a reading with an RFC 3339 time, oldest first",
		IDs("SEED-READINGS-1", "RFC3339-5.6"), func() {
			name := NewSensor("history")
			rs, next, _ := ReadingsPage(ReadingsPath(name, nil))
			Expect(rs).To(BeEmpty(), "a new sensor has no history")
			Expect(next).To(BeEmpty())

			t0 := time.Now()
			all := putValues(name, 10, 20, 30)
			t1 := time.Now()
			for i, r := range all {
				Expect(r.Time).To(BeTemporally(">=", t0.Add(-clockSlack())), "reading %d time", i)
				Expect(r.Time).To(BeTemporally("<=", t1.Add(clockSlack())), "reading %d time", i)
				if i > 0 {
					Expect(r.Time).To(BeTemporally(">=", all[i-1].Time), "oldest first")
				}
			}
			// Reading the sensor adds nothing; its own times are RFC 3339 too.
			s, _ := Sensor(name)
			for _, k := range []string{"created", "updated", "time"} {
				if v, ok := s[k]; ok && v != nil {
					Time(v)
				}
			}
			again, _ := AllReadings(ReadingsPath(name, nil))
			Expect(Values(again)).To(Equal([]float64{10, 20, 30}), "GET is safe")
		})

	RESTIt("select readings by an RFC 3339 range given with from and to, in any time zone",
		IDs("SEED-READINGS-2", "RFC3339-5.6"), func() {
			name := NewSensor("range")
			all := putValues(name, 0, 1, 2, 3, 4)
			t := func(i int) time.Time { return all[i].Time }
			query := func(from, to *time.Time, loc *time.Location) []Reading {
				GinkgoHelper()
				q := url.Values{}
				if from != nil {
					q.Set("from", stamp(*from, loc))
				}
				if to != nil {
					q.Set("to", stamp(*to, loc))
				}
				got, _ := AllReadings(ReadingsPath(name, q))
				for _, r := range got {
					if from != nil {
						Expect(r.Time).To(BeTemporally(">=", *from), "from=%s", q.Get("from"))
					}
					if to != nil {
						Expect(r.Time).To(BeTemporally("<=", *to), "to=%s", q.Get("to"))
					}
				}
				// Every reading strictly inside the range is there.
				var inside []float64
				for _, r := range all {
					if (from == nil || r.Time.After(*from)) && (to == nil || r.Time.Before(*to)) {
						inside = append(inside, r.Value)
					}
				}
				Expect(Values(got)).To(ContainElements(inside), "readings inside %v", q)
				return got
			}
			from, to := t(1), t(3)
			utc := query(&from, &to, time.UTC)
			plus2 := query(&from, &to, time.FixedZone("", 2*3600))
			minus5 := query(&from, &to, time.FixedZone("", -5*3600-30*60))
			Expect(Values(plus2)).To(Equal(Values(utc)), "the same instants with a +02:00 offset")
			Expect(Values(minus5)).To(Equal(Values(utc)), "the same instants with a -05:30 offset")
			bounds := "from "
			if len(utc) > 0 && utc[0].Value == 1 {
				bounds += "inclusive"
			} else {
				bounds += "exclusive"
			}
			if len(utc) > 0 && utc[len(utc)-1].Value == 3 {
				bounds += ", to inclusive"
			} else {
				bounds += ", to exclusive"
			}
			RecordOutcome("readings-range-bounds", bounds)

			query(&to, nil, time.UTC)
			query(nil, &from, time.UTC)
			later := t(4).Add(time.Hour)
			Expect(query(&later, nil, time.UTC)).To(BeEmpty(), "nothing after the last reading")
			earlier := t(0).Add(-time.Hour)
			Expect(query(nil, &earlier, time.UTC)).To(BeEmpty(), "nothing before the first")

			// from after to: refused, or an empty range.
			q := url.Values{"from": {stamp(t(3), time.UTC)}, "to": {stamp(t(1), time.UTC)}}
			r := Do(http.MethodGet, ReadingsPath(name, q))
			if r.Status == http.StatusOK {
				rs, _, _ := ReadingsPage(ReadingsPath(name, q))
				Expect(rs).To(BeEmpty())
				RecordOutcome("readings-from-after-to", "empty list")
			} else {
				ExpectProblem(r, http.StatusBadRequest)
				RecordOutcome("readings-from-after-to", "400 Bad Request")
			}
		})

	RESTIt("page the history: following links next reaches every reading once, in order",
		IDs("SEED-READINGS-3"), func() {
			name := NewSensor("pages")
			values := make([]float64, 25)
			for i := range values {
				values[i] = float64(i)
			}
			all := putValues(name, values...)

			const limit = 10
			path := ReadingsPath(name, url.Values{"limit": {strconv.Itoa(limit)}})
			var got []float64
			pages := 0
			for path != "" {
				rs, next, r := ReadingsPage(path)
				pages++
				Expect(pages).To(BeNumerically("<=", 10), "the pages end")
				Expect(len(rs)).To(BeNumerically("<=", limit), "a page holds at most limit readings:\n%s", r)
				if next != "" {
					Expect(rs).NotTo(BeEmpty(), "a page with a next link is not empty")
				}
				got = append(got, Values(rs)...)
				path = next
			}
			Expect(pages).To(BeNumerically(">=", 3), "25 readings at %d a page take 3 pages (no next link: the history is not paginated)", limit)
			Expect(got).To(Equal(values), "every reading once, in order")

			// The next links keep the range.
			q := url.Values{"from": {stamp(all[5].Time, time.UTC)}, "limit": {"7"}}
			ranged, n := AllReadings(ReadingsPath(name, q))
			Expect(n).To(BeNumerically(">=", 3))
			Expect(Values(ranged)).To(Equal(values[5:]), "from the 6th reading on, across pages")
		})

	RESTIt("answer 404 for the readings of a missing sensor and 400 for a from or to that is not RFC 3339",
		IDs("SEED-READINGS-4", "RFC3339-5.6", "RFC9457-3"), func() {
			ExpectProblem(Do(http.MethodGet, ReadingsPath(Name("nohistory"), nil)), http.StatusNotFound)
			name := NewSensor("badrange")
			SetValue(name, 1)
			for _, bad := range []string{"yesterday", "2024-13-01T00:00:00Z", "2024-05-01", "12:00:00",
				"2024-05-01T12:00:00", "2024-05-01 12:00:00Z x", "1714564800", "2024-05-01T25:00:00Z", ""} {
				for _, param := range []string{"from", "to"} {
					if bad == "" && param == "to" {
						continue
					}
					r := Do(http.MethodGet, ReadingsPath(name, url.Values{param: {bad}}))
					if bad == "" {
						// An empty parameter may mean "not given".
						ExpectStatus(r, http.StatusOK, http.StatusBadRequest)
						continue
					}
					p := ExpectProblem(r, http.StatusBadRequest)
					Expect(p["detail"]).NotTo(BeEmpty(), "%s=%s", param, bad)
				}
			}
			// A deleted sensor's history goes with it.
			Do(http.MethodDelete, SensorPath(name))
			ExpectProblem(Do(http.MethodGet, ReadingsPath(name, nil)), http.StatusNotFound)
			CreateSensor(name)
			rs, _ := AllReadings(ReadingsPath(name, nil))
			Expect(rs).To(BeEmpty(), "a re-created sensor starts without the old readings")
		})
})
