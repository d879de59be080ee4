package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// Readings page sizes.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// sqlStore is the one implementation of Store, over database/sql, shared by
// both databases; dialect holds what differs.
//
// Optimistic concurrency is done by the database, never read-then-write in
// Go: an update or delete carries "AND version = ?" and the caller learns the
// outcome from the rows it touched. When it touched none, one more lookup
// tells a missing row (ErrNotFound) from a stale version (ErrPrecondition).
// Under concurrency that holds in both databases: SQLite runs one write
// transaction at a time; PostgreSQL (READ COMMITTED) makes the second UPDATE
// of a row wait for the first to commit and then re-checks its WHERE against
// the new version, so it matches nothing.
type sqlStore struct {
	d *dialect
	r *sql.DB // reads
	w *sql.DB // writes; for SQLite a pool of exactly one connection
	q queries
}

// queries are the shared statements, rebound for the dialect once at open.
type queries struct {
	insertSensor, insertSensorIfMissing, listSensors, getSensor string
	setValue, setValueIf, insertReading                         string
	deleteSensor, deleteSensorIf, sensorVersion, sensorExists   string
	insertTask, listTasks, getTask                              string
	replaceTask, replaceTaskIf, deleteTask, deleteTaskIf        string
	taskVersion                                                 string
}

const (
	sensorCols = `name, value, unit, created, updated, version`
	taskCols   = `id, summary, description, created, updated, version`
)

func newSQLStore(ctx context.Context, d *dialect, r, w *sql.DB) (*sqlStore, error) {
	if err := migrate(ctx, w, d); err != nil {
		return nil, err
	}
	b := d.rebind
	s := &sqlStore{d: d, r: r, w: w, q: queries{
		insertSensor:          b(`INSERT INTO sensors (name, value, unit, created, updated, version) VALUES (?, NULL, '', ?, ?, 1)`),
		insertSensorIfMissing: b(`INSERT INTO sensors (name, value, unit, created, updated, version) VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT (name) DO NOTHING`),
		listSensors:           `SELECT ` + sensorCols + ` FROM sensors ORDER BY name`,
		getSensor:             b(`SELECT ` + sensorCols + ` FROM sensors WHERE name = ?`),
		setValue:              b(`UPDATE sensors SET value = ?, unit = ?, updated = ?, version = version + 1 WHERE name = ? RETURNING ` + sensorCols),
		setValueIf:            b(`UPDATE sensors SET value = ?, unit = ?, updated = ?, version = version + 1 WHERE name = ? AND version = ? RETURNING ` + sensorCols),
		insertReading:         b(`INSERT INTO readings (sensor, value, unit, time, source) VALUES (?, ?, ?, ?, ?)`),
		deleteSensor:          b(`DELETE FROM sensors WHERE name = ?`),
		deleteSensorIf:        b(`DELETE FROM sensors WHERE name = ? AND version = ?`),
		sensorVersion:         b(`SELECT version FROM sensors WHERE name = ?`),
		sensorExists:          b(`SELECT 1 FROM sensors WHERE name = ?`),
		insertTask:            b(`INSERT INTO tasks (summary, description, created, updated, version) VALUES (?, ?, ?, ?, 1) RETURNING id`),
		listTasks:             `SELECT ` + taskCols + ` FROM tasks ORDER BY id`,
		getTask:               b(`SELECT ` + taskCols + ` FROM tasks WHERE id = ?`),
		replaceTask:           b(`UPDATE tasks SET summary = ?, description = ?, updated = ?, version = version + 1 WHERE id = ? RETURNING ` + taskCols),
		replaceTaskIf:         b(`UPDATE tasks SET summary = ?, description = ?, updated = ?, version = version + 1 WHERE id = ? AND version = ? RETURNING ` + taskCols),
		deleteTask:            b(`DELETE FROM tasks WHERE id = ?`),
		deleteTaskIf:          b(`DELETE FROM tasks WHERE id = ? AND version = ?`),
		taskVersion:           b(`SELECT version FROM tasks WHERE id = ?`),
	}}
	return s, nil
}

func (s *sqlStore) Kind() string { return s.d.kind }

func (s *sqlStore) Close() error {
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// querier is what *sql.DB and *sql.Tx have in common.
type querier interface {
	QueryRowContext(ctx context.Context, query string, args ...any) *sql.Row
}

type scanner interface{ Scan(dest ...any) error }

func scanSensor(row scanner) (Sensor, error) {
	var s Sensor
	var v sql.NullFloat64
	if err := row.Scan(&s.Name, &v, &s.Unit, dbTime{&s.Created}, dbTime{&s.Updated}, &s.Version); err != nil {
		return Sensor{}, err
	}
	if v.Valid {
		s.Value = &v.Float64
	}
	return s, nil
}

func scanTask(row scanner) (Task, error) {
	var t Task
	err := row.Scan(&t.ID, &t.Summary, &t.Description, dbTime{&t.Created}, dbTime{&t.Updated}, &t.Version)
	return t, err
}

// missingOrStale explains an update or delete that touched no row: the row
// is gone (ErrNotFound) or its version moved on (ErrPrecondition).
func missingOrStale(ctx context.Context, q querier, query string, key any, what string) error {
	var v int64
	switch err := q.QueryRowContext(ctx, query, key).Scan(&v); {
	case errors.Is(err, sql.ErrNoRows):
		return fmt.Errorf("%s: %w", what, ErrNotFound)
	case err != nil:
		return fmt.Errorf("store: %s: %w", what, err)
	default:
		return fmt.Errorf("%s is at version %d: %w", what, v, ErrPrecondition)
	}
}

func checkName(name string) error {
	if name == "" {
		return fmt.Errorf("%w: empty sensor name", ErrInvalid)
	}
	return nil
}

func sensorWhat(name string) string { return fmt.Sprintf("sensor %q", name) }
func taskWhat(id int64) string      { return fmt.Sprintf("task %d", id) }

func (s *sqlStore) CreateSensor(ctx context.Context, name string) (Sensor, error) {
	if err := checkName(name); err != nil {
		return Sensor{}, err
	}
	now := utc(time.Now())
	if _, err := s.w.ExecContext(ctx, s.q.insertSensor, name, s.d.encTime(now), s.d.encTime(now)); err != nil {
		if s.d.isUnique(err) {
			return Sensor{}, fmt.Errorf("%s: %w", sensorWhat(name), ErrExists)
		}
		return Sensor{}, fmt.Errorf("store: create %s: %w", sensorWhat(name), err)
	}
	return Sensor{Name: name, Created: now, Updated: now, Version: 1}, nil
}

func (s *sqlStore) ListSensors(ctx context.Context) ([]Sensor, error) {
	rows, err := s.r.QueryContext(ctx, s.q.listSensors)
	if err != nil {
		return nil, fmt.Errorf("store: list sensors: %w", err)
	}
	defer rows.Close()
	out := []Sensor{}
	for rows.Next() {
		se, err := scanSensor(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list sensors: %w", err)
		}
		out = append(out, se)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list sensors: %w", err)
	}
	return out, nil
}

func (s *sqlStore) GetSensor(ctx context.Context, name string) (Sensor, error) {
	if err := checkName(name); err != nil {
		return Sensor{}, err
	}
	se, err := scanSensor(s.r.QueryRowContext(ctx, s.q.getSensor, name))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Sensor{}, fmt.Errorf("%s: %w", sensorWhat(name), ErrNotFound)
	case err != nil:
		return Sensor{}, fmt.Errorf("store: get %s: %w", sensorWhat(name), err)
	}
	return se, nil
}

// SetValue: the sensor update and the reading are one transaction. With
// create (and no expected version) a missing sensor is inserted with the
// value at version 1; the insert is ON CONFLICT DO NOTHING, so two first
// values racing for the same new name both succeed, one creating and one
// updating. With ifVersion != 0, create is ignored: a precondition on a row
// that does not exist cannot hold, so that is ErrNotFound. A zero at means
// now; unit "" stores "" (the HTTP layer decides whether to keep the old one).
func (s *sqlStore) SetValue(ctx context.Context, name string, value float64, unit string, at time.Time, source string, ifVersion int64, create bool) (se Sensor, err error) {
	if err := checkName(name); err != nil {
		return Sensor{}, err
	}
	// SQLite would store NaN as NULL and PostgreSQL would accept it: refuse
	// non-finite values in both, so the stores agree.
	if math.IsNaN(value) || math.IsInf(value, 0) {
		return Sensor{}, fmt.Errorf("%w: sensor value %v is not a finite number", ErrInvalid, value)
	}
	now := utc(time.Now())
	if at.IsZero() {
		at = now
	} else {
		at = utc(at)
	}
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return Sensor{}, fmt.Errorf("store: set %s: begin: %w", sensorWhat(name), err)
	}
	defer func() {
		if err != nil {
			_ = tx.Rollback()
		}
	}()
	created := false
	if create && ifVersion == 0 {
		res, err := tx.ExecContext(ctx, s.q.insertSensorIfMissing, name, value, unit, s.d.encTime(now), s.d.encTime(at))
		if err != nil {
			return Sensor{}, fmt.Errorf("store: set %s: create: %w", sensorWhat(name), err)
		}
		n, err := res.RowsAffected()
		if err != nil {
			return Sensor{}, fmt.Errorf("store: set %s: create: %w", sensorWhat(name), err)
		}
		if created = n == 1; created {
			v := value
			se = Sensor{Name: name, Value: &v, Unit: unit, Created: now, Updated: at, Version: 1}
		}
	}
	if !created {
		var row *sql.Row
		if ifVersion == 0 {
			row = tx.QueryRowContext(ctx, s.q.setValue, value, unit, s.d.encTime(at), name)
		} else {
			row = tx.QueryRowContext(ctx, s.q.setValueIf, value, unit, s.d.encTime(at), name, ifVersion)
		}
		se, err = scanSensor(row)
		if errors.Is(err, sql.ErrNoRows) {
			return Sensor{}, missingOrStale(ctx, tx, s.q.sensorVersion, name, sensorWhat(name))
		}
		if err != nil {
			return Sensor{}, fmt.Errorf("store: set %s: %w", sensorWhat(name), err)
		}
	}
	if _, err = tx.ExecContext(ctx, s.q.insertReading, name, value, unit, s.d.encTime(at), source); err != nil {
		return Sensor{}, fmt.Errorf("store: set %s: reading: %w", sensorWhat(name), err)
	}
	if err = tx.Commit(); err != nil {
		return Sensor{}, fmt.Errorf("store: set %s: commit: %w", sensorWhat(name), err)
	}
	return se, nil
}

// DeleteSensor removes the sensor; ON DELETE CASCADE removes its readings in
// the same statement.
func (s *sqlStore) DeleteSensor(ctx context.Context, name string, ifVersion int64) error {
	if err := checkName(name); err != nil {
		return err
	}
	var res sql.Result
	var err error
	if ifVersion == 0 {
		res, err = s.w.ExecContext(ctx, s.q.deleteSensor, name)
	} else {
		res, err = s.w.ExecContext(ctx, s.q.deleteSensorIf, name, ifVersion)
	}
	return s.deleted(ctx, res, err, s.q.sensorVersion, name, sensorWhat(name))
}

// deleted interprets a DELETE … [AND version = ?]: one row gone is success,
// none is explained by missingOrStale (a separate read; the answer is true of
// the moment it is made).
func (s *sqlStore) deleted(ctx context.Context, res sql.Result, err error, versionQuery string, key any, what string) error {
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: delete %s: %w", what, err)
	}
	if n == 0 {
		return missingOrStale(ctx, s.w, versionQuery, key, what)
	}
	return nil
}

// Readings pages by Seq (keyset: "seq > After ORDER BY seq LIMIT n+1"), so a
// page costs the same however deep it is, and rows appended meanwhile never
// shift a page. With PostgreSQL, seq comes from a sequence taken at insert
// time, so a reading whose transaction commits after a later one can land
// behind a cursor already handed out; SQLite writes one at a time and has no
// such gap.
func (s *sqlStore) Readings(ctx context.Context, name string, from, to time.Time, p Page) ([]Reading, int64, error) {
	if err := checkName(name); err != nil {
		return nil, 0, err
	}
	limit := p.Limit
	switch {
	case limit <= 0:
		limit = DefaultLimit
	case limit > MaxLimit:
		limit = MaxLimit
	}
	var one int
	switch err := s.r.QueryRowContext(ctx, s.q.sensorExists, name).Scan(&one); {
	case errors.Is(err, sql.ErrNoRows):
		return nil, 0, fmt.Errorf("%s: %w", sensorWhat(name), ErrNotFound)
	case err != nil:
		return nil, 0, fmt.Errorf("store: readings of %s: %w", sensorWhat(name), err)
	}

	var q strings.Builder
	q.WriteString(`SELECT seq, value, unit, time, source FROM readings WHERE sensor = ? AND seq > ?`)
	args := []any{name, p.After}
	if !from.IsZero() {
		q.WriteString(` AND time >= ?`)
		args = append(args, s.d.encTime(utc(from)))
	}
	if !to.IsZero() {
		q.WriteString(` AND time < ?`)
		args = append(args, s.d.encTime(utc(to)))
	}
	q.WriteString(` ORDER BY seq LIMIT ?`)
	args = append(args, limit+1)

	rows, err := s.r.QueryContext(ctx, s.d.rebind(q.String()), args...)
	if err != nil {
		return nil, 0, fmt.Errorf("store: readings of %s: %w", sensorWhat(name), err)
	}
	defer rows.Close()
	out := make([]Reading, 0, min(limit, 64))
	for rows.Next() {
		r := Reading{Sensor: name}
		if err := rows.Scan(&r.Seq, &r.Value, &r.Unit, dbTime{&r.Time}, &r.Source); err != nil {
			return nil, 0, fmt.Errorf("store: readings of %s: %w", sensorWhat(name), err)
		}
		out = append(out, r)
	}
	if err := rows.Err(); err != nil {
		return nil, 0, fmt.Errorf("store: readings of %s: %w", sensorWhat(name), err)
	}
	var next int64
	if len(out) > limit {
		out = out[:limit]
		next = out[limit-1].Seq
	}
	return out, next, nil
}

func (s *sqlStore) CreateTask(ctx context.Context, summary, description string) (Task, error) {
	now := utc(time.Now())
	t := Task{Summary: summary, Description: description, Created: now, Updated: now, Version: 1}
	if err := s.w.QueryRowContext(ctx, s.q.insertTask, summary, description, s.d.encTime(now), s.d.encTime(now)).Scan(&t.ID); err != nil {
		return Task{}, fmt.Errorf("store: create task: %w", err)
	}
	return t, nil
}

func (s *sqlStore) ListTasks(ctx context.Context) ([]Task, error) {
	rows, err := s.r.QueryContext(ctx, s.q.listTasks)
	if err != nil {
		return nil, fmt.Errorf("store: list tasks: %w", err)
	}
	defer rows.Close()
	out := []Task{}
	for rows.Next() {
		t, err := scanTask(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list tasks: %w", err)
		}
		out = append(out, t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: list tasks: %w", err)
	}
	return out, nil
}

func (s *sqlStore) GetTask(ctx context.Context, id int64) (Task, error) {
	t, err := scanTask(s.r.QueryRowContext(ctx, s.q.getTask, id))
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Task{}, fmt.Errorf("%s: %w", taskWhat(id), ErrNotFound)
	case err != nil:
		return Task{}, fmt.Errorf("store: get %s: %w", taskWhat(id), err)
	}
	return t, nil
}

func (s *sqlStore) ReplaceTask(ctx context.Context, id int64, summary, description string, ifVersion int64) (Task, error) {
	now := s.d.encTime(utc(time.Now()))
	var row *sql.Row
	if ifVersion == 0 {
		row = s.w.QueryRowContext(ctx, s.q.replaceTask, summary, description, now, id)
	} else {
		row = s.w.QueryRowContext(ctx, s.q.replaceTaskIf, summary, description, now, id, ifVersion)
	}
	t, err := scanTask(row)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		return Task{}, missingOrStale(ctx, s.w, s.q.taskVersion, id, taskWhat(id))
	case err != nil:
		return Task{}, fmt.Errorf("store: replace %s: %w", taskWhat(id), err)
	}
	return t, nil
}

func (s *sqlStore) DeleteTask(ctx context.Context, id int64, ifVersion int64) error {
	var res sql.Result
	var err error
	if ifVersion == 0 {
		res, err = s.w.ExecContext(ctx, s.q.deleteTask, id)
	} else {
		res, err = s.w.ExecContext(ctx, s.q.deleteTaskIf, id, ifVersion)
	}
	return s.deleted(ctx, res, err, s.q.taskVersion, id, taskWhat(id))
}
