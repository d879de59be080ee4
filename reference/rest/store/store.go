// Package store keeps the reference REST server's data in a real database:
// SQLite (pure Go, modernc.org/sqlite) as the embedded default, PostgreSQL
// (pgx) when given a DSN. Schema migrations run at open. Every method returns
// only after its transaction has committed, so the server never acknowledges
// a write that is not durable.
package store

import (
	"context"
	"errors"
	"time"
)

var (
	ErrNotFound = errors.New("not found")
	ErrExists   = errors.New("already exists")
	// ErrPrecondition: the caller's expected version is not the current one
	// (the HTTP layer answers 412).
	ErrPrecondition = errors.New("version mismatch")
	// ErrInvalid: an argument the store cannot accept (an empty sensor
	// name). The HTTP layer validates input before it gets here.
	ErrInvalid = errors.New("invalid argument")
	// ErrSchemaTooNew: the database was migrated by a newer wirecheck than
	// this one; it is refused rather than used with an unknown schema.
	ErrSchemaTooNew = errors.New("database schema is newer than this program")
)

// Sensor is one named sensor and its latest value.
type Sensor struct {
	Name    string
	Value   *float64 // nil until the first update
	Unit    string   // "C", "F" or "" when unknown
	Created time.Time
	Updated time.Time // time of the latest value (or Created)
	Version int64     // starts at 1, +1 on every change; the ETag is built from it
}

// Reading is one stored value of a sensor.
type Reading struct {
	Seq    int64 // insertion order, unique per store
	Sensor string
	Value  float64
	Unit   string
	Time   time.Time // when the value was measured (or received)
	Source string    // "rest" or "mqtt"
}

// Task is one item of the todo list.
type Task struct {
	ID          int64
	Summary     string
	Description string
	Created     time.Time
	Updated     time.Time
	Version     int64
}

// Page selects part of a list: readings after cursor After (a Seq; 0 = from
// the start), at most Limit of them.
type Page struct {
	After int64
	Limit int
}

// Store is the server's persistence. ifVersion 0 means "whatever the current
// version is"; otherwise a mismatch is ErrPrecondition and nothing changes.
type Store interface {
	CreateSensor(ctx context.Context, name string) (Sensor, error) // ErrExists
	ListSensors(ctx context.Context) ([]Sensor, error)             // by name
	GetSensor(ctx context.Context, name string) (Sensor, error)    // ErrNotFound
	// SetValue updates the sensor's value and appends a reading, in one
	// transaction. With create, a missing sensor is created (the MQTT bridge).
	SetValue(ctx context.Context, name string, value float64, unit string, at time.Time, source string, ifVersion int64, create bool) (Sensor, error)
	DeleteSensor(ctx context.Context, name string, ifVersion int64) error // also its readings
	// Readings returns readings of a sensor with from <= Time < to (zero
	// times: unbounded), in Seq order, and the cursor of the next page (0 if
	// none). ErrNotFound if the sensor does not exist.
	Readings(ctx context.Context, name string, from, to time.Time, p Page) ([]Reading, int64, error)

	CreateTask(ctx context.Context, summary, description string) (Task, error)
	ListTasks(ctx context.Context) ([]Task, error) // by ID
	GetTask(ctx context.Context, id int64) (Task, error)
	ReplaceTask(ctx context.Context, id int64, summary, description string, ifVersion int64) (Task, error)
	DeleteTask(ctx context.Context, id int64, ifVersion int64) error

	// Kind is "sqlite" or "postgres", for logs and reports.
	Kind() string
	Close() error
}
