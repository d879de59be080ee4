package rest

import (
	"context"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestReadings(t *testing.T) {
	e := newEnv(t, nil, Options{PageSize: 4})
	ctx := context.Background()
	e.must(201, "POST", "/sensors", `{"name":"t1"}`)
	t0 := time.Date(2024, 5, 1, 12, 0, 0, 0, time.UTC)
	for i := range 10 { // 12:00 … 12:09, one a minute, values 0…9
		unit := "C"
		if i%2 == 1 {
			unit = ""
		}
		if _, err := e.st.SetValue(ctx, "t1", float64(i), unit, t0.Add(time.Duration(i)*time.Minute), "mqtt", 0, false); err != nil {
			t.Fatal(err)
		}
	}

	// Follow "next" links through the whole history.
	var got []float64
	next := "/sensors/t1/readings"
	pages := 0
	for next != "" {
		r := e.must(200, "GET", strings.TrimPrefix(next, e.srv.URL), "")
		page := decode[jReadings](t, r)
		pages++
		for _, rd := range page.Readings {
			got = append(got, *rd.Value)
			if rd.Source != "mqtt" {
				t.Errorf("source %q", rd.Source)
			}
		}
		if href(page.Links, "sensor") != e.srv.URL+"/sensors/t1" || href(page.Links, "self") == "" {
			t.Errorf("links %+v", page.Links)
		}
		if r.header.Get("ETag") == "" || r.header.Get("Cache-Control") != "no-cache" {
			t.Errorf("headers %v", r.header)
		}
		next = href(page.Links, "next")
	}
	if pages != 3 || len(got) != 10 || got[0] != 0 || got[9] != 9 {
		t.Errorf("%d pages, values %v", pages, got)
	}

	// A time range: from <= time < to. The '+' of an unencoded offset
	// arrives as a space and is taken back.
	q := url.Values{"from": {"2024-05-01T12:02:00Z"}, "to": {"2024-05-01T14:05:00+02:00"}, "limit": {"10"}}
	page := decode[jReadings](t, e.must(200, "GET", "/sensors/t1/readings?"+q.Encode(), ""))
	if len(page.Readings) != 3 || *page.Readings[0].Value != 2 || *page.Readings[2].Value != 4 || href(page.Links, "next") != "" {
		t.Errorf("range: %+v", page)
	}
	if page.Readings[0].Unit == nil || *page.Readings[0].Unit != "C" || page.Readings[1].Unit != nil {
		t.Errorf("units: %+v", page.Readings)
	}
	if want := "2024-05-01T12:02:00Z"; page.Readings[0].Time != want {
		t.Errorf("time %q, want %q", page.Readings[0].Time, want)
	}
	page = decode[jReadings](t, e.must(200, "GET", "/sensors/t1/readings?from=2024-05-01T14:08:00+02:00", ""))
	if len(page.Readings) != 2 {
		t.Errorf("unencoded +02:00: %+v", page)
	}

	// A sensor without readings has an empty list, not null.
	e.must(201, "POST", "/sensors", `{"name":"t2"}`)
	if r := e.must(200, "GET", "/sensors/t2/readings", ""); !strings.Contains(string(r.body), `"readings":[]`) {
		t.Errorf("empty history: %s", r.body)
	}

	for _, bad := range []string{
		"from=yesterday", "to=2024-05-01", "from=2024-05-01T12:00:00", "to=2024-13-01T00:00:00Z",
		"from=2024-05-02T00:00:00Z&to=2024-05-01T00:00:00Z",
		"limit=0", "limit=-1", "limit=1001", "limit=x", "limit=1.5",
		"after=-1", "after=x", "from=2024-05-01T12:00:00Z&from=2024-05-01T12:00:00Z",
		"limit=%zz",
	} {
		p := problemOf(t, e.do("GET", "/sensors/t1/readings?"+bad, ""), 400)
		if p.Detail == "" {
			t.Errorf("%s: no detail", bad)
		}
	}
}
