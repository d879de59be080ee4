// Package rest is the REST conformance suite: HTTP semantics (RFC 9110),
// problem details (RFC 9457), JSON merge patch (RFC 7396), bearer tokens
// (RFC 6750) and the seed lectures' sensors and tasks API, checked against
// the reference REST server or any server that claims the same API.
//
// Its specs live in non-test files so the wirecheck binary can run them;
// suite_test.go lets `go test` and the ginkgo CLI run the same specs. Every
// spec is declared with conformance.RESTIt and carries the check IDs of
// fixtures/rest/statements.csv as labels, plus the suite label "rest";
// containers carry an area label (sensors, tasks, http, readings, bridge,
// security).
//
// The suite declares no BeforeSuite of its own (Ginkgo allows one per
// process, and the wirecheck binary runs this suite in the same process as
// the MQTT one): whoever runs it starts the target, with SetTarget (the
// CLI) or Setup/Teardown (suite_test.go); each spec's BeforeEach only checks
// that a target is there.
package rest

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"

	"github.com/wirecheck/wirecheck/harness/target"
)

// Environment variables read when no target was set with SetTarget.
const (
	EnvTarget  = "WIRECHECK_REST_TARGET"  // reference (default), reference-postgres, or an http(s):// base URL
	EnvProfile = "WIRECHECK_REST_PROFILE" // YAML profile of an external server
	EnvToken   = "WIRECHECK_REST_TOKEN"   // bearer token of an external server
)

var (
	mu        sync.Mutex
	tgt       target.RESTTarget
	preStart  bool // the caller started tgt and will stop it
	ready     bool
	info      target.RESTInfo
	runPrefix string
	seq       atomic.Int64
	client    *http.Client
)

// SetTarget chooses the server under test before RunSpecs. started says
// the caller has started it already and will stop it.
func SetTarget(t target.RESTTarget, started bool) {
	mu.Lock()
	defer mu.Unlock()
	tgt, preStart, ready = t, started, false
}

// Target returns the server under test (nil before SetTarget or Setup).
func Target() target.RESTTarget {
	mu.Lock()
	defer mu.Unlock()
	return tgt
}

// Setup makes the suite ready to run: without SetTarget it parses
// WIRECHECK_REST_TARGET (default reference), WIRECHECK_REST_PROFILE and
// WIRECHECK_REST_TOKEN; it starts the target unless the caller did.
func Setup(ctx context.Context) error {
	mu.Lock()
	defer mu.Unlock()
	return setupLocked(ctx)
}

func setupLocked(ctx context.Context) error {
	if ready {
		return nil
	}
	if tgt == nil {
		t, err := target.ParseRESTWith(os.Getenv(EnvTarget), os.Getenv(EnvProfile), os.Getenv(EnvToken))
		if err != nil {
			return err
		}
		if ref, ok := t.(*target.RESTReference); ok && ref.Logger == nil {
			// Server errors (a 500's cause) show with a failed spec.
			ref.Logger = slog.New(slog.NewTextHandler(GinkgoWriter, &slog.HandlerOptions{Level: slog.LevelWarn}))
		}
		tgt, preStart = t, false
	}
	if !preStart {
		if err := tgt.Start(ctx); err != nil {
			return fmt.Errorf("starting REST target %s: %w", tgt.Name(), err)
		}
	}
	info = tgt.Info()
	transport := http.DefaultTransport.(*http.Transport).Clone()
	transport.MaxIdleConnsPerHost = 64
	// Bodies and their Content-Length as the server sent them: no
	// transparent gzip.
	transport.DisableCompression = true
	transport.TLSClientConfig = info.TLSConfig
	if transport.TLSClientConfig == nil {
		transport.TLSClientConfig = &tls.Config{}
	}
	client = &http.Client{
		Transport: transport,
		Timeout:   Long,
		// Redirects are answers to check, not to follow.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	// Parallel processes and repeated runs against one server must not
	// share sensor names: data outlives a run on a real server.
	runPrefix = "wc" + strconv.FormatInt(time.Now().UnixNano()%1e9, 36) + "p" + strconv.Itoa(GinkgoParallelProcess())
	ready = true
	return nil
}

// Teardown stops the target if Setup started it.
func Teardown(ctx context.Context) error {
	mu.Lock()
	defer mu.Unlock()
	if client != nil {
		client.CloseIdleConnections()
	}
	if tgt == nil || preStart {
		return nil
	}
	ready = false
	return tgt.Stop(ctx)
}

// requireTarget is every container's BeforeEach: the target must be set
// up (under go test, Setup ran in BeforeSuite); a target given with
// SetTarget (the CLI) is set up here, on first use.
func requireTarget(ctx SpecContext) {
	mu.Lock()
	defer mu.Unlock()
	if ready {
		return
	}
	if tgt == nil {
		Fail("no REST target: the runner must call SetTarget or Setup before the specs")
	}
	if err := setupLocked(ctx); err != nil {
		Fail(err.Error())
	}
}

// Info describes the server under test.
func Info() target.RESTInfo { return info }

// Name returns a sensor name unique to this run and spec: letters, digits
// and '-' only, so that every server accepts it and it needs no escaping.
func Name(hint string) string {
	return runPrefix + "-" + hint + "-" + strconv.FormatInt(seq.Add(1), 36)
}

// Marker returns a string unique to this run, to find one's own tasks.
func Marker(hint string) string { return Name(hint) }
