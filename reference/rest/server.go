// Package rest is wirecheck's reference REST server: the sensors service
// and the todo list of tasks that the seed lectures use as running
// examples, done the way RFC 9110 describes HTTP semantics.
//
// Resources (JSON by default, XML on request; every representation carries
// "links" with absolute hrefs):
//
//	GET  /                           entry point: links to the collections
//	GET  /sensors                    list of sensors          POST: create {"name": "sensor1"}
//	GET  /sensors/{name}             one sensor               PUT {"value": 237, "unit": "C"}, DELETE
//	GET  /sensors/{name}/readings    value history            ?from=&to= (RFC 3339), after=, limit=
//	GET  /tasks/                     list of tasks            POST {"summary": "…", "description": "…"}
//	GET  /tasks/{id}/                one task                 PUT, PATCH (RFC 7396 merge patch), DELETE
//
// HTTP behaviour: strong entity tags on every representation, If-Match
// (412) and If-None-Match (304) evaluated, HEAD wherever GET is, OPTIONS and
// 405 with Allow, 406 and 415 from content negotiation, 413 over the body
// limit, errors as RFC 9457 problem details, optional bearer token for
// writes. Storage is the store package (SQLite or PostgreSQL); no request
// is answered before its write has committed.
package rest

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// Options configure the server.
type Options struct {
	// Store holds the data; required.
	Store store.Store
	// Token, when not empty, is the bearer token that POST, PUT, PATCH and
	// DELETE requests must present (RFC 6750); reads stay open.
	Token string
	// MaxBody is the largest request body accepted, in bytes (default
	// 64 KiB); a bigger one is answered 413.
	MaxBody int64
	// PageSize is the number of readings on a page when the request gives
	// no limit (default 100, at most 1000). A request may ask for up to
	// 1000 (store.MaxLimit).
	PageSize int
	// Logger receives errors at error level and an access log at debug
	// level (default: discard).
	Logger *slog.Logger
}

const (
	defaultMaxBody  = 64 << 10
	defaultPageSize = 100
)

// handler is the http.Handler behind NewHandler and Server.
type handler struct {
	st        store.Store
	tokenHash [sha256.Size]byte
	auth      bool
	maxBody   int64
	pageSize  int
	maxPage   int
	log       *slog.Logger
	mux       *http.ServeMux
	now       func() time.Time
}

// NewHandler returns the REST API as an http.Handler, for use with any
// http.Server (or httptest).
func NewHandler(o Options) http.Handler { return newHandler(o) }

func newHandler(o Options) *handler {
	if o.Store == nil {
		panic("rest: Options.Store is nil")
	}
	h := &handler{st: o.Store, maxBody: o.MaxBody, pageSize: o.PageSize, log: o.Logger,
		mux: http.NewServeMux(), now: time.Now}
	if h.maxBody <= 0 {
		h.maxBody = defaultMaxBody
	}
	if h.pageSize <= 0 {
		h.pageSize = defaultPageSize
	}
	h.pageSize = min(h.pageSize, store.MaxLimit)
	h.maxPage = store.MaxLimit
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	if o.Token != "" {
		h.auth = true
		h.tokenHash = sha256.Sum256([]byte(o.Token))
	}
	h.routes()
	return h
}

// op handles one method on one path. v is the representation negotiated
// from Accept (unused by DELETE, which sends none).
type op func(w http.ResponseWriter, r *http.Request, v variant) error

type methods map[string]op

func (h *handler) routes() {
	h.route("/{$}", methods{http.MethodGet: h.getRoot})
	h.route("/sensors", methods{http.MethodGet: h.listSensors, http.MethodPost: h.createSensor})
	h.route("/sensors/{name}", methods{http.MethodGet: h.getSensor, http.MethodPut: h.putSensor,
		http.MethodDelete: h.deleteSensor})
	h.route("/sensors/{name}/readings", methods{http.MethodGet: h.getReadings})
	// The seed writes the task URLs with a trailing slash; both forms are
	// served (no redirect), and links use the seed's form.
	for _, p := range []string{"/tasks", "/tasks/{$}"} {
		h.route(p, methods{http.MethodGet: h.listTasks, http.MethodPost: h.createTask})
	}
	for _, p := range []string{"/tasks/{id}", "/tasks/{id}/{$}"} {
		h.route(p, methods{http.MethodGet: h.getTask, http.MethodPut: h.putTask,
			http.MethodPatch: h.patchTask, http.MethodDelete: h.deleteTask})
	}
	h.mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeProblem(w, r, errorf(http.StatusNotFound, "no resource at %s", quoteShort(r.URL.Path)))
	})
}

// route registers each method with a Go 1.22 "METHOD /path" pattern (GET
// also serves HEAD), and the bare path for everything else: OPTIONS
// (204 with Allow) and 405 with Allow.
func (h *handler) route(path string, ms methods) {
	allow := []string{http.MethodOptions}
	for m, fn := range ms {
		allow = append(allow, m)
		if m == http.MethodGet {
			allow = append(allow, http.MethodHead)
		}
		h.mux.Handle(m+" "+path, h.wrap(m, fn))
	}
	slices.Sort(allow)
	allowed := strings.Join(allow, ", ")
	h.mux.HandleFunc(path, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", allowed)
		if r.Method == http.MethodOptions {
			if ms[http.MethodPatch] != nil {
				w.Header().Set("Accept-Patch", mtMergePatch+", "+mtJSON)
			}
			w.WriteHeader(http.StatusNoContent)
			return
		}
		writeProblem(w, r, errorf(http.StatusMethodNotAllowed, "%s is not allowed here; allowed: %s",
			quoteShort(r.Method), allowed))
	})
}

// wrap adds what every operation needs: the bearer-token check for writes
// (before anything else is looked at), content negotiation (406), and the
// rendering of a returned error as a problem.
func (h *handler) wrap(method string, fn op) http.Handler {
	write := method != http.MethodGet
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if write && h.auth {
			if err := h.authorize(r); err != nil {
				h.fail(w, r, err)
				return
			}
		}
		var v variant
		if method != http.MethodDelete {
			var ok bool
			if v, ok = negotiate(r); !ok {
				h.fail(w, r, errorf(http.StatusNotAcceptable,
					"no acceptable representation: this resource is available as %s", strings.Join(offerTypes, ", ")))
				return
			}
		}
		if err := fn(w, r, v); err != nil {
			h.fail(w, r, err)
		}
	})
}

// authorize checks "Authorization: Bearer TOKEN" (RFC 6750 §2.1). The
// token is compared in constant time (as SHA-256 digests, so not even its
// length leaks).
func (h *handler) authorize(r *http.Request) error {
	challenge := `Bearer realm="wirecheck"`
	scheme, cred, _ := strings.Cut(strings.TrimSpace(r.Header.Get("Authorization")), " ")
	if !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(cred) == "" {
		e := errorf(http.StatusUnauthorized, "this request needs an Authorization: Bearer token")
		e.header = http.Header{"Www-Authenticate": {challenge}}
		return e
	}
	got := sha256.Sum256([]byte(strings.TrimSpace(cred)))
	if subtle.ConstantTimeCompare(got[:], h.tokenHash[:]) != 1 {
		e := errorf(http.StatusUnauthorized, "the bearer token is not valid")
		e.header = http.Header{"Www-Authenticate": {challenge + `, error="invalid_token"`}}
		return e
	}
	return nil
}

// ServeHTTP logs each request at debug level, turns a panic into a 500
// problem, and answers "OPTIONS *".
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rec := &recorder{ResponseWriter: w}
	defer func() {
		if p := recover(); p != nil {
			if p == http.ErrAbortHandler {
				panic(p)
			}
			h.log.Error("panic serving request", "method", r.Method, "path", r.URL.Path,
				"panic", fmt.Sprint(p), "stack", string(debug.Stack()))
			if !rec.wrote {
				writeProblem(rec, r, errorf(http.StatusInternalServerError, "the server could not complete the request"))
			}
		}
		h.log.LogAttrs(r.Context(), slog.LevelDebug, "request",
			slog.String("method", r.Method), slog.String("path", r.URL.RequestURI()),
			slog.Int("status", rec.status), slog.Int64("bytes", rec.bytes),
			slog.Duration("duration", time.Since(start)), slog.String("remote", r.RemoteAddr))
	}()
	// Every answer may depend on Accept: representations and problems alike.
	rec.Header().Set("Vary", "Accept")
	if r.Method == http.MethodOptions && r.RequestURI == "*" {
		rec.Header().Set("Allow", "DELETE, GET, HEAD, OPTIONS, PATCH, POST, PUT")
		rec.WriteHeader(http.StatusNoContent)
		return
	}
	h.mux.ServeHTTP(rec, r)
}

// recorder notes the status and size of a response for the access log.
type recorder struct {
	http.ResponseWriter
	status int
	bytes  int64
	wrote  bool
}

func (rw *recorder) WriteHeader(code int) {
	if !rw.wrote {
		rw.status, rw.wrote = code, true
	}
	rw.ResponseWriter.WriteHeader(code)
}

func (rw *recorder) Write(b []byte) (int, error) {
	if !rw.wrote {
		rw.status, rw.wrote = http.StatusOK, true
	}
	n, err := rw.ResponseWriter.Write(b)
	rw.bytes += int64(n)
	return n, err
}

// Unwrap gives http.ResponseController and readBody the underlying
// ResponseWriter.
func (rw *recorder) Unwrap() http.ResponseWriter { return rw.ResponseWriter }

// Server runs the handler on a listener with the timeouts a public HTTP
// server needs.
type Server struct {
	srv  *http.Server
	log  *slog.Logger
	mu   sync.Mutex
	addr net.Addr
	done chan struct{}
}

// New makes a server; start it with Serve or ListenAndServe.
func New(o Options) *Server {
	h := newHandler(o)
	return &Server{
		log: h.log,
		srv: &http.Server{
			Handler:           h,
			ReadHeaderTimeout: 10 * time.Second,
			ReadTimeout:       30 * time.Second,
			WriteTimeout:      30 * time.Second,
			IdleTimeout:       2 * time.Minute,
			MaxHeaderBytes:    64 << 10,
			// "OPTIONS *" is answered by the handler, with Allow.
			DisableGeneralOptionsHandler: true,
			ErrorLog:                     slog.NewLogLogger(h.log.Handler(), slog.LevelDebug),
		},
	}
}

// Serve serves on ln until Shutdown, then returns nil (or the error that
// stopped it).
func (s *Server) Serve(ln net.Listener) error {
	s.mu.Lock()
	s.addr = ln.Addr()
	s.mu.Unlock()
	err := s.srv.Serve(ln)
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

// ListenAndServe listens on addr (TCP; "127.0.0.1:0" picks a free port),
// over TLS when tlsConf is not nil, serves in the background and returns
// the bound address.
func (s *Server) ListenAndServe(addr string, tlsConf *tls.Config) (net.Addr, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, err
	}
	if tlsConf != nil {
		s.srv.TLSConfig = tlsConf.Clone()
	}
	s.mu.Lock()
	s.addr = ln.Addr()
	s.done = make(chan struct{})
	s.mu.Unlock()
	go func() {
		defer close(s.done)
		var err error
		if tlsConf != nil {
			err = s.srv.ServeTLS(ln, "", "")
		} else {
			err = s.srv.Serve(ln)
		}
		if err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.log.Error("REST server stopped", "err", err)
		}
	}()
	return ln.Addr(), nil
}

// Addr is the bound address (nil before the server is started).
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addr
}

// URL is the base URL of a started server ("http://127.0.0.1:8000").
func (s *Server) URL() string {
	a := s.Addr()
	if a == nil {
		return ""
	}
	scheme := "http"
	if s.srv.TLSConfig != nil {
		scheme = "https"
	}
	return scheme + "://" + a.String()
}

// Shutdown stops accepting connections and waits, until ctx ends, for the
// requests in progress to finish (http.Server.Shutdown).
func (s *Server) Shutdown(ctx context.Context) error {
	err := s.srv.Shutdown(ctx)
	s.mu.Lock()
	done := s.done
	s.mu.Unlock()
	if done != nil {
		select {
		case <-done:
		case <-ctx.Done():
		}
	}
	return err
}

// parseID reads a task id from the path: a positive decimal integer in its
// canonical form (no sign, no leading zero); anything else names no task.
func parseID(s string) (int64, bool) {
	id, err := strconv.ParseInt(s, 10, 64)
	if err != nil || id <= 0 || strconv.FormatInt(id, 10) != s {
		return 0, false
	}
	return id, true
}
