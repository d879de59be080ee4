package overhead

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/wirecheck/wirecheck/harness/capture"
	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// Variant is one transport configuration: plain TCP, TLS 1.2 or TLS 1.3
// (MinVersion = MaxVersion), and for TLS 1.3 optionally key exchange
// X25519 only instead of Go's default hybrid X25519MLKEM768, whose key
// shares add about 1.2 KB each way to a full handshake.
type Variant struct {
	TLS    string // "none", "1.2" or "1.3"
	X25519 bool   // CurvePreferences = [X25519]
}

var (
	plainTCP    = Variant{TLS: "none"}
	tls12       = Variant{TLS: "1.2"}
	tls13       = Variant{TLS: "1.3"}
	tls13X25519 = Variant{TLS: "1.3", X25519: true}
)

// ID names the variant in rows: none, 1.2, 1.3, 1.3-x25519.
func (v Variant) ID() string {
	if v.X25519 {
		return v.TLS + "-x25519"
	}
	return v.TLS
}

// Label is the variant for people: plain, TLS 1.2, TLS 1.3, TLS 1.3 X25519.
func (v Variant) Label() string {
	switch {
	case v.TLS == "none":
		return "plain"
	case v.X25519:
		return "TLS " + v.TLS + " X25519"
	}
	return "TLS " + v.TLS
}

func (v Variant) secure() bool { return v.TLS != "none" }

// clientConfig is the client's TLS configuration for v against ep.
func (v Variant) clientConfig(ep endpoint, f *fixtures) *tls.Config {
	// An external target's certificate is not checked: the bytes on the
	// wire are the same either way.
	// The session secrets go to the capture's key log, so that Analyze
	// classifies TLS 1.3's encrypted handshake exactly and the pcapng
	// files carry them for Wireshark (throw-away sessions only).
	c := &tls.Config{ServerName: ep.host, RootCAs: f.roots, InsecureSkipVerify: ep.external,
		KeyLogWriter: capture.KeyLogWriter()}
	switch v.TLS {
	case "1.2":
		c.MinVersion, c.MaxVersion = tls.VersionTLS12, tls.VersionTLS12
	case "1.3":
		c.MinVersion, c.MaxVersion = tls.VersionTLS13, tls.VersionTLS13
	}
	if v.X25519 {
		c.CurvePreferences = []tls.CurveID{tls.X25519}
	}
	if ep.proto == "https" {
		c.NextProtos = []string{"http/1.1"}
	}
	return c
}

// dialTimeout bounds every connect and handshake.
const dialTimeout = 10 * time.Second

// dial opens a connection from job j to its endpoint: TCP (keepalive off,
// wrapped for socket counting in payload-only mode), then the TLS
// handshake for a TLS variant. The client address is registered with the
// job before any byte is sent.
func (j *job) dial() (net.Conn, error) {
	d := net.Dialer{Timeout: dialTimeout, KeepAlive: -1}
	nc, err := d.Dial("tcp", j.ep.addr.String())
	if err != nil {
		return nil, err
	}
	j.addClient(addrPort(nc.LocalAddr()))
	nc = j.exp.wrap(nc, j.ep.addr)
	if !j.v.secure() {
		return nc, nil
	}
	tc := tls.Client(nc, j.v.clientConfig(j.ep, j.exp.fix))
	tc.SetDeadline(time.Now().Add(dialTimeout))
	if err := tc.Handshake(); err != nil {
		nc.Close()
		return nil, fmt.Errorf("TLS %s handshake with %s: %w", j.v.TLS, j.ep.addr, err)
	}
	tc.SetDeadline(time.Time{})
	j.noteTLS(tc.ConnectionState())
	return tc, nil
}

// --- MQTT ---

// mqttConnect dials and runs CONNECT/CONNACK, then SUBSCRIBE/SUBACK when
// topic is not empty (QoS subQoS): the study's "connect".
func (j *job) mqttConnect(clientID string, keepalive uint16, topic string, subQoS byte) (*rawclient.Client, error) {
	nc, err := j.dial()
	if err != nil {
		return nil, err
	}
	c := rawclient.New(nc)
	if _, err := c.MustConnect(&packets.Connect{CleanSession: true, KeepAlive: keepalive, ClientID: clientID}); err != nil {
		c.Close()
		return nil, fmt.Errorf("MQTT CONNECT to %s: %w", j.ep.addr, err)
	}
	if topic != "" {
		if _, err := c.Subscribe(1, packets.Subscription{Filter: topic, QoS: subQoS}); err != nil {
			c.Close()
			return nil, fmt.Errorf("MQTT SUBSCRIBE on %s: %w", j.ep.addr, err)
		}
	}
	return c, nil
}

// ping sends PINGREQ and waits for PINGRESP.
func ping(c *rawclient.Client) error {
	if err := c.Send(&packets.Pingreq{}); err != nil {
		return err
	}
	_, err := c.Expect(packets.PINGRESP, rawclient.DefaultWait)
	return err
}

// --- HTTP/1.1 ---

// httpConn is a minimal HTTP/1.1 client connection: each request is
// written with one Write (one TLS record) and responses are read with
// net/http's parser, so the bytes are net/http's own, and the
// experiment decides when a connection is reused or dropped.
type httpConn struct {
	nc   net.Conn
	br   *bufio.Reader
	host string
}

func (j *job) httpDial() (*httpConn, error) {
	nc, err := j.dial()
	if err != nil {
		return nil, err
	}
	host := j.ep.addr.String()
	if j.ep.host != "" && j.ep.host != j.ep.addr.Addr().String() {
		host = net.JoinHostPort(j.ep.host, fmt.Sprint(j.ep.addr.Port()))
	}
	return &httpConn{nc: nc, br: bufio.NewReader(nc), host: host}, nil
}

func (h *httpConn) Close() error { return h.nc.Close() }

// send writes one request in a single Write.
func (h *httpConn) send(method, target, ctype string, body []byte) error {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequest(method, "http://"+h.host+target, rd)
	if err != nil {
		return err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	var buf bytes.Buffer
	if err := req.Write(&buf); err != nil {
		return err
	}
	h.nc.SetWriteDeadline(time.Now().Add(dialTimeout))
	_, err = h.nc.Write(buf.Bytes())
	return err
}

// read reads one response and its body within d.
func (h *httpConn) read(method string, d time.Duration) (*http.Response, []byte, error) {
	h.nc.SetReadDeadline(time.Now().Add(d))
	resp, err := http.ReadResponse(h.br, &http.Request{Method: method})
	if err != nil {
		return nil, nil, err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, body, err
}

// do sends a request and reads its response, which must be 2xx.
func (h *httpConn) do(method, target, ctype string, body []byte) (*http.Response, []byte, error) {
	if err := h.send(method, target, ctype, body); err != nil {
		return nil, nil, err
	}
	resp, rb, err := h.read(method, dialTimeout)
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: %w", method, target, err)
	}
	if resp.StatusCode/100 != 2 {
		return resp, rb, fmt.Errorf("%s %s: %s: %s", method, target, resp.Status, strings.TrimSpace(string(rb)))
	}
	return resp, rb, nil
}

func isTimeout(err error) bool {
	var ne net.Error
	return errors.As(err, &ne) && ne.Timeout()
}

// pollTarget is the study's long-poll URL for topic.
func pollTarget(topic string) string { return "/s?t=" + topic }
