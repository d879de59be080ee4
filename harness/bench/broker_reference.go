package bench

import (
	"context"
	"fmt"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt"
)

// refSettings are the reference broker's settings, child or in-process.
func refSettings() string {
	return fmt.Sprintf("max_inflight=%d max_queued=%d in-memory sys_interval=10s", brokerInflight, brokerQueued)
}

// refChild is the reference broker run as `wirecheck broker`, a child process.
type refChild struct {
	child
	bin     string
	version string
}

func (r *refChild) Name() string { return "reference" }

func (r *refChild) Start(ctx context.Context) error {
	return r.startOnFreePort(ctx, func(port int) error {
		addr := "127.0.0.1:" + strconv.Itoa(port)
		return r.spawn(ctx, addr, "", r.bin, "broker", "--listen", addr, "--log-level", "warn",
			"--max-inflight", strconv.Itoa(brokerInflight), "--max-queued", strconv.Itoa(brokerQueued))
	})
}

func (r *refChild) Version() string {
	if r.version == "" {
		out, _ := exec.Command(r.bin, "--version").Output()
		r.version = strings.TrimSpace(string(out))
		if r.version == "" {
			r.version = "wirecheck (unknown version)"
		}
	}
	return r.version + " (child process)"
}

func (r *refChild) Settings() string { return refSettings() }

// refInProc is the reference broker inside this process: no PID of its
// own, so no CPU or RSS figures.
type refInProc struct {
	mu  sync.Mutex
	srv *mqtt.Server
}

func (r *refInProc) Name() string { return "reference" }

func (r *refInProc) Start(ctx context.Context) error {
	srv, err := mqtt.New(mqtt.Options{Listen: []string{"127.0.0.1:0"}, AllowAnonymous: true,
		MaxInflight: brokerInflight, MaxQueued: brokerQueued, Version: "wirecheck reference (in-process)"})
	if err != nil {
		return err
	}
	if err := srv.Start(); err != nil {
		return fmt.Errorf("start in-process reference broker: %w", err)
	}
	r.mu.Lock()
	r.srv = srv
	r.mu.Unlock()
	return nil
}

func (r *refInProc) Stop(ctx context.Context) error {
	r.mu.Lock()
	srv := r.srv
	r.srv = nil
	r.mu.Unlock()
	if srv == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	return srv.Shutdown(ctx)
}

func (r *refInProc) Addr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.srv == nil || len(r.srv.Addrs()) == 0 {
		return ""
	}
	return r.srv.Addrs()[0].String()
}

func (r *refInProc) Pid() int { return 0 }

func (r *refInProc) Alive() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.srv != nil
}

func (r *refInProc) Version() string { return "wirecheck reference (in-process)" }

func (r *refInProc) Settings() string { return refSettings() }
