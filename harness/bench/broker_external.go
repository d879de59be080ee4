package bench

import (
	"context"
	"fmt"
	"net"
	"time"
)

// external is a broker someone else runs: never restarted, not measured.
type external struct {
	spec, addr string
}

func (e *external) Name() string { return e.spec }

// Start only checks that something accepts connections at addr.
func (e *external) Start(ctx context.Context) error {
	d := net.Dialer{Timeout: 5 * time.Second}
	nc, err := d.DialContext(ctx, "tcp", e.addr)
	if err != nil {
		return fmt.Errorf("target %s: %w", e.spec, err)
	}
	return nc.Close()
}

func (e *external) Stop(context.Context) error { return nil }
func (e *external) Addr() string               { return e.addr }
func (e *external) Pid() int                   { return 0 }
func (e *external) Alive() bool                { return true }
func (e *external) Version() string            { return "external (not restarted, not measured)" }
func (e *external) Settings() string           { return "unknown" }
