package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
	"github.com/wirecheck/wirecheck/reference/rest"
	"github.com/wirecheck/wirecheck/reference/rest/bridge"
	"github.com/wirecheck/wirecheck/reference/rest/store"
)

type restFlags struct {
	listen    string
	data      string
	db        string
	mqtt      string
	tlsCert   string
	tlsKey    string
	token     string
	maxBody   int64
	logLevel  string
	logFormat string
}

const (
	defaultRestData = "wirecheck-data"
	// restShutdownTimeout is how long SIGINT/SIGTERM waits for requests in
	// progress.
	restShutdownTimeout = 10 * time.Second
	// bridgeStartTimeout bounds the first connection to the MQTT broker.
	bridgeStartTimeout = 30 * time.Second
)

func newRestCmd() *cobra.Command {
	var f restFlags
	cmd := &cobra.Command{
		Use:   "rest",
		Short: "Run the reference REST server (sensors, readings, tasks)",
		Long: `Run wirecheck's reference REST server until SIGINT or SIGTERM.

It serves the two running examples of the seed lectures: the sensors
service and the todo list of tasks. By default it listens on
127.0.0.1:8000 (the seed's curl commands work unchanged) and keeps its
data in SQLite, in the directory "wirecheck-data" under the current
directory, created if missing (--data DIR to choose another; --db DSN for
PostgreSQL instead). No request is answered before its write is committed.

Endpoints (JSON by default, XML with Accept: application/xml):
  GET    /                            links to the collections
  GET    /sensors                     list the sensors
  POST   /sensors                     create one: {"name": "sensor1"} → 201, Location
  GET    /sensors/NAME                one sensor (404 if missing)
  PUT    /sensors/NAME                set its value: {"value": 237 | "237", "unit": "C" | "F"}
  DELETE /sensors/NAME                delete it and its readings → 204
  GET    /sensors/NAME/readings       value history: ?from=&to= (RFC 3339), limit=, after= (next link)
  GET    /tasks/                      list the tasks (id, summary)
  POST   /tasks/                      create one: {"summary": "…", "description": "…"} → 201, {"id": N}
  GET    /tasks/ID/                   one task (the trailing slash is optional everywhere)
  PUT    /tasks/ID/                   replace summary and description
  PATCH  /tasks/ID/                   JSON Merge Patch (application/merge-patch+json)
  DELETE /tasks/ID/                   delete it → 204

Every representation has a strong ETag (If-None-Match → 304, If-Match →
412 on mismatch), "links" with absolute URLs, and errors are RFC 9457
problem details. A summary has at most 119 characters ("under 120") and no
line break. With --token, POST, PUT, PATCH and DELETE need
"Authorization: Bearer TOKEN"; reads stay open. With --mqtt, the server
also subscribes to sensors/+/value on that broker and stores each JSON
reading ({"sensor", "unit", "value", "time"}), so the history served here
includes what MQTT devices publish.

The bound address is logged at info level: msg=listening addr=HOST:PORT.`,
		Example: `  wirecheck rest
  curl -X POST -H "Content-type: application/json" -d '{"name":"sensor1"}' localhost:8000/sensors
  wirecheck rest --listen 127.0.0.1:0 --data /tmp/rest --mqtt tcp://127.0.0.1:1883
  wirecheck rest --db postgres://wirecheck@127.0.0.1:5432/wirecheck --tls-cert cert.pem --tls-key key.pem --token s3cret`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runRest(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8000", "TCP address to listen on (port 0 picks a free one)")
	fl.StringVar(&f.data, "data", defaultRestData, "SQLite data directory, created if missing (default ./wirecheck-data)")
	fl.StringVar(&f.db, "db", "", "PostgreSQL DSN (postgres://…) to use instead of SQLite; excludes --data")
	fl.StringVar(&f.mqtt, "mqtt", "", "MQTT broker URL to take readings from (sensors/+/value), e.g. tcp://127.0.0.1:1883")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "PEM certificate: serve HTTPS (needs --tls-key)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "PEM private key for --tls-cert")
	fl.StringVar(&f.token, "token", "", "bearer token required for POST, PUT, PATCH and DELETE (default: none)")
	fl.Int64Var(&f.maxBody, "max-body", 64<<10, "largest request body accepted, in bytes; bigger ones get 413")
	fl.StringVar(&f.logLevel, "log-level", "info", "debug (access log), info, warn or error")
	fl.StringVar(&f.logFormat, "log-format", "text", "text or json")
	return cmd
}

// checkRestFlags finds the flag errors that are usage errors (exit 2).
func checkRestFlags(cmd *cobra.Command, f *restFlags) error {
	fl := cmd.Flags()
	if f.db != "" && fl.Changed("data") {
		return usagef("--data and --db exclude each other: SQLite under --data, or PostgreSQL at --db")
	}
	if !fl.Changed("db") && fl.Changed("data") && f.data == "" {
		return usagef("--data: empty directory name")
	}
	if fl.Changed("db") && f.db == "" {
		return usagef("--db: empty DSN")
	}
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usagef("--tls-cert and --tls-key go together")
	}
	if f.maxBody <= 0 {
		return usagef("--max-body must be positive, got %d", f.maxBody)
	}
	if _, _, err := net.SplitHostPort(f.listen); err != nil {
		return usagef("--listen %q: want HOST:PORT, e.g. 127.0.0.1:8000", f.listen)
	}
	if fl.Changed("mqtt") && f.mqtt == "" {
		return usagef("--mqtt: empty broker URL")
	}
	return nil
}

func runRest(cmd *cobra.Command, f *restFlags) error {
	log, err := newLogger(f.logLevel, f.logFormat)
	if err != nil {
		return err
	}
	if err := checkRestFlags(cmd, f); err != nil {
		return err
	}
	var tlsConf *tls.Config
	if f.tlsCert != "" {
		if tlsConf, err = listeners.LoadTLSConfig(f.tlsCert, f.tlsKey, ""); err != nil {
			return err
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	st, where, err := openRestStore(ctx, f)
	if err != nil {
		return err
	}
	defer func() {
		if err := st.Close(); err != nil {
			log.Error("closing the store", "err", err)
		}
	}()
	log.Info("store open", "kind", st.Kind(), "at", where)

	if f.mqtt != "" {
		bctx, cancel := context.WithTimeout(ctx, bridgeStartTimeout)
		b, err := bridge.Start(bctx, f.mqtt, st, log)
		cancel()
		if err != nil {
			return err
		}
		defer func() {
			if err := b.Close(); err != nil {
				log.Error("closing the MQTT bridge", "err", err)
			}
		}()
	}

	srv := rest.New(rest.Options{Store: st, Token: f.token, MaxBody: f.maxBody, Logger: log})
	addr, err := srv.ListenAndServe(f.listen, tlsConf)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", f.listen, err)
	}
	scheme := "http"
	if tlsConf != nil {
		scheme = "https"
	}
	log.Info("listening", "addr", addr.String(), "url", scheme+"://"+addr.String(), "version", version,
		"auth", f.token != "")
	warnOpenWrites(log, addr, f.token)

	<-ctx.Done()
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), restShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped cleanly")
	return nil
}

// openRestStore opens PostgreSQL at --db, or SQLite under --data (creating
// the directory). where names it for the log, without a password.
func openRestStore(ctx context.Context, f *restFlags) (st store.Store, where string, err error) {
	if f.db != "" {
		octx, cancel := context.WithTimeout(ctx, time.Minute)
		defer cancel()
		st, err = store.OpenPostgres(octx, f.db)
		if err != nil {
			return nil, "", fmt.Errorf("open PostgreSQL store: %w", err)
		}
		return st, redactDSN(f.db), nil
	}
	if err := os.MkdirAll(f.data, 0o750); err != nil {
		return nil, "", fmt.Errorf("--data: %w", err)
	}
	st, err = store.OpenSQLite(f.data)
	if err != nil {
		return nil, "", fmt.Errorf("open SQLite store in %s: %w", f.data, err)
	}
	abs, err := filepath.Abs(filepath.Join(f.data, store.SQLiteFile))
	if err != nil {
		abs = f.data
	}
	return st, abs, nil
}

// redactDSN hides the password of a postgres:// URL DSN; a key=value DSN
// is named only as "PostgreSQL".
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return "PostgreSQL"
	}
	return u.Redacted()
}

// warnOpenWrites flags a server reachable beyond this machine that lets
// anyone write.
func warnOpenWrites(log *slog.Logger, addr net.Addr, token string) {
	if token != "" {
		return
	}
	if ta, ok := addr.(*net.TCPAddr); !ok || !ta.IP.IsLoopback() {
		log.Warn("no --token: anyone who can reach this address can write", "addr", addr.String())
	}
}
