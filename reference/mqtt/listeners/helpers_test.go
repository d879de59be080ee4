package listeners

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"runtime"
	"runtime/pprof"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wait bounds every blocking step of a test: tests wait on events, never sleep.
const wait = 10 * time.Second

// listen opens spec on 127.0.0.1 port 0 and closes it when the test ends.
func listen(t *testing.T, scheme, path string, conf *tls.Config) net.Listener {
	t.Helper()
	ln, err := Listen(Spec{Scheme: scheme, Addr: "127.0.0.1:0", Path: path}, conf)
	if err != nil {
		t.Fatalf("Listen: %v", err)
	}
	t.Cleanup(func() { ln.Close() })
	if port := ln.Addr().(*net.TCPAddr).Port; port == 0 {
		t.Fatalf("Addr() = %v, want the real port", ln.Addr())
	}
	return ln
}

// acceptOne accepts one conn in the background. A TLS conn is handshaken
// there too, since a client's Dial waits for the server's side of the
// handshake; a failed handshake is kept and returned again by Handshake.
func acceptOne(t *testing.T, ln net.Listener) <-chan net.Conn {
	t.Helper()
	ch := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err != nil {
			t.Errorf("Accept: %v", err)
			close(ch)
			return
		}
		if tc, ok := c.(*tls.Conn); ok {
			tc.SetDeadline(time.Now().Add(wait))
			tc.Handshake()
			tc.SetDeadline(time.Time{})
		}
		ch <- c
	}()
	return ch
}

func await[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("%s: channel closed", what)
		}
		return v
	case <-time.After(wait):
		t.Fatalf("%s: nothing after %v", what, wait)
		panic("unreachable")
	}
}

// serveEcho copies everything a conn reads back to it, then closes it.
func serveEcho(t *testing.T, c net.Conn) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer c.Close()
		io.Copy(c, c)
	}()
	t.Cleanup(func() {
		c.Close()
		<-done
	})
}

// pool trusts certPEM.
func pool(t *testing.T, certPEM []byte) *x509.CertPool {
	t.Helper()
	p := x509.NewCertPool()
	if !p.AppendCertsFromPEM(certPEM) {
		t.Fatal("certPEM holds no certificate")
	}
	return p
}

// echoRoundTrip writes msg to a byte-stream conn and expects it back.
func echoRoundTrip(t *testing.T, c net.Conn, msg []byte) {
	t.Helper()
	c.SetDeadline(time.Now().Add(wait))
	if _, err := c.Write(msg); err != nil {
		t.Fatalf("Write: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(c, got); err != nil {
		t.Fatalf("ReadFull: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatalf("echo = %x, want %x", got, msg)
	}
}

// wsClient dials WebSocket listeners and records the local address of each
// TCP connection it makes, to compare with the server's RemoteAddr.
type wsClient struct {
	tr *http.Transport

	mu     sync.Mutex
	locals []net.Addr
}

func newWSClient(t *testing.T, roots *x509.CertPool) *wsClient {
	t.Helper()
	wc := &wsClient{}
	var d net.Dialer
	wc.tr = &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			c, err := d.DialContext(ctx, network, addr)
			if err == nil {
				wc.mu.Lock()
				wc.locals = append(wc.locals, c.LocalAddr())
				wc.mu.Unlock()
			}
			return c, err
		},
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}
	t.Cleanup(wc.tr.CloseIdleConnections)
	return wc
}

func (wc *wsClient) dial(t *testing.T, url string, subprotocols ...string) (*websocket.Conn, *http.Response, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	c, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		HTTPClient:   &http.Client{Transport: wc.tr},
		Subprotocols: subprotocols,
	})
	if c != nil {
		t.Cleanup(func() { c.CloseNow() })
	}
	return c, resp, err
}

func (wc *wsClient) lastLocal() net.Addr {
	wc.mu.Lock()
	defer wc.mu.Unlock()
	return wc.locals[len(wc.locals)-1]
}

// wsURL is the URL of a ws/wss listener.
func wsURL(scheme string, ln net.Listener, path string) string {
	return scheme + "://" + ln.Addr().String() + path
}

// readWS reads binary messages until n bytes have arrived.
func readWS(t *testing.T, c *websocket.Conn, n int) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	var got []byte
	for len(got) < n {
		typ, p, err := c.Read(ctx)
		if err != nil {
			t.Fatalf("client Read after %d of %d bytes: %v", len(got), n, err)
		}
		if typ != websocket.MessageBinary {
			t.Fatalf("server sent a %v message, want binary [MQTT-6.0.0-1]", typ)
		}
		got = append(got, p...)
	}
	return got
}

// waitGoroutines polls until the goroutine count is back to baseline.
func waitGoroutines(t *testing.T, baseline int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		n := runtime.NumGoroutine()
		if n <= baseline {
			return
		}
		if time.Now().After(deadline) {
			var buf bytes.Buffer
			pprof.Lookup("goroutine").WriteTo(&buf, 1)
			t.Fatalf("%d goroutines after %v, baseline %d:\n%s", n, wait, baseline, buf.String())
		}
		runtime.Gosched()
		time.Sleep(10 * time.Millisecond) // poll interval, bounded by the deadline above
	}
}
