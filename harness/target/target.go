// Package target is what a conformance suite runs against: the in-process
// reference broker, a local mosquitto process, Mosquitto in a container, or
// any broker given by URL. A target knows how to start, stop, restart and
// describe itself; specs never hard-code an address.
package target

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"strings"
	"time"
)

// ErrNotSupported is returned by Restart on kinds that cannot restart.
var ErrNotSupported = errors.New("not supported by this target")

// Target is one broker under test.
type Target interface {
	// Name is a short label for reports, e.g. "reference" or "mosquitto".
	Name() string
	// Start brings the broker up and waits until it accepts connections.
	Start(ctx context.Context) error
	// Stop shuts it down; safe to call twice.
	Stop(ctx context.Context) error
	// Restart stops and starts it keeping its durable state, or returns
	// ErrNotSupported.
	Restart(ctx context.Context) error
	// Info describes the running broker.
	Info() Info
}

// Info is everything a spec may know about a target.
type Info struct {
	Kind        string // reference, mosquitto, container, external
	Version     string // what the broker says it is, when known
	Addr        string // host:port of the plain MQTT listener
	TLSAddr     string // host:port of the TLS listener, "" if none
	TLSConfig   *tls.Config
	WSURL       string // ws:// URL of the WebSocket listener, "" if none
	TLSOnly     bool   // Addr speaks TLS (an ssl:// external target)
	Username    string // a user the broker accepts ("" if no auth configured)
	Password    string
	DeniedTopic string // a topic the ACL denies to Username and anonymous clients, "" if no ACL
	Caps        Capabilities
}

// Capabilities are what a target declares about itself; specs whose
// preconditions a target does not meet skip and say why.
type Capabilities struct {
	Retain           bool          // retained messages supported
	MaxQoS           byte          // highest QoS granted
	Wildcards        bool          // wildcard subscriptions supported
	Restart          bool          // Restart works and keeps persistent state
	Auth             bool          // Username/Password are enforced
	AnonymousAllowed bool          // clients without a user name are accepted
	ACL              bool          // DeniedTopic is enforced
	ConnectTimeout   time.Duration // idle sockets closed after this; 0 = not declared
	QueuesQoS0       *bool         // queues QoS 0 for offline sessions, nil = unknown
	SysTopics        bool          // publishes $SYS
}

// Dial opens a connection to the target's main listener (TLS when the
// target is only reachable over TLS).
func (i Info) Dial(timeout time.Duration) (net.Conn, error) {
	switch {
	case i.TLSOnly:
		return i.DialTLS(timeout, i.TLSConfig)
	case i.Addr == "" && i.WSURL != "":
		return DialWS(i.WSURL, timeout)
	}
	return net.DialTimeout("tcp", i.Addr, timeout)
}

// DialTLS opens a TLS connection to the target's TLS listener.
func (i Info) DialTLS(timeout time.Duration, conf *tls.Config) (net.Conn, error) {
	if i.TLSAddr == "" {
		return nil, fmt.Errorf("target has no TLS listener")
	}
	d := &net.Dialer{Timeout: timeout}
	return tls.DialWithDialer(d, "tcp", i.TLSAddr, conf)
}

// Parse turns a --target value into a Target: "reference" (default),
// "mosquitto", "container[:IMAGE]", or a tcp://, ssl:// or ws:// URL.
// profile is an optional YAML file for external targets.
func Parse(spec, profile string) (Target, error) {
	switch {
	case spec == "" || spec == "reference":
		return NewReference(), nil
	case spec == "mosquitto":
		return newKind("mosquitto", "")
	case spec == "container" || strings.HasPrefix(spec, "container:"):
		image := strings.TrimPrefix(strings.TrimPrefix(spec, "container"), ":")
		return newKind("container", image)
	case strings.Contains(spec, "://"):
		return NewExternal(spec, profile)
	}
	return nil, fmt.Errorf("unknown target %q: want reference, mosquitto, container[:IMAGE] or a tcp://, ssl:// or ws:// URL", spec)
}

// kinds maps a target kind to its constructor; each kind's file registers
// itself so this file does not depend on them.
var kinds = map[string]func(arg string) Target{}

func newKind(kind, arg string) (Target, error) {
	mk, ok := kinds[kind]
	if !ok {
		return nil, fmt.Errorf("target kind %q is not built into this binary", kind)
	}
	return mk(arg), nil
}

// waitListening polls addr until a TCP connect succeeds or ctx ends.
func waitListening(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not accepting connections: %w", addr, err)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
