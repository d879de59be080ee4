package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// SQLiteFile is the database file OpenSQLite keeps in its directory.
const SQLiteFile = "wirecheck-rest.db"

var sqliteDialect = &dialect{
	kind: "sqlite",
	ddl: strings.NewReplacer(
		"{time}", "INTEGER", // Unix microseconds, UTC
		"{double}", "REAL",
		"{serial}", "INTEGER PRIMARY KEY AUTOINCREMENT", // seq never reused, even after deletes
		"{bigint}", "INTEGER",
		"{name}", "TEXT", // BINARY collation: byte order
	),
	encTime: func(t time.Time) any { return t.UnixMicro() },
	isUnique: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		c := e.Code()
		return c == sqlite3.SQLITE_CONSTRAINT_UNIQUE || c == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	},
}

// OpenSQLite opens (creating if needed) DIR/wirecheck-rest.db and migrates it.
//
// Every connection runs with a busy timeout and foreign keys on (needed for
// ON DELETE CASCADE; SQLite's default is off). The database is in WAL mode
// with synchronous=FULL: each commit is fsynced to the WAL before it
// returns, so an acknowledged write survives power loss (NORMAL would only
// survive a crash of the process).
//
// SQLite allows one writer at a time, so writes go through a pool of exactly
// one connection: concurrent requests queue in database/sql rather than
// spinning on SQLITE_BUSY, and a transaction's read-check-write cannot
// interleave with another's. Its transactions are BEGIN IMMEDIATE as well,
// which takes the write lock at BEGIN and so also serialises against another
// process on the same file. Reads use a separate pool of query_only
// connections, which WAL lets run alongside the writer.
func OpenSQLite(dir string) (Store, error) {
	if dir == "" {
		return nil, fmt.Errorf("%w: empty SQLite data directory", ErrInvalid)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	path, err := filepath.Abs(filepath.Join(dir, SQLiteFile))
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	if strings.ContainsAny(path, "?#") {
		return nil, fmt.Errorf("%w: SQLite path %q contains '?' or '#'", ErrInvalid, path)
	}
	const common = "_busy_timeout=10000&_foreign_keys=1"
	w, err := sql.Open("sqlite", path+"?"+common+"&_journal_mode=WAL&_synchronous=FULL&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	// The writer connects (and sets WAL) before any reader exists.
	if err := w.PingContext(ctx); err != nil {
		w.Close()
		return nil, fmt.Errorf("store: sqlite: open %s: %w", path, err)
	}
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil || !strings.EqualFold(mode, "wal") {
		w.Close()
		return nil, fmt.Errorf("store: sqlite: %s: journal mode is %q, want wal: %v", path, mode, err)
	}

	r, err := sql.Open("sqlite", path+"?"+common+"&_query_only=1")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: sqlite: %w", err)
	}
	n := max(4, runtime.GOMAXPROCS(0))
	r.SetMaxOpenConns(n)
	r.SetMaxIdleConns(n)

	s, err := newSQLStore(ctx, sqliteDialect, r, w)
	if err != nil {
		r.Close()
		w.Close()
		return nil, fmt.Errorf("%w (sqlite %s)", err, path)
	}
	return s, nil
}
