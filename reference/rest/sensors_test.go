package rest

import (
	"net/http"
	"strings"
	"testing"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// TestSeedCurlSession replays the seed lecture's curl commands:
//
//	curl -X POST -H "Content-type: application/json" -d '{"name":"sensor1"}' localhost:8000/sensors
//	curl -X POST -H "Content-type: application/json" -d '{"name":"sensor2"}' localhost:8000/sensors
//	curl -X GET localhost:8000/sensors
//	curl -X GET localhost:8000/sensors/sensor2
//	curl -X PUT -H "Content-type: application/json" -d '{"value":"237"}' localhost:8000/sensors/sensor2
//	curl -X DELETE localhost:8000/sensors/sensor2
func TestSeedCurlSession(t *testing.T) {
	eachStore(t, func(t *testing.T, st store.Store) {
		e := newEnv(t, st, Options{})
		curl := []string{"Accept", "*/*", "Content-Type", ""} // what curl sends
		for _, name := range []string{"sensor1", "sensor2"} {
			r := e.must(201, "POST", "/sensors", `{"name":"`+name+`"}`, "Content-type", "application/json", "Accept", "*/*")
			if loc := r.header.Get("Location"); loc != "/sensors/"+name {
				t.Errorf("Location %q", loc)
			}
			s := decode[jSensor](t, r)
			if s.Name != name || s.Value != nil || href(s.Links, "self") != e.srv.URL+"/sensors/"+name {
				t.Errorf("created %+v", s)
			}
			if r.header.Get("ETag") != `"v1-json"` {
				t.Errorf("ETag %q", r.header.Get("ETag"))
			}
		}
		list := decode[[]jSensor](t, e.must(200, "GET", "/sensors", "", curl...))
		if len(list) != 2 || list[0].Name != "sensor1" || list[1].Name != "sensor2" {
			t.Fatalf("list %+v", list)
		}
		s2 := decode[jSensor](t, e.must(200, "GET", "/sensors/sensor2", "", curl...))
		if s2.Name != "sensor2" || s2.Value != nil || s2.Unit != nil {
			t.Errorf("sensor2 %+v", s2)
		}
		r := e.must(200, "PUT", "/sensors/sensor2", `{"value":"237"}`, "Content-type", "application/json", "Accept", "*/*")
		s2 = decode[jSensor](t, r)
		if s2.Value == nil || *s2.Value != 237 {
			t.Errorf("after PUT: %+v", s2)
		}
		if r.header.Get("ETag") != `"v2-json"` {
			t.Errorf("ETag after PUT %q", r.header.Get("ETag"))
		}
		got := decode[jSensor](t, e.must(200, "GET", "/sensors/sensor2", "", curl...))
		if got.Value == nil || *got.Value != 237 {
			t.Errorf("GET after PUT: %+v", got)
		}
		rd := decode[jReadings](t, e.must(200, "GET", "/sensors/sensor2/readings", ""))
		if len(rd.Readings) != 1 || *rd.Readings[0].Value != 237 || rd.Readings[0].Source != "rest" {
			t.Errorf("readings %+v", rd)
		}
		del := e.must(204, "DELETE", "/sensors/sensor2", "", curl...)
		if len(del.body) != 0 {
			t.Errorf("DELETE body %q", del.body)
		}
		problemOf(t, e.do("GET", "/sensors/sensor2", "", curl...), 404)
		problemOf(t, e.do("GET", "/sensors/sensor2/readings", ""), 404)
		list = decode[[]jSensor](t, e.must(200, "GET", "/sensors", "", curl...))
		if len(list) != 1 || list[0].Name != "sensor1" {
			t.Fatalf("list after DELETE %+v", list)
		}
	})
}

func TestCreateSensor(t *testing.T) {
	long := strings.Repeat("a", 64)
	cases := []struct {
		name, body string
		want       int
		detail     string // in the problem's detail
	}{
		{"plain", `{"name":"sensor1"}`, 201, ""},
		{"all allowed characters", `{"name":"A-z_0.9"}`, 201, ""},
		{"64 characters", `{"name":"` + long + `"}`, 201, ""},
		{"65 characters", `{"name":"` + long + `a"}`, 400, "not a valid sensor name"},
		{"exists", `{"name":"taken"}`, 409, "already exists"},
		{"empty name", `{"name":""}`, 400, "not a valid sensor name"},
		{"missing name", `{}`, 400, "name: required"},
		{"null name", `{"name":null}`, 400, "name: required"},
		{"number", `{"name":42}`, 400, "must be a string"},
		{"array", `{"name":["a"]}`, 400, "must be a string"},
		{"space", `{"name":"a b"}`, 400, "not a valid sensor name"},
		{"slash", `{"name":"a/b"}`, 400, "not a valid sensor name"},
		{"dot dot", `{"name":".."}`, 400, "not a valid sensor name"},
		{"non-ASCII", `{"name":"capteur-é"}`, 400, "not a valid sensor name"},
		{"unknown field", `{"name":"x","value":1}`, 400, "unknown field"},
		{"case-folded field", `{"Name":"x"}`, 400, "unknown field"},
		{"duplicate field", `{"name":"x","name":"y"}`, 400, "duplicate"},
		{"malformed", `{"name":`, 400, "malformed JSON"},
		{"trailing data", `{"name":"x"} {}`, 400, "after the object"},
		{"not an object", `["x"]`, 400, "must be a JSON object"},
		{"empty body", ` `, 400, "empty"},
		{"invalid UTF-8", "{\"name\":\"\xff\"}", 400, "UTF-8"},
	}
	e := newEnv(t, nil, Options{})
	e.must(201, "POST", "/sensors", `{"name":"taken"}`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := e.do("POST", "/sensors", tc.body)
			if tc.want == 201 {
				if r.status != 201 {
					t.Fatalf("status %d: %s", r.status, r)
				}
				return
			}
			p := problemOf(t, r, tc.want)
			if !strings.Contains(p.Detail, tc.detail) {
				t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
			}
		})
	}
}

func TestPutSensorValue(t *testing.T) {
	cases := []struct {
		name, body string
		want       int
		value      float64
		unit       string
		detail     string
	}{
		{"number", `{"value":237}`, 200, 237, "", ""},
		{"seed string", `{"value":"237"}`, 200, 237, "", ""},
		{"negative fraction", `{"value":-12.5,"unit":"C"}`, 200, -12.5, "C", ""},
		{"string with exponent", `{"value":"1.5e3","unit":"F"}`, 200, 1500, "F", ""},
		{"leading zeros in string", `{"value":"0237"}`, 200, 237, "", ""},
		{"own name", `{"value":1,"name":"s"}`, 200, 1, "", ""},
		{"null unit", `{"value":1,"unit":null}`, 200, 1, "", ""},
		{"missing value", `{"unit":"C"}`, 400, 0, "", "value: required"},
		{"null value", `{"value":null}`, 400, 0, "", "value: required"},
		{"boolean", `{"value":true}`, 400, 0, "", "not a boolean"},
		{"object", `{"value":{}}`, 400, 0, "", "not an object"},
		{"word", `{"value":"hot"}`, 400, 0, "", "not a decimal number"},
		{"NaN", `{"value":"NaN"}`, 400, 0, "", "not a decimal number"},
		{"Infinity", `{"value":"Infinity"}`, 400, 0, "", "not a decimal number"},
		{"hex", `{"value":"0x10"}`, 400, 0, "", "not a decimal number"},
		{"space", `{"value":" 237"}`, 400, 0, "", "not a decimal number"},
		{"empty string", `{"value":""}`, 400, 0, "", "not a decimal number"},
		{"overflow", `{"value":1e400}`, 400, 0, "", "finite"},
		{"overflow string", `{"value":"-1e400"}`, 400, 0, "", "finite"},
		{"bad unit", `{"value":1,"unit":"K"}`, 400, 0, "", "unit"},
		{"lower-case unit", `{"value":1,"unit":"c"}`, 400, 0, "", "unit"},
		{"numeric unit", `{"value":1,"unit":1}`, 400, 0, "", "unit: must be a string"},
		{"other name", `{"value":1,"name":"t"}`, 400, 0, "", "cannot be renamed"},
		{"unknown field", `{"value":1,"time":"now"}`, 400, 0, "", "unknown field"},
		{"malformed", `{"value":1,}`, 400, 0, "", "malformed"},
	}
	e := newEnv(t, nil, Options{})
	e.must(201, "POST", "/sensors", `{"name":"s"}`)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := e.must(200, "GET", "/sensors/s", "")
			r := e.do("PUT", "/sensors/s", tc.body)
			if tc.want != 200 {
				p := problemOf(t, r, tc.want)
				if !strings.Contains(p.Detail, tc.detail) {
					t.Errorf("detail %q lacks %q", p.Detail, tc.detail)
				}
				if after := e.must(200, "GET", "/sensors/s", ""); string(after.body) != string(before.body) {
					t.Errorf("refused PUT changed the sensor:\n%s\n%s", before.body, after.body)
				}
				return
			}
			if r.status != 200 {
				t.Fatalf("%s", r)
			}
			s := decode[jSensor](t, r)
			if s.Value == nil || *s.Value != tc.value {
				t.Errorf("value %v, want %v", s.Value, tc.value)
			}
			if unit := ""; s.Unit != nil {
				unit = *s.Unit
				if unit != tc.unit {
					t.Errorf("unit %q, want %q", unit, tc.unit)
				}
			} else if tc.unit != "" {
				t.Errorf("no unit, want %q", tc.unit)
			}
		})
	}
}

func TestSensorNotFound(t *testing.T) {
	e := newEnv(t, nil, Options{})
	for _, c := range []struct{ method, path, body string }{
		{"GET", "/sensors/nope", ""},
		{"HEAD", "/sensors/nope", ""},
		{"PUT", "/sensors/nope", `{"value":1}`},
		{"DELETE", "/sensors/nope", ""},
		{"GET", "/sensors/nope/readings", ""},
		{"GET", "/sensors/bad%20name", ""},
		{"PUT", "/sensors/" + strings.Repeat("x", 65), `{"value":1}`},
		{"GET", "/sensors/", ""},
		{"GET", "/sensors/a/b", ""},
		{"GET", "/nowhere", ""},
	} {
		r := e.do(c.method, c.path, c.body)
		if c.method == "HEAD" {
			if r.status != 404 || len(r.body) != 0 {
				t.Errorf("HEAD %s: %d %q", c.path, r.status, r.body)
			}
			continue
		}
		problemOf(t, r, http.StatusNotFound)
	}
}
