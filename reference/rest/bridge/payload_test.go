package bridge

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"
	"time"
)

// now is the receive time of the parsing tests: 22:31:30 UTC, 19 s after the
// seed's "22:31:11".
var now = time.Date(2024, 5, 6, 22, 31, 30, 0, time.UTC)

func utcAt(h, m, s int) time.Time { return time.Date(2024, 5, 6, h, m, s, 0, time.UTC) }

type payloadCase struct {
	name    string
	payload string
	now     time.Time // zero: now
	value   float64
	unit    string
	time    time.Time // zero: the receive time
	errSub  string    // non-empty: must fail, with this in the message
}

var payloadCases = []payloadCase{
	// The seed's publisher (intro-to-rest-and-mqtt.md, pub/sub example) and
	// the consumer's printout of it, keys in either order.
	{name: "seed shape", payload: `{"Sensor": 1, "C_F": "C", "Value": 86, "Time": "22:31:11"}`, value: 86, unit: "C", time: utcAt(22, 31, 11)},
	{name: "seed printout order", payload: `{"Time": "22:31:16", "Sensor": 1, "Value": 90, "C_F": "C"}`, value: 90, unit: "C", time: utcAt(22, 31, 16)},
	{name: "seed shape, F", payload: `{"Sensor": 2, "C_F": "F", "Value": 24, "Time": "22:31:21"}`, value: 24, unit: "F", time: utcAt(22, 31, 21)},
	{name: "lowercase", payload: `{"sensor": "kitchen", "unit": "F", "value": 71.5, "time": "2024-05-06T20:00:00Z"}`, value: 71.5, unit: "F", time: utcAt(20, 0, 0)},
	{name: "mixed spellings", payload: `{"Value": 1, "unit": "C", "time": "01:02:03"}`, value: 1, unit: "C", time: utcAt(1, 2, 3)},
	{name: "rfc3339 offset", payload: `{"value": 20, "time": "2024-05-06T22:00:00+02:00"}`, value: 20, time: utcAt(20, 0, 0)},
	{name: "rfc3339 fraction", payload: `{"value": 20, "time": "2024-05-06T20:00:00.123456789Z"}`, value: 20, time: utcAt(20, 0, 0).Add(123456789)},
	{name: "numeric string", payload: `{"value": "86"}`, value: 86},
	{name: "numeric string, spaces", payload: `{"value": " -3.25 "}`, value: -3.25},
	{name: "numeric string, exponent", payload: `{"value": "1e3"}`, value: 1000},
	{name: "negative", payload: `{"value": -40, "unit": "F"}`, value: -40, unit: "F"},
	{name: "lowercase unit", payload: `{"value": 5, "unit": "c"}`, value: 5, unit: "C"},
	{name: "unit null", payload: `{"value": 5, "unit": null}`, value: 5},
	{name: "time null", payload: `{"value": 5, "time": null}`, value: 5},
	{name: "no unit, no time", payload: `{"value": 5}`, value: 5},
	{name: "extra fields ignored", payload: `{"value": 5, "battery": 93, "rssi": -70, "Sensor": {"id": 1}}`, value: 5},
	{name: "whitespace around", payload: "\n\t {\"value\": 5} \r\n", value: 5},
	{name: "bare number", payload: `21.5`, value: 21.5},
	{name: "bare number, newline", payload: " 21.5\n", value: 21.5},
	{name: "bare integer", payload: `0`, value: 0},
	{name: "bare negative exponent", payload: `-1.5e-3`, value: -0.0015},

	// HH:MM:SS is today in UTC, unless that is more than a minute ahead.
	{name: "clock 30 s ahead is today", payload: `{"value": 1, "time": "22:32:00"}`, value: 1, time: utcAt(22, 32, 0)},
	{name: "clock 60 s ahead is today", payload: `{"value": 1, "time": "22:32:30"}`, value: 1, time: utcAt(22, 32, 30)},
	{name: "clock 61 s ahead is yesterday", payload: `{"value": 1, "time": "22:32:31"}`, value: 1, time: utcAt(22, 32, 31).AddDate(0, 0, -1)},
	{name: "clock before midnight, received after", payload: `{"value": 1, "time": "23:59:59"}`, now: time.Date(2024, 5, 7, 0, 0, 30, 0, time.UTC), value: 1, time: time.Date(2024, 5, 6, 23, 59, 59, 0, time.UTC)},
	{name: "clock anchored to UTC date", payload: `{"value": 1, "time": "10:00:00"}`, now: time.Date(2024, 5, 7, 1, 0, 0, 0, time.FixedZone("CEST", 2*3600)), value: 1, time: time.Date(2024, 5, 6, 10, 0, 0, 0, time.UTC)},

	// Rejected.
	{name: "empty", payload: ``, errSub: "empty payload"},
	{name: "blank", payload: " \n", errSub: "empty payload"},
	{name: "truncated JSON", payload: `{"Value": 86, "C_F": "C"`, errSub: "bad JSON"},
	{name: "trailing garbage", payload: `{"value": 1} x`, errSub: "bad JSON"},
	{name: "NaN literal", payload: `{"Sensor": 1, "C_F": "C", "Value": NaN, "Time": "22:31:11"}`, errSub: "bad JSON"},
	{name: "NaN string", payload: `{"value": "NaN"}`, errSub: "not a number"},
	{name: "Infinity string", payload: `{"value": "Infinity"}`, errSub: "not a number"},
	{name: "hex string", payload: `{"value": "0x10"}`, errSub: "not a finite number"},
	{name: "underscore string", payload: `{"value": "1_000"}`, errSub: "not a finite number"},
	{name: "plus sign string", payload: `{"value": "+1"}`, errSub: "not a number"},
	{name: "empty string value", payload: `{"value": ""}`, errSub: "not a number"},
	{name: "overflow", payload: `{"value": 1e400}`, errSub: "not a finite number"},
	{name: "overflow string", payload: `{"value": "-1e400"}`, errSub: "not a finite number"},
	{name: "bool value", payload: `{"value": true}`, errSub: "want a number"},
	{name: "array value", payload: `{"value": [1]}`, errSub: "want a number"},
	{name: "object value", payload: `{"value": {"v": 1}}`, errSub: "want a number"},
	{name: "null value", payload: `{"value": null}`, errSub: "no value"},
	{name: "no value", payload: `{"Sensor": 1, "C_F": "C", "Time": "22:31:11"}`, errSub: "no value"},
	{name: "empty object", payload: `{}`, errSub: "no value"},
	{name: "both Value and value", payload: `{"Value": 1, "value": 2}`, errSub: `both "Value" and "value"`},
	{name: "both C_F and unit", payload: `{"value": 1, "C_F": "C", "unit": "C"}`, errSub: `both "C_F" and "unit"`},
	{name: "both Time and time", payload: `{"value": 1, "Time": "22:31:11", "time": "22:31:11"}`, errSub: `both "Time" and "time"`},
	{name: "unit K", payload: `{"value": 300, "unit": "K"}`, errSub: `unit is "K"`},
	{name: "unit Celsius", payload: `{"value": 30, "C_F": "Celsius"}`, errSub: `C_F is "Celsius"`},
	{name: "unit empty", payload: `{"value": 30, "unit": ""}`, errSub: `unit is ""`},
	{name: "unit number", payload: `{"value": 30, "unit": 1}`, errSub: "must be a string"},
	{name: "time word", payload: `{"value": 1, "time": "yesterday"}`, errSub: "neither RFC 3339 nor HH:MM:SS"},
	{name: "time number", payload: `{"value": 1, "time": 1714990271}`, errSub: "must be a string"},
	{name: "time hour 25", payload: `{"value": 1, "time": "25:00:00"}`, errSub: "neither"},
	{name: "time second 60", payload: `{"value": 1, "time": "23:59:60"}`, errSub: "neither"},
	{name: "time HH:MM", payload: `{"value": 1, "time": "22:31"}`, errSub: "neither"},
	{name: "time short hour", payload: `{"value": 1, "time": "1:02:03"}`, errSub: "neither"},
	{name: "time month 13", payload: `{"value": 1, "time": "2024-13-01T00:00:00Z"}`, errSub: "neither"},
	{name: "time without zone", payload: `{"value": 1, "time": "2024-05-06T20:00:00"}`, errSub: "neither"},
	{name: "bare NaN", payload: `NaN`, errSub: "neither a JSON object nor a number"},
	{name: "bare word", payload: `hello`, errSub: "neither a JSON object nor a number"},
	{name: "bare quoted number", payload: `"21.5"`, errSub: "neither a JSON object nor a number"},
	{name: "bare number with unit", payload: `21.5 C`, errSub: "neither a JSON object nor a number"},
	{name: "bare overflow", payload: `1e999`, errSub: "not a finite number"},
	{name: "bare null", payload: `null`, errSub: "neither"},
	{name: "array", payload: `[86]`, errSub: "neither"},
	{name: "too large", payload: `{"value": 1, "pad": "` + strings.Repeat("x", MaxPayload) + `"}`, errSub: "limit"},
}

func TestParsePayload(t *testing.T) {
	for _, tc := range payloadCases {
		t.Run(tc.name, func(t *testing.T) {
			at := now
			if !tc.now.IsZero() {
				at = tc.now
			}
			got, err := ParsePayload([]byte(tc.payload), at)
			if tc.errSub != "" {
				if err == nil {
					t.Fatalf("ParsePayload(%q) = %+v, want an error containing %q", tc.payload, got, tc.errSub)
				}
				if !errors.Is(err, ErrMalformed) {
					t.Errorf("error %v does not wrap ErrMalformed", err)
				}
				if !strings.Contains(err.Error(), tc.errSub) {
					t.Errorf("error %q does not contain %q", err, tc.errSub)
				}
				if len(err.Error()) > 300 {
					t.Errorf("error is %d bytes long; payload text should be truncated", len(err.Error()))
				}
				return
			}
			if err != nil {
				t.Fatalf("ParsePayload(%q): %v", tc.payload, err)
			}
			if got.Value != tc.value || got.Unit != tc.unit {
				t.Errorf("value, unit = %v, %q; want %v, %q", got.Value, got.Unit, tc.value, tc.unit)
			}
			wantTime, wantGiven := tc.time, true
			if wantTime.IsZero() {
				wantTime, wantGiven = at, false
			}
			if !got.Time.Equal(wantTime) || got.TimeGiven != wantGiven {
				t.Errorf("time = %v (given %v); want %v (given %v)", got.Time, got.TimeGiven, wantTime, wantGiven)
			}
		})
	}
}

func TestSensorFromTopic(t *testing.T) {
	long := strings.Repeat("a", MaxNameLen)
	for _, tc := range []struct {
		topic, name string
	}{
		{"sensors/sensor1/value", "sensor1"},
		{"sensors/Kitchen.temp_2-b/value", "Kitchen.temp_2-b"},
		{"sensors/" + long + "/value", long},
		{"sensors/1/value", "1"}, // the seed's Sensor number as a name
		{"sensors/bad name/value", ""},
		{"sensors/" + long + "a/value", ""},
		{"sensors//value", ""},
		{"sensors/caf\u00e9/value", ""},
		{"sensors/a/value/extra", ""},
		{"sensors/a", ""},
		{"Sensors/a/value", ""},
		{"sensors/a/Value", ""},
		{"/sensors/a/value", ""},
		{"", ""},
	} {
		got, err := SensorFromTopic(tc.topic)
		if tc.name == "" {
			if err == nil || !errors.Is(err, ErrMalformed) {
				t.Errorf("SensorFromTopic(%q) = %q, %v; want an ErrMalformed error", tc.topic, got, err)
			}
			continue
		}
		if err != nil || got != tc.name {
			t.Errorf("SensorFromTopic(%q) = %q, %v; want %q", tc.topic, got, err, tc.name)
		}
	}
}

func TestParseBrokerURL(t *testing.T) {
	for _, tc := range []struct {
		in, url, clientID, errSub string
	}{
		{in: "tcp://127.0.0.1:1883", url: "tcp://127.0.0.1:1883", clientID: DefaultClientID},
		{in: "127.0.0.1:1883", url: "tcp://127.0.0.1:1883", clientID: DefaultClientID},
		{in: "mqtt://broker:1883?client_id=bridge-2", url: "mqtt://broker:1883", clientID: "bridge-2"},
		{in: "ssl://u:p@broker:8883?client_id=x", url: "ssl://u:p@broker:8883", clientID: "x"},
		{in: "ws://broker:8080/mqtt?client_id=x&token=t", url: "ws://broker:8080/mqtt?token=t", clientID: "x"},
		{in: "wss://broker/mqtt", url: "wss://broker/mqtt", clientID: DefaultClientID},
		{in: "unix:///run/mosquitto.sock", url: "unix:///run/mosquitto.sock", clientID: DefaultClientID},
		{in: "", errSub: "empty"},
		{in: "http://broker:80", errSub: `unsupported scheme "http"`},
		{in: "tcp://", errSub: "no host"},
		{in: "tcp://u:secret@broker:1883?client_id=", errSub: "empty client_id"},
		{in: "tcp://u:secret@broker:port", errSub: "bad MQTT broker URL"},
		{in: "tcp://u:secret@bro ker:1883", errSub: "bad MQTT broker URL"},
	} {
		u, id, err := parseBrokerURL(tc.in)
		if tc.errSub != "" {
			if err == nil || !strings.Contains(err.Error(), tc.errSub) {
				t.Errorf("parseBrokerURL(%q) error = %v; want one containing %q", tc.in, err, tc.errSub)
			}
			if err != nil && strings.Contains(err.Error(), "secret") {
				t.Errorf("parseBrokerURL(%q) error %q shows the password", tc.in, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseBrokerURL(%q): %v", tc.in, err)
			continue
		}
		if u.String() != tc.url || id != tc.clientID {
			t.Errorf("parseBrokerURL(%q) = %q, %q; want %q, %q", tc.in, u, id, tc.url, tc.clientID)
		}
	}
}

// FuzzParsePayload: the parser never panics, and whatever it accepts is a
// storable reading that survives a round trip through the lowercase shape.
// Seeds: the table above plus testdata/fuzz/FuzzParsePayload.
func FuzzParsePayload(f *testing.F) {
	for _, tc := range payloadCases {
		if len(tc.payload) <= 1024 {
			f.Add([]byte(tc.payload))
		}
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		m, err := ParsePayload(payload, now)
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error %v does not wrap ErrMalformed", err)
			}
			return
		}
		if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) {
			t.Fatalf("accepted a non-finite value %v", m.Value)
		}
		if m.Unit != "" && m.Unit != "C" && m.Unit != "F" {
			t.Fatalf("accepted unit %q", m.Unit)
		}
		if m.Time.IsZero() || (!m.TimeGiven && !m.Time.Equal(now)) {
			t.Fatalf("time %v (given %v)", m.Time, m.TimeGiven)
		}
		again := map[string]any{"value": m.Value}
		if m.Unit != "" {
			again["unit"] = m.Unit
		}
		if m.TimeGiven {
			again["time"] = m.Time.Format(time.RFC3339Nano)
		}
		b, err := json.Marshal(again)
		if err != nil {
			t.Fatal(err)
		}
		m2, err := ParsePayload(b, now)
		if err != nil {
			t.Fatalf("round trip of %q via %s: %v", payload, b, err)
		}
		if m2.Value != m.Value || m2.Unit != m.Unit || !m2.Time.Equal(m.Time) || m2.TimeGiven != m.TimeGiven {
			t.Fatalf("round trip of %q via %s: %+v, want %+v", payload, b, m2, m)
		}
	})
}
