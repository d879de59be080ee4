// Package mqtt is wirecheck's reference MQTT 3.1.1 broker.
//
// Production code: it never imports the test harness. Statement IDs of the
// OASIS standard are cited where a rule is enforced, e.g. [MQTT-3.1.4-2].
package mqtt

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
	"github.com/wirecheck/wirecheck/reference/mqtt/store"
)

// Server is a running broker.
type Server struct {
	opts   Options
	log    *slog.Logger
	store  store.Store // nil in memory mode
	commit *store.Committer

	mu       sync.Mutex
	sessions map[string]*session
	conns    map[*conn]struct{}
	closing  bool

	subs     *subTree
	retained *retainedStore
	stats    stats
	started  time.Time

	lnMu      sync.Mutex
	listeners []net.Listener
	wg        sync.WaitGroup // accept loops and connections
	stop      chan struct{}
	sysDone   chan struct{}
}

type stats struct {
	clientsConnected atomic.Int64
	clientsTotal     atomic.Uint64 // connections accepted with CONNACK 0
	msgsReceived     atomic.Uint64 // PUBLISH packets received
	msgsSent         atomic.Uint64 // PUBLISH packets sent
	bytesReceived    atomic.Uint64
	bytesSent        atomic.Uint64
	dropped          atomic.Uint64 // messages dropped at a queue bound
}

// New builds a server, opening and loading the store when DataDir is set.
func New(opts Options) (*Server, error) {
	opts.Defaults()
	srv := &Server{opts: opts, log: opts.Logger, sessions: map[string]*session{},
		conns: map[*conn]struct{}{}, subs: newSubTree(), retained: newRetainedStore(),
		stop: make(chan struct{}), started: time.Now()}
	if opts.DataDir != "" {
		st, err := store.Open(opts.DataDir)
		if err != nil {
			return nil, err
		}
		srv.store = st
		if err := srv.restore(); err != nil {
			st.Close()
			return nil, err
		}
	}
	srv.commit = store.NewCommitter(srv.store, 10000)
	srv.subs.wildcardMatchesSys = opts.Faults.WildcardMatchesSys
	srv.retained.dropOnReplace = opts.Faults.DropRetainedOnReplace
	return srv, nil
}

func (srv *Server) durable() bool { return srv.store != nil }

func (srv *Server) logCommitErr(err error) {
	if errors.Is(err, store.ErrNoSession) {
		srv.log.Debug("record for a session deleted meanwhile dropped", "err", err)
		return
	}
	if err != nil {
		srv.log.Error("store commit failed", "err", err)
	}
}

// Start opens every configured listener and serves them in the background.
func (srv *Server) Start() error {
	for _, l := range srv.opts.Listen {
		spec, err := listeners.ParseSpec(l)
		if err != nil {
			srv.Close()
			return err
		}
		ln, err := listeners.Listen(spec, srv.opts.TLS)
		if err != nil {
			srv.Close()
			return fmt.Errorf("listen %s: %w", l, err)
		}
		srv.log.Info("listening", "listener", spec.Scheme+"://"+ln.Addr().String())
		srv.Serve(ln)
	}
	srv.startSys()
	return nil
}

// Serve accepts connections from ln in the background until Close.
func (srv *Server) Serve(ln net.Listener) {
	srv.lnMu.Lock()
	srv.listeners = append(srv.listeners, ln)
	srv.lnMu.Unlock()
	srv.wg.Add(1)
	go func() {
		defer srv.wg.Done()
		var delay time.Duration
		for {
			nc, err := ln.Accept()
			if err != nil {
				if errors.Is(err, net.ErrClosed) || srv.isClosing() {
					return
				}
				// Back off on transient errors such as running out of descriptors.
				delay = min(max(2*delay, 5*time.Millisecond), time.Second)
				srv.log.Warn("accept failed", "err", err, "retry_in", delay)
				select {
				case <-time.After(delay):
					continue
				case <-srv.stop:
					return
				}
			}
			delay = 0
			srv.accept(nc)
		}
	}()
}

// Addrs returns the bound address of each listener, in order.
func (srv *Server) Addrs() []net.Addr {
	srv.lnMu.Lock()
	defer srv.lnMu.Unlock()
	var out []net.Addr
	for _, ln := range srv.listeners {
		out = append(out, ln.Addr())
	}
	return out
}

func (srv *Server) isClosing() bool {
	srv.mu.Lock()
	defer srv.mu.Unlock()
	return srv.closing
}

// accept starts serving nc unless the connection limit is reached.
func (srv *Server) accept(nc net.Conn) {
	srv.mu.Lock()
	if srv.closing || (srv.opts.MaxConnections > 0 && len(srv.conns) >= srv.opts.MaxConnections) {
		srv.mu.Unlock()
		srv.log.Warn("connection refused: limit reached", "remote", nc.RemoteAddr().String())
		nc.Close()
		return
	}
	c := newConn(srv, nc)
	srv.conns[c] = struct{}{}
	srv.wg.Add(1)
	srv.mu.Unlock()
	go func() {
		defer srv.wg.Done()
		c.serve()
		srv.mu.Lock()
		delete(srv.conns, c)
		srv.mu.Unlock()
	}()
}

// Close stops listening, closes every connection, flushes and closes the
// store. Acknowledged messages are already durable; Close waits for queued
// commits so nothing in flight is lost.
func (srv *Server) Close() error { return srv.Shutdown(context.Background()) }

// Shutdown is Close with a deadline for connections to finish.
func (srv *Server) Shutdown(ctx context.Context) error {
	srv.mu.Lock()
	if srv.closing {
		srv.mu.Unlock()
		return nil
	}
	srv.closing = true
	close(srv.stop)
	conns := make([]*conn, 0, len(srv.conns))
	for c := range srv.conns {
		conns = append(conns, c)
	}
	srv.mu.Unlock()

	srv.lnMu.Lock()
	for _, ln := range srv.listeners {
		ln.Close()
	}
	srv.lnMu.Unlock()
	for _, c := range conns {
		c.kick("server shutting down")
	}
	done := make(chan struct{})
	go func() { srv.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = ctx.Err()
	}
	if srv.sysDone != nil {
		<-srv.sysDone
	}
	if cerr := srv.commit.Close(); cerr != nil && err == nil {
		err = cerr
	}
	if srv.store != nil {
		if serr := srv.store.Close(); serr != nil && err == nil {
			err = serr
		}
	}
	return err
}
