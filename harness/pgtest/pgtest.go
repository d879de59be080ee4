// Package pgtest gives tests a throwaway PostgreSQL server on loopback.
//
// Start runs initdb into a temporary directory and starts postgres on a free
// 127.0.0.1 port (and a Unix socket inside that directory), waits until it
// accepts connections and creates the database "wirecheck"; Stop shuts it
// down and removes the directory. When the environment variable
// WIRECHECK_PG_DSN is set, Start uses that server instead and Stop leaves it
// alone.
//
// The server runs with fsync=off: a test database need not survive a power
// cut, and it makes commits cheap. Never use these settings for data you
// keep. Durability of the store code itself is tested on SQLite, where it
// runs with its production settings.
package pgtest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/wirecheck/wirecheck/internal/loopback"
	"github.com/wirecheck/wirecheck/internal/syncbuf"
)

// EnvDSN names the variable that points tests at an existing server.
const EnvDSN = "WIRECHECK_PG_DSN"

// ErrNoPostgres: no PostgreSQL server binaries were found.
var ErrNoPostgres = errors.New("PostgreSQL server not found: install Debian package postgresql (make test does this as root)")

const (
	superuser    = "wirecheck"
	databaseName = "wirecheck"
	readyTimeout = 30 * time.Second
	stopTimeout  = 30 * time.Second
)

// Server is one PostgreSQL server for tests.
type Server struct {
	dsn      string
	external bool

	dir     string // temporary directory: data/, the socket, postgres.log
	port    int
	cmd     *exec.Cmd
	exited  chan struct{} // closed when postgres has exited
	waitErr error         // postgres's exit status, valid after exited
	log     *syncbuf.Buffer

	stopOnce sync.Once
	stopErr  error
	dbSeq    atomic.Int64
}

// DSN is a postgres:// URL for the database "wirecheck" (or WIRECHECK_PG_DSN).
func (s *Server) DSN() string { return s.dsn }

// External reports whether the server came from WIRECHECK_PG_DSN.
func (s *Server) External() bool { return s.external }

// Start gives a running server: the one in WIRECHECK_PG_DSN, or a new one.
// ctx bounds the start only; the server runs until Stop. An error wraps
// ErrNoPostgres when no server binaries are installed.
func Start(ctx context.Context) (*Server, error) {
	if dsn := os.Getenv(EnvDSN); dsn != "" {
		return &Server{dsn: dsn, external: true}, nil
	}
	bin, err := findBinDir()
	if err != nil {
		return nil, err
	}
	cred, err := credential()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp(tempBase(cred != nil), "wirecheck-pg-")
	if err != nil {
		return nil, fmt.Errorf("pgtest: %w", err)
	}
	s := &Server{dir: dir, log: &syncbuf.Buffer{}}
	if err := s.start(ctx, bin, cred); err != nil {
		s.kill()
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func (s *Server) start(ctx context.Context, bin string, cred *syscall.Credential) error {
	if cred != nil {
		if err := os.Chown(s.dir, int(cred.Uid), int(cred.Gid)); err != nil {
			return fmt.Errorf("pgtest: %w", err)
		}
	}
	data := filepath.Join(s.dir, "data")
	initdb := exec.CommandContext(ctx, filepath.Join(bin, "initdb"),
		"-D", data, "-A", "trust", "-U", superuser, "--no-sync", "-E", "UTF8", "--locale=C")
	initdb.Dir = s.dir
	initdb.Env = childEnv()
	initdb.SysProcAttr = sysProcAttr(cred)
	if out, err := initdb.CombinedOutput(); err != nil {
		return fmt.Errorf("pgtest: initdb: %w\n%s", err, tail(out))
	}

	// A free port can be taken by someone else between our probe and
	// postgres's bind; then postgres exits at once, and we try another.
	var err error
	for attempt := 0; attempt < 3; attempt++ {
		if s.port, err = loopback.FreePort(); err != nil {
			return err
		}
		if err = s.launch(bin, data, cred); err != nil {
			return err
		}
		if err = s.waitReady(ctx); err == nil {
			break
		}
		s.kill()
		if !strings.Contains(s.log.String(), "could not bind") && !strings.Contains(s.log.String(), "Address already in use") {
			return err
		}
		s.log.Reset()
	}
	if err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, s.urlFor("postgres"))
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+databaseName); err != nil {
		return fmt.Errorf("pgtest: create database: %w", err)
	}
	s.dsn = s.urlFor(databaseName)
	return nil
}

// launch starts postgres. It is started from a goroutine locked to its OS
// thread for the life of the process, because Linux delivers Pdeathsig when
// the thread that forked the child exits, not the process: the thread must
// live as long as postgres does. The same goroutine waits for the process.
func (s *Server) launch(bin, data string, cred *syscall.Credential) error {
	cmd := exec.Command(filepath.Join(bin, "postgres"),
		"-D", data,
		"-k", s.dir,
		"-c", "listen_addresses=127.0.0.1",
		"-p", strconv.Itoa(s.port),
		"-c", "fsync=off", // a test server: see the package comment
		"-c", "full_page_writes=off",
	)
	cmd.Dir = s.dir
	cmd.Env = childEnv()
	cmd.Stdout = s.log
	cmd.Stderr = s.log
	cmd.SysProcAttr = sysProcAttr(cred)
	s.cmd = cmd
	s.exited = make(chan struct{})
	started := make(chan error, 1)
	go func() {
		runtime.LockOSThread() // never unlocked: the thread ends with this goroutine
		if err := cmd.Start(); err != nil {
			started <- err
			close(s.exited)
			return
		}
		started <- nil
		s.waitErr = cmd.Wait()
		close(s.exited)
	}()
	if err := <-started; err != nil {
		return fmt.Errorf("pgtest: start postgres: %w", err)
	}
	return nil
}

// waitReady polls until a connection succeeds, postgres exits, or the
// deadline (30 s, or ctx's if sooner) passes.
func (s *Server) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, readyTimeout)
	defer cancel()
	begin := time.Now()
	var last error
	for delay := 10 * time.Millisecond; ; delay = min(delay*2, 200*time.Millisecond) {
		cctx, ccancel := context.WithTimeout(ctx, 2*time.Second)
		conn, err := pgx.Connect(cctx, s.urlFor("postgres"))
		ccancel()
		if err == nil {
			conn.Close(context.Background())
			return nil
		}
		last = err
		select {
		case <-s.exited:
			return fmt.Errorf("pgtest: postgres exited (%v) before accepting connections:\n%s", s.waitErr, tail(s.log.Bytes()))
		case <-ctx.Done():
			return fmt.Errorf("pgtest: postgres not ready after %s: %v\n%s", time.Since(begin).Round(time.Millisecond), last, tail(s.log.Bytes()))
		case <-time.After(delay):
		}
	}
}

func (s *Server) urlFor(db string) string {
	u := url.URL{
		Scheme:   "postgres",
		User:     url.User(superuser),
		Host:     net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)),
		Path:     "/" + db,
		RawQuery: "sslmode=disable",
	}
	return u.String()
}

// Stop shuts the server down (SIGINT: PostgreSQL's fast shutdown, which
// rolls back open transactions and closes sessions), waits for it and
// removes its directory. It does nothing for an external server. It is safe
// to call more than once.
func (s *Server) Stop() error {
	if s == nil || s.external {
		return nil
	}
	s.stopOnce.Do(func() {
		if s.cmd != nil && s.cmd.Process != nil {
			select {
			case <-s.exited:
			default:
				_ = s.cmd.Process.Signal(syscall.SIGINT)
				select {
				case <-s.exited:
				case <-time.After(stopTimeout):
					s.kill()
					s.stopErr = fmt.Errorf("pgtest: postgres did not stop within %s; killed", stopTimeout)
				}
			}
		}
		if err := os.RemoveAll(s.dir); err != nil {
			s.stopErr = errors.Join(s.stopErr, fmt.Errorf("pgtest: %w", err))
		}
	})
	return s.stopErr
}

// kill ends postgres at once (SIGQUIT: immediate shutdown, in which the
// postmaster also stops its children) and waits for it.
func (s *Server) kill() {
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	_ = s.cmd.Process.Signal(syscall.SIGQUIT)
	select {
	case <-s.exited:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
	}
}

// CreateDatabase makes a new, empty database and returns its DSN, so that
// tests sharing one server do not see each other's tables. The name is
// prefixed and numbered; drop it with DropDatabase. On an external server
// the role in WIRECHECK_PG_DSN needs CREATEDB.
func (s *Server) CreateDatabase(ctx context.Context, prefix string) (string, error) {
	name := fmt.Sprintf("%s_%d_%d", sanitize(prefix), os.Getpid(), s.dbSeq.Add(1))
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return "", fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", fmt.Errorf("pgtest: create database %s: %w", name, err)
	}
	cfg, err := url.Parse(s.dsn)
	if err != nil || cfg.Scheme == "" {
		// A key=value DSN: a later dbname overrides an earlier one.
		return s.dsn + " dbname=" + name, nil
	}
	cfg.Path = "/" + name
	return cfg.String(), nil
}

// DropDatabase removes a database made by CreateDatabase, closing any
// connection still open to it.
func (s *Server) DropDatabase(ctx context.Context, dsn string) error {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	conn, err := pgx.Connect(ctx, s.dsn)
	if err != nil {
		return fmt.Errorf("pgtest: %w", err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{cfg.Database}.Sanitize()+" WITH (FORCE)"); err != nil {
		return fmt.Errorf("pgtest: drop database %s: %w", cfg.Database, err)
	}
	return nil
}

// Require starts a server for a test and stops it when the test ends. When
// PostgreSQL is not installed it skips the test with ErrNoPostgres's message,
// unless CI=true, where a missing server is a failure.
func Require(t testing.TB) *Server {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*readyTimeout)
	defer cancel()
	s, err := Start(ctx)
	if err != nil {
		if errors.Is(err, ErrNoPostgres) && !inCI() {
			t.Skip(err.Error())
		}
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Stop(); err != nil {
			t.Error(err)
		}
	})
	return s
}

// RequireDatabase makes a fresh database on s for one test and drops it
// when the test ends; it returns the database's DSN.
func RequireDatabase(t testing.TB, s *Server) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	dsn, err := s.CreateDatabase(ctx, "t")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
		defer cancel()
		if err := s.DropDatabase(ctx, dsn); err != nil {
			t.Error(err)
		}
	})
	return dsn
}

func inCI() bool {
	v, _ := strconv.ParseBool(os.Getenv("CI"))
	return v
}

// binGlob is where Debian installs the server, one directory per major
// version; a variable so tests can point it elsewhere.
var binGlob = "/usr/lib/postgresql/*/bin"

// findBinDir returns the newest directory holding initdb and postgres, or
// the directory of initdb on PATH if postgres is there too.
func findBinDir() (string, error) {
	dirs, _ := filepath.Glob(binGlob)
	sort.Slice(dirs, func(i, j int) bool { return versionOf(dirs[i]) > versionOf(dirs[j]) })
	for _, d := range dirs {
		if isExec(filepath.Join(d, "initdb")) && isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		d := filepath.Dir(p)
		if isExec(filepath.Join(d, "postgres")) {
			return d, nil
		}
		if q, err := exec.LookPath("postgres"); err == nil && filepath.Dir(q) == d {
			return d, nil
		}
	}
	return "", fmt.Errorf("pgtest: %w (looked in %s and PATH for initdb and postgres)", ErrNoPostgres, binGlob)
}

var versionRE = regexp.MustCompile(`/(\d+)(?:\.(\d+))?/bin$`)

// versionOf turns ".../15/bin" into 15000 and ".../9.6/bin" into 9006.
func versionOf(dir string) int {
	m := versionRE.FindStringSubmatch(filepath.ToSlash(dir))
	if m == nil {
		return -1
	}
	major, _ := strconv.Atoi(m[1])
	minor, _ := strconv.Atoi(m[2])
	return major*1000 + minor
}

func isExec(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// credential: PostgreSQL refuses to run as root, so as root the server runs
// as the system user postgres (the Debian package creates it).
func credential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgtest: running as root, and PostgreSQL will not; user postgres is needed to run it: %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("pgtest: user postgres: %w", err)
	}
	return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
}

// tempBase is os.TempDir, unless the server runs as another user who could
// not reach it (a private TMPDIR under /root): then /tmp.
func tempBase(otherUser bool) string {
	base := os.TempDir()
	if !otherUser {
		return base
	}
	for d := base; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil || fi.Mode().Perm()&0o001 == 0 {
			return "/tmp"
		}
		if d == filepath.Dir(d) {
			return base
		}
	}
}

// childEnv: a C locale, and nothing that would point the server at another
// cluster.
func childEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "PG") || strings.HasPrefix(kv, "LC_") || strings.HasPrefix(kv, "LANG=") {
			continue
		}
		env = append(env, kv)
	}
	return append(env, "LC_ALL=C", "LANG=C")
}

var unsafeRE = regexp.MustCompile(`[^a-z0-9_]+`)

func sanitize(s string) string {
	s = unsafeRE.ReplaceAllString(strings.ToLower(s), "_")
	if s == "" || s[0] < 'a' || s[0] > 'z' {
		s = "db" + s
	}
	return s[:min(len(s), 40)]
}

// tail keeps the end of a log for an error message.
func tail(b []byte) string {
	const n = 4000
	b = bytes.TrimSpace(b)
	if len(b) > n {
		b = append([]byte("…"), b[len(b)-n:]...)
	}
	return string(b)
}
