package main

import (
	"encoding/json"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/harness/capture"
)

func TestEnergyUsageErrors(t *testing.T) {
	cases := []struct {
		args []string
		want string
	}{
		{[]string{"energy"}, "--out DIR is required"},
		{[]string{"energy", "--pcap", "x.pcap"}, "--pcap needs --port"},
		{[]string{"energy", "--out", "d", "--port", "80"}, "--port is only for --pcap"},
		{[]string{"energy", "--out", "d", "--tls", "ssl3"}, "want one of study, tls1.2"},
		{[]string{"energy", "--out", "d", "--captures", "-1"}, "want 1 to 50"},
		{[]string{"energy", "--out", "d", "--battery-mah", "0"}, "must be positive"},
		{[]string{"energy", "--bogus"}, "unknown flag"},
		{[]string{"energy", "--pcap", "x.pcap", "--port", "1", "--out", "d"}, "--pcap reads a capture"},
	}
	for _, tc := range cases {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			expectUsageError(t, tc.args, tc.want)
		})
	}
}

func TestEnergyMissingPcap(t *testing.T) {
	_, err := run(t, "energy", "--pcap", filepath.Join(t.TempDir(), "none.pcap"), "--port", "8883")
	if err == nil || exitCode(err) != 1 || !strings.Contains(err.Error(), "none.pcap") {
		t.Fatalf("err %v (exit %d), want exit 1 naming the file", err, exitCode(err))
	}
}

// The interface: energy [--quick] --out DIR writes energy.json
// cells with table, radio, protocol, keepalive_s, model, value, published
// and ratio, plus energy.md, energy.csv and the plots.
func TestEnergyQuick(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("energy captures on lo: needs root or CAP_NET_RAW, and this test is not root")
	}
	dir := t.TempDir()
	out, err := run(t, "energy", "--quick", "--out", dir)
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	for _, want := range []string{"maintain 3g   mqtt   240", "saved per day", "break-even", "re-timed"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	for _, f := range []string{"energy.json", "energy.csv", "energy.md", "energy_maintain.png", "energy_maintain.svg", "energy_physical.png", "energy_physical.svg"} {
		if st, err := os.Stat(filepath.Join(dir, f)); err != nil || st.Size() == 0 {
			t.Errorf("%s: %v", f, err)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, "energy.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cells []map[string]any
	if err := json.Unmarshal(b, &cells); err != nil {
		t.Fatal(err)
	}
	seen := map[string]int{}
	for _, c := range cells {
		for _, f := range []string{"table", "radio", "protocol", "model", "value"} {
			if _, ok := c[f]; !ok {
				t.Fatalf("cell %v lacks %q", c, f)
			}
		}
		if c["model"] != "powertutor" {
			continue
		}
		seen[c["table"].(string)]++
		if c["published"].(float64) <= 0 || c["ratio"].(float64) <= 0 {
			t.Errorf("cell %v: no published value or ratio", c)
		}
		if _, ok := c["keepalive_s"]; ok != (c["table"] == "maintain") {
			t.Errorf("cell %v: keepalive_s only on maintain cells", c)
		}
	}
	if seen["connect"] != 4 || seen["maintain"] != 16 {
		t.Errorf("powertutor cells %v, want 4 connect and 16 maintain", seen)
	}
}

// --pcap applies the model to any capture: here a real loopback exchange
// written by the capture package.
func TestEnergyPcap(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("writing a loopback capture needs root or CAP_NET_RAW, and this test is not root")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		c, err := ln.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		io.Copy(c, c)
	}()
	port := uint16(ln.Addr().(*net.TCPAddr).Port)
	path := filepath.Join(t.TempDir(), "echo.pcapng")
	sess, err := capture.Start(capture.Options{Ports: []uint16{port}, Pcapng: path})
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.Dial("tcp", ln.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 300)
	for range 3 {
		if _, err := c.Write(buf); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
	}
	c.Close()
	time.Sleep(50 * time.Millisecond)
	if _, err := sess.Stop(); err != nil {
		t.Fatal(err)
	}
	out, err := run(t, "energy", "--pcap", path, "--port", strconv.Itoa(int(port)))
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	// Three 300-byte echoes on 3G cost at least one FACH tail.
	re := regexp.MustCompile(`3g\s+powertutor: ([0-9.]+) J`)
	m := re.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no 3G figure in:\n%s", out)
	}
	if j, _ := strconv.ParseFloat(m[1], 64); j < 2.4 {
		t.Errorf("3G %.3f J, want at least 6 FACH ticks (2.435 J):\n%s", j, out)
	}
	if !strings.Contains(out, "not re-timed") {
		t.Errorf("output does not say the capture's own timing was used:\n%s", out)
	}
}
