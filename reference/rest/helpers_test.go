package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/harness/pgtest"
	"github.com/wirecheck/wirecheck/reference/rest/store"
)

func TestMain(m *testing.M) {
	code := m.Run()
	pgMu.Lock()
	if pgSrv != nil {
		pgSrv.Stop()
	}
	pgMu.Unlock()
	os.Exit(code)
}

// A PostgreSQL server shared by the tests that run on both stores, started
// the first time one asks for it.
var (
	pgMu   sync.Mutex
	pgSrv  *pgtest.Server
	pgErr  error
	pgOnce bool
)

func sqliteStore(t testing.TB) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// postgresStore opens a fresh database on the shared server, or skips.
func postgresStore(t testing.TB) store.Store {
	t.Helper()
	if testing.Short() {
		t.Skip("PostgreSQL in -short mode")
	}
	pgMu.Lock()
	if !pgOnce {
		pgOnce = true
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		pgSrv, pgErr = pgtest.Start(ctx)
		cancel()
	}
	srv, err := pgSrv, pgErr
	pgMu.Unlock()
	if errors.Is(err, pgtest.ErrNoPostgres) {
		t.Skip(err)
	}
	if err != nil {
		t.Fatalf("PostgreSQL: %v", err)
	}
	dsn := pgtest.RequireDatabase(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	st, err := store.OpenPostgres(ctx, dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// eachStore runs fn on SQLite and on PostgreSQL (when it is installed).
func eachStore(t *testing.T, fn func(t *testing.T, st store.Store)) {
	t.Run("sqlite", func(t *testing.T) { fn(t, sqliteStore(t)) })
	t.Run("postgres", func(t *testing.T) { fn(t, postgresStore(t)) })
}

// errorLog fails the test when the server logs at error level: no request
// a test sends should reach an internal error.
type errorLog struct {
	t  testing.TB
	mu sync.Mutex
}

func (e *errorLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (e *errorLog) Handle(_ context.Context, r slog.Record) error {
	var b strings.Builder
	b.WriteString(r.Message)
	r.Attrs(func(a slog.Attr) bool { b.WriteString(" " + a.String()); return true })
	e.t.Errorf("server logged an error: %s", b.String())
	return nil
}
func (e *errorLog) WithAttrs([]slog.Attr) slog.Handler { return e }
func (e *errorLog) WithGroup(string) slog.Handler      { return e }

// env is a server under test and a client for it.
type env struct {
	t   testing.TB
	st  store.Store
	srv *httptest.Server
	hc  *http.Client
	// token, if set, is sent as a bearer token with every request.
	token string
}

func newEnv(t testing.TB, st store.Store, o Options) *env {
	t.Helper()
	if st == nil {
		st = sqliteStore(t)
	}
	o.Store = st
	if o.Logger == nil {
		o.Logger = slog.New(&errorLog{t: t})
	}
	srv := httptest.NewServer(NewHandler(o))
	t.Cleanup(srv.Close)
	return &env{t: t, st: st, srv: srv, hc: srv.Client()}
}

type resp struct {
	status int
	header http.Header
	body   []byte
}

func (r resp) String() string {
	return r.header.Get("Content-Type") + " " + http.StatusText(r.status) + ": " + string(r.body)
}

// do sends a request. hdr are name, value pairs, replacing the defaults (a
// name given twice is sent twice; "" removes it); a body gets Content-Type
// application/json unless hdr sets one.
func (e *env) do(method, path, body string, hdr ...string) resp {
	e.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if e.token != "" {
		req.Header.Set("Authorization", "Bearer "+e.token)
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(hdr); i += 2 {
		name := http.CanonicalHeaderKey(hdr[i])
		switch {
		case name == "Host":
			req.Host = hdr[i+1]
		case hdr[i+1] == "":
			req.Header.Del(name)
		case seen[name]:
			req.Header.Add(name, hdr[i+1])
		default:
			req.Header.Set(name, hdr[i+1])
		}
		seen[name] = true
	}
	res, err := e.hc.Do(req)
	if err != nil {
		e.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		e.t.Fatalf("%s %s: reading body: %v", method, path, err)
	}
	return resp{res.StatusCode, res.Header, b}
}

// must sends a request and fails the test unless the status is want.
func (e *env) must(want int, method, path, body string, hdr ...string) resp {
	e.t.Helper()
	r := e.do(method, path, body, hdr...)
	if r.status != want {
		e.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, r.status, want, r)
	}
	return r
}

func decode[T any](t testing.TB, r resp) T {
	t.Helper()
	var v T
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		t.Fatalf("decoding %T: %v\n%s", v, err, r.body)
	}
	return v
}

// Client-side shapes of the representations (decoded strictly, so a field
// the server adds or renames shows up).
type (
	jLink   struct{ Rel, Href string }
	jSensor struct {
		Name             string
		Value            *float64
		Unit             *string
		Created, Updated string
		Links            []jLink
	}
	jTask struct {
		ID                   int64
		Summary, Description string
		Links                []jLink
	}
	jTaskItem struct {
		ID      int64
		Summary string
		Links   []jLink
	}
	jReading struct {
		Value        *float64
		Unit         *string
		Time, Source string
	}
	jReadings struct {
		Readings []jReading
		Links    []jLink
	}
	jProblem struct {
		Type, Title, Detail, Instance string
		Status                        int
	}
)

func href(links []jLink, rel string) string {
	for _, l := range links {
		if l.Rel == rel {
			return l.Href
		}
	}
	return ""
}

// problemOf checks that r is an RFC 9457 problem with status want.
func problemOf(t testing.TB, r resp, want int) jProblem {
	t.Helper()
	if r.status != want {
		t.Fatalf("status %d, want %d\n%s", r.status, want, r)
	}
	if ct := r.header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("problem Content-Type %q\n%s", ct, r)
	}
	p := decode[jProblem](t, r)
	if p.Status != want || p.Title != http.StatusText(want) || p.Type != "about:blank" || p.Instance == "" {
		t.Errorf("problem fields: %+v", p)
	}
	return p
}

func fptr(f float64) *float64 { return &f }
