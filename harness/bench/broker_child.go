package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/wirecheck/wirecheck/internal/loopback"
)

// child runs one broker process and waits until it accepts connections.
// The reference broker (refChild) and mosquitto (mosquittoChild) embed it.
type child struct {
	pin []int

	mu   sync.Mutex
	cmd  *exec.Cmd
	done chan struct{}
	addr string
	out  tail
}

// spawn starts argv listening on addr; on failure the process is gone.
func (c *child) spawn(ctx context.Context, addr string, dir string, argv ...string) error {
	c.out.reset()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = &c.out, &c.out
	cmd.SysProcAttr = childAttr()
	cmd.WaitDelay = time.Second
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", argv[0], err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	if len(c.pin) > 0 {
		pinTasks(cmd.Process.Pid, c.pin) // the startup threads; later ones inherit
	}
	if err := waitAccepting(ctx, addr, done); err != nil {
		cmd.Process.Kill()
		<-done
		return fmt.Errorf("%s on %s: %w; its output:\n%s", filepath.Base(argv[0]), addr, err, c.out.String())
	}
	if len(c.pin) > 0 {
		pinTasks(cmd.Process.Pid, c.pin) // threads started while it set up
	}
	c.mu.Lock()
	c.cmd, c.done, c.addr = cmd, done, addr
	c.mu.Unlock()
	return nil
}

// waitAccepting polls addr until a TCP connect succeeds, the process exits
// (done closes) or 15 s pass.
func waitAccepting(ctx context.Context, addr string, done <-chan struct{}) error {
	deadline := time.Now().Add(15 * time.Second)
	for {
		nc, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			nc.Close()
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("not accepting connections after 15 s: %w", err)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-done:
			return errors.New("exited while starting")
		case <-time.After(10 * time.Millisecond):
		}
	}
}

// Stop sends SIGTERM, then SIGKILL after 3 s; the process is gone after.
func (c *child) Stop(ctx context.Context) error {
	c.mu.Lock()
	cmd, done := c.cmd, c.done
	c.cmd, c.done = nil, nil
	c.mu.Unlock()
	if cmd == nil {
		return nil
	}
	cmd.Process.Signal(syscall.SIGTERM)
	t := time.NewTimer(3 * time.Second)
	defer t.Stop()
	select {
	case <-done:
		return nil
	case <-t.C:
	case <-ctx.Done():
	}
	cmd.Process.Kill()
	<-done
	return nil
}

func (c *child) Addr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.addr
}

func (c *child) Pid() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cmd == nil {
		return 0
	}
	return c.cmd.Process.Pid
}

func (c *child) Alive() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.done == nil {
		return false
	}
	select {
	case <-c.done:
		return false
	default:
		return true
	}
}

// startOnFreePort retries spawn a few times: a port found free can be taken
// before the broker binds it.
func (c *child) startOnFreePort(ctx context.Context, run func(port int) error) error {
	var err error
	for range 3 {
		var port int
		if port, err = loopback.FreePort(); err != nil {
			return err
		}
		if err = run(port); err == nil || ctx.Err() != nil || !strings.Contains(err.Error(), "in use") {
			return err
		}
	}
	return err
}

// tail keeps the last 8 KiB written to it, for error messages.
type tail struct {
	mu sync.Mutex
	b  []byte
}

func (t *tail) Write(p []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.b = append(t.b, p...)
	if over := len(t.b) - 8<<10; over > 0 {
		t.b = append(t.b[:0], t.b[over:]...)
	}
	return len(p), nil
}

func (t *tail) reset() {
	t.mu.Lock()
	t.b = t.b[:0]
	t.mu.Unlock()
}

func (t *tail) String() string {
	t.mu.Lock()
	defer t.mu.Unlock()
	return string(t.b)
}
