package listeners

import (
	"bytes"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/coder/websocket"
)

// wsSetup is one WebSocket listener under test.
type wsSetup struct {
	scheme string
	conf   *tls.Config
	client *wsClient
}

// wsSetups gives a ws and a wss listener setup (with SelfSigned).
func wsSetups(t *testing.T) []wsSetup {
	t.Helper()
	conf, certPEM, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	return []wsSetup{
		{scheme: SchemeWS, client: newWSClient(t, nil)},
		{scheme: SchemeWSS, conf: conf, client: newWSClient(t, pool(t, certPEM))},
	}
}

func TestWSStream(t *testing.T) {
	for _, s := range wsSetups(t) {
		t.Run(s.scheme, func(t *testing.T) {
			ln := listen(t, s.scheme, "/mqtt", s.conf)
			accepted := acceptOne(t, ln)
			c, resp, err := s.client.dial(t, wsURL(s.scheme, ln, "/mqtt"), "mqtt")
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			// [MQTT-6.0.0-4] the server returns "mqtt".
			if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != "mqtt" {
				t.Errorf("Sec-WebSocket-Protocol = %q, want mqtt", got)
			}
			if c.Subprotocol() != "mqtt" {
				t.Errorf("Subprotocol() = %q, want mqtt", c.Subprotocol())
			}
			sc := await(t, accepted, "accept")
			// Client first: the server's Close waits (up to 5 s) for a
			// close reply that an idle client would never send.
			defer func() { c.CloseNow(); sc.Close() }()
			if got, want := sc.RemoteAddr().String(), s.client.lastLocal().String(); got != want {
				t.Errorf("server RemoteAddr = %s, want the client's address %s", got, want)
			}
			if got, want := sc.LocalAddr().String(), ln.Addr().String(); got != want {
				t.Errorf("server LocalAddr = %s, want %s", got, want)
			}
			st, isTLS := ConnectionState(sc)
			if wantTLS := s.scheme == SchemeWSS; isTLS != wantTLS || (isTLS && !st.HandshakeComplete) {
				t.Errorf("ConnectionState: TLS %v (complete %v), want TLS %v", isTLS, st.HandshakeComplete, wantTLS)
			}

			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			// [MQTT-6.0.0-2] a packet may span frames: CONNECT cut in three
			// binary frames, then one frame with the tail of nothing but
			// two PINGREQs, must read back as one stream.
			stream := append(slices.Clone(connect), 0xc0, 0x00, 0xc0, 0x00)
			frames := [][]byte{connect[:1], connect[1:7], connect[7:], {0xc0, 0x00, 0xc0, 0x00}}
			for _, f := range frames {
				if err := c.Write(ctx, websocket.MessageBinary, f); err != nil {
					t.Fatalf("client Write: %v", err)
				}
			}
			got := make([]byte, len(stream))
			sc.SetReadDeadline(time.Now().Add(wait))
			if _, err := io.ReadFull(sc, got); err != nil {
				t.Fatalf("server ReadFull: %v", err)
			}
			if !bytes.Equal(got, stream) {
				t.Fatalf("server read %x, want %x", got, stream)
			}

			// Each server Write is one binary message.
			connack := []byte{0x20, 0x02, 0x00, 0x00}
			if _, err := sc.Write(connack); err != nil {
				t.Fatalf("server Write: %v", err)
			}
			if got := readWS(t, c, len(connack)); !bytes.Equal(got, connack) {
				t.Fatalf("client read %x, want %x", got, connack)
			}

			// A large packet passes: the library's 32 KiB read limit is off.
			big := make([]byte, 1<<20)
			for i := range big {
				big[i] = byte(i)
			}
			writeErr := make(chan error, 1)
			go func() { writeErr <- c.Write(ctx, websocket.MessageBinary, big) }()
			gotBig := make([]byte, len(big))
			if _, err := io.ReadFull(sc, gotBig); err != nil {
				t.Fatalf("server ReadFull 1 MiB: %v", err)
			}
			if err := await(t, writeErr, "client Write 1 MiB"); err != nil {
				t.Fatalf("client Write 1 MiB: %v", err)
			}
			if !bytes.Equal(gotBig, big) {
				t.Fatal("1 MiB message corrupted")
			}
		})
	}
}

// [MQTT-6.0.0-1] a text frame closes the connection.
func TestWSTextFrameCloses(t *testing.T) {
	for _, s := range wsSetups(t) {
		t.Run(s.scheme, func(t *testing.T) {
			ln := listen(t, s.scheme, "", s.conf)
			accepted := acceptOne(t, ln)
			c, _, err := s.client.dial(t, wsURL(s.scheme, ln, "/mqtt"), "mqtt")
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			sc := await(t, accepted, "accept")
			defer sc.Close()
			readErr := make(chan error, 1)
			go func() {
				sc.SetReadDeadline(time.Now().Add(wait))
				_, err := sc.Read(make([]byte, 16))
				readErr <- err
			}()

			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := c.Write(ctx, websocket.MessageText, []byte{0x10, 0x00}); err != nil {
				t.Fatalf("client Write text: %v", err)
			}
			_, _, err = c.Read(ctx)
			if got := websocket.CloseStatus(err); got != websocket.StatusUnsupportedData {
				t.Fatalf("client Read: %v (status %d), want close status %d", err, got, websocket.StatusUnsupportedData)
			}
			if err := await(t, readErr, "server Read"); err == nil {
				t.Fatal("server Read succeeded on a text frame")
			}
		})
	}
}

// [MQTT-6.0.0-3] a client must offer "mqtt"; one that does not is refused
// before the upgrade.
func TestWSRefused(t *testing.T) {
	for _, s := range wsSetups(t) {
		t.Run(s.scheme, func(t *testing.T) {
			ln := listen(t, s.scheme, "/mqtt", s.conf)
			tests := []struct {
				name         string
				path         string
				subprotocols []string
				wantStatus   int
			}{
				{"no subprotocol", "/mqtt", nil, http.StatusBadRequest},
				{"MQTT 3.1 name only", "/mqtt", []string{"mqttv3.1"}, http.StatusBadRequest},
				{"wrong case", "/mqtt", []string{"MQTT"}, http.StatusBadRequest},
				{"other subprotocol", "/mqtt", []string{"wamp"}, http.StatusBadRequest},
				{"wrong path", "/ws", []string{"mqtt"}, http.StatusNotFound},
			}
			for _, tt := range tests {
				t.Run(tt.name, func(t *testing.T) {
					c, resp, err := s.client.dial(t, wsURL(s.scheme, ln, tt.path), tt.subprotocols...)
					if err == nil {
						c.CloseNow()
						t.Fatal("dial succeeded")
					}
					if resp == nil || resp.StatusCode != tt.wantStatus {
						t.Fatalf("dial: %v (response %v), want status %d", err, resp, tt.wantStatus)
					}
				})
			}

			t.Run("plain GET", func(t *testing.T) {
				u := "http://" + ln.Addr().String() + "/mqtt"
				if s.scheme == SchemeWSS {
					u = "https://" + ln.Addr().String() + "/mqtt"
				}
				resp, err := (&http.Client{Transport: s.client.tr, Timeout: wait}).Get(u)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusUpgradeRequired {
					t.Fatalf("status %d, want %d", resp.StatusCode, http.StatusUpgradeRequired)
				}
			})
		})
	}
}

func TestWSPaths(t *testing.T) {
	client := newWSClient(t, nil)
	tests := []struct {
		name, listenPath, dialPath string
		wantOK                     bool
	}{
		{"any path: /mqtt", "", "/mqtt", true},
		{"any path: /", "", "/", true},
		{"any path: /ws", "", "/ws", true},
		{"exact path", "/mqtt", "/mqtt", true},
		{"exact root", "/", "/", true},
		{"root is not any", "/", "/mqtt", false},
		{"no prefix match", "/mqtt", "/mqtt/x", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ln := listen(t, SchemeWS, tt.listenPath, nil)
			c, _, err := client.dial(t, wsURL("ws", ln, tt.dialPath), "mqtt", "mqttv3.1")
			if (err == nil) != tt.wantOK {
				t.Fatalf("dial %s on %q: %v, want success %v", tt.dialPath, tt.listenPath, err, tt.wantOK)
			}
			if err == nil && c.Subprotocol() != "mqtt" {
				t.Fatalf("Subprotocol() = %q, want mqtt", c.Subprotocol())
			}
		})
	}
}

// An h2-capable TLS config must still give HTTP/1.1, which WebSocket needs,
// and must not be modified.
func TestWSSNoHTTP2(t *testing.T) {
	conf, certPEM, err := SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	conf.NextProtos = []string{"h2", "http/1.1"}
	ln := listen(t, SchemeWSS, "", conf)
	c, err := tls.DialWithDialer(&net.Dialer{Timeout: wait}, "tcp", ln.Addr().String(),
		&tls.Config{RootCAs: pool(t, certPEM), NextProtos: []string{"h2", "http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if p := c.ConnectionState().NegotiatedProtocol; p != "http/1.1" {
		t.Errorf("ALPN negotiated %q, want http/1.1", p)
	}
	if !slices.Equal(conf.NextProtos, []string{"h2", "http/1.1"}) {
		t.Errorf("caller's NextProtos changed to %q", conf.NextProtos)
	}
}

// Upgraded conns belong to the broker: closing the listener leaves them open.
func TestWSConnOutlivesListener(t *testing.T) {
	for _, s := range wsSetups(t) {
		t.Run(s.scheme, func(t *testing.T) {
			ln := listen(t, s.scheme, "", s.conf)
			accepted := acceptOne(t, ln)
			c, _, err := s.client.dial(t, wsURL(s.scheme, ln, "/mqtt"), "mqtt")
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			sc := await(t, accepted, "accept")
			serveEcho(t, sc)
			if err := ln.Close(); err != nil {
				t.Fatalf("Close: %v", err)
			}
			if _, _, err := s.client.dial(t, wsURL(s.scheme, ln, "/mqtt"), "mqtt"); err == nil {
				t.Fatal("dial after Close succeeded")
			}
			ctx, cancel := context.WithTimeout(context.Background(), wait)
			defer cancel()
			if err := c.Write(ctx, websocket.MessageBinary, connect); err != nil {
				t.Fatalf("client Write after listener Close: %v", err)
			}
			if got := readWS(t, c, len(connect)); !bytes.Equal(got, connect) {
				t.Fatalf("echo after listener Close = %x, want %x", got, connect)
			}
		})
	}
}
