package mqtt

import (
	"crypto/tls"
	"log/slog"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/auth"
)

// Options configure a Server. The zero value plus Defaults() is a safe
// broker: loopback only, in memory, anonymous clients allowed.
type Options struct {
	Listen         []string    // listener specs: "127.0.0.1:1883", "tls://…", "ws://…"
	DataDir        string      // durable store directory; "" runs in memory
	TLS            *tls.Config // for tls:// and wss:// listeners
	Passwords      *auth.Passwords
	ACL            *auth.ACL
	AllowAnonymous bool          // accept clients without a user name
	ConnectTimeout time.Duration // close a connection that sends no CONNECT in time
	MaxPacketSize  int           // bytes, fixed header included
	MaxConnections int           // 0 = unlimited
	MaxInflight    int           // QoS 1/2 messages in flight to one client
	MaxQueued      int           // QoS 1/2 messages queued per session beyond the in-flight window
	MaxOutBytes    int           // pending outbound bytes per connection before QoS 0 is dropped
	SysInterval    time.Duration // $SYS publish period; 0 = default 10 s, negative disables
	RetryInterval  time.Duration // resend unacknowledged QoS>0 messages after this; 0 = only on reconnect
	Logger         *slog.Logger
	Version        string // reported in $SYS/broker/version
	Faults         Faults // harness self-test only
}

// Defaults fills unset fields with the documented defaults.
func (o *Options) Defaults() {
	if len(o.Listen) == 0 {
		o.Listen = []string{"127.0.0.1:1883"}
	}
	if o.ConnectTimeout == 0 {
		o.ConnectTimeout = 10 * time.Second
	}
	if o.MaxPacketSize == 0 {
		o.MaxPacketSize = 16 << 20
	}
	if o.MaxInflight == 0 {
		o.MaxInflight = 20
	}
	if o.MaxQueued == 0 {
		o.MaxQueued = 1000
	}
	if o.MaxOutBytes == 0 {
		o.MaxOutBytes = 8 << 20
	}
	if o.SysInterval == 0 {
		o.SysInterval = 10 * time.Second
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Version == "" {
		o.Version = "wirecheck-dev"
	}
}
