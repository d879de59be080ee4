package rest

import (
	"net/http"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// Sensors: the seed's Bottle service (POST/GET/PUT/DELETE /sensors), with
// the status codes HTTP prescribes where the seed's code has 200 and 409.
var _ = Describe("Sensors", Area("sensors"), func() {
	BeforeEach(requireTarget)

	RESTIt("run the seed's curl session: create sensor1 and sensor2, list, fetch sensor2, set 237, delete",
		IDs("SEED-CURL-1", "SEED-SENSORS-1", "SEED-SENSORS-3", "SEED-SENSORS-4", "SEED-SENSORS-5", "SEED-SENSORS-7"), func() {
			// The seed's commands, as curl sends them (Accept: */*), with this
			// run's names instead of sensor1 and sensor2.
			curl := []Opt{H("User-Agent", "curl/7.88.1"), Accept("*/*")}
			with := func(extra ...Opt) []Opt { return append(append([]Opt{}, curl...), extra...) }
			s1, s2 := Name("sensor1"), Name("sensor2")

			// curl -X POST -H "Content-type: application/json" -d '{"name":"sensor1"}' localhost:8000/sensors
			for _, s := range []string{s1, s2} {
				r := Do(http.MethodPost, "/sensors", with(Raw("application/json", `{"name":"`+s+`"}`))...)
				Expect(r.Status).To(Equal(http.StatusCreated), "%s", r)
			}
			// curl -X GET localhost:8000/sensors
			r := Do(http.MethodGet, "/sensors", curl...)
			Expect(r.Status).To(Equal(http.StatusOK), "%s", r)
			var names []string
			for _, it := range r.Items() {
				n, _ := it["name"].(string)
				names = append(names, n)
			}
			Expect(names).To(ContainElements(s1, s2), "GET /sensors lists both")
			// curl -X GET localhost:8000/sensors/sensor2
			r = Do(http.MethodGet, SensorPath(s2), curl...)
			Expect(r.Status).To(Equal(http.StatusOK), "%s", r)
			Expect(r.Object()).To(HaveKeyWithValue("name", s2))
			// curl -X PUT -H "Content-type: application/json" -d '{"value":"237"}' localhost:8000/sensors/sensor2
			r = Do(http.MethodPut, SensorPath(s2), with(Raw("application/json", `{"value":"237"}`))...)
			ExpectStatus(r, http.StatusOK, http.StatusNoContent)
			Expect(ValueOf(s2)).To(BeNumerically("==", 237))
			// curl -X DELETE localhost:8000/sensors/sensor2
			r = Do(http.MethodDelete, SensorPath(s2), curl...)
			Expect(r.Status).To(Equal(http.StatusNoContent), "%s", r)
			Expect(r.Body).To(BeEmpty())
			ExpectProblem(Do(http.MethodGet, SensorPath(s2), curl...), http.StatusNotFound)
			Expect(SensorNames()).To(And(ContainElement(s1), Not(ContainElement(s2))))
		})

	RESTIt("answer a create with 201 and a Location that resolves to the new sensor",
		IDs("SEED-SENSORS-1", "RFC9110-15.3.2"), func() {
			name := Name("created")
			r := CreateSensor(name)
			loc := r.Header.Get("Location")
			Expect(loc).NotTo(BeEmpty(), "201 carries a Location:\n%s", r)
			got := Do(http.MethodGet, Resolve(r.URL, loc), Accept("application/json"))
			Expect(got.Status).To(Equal(http.StatusOK), "the Location resolves:\n%s", got)
			Expect(got.Object()).To(HaveKeyWithValue("name", name))
			Expect(Resolve(r.URL, loc)).To(Equal(URL(SensorPath(name))), "Location is /sensors/NAME")
		})

	RESTIt("refuse a name that is taken with 409 and leave the sensor as it was",
		IDs("SEED-SENSORS-2", "RFC9110-15.5.10", "SEED-INPUT-2"), func() {
			name := NewSensor("dup")
			SetValue(name, 5)
			before := Snap(SensorPath(name))
			r := Do(http.MethodPost, "/sensors", JSON(map[string]any{"name": name}))
			ExpectProblem(r, http.StatusConflict)
			Expect(r.Header.Get("Location")).To(BeEmpty())
			ExpectUnchanged(SensorPath(name), before, "a refused duplicate create")
		})

	RESTIt("list every sensor by name", IDs("SEED-SENSORS-3", "RFC9110-9.3.1"), func() {
		names := []string{NewSensor("list"), NewSensor("list"), NewSensor("list")}
		Expect(SensorNames()).To(ContainElements(names))
	})

	RESTIt("show one sensor: its name and current value", IDs("SEED-SENSORS-4", "RFC9110-9.3.1"), func() {
		name := NewSensor("one")
		s, _ := Sensor(name)
		Expect(s).To(HaveKeyWithValue("name", name))
		Expect(s).To(HaveKey("value"), "a new sensor shows its value (null or the seed's 0)")
		SetValue(name, 21.5)
		Expect(ValueOf(name)).To(BeNumerically("==", 21.5))
	})

	RESTIt("set a value given as the seed's digit string or as a JSON number", IDs("SEED-SENSORS-5", "RFC9110-9.3.4"), func() {
		name := NewSensor("value")
		for _, tc := range []struct {
			body any
			want float64
		}{{"237", 237}, {"0237", 237}, {42, 42}, {-3.25, -3.25}, {"-17.5", -17.5}, {0, 0}} {
			r := SetValue(name, tc.body)
			if r.Status == http.StatusOK && len(r.Body) > 0 {
				v, ok := Number(r.Object()["value"])
				Expect(ok && v == tc.want).To(BeTrue(), "a 200 to PUT shows the new value %v:\n%s", tc.want, r)
			}
			Expect(ValueOf(name)).To(BeNumerically("==", tc.want), "after PUT {\"value\": %#v}", tc.body)
		}
	})

	RESTIt("refuse an invalid value with 400 and a reason, and keep the old value",
		IDs("SEED-SENSORS-6", "SEED-INPUT-2", "RFC9457-3", "RFC9457-3.1.2"), func() {
			name := NewSensor("invalid")
			SetValue(name, "237")
			before := Snap(SensorPath(name))
			for _, body := range []string{
				`{"value":"abc"}`, `{"value":""}`, `{"value":" "}`, `{}`, `{"value":null}`, `{"value":true}`,
				`{"value":[1]}`, `{"value":{"v":1}}`, `{"value":"NaN"}`, `{"value":"Infinity"}`, `{"value":"0x10"}`,
				`{"value":"1e999"}`, `{"value":1e999}`, `{"value":"12abc"}`, `{"value":"1,5"}`,
			} {
				r := Do(http.MethodPut, SensorPath(name), Raw("application/json", body))
				p := ExpectProblem(r, http.StatusBadRequest)
				Expect(p["detail"]).To(And(BeAssignableToTypeOf(""), Not(BeEmpty())), "a 400 says why (body %s):\n%s", body, r)
				ExpectUnchanged(SensorPath(name), before, "PUT "+body)
			}
		})

	RESTIt("refuse a create without a usable name with 400", IDs("SEED-SENSORS-8", "SEED-INPUT-2", "RFC9457-3"), func() {
		slash := Name("a") + "/b"
		for _, body := range []string{`{}`, `{"name":""}`, `{"name":null}`, `{"name":5}`, `{"name":["x"]}`,
			`{"name":{"n":"x"}}`, `{"name":"` + slash + `"}`, `{"name":"."}`, `{"name":".."}`} {
			r := Do(http.MethodPost, "/sensors", Raw("application/json", body))
			ExpectProblem(r, http.StatusBadRequest)
			Expect(r.Header.Get("Location")).To(BeEmpty(), "nothing was created")
		}
		Expect(SensorNames()).NotTo(ContainElement(slash))
	})

	RESTIt("delete with 204 and no content; the sensor is then gone",
		IDs("SEED-SENSORS-7", "RFC9110-9.3.5", "RFC9110-15.3.5", "RFC9110-15.5.5"), func() {
			name := NewSensor("delete")
			SetValue(name, 1)
			r := Do(http.MethodDelete, SensorPath(name))
			ExpectStatus(r, http.StatusNoContent)
			Expect(r.Body).To(BeEmpty(), "a 204 has no content")
			Expect(r.Header.Get("Content-Length")).To(Or(BeEmpty(), Equal("0")))
			ExpectProblem(Do(http.MethodGet, SensorPath(name)), http.StatusNotFound)
			Expect(SensorNames()).NotTo(ContainElement(name))
			// DELETE is idempotent in effect; the second finds nothing.
			ExpectProblem(Do(http.MethodDelete, SensorPath(name)), http.StatusNotFound)
			// The name is free again.
			CreateSensor(name)
			s, _ := Sensor(name)
			Expect(s["value"]).To(Or(BeNil(), BeNumerically("==", 0)), "a re-created sensor starts afresh")
		})

	RESTIt("answer 404 to every method on a sensor that does not exist", IDs("RFC9110-15.5.5", "SEED-SENSORS-7"), func() {
		name := Name("missing")
		ExpectProblem(Do(http.MethodGet, SensorPath(name)), http.StatusNotFound)
		ExpectProblem(Do(http.MethodHead, SensorPath(name)), http.StatusNotFound)
		ExpectProblem(Do(http.MethodPut, SensorPath(name), JSON(map[string]any{"value": 1})), http.StatusNotFound)
		ExpectProblem(Do(http.MethodDelete, SensorPath(name)), http.StatusNotFound)
		ExpectProblem(Do(http.MethodGet, ReadingsPath(name, nil)), http.StatusNotFound)
		Expect(SensorNames()).NotTo(ContainElement(name), "a PUT to a missing sensor does not create it")
	})
})
