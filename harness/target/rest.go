package target

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/wirecheck/wirecheck/harness/pgtest"
	"github.com/wirecheck/wirecheck/reference/mqtt"
	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
	"github.com/wirecheck/wirecheck/reference/rest"
	"github.com/wirecheck/wirecheck/reference/rest/bridge"
	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// RESTTarget is one REST server under test: the reference server in-process
// (on SQLite or PostgreSQL) or any server given by its base URL.
type RESTTarget interface {
	// Name is a short label for reports: "reference", "reference-postgres"
	// or the base URL.
	Name() string
	// Start brings the server up and waits until it answers HTTP.
	Start(ctx context.Context) error
	// Stop shuts it down and removes what Start made; safe to call twice.
	Stop(ctx context.Context) error
	// BaseURL is the server's base URL without a trailing slash.
	BaseURL() string
	// Token is the bearer token writes need, "" when the server has none.
	Token() string
	// MQTTURL is the broker the server bridges readings from, "" if none.
	MQTTURL() string
	// Info describes the running server.
	Info() RESTInfo
}

// RESTInfo is everything a REST spec may know about a target.
type RESTInfo struct {
	Kind    string // reference, reference-postgres, external
	Store   string // sqlite, postgres; "" when unknown
	Version string
	BaseURL string
	// TLSURL is the https base URL of the same API ("" if none) and
	// TLSConfig a client configuration that trusts it.
	TLSURL    string
	TLSConfig *tls.Config
	Token     string
	MQTTURL   string
	// MaxBody is the request body limit the server declares (bytes); 0 when
	// unknown.
	MaxBody int64
}

// ParseREST turns a --rest-target value into a RESTTarget: "reference"
// (default: the reference server on SQLite in a temporary directory),
// "reference-postgres" (on a throwaway PostgreSQL), or an http:// or
// https:// base URL.
func ParseREST(spec string) (RESTTarget, error) { return ParseRESTWith(spec, "", "") }

// ParseRESTWith is ParseREST with a YAML profile of an external server
// (see RESTProfile) and a bearer token; both apply to URL targets only and
// the token overrides the profile's.
func ParseRESTWith(spec, profile, token string) (RESTTarget, error) {
	switch {
	case spec == "" || spec == "reference":
		if profile != "" || token != "" {
			return nil, errors.New("a REST profile or token describes an external server: use it with an http:// or https:// target")
		}
		return NewRESTReference(false), nil
	case spec == "reference-postgres":
		if profile != "" || token != "" {
			return nil, errors.New("a REST profile or token describes an external server: use it with an http:// or https:// target")
		}
		return NewRESTReference(true), nil
	case strings.Contains(spec, "://"):
		return NewRESTExternal(spec, profile, token)
	}
	return nil, fmt.Errorf("unknown REST target %q: want reference, reference-postgres or an http:// or https:// base URL", spec)
}

// restMaxBody is the body limit the reference targets run with (the
// server's default), declared so the 413 spec knows where the edge is.
const restMaxBody = 64 << 10

// RESTReference runs the reference REST server in-process on loopback: a
// plain and an HTTPS listener (self-signed certificate), a random bearer
// token for writes, and an in-process reference MQTT broker with the bridge
// attached so that readings published to sensors/NAME/value are stored.
type RESTReference struct {
	// Logger receives the server's and the bridge's logs (default: discard).
	Logger *slog.Logger

	postgres bool
	mu       sync.Mutex
	dir      string
	pg       *pgtest.Server
	pgDSN    string
	st       store.Store
	broker   *mqtt.Server
	bridge   *bridge.Bridge
	plain    *rest.Server
	secure   *rest.Server
	info     RESTInfo
	running  bool
}

// NewRESTReference returns a reference REST target on SQLite, or on
// PostgreSQL (started with harness/pgtest) when postgres is true.
func NewRESTReference(postgres bool) *RESTReference { return &RESTReference{postgres: postgres} }

func (r *RESTReference) Name() string {
	if r.postgres {
		return "reference-postgres"
	}
	return "reference"
}

func (r *RESTReference) Start(ctx context.Context) (err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.running {
		return nil
	}
	defer func() {
		if err != nil {
			r.stopLocked(context.Background())
		}
	}()
	log := r.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	info := RESTInfo{Kind: r.Name(), Version: "wirecheck reference", MaxBody: restMaxBody}

	// Storage.
	if r.postgres {
		if r.pg, err = pgtest.Start(ctx); err != nil {
			return fmt.Errorf("start PostgreSQL: %w", err)
		}
		if r.pgDSN, err = r.pg.CreateDatabase(ctx, "wirecheck_rest"); err != nil {
			return err
		}
		if r.st, err = store.OpenPostgres(ctx, r.pgDSN); err != nil {
			return fmt.Errorf("open PostgreSQL store: %w", err)
		}
	} else {
		if r.dir, err = os.MkdirTemp("", "wirecheck-rest-"); err != nil {
			return err
		}
		if r.st, err = store.OpenSQLite(r.dir); err != nil {
			return fmt.Errorf("open SQLite store: %w", err)
		}
	}
	info.Store = r.st.Kind()

	// The broker the bridge subscribes to, and the bridge.
	r.broker, err = mqtt.New(mqtt.Options{Listen: []string{"127.0.0.1:0"}, AllowAnonymous: true,
		SysInterval: -1, Logger: log.With("component", "broker")})
	if err != nil {
		return err
	}
	if err = r.broker.Start(); err != nil {
		return fmt.Errorf("start MQTT broker: %w", err)
	}
	info.MQTTURL = "tcp://" + r.broker.Addrs()[0].String()
	token := make([]byte, 16)
	rand.Read(token)
	info.Token = hex.EncodeToString(token)
	// Its own client ID: several reference targets may share a broker
	// elsewhere, never this one, but the ID also names the run in logs.
	clientID := "wirecheck-rest-bridge-" + info.Token[:8]
	if r.bridge, err = bridge.Start(ctx, info.MQTTURL+"?client_id="+clientID, r.st, log.With("component", "bridge")); err != nil {
		return fmt.Errorf("start MQTT bridge: %w", err)
	}

	// The API over HTTP and HTTPS.
	opts := rest.Options{Store: r.st, Token: info.Token, MaxBody: restMaxBody, Logger: log.With("component", "rest")}
	r.plain = rest.New(opts)
	addr, err := r.plain.ListenAndServe("127.0.0.1:0", nil)
	if err != nil {
		return fmt.Errorf("start REST server: %w", err)
	}
	info.BaseURL = "http://" + addr.String()
	conf, certPEM, err := listeners.SelfSigned("127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	r.secure = rest.New(opts)
	taddr, err := r.secure.ListenAndServe("127.0.0.1:0", conf)
	if err != nil {
		return fmt.Errorf("start REST server (TLS): %w", err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	info.TLSURL = "https://" + taddr.String()
	info.TLSConfig = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	if err := waitHTTP(ctx, info.BaseURL, nil); err != nil {
		return err
	}
	r.info, r.running = info, true
	return nil
}

func (r *RESTReference) Stop(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopLocked(ctx)
}

// stopLocked takes down whatever is up, in reverse order of Start.
func (r *RESTReference) stopLocked(ctx context.Context) error {
	var errs []error
	for _, s := range []*rest.Server{r.plain, r.secure} {
		if s != nil {
			errs = append(errs, s.Shutdown(ctx))
		}
	}
	r.plain, r.secure = nil, nil
	if r.bridge != nil {
		errs = append(errs, r.bridge.Close())
		r.bridge = nil
	}
	if r.broker != nil {
		errs = append(errs, r.broker.Shutdown(ctx))
		r.broker = nil
	}
	if r.st != nil {
		errs = append(errs, r.st.Close())
		r.st = nil
	}
	if r.pg != nil {
		if r.pgDSN != "" {
			errs = append(errs, r.pg.DropDatabase(ctx, r.pgDSN))
			r.pgDSN = ""
		}
		errs = append(errs, r.pg.Stop())
		r.pg = nil
	}
	if r.dir != "" {
		errs = append(errs, os.RemoveAll(r.dir))
		r.dir = ""
	}
	r.running = false
	return errors.Join(errs...)
}

func (r *RESTReference) BaseURL() string { return r.Info().BaseURL }
func (r *RESTReference) Token() string   { return r.Info().Token }
func (r *RESTReference) MQTTURL() string { return r.Info().MQTTURL }

func (r *RESTReference) Info() RESTInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

// RESTProfile describes an external REST server: what the suite may assume
// about it. Read from a YAML file.
type RESTProfile struct {
	Token    string `yaml:"token"`    // bearer token for writes
	MQTTURL  string `yaml:"mqtt_url"` // broker the server bridges sensors/+/value from
	MaxBody  int64  `yaml:"max_body"` // request body limit in bytes
	TLSURL   string `yaml:"tls_url"`  // https base URL of the same API
	CAFile   string `yaml:"ca_file"`  // PEM to trust for https
	Insecure bool   `yaml:"insecure_skip_verify"`
}

// LoadRESTProfile reads a profile file; unknown keys are errors.
func LoadRESTProfile(path string) (*RESTProfile, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p RESTProfile
	dec := yaml.NewDecoder(bytes.NewReader(b))
	dec.KnownFields(true)
	if err := dec.Decode(&p); err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	if p.MaxBody < 0 {
		return nil, fmt.Errorf("profile %s: max_body must not be negative", path)
	}
	return &p, nil
}

// RESTExternal is a REST server someone else runs, reached by its base URL.
// Bridge specs skip unless its profile names the broker it bridges from.
type RESTExternal struct {
	url  string
	info RESTInfo
}

// NewRESTExternal parses an http:// or https:// base URL; profile (a YAML
// file, optional) and token (overrides the profile's) describe the server.
func NewRESTExternal(raw, profile, token string) (*RESTExternal, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("REST target %q: %w", raw, err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("REST target %q: scheme must be http or https", raw)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("REST target %q: no host", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("REST target %q: give a base URL without query or fragment", raw)
	}
	base := strings.TrimRight(raw, "/")
	info := RESTInfo{Kind: "external", BaseURL: base}
	var p RESTProfile
	if profile != "" {
		pp, err := LoadRESTProfile(profile)
		if err != nil {
			return nil, err
		}
		p = *pp
	}
	if token != "" {
		p.Token = token
	}
	info.Token, info.MQTTURL, info.MaxBody = p.Token, p.MQTTURL, p.MaxBody
	info.TLSURL = strings.TrimRight(p.TLSURL, "/")
	if u.Scheme == "https" && info.TLSURL == "" {
		info.TLSURL = base
	}
	if info.TLSURL != "" {
		conf := &tls.Config{InsecureSkipVerify: p.Insecure}
		if p.CAFile != "" {
			pem, err := os.ReadFile(p.CAFile)
			if err != nil {
				return nil, err
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("ca_file %s: no PEM certificates", p.CAFile)
			}
			conf.RootCAs = pool
		}
		info.TLSConfig = conf
	}
	return &RESTExternal{url: base, info: info}, nil
}

func (e *RESTExternal) Name() string { return e.url }

// Start checks that the server answers HTTP; it does not launch anything.
func (e *RESTExternal) Start(ctx context.Context) error {
	var conf *tls.Config
	if strings.HasPrefix(e.url, "https://") {
		conf = e.info.TLSConfig
	}
	return waitHTTP(ctx, e.url, conf)
}

func (e *RESTExternal) Stop(context.Context) error { return nil }
func (e *RESTExternal) BaseURL() string            { return e.info.BaseURL }
func (e *RESTExternal) Token() string              { return e.info.Token }
func (e *RESTExternal) MQTTURL() string            { return e.info.MQTTURL }
func (e *RESTExternal) Info() RESTInfo             { return e.info }

// waitHTTP polls base until it answers any HTTP response or ctx ends.
func waitHTTP(ctx context.Context, base string, conf *tls.Config) error {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{TLSClientConfig: conf}}
	defer c.CloseIdleConnections()
	var last error
	for {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/", nil)
		if err != nil {
			return err
		}
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			return nil
		}
		last = err
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not answering HTTP: %w", base, errors.Join(ctx.Err(), unwrapURL(last)))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
