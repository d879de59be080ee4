package listeners

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"log"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Subprotocol is the only WebSocket subprotocol the broker speaks.
const Subprotocol = "mqtt"

// wsListener runs an HTTP server on a TCP (or TLS) listener and hands each
// upgraded WebSocket connection to Accept.
type wsListener struct {
	tcp   net.Listener // the bound socket, for Addr
	srv   *http.Server
	path  string
	conns chan *wsConn // unbuffered: a pending upgrade waits like a TCP backlog entry

	done      chan struct{} // closed by Close
	closeOnce sync.Once
	serveDone chan struct{} // closed when srv.Serve returns
	serveErr  error         // written before serveDone is closed
}

// wsConn is an upgraded connection. Reads and writes go through the embedded
// net.Conn from websocket.NetConn; ws is kept to drop a conn without the
// close handshake.
type wsConn struct {
	net.Conn
	ws       *websocket.Conn
	tlsState *tls.ConnectionState // nil for ws
}

func newWSListener(tcp net.Listener, spec Spec, tlsConf *tls.Config) *wsListener {
	l := &wsListener{
		tcp:       tcp,
		path:      spec.Path,
		conns:     make(chan *wsConn),
		done:      make(chan struct{}),
		serveDone: make(chan struct{}),
	}
	l.srv = &http.Server{
		Handler: l,
		// Bounds slow handshakes (and the TLS handshake, which net/http
		// times with the same value). It is cleared once headers are read,
		// so it never applies to an upgraded connection.
		ReadHeaderTimeout: 10 * time.Second,
		// A non-nil empty map keeps net/http from offering HTTP/2: WebSocket
		// over HTTP/2 (RFC 8441) is not supported by the library.
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){},
		// wss handshake failures are only visible here, so keep them, but
		// name the listener and drop the noise Close itself causes.
		ErrorLog: log.New(closedConnFilter{}, "listeners: "+spec.String()+": ", log.LstdFlags),
	}
	ln := tcp
	if tlsConf != nil {
		c := tlsConf.Clone() // the caller's config may be shared with other listeners
		c.NextProtos = []string{"http/1.1"}
		ln = tls.NewListener(tcp, c)
	}
	go func() {
		defer close(l.serveDone)
		l.serveErr = l.srv.Serve(ln)
	}()
	return l
}

// ServeHTTP upgrades one request.
func (l *wsListener) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if l.path != "" && r.URL.Path != l.path {
		http.NotFound(w, r)
		return
	}
	if !headerHasToken(r.Header, "Upgrade", "websocket") {
		w.Header().Set("Connection", "Upgrade")
		w.Header().Set("Upgrade", "websocket")
		http.Error(w, "this endpoint speaks MQTT over WebSocket", http.StatusUpgradeRequired)
		return
	}
	// [MQTT-6.0.0-3] the client must offer "mqtt". One that does not is
	// refused before the upgrade with 400 Bad Request: the request is a valid
	// WebSocket upgrade that this server cannot serve, whereas 426 would
	// tell the client to switch protocols, which it is already doing.
	if !offersMQTT(r.Header) {
		http.Error(w, `WebSocket subprotocol "mqtt" is required [MQTT-6.0.0-3]`, http.StatusBadRequest)
		return
	}
	// [MQTT-6.0.0-4] the server selects and returns exactly "mqtt". Set here
	// rather than via AcceptOptions.Subprotocols, which matches case-
	// insensitively and would echo the client's spelling.
	w.Header().Set("Sec-WebSocket-Protocol", Subprotocol)
	ws, err := websocket.Accept(w, r, &websocket.AcceptOptions{
		// Any Origin: MQTT authenticates in CONNECT, not with cookies, so a
		// cross-site page has no ambient credential to ride on, and browser
		// clients served from other origins need this (mosquitto and
		// mochi-mqtt do the same).
		InsecureSkipVerify: true,
	})
	if err != nil {
		return // Accept has written the error response
	}
	// The request context ends when this handler returns; the conn must
	// outlive it (and the listener) until its owner closes it.
	ctx := context.WithoutCancel(r.Context())
	// [MQTT-6.0.0-1] binary frames only: NetConn closes the connection
	// (status 1003) when a text frame arrives.
	// [MQTT-6.0.0-2] NetConn reads frames back to back as one byte stream,
	// so a packet may span frames and a frame may hold several packets.
	// NetConn also lifts the library's read limit: the broker enforces its
	// own maximum packet size on the stream.
	c := &wsConn{Conn: websocket.NetConn(ctx, ws, websocket.MessageBinary), ws: ws, tlsState: r.TLS}
	select {
	case l.conns <- c:
	case <-l.done:
		// Nobody will Accept it; drop it like an unaccepted TCP connection.
		ws.CloseNow()
	}
}

// Accept waits for the next upgraded connection.
func (l *wsListener) Accept() (net.Conn, error) {
	// Checked first so that Accept after Close always fails, even when an
	// upgrade is waiting.
	select {
	case <-l.done:
		return nil, l.closedErr("accept")
	default:
	}
	select {
	case c := <-l.conns:
		select {
		case <-l.done:
			c.ws.CloseNow()
			return nil, l.closedErr("accept")
		default:
			return c, nil
		}
	case <-l.done:
		return nil, l.closedErr("accept")
	case <-l.serveDone:
		if l.serveErr != nil && !errors.Is(l.serveErr, http.ErrServerClosed) {
			return nil, l.serveErr
		}
		return nil, l.closedErr("accept")
	}
}

// Close stops accepting and shuts the HTTP server down. Connections already
// returned by Accept stay open: net/http does not track hijacked conns.
func (l *wsListener) Close() error {
	err := l.closedErr("close")
	l.closeOnce.Do(func() {
		close(l.done)
		err = l.srv.Close()
		<-l.serveDone // no Serve goroutine outlives Close
	})
	return err
}

// Addr is the bound TCP address, with the real port when port 0 was asked.
func (l *wsListener) Addr() net.Addr { return l.tcp.Addr() }

// closedErr mirrors what a closed *net.TCPListener returns.
func (l *wsListener) closedErr(op string) error {
	return &net.OpError{Op: op, Net: "tcp", Addr: l.tcp.Addr(), Err: net.ErrClosed}
}

// closedConnFilter forwards net/http's log lines to the standard logger's
// output, except those about conns that Close shut mid-handshake.
type closedConnFilter struct{}

func (closedConnFilter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(net.ErrClosed.Error())) {
		return len(p), nil
	}
	return log.Writer().Write(p)
}

func offersMQTT(h http.Header) bool {
	return headerHasTokenFunc(h, "Sec-WebSocket-Protocol", func(t string) bool { return t == Subprotocol })
}

// headerHasToken reports whether a comma-separated header lists token,
// ignoring case as HTTP does for Upgrade and Connection.
func headerHasToken(h http.Header, key, token string) bool {
	return headerHasTokenFunc(h, key, func(t string) bool { return strings.EqualFold(t, token) })
}

func headerHasTokenFunc(h http.Header, key string, match func(string) bool) bool {
	for _, v := range h.Values(key) {
		for t := range strings.SplitSeq(v, ",") {
			if match(strings.TrimSpace(t)) {
				return true
			}
		}
	}
	return false
}
