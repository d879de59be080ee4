package bench

import (
	"strings"
	"testing"
)

func TestCheckTarget(t *testing.T) {
	cases := []struct {
		spec, err string // err: "" = accepted
	}{
		{"reference", ""},
		{"mosquitto", ""},
		{"tcp://127.0.0.1:1883", ""},
		{"tcp://127.0.0.1:1883/", ""},
		{"tcp://127.0.0.1", "want reference"},
		{"tcp://127.0.0.1:1883/path", "want reference"},
		{"ws://127.0.0.1:8080/mqtt", "unsupported scheme"},
		{"container", "unknown target"},
		{"", "unknown target"},
	}
	for _, tc := range cases {
		err := CheckTarget(tc.spec)
		if (tc.err == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("CheckTarget(%q) = %v, want %q", tc.spec, err, tc.err)
		}
	}
}
