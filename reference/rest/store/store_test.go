package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/harness/pgtest"
)

// backend makes empty databases of one kind and opens them.
type backend struct {
	kind string
	// fresh returns the location of a new, empty database (a directory for
	// SQLite, a DSN for PostgreSQL), removed when the test ends.
	fresh func(t testing.TB) string
	open  func(ctx context.Context, loc string) (Store, error)
}

func sqliteBackend() backend {
	return backend{
		kind:  "sqlite",
		fresh: func(t testing.TB) string { return t.TempDir() },
		open:  func(_ context.Context, dir string) (Store, error) { return OpenSQLite(dir) },
	}
}

// postgresBackend starts one server (skipping, or failing under CI=true,
// when PostgreSQL is not installed) and gives each test its own database.
func postgresBackend(t testing.TB) backend {
	srv := pgtest.Require(t)
	return backend{
		kind:  "postgres",
		fresh: func(t testing.TB) string { return pgtest.RequireDatabase(t, srv) },
		open:  OpenPostgres,
	}
}

// env is one test's store, which it may close and reopen.
type env struct {
	t   *testing.T
	ctx context.Context
	b   backend
	loc string
	S   Store
}

func newEnv(t *testing.T, b backend) *env {
	e := &env{t: t, ctx: t.Context(), b: b, loc: b.fresh(t)}
	e.S = e.open()
	t.Cleanup(func() {
		if e.S != nil {
			e.S.Close()
		}
	})
	return e
}

func (e *env) open() Store {
	e.t.Helper()
	s, err := e.b.open(e.ctx, e.loc)
	if err != nil {
		e.t.Fatalf("open %s: %v", e.b.kind, err)
	}
	return s
}

func (e *env) reopen() Store {
	e.t.Helper()
	if err := e.S.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.S = nil
	e.S = e.open()
	return e.S
}

// exec runs SQL ('?' placeholders) on the store's write handle, for tests
// that reach under the API.
func (e *env) exec(q string, args ...any) {
	e.t.Helper()
	s := e.S.(*sqlStore)
	if _, err := s.w.ExecContext(e.ctx, s.d.rebind(q), args...); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
}

func (e *env) count(q string, args ...any) int {
	e.t.Helper()
	s := e.S.(*sqlStore)
	var n int
	if err := s.w.QueryRowContext(e.ctx, s.d.rebind(q), args...).Scan(&n); err != nil {
		e.t.Fatalf("%s: %v", q, err)
	}
	return n
}

func (e *env) sensor(name string) Sensor {
	e.t.Helper()
	s, err := e.S.GetSensor(e.ctx, name)
	if err != nil {
		e.t.Fatalf("GetSensor(%q): %v", name, err)
	}
	return s
}

func (e *env) set(name string, v float64, ifVersion int64) Sensor {
	e.t.Helper()
	s, err := e.S.SetValue(e.ctx, name, v, "C", time.Time{}, "rest", ifVersion, false)
	if err != nil {
		e.t.Fatalf("SetValue(%q, %v): %v", name, v, err)
	}
	return s
}

func (e *env) allReadings(name string, from, to time.Time, limit int) []Reading {
	e.t.Helper()
	var all []Reading
	after := int64(0)
	for pages := 0; ; pages++ {
		rs, next, err := e.S.Readings(e.ctx, name, from, to, Page{After: after, Limit: limit})
		if err != nil {
			e.t.Fatalf("Readings: %v", err)
		}
		all = append(all, rs...)
		if next == 0 {
			return all
		}
		if next != rs[len(rs)-1].Seq {
			e.t.Fatalf("next cursor %d is not the last seq %d", next, rs[len(rs)-1].Seq)
		}
		after = next
		if pages > 10000 {
			e.t.Fatal("pagination does not end")
		}
	}
}

func is(t *testing.T, err, want error, what string) {
	t.Helper()
	if !errors.Is(err, want) {
		t.Fatalf("%s: err = %v, want %v", what, err, want)
	}
}

func sameSensor(t *testing.T, got, want Sensor) {
	t.Helper()
	if got.Name != want.Name || got.Unit != want.Unit || got.Version != want.Version ||
		!got.Created.Equal(want.Created) || !got.Updated.Equal(want.Updated) ||
		(got.Value == nil) != (want.Value == nil) || (got.Value != nil && *got.Value != *want.Value) {
		t.Fatalf("sensor\n got %s\nwant %s", fmtSensor(got), fmtSensor(want))
	}
	utcOnly(t, got.Created, got.Updated)
}

func fmtSensor(s Sensor) string {
	v := "nil"
	if s.Value != nil {
		v = fmt.Sprint(*s.Value)
	}
	return fmt.Sprintf("{%s value=%s unit=%q v%d created=%s updated=%s}", s.Name, v, s.Unit, s.Version,
		s.Created.Format(time.RFC3339Nano), s.Updated.Format(time.RFC3339Nano))
}

func utcOnly(t *testing.T, ts ...time.Time) {
	t.Helper()
	for _, x := range ts {
		if x.Location() != time.UTC {
			t.Fatalf("time %s is in %v, want UTC", x, x.Location())
		}
		if x.Nanosecond()%1000 != 0 {
			t.Fatalf("time %s has sub-microsecond digits", x.Format(time.RFC3339Nano))
		}
	}
}

// parallel runs f from n goroutines released together and returns their errors.
func parallel(n int, f func(i int) error) []error {
	errs := make([]error, n)
	var ready, done sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			ready.Done()
			<-start
			errs[i] = f(i)
		}()
	}
	ready.Wait()
	close(start)
	done.Wait()
	return errs
}

func tally(t *testing.T, errs []error, other error) (ok, others int) {
	t.Helper()
	for _, err := range errs {
		switch {
		case err == nil:
			ok++
		case errors.Is(err, other):
			others++
		default:
			t.Fatalf("unexpected error: %v", err)
		}
	}
	return ok, others
}

var contract = []struct {
	name string
	run  func(t *testing.T, e *env)
}{
	{"SensorsCRUD", func(t *testing.T, e *env) {
		ctx := e.ctx
		if l, err := e.S.ListSensors(ctx); err != nil || l == nil || len(l) != 0 {
			t.Fatalf("empty list = %#v, %v; want [] (non-nil)", l, err)
		}
		before := time.Now().Add(-time.Second)
		var made []Sensor
		for _, n := range []string{"sensor2", "Sensor1", "sensor1", "zz", "a b/é"} {
			s, err := e.S.CreateSensor(ctx, n)
			if err != nil {
				t.Fatalf("CreateSensor(%q): %v", n, err)
			}
			if s.Name != n || s.Value != nil || s.Unit != "" || s.Version != 1 || !s.Created.Equal(s.Updated) ||
				s.Created.Before(before) || s.Created.After(time.Now().Add(time.Second)) {
				t.Fatalf("created %s", fmtSensor(s))
			}
			utcOnly(t, s.Created)
			made = append(made, s)
			sameSensor(t, e.sensor(n), s)
		}
		l, err := e.S.ListSensors(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, s := range l {
			names = append(names, s.Name)
		}
		// Byte order in both databases.
		if got, want := strings.Join(names, ","), "Sensor1,a b/é,sensor1,sensor2,zz"; got != want {
			t.Fatalf("list order %s, want %s", got, want)
		}
		sameSensor(t, l[3], made[0])
		if err := e.S.DeleteSensor(ctx, "sensor2", 0); err != nil {
			t.Fatal(err)
		}
		_, err = e.S.GetSensor(ctx, "sensor2")
		is(t, err, ErrNotFound, "get deleted")
		is(t, e.S.DeleteSensor(ctx, "sensor2", 0), ErrNotFound, "delete twice")
		if l, _ := e.S.ListSensors(ctx); len(l) != 4 {
			t.Fatalf("after delete: %d sensors", len(l))
		}
		if e.S.Kind() != e.b.kind {
			t.Fatalf("Kind() = %q, want %q", e.S.Kind(), e.b.kind)
		}
	}},

	{"ErrExistsAndInvalid", func(t *testing.T, e *env) {
		ctx := e.ctx
		s1, err := e.S.CreateSensor(ctx, "dup")
		if err != nil {
			t.Fatal(err)
		}
		e.set("dup", 5, 0)
		_, err = e.S.CreateSensor(ctx, "dup")
		is(t, err, ErrExists, "create twice")
		if got := e.sensor("dup"); got.Version != 2 || *got.Value != 5 || !got.Created.Equal(s1.Created) {
			t.Fatalf("duplicate create changed the sensor: %s", fmtSensor(got))
		}
		_, err = e.S.CreateSensor(ctx, "")
		is(t, err, ErrInvalid, "empty name")
		_, err = e.S.SetValue(ctx, "", 1, "", time.Time{}, "rest", 0, true)
		is(t, err, ErrInvalid, "SetValue empty name")
		for _, v := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
			_, err = e.S.SetValue(ctx, "dup", v, "", time.Time{}, "rest", 0, false)
			is(t, err, ErrInvalid, fmt.Sprintf("SetValue %v", v))
		}
		// 20 racing creates of one name: exactly one wins.
		errs := parallel(20, func(int) error { _, err := e.S.CreateSensor(ctx, "race"); return err })
		if ok, exists := tally(t, errs, ErrExists); ok != 1 || exists != 19 {
			t.Fatalf("racing creates: %d ok, %d ErrExists; want 1 and 19", ok, exists)
		}
	}},

	{"ErrNotFound", func(t *testing.T, e *env) {
		ctx := e.ctx
		_, err := e.S.GetSensor(ctx, "nope")
		is(t, err, ErrNotFound, "GetSensor")
		_, err = e.S.SetValue(ctx, "nope", 1, "C", time.Time{}, "rest", 0, false)
		is(t, err, ErrNotFound, "SetValue without create")
		_, err = e.S.SetValue(ctx, "nope", 1, "C", time.Time{}, "rest", 3, false)
		is(t, err, ErrNotFound, "SetValue with version")
		_, err = e.S.SetValue(ctx, "nope", 1, "C", time.Time{}, "rest", 3, true)
		is(t, err, ErrNotFound, "SetValue create with a version")
		is(t, e.S.DeleteSensor(ctx, "nope", 0), ErrNotFound, "DeleteSensor")
		is(t, e.S.DeleteSensor(ctx, "nope", 7), ErrNotFound, "DeleteSensor with version")
		_, _, err = e.S.Readings(ctx, "nope", time.Time{}, time.Time{}, Page{})
		is(t, err, ErrNotFound, "Readings")
		_, err = e.S.GetTask(ctx, 42)
		is(t, err, ErrNotFound, "GetTask")
		_, err = e.S.ReplaceTask(ctx, 42, "s", "d", 0)
		is(t, err, ErrNotFound, "ReplaceTask")
		_, err = e.S.ReplaceTask(ctx, 42, "s", "d", 1)
		is(t, err, ErrNotFound, "ReplaceTask with version")
		is(t, e.S.DeleteTask(ctx, 42, 0), ErrNotFound, "DeleteTask")
		is(t, e.S.DeleteTask(ctx, 42, 1), ErrNotFound, "DeleteTask with version")
		if n := e.count(`SELECT COUNT(*) FROM sensors`); n != 0 {
			t.Fatalf("a failed call created %d sensors", n)
		}
	}},

	{"SetValueAppendsReadings", func(t *testing.T, e *env) {
		ctx := e.ctx
		created, err := e.S.CreateSensor(ctx, "s")
		if err != nil {
			t.Fatal(err)
		}
		// A time with nanoseconds in another zone comes back in UTC,
		// truncated to microseconds.
		zone := time.FixedZone("UTC+5:30", 5*3600+1800)
		base := time.Date(2024, 3, 1, 12, 0, 0, 123456789, zone)
		units := []string{"C", "F", ""}
		values := []float64{21.5, -40, math.MaxFloat64}
		for i, v := range values {
			at := base.Add(time.Duration(i) * time.Minute)
			got, err := e.S.SetValue(ctx, "s", v, units[i], at, "mqtt", 0, false)
			if err != nil {
				t.Fatal(err)
			}
			want := Sensor{Name: "s", Value: &v, Unit: units[i], Created: created.Created,
				Updated: at.UTC().Truncate(time.Microsecond), Version: int64(i + 2)}
			sameSensor(t, got, want)
			sameSensor(t, e.sensor("s"), want)
		}
		rs, next, err := e.S.Readings(ctx, "s", time.Time{}, time.Time{}, Page{})
		if err != nil || next != 0 || len(rs) != 3 {
			t.Fatalf("readings: %d, next %d, %v", len(rs), next, err)
		}
		for i, r := range rs {
			at := base.Add(time.Duration(i) * time.Minute).UTC().Truncate(time.Microsecond)
			if r.Sensor != "s" || r.Value != values[i] || r.Unit != units[i] || r.Source != "mqtt" || !r.Time.Equal(at) {
				t.Fatalf("reading %d = %+v", i, r)
			}
			utcOnly(t, r.Time)
			if r.Time.Nanosecond() != 123456000 {
				t.Fatalf("reading time %s: want microseconds kept", r.Time.Format(time.RFC3339Nano))
			}
			if i > 0 && r.Seq <= rs[i-1].Seq {
				t.Fatalf("seq not increasing: %d after %d", r.Seq, rs[i-1].Seq)
			}
		}
		// A zero time means now.
		before := time.Now().Add(-time.Second)
		got, err := e.S.SetValue(ctx, "s", 1, "C", time.Time{}, "rest", 0, false)
		if err != nil || got.Updated.Before(before) || got.Updated.After(time.Now().Add(time.Second)) {
			t.Fatalf("zero time: %s, %v", fmtSensor(got), err)
		}
	}},

	{"CreateOnSetValue", func(t *testing.T, e *env) {
		ctx := e.ctx
		at := time.Date(2025, 1, 2, 3, 4, 5, 6000, time.UTC)
		s, err := e.S.SetValue(ctx, "bridge", 7.25, "F", at, "mqtt", 0, true)
		if err != nil {
			t.Fatal(err)
		}
		v := 7.25
		want := Sensor{Name: "bridge", Value: &v, Unit: "F", Created: s.Created, Updated: at, Version: 1}
		sameSensor(t, s, want)
		sameSensor(t, e.sensor("bridge"), want)
		s, err = e.S.SetValue(ctx, "bridge", 8, "F", at.Add(time.Second), "mqtt", 0, true)
		if err != nil || s.Version != 2 || *s.Value != 8 {
			t.Fatalf("second value: %s, %v", fmtSensor(s), err)
		}
		if rs, _, _ := e.S.Readings(ctx, "bridge", time.Time{}, time.Time{}, Page{}); len(rs) != 2 {
			t.Fatalf("%d readings, want 2", len(rs))
		}
		// 20 first values racing for one new name: all succeed, one creates.
		errs := parallel(20, func(i int) error {
			_, err := e.S.SetValue(ctx, "fresh", float64(i), "C", time.Time{}, "mqtt", 0, true)
			return err
		})
		if ok, _ := tally(t, errs, ErrPrecondition); ok != 20 {
			t.Fatalf("%d of 20 succeeded", ok)
		}
		if s := e.sensor("fresh"); s.Version != 20 {
			t.Fatalf("version after 20 values = %d, want 20", s.Version)
		}
		if n := e.count(`SELECT COUNT(*) FROM readings WHERE sensor = ?`, "fresh"); n != 20 {
			t.Fatalf("%d readings, want 20", n)
		}
	}},

	{"VersionsAndPreconditions", func(t *testing.T, e *env) {
		ctx := e.ctx
		if _, err := e.S.CreateSensor(ctx, "v"); err != nil {
			t.Fatal(err)
		}
		s := e.set("v", 1, 1)
		if s.Version != 2 {
			t.Fatalf("version %d, want 2", s.Version)
		}
		s = e.set("v", 2, 0) // 0: any version
		if s.Version != 3 {
			t.Fatalf("version %d, want 3", s.Version)
		}
		for _, stale := range []int64{1, 2, 4, 99} {
			_, err := e.S.SetValue(ctx, "v", 100, "F", time.Time{}, "rest", stale, false)
			is(t, err, ErrPrecondition, fmt.Sprintf("SetValue ifVersion=%d", stale))
			_, err = e.S.SetValue(ctx, "v", 100, "F", time.Time{}, "rest", stale, true)
			is(t, err, ErrPrecondition, fmt.Sprintf("SetValue create ifVersion=%d", stale))
			is(t, e.S.DeleteSensor(ctx, "v", stale), ErrPrecondition, fmt.Sprintf("DeleteSensor ifVersion=%d", stale))
		}
		sameSensor(t, e.sensor("v"), s) // unchanged
		if n := e.count(`SELECT COUNT(*) FROM readings WHERE sensor = ?`, "v"); n != 2 {
			t.Fatalf("%d readings after refused updates, want 2", n)
		}
		if err := e.S.DeleteSensor(ctx, "v", 3); err != nil {
			t.Fatal(err)
		}
	}},

	{"ConcurrentSetValueSameVersion", func(t *testing.T, e *env) {
		ctx := e.ctx
		if _, err := e.S.CreateSensor(ctx, "c"); err != nil {
			t.Fatal(err)
		}
		errs := parallel(20, func(i int) error {
			_, err := e.S.SetValue(ctx, "c", float64(i), "C", time.Time{}, "rest", 1, false)
			return err
		})
		ok, stale := tally(t, errs, ErrPrecondition)
		if ok != 1 || stale != 19 {
			t.Fatalf("%d succeeded, %d ErrPrecondition; want 1 and 19", ok, stale)
		}
		winner := -1
		for i, err := range errs {
			if err == nil {
				winner = i
			}
		}
		s := e.sensor("c")
		if s.Version != 2 || *s.Value != float64(winner) {
			t.Fatalf("after the race: %s, winner %d", fmtSensor(s), winner)
		}
		if n := e.count(`SELECT COUNT(*) FROM readings WHERE sensor = ?`, "c"); n != 1 {
			t.Fatalf("%d readings, want 1 (only the winner's)", n)
		}
		// Without a precondition every update lands, each once.
		errs = parallel(20, func(i int) error {
			_, err := e.S.SetValue(ctx, "c", float64(i), "C", time.Time{}, "rest", 0, false)
			return err
		})
		if ok, _ := tally(t, errs, ErrPrecondition); ok != 20 {
			t.Fatalf("%d of 20 unconditional updates succeeded", ok)
		}
		if s := e.sensor("c"); s.Version != 22 {
			t.Fatalf("version %d, want 22", s.Version)
		}
	}},

	{"ReadingsRangeAndPages", func(t *testing.T, e *env) {
		ctx := e.ctx
		t0 := time.Date(2024, 6, 1, 0, 0, 0, 0, time.UTC)
		for _, n := range []string{"r", "other"} {
			if _, err := e.S.CreateSensor(ctx, n); err != nil {
				t.Fatal(err)
			}
		}
		const n = 250
		for i := range n {
			at := t0.Add(time.Duration(i) * time.Second)
			if _, err := e.S.SetValue(ctx, "r", float64(i), "C", at, "rest", 0, false); err != nil {
				t.Fatal(err)
			}
			if i%50 == 0 { // interleave another sensor's readings
				if _, err := e.S.SetValue(ctx, "other", -1, "C", at, "rest", 0, false); err != nil {
					t.Fatal(err)
				}
			}
		}
		from, to := t0.Add(10*time.Second), t0.Add(210*time.Second)
		for _, limit := range []int{1, 7, 64, 200, 201, 1000} {
			all := e.allReadings("r", from, to, limit)
			if len(all) != 200 {
				t.Fatalf("limit %d: %d readings, want 200", limit, len(all))
			}
			for i, r := range all {
				// from is inclusive, to exclusive
				if r.Value != float64(i+10) || r.Sensor != "r" || r.Time.Before(from) || !r.Time.Before(to) {
					t.Fatalf("limit %d: reading %d = %+v", limit, i, r)
				}
				if i > 0 && r.Seq <= all[i-1].Seq {
					t.Fatalf("limit %d: seq order broken at %d", limit, i)
				}
			}
		}
		// Unbounded ends.
		if got := len(e.allReadings("r", time.Time{}, time.Time{}, 0)); got != n {
			t.Fatalf("unbounded: %d, want %d", got, n)
		}
		if got := len(e.allReadings("r", from, time.Time{}, 0)); got != n-10 {
			t.Fatalf("from only: %d, want %d", got, n-10)
		}
		if got := len(e.allReadings("r", time.Time{}, to, 0)); got != 210 {
			t.Fatalf("to only: %d, want 210", got)
		}
		if got := len(e.allReadings("r", to, from, 0)); got != 0 {
			t.Fatalf("to before from: %d readings", got)
		}
		// Limit 0 is 100; an exact last page has no next cursor.
		rs, next, err := e.S.Readings(ctx, "r", time.Time{}, time.Time{}, Page{})
		if err != nil || len(rs) != DefaultLimit || next != rs[len(rs)-1].Seq {
			t.Fatalf("default page: %d readings, next %d, %v", len(rs), next, err)
		}
		rs, next, err = e.S.Readings(ctx, "r", from, to, Page{Limit: 200})
		if err != nil || len(rs) != 200 || next != 0 {
			t.Fatalf("exact page: %d readings, next %d, %v", len(rs), next, err)
		}
		// A cursor past the end is an empty page.
		rs, next, err = e.S.Readings(ctx, "r", time.Time{}, time.Time{}, Page{After: math.MaxInt64})
		if err != nil || len(rs) != 0 || next != 0 {
			t.Fatalf("past the end: %d, %d, %v", len(rs), next, err)
		}
		if rs == nil {
			t.Fatal("empty page is nil, want []")
		}
		// Limit is capped at 1000.
		for i := range 1200 - n {
			e.exec(`INSERT INTO readings (sensor, value, unit, time, source) VALUES (?, ?, 'C', ?, 'rest')`,
				"r", float64(n+i), e.S.(*sqlStore).d.encTime(t0.Add(time.Duration(n+i)*time.Second)))
		}
		rs, next, err = e.S.Readings(ctx, "r", time.Time{}, time.Time{}, Page{Limit: 5000})
		if err != nil || len(rs) != MaxLimit || next != rs[MaxLimit-1].Seq {
			t.Fatalf("capped page: %d readings, next %d, %v", len(rs), next, err)
		}
	}},

	{"TasksCRUD", func(t *testing.T, e *env) {
		ctx := e.ctx
		if l, err := e.S.ListTasks(ctx); err != nil || l == nil || len(l) != 0 {
			t.Fatalf("empty list = %#v, %v", l, err)
		}
		a, err := e.S.CreateTask(ctx, "buy milk", "two litres")
		if err != nil {
			t.Fatal(err)
		}
		b, err := e.S.CreateTask(ctx, "write report", "")
		if err != nil {
			t.Fatal(err)
		}
		if a.ID <= 0 || b.ID <= a.ID || a.Version != 1 || !a.Created.Equal(a.Updated) {
			t.Fatalf("created %+v %+v", a, b)
		}
		utcOnly(t, a.Created, b.Created)
		if got, err := e.S.GetTask(ctx, a.ID); err != nil || got != a {
			t.Fatalf("GetTask = %+v, %v; want %+v", got, err, a)
		}
		time.Sleep(2 * time.Millisecond)
		a2, err := e.S.ReplaceTask(ctx, a.ID, "buy oat milk", "one litre", 1)
		if err != nil {
			t.Fatal(err)
		}
		if a2.ID != a.ID || a2.Summary != "buy oat milk" || a2.Description != "one litre" || a2.Version != 2 ||
			!a2.Created.Equal(a.Created) || !a2.Updated.After(a.Updated) {
			t.Fatalf("replaced %+v (was %+v)", a2, a)
		}
		utcOnly(t, a2.Created, a2.Updated)
		_, err = e.S.ReplaceTask(ctx, a.ID, "lost update", "", 1)
		is(t, err, ErrPrecondition, "ReplaceTask stale")
		is(t, e.S.DeleteTask(ctx, a.ID, 1), ErrPrecondition, "DeleteTask stale")
		if got, _ := e.S.GetTask(ctx, a.ID); got != a2 {
			t.Fatalf("after refused writes %+v, want %+v", got, a2)
		}
		a3, err := e.S.ReplaceTask(ctx, a.ID, "any version", "", 0)
		if err != nil || a3.Version != 3 {
			t.Fatalf("ReplaceTask(0) = %+v, %v", a3, err)
		}
		l, err := e.S.ListTasks(ctx)
		if err != nil || len(l) != 2 || l[0] != a3 || l[1] != b {
			t.Fatalf("ListTasks = %+v, %v", l, err)
		}
		// Concurrent replaces with one expected version: one wins.
		errs := parallel(20, func(i int) error {
			_, err := e.S.ReplaceTask(ctx, b.ID, fmt.Sprint("r", i), "", 1)
			return err
		})
		if ok, stale := tally(t, errs, ErrPrecondition); ok != 1 || stale != 19 {
			t.Fatalf("racing replaces: %d ok, %d stale", ok, stale)
		}
		if err := e.S.DeleteTask(ctx, a.ID, 3); err != nil {
			t.Fatal(err)
		}
		_, err = e.S.GetTask(ctx, a.ID)
		is(t, err, ErrNotFound, "deleted task")
		if err := e.S.DeleteTask(ctx, b.ID, 0); err != nil {
			t.Fatal(err)
		}
		// IDs are not reused.
		c, err := e.S.CreateTask(ctx, "third", "")
		if err != nil || c.ID <= b.ID {
			t.Fatalf("new task %+v after deleting %d: %v", c, b.ID, err)
		}
	}},

	{"DeleteCascadesReadings", func(t *testing.T, e *env) {
		ctx := e.ctx
		for _, n := range []string{"gone", "kept"} {
			if _, err := e.S.CreateSensor(ctx, n); err != nil {
				t.Fatal(err)
			}
			for i := range 5 {
				e.set(n, float64(i), 0)
			}
		}
		if err := e.S.DeleteSensor(ctx, "gone", 6); err != nil {
			t.Fatal(err)
		}
		if n := e.count(`SELECT COUNT(*) FROM readings WHERE sensor = ?`, "gone"); n != 0 {
			t.Fatalf("%d readings left after delete", n)
		}
		if n := e.count(`SELECT COUNT(*) FROM readings WHERE sensor = ?`, "kept"); n != 5 {
			t.Fatalf("other sensor has %d readings, want 5", n)
		}
		// Re-created, it starts with no history.
		if _, err := e.S.CreateSensor(ctx, "gone"); err != nil {
			t.Fatal(err)
		}
		if rs, _, err := e.S.Readings(ctx, "gone", time.Time{}, time.Time{}, Page{}); err != nil || len(rs) != 0 {
			t.Fatalf("re-created sensor has %d readings, %v", len(rs), err)
		}
	}},

	{"CloseAndReopenKeepsData", func(t *testing.T, e *env) {
		ctx := e.ctx
		if _, err := e.S.CreateSensor(ctx, "d"); err != nil {
			t.Fatal(err)
		}
		s := e.set("d", 36.6, 0)
		task, err := e.S.CreateTask(ctx, "persist", "me")
		if err != nil {
			t.Fatal(err)
		}
		rs, _, _ := e.S.Readings(ctx, "d", time.Time{}, time.Time{}, Page{})
		e.reopen()
		sameSensor(t, e.sensor("d"), s)
		if got, err := e.S.GetTask(ctx, task.ID); err != nil || got != task {
			t.Fatalf("task after reopen %+v, %v; want %+v", got, err, task)
		}
		rs2, _, err := e.S.Readings(ctx, "d", time.Time{}, time.Time{}, Page{})
		if err != nil || len(rs2) != 1 || rs2[0] != rs[0] {
			t.Fatalf("readings after reopen %+v, %v; want %+v", rs2, err, rs)
		}
		// Sequences continue after a reopen.
		s2 := e.set("d", 1, 2)
		if s2.Version != 3 {
			t.Fatalf("version %d", s2.Version)
		}
		rs3, _, _ := e.S.Readings(ctx, "d", time.Time{}, time.Time{}, Page{})
		if len(rs3) != 2 || rs3[1].Seq <= rs[0].Seq {
			t.Fatalf("readings %+v", rs3)
		}
	}},

	{"MigrationsIdempotent", func(t *testing.T, e *env) {
		if _, err := e.S.CreateSensor(e.ctx, "m"); err != nil {
			t.Fatal(err)
		}
		// A second store on the same database while the first is open, then
		// a reopen: no migration runs twice, nothing is lost.
		second, err := e.b.open(e.ctx, e.loc)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := second.GetSensor(e.ctx, "m"); err != nil {
			t.Fatal(err)
		}
		second.Close()
		e.reopen()
		if got := e.count(`SELECT COUNT(*) FROM schema_migrations`); got != len(migrations) {
			t.Fatalf("%d rows in schema_migrations, want %d", got, len(migrations))
		}
		for i, m := range migrations {
			if m.Version != int64(i+1) {
				t.Fatalf("migration %d has version %d: versions must be 1, 2, 3 …", i, m.Version)
			}
			if got := e.count(`SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, m.Version); got != 1 {
				t.Fatalf("migration %d recorded %d times", m.Version, got)
			}
		}
		if _, err := e.S.GetSensor(e.ctx, "m"); err != nil {
			t.Fatal(err)
		}
	}},

	{"NewerSchemaRefused", func(t *testing.T, e *env) {
		if _, err := e.S.CreateSensor(e.ctx, "kept"); err != nil {
			t.Fatal(err)
		}
		future := SchemaVersion() + 1
		e.exec(`INSERT INTO schema_migrations (version, description, applied) VALUES (?, 'from the future', ?)`,
			future, e.S.(*sqlStore).d.encTime(utc(time.Now())))
		e.S.Close()
		e.S = nil
		s, err := e.b.open(e.ctx, e.loc)
		if err == nil {
			s.Close()
			t.Fatal("a database with a newer schema was opened")
		}
		is(t, err, ErrSchemaTooNew, "open newer schema")
		if msg := err.Error(); !strings.Contains(msg, fmt.Sprintf("schema version %d", future)) ||
			!strings.Contains(msg, fmt.Sprintf("knows up to %d", SchemaVersion())) {
			t.Fatalf("message does not say which versions: %q", msg)
		}
		// The refusal changed nothing: remove the future row and it opens.
		e.rawExec(t, `DELETE FROM schema_migrations WHERE version = ?`, future)
		e.S = e.open()
		if _, err := e.S.GetSensor(e.ctx, "kept"); err != nil {
			t.Fatal(err)
		}
	}},
}

// rawExec runs SQL on the database without going through Open (which
// refuses a database with a newer schema).
func (e *env) rawExec(t *testing.T, q string, args ...any) {
	t.Helper()
	var db *sql.DB
	var err error
	d := sqliteDialect
	if e.b.kind == "sqlite" {
		db, err = sql.Open("sqlite", filepath.Join(e.loc, SQLiteFile))
	} else {
		db, err = sql.Open("pgx", e.loc)
		d = postgresDialect
	}
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.ExecContext(e.ctx, d.rebind(q), args...); err != nil {
		t.Fatalf("%s: %v", q, err)
	}
}

func TestContract(t *testing.T) {
	backends := []struct {
		kind string
		make func(t *testing.T) backend
	}{
		{"sqlite", func(*testing.T) backend { return sqliteBackend() }},
		{"postgres", func(t *testing.T) backend { return postgresBackend(t) }},
	}
	for _, bk := range backends {
		t.Run(bk.kind, func(t *testing.T) {
			b := bk.make(t)
			for _, c := range contract {
				t.Run(c.name, func(t *testing.T) {
					c.run(t, newEnv(t, b))
				})
			}
		})
	}
}

// TestSQLiteSettings checks what OpenSQLite promises about the file.
func TestSQLiteSettings(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "made", "by", "open")
	st, err := OpenSQLite(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if _, err := os.Stat(filepath.Join(dir, "wirecheck-rest.db")); err != nil {
		t.Fatal(err)
	}
	s := st.(*sqlStore)
	ctx := t.Context()
	for _, c := range []struct {
		pool         string
		pragma, want string
	}{
		{"w", "journal_mode", "wal"},
		{"w", "synchronous", "2"}, // FULL
		{"w", "foreign_keys", "1"},
		{"w", "busy_timeout", "10000"},
		{"r", "foreign_keys", "1"},
		{"r", "busy_timeout", "10000"},
		{"r", "query_only", "1"},
		{"r", "journal_mode", "wal"},
	} {
		db := s.w
		if c.pool == "r" {
			db = s.r
		}
		var got string
		if err := db.QueryRowContext(ctx, "PRAGMA "+c.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if !strings.EqualFold(got, c.want) {
			t.Errorf("%s pool: PRAGMA %s = %s, want %s", c.pool, c.pragma, got, c.want)
		}
	}
	if n := s.w.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("write pool allows %d connections, want 1", n)
	}
	// The read pool cannot write.
	if _, err := s.r.ExecContext(ctx, `DELETE FROM sensors`); err == nil {
		t.Error("read pool accepted a write")
	}
}

func TestRebind(t *testing.T) {
	for in, want := range map[string]string{
		"SELECT 1":        "SELECT 1",
		"a = ? AND b = ?": "a = $1 AND b = $2",
		"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)": "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
	} {
		if got := postgresDialect.rebind(in); got != want {
			t.Errorf("rebind(%q) = %q, want %q", in, got, want)
		}
		if got := sqliteDialect.rebind(in); got != in {
			t.Errorf("sqlite rebind changed %q", in)
		}
	}
}
