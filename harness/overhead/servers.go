package overhead

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/wirecheck/wirecheck/harness/capture"
	"github.com/wirecheck/wirecheck/reference/mqtt"
	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
	"github.com/wirecheck/wirecheck/reference/rest"
	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// endpoint is one server address an experiment talks to.
type endpoint struct {
	addr     netip.AddrPort
	tls      bool
	proto    string // "mqtt" or "https"
	host     string // Host header / TLS server name
	external bool   // a target the user named: its certificate is not verified
}

// fixtures are the servers of one run: the reference broker and an HTTP
// server that serves the reference REST handler next to the study's Comet
// endpoint, each on a plain and a TLS listener on loopback; or the
// external targets the user named.
type fixtures struct {
	mqtt  map[bool]endpoint // by TLS
	https map[bool]endpoint
	roots *x509.CertPool // nil: external targets, certificates not verified
	comet *Comet         // nil for an external HTTPS target

	broker  *mqtt.Server
	httpSrv *http.Server
	st      store.Store
	dataDir string
}

// listen opens a loopback TCP listener with TCP keepalive off, so that an
// idle connection carries no probes: bytes per keepalive interval then do
// not depend on how long the interval is (the time scale).
func listen() (net.Listener, error) {
	lc := net.ListenConfig{KeepAlive: -1}
	return lc.Listen(context.Background(), "tcp", "127.0.0.1:0")
}

func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	ap, _ := netip.ParseAddrPort(a.String())
	return ap
}

// startFixtures starts what the options ask for: in-process servers for
// every protocol without a target, and endpoints for the targets given.
func startFixtures(o *Options) (_ *fixtures, err error) {
	f := &fixtures{mqtt: map[bool]endpoint{}, https: map[bool]endpoint{}}
	defer func() {
		if err != nil {
			f.close()
		}
	}()
	needLocal := len(o.MQTTTargets) == 0 || len(o.HTTPSTargets) == 0
	var srvTLS *tls.Config
	if needLocal {
		conf, certPEM, err := listeners.SelfSigned("127.0.0.1", "::1", "localhost")
		if err != nil {
			return nil, err
		}
		srvTLS = conf
		f.roots = x509.NewCertPool()
		f.roots.AppendCertsFromPEM(certPEM)
	}
	if len(o.MQTTTargets) == 0 {
		if err := f.startBroker(srvTLS); err != nil {
			return nil, err
		}
	} else {
		for _, t := range o.MQTTTargets {
			ep, err := parseTarget(t, "mqtt")
			if err != nil {
				return nil, err
			}
			f.mqtt[ep.tls] = ep
		}
	}
	if len(o.HTTPSTargets) == 0 {
		if err := f.startHTTP(srvTLS); err != nil {
			return nil, err
		}
	} else {
		for _, t := range o.HTTPSTargets {
			ep, err := parseTarget(t, "https")
			if err != nil {
				return nil, err
			}
			f.https[ep.tls] = ep
		}
	}
	return f, nil
}

// ErrTarget marks a target URL that cannot be used.
var ErrTarget = errors.New("overhead: bad target")

// parseTarget reads tcp://, mqtt://, tls://, ssl://, mqtts:// (MQTT) or
// http://, https:// (HTTPS) URLs with a literal IP address or localhost.
func parseTarget(s, proto string) (endpoint, error) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return endpoint{}, fmt.Errorf("%w: %q: want SCHEME://HOST:PORT", ErrTarget, s)
	}
	var secure bool
	var port string
	switch scheme := strings.ToLower(u.Scheme); {
	case proto == "mqtt" && (scheme == "tcp" || scheme == "mqtt"):
		port = "1883"
	case proto == "mqtt" && (scheme == "tls" || scheme == "ssl" || scheme == "mqtts"):
		secure, port = true, "8883"
	case proto == "https" && scheme == "http":
		port = "80"
	case proto == "https" && scheme == "https":
		secure, port = true, "443"
	default:
		return endpoint{}, fmt.Errorf("%w: %q: unknown scheme for %s", ErrTarget, s, proto)
	}
	if u.Port() != "" {
		port = u.Port()
	}
	host := u.Hostname()
	ips, err := net.DefaultResolver.LookupNetIP(context.Background(), "ip", host)
	if err != nil || len(ips) == 0 {
		return endpoint{}, fmt.Errorf("%w: %q: cannot resolve %s: %v", ErrTarget, s, host, err)
	}
	ap, err := netip.ParseAddrPort(net.JoinHostPort(ips[0].Unmap().String(), port))
	if err != nil {
		return endpoint{}, fmt.Errorf("%w: %q: %v", ErrTarget, s, err)
	}
	return endpoint{addr: ap, tls: secure, proto: proto, host: host, external: true}, nil
}

func (f *fixtures) startBroker(conf *tls.Config) error {
	b, err := mqtt.New(mqtt.Options{AllowAnonymous: true, SysInterval: -1, Version: "wirecheck overhead"})
	if err != nil {
		return err
	}
	f.broker = b
	for _, secure := range []bool{false, true} {
		ln, err := listen()
		if err != nil {
			return err
		}
		ap := addrPort(ln.Addr())
		if secure {
			ln = tls.NewListener(ln, conf)
		}
		b.Serve(ln)
		f.mqtt[secure] = endpoint{addr: ap, tls: secure, proto: "mqtt", host: "127.0.0.1"}
	}
	return nil
}

func (f *fixtures) startHTTP(conf *tls.Config) error {
	dir, err := os.MkdirTemp("", "wirecheck-overhead-")
	if err != nil {
		return err
	}
	f.dataDir = dir
	if f.st, err = store.OpenSQLite(dir); err != nil {
		return err
	}
	f.comet = NewComet()
	mux := http.NewServeMux()
	mux.Handle("/s", f.comet)
	mux.Handle("/", rest.NewHandler(rest.Options{Store: f.st}))
	// No read, write or idle timeouts: a long poll is held for a whole
	// keepalive interval, and a kept-alive connection idles as long.
	f.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: time.Minute, MaxHeaderBytes: 64 << 10}
	for _, secure := range []bool{false, true} {
		ln, err := listen()
		if err != nil {
			return err
		}
		ap := addrPort(ln.Addr())
		if secure {
			c := conf.Clone()
			c.NextProtos = []string{"http/1.1"} // HTTP/1.1, as in the study
			ln = tls.NewListener(ln, c)
		}
		go f.httpSrv.Serve(ln)
		f.https[secure] = endpoint{addr: ap, tls: secure, proto: "https", host: "127.0.0.1"}
	}
	return nil
}

// kind tells capture.Analyze what each server port speaks.
func (f *fixtures) kind(server netip.AddrPort) (capture.Kind, capture.Proto) {
	for _, m := range []map[bool]endpoint{f.mqtt, f.https} {
		for _, ep := range m {
			if ep.addr.Port() != server.Port() {
				continue
			}
			k, p := capture.Plain, capture.MQTT
			if ep.tls {
				k = capture.TLS
			}
			if ep.proto == "https" {
				p = capture.HTTP
			}
			return k, p
		}
	}
	return capture.Plain, capture.MQTT
}

// ports lists every server port, for the capture filter.
func (f *fixtures) ports() []uint16 {
	var out []uint16
	for _, m := range []map[bool]endpoint{f.mqtt, f.https} {
		for _, secure := range []bool{false, true} {
			if ep, ok := m[secure]; ok {
				out = append(out, ep.addr.Port())
			}
		}
	}
	return out
}

func (f *fixtures) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if f.httpSrv != nil {
		f.httpSrv.Close() // held long polls end with their connections
	}
	if f.broker != nil {
		f.broker.Shutdown(ctx)
	}
	if f.st != nil {
		f.st.Close()
	}
	if f.dataDir != "" {
		os.RemoveAll(f.dataDir)
	}
}
