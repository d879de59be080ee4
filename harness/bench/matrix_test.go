package bench

import (
	"slices"
	"strings"
	"testing"
)

func TestCasesQuickCoversEverything(t *testing.T) {
	cases := Cases(Config{Targets: []string{"reference"}, Quick: true})
	scen := map[string]bool{}
	qos := map[byte]bool{}
	open := 0
	for _, c := range cases {
		scen[c.Scenario] = true
		if c.Scenario != Conn {
			qos[c.QoS] = true
		}
		if c.Mode == Open {
			open++
		}
	}
	for _, s := range allScenarios {
		if !scen[s] {
			t.Errorf("quick matrix has no %s case", s)
		}
	}
	for q := byte(0); q <= 2; q++ {
		if !qos[q] {
			t.Errorf("quick matrix has no QoS %d case", q)
		}
	}
	if open == 0 {
		t.Error("quick matrix has no open-loop case")
	}
}

func TestCasesOrderAndFilters(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"one scenario, one QoS, two payloads", Config{Scenarios: []string{Fanin}, QoS: []byte{1}, Payloads: []int{16, 4096}},
			// Open loop at the first payload when 256 B is not in the run.
			[]string{"fanin/100 qos1 16B closed", "fanin/100 qos1 4096B closed", "fanin/1000 qos1 16B closed", "fanin/1000 qos1 4096B closed",
				"fanin/100 qos1 16B open", "fanin/1000 qos1 16B open"}},
		{"conn ignores QoS and payload", Config{Scenarios: []string{Conn}, QoS: []byte{2}},
			[]string{"conn/1000", "conn/10000"}},
		{"clients override, fixed rate", Config{Scenarios: []string{P2P}, QoS: []byte{0}, Payloads: []int{256}, Clients: []int{5}, Rate: 1000},
			[]string{"p2p/5 qos0 256B closed", "p2p/5 qos0 256B open @1.0k/s"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []string
			for _, c := range Cases(tt.cfg) {
				got = append(got, c.String())
			}
			if len(got) < len(tt.want) || !slices.Equal(got[:len(tt.want)], tt.want) {
				t.Errorf("got\n  %s\nwant to start with\n  %s", strings.Join(got, "\n  "), strings.Join(tt.want, "\n  "))
			}
		})
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error, "" = valid
	}{
		{"ok", Config{Targets: []string{"reference", "mosquitto"}}, ""},
		{"no target", Config{}, "no target"},
		{"twice", Config{Targets: []string{"reference", "reference"}}, "twice"},
		{"scenario", Config{Targets: []string{"reference"}, Scenarios: []string{"storm"}}, "unknown scenario"},
		{"qos", Config{Targets: []string{"reference"}, QoS: []byte{3}}, "QoS 3"},
		{"payload", Config{Targets: []string{"reference"}, Payloads: []int{8}}, "payload 8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.withDefaults().validate()
			if (err == nil) != (tt.want == "") || (err != nil && !strings.Contains(err.Error(), tt.want)) {
				t.Errorf("validate = %v, want %q", err, tt.want)
			}
		})
	}
}

func TestNewBrokerRejectsUnknownTarget(t *testing.T) {
	for _, spec := range []string{"hivemq", "tcp://", "tcp://host", "ssl://127.0.0.1:8883"} {
		if _, err := newBroker(spec, "", nil); err == nil {
			t.Errorf("newBroker(%q) accepted", spec)
		}
	}
	if b, err := newBroker("tcp://127.0.0.1:1883", "", nil); err != nil || b.Addr() != "127.0.0.1:1883" || b.Pid() != 0 {
		t.Errorf("external target: %v, %v", b, err)
	}
}

func TestClosedWindow(t *testing.T) {
	tests := []struct {
		scenario string
		n        int
		qos      byte
		payload  int
		wantW    int
		wantPool int
	}{
		{P2P, 1, 0, 256, 64, 0},
		{P2P, 1, 1, 256, 10, 0},       // half the brokers' 20 in flight
		{P2P, 1000, 0, 256, 2, 0},     // 2048 in flight in all
		{Fanout, 1000, 0, 4096, 8, 0}, // 32 MiB
		{Fanin, 100, 1, 256, 10, 10},  // the one subscriber's 10, shared
		{Fanin, 1000, 0, 16, 2, 1000},
	}
	for _, tt := range tests {
		topo := topologyFor(tt.scenario, tt.n, "t")
		w, pool := closedWindow(topo, tt.qos, tt.payload)
		if w != tt.wantW || pool != tt.wantPool {
			t.Errorf("%s/%d qos%d %dB: window %d pool %d, want %d %d", tt.scenario, tt.n, tt.qos, tt.payload, w, pool, tt.wantW, tt.wantPool)
		}
	}
}
