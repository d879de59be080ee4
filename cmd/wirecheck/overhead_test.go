package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestOverheadFlagErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"no out", []string{"overhead", "--quick"}, "--out"},
		{"time scale too small", []string{"overhead", "--out", dir, "--time-scale", "0.00001"}, "--time-scale"},
		{"time scale too big", []string{"overhead", "--out", dir, "--time-scale", "5"}, "--time-scale"},
		{"bad time scale", []string{"overhead", "--out", dir, "--time-scale", "fast"}, "invalid argument"},
		{"zero messages", []string{"overhead", "--out", dir, "--messages", "0"}, "--messages"},
		{"unknown experiment", []string{"overhead", "--out", dir, "--experiments", "bench"}, "unknown experiment"},
		{"bad keepalive", []string{"overhead", "--out", dir, "--keepalive", "0"}, "keepalive"},
		{"bad mqtt target", []string{"overhead", "--out", dir, "--mqtt-target", "https://127.0.0.1:1"}, "unknown scheme"},
		{"positional argument", []string{"overhead", "--out", dir, "extra"}, "unknown command"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expectUsageError(t, tc.args, tc.want)
		})
	}
}

func TestOverheadHelp(t *testing.T) {
	out, err := run(t, "overhead", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--quick", "--time-scale", "--out", "--mqtt-target", "--https-target",
		"connect", "maintain", "send", "receive", "shapes", "overhead.json", "overhead.csv", "overhead.md",
		"bytes_per_event.png", "bytes_per_hour.png", "pcapng", "payload-only", "X25519MLKEM768", "GET /s?t=TOPIC"} {
		if !strings.Contains(out, want) {
			t.Errorf("overhead --help lacks %q", want)
		}
	}
}

// TestOverheadQuick runs `wirecheck overhead --quick --out DIR` in-process
// and checks every output is there. Without capture privileges the run
// falls back to payload-only counting: no pcapng then.
func TestOverheadQuick(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	out, err := run(t, "overhead", "--quick", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"overhead: connect", "overhead: maintain", "overhead: shapes", "done in"} {
		if !strings.Contains(out, want) {
			t.Errorf("progress lacks %q:\n%s", want, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "overhead.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rows []map[string]any
	if err := json.Unmarshal(b, &rows); err != nil {
		t.Fatal(err)
	}
	if len(rows) == 0 {
		t.Fatal("no rows")
	}
	mode := rows[0]["capture_mode"]
	files := []string{"overhead.json", "overhead.csv", "overhead.md", "bytes_per_event.png", "bytes_per_event.svg",
		"bytes_per_hour.png", "bytes_per_hour.svg"}
	if mode == "afpacket" {
		for _, exp := range []string{"connect", "maintain", "send", "receive", "shapes"} {
			files = append(files, exp+".pcapng")
		}
	} else if mode != "payload-only" {
		t.Errorf("capture_mode %v", mode)
	}
	for _, name := range files {
		fi, err := os.Stat(filepath.Join(dir, name))
		if err != nil || fi.Size() == 0 {
			t.Errorf("%s: %v", name, err)
		}
		if !strings.Contains(out, filepath.Join(dir, name)) {
			t.Errorf("output does not list %s", name)
		}
	}
	for _, r := range rows {
		if r["time_scale"] != 0.001 || r["capture_mode"] != mode {
			t.Errorf("row says time scale %v, capture %v", r["time_scale"], r["capture_mode"])
		}
	}
}
