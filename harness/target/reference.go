package target

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/internal/loopback"
	"github.com/wirecheck/wirecheck/reference/mqtt"
	"github.com/wirecheck/wirecheck/reference/mqtt/auth"
	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
)

// Reference runs wirecheck's own broker in-process on random loopback ports,
// durable in a temporary directory so Restart keeps sessions.
type Reference struct {
	// Tune adjusts the broker options before each start (the harness
	// self-test uses it to inject faults).
	Tune func(*mqtt.Options)

	mu       sync.Mutex
	srv      *mqtt.Server
	dir      string
	ports    [3]int // tcp, tls, ws
	tlsConf  *tls.Config
	client   *tls.Config
	info     Info
	baseOpts mqtt.Options
}

// NewReference returns a reference target; Start runs it.
func NewReference() *Reference { return &Reference{} }

func (r *Reference) Name() string { return "reference" }

// connectTimeout is short so the connect-timeout spec stays fast.
const connectTimeout = 2 * time.Second

func (r *Reference) Start(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv != nil {
		return nil
	}
	if r.dir == "" {
		if err := r.prepare(); err != nil {
			return err
		}
	}
	return r.startLocked(ctx)
}

// prepare makes the data dir, credentials, certificate and ports once, so a
// restart comes back on the same addresses with the same state.
func (r *Reference) prepare() error {
	dir, err := os.MkdirTemp("", "wirecheck-reference-")
	if err != nil {
		return err
	}
	passwd, acl, err := writeAuthFiles(dir)
	if err != nil {
		return err
	}
	conf, certPEM, err := listeners.SelfSigned("127.0.0.1", "localhost")
	if err != nil {
		return err
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	for i := range r.ports {
		if r.ports[i], err = loopback.FreePort(); err != nil {
			return err
		}
	}
	r.dir, r.tlsConf = dir, conf
	r.client = &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
	pw, err := auth.LoadPasswordFile(passwd)
	if err != nil {
		return err
	}
	rules, err := auth.LoadACLFile(acl)
	if err != nil {
		return err
	}
	addr := func(i int) string { return "127.0.0.1:" + strconv.Itoa(r.ports[i]) }
	no := false
	r.info = Info{Kind: "reference", Addr: addr(0), TLSAddr: addr(1), TLSConfig: r.client,
		WSURL: "ws://" + addr(2) + "/mqtt", Username: testUser, Password: testPassword,
		DeniedTopic: testDeniedTopic,
		Caps: Capabilities{Retain: true, MaxQoS: 2, Wildcards: true, Restart: true, Auth: true,
			AnonymousAllowed: true, ACL: true, ConnectTimeout: connectTimeout, QueuesQoS0: &no, SysTopics: true}}
	r.baseOpts = mqtt.Options{DataDir: dir, Passwords: pw, ACL: rules, AllowAnonymous: true, TLS: conf,
		ConnectTimeout: connectTimeout, SysInterval: time.Second,
		Listen: []string{addr(0), "tls://" + addr(1), "ws://" + addr(2) + "/mqtt"}}
	return nil
}

func (r *Reference) startLocked(ctx context.Context) error {
	opts := r.baseOpts
	if r.Tune != nil {
		r.Tune(&opts)
	}
	srv, err := mqtt.New(opts)
	if err != nil {
		return err
	}
	// A restarted listener may find its port briefly busy: retry until ctx ends.
	for {
		err = srv.Start()
		if err == nil {
			break
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("start reference broker: %w", err)
		case <-time.After(50 * time.Millisecond):
		}
		if srv, err = mqtt.New(opts); err != nil {
			return err
		}
	}
	r.srv = srv
	r.info.Version = "wirecheck reference"
	return nil
}

func (r *Reference) Stop(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stopLocked(ctx)
}

func (r *Reference) stopLocked(ctx context.Context) error {
	if r.srv == nil {
		return nil
	}
	err := r.srv.Shutdown(ctx)
	r.srv = nil
	return err
}

// Restart stops the broker and starts it again on the same ports and data.
func (r *Reference) Restart(ctx context.Context) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.stopLocked(ctx); err != nil {
		return err
	}
	return r.startLocked(ctx)
}

func (r *Reference) Info() Info {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.info
}

// Server returns the running broker, for in-process checks such as stats.
func (r *Reference) Server() *mqtt.Server {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.srv
}

// Cleanup removes the temporary directory; call after the final Stop.
func (r *Reference) Cleanup() error {
	if r.dir == "" {
		return nil
	}
	return os.RemoveAll(r.dir)
}
