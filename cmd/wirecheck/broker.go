package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/wirecheck/wirecheck/reference/mqtt"
	"github.com/wirecheck/wirecheck/reference/mqtt/auth"
	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
)

type brokerFlags struct {
	config          string
	fc              mqtt.FileConfig
	allowAnonymous  bool
	tlsSelfSigned   bool
	shutdownTimeout time.Duration
	cpuProfile      string
}

func newBrokerCmd() *cobra.Command {
	var f brokerFlags
	cmd := &cobra.Command{
		Use:   "broker",
		Short: "Run the reference MQTT 3.1.1 broker",
		Long: `Run wirecheck's reference MQTT 3.1.1 broker until SIGINT or SIGTERM.

By default it listens on 127.0.0.1:1883 only, keeps everything in memory and
allows anonymous clients. With --data DIR, retained messages, persistent
sessions and queued QoS 1/2 messages are stored in DIR/wirecheck.db and
survive a restart; a QoS 1/2 PUBLISH is acknowledged only once it is on disk.

Listeners (--listen, repeatable):
  127.0.0.1:1883 or tcp://HOST:PORT   plain MQTT
  tls://HOST:PORT                     MQTT over TLS (needs --tls-cert/--tls-key or --tls-self-signed)
  ws://HOST:PORT[/PATH]               MQTT over WebSocket (subprotocol "mqtt")
  wss://HOST:PORT[/PATH]              MQTT over secure WebSocket

Every flag can also be set in a YAML file given with --config (keys are the
flag names with '_' for '-', e.g. max_inflight: 50); flags on the command line
win over the file.`,
		Example: `  wirecheck broker
  wirecheck broker --listen 127.0.0.1:1883 --listen ws://127.0.0.1:8080 --data /var/lib/wirecheck
  wirecheck broker --password-file /etc/mosquitto/passwd --acl-file /etc/mosquitto/acl --allow-anonymous=false`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runBroker(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.config, "config", "c", "", "YAML config file (see above)")
	fl.StringArrayVarP(&f.fc.Listen, "listen", "l", nil, "listener address, repeatable (default 127.0.0.1:1883)")
	fl.StringVar(&f.fc.Data, "data", "", "data directory for the durable store (default: in memory)")
	fl.StringVar(&f.fc.PasswordFile, "password-file", "", "Mosquitto password file (mosquitto_passwd format, $6$ and $7$ hashes)")
	fl.StringVar(&f.fc.ACLFile, "acl-file", "", "Mosquitto ACL file (topic/user/pattern lines, %c and %u)")
	fl.BoolVar(&f.allowAnonymous, "allow-anonymous", true, "accept clients without a user name (default true without --password-file, false with it)")
	fl.StringVar(&f.fc.TLSCert, "tls-cert", "", "PEM certificate for tls:// and wss:// listeners")
	fl.StringVar(&f.fc.TLSKey, "tls-key", "", "PEM private key for --tls-cert")
	fl.StringVar(&f.fc.TLSCA, "tls-ca", "", "PEM CA bundle; when set, client certificates are verified if presented")
	fl.BoolVar(&f.tlsSelfSigned, "tls-self-signed", false, "generate a throw-away self-signed certificate (development only)")
	fl.DurationVar(&f.fc.ConnectTimeout, "connect-timeout", 10*time.Second, "close a connection that sends no CONNECT within this time")
	fl.IntVar(&f.fc.MaxPacketSize, "max-packet-size", 16<<20, "largest packet accepted, in bytes; bigger ones close the connection")
	fl.IntVar(&f.fc.MaxConnections, "max-connections", 0, "most simultaneous connections (0 = unlimited)")
	fl.IntVar(&f.fc.MaxInflight, "max-inflight", 20, "QoS 1/2 messages in flight to one client")
	fl.IntVar(&f.fc.MaxQueued, "max-queued", 1000, "QoS 1/2 messages queued per session beyond the in-flight window; more are dropped and counted")
	fl.DurationVar(&f.fc.SysInterval, "sys-interval", 10*time.Second, "how often $SYS/broker/... is published (0 disables)")
	fl.StringVar(&f.fc.LogLevel, "log-level", "info", "debug, info, warn or error")
	fl.StringVar(&f.fc.LogFormat, "log-format", "text", "text or json")
	fl.DurationVar(&f.shutdownTimeout, "shutdown-timeout", 10*time.Second, "how long SIGINT/SIGTERM waits for connections to close")
	fl.StringVar(&f.cpuProfile, "cpuprofile", "", "write a CPU profile (go tool pprof) to this file until shutdown")
	return cmd
}

// mergeConfig applies the config file under the flags the user did not set.
func mergeConfig(fl *pflag.FlagSet, f *brokerFlags) error {
	if f.config == "" {
		return nil
	}
	fc, err := mqtt.LoadConfig(f.config)
	if err != nil {
		return err
	}
	set := func(name string, apply func()) {
		if !fl.Changed(name) {
			apply()
		}
	}
	set("listen", func() {
		if len(fc.Listen) > 0 {
			f.fc.Listen = fc.Listen
		}
	})
	str := func(name string, dst *string, v string) {
		set(name, func() {
			if v != "" {
				*dst = v
			}
		})
	}
	str("data", &f.fc.Data, fc.Data)
	str("password-file", &f.fc.PasswordFile, fc.PasswordFile)
	str("acl-file", &f.fc.ACLFile, fc.ACLFile)
	str("tls-cert", &f.fc.TLSCert, fc.TLSCert)
	str("tls-key", &f.fc.TLSKey, fc.TLSKey)
	str("tls-ca", &f.fc.TLSCA, fc.TLSCA)
	str("log-level", &f.fc.LogLevel, fc.LogLevel)
	str("log-format", &f.fc.LogFormat, fc.LogFormat)
	num := func(name string, dst *int, v int) {
		set(name, func() {
			if v != 0 {
				*dst = v
			}
		})
	}
	num("max-packet-size", &f.fc.MaxPacketSize, fc.MaxPacketSize)
	num("max-connections", &f.fc.MaxConnections, fc.MaxConnections)
	num("max-inflight", &f.fc.MaxInflight, fc.MaxInflight)
	num("max-queued", &f.fc.MaxQueued, fc.MaxQueued)
	dur := func(name string, dst *time.Duration, v time.Duration) {
		set(name, func() {
			if v != 0 {
				*dst = v
			}
		})
	}
	dur("connect-timeout", &f.fc.ConnectTimeout, fc.ConnectTimeout)
	dur("sys-interval", &f.fc.SysInterval, fc.SysInterval)
	if fc.AllowAnonymous != nil && !fl.Changed("allow-anonymous") {
		f.fc.AllowAnonymous = fc.AllowAnonymous
	}
	return nil
}

// brokerOptions turns the merged flags into server options, loading files.
func brokerOptions(fl *pflag.FlagSet, f *brokerFlags) (mqtt.Options, error) {
	fc := f.fc
	opts := mqtt.Options{Listen: fc.Listen, DataDir: fc.Data, ConnectTimeout: fc.ConnectTimeout,
		MaxPacketSize: fc.MaxPacketSize, MaxConnections: fc.MaxConnections, MaxInflight: fc.MaxInflight,
		MaxQueued: fc.MaxQueued, SysInterval: fc.SysInterval, Version: "wirecheck " + version}
	if fc.SysInterval == 0 {
		opts.SysInterval = -1
	}
	for name, v := range map[string]int{"max-packet-size": fc.MaxPacketSize, "max-inflight": fc.MaxInflight, "max-queued": fc.MaxQueued} {
		if v <= 0 {
			return opts, usagef("--%s must be positive, got %d", name, v)
		}
	}
	if fc.MaxInflight > 65535 {
		return opts, usagef("--max-inflight: at most 65535, got %d", fc.MaxInflight)
	}
	for _, l := range opts.Listen {
		if _, err := listeners.ParseSpec(l); err != nil {
			return opts, usageError{err}
		}
	}
	var err error
	if fc.PasswordFile != "" {
		if opts.Passwords, err = auth.LoadPasswordFile(fc.PasswordFile); err != nil {
			return opts, err
		}
	}
	if fc.ACLFile != "" {
		if opts.ACL, err = auth.LoadACLFile(fc.ACLFile); err != nil {
			return opts, err
		}
	}
	// Anonymous access follows Mosquitto: on unless a password file is used.
	opts.AllowAnonymous = fc.PasswordFile == ""
	switch {
	case fl.Changed("allow-anonymous"):
		opts.AllowAnonymous = f.allowAnonymous
	case fc.AllowAnonymous != nil:
		opts.AllowAnonymous = *fc.AllowAnonymous
	}
	switch {
	case fc.TLSCert != "" || fc.TLSKey != "":
		if fc.TLSCert == "" || fc.TLSKey == "" {
			return opts, usagef("--tls-cert and --tls-key go together")
		}
		if opts.TLS, err = listeners.LoadTLSConfig(fc.TLSCert, fc.TLSKey, fc.TLSCA); err != nil {
			return opts, err
		}
	case f.tlsSelfSigned:
		var conf *tls.Config
		if conf, _, err = listeners.SelfSigned("127.0.0.1", "::1", "localhost"); err != nil {
			return opts, err
		}
		opts.TLS = conf
	}
	for _, l := range opts.Listen {
		if (strings.HasPrefix(l, "tls://") || strings.HasPrefix(l, "ssl://") || strings.HasPrefix(l, "mqtts://") ||
			strings.HasPrefix(l, "wss://")) && opts.TLS == nil {
			return opts, usagef("listener %s needs --tls-cert and --tls-key (or --tls-self-signed)", l)
		}
	}
	return opts, nil
}

func runBroker(cmd *cobra.Command, f *brokerFlags) error {
	fl := cmd.Flags()
	if err := mergeConfig(fl, f); err != nil {
		return err
	}
	log, err := newLogger(f.fc.LogLevel, f.fc.LogFormat)
	if err != nil {
		return err
	}
	opts, err := brokerOptions(fl, f)
	if err != nil {
		return err
	}
	opts.Logger = log
	warnExposed(opts)
	srv, err := mqtt.New(opts)
	if err != nil {
		return err
	}
	if f.cpuProfile != "" {
		stop, err := startCPUProfile(f.cpuProfile)
		if err != nil {
			return err
		}
		defer stop()
	}
	if err := srv.Start(); err != nil {
		return err
	}
	log.Info("broker started", "version", version, "data", orMemory(opts.DataDir), "anonymous", opts.AllowAnonymous)
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	s := <-sig
	log.Info("shutting down", "signal", s.String())
	ctx, cancel := context.WithTimeout(context.Background(), f.shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

// startCPUProfile profiles the broker until the returned stop is called.
func startCPUProfile(path string) (stop func(), err error) {
	f, err := os.Create(path)
	if err != nil {
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, fmt.Errorf("--cpuprofile: %w", err)
	}
	return func() {
		pprof.StopCPUProfile()
		f.Close()
	}, nil
}

func orMemory(dir string) string {
	if dir == "" {
		return "(memory)"
	}
	return dir
}

// warnExposed flags anonymous access on a non-loopback listener.
func warnExposed(opts mqtt.Options) {
	if !opts.AllowAnonymous {
		return
	}
	for _, l := range opts.Listen {
		spec, err := listeners.ParseSpec(l)
		if err != nil {
			continue
		}
		host, _, _ := net.SplitHostPort(spec.Addr)
		if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
			opts.Logger.Warn("anonymous clients allowed on a non-loopback listener", "listener", l)
		}
	}
}
