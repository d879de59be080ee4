package bench

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestParseStatCPU(t *testing.T) {
	tests := []struct {
		name    string
		stat    string
		want    time.Duration
		wantErr bool
	}{
		// A real /proc/PID/stat of mosquitto; utime 1234 and stime 567 ticks.
		{"mosquitto", "4242 (mosquitto) S 1 4242 4242 0 -1 4194560 503 0 0 0 1234 567 0 0 20 0 1 0 12345 8765432 1024 18446744073709551615 1 1 0 0 0 0 0 4096 16387 0 0 0 17 1 0 0 0 0 0",
			1801 * 10 * time.Millisecond, false},
		// The name may hold spaces and parentheses: count from the last ')'.
		{"odd name", "7 (a) b (c)) R 1 7 7 0 -1 0 0 0 0 0 3 4 0 0 20 0 1 0 1 1 1 1",
			7 * 10 * time.Millisecond, false},
		{"no name", "7 R 1", 0, true},
		{"too short", "7 (x) R 1 2 3", 0, true},
		{"not numbers", "7 (x) R 1 7 7 0 -1 0 0 0 0 0 u s 0", 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseStatCPU([]byte(tt.stat))
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %v, %v; want %v, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseStatusKB(t *testing.T) {
	status := "Name:\tmosquitto\nVmPeak:\t   12000 kB\nVmHWM:\t    9000 kB\nVmRSS:\t    8192 kB\nThreads:\t1\n"
	tests := []struct {
		key     string
		want    int64
		wantErr bool
	}{
		{"VmRSS", 8192 * 1024, false},
		{"VmHWM", 9000 * 1024, false},
		{"Threads", 1, false}, // no unit: taken as is
		{"VmSwap", 0, true},
		{"VmR", 0, true}, // a prefix is not the key
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			got, err := parseStatusKB([]byte(status), tt.key)
			if (err != nil) != tt.wantErr || got != tt.want {
				t.Errorf("got %d, %v; want %d, error %v", got, err, tt.want, tt.wantErr)
			}
		})
	}
}

func TestParseSchedstat(t *testing.T) {
	tests := []struct {
		in      string
		want    time.Duration
		wantErr bool
	}{
		{"829579 280111 2\n", 829579, false},
		{"0 0 0", 0, false},
		{"", 0, true},
		{"x 1 2", 0, true},
	}
	for _, tt := range tests {
		got, err := parseSchedstat([]byte(tt.in))
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("parseSchedstat(%q) = %v, %v; want %v, error %v", tt.in, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestParseCPUModel(t *testing.T) {
	in := "processor\t: 0\nvendor_id\t: AuthenticAMD\nmodel name\t: AMD EPYC 7B13 64-Core Processor\nflags\t: fpu\n"
	if got := parseCPUModel([]byte(in)); got != "AMD EPYC 7B13 64-Core Processor" {
		t.Errorf("got %q", got)
	}
}

// TestProcSelf reads this very process: the parsers accept what the kernel writes.
func TestProcSelf(t *testing.T) {
	if _, err := os.Stat("/proc/self/stat"); err != nil {
		t.Skip("no /proc")
	}
	pid := os.Getpid()
	if _, err := procCPU(pid); err != nil {
		t.Errorf("procCPU: %v", err)
	}
	rss, err := procRSS(pid)
	if err != nil || rss <= 0 {
		t.Errorf("procRSS = %d, %v", rss, err)
	}
	b, _ := os.ReadFile("/proc/self/stat")
	if _, err := parseStatCPU(b); err != nil {
		t.Errorf("parseStatCPU(/proc/self/stat): %v", err)
	}
}

func TestMosquittoConf(t *testing.T) {
	for _, root := range []bool{false, true} {
		c := mosquittoConf(18830, root)
		for _, want := range []string{"listener 18830 127.0.0.1\n", "allow_anonymous true\n", "persistence false\n",
			"max_inflight_messages 20\n", "max_queued_messages 1000\n"} {
			if !strings.Contains(c, want) {
				t.Errorf("root=%v: config lacks %q:\n%s", root, want, c)
			}
		}
		if strings.Contains(c, "user root") != root {
			t.Errorf("root=%v: config:\n%s", root, c)
		}
	}
}

// TestSchedstatSum: schedstat is used only when it says something; a
// kernel without scheduler statistics writes "0 0 0" for every thread.
func TestSchedstatSum(t *testing.T) {
	tests := []struct {
		name    string
		threads map[string]string // thread id -> schedstat ("" = no file)
		want    time.Duration
		wantOK  bool
	}{
		{"two threads", map[string]string{"10": "1000 5 1\n", "11": "234 0 2\n"}, 1234, true},
		{"a thread just exited", map[string]string{"10": "1000 5 1\n", "11": ""}, 1000, true},
		{"no statistics", map[string]string{"10": "0 0 0\n", "11": "0 0 0\n"}, 0, false},
		{"no schedstat at all", map[string]string{"10": "", "11": ""}, 0, false},
		{"unreadable", map[string]string{"10": "x 0 0\n"}, 0, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for tid, stat := range tt.threads {
				task := filepath.Join(dir, "task", tid)
				if err := os.MkdirAll(task, 0o755); err != nil {
					t.Fatal(err)
				}
				if stat != "" {
					if err := os.WriteFile(filepath.Join(task, "schedstat"), []byte(stat), 0o644); err != nil {
						t.Fatal(err)
					}
				}
			}
			got, ok := schedstatSum(dir)
			if ok != tt.wantOK || (ok && got != tt.want) {
				t.Errorf("got %v, %v; want %v, %v", got, ok, tt.want, tt.wantOK)
			}
		})
	}
}
