package rest

import (
	"encoding/xml"
	"errors"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// Readings: GET /sensors/{name}/readings?from=&to=&after=&limit= returns a
// sensor's value history, oldest first, one page at a time.
//
//	from, to  RFC 3339 times; readings with from <= time < to (either may
//	          be omitted). A '+' of a zone offset that arrives decoded as a
//	          space (an unencoded "+01:00" in a query) is taken back as '+'.
//	after     the cursor of the "next" link of the previous page
//	limit     readings per page, 1 to 1000; default Options.PageSize
//
// The "next" link is present when there are more readings.

type readingRep struct {
	XMLName xml.Name `json:"-" xml:"reading"`
	Value   *float64 `json:"value" xml:"value,omitempty"`
	Unit    *string  `json:"unit" xml:"unit,omitempty"`
	Time    string   `json:"time" xml:"time"`
	Source  string   `json:"source" xml:"source"`
}

type readingsRep struct {
	XMLName  xml.Name     `json:"-" xml:"readings"`
	Readings []readingRep `json:"readings" xml:"reading"`
	Links    []link       `json:"links" xml:"links>link"`
}

// readingsQuery is the parsed query of a readings request.
type readingsQuery struct {
	from, to time.Time
	after    int64
	limit    int
	given    url.Values // the parameters as given, for the links
}

func (h *handler) parseReadingsQuery(r *http.Request) (readingsQuery, error) {
	q := readingsQuery{limit: h.pageSize, given: url.Values{}}
	vals, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return q, badRequest("malformed query string")
	}
	get := func(name string) (string, bool, error) {
		vs := vals[name]
		switch len(vs) {
		case 0:
			return "", false, nil
		case 1:
			return vs[0], true, nil
		}
		return "", false, badRequest("%s: given more than once", name)
	}
	for _, name := range []string{"from", "to"} {
		s, ok, err := get(name)
		if err != nil {
			return q, err
		}
		if !ok {
			continue
		}
		s = strings.ReplaceAll(s, " ", "+")
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return q, badRequest("%s: %s is not an RFC 3339 date-time such as 2024-05-01T12:00:00Z", name, quoteShort(s))
		}
		q.given.Set(name, s)
		if name == "from" {
			q.from = t
		} else {
			q.to = t
		}
	}
	if !q.from.IsZero() && !q.to.IsZero() && q.from.After(q.to) {
		return q, badRequest("from (%s) is after to (%s)", stamp(q.from), stamp(q.to))
	}
	if s, ok, err := get("after"); err != nil {
		return q, err
	} else if ok {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return q, badRequest("after: %s is not a cursor from a next link", quoteShort(s))
		}
		q.after = n
		q.given.Set("after", s)
	}
	if s, ok, err := get("limit"); err != nil {
		return q, err
	} else if ok {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > h.maxPage {
			return q, badRequest("limit: %s is not a whole number from 1 to %d", quoteShort(s), h.maxPage)
		}
		q.limit = n
		q.given.Set("limit", s)
	}
	return q, nil
}

func pageURL(r *http.Request, name string, v url.Values) string {
	u := abs(r, readingsPath(name))
	if len(v) > 0 {
		// ':' needs no escaping in a query; keeping it leaves times legible.
		u += "?" + strings.ReplaceAll(v.Encode(), "%3A", ":")
	}
	return u
}

func (h *handler) getReadings(w http.ResponseWriter, r *http.Request, v variant) error {
	name, err := sensorName(r)
	if err != nil {
		return err
	}
	q, err := h.parseReadingsQuery(r)
	if err != nil {
		return err
	}
	rs, next, err := h.st.Readings(r.Context(), name, q.from, q.to, store.Page{After: q.after, Limit: q.limit})
	if errors.Is(err, store.ErrNotFound) {
		return noSensor(name)
	}
	if err != nil {
		return err
	}
	rep := readingsRep{Readings: make([]readingRep, 0, len(rs))}
	for _, rd := range rs {
		rr := readingRep{Time: stamp(rd.Time), Source: rd.Source}
		if !math.IsNaN(rd.Value) && !math.IsInf(rd.Value, 0) {
			x := rd.Value
			rr.Value = &x
		}
		if rd.Unit != "" {
			u := rd.Unit
			rr.Unit = &u
		}
		rep.Readings = append(rep.Readings, rr)
	}
	rep.Links = []link{{"self", pageURL(r, name, q.given)}}
	if next != 0 {
		nv := url.Values{}
		for k, vs := range q.given {
			nv[k] = vs
		}
		nv.Set("after", strconv.FormatInt(next, 10))
		nv.Set("limit", strconv.Itoa(q.limit))
		rep.Links = append(rep.Links, link{"next", pageURL(r, name, nv)})
	}
	rep.Links = append(rep.Links, link{"sensor", abs(r, sensorPath(name))})
	body, err := encode(v, rep, nil)
	if err != nil {
		return err
	}
	return sendCollection(w, r, v, body, rep.Links)
}
