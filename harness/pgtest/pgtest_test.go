package pgtest

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

func ping(ctx context.Context, dsn string) error {
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	var one int
	return conn.QueryRow(ctx, "SELECT 1").Scan(&one)
}

func TestStartStop(t *testing.T) {
	t.Setenv(EnvDSN, "")
	begin := time.Now()
	s := Require(t)
	t.Logf("started PostgreSQL in %s: %s", time.Since(begin).Round(time.Millisecond), s.DSN())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	if !strings.HasPrefix(s.DSN(), "postgres://wirecheck@127.0.0.1:") || !strings.HasSuffix(s.DSN(), "/wirecheck?sslmode=disable") {
		t.Errorf("DSN = %q", s.DSN())
	}
	if err := ping(ctx, s.DSN()); err != nil {
		t.Fatal(err)
	}
	var fsync string
	conn, err := pgx.Connect(ctx, s.DSN())
	if err != nil {
		t.Fatal(err)
	}
	if err := conn.QueryRow(ctx, "SHOW fsync").Scan(&fsync); err != nil || fsync != "off" {
		t.Errorf("fsync = %q, %v; want off", fsync, err)
	}
	var listen string
	if err := conn.QueryRow(ctx, "SHOW listen_addresses").Scan(&listen); err != nil || listen != "127.0.0.1" {
		t.Errorf("listen_addresses = %q, %v", listen, err)
	}
	conn.Close(ctx)

	pid := s.cmd.Process.Pid
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := s.Stop(); err != nil { // twice is fine
		t.Fatal(err)
	}
	if _, err := os.Stat(s.dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("data directory %s still there: %v", s.dir, err)
	}
	if err := syscall.Kill(pid, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("postgres pid %d still there: %v", pid, err)
	}
	if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", s.port), time.Second); err == nil {
		c.Close()
		t.Errorf("port %d still accepts connections after Stop", s.port)
	}
}

func TestCreateDatabase(t *testing.T) {
	t.Setenv(EnvDSN, "")
	s := Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	a := RequireDatabase(t, s)
	b, err := s.CreateDatabase(ctx, "Other-Name!")
	if err != nil {
		t.Fatal(err)
	}
	if a == b || a == s.DSN() {
		t.Fatalf("databases not distinct: %s %s %s", s.DSN(), a, b)
	}
	for _, dsn := range []string{a, b} {
		if err := ping(ctx, dsn); err != nil {
			t.Fatal(err)
		}
	}
	// An open connection does not stop the drop.
	conn, err := pgx.Connect(ctx, b)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if err := s.DropDatabase(ctx, b); err != nil {
		t.Fatal(err)
	}
	if err := ping(ctx, b); err == nil {
		t.Fatal("dropped database still reachable")
	}
}

func TestExternalDSN(t *testing.T) {
	t.Setenv(EnvDSN, "")
	real := Require(t)
	t.Setenv(EnvDSN, real.DSN())
	s, err := Start(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if !s.External() || s.DSN() != real.DSN() {
		t.Fatalf("external server: External=%v DSN=%q, want %q", s.External(), s.DSN(), real.DSN())
	}
	if err := s.Stop(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := ping(ctx, real.DSN()); err != nil {
		t.Fatalf("Stop of an external server stopped it: %v", err)
	}
}

func noPostgres(t *testing.T) {
	t.Setenv(EnvDSN, "")
	t.Setenv("PATH", t.TempDir())
	old := binGlob
	binGlob = t.TempDir() + "/*/bin"
	t.Cleanup(func() { binGlob = old })
}

func TestNoPostgres(t *testing.T) {
	noPostgres(t)
	_, err := Start(context.Background())
	if !errors.Is(err, ErrNoPostgres) {
		t.Fatalf("err = %v, want ErrNoPostgres", err)
	}
	if !strings.Contains(err.Error(), "PostgreSQL server not found: install Debian package postgresql (make test does this as root)") {
		t.Errorf("message = %q", err)
	}
}

// fakeTB records what Require does with a missing server.
type fakeTB struct {
	testing.TB
	skipped, failed string
}

func (f *fakeTB) Helper()                   {}
func (f *fakeTB) Cleanup(func())            {}
func (f *fakeTB) Skip(args ...any)          { f.skipped = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Fatal(args ...any)         { f.failed = fmt.Sprint(args...); runtime.Goexit() }
func (f *fakeTB) Fatalf(s string, a ...any) { f.failed = fmt.Sprintf(s, a...); runtime.Goexit() }

func TestRequireMissing(t *testing.T) {
	for _, ci := range []string{"", "true"} {
		t.Run("CI="+ci, func(t *testing.T) {
			noPostgres(t)
			t.Setenv("CI", ci)
			f := &fakeTB{TB: t}
			done := make(chan struct{})
			go func() { defer close(done); Require(f) }()
			<-done
			if ci == "true" {
				if f.skipped != "" || !strings.Contains(f.failed, "PostgreSQL server not found") {
					t.Errorf("CI: skipped=%q failed=%q; want a failure", f.skipped, f.failed)
				}
			} else if f.failed != "" || !strings.Contains(f.skipped, "PostgreSQL server not found") {
				t.Errorf("skipped=%q failed=%q; want a skip", f.skipped, f.failed)
			}
		})
	}
}

func TestVersionOf(t *testing.T) {
	for dir, want := range map[string]int{
		"/usr/lib/postgresql/15/bin":  15000,
		"/usr/lib/postgresql/9.6/bin": 9006,
		"/usr/lib/postgresql/x/bin":   -1,
	} {
		if got := versionOf(dir); got != want {
			t.Errorf("versionOf(%q) = %d, want %d", dir, got, want)
		}
	}
	if versionOf("/usr/lib/postgresql/16/bin") <= versionOf("/usr/lib/postgresql/9.6/bin") {
		t.Error("16 not newer than 9.6")
	}
}

// TestHelperServer is not a test: TestNoOrphan runs it in a child process,
// which starts a server, reports it and waits to be killed.
func TestHelperServer(t *testing.T) {
	if os.Getenv("PGTEST_HELPER") != "1" {
		t.Skip("helper process for TestNoOrphan")
	}
	s, err := Start(context.Background())
	if err != nil {
		fmt.Println("ERR", err)
		os.Exit(1)
	}
	fmt.Printf("SERVER %d %s\n", s.cmd.Process.Pid, s.dir)
	select {}
}

// TestNoOrphan: a test process that dies without calling Stop (a panic, a
// timeout, kill -9) does not leave postgres running.
func TestNoOrphan(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("Pdeathsig is Linux only")
	}
	t.Setenv(EnvDSN, "")
	if _, err := findBinDir(); err != nil {
		Require(t) // skips or fails as configured
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServer$", "-test.v")
	cmd.Env = append(os.Environ(), "PGTEST_HELPER=1")
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	var pid int
	var dir string
	sc := bufio.NewScanner(out)
	for sc.Scan() {
		if _, err := fmt.Sscanf(sc.Text(), "SERVER %d %s", &pid, &dir); err == nil {
			break
		}
		if strings.HasPrefix(sc.Text(), "ERR") {
			t.Fatal(sc.Text())
		}
	}
	if pid == 0 {
		t.Fatal("helper reported no server")
	}
	t.Cleanup(func() { os.RemoveAll(dir) }) // the killed helper could not
	if err := syscall.Kill(pid, 0); err != nil {
		t.Fatalf("postgres %d not running: %v", pid, err)
	}
	cmd.Process.Kill() // SIGKILL: no Stop, no deferred cleanup
	cmd.Wait()
	deadline := time.Now().Add(20 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("postgres %d still running 20 s after its parent died", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// alive: the process exists and is not a zombie (an orphan's reaper may be
// slow, or absent in a container whose PID 1 does not reap).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i < 0 || i+2 >= len(stat) || stat[i+2] != 'Z'
}
