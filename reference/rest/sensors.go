package rest

import (
	"encoding/json"
	"encoding/xml"
	"errors"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// Sensors: the seed's Bottle service (POST/GET/PUT/DELETE /sensors), with
// objects instead of (name, value, ctime) tuples and proper status codes
// (201 and 404 where the seed says 200 and 409).

// maxNameLen is the longest sensor name.
const maxNameLen = 64

// validName: 1 to 64 characters from A-Z a-z 0-9 . _ -, and not "." or ".."
// (those would be path segments that URL normalisation removes).
func validName(s string) bool {
	if s == "" || len(s) > maxNameLen || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '.' || c == '_' || c == '-') {
			return false
		}
	}
	return true
}

// sensorRep is the representation of a sensor. value and unit are null
// (absent in XML) until the first update.
type sensorRep struct {
	XMLName xml.Name `json:"-" xml:"sensor"`
	Name    string   `json:"name" xml:"name"`
	Value   *float64 `json:"value" xml:"value,omitempty"`
	Unit    *string  `json:"unit" xml:"unit,omitempty"`
	Created string   `json:"created" xml:"created"`
	Updated string   `json:"updated" xml:"updated"`
	Links   []link   `json:"links" xml:"links>link"`
}

type sensorsXML struct {
	XMLName xml.Name    `xml:"sensors"`
	Sensors []sensorRep `xml:"sensor"`
	Links   []link      `xml:"links>link"`
}

func stamp(t time.Time) string { return t.UTC().Format(time.RFC3339Nano) }

func newSensorRep(r *http.Request, s store.Sensor) sensorRep {
	rep := sensorRep{Name: s.Name, Created: stamp(s.Created), Updated: stamp(s.Updated),
		Links: sensorLinks(r, s.Name)}
	// A value that JSON cannot carry (only the MQTT bridge could have stored
	// one) is shown as unknown rather than failing the whole response.
	if s.Value != nil && !math.IsNaN(*s.Value) && !math.IsInf(*s.Value, 0) {
		v := *s.Value
		rep.Value = &v
	}
	if s.Unit != "" {
		u := s.Unit
		rep.Unit = &u
	}
	return rep
}

func noSensor(name string) *httpError {
	return errorf(http.StatusNotFound, "no sensor named %s", quoteShort(name))
}

// sensorName returns the {name} of the path, or 404 when no sensor could
// have that name.
func sensorName(r *http.Request) (string, error) {
	name := r.PathValue("name")
	if !validName(name) {
		return "", noSensor(name)
	}
	return name, nil
}

func (h *handler) listSensors(w http.ResponseWriter, r *http.Request, v variant) error {
	ss, err := h.st.ListSensors(r.Context())
	if err != nil {
		return err
	}
	reps := make([]sensorRep, 0, len(ss))
	for _, s := range ss {
		reps = append(reps, newSensorRep(r, s))
	}
	links := []link{{"self", abs(r, sensorsPath())}}
	body, err := encode(v, reps, sensorsXML{Sensors: reps, Links: links})
	if err != nil {
		return err
	}
	return sendCollection(w, r, v, body, links)
}

// createSensor: POST /sensors {"name": "sensor1"} → 201 with Location.
func (h *handler) createSensor(w http.ResponseWriter, r *http.Request, v variant) error {
	body, err := h.readBody(w, r, mtJSON)
	if err != nil {
		return err
	}
	if err := h.checkCollectionWrite(r, func(v variant) ([]byte, error) {
		ss, err := h.st.ListSensors(r.Context())
		if err != nil {
			return nil, err
		}
		reps := make([]sensorRep, 0, len(ss))
		for _, s := range ss {
			reps = append(reps, newSensorRep(r, s))
		}
		return encode(v, reps, sensorsXML{Sensors: reps, Links: []link{{"self", abs(r, sensorsPath())}}})
	}); err != nil {
		return err
	}
	f, err := parseObject(body)
	if err != nil {
		return err
	}
	if err := f.only("name"); err != nil {
		return err
	}
	name, present, null, err := f.str("name")
	switch {
	case err != nil:
		return err
	case !present || null:
		return badRequest(`name: required, e.g. {"name": "sensor1"}`)
	case !validName(name):
		return badRequest("name: %s is not a valid sensor name: use 1 to %d characters from A-Z a-z 0-9 . _ - (not . or ..)",
			quoteShort(name), maxNameLen)
	}
	s, err := h.st.CreateSensor(r.Context(), name)
	if errors.Is(err, store.ErrExists) {
		return errorf(http.StatusConflict, "a sensor named %s already exists", quoteShort(name))
	}
	if err != nil {
		return err
	}
	return h.sendSensor(w, r, v, s, http.StatusCreated)
}

func (h *handler) sendSensor(w http.ResponseWriter, r *http.Request, v variant, s store.Sensor, status int) error {
	rep := newSensorRep(r, s)
	body, err := encode(v, rep, nil)
	if err != nil {
		return err
	}
	rp := reply{status: status, body: body, etag: versionTag(s.Version, v), links: rep.Links}
	if status == http.StatusCreated {
		rp.location = sensorPath(s.Name)
	}
	send(w, r, v, rp)
	return nil
}

func (h *handler) getSensor(w http.ResponseWriter, r *http.Request, v variant) error {
	name, err := sensorName(r)
	if err != nil {
		return err
	}
	s, err := h.st.GetSensor(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return noSensor(name)
	}
	if err != nil {
		return err
	}
	nm, err := checkRead(r, versioned(true, s.Version, v))
	if err != nil {
		return err
	}
	if nm {
		notModified(w, versionTag(s.Version, v))
		return nil
	}
	return h.sendSensor(w, r, v, s, http.StatusOK)
}

// putSensor: PUT /sensors/{name} {"value": 237 | "237", "unit": "C" | "F"}
// sets the sensor's current value and unit (an absent unit means unknown)
// and appends a reading with source "rest". "name" may be sent too (a
// representation sent back) if it is the sensor's own.
func (h *handler) putSensor(w http.ResponseWriter, r *http.Request, v variant) error {
	name, err := sensorName(r)
	if err != nil {
		return err
	}
	body, err := h.readBody(w, r, mtJSON)
	if err != nil {
		return err
	}
	ifv, err := h.writeVersion(r, h.sensorVersion(r, name), noSensor(name))
	if err != nil {
		return err
	}
	f, err := parseObject(body)
	if err != nil {
		return err
	}
	if err := f.only("value", "unit", "name"); err != nil {
		return err
	}
	value, err := parseValue(f["value"])
	if err != nil {
		return err
	}
	unit, _, _, err := f.str("unit")
	if err != nil {
		return err
	}
	if unit != "" && unit != "C" && unit != "F" {
		return badRequest(`unit: must be "C" or "F" (or absent), not %s`, quoteShort(unit))
	}
	if n, present, null, err := f.str("name"); err != nil {
		return err
	} else if present && (null || n != name) {
		return badRequest("name: %s is not this sensor's name (%s); sensors cannot be renamed", quoteShort(n), quoteShort(name))
	}
	s, err := h.st.SetValue(r.Context(), name, value, unit, h.now(), "rest", ifv, false)
	if err != nil {
		return writeErr(err, noSensor(name))
	}
	return h.sendSensor(w, r, v, s, http.StatusOK)
}

func (h *handler) sensorVersion(r *http.Request, name string) func() (int64, error) {
	return func() (int64, error) {
		s, err := h.st.GetSensor(r.Context(), name)
		return s.Version, err
	}
}

// parseValue accepts a JSON number or a string holding a decimal number
// (the seed sends {"value": "237"}); the result must be finite.
func parseValue(raw json.RawMessage) (float64, error) {
	var s string
	switch {
	case raw == nil || isNull(raw):
		return 0, badRequest(`value: required, a number such as {"value": 237} or {"value": "237"}`)
	case raw[0] == '"':
		if err := json.Unmarshal(raw, &s); err != nil {
			return 0, badRequest("value: malformed string")
		}
		if !isNumber(s) {
			return 0, badRequest("value: %s is not a decimal number", quoteShort(s))
		}
	case raw[0] == '-' || '0' <= raw[0] && raw[0] <= '9':
		s = string(raw)
	default:
		return 0, badRequest("value: must be a number (or a string holding one), not %s", jsonKind(raw))
	}
	x, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsInf(x, 0) || math.IsNaN(x) {
		return 0, badRequest("value: %s is out of range: it must be a finite number", quoteShort(s))
	}
	if x == 0 {
		x = 0 // no negative zero
	}
	return x, nil
}

func (h *handler) deleteSensor(w http.ResponseWriter, r *http.Request, _ variant) error {
	name, err := sensorName(r)
	if err != nil {
		return err
	}
	ifv, err := h.writeVersion(r, h.sensorVersion(r, name), noSensor(name))
	if err != nil {
		return err
	}
	if err := h.st.DeleteSensor(r.Context(), name, ifv); err != nil {
		return writeErr(err, noSensor(name))
	}
	w.WriteHeader(http.StatusNoContent)
	return nil
}

// writeVersion evaluates the preconditions of a write on a stored resource
// (RFC 9110 §13.2.2) and returns the version to hand the store as
// ifVersion: with If-Match, the current version the client named, so that
// the store refuses the write atomically if another one got there first (of
// two PUTs with the same If-Match exactly one succeeds); 0 (unconditional)
// otherwise. current reads the resource's version; it is called only when
// there are preconditions to evaluate. A resource that does not exist is
// notFound whatever the preconditions say: without them the answer would be
// 404, and §13.2.1 has a server ignore preconditions then.
func (h *handler) writeVersion(r *http.Request, current func() (int64, error), notFound error) (int64, error) {
	if !hasPreconditions(r) {
		return 0, nil
	}
	ver, err := current()
	if errors.Is(err, store.ErrNotFound) {
		return 0, notFound
	}
	if err != nil {
		return 0, err
	}
	if err := checkWrite(r, versioned(true, ver, offers[0])); err != nil {
		return 0, err
	}
	if hasIfMatch(r) {
		return ver, nil
	}
	return 0, nil
}

// writeErr maps a store error of a write: a missing resource is notFound
// (also when it went away after writeVersion looked).
func writeErr(err error, notFound error) error {
	if errors.Is(err, store.ErrNotFound) {
		return notFound
	}
	return err
}

// checkCollectionWrite evaluates If-Match / If-None-Match on a POST to a
// collection: "*" always matches (a collection always exists); a tag
// matches if it is the digest tag of the collection's current
// representation in any variant. render is called only when needed. This
// check is not atomic with the write that follows.
func (h *handler) checkCollectionWrite(r *http.Request, render func(variant) ([]byte, error)) error {
	if !hasPreconditions(r) {
		return nil
	}
	var tags []string
	for _, o := range offers {
		b, err := render(o)
		if err != nil {
			return err
		}
		tags = append(tags, digestTag(b, o))
	}
	val := validator{exists: true, current: func(o string) bool {
		for _, t := range tags {
			if t == o {
				return true
			}
		}
		return false
	}}
	return checkWrite(r, val)
}
