// Package listeners opens the network listeners of the reference MQTT broker:
// plain TCP, TLS, WebSocket and WebSocket over TLS.
//
// Every listener is a net.Listener whose Accept returns a net.Conn carrying
// raw MQTT bytes, so the broker reads and writes the same way whatever the
// transport. WebSocket framing is hidden: the broker sees a byte stream.
//
// Two transport details the broker should know about:
//
//   - tls: the TLS handshake runs lazily on the first Read or Write (as with
//     tls.NewListener), so a slow or hostile client never blocks Accept. Set a
//     read deadline before the first Read, as for the CONNECT timeout anyway.
//   - ws/wss: when a read or write deadline expires while a Read or Write is
//     in progress, the WebSocket library closes the connection (see
//     websocket.NetConn). Treat deadline expiry as fatal, which is what a
//     keepalive timeout does anyway; do not poll with short deadlines.
//   - ws/wss: Close sends a WebSocket close frame (1000) and waits for the
//     reply. With a Read in progress (the broker's reader goroutine) it
//     returns at once; otherwise a peer that never reads holds it for up to
//     5 s, the library's limit.
package listeners

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
)

// Canonical schemes. ParseSpec maps the aliases (ssl, mqtts, mqtt) onto these.
const (
	SchemeTCP = "tcp"
	SchemeTLS = "tls"
	SchemeWS  = "ws"
	SchemeWSS = "wss"
)

// Default ports, used when a --listen value names no port. 1883 and 8883 are
// IANA's; 8080/8081 are what most brokers use for MQTT over WebSocket.
const (
	DefaultPortTCP = 1883
	DefaultPortTLS = 8883
	DefaultPortWS  = 8080
	DefaultPortWSS = 8081
)

// accepted is quoted in every ParseSpec error so a user can fix the flag
// without reading the docs.
const accepted = `accepted forms: HOST:PORT, :PORT, PORT, tcp://HOST[:PORT], mqtt://HOST[:PORT], ` +
	`tls://HOST[:PORT], ssl://HOST[:PORT], mqtts://HOST[:PORT], ws://HOST[:PORT][/PATH], wss://HOST[:PORT][/PATH] ` +
	`(IPv6 hosts in brackets: [::1]:1883)`

// Spec is one parsed --listen value.
type Spec struct {
	Scheme string // "tcp", "tls", "ws", "wss"
	Addr   string // host:port, e.g. "127.0.0.1:1883"; port 0 means pick a free one
	// Path is the HTTP path a ws/wss listener upgrades on, e.g. "/mqtt".
	// Empty means any path: clients disagree on the default (/mqtt, /ws, /),
	// and a test broker should not turn a client away over it.
	Path string
}

// ParseSpec accepts "ADDR" (tcp), "tcp://ADDR", "mqtt://ADDR" (= tcp),
// "tls://ADDR", "ssl://ADDR" and "mqtts://ADDR" (= tls), "ws://ADDR[/path]",
// "wss://ADDR[/path]". ADDR is HOST:PORT, HOST, or :PORT; a bare "ADDR" may
// also be just a PORT, as in mosquitto's "listener 1883". Without a port the
// scheme's default applies (tcp 1883, tls 8883, ws 8080, wss 8081). An empty
// host means all interfaces, as for net.Listen. IPv6 hosts need brackets.
func ParseSpec(s string) (Spec, error) {
	orig := s
	s = strings.TrimSpace(s)
	fail := func(format string, args ...any) (Spec, error) {
		return Spec{}, fmt.Errorf("listen %q: %s; %s", orig, fmt.Sprintf(format, args...), accepted)
	}
	if s == "" {
		return fail("empty value")
	}

	scheme, rest, hasScheme := strings.Cut(s, "://")
	if !hasScheme {
		scheme, rest = SchemeTCP, s
		// A bare number is a port: nothing else on a --listen line is all digits.
		if isDigits(rest) {
			rest = ":" + rest
		}
	}
	switch strings.ToLower(scheme) {
	case "tcp", "mqtt":
		scheme = SchemeTCP
	case "tls", "ssl", "mqtts":
		scheme = SchemeTLS
	case "ws":
		scheme = SchemeWS
	case "wss":
		scheme = SchemeWSS
	default:
		return fail("unknown scheme %q", scheme)
	}

	hostport, path := rest, ""
	if i := strings.IndexByte(rest, '/'); i >= 0 {
		hostport, path = rest[:i], rest[i:]
	}
	if path != "" {
		if scheme != SchemeWS && scheme != SchemeWSS {
			return fail("a path (%q) only makes sense for ws:// and wss://", path)
		}
		if i := strings.IndexFunc(path, func(r rune) bool {
			return r <= ' ' || r == 0x7f || r == '?' || r == '#' || r == '%'
		}); i >= 0 {
			return fail("path %q: no query, fragment, escapes or spaces allowed", path)
		}
	}
	if strings.ContainsRune(hostport, '@') {
		return fail("user information is not supported")
	}

	host, port, err := splitHostPort(hostport)
	if err != nil {
		return fail("%v", err)
	}
	if port == "" {
		port = strconv.Itoa(defaultPort(scheme))
	}
	return Spec{Scheme: scheme, Addr: net.JoinHostPort(host, port), Path: path}, nil
}

// splitHostPort is net.SplitHostPort made strict (numeric port in range, no
// unbracketed IPv6) and lenient about a missing port (returned empty).
func splitHostPort(hp string) (host, port string, err error) {
	if hp == "" {
		return "", "", errors.New("missing address")
	}
	switch {
	case strings.HasPrefix(hp, "["):
		end := strings.IndexByte(hp, ']')
		if end < 0 {
			return "", "", fmt.Errorf("missing ']' in address %q", hp)
		}
		var after string
		host, after = hp[1:end], hp[end+1:]
		if a, err := netip.ParseAddr(host); err != nil || !a.Is6() {
			return "", "", fmt.Errorf("%q in brackets is not an IPv6 address", host)
		}
		if after == "" {
			return host, "", nil
		}
		if !strings.HasPrefix(after, ":") {
			return "", "", fmt.Errorf("unexpected %q after IPv6 address", after)
		}
		if port = after[1:]; port == "" {
			return "", "", fmt.Errorf("empty port in %q", hp)
		}
	case strings.Count(hp, ":") > 1:
		// "::1:1883" is itself a valid IPv6 address: refuse to guess.
		return "", "", fmt.Errorf("address %q: put IPv6 addresses in brackets", hp)
	default:
		var hasPort bool
		host, port, hasPort = strings.Cut(hp, ":")
		if hasPort && port == "" {
			return "", "", fmt.Errorf("empty port in %q", hp)
		}
		if host != "" && !validHostname(host) {
			return "", "", fmt.Errorf("bad host %q", host)
		}
	}
	if port != "" {
		if !isDigits(port) {
			return "", "", fmt.Errorf("bad port %q: want a number 0-65535", port)
		}
		if n, err := strconv.ParseUint(port, 10, 16); err != nil {
			return "", "", fmt.Errorf("port %s out of range 0-65535", port)
		} else {
			port = strconv.FormatUint(n, 10) // "01883" -> "1883"
		}
	}
	return host, port, nil
}

func validHostname(h string) bool {
	for _, r := range h {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '.', r == '-', r == '_':
		default:
			return false
		}
	}
	return true
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

func defaultPort(scheme string) int {
	switch scheme {
	case SchemeTLS:
		return DefaultPortTLS
	case SchemeWS:
		return DefaultPortWS
	case SchemeWSS:
		return DefaultPortWSS
	default:
		return DefaultPortTCP
	}
}

// String gives the canonical form, which ParseSpec reads back unchanged.
func (s Spec) String() string {
	return s.Scheme + "://" + s.Addr + s.Path
}

// Listen opens the listener. tlsConf is required for tls and wss, and ignored
// for tcp and ws so that one config can serve every --listen value.
//
// For ws and wss an HTTP server upgrades requests to WebSocket with
// subprotocol "mqtt" and Accept returns each upgraded connection as a byte
// stream; see the package documentation.
func Listen(spec Spec, tlsConf *tls.Config) (net.Listener, error) {
	switch spec.Scheme {
	case SchemeTCP, SchemeTLS, SchemeWS, SchemeWSS:
	default:
		return nil, fmt.Errorf("listen %s: unknown scheme %q (want tcp, tls, ws or wss)", spec, spec.Scheme)
	}
	secure := spec.Scheme == SchemeTLS || spec.Scheme == SchemeWSS
	if secure {
		if tlsConf == nil {
			return nil, fmt.Errorf("listen %s: a TLS config is required", spec)
		}
		// Fail at startup, not at the first client's handshake.
		if len(tlsConf.Certificates) == 0 && tlsConf.GetCertificate == nil && tlsConf.GetConfigForClient == nil {
			return nil, fmt.Errorf("listen %s: TLS config has no certificate", spec)
		}
	}

	ln, err := net.Listen("tcp", spec.Addr)
	if err != nil {
		return nil, fmt.Errorf("listen %s: %w", spec, err)
	}
	switch spec.Scheme {
	case SchemeTCP:
		return ln, nil
	case SchemeTLS:
		return tls.NewListener(ln, tlsConf), nil
	case SchemeWS:
		return newWSListener(ln, spec, nil), nil
	default: // SchemeWSS
		return newWSListener(ln, spec, tlsConf), nil
	}
}

// ConnectionState returns the TLS state of a conn accepted from a tls or wss
// listener (ok is false for tcp and ws), so the broker can read client
// certificates the same way for both. For tls the state is only complete
// once the handshake has run (after the first Read, or an explicit
// Handshake); wss conns have always completed it.
func ConnectionState(c net.Conn) (state tls.ConnectionState, ok bool) {
	switch c := c.(type) {
	case *tls.Conn:
		return c.ConnectionState(), true
	case *wsConn:
		if c.tlsState != nil {
			return *c.tlsState, true
		}
	}
	return tls.ConnectionState{}, false
}
