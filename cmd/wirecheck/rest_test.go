package main

import (
	"bufio"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

func TestRestFlagErrors(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name string
		args []string
		want string
	}{
		{"data with db", []string{"rest", "--data", dir, "--db", "postgres://127.0.0.1:1/x"}, "--data and --db"},
		{"empty db", []string{"rest", "--db", ""}, "--db"},
		{"empty data", []string{"rest", "--data", ""}, "--data"},
		{"cert without key", []string{"rest", "--tls-cert", "c.pem"}, "--tls-cert and --tls-key"},
		{"key without cert", []string{"rest", "--tls-key", "k.pem"}, "--tls-cert and --tls-key"},
		{"zero max-body", []string{"rest", "--max-body", "0"}, "--max-body"},
		{"bad max-body", []string{"rest", "--max-body", "lots"}, "invalid argument"},
		{"listen without port", []string{"rest", "--listen", "127.0.0.1"}, "--listen"},
		{"empty mqtt", []string{"rest", "--mqtt", ""}, "--mqtt"},
		{"bad log level", []string{"rest", "--log-level", "loud"}, "--log-level"},
		{"bad log format", []string{"rest", "--log-format", "xml"}, "--log-format"},
		{"positional argument", []string{"rest", "extra"}, "unknown command"},
		{"unknown flag", []string{"rest", "--port", "8000"}, "unknown flag"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			expectUsageError(t, tc.args, tc.want)
		})
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("a refused command wrote to --data: %v", entries)
	}
}

func TestRestHelp(t *testing.T) {
	out, err := run(t, "rest", "--help")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"--listen", "127.0.0.1:8000", "--data", "wirecheck-data", "--db", "--mqtt",
		"--tls-cert", "--tls-key", "--token", "--max-body", "--log-level", "--log-format",
		"POST   /sensors", "PATCH  /tasks/ID/", "/sensors/NAME/readings", "msg=listening addr="} {
		if !strings.Contains(out, want) {
			t.Errorf("rest --help lacks %q", want)
		}
	}
}

// restProcess is a running `wirecheck rest`.
type restProcess struct {
	cmd    *exec.Cmd
	base   string
	log    chan string // stderr lines
	done   chan error  // Wait's result
	exited chan struct{}
}

// startRest runs the binary in dir and waits for its "listening" line.
func startRest(t *testing.T, bin, dir string, args ...string) *restProcess {
	t.Helper()
	cmd := exec.Command(bin, append([]string{"rest", "--listen", "127.0.0.1:0"}, args...)...)
	cmd.Dir = dir
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	p := &restProcess{cmd: cmd, log: make(chan string, 1000), done: make(chan error, 1), exited: make(chan struct{})}
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			line := sc.Text()
			if strings.Contains(line, "msg=listening") {
				for _, f := range strings.Fields(line) {
					if a, ok := strings.CutPrefix(f, "addr="); ok {
						addr <- a
					}
				}
			}
			select {
			case p.log <- line:
			default:
			}
		}
		close(p.log)
		p.done <- cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			cmd.Process.Kill()
			<-p.exited
		}
	})
	select {
	case a := <-addr:
		p.base = "http://" + a
	case <-p.exited:
		t.Fatalf("wirecheck rest exited: %v; log:\n%s", <-p.done, p.drain())
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("no listening line; log:\n%s", p.drain())
	}
	return p
}

func (p *restProcess) drain() string {
	var b strings.Builder
	for {
		select {
		case l, ok := <-p.log:
			if !ok {
				return b.String()
			}
			b.WriteString(l + "\n")
		default:
			return b.String()
		}
	}
}

// stop sends SIGINT and expects a clean exit (status 0).
func (p *restProcess) stop(t *testing.T) string {
	t.Helper()
	p.cmd.Process.Signal(syscall.SIGINT)
	select {
	case err := <-p.done:
		log := p.drain()
		if err != nil {
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				t.Fatalf("exit status %d after SIGINT; log:\n%s", ee.ExitCode(), log)
			}
			t.Fatal(err)
		}
		return log
	case <-time.After(20 * time.Second):
		p.cmd.Process.Kill()
		t.Fatal("no exit 20s after SIGINT")
	}
	return ""
}

func httpDo(t *testing.T, method, url, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-type", "application/json") // as the seed's curl
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, res.Header, b
}

// TestRestBinary runs `wirecheck rest` with its default data directory,
// does the seed lecture's curl session over HTTP, stops it with SIGINT
// (exit 0), starts it again and finds the data still there.
func TestRestBinary(t *testing.T) {
	bin := buildBinary(t)
	dir := t.TempDir()
	p := startRest(t, bin, dir)

	type sensor struct {
		Name  string   `json:"name"`
		Value *float64 `json:"value"`
	}
	check := func(method, path, body string, want int) []byte {
		t.Helper()
		code, _, b := httpDo(t, method, p.base+path, body)
		if code != want {
			t.Fatalf("%s %s: %d, want %d: %s", method, path, code, want, b)
		}
		return b
	}
	for _, name := range []string{"sensor1", "sensor2"} {
		code, hdr, b := httpDo(t, "POST", p.base+"/sensors", `{"name":"`+name+`"}`)
		if code != 201 || hdr.Get("Location") != "/sensors/"+name {
			t.Fatalf("POST %s: %d %v %s", name, code, hdr, b)
		}
	}
	var list []sensor
	if err := json.Unmarshal(check("GET", "/sensors", "", 200), &list); err != nil || len(list) != 2 {
		t.Fatalf("list: %v %+v", err, list)
	}
	var s sensor
	json.Unmarshal(check("GET", "/sensors/sensor2", "", 200), &s)
	if s.Name != "sensor2" {
		t.Errorf("sensor2: %+v", s)
	}
	json.Unmarshal(check("PUT", "/sensors/sensor2", `{"value":"237"}`, 200), &s)
	if s.Value == nil || *s.Value != 237 {
		t.Errorf("after PUT: %+v", s)
	}
	check("DELETE", "/sensors/sensor2", "", 204)
	check("GET", "/sensors/sensor2", "", 404)
	check("PUT", "/sensors/sensor1", `{"value":"21"}`, 200)
	log := p.stop(t)
	if !strings.Contains(log, "stopped cleanly") {
		t.Errorf("log:\n%s", log)
	}
	if _, err := os.Stat(filepath.Join(dir, "wirecheck-data", "wirecheck-rest.db")); err != nil {
		t.Errorf("default data directory: %v", err)
	}

	// A restart serves what was committed.
	p = startRest(t, bin, dir, "--data", "wirecheck-data", "--token", "t0k")
	json.Unmarshal(check("GET", "/sensors/sensor1", "", 200), &s)
	if s.Value == nil || *s.Value != 21 {
		t.Errorf("after restart: %+v", s)
	}
	check("GET", "/sensors/sensor2", "", 404)
	check("DELETE", "/sensors/sensor1", "", 401) // --token
	p.stop(t)
}
