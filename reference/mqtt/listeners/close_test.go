package listeners

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"runtime"
	"testing"
	"time"
)

type closeSetup struct {
	scheme     string
	conf       *tls.Config // server
	clientConf *tls.Config // tls client
	client     *wsClient   // ws and wss client
}

// closeSetups gives every scheme with what it needs to listen and to connect.
func closeSetups(t *testing.T) []closeSetup {
	t.Helper()
	conf, certPEM, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	roots := pool(t, certPEM)
	return []closeSetup{
		{scheme: SchemeTCP},
		{scheme: SchemeTLS, conf: conf, clientConf: &tls.Config{RootCAs: roots}},
		{scheme: SchemeWS, client: newWSClient(t, nil)},
		{scheme: SchemeWSS, conf: conf, client: newWSClient(t, roots)},
	}
}

func TestCloseUnblocksAccept(t *testing.T) {
	for _, s := range closeSetups(t) {
		t.Run(s.scheme, func(t *testing.T) {
			ln, err := Listen(Spec{Scheme: s.scheme, Addr: "127.0.0.1:0"}, s.conf)
			if err != nil {
				t.Fatal(err)
			}
			errc := make(chan error, 1)
			go func() {
				c, err := ln.Accept()
				if c != nil {
					c.Close()
				}
				errc <- err
			}()
			// Accept may not be blocked yet when Close runs; either way it
			// must fail with net.ErrClosed.
			if err := ln.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if err := await(t, errc, "Accept during Close"); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Accept during Close: %v, want net.ErrClosed", err)
			}
			if _, err := ln.Accept(); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("Accept after Close: %v, want net.ErrClosed", err)
			}
			if err := ln.Close(); !errors.Is(err, net.ErrClosed) {
				t.Fatalf("second Close: %v, want net.ErrClosed", err)
			}
			if c, err := net.DialTimeout("tcp", ln.Addr().String(), wait); err == nil {
				c.Close()
				t.Fatal("dial after Close succeeded")
			}
		})
	}
}

// Close leaves no goroutine behind, including for a WebSocket upgrade that
// finished but was never accepted.
func TestCloseNoGoroutineLeak(t *testing.T) {
	setups := closeSetups(t)
	baseline := runtime.NumGoroutine()
	for _, s := range setups {
		t.Run(s.scheme, func(t *testing.T) {
			ln, err := Listen(Spec{Scheme: s.scheme, Addr: "127.0.0.1:0"}, s.conf)
			if err != nil {
				t.Fatal(err)
			}
			defer ln.Close()
			accepted := acceptOne(t, ln)
			var clientClose []func()
			// dial connects a client; pending ones need no server-side
			// handshake, since nobody will accept them.
			dial := func(pending bool) {
				switch {
				case s.scheme == SchemeTLS && !pending:
					c, err := tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", ln.Addr().String(), s.clientConf)
					if err != nil {
						t.Fatal(err)
					}
					clientClose = append(clientClose, func() { c.Close() })
				case s.scheme == SchemeTCP || s.scheme == SchemeTLS:
					c, err := net.DialTimeout("tcp", ln.Addr().String(), wait)
					if err != nil {
						t.Fatal(err)
					}
					clientClose = append(clientClose, func() { c.Close() })
				default:
					c, _, err := s.client.dial(t, wsURL(s.scheme, ln, "/mqtt"), "mqtt")
					if err != nil {
						t.Fatal(err)
					}
					clientClose = append(clientClose, func() { c.CloseNow() })
				}
			}
			dial(false)
			sc := await(t, accepted, "accept")
			readerDone := make(chan struct{}, 1)
			go func() {
				defer func() { readerDone <- struct{}{} }()
				sc.SetReadDeadline(time.Now().Add(wait))
				sc.Read(make([]byte, 1)) // a broker's reader, until the client goes
			}()
			// Completes the WebSocket upgrade, which then waits in the
			// handler for an Accept that never comes.
			dial(true)
			if err := ln.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			for _, f := range clientClose {
				f()
			}
			await(t, readerDone, "server reader to see the client go")
			sc.Close()
			if s.client != nil {
				s.client.tr.CloseIdleConnections()
			}
		})
	}
	waitGoroutines(t, baseline)
}

// Close must not wait on upgrades in progress or on the broker's conns.
func TestCloseIsPrompt(t *testing.T) {
	conf, _, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	for _, scheme := range []string{SchemeWS, SchemeWSS} {
		t.Run(scheme, func(t *testing.T) {
			ln, err := Listen(Spec{Scheme: scheme, Addr: "127.0.0.1:0"}, conf)
			if err != nil {
				t.Fatal(err)
			}
			// A client that connects and sends nothing holds an HTTP conn
			// (and for wss a TLS handshake) open.
			idle, err := net.DialTimeout("tcp", ln.Addr().String(), wait)
			if err != nil {
				t.Fatal(err)
			}
			defer idle.Close()
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			start := time.Now()
			closed := make(chan error, 1)
			go func() { closed <- ln.Close() }()
			select {
			case err := <-closed:
				if err != nil {
					t.Fatalf("Close: %v", err)
				}
			case <-ctx.Done():
				t.Fatalf("Close still running after %v", wait)
			}
			t.Logf("Close took %v with an idle client", time.Since(start))
		})
	}
}
