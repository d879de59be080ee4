package store

import (
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// dialect is everything that differs between SQLite and PostgreSQL. The
// queries themselves are shared (sqlstore.go): they are written with '?'
// placeholders and rebound for PostgreSQL, and the DDL is a template whose
// {tokens} each dialect fills in.
type dialect struct {
	kind string
	// dollar: PostgreSQL numbers its placeholders ($1, $2 …).
	dollar bool
	// ddl replaces the {tokens} of the migration templates.
	ddl *strings.Replacer
	// lock, if set, runs first in the migration transaction so that two
	// processes opening the same database migrate one after the other.
	lock string
	// encTime turns a UTC, microsecond-truncated time into a value for the
	// column types that {time} expands to.
	encTime func(time.Time) any
	// isUnique reports a unique or primary-key violation.
	isUnique func(error) bool
}

// rebind turns '?' placeholders into $1, $2 … for PostgreSQL. The shared
// queries contain no '?' inside literals, so a plain scan is enough.
func (d *dialect) rebind(q string) string {
	if !d.dollar || !strings.Contains(q, "?") {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 8)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}

// utc normalises a time the way the stores keep it: UTC, microseconds (the
// precision of PostgreSQL's timestamptz; SQLite keeps Unix microseconds).
// Truncate also drops the monotonic clock reading, so stored and returned
// values compare equal with ==.
func utc(t time.Time) time.Time { return t.UTC().Truncate(time.Microsecond) }

// dbTime scans a time column of either dialect: SQLite gives Unix
// microseconds (int64), PostgreSQL a time.Time.
type dbTime struct{ t *time.Time }

func (d dbTime) Scan(v any) error {
	switch v := v.(type) {
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case time.Time:
		*d.t = v.UTC()
	default:
		return fmt.Errorf("store: cannot scan %T into a time", v)
	}
	return nil
}

var _ sql.Scanner = dbTime{}
