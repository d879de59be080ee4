package bridge

import (
	"context"
	"crypto/sha512"
	"encoding/base64"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/wirecheck/wirecheck/reference/mqtt"
	"github.com/wirecheck/wirecheck/reference/mqtt/auth"
	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// waitTimeout bounds every wait in these tests; none sleeps for a fixed time.
const waitTimeout = 15 * time.Second

// startBroker runs the reference broker in-process on a random loopback port
// and returns its tcp:// URL.
func startBroker(t *testing.T, opts mqtt.Options) string {
	t.Helper()
	_, url := startBrokerAt(t, "127.0.0.1:0", opts)
	return url
}

func startBrokerAt(t *testing.T, addr string, opts mqtt.Options) (*mqtt.Server, string) {
	t.Helper()
	opts.Listen = []string{addr}
	opts.SysInterval = -1
	if opts.Passwords == nil {
		opts.AllowAnonymous = true
	}
	srv, err := mqtt.New(opts)
	if err != nil {
		t.Fatalf("new broker: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatalf("start broker: %v", err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv, "tcp://" + srv.Addrs()[0].String()
}

func openStore(t *testing.T) store.Store {
	t.Helper()
	st, err := store.OpenSQLite(t.TempDir())
	if err != nil {
		t.Fatalf("open SQLite store: %v", err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func startBridge(t *testing.T, brokerURL string, st store.Store) *Bridge {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	b, err := Start(ctx, brokerURL, st, testLogger(t))
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// publisher is a device: a clean-session paho client.
func publisher(t *testing.T, brokerURL string) paho.Client {
	t.Helper()
	opts := paho.NewClientOptions().AddBroker(brokerURL).
		SetClientID(fmt.Sprintf("device-%s", strings.ReplaceAll(t.Name(), "/", "-"))).
		SetProtocolVersion(4).SetAutoReconnect(false)
	c := paho.NewClient(opts)
	tok := c.Connect()
	if !tok.WaitTimeout(waitTimeout) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return c
}

// publish sends one message and waits for the broker's PUBACK (QoS 1), so
// that the message is the broker's responsibility when it returns.
func publish(t *testing.T, c paho.Client, topic string, retained bool, payload string) {
	t.Helper()
	tok := c.Publish(topic, 1, retained, payload)
	if !tok.WaitTimeout(waitTimeout) {
		t.Fatalf("publish %s: no PUBACK within %v", topic, waitTimeout)
	}
	if err := tok.Error(); err != nil {
		t.Fatalf("publish %s: %v", topic, err)
	}
}

// waitUntil polls cond until it holds, failing the test at the deadline.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting for %s after %v", what, waitTimeout)
		}
		<-tick.C
	}
}

// waitStats waits until the bridge's counters satisfy cond.
func waitStats(t *testing.T, b *Bridge, what string, cond func(Stats) bool) Stats {
	t.Helper()
	var s Stats
	defer func() {
		if t.Failed() {
			t.Logf("bridge stats: %+v", s)
		}
	}()
	waitUntil(t, what, func() bool { s = b.Stats(); return cond(s) })
	return s
}

func readings(t *testing.T, st store.Store, name string) []store.Reading {
	t.Helper()
	rs, _, err := st.Readings(context.Background(), name, time.Time{}, time.Time{}, store.Page{Limit: 1000})
	if err != nil {
		t.Fatalf("readings of %s: %v", name, err)
	}
	return rs
}

func TestBridgeStoresAndRejects(t *testing.T) {
	url := startBroker(t, mqtt.Options{})
	st := openStore(t)
	b := startBridge(t, url+"?client_id=bridge-store", st)
	dev := publisher(t, url)

	// Clock times two hours back are unambiguous whenever the test runs:
	// that time today if it is still today, else yesterday's — either way
	// exactly two hours ago.
	past := time.Now().UTC().Add(-2 * time.Hour).Truncate(time.Second)
	clock := past.Format(time.TimeOnly)
	rfc := time.Date(2024, 5, 6, 20, 0, 0, 123456000, time.UTC)

	type want struct {
		value float64
		unit  string
		time  time.Time // zero: receive time
	}
	good := []struct {
		sensor, payload string
		want            want
	}{
		{"seed", `{"Sensor": 1, "C_F": "C", "Value": 86, "Time": "` + clock + `"}`, want{86, "C", past}},
		{"seed-printout", `{"Time": "` + clock + `", "Sensor": 1, "Value": 90, "C_F": "F"}`, want{90, "F", past}},
		{"lower", `{"sensor": "lower", "unit": "C", "value": 21.25, "time": "` + rfc.Format(time.RFC3339Nano) + `"}`, want{21.25, "C", rfc}},
		{"rfc-offset", `{"value": -4, "unit": "F", "time": "2024-05-06T22:00:00.123456+02:00"}`, want{-4, "F", rfc}},
		{"string-value", `{"value": "19.5", "unit": "C"}`, want{19.5, "C", time.Time{}}},
		{"bare", `23.75`, want{23.75, "", time.Time{}}},
		{"bare-int", "7\n", want{7, "", time.Time{}}},
		{"Dotted.name_1-x", `{"Value": 3}`, want{3, "", time.Time{}}},
	}
	bad := []struct{ topic, payload string }{
		{"sensors/badjson/value", `{"Value": 86, "C_F": "C"`},
		{"sensors/bad name/value", `{"Value": 86}`}, // spaces are legal in topics, not in names
		{"sensors/" + strings.Repeat("n", 65) + "/value", `{"Value": 86}`},
		{"sensors/nan/value", `{"Value": NaN}`},
		{"sensors/nanstring/value", `{"value": "NaN"}`},
		{"sensors/kelvin/value", `{"value": 300, "unit": "K"}`},
		{"sensors/novalue/value", `{"Sensor": 1, "C_F": "C"}`},
		{"sensors/empty/value", ``},
		{"sensors/word/value", `hot`},
	}

	before := time.Now()
	for _, g := range good {
		publish(t, dev, "sensors/"+g.sensor+"/value", false, g.payload)
	}
	for _, x := range bad {
		publish(t, dev, x.topic, false, x.payload)
	}
	s := waitStats(t, b, "every message handled", func(s Stats) bool {
		return s.Stored+s.Rejected >= uint64(len(good)+len(bad))
	})
	after := time.Now()
	if want := (Stats{Received: uint64(len(good) + len(bad)), Stored: uint64(len(good)), Rejected: uint64(len(bad))}); s != want {
		t.Errorf("stats = %+v, want %+v", s, want)
	}

	for _, g := range good {
		rs := readings(t, st, g.sensor)
		if len(rs) != 1 {
			t.Errorf("%s: %d readings, want 1: %+v", g.sensor, len(rs), rs)
			continue
		}
		r := rs[0]
		if r.Value != g.want.value || r.Unit != g.want.unit || r.Source != "mqtt" {
			t.Errorf("%s: reading %+v; want value %v unit %q source mqtt", g.sensor, r, g.want.value, g.want.unit)
		}
		if g.want.time.IsZero() {
			// Receive time: the store keeps microseconds.
			if r.Time.Before(before.Truncate(time.Microsecond)) || r.Time.After(after) {
				t.Errorf("%s: time %v not within the receive window [%v, %v]", g.sensor, r.Time, before, after)
			}
		} else if !r.Time.Equal(g.want.time) {
			t.Errorf("%s: time %v, want %v", g.sensor, r.Time, g.want.time)
		}
		sen, err := st.GetSensor(context.Background(), g.sensor)
		if err != nil || sen.Value == nil || *sen.Value != g.want.value {
			t.Errorf("%s: sensor %+v, %v; want its value %v", g.sensor, sen, err, g.want.value)
		}
	}
	all, err := st.ListSensors(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != len(good) {
		var names []string
		for _, s := range all {
			names = append(names, s.Name)
		}
		t.Errorf("sensors %q: a rejected reading created a sensor", names)
	}
}

// A sensor's readings keep the order they were published in.
func TestBridgeKeepsOrder(t *testing.T) {
	url := startBroker(t, mqtt.Options{})
	st := openStore(t)
	b := startBridge(t, url+"?client_id=bridge-order", st)
	dev := publisher(t, url)
	const n = 50
	for i := range n {
		publish(t, dev, "sensors/ordered/value", false, fmt.Sprintf(`{"value": %d, "unit": "C"}`, i))
	}
	waitStats(t, b, fmt.Sprintf("%d readings stored", n), func(s Stats) bool { return s.Stored >= n })
	rs := readings(t, st, "ordered")
	if len(rs) != n {
		t.Fatalf("%d readings, want %d", len(rs), n)
	}
	for i, r := range rs {
		if r.Value != float64(i) {
			t.Fatalf("reading %d has value %v: out of order", i, r.Value)
		}
	}
}

// The bridge's session outlives it: a QoS 1 reading published while it is
// down is stored when it starts again, and the retained copy the broker
// replays on resubscription is not stored a second time.
func TestBridgePersistentSession(t *testing.T) {
	url := startBroker(t, mqtt.Options{})
	st := openStore(t)
	bURL := url + "?client_id=bridge-persist"
	dev := publisher(t, url)

	b1 := startBridge(t, bURL, st)
	publish(t, dev, "sensors/retained/value", true, `{"value": 1, "unit": "C"}`)
	waitStats(t, b1, "the retained reading stored", func(s Stats) bool { return s.Stored == 1 })
	if err := b1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := b1.Close(); err != nil { // idempotent
		t.Fatal(err)
	}

	at := time.Date(2024, 5, 6, 22, 31, 11, 0, time.UTC)
	publish(t, dev, "sensors/offline/value", false, `{"Sensor": 1, "C_F": "F", "Value": 42, "Time": "`+at.Format(time.RFC3339)+`"}`)
	if _, _, err := st.Readings(context.Background(), "offline", time.Time{}, time.Time{}, store.Page{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("offline sensor exists before the bridge is back: %v", err)
	}

	b2 := startBridge(t, bURL, st)
	s := waitStats(t, b2, "the queued reading stored and the retained replay skipped", func(s Stats) bool {
		return s.Stored >= 1 && s.Skipped >= 1
	})
	if s.Stored != 1 || s.Skipped != 1 || s.Rejected != 0 || s.Failed != 0 {
		t.Errorf("stats after restart = %+v", s)
	}
	rs := readings(t, st, "offline")
	if len(rs) != 1 || rs[0].Value != 42 || rs[0].Unit != "F" || !rs[0].Time.Equal(at) {
		t.Errorf("offline readings = %+v", rs)
	}
	if rs := readings(t, st, "retained"); len(rs) != 1 {
		t.Errorf("retained sensor has %d readings, want 1 (the replay is not a new reading): %+v", len(rs), rs)
	}
}

// When the connection drops the bridge reconnects and subscribes again: here
// the broker is replaced by a fresh one on the same address, which has no
// session for the bridge, so nothing arrives unless the bridge resubscribes.
func TestBridgeReconnectsAndResubscribes(t *testing.T) {
	srv, url := startBrokerAt(t, "127.0.0.1:0", mqtt.Options{})
	addr := srv.Addrs()[0].String()
	st := openStore(t)
	b := startBridge(t, url+"?client_id=bridge-reconnect", st)

	if err := srv.Close(); err != nil {
		t.Fatal(err)
	}
	waitUntil(t, "the bridge to see the broker go", func() bool { return !b.Connected() })
	startBrokerAt(t, addr, mqtt.Options{})
	waitUntil(t, "the bridge to reconnect", b.Connected)
	// Connected precedes the SUBSCRIBE: publish until a reading lands.
	dev := publisher(t, url)
	waitUntil(t, "a reading stored after reconnecting", func() bool {
		if b.Stats().Stored > 0 {
			return true
		}
		publish(t, dev, "sensors/after-reconnect/value", false, `{"value": 12.5, "unit": "C"}`)
		return false
	})
	if rs := readings(t, st, "after-reconnect"); len(rs) == 0 || rs[0].Value != 12.5 {
		t.Errorf("readings = %+v", rs)
	}
}

// flakyStore fails SetValue while fail is set.
type flakyStore struct {
	store.Store
	fail  atomic.Bool
	calls atomic.Int64
}

var errInjected = errors.New("injected store failure")

func (f *flakyStore) SetValue(ctx context.Context, name string, value float64, unit string, at time.Time, source string, ifVersion int64, create bool) (store.Sensor, error) {
	f.calls.Add(1)
	if f.fail.Load() {
		return store.Sensor{}, errInjected
	}
	return f.Store.SetValue(ctx, name, value, unit, at, source, ifVersion, create)
}

// A reading the store fails to write is not acknowledged, so the broker
// delivers it again to the next session and it is stored then.
func TestBridgeStoreFailureRedelivered(t *testing.T) {
	url := startBroker(t, mqtt.Options{})
	flaky := &flakyStore{Store: openStore(t)}
	flaky.fail.Store(true)
	bURL := url + "?client_id=bridge-flaky"
	dev := publisher(t, url)

	b1 := startBridge(t, bURL, flaky)
	at := time.Date(2024, 5, 6, 22, 31, 16, 0, time.UTC)
	publish(t, dev, "sensors/flaky/value", false, `{"value": 90, "unit": "C", "time": "`+at.Format(time.RFC3339)+`"}`)
	waitStats(t, b1, "the store failure", func(s Stats) bool { return s.Failed == 1 })
	if got := flaky.calls.Load(); got != storeAttempts {
		t.Errorf("SetValue called %d times, want %d attempts", got, storeAttempts)
	}
	b1.Close()

	flaky.fail.Store(false)
	b2 := startBridge(t, bURL, flaky)
	s := waitStats(t, b2, "the redelivered reading stored", func(s Stats) bool { return s.Stored == 1 })
	if s.Failed != 0 || s.Skipped != 0 {
		t.Errorf("stats after restart = %+v", s)
	}
	rs := readings(t, flaky, "flaky")
	if len(rs) != 1 || rs[0].Value != 90 || !rs[0].Time.Equal(at) {
		t.Errorf("readings = %+v, want the one reading at %v", rs, at)
	}
}

func TestBridgeCredentials(t *testing.T) {
	url := startBroker(t, mqtt.Options{Passwords: passwords(t, "bridge", "s3cret")})
	st := openStore(t)
	host := strings.TrimPrefix(url, "tcp://")

	b := startBridge(t, "tcp://bridge:s3cret@"+host+"?client_id=bridge-auth", st)
	if !b.Connected() {
		t.Error("Connected() = false after Start")
	}

	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err := Start(ctx, "tcp://bridge:wrong-pw@"+host+"?client_id=bridge-auth-2", st, testLogger(t))
	if err == nil {
		t.Fatal("Start with a wrong password succeeded")
	}
	if !strings.Contains(err.Error(), host) || strings.Contains(err.Error(), "wrong-pw") {
		t.Errorf("error %q should name %s without the password", err, host)
	}
	t.Logf("Start: %v", err)
}

// passwords builds a one-user Mosquitto password file ($6$: SHA-512 of
// password || salt).
func passwords(t *testing.T, user, password string) *auth.Passwords {
	t.Helper()
	salt := []byte("0123456789ab")
	sum := sha512.Sum512(append([]byte(password), salt...))
	line := fmt.Sprintf("%s:$6$%s$%s\n", user, base64.StdEncoding.EncodeToString(salt), base64.StdEncoding.EncodeToString(sum[:]))
	p, err := auth.ParsePasswords(strings.NewReader(line), "passwd")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBridgeSubscriptionRefused(t *testing.T) {
	acl, err := auth.ParseACL(strings.NewReader("topic read other/#\n"), "acl")
	if err != nil {
		t.Fatal(err)
	}
	url := startBroker(t, mqtt.Options{ACL: acl})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err = Start(ctx, url+"?client_id=bridge-acl", openStore(t), testLogger(t))
	if err == nil || !strings.Contains(err.Error(), "refused the subscription") {
		t.Fatalf("Start = %v; want the refused subscription reported", err)
	}
	t.Logf("Start: %v", err)
}

func TestStartFails(t *testing.T) {
	st := openStore(t)

	// Nothing listens on a port just closed.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := ln.Addr().String()
	ln.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	_, err = Start(ctx, "tcp://u:secret@"+closed, st, testLogger(t))
	if err == nil {
		t.Fatal("Start against a closed port succeeded")
	}
	if !strings.Contains(err.Error(), closed) || strings.Contains(err.Error(), "secret") {
		t.Errorf("error %q should name %s without the password", err, closed)
	}
	t.Logf("Start: %v", err)

	// A listener that accepts and never answers: ctx ends the wait.
	mute, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer mute.Close()
	go func() {
		for {
			c, err := mute.Accept()
			if err != nil {
				return
			}
			defer c.Close() // when mute is closed
		}
	}()
	short, cancel2 := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel2()
	start := time.Now()
	_, err = Start(short, "tcp://"+mute.Addr().String(), st, testLogger(t))
	if err == nil {
		t.Fatal("Start against a mute listener succeeded")
	}
	if el := time.Since(start); el > 5*time.Second {
		t.Errorf("Start took %v with a 300ms context", el)
	}
	if !strings.Contains(err.Error(), mute.Addr().String()) || !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("error %q should name the broker and wrap the context's error", err)
	}
	t.Logf("Start: %v", err)

	if _, err := Start(ctx, "http://127.0.0.1:1", st, nil); err == nil {
		t.Error("Start with an http:// URL succeeded")
	}
	if _, err := Start(ctx, "tcp://127.0.0.1:1", nil, nil); err == nil {
		t.Error("Start with a nil store succeeded")
	}
}

// fakeMessage is a paho.Message for driving the handler directly.
type fakeMessage struct {
	topic     string
	payload   string
	dup, kept bool
	acked     atomic.Int32
}

func (m *fakeMessage) Duplicate() bool   { return m.dup }
func (m *fakeMessage) Qos() byte         { return 1 }
func (m *fakeMessage) Retained() bool    { return m.kept }
func (m *fakeMessage) Topic() string     { return m.topic }
func (m *fakeMessage) MessageID() uint16 { return 1 }
func (m *fakeMessage) Payload() []byte   { return []byte(m.payload) }
func (m *fakeMessage) Ack()              { m.acked.Add(1) }

// The handler's outcome for each kind of message, and when it acknowledges.
func TestHandle(t *testing.T) {
	flaky := &flakyStore{Store: openStore(t)}
	b := newBridge(flaky, testLogger(t))
	defer b.cancel()
	timed := `{"value": 5, "unit": "C", "time": "2024-05-06T22:31:11Z"}`

	steps := []struct {
		name  string
		msg   *fakeMessage
		fail  bool
		acked bool
		delta Stats
		count int // readings of sensor "h" afterwards
	}{
		{"first delivery", &fakeMessage{topic: "sensors/h/value", payload: timed}, false, true, Stats{Stored: 1}, 1},
		{"redelivery of a stored reading", &fakeMessage{topic: "sensors/h/value", payload: timed, dup: true}, false, true, Stats{Skipped: 1}, 1},
		{"same reading again, not a redelivery", &fakeMessage{topic: "sensors/h/value", payload: timed}, false, true, Stats{Stored: 1}, 2},
		{"redelivery of a new reading", &fakeMessage{topic: "sensors/h/value", payload: `{"value": 6, "unit": "C", "time": "2024-05-06T22:31:11Z"}`, dup: true}, false, true, Stats{Stored: 1}, 3},
		{"redelivery without time", &fakeMessage{topic: "sensors/h/value", payload: `6`, dup: true}, false, true, Stats{Stored: 1}, 4},
		{"retained replay", &fakeMessage{topic: "sensors/h/value", payload: `7`, kept: true}, false, true, Stats{Skipped: 1}, 4},
		{"bad payload", &fakeMessage{topic: "sensors/h/value", payload: `{`}, false, true, Stats{Rejected: 1}, 4},
		{"bad topic", &fakeMessage{topic: "sensors/h/other", payload: `7`}, false, true, Stats{Rejected: 1}, 4},
		{"store failure", &fakeMessage{topic: "sensors/h/value", payload: `8`}, true, false, Stats{Failed: 1}, 4},
	}
	for _, s := range steps {
		flaky.fail.Store(s.fail)
		before := b.Stats()
		b.handle(nil, s.msg)
		after := b.Stats()
		delta := Stats{
			Stored:   after.Stored - before.Stored,
			Rejected: after.Rejected - before.Rejected,
			Skipped:  after.Skipped - before.Skipped,
			Failed:   after.Failed - before.Failed,
		}
		if after.Received != before.Received+1 || delta != s.delta {
			t.Errorf("%s: stats %+v -> %+v; want the change %+v", s.name, before, after, s.delta)
		}
		if acked := s.msg.acked.Load() == 1; acked != s.acked {
			t.Errorf("%s: acknowledged = %v, want %v", s.name, acked, s.acked)
		}
		if n := len(readings(t, flaky, "h")); n != s.count {
			t.Errorf("%s: %d readings, want %d", s.name, n, s.count)
		}
	}

	// Closing: a message is neither handled nor acknowledged.
	b.closing.Store(true)
	b.cancel()
	m := &fakeMessage{topic: "sensors/h/value", payload: `9`}
	b.handle(nil, m)
	if m.acked.Load() != 0 || b.Stats().Stored != 4 {
		t.Errorf("after close: acked %d, stats %+v", m.acked.Load(), b.Stats())
	}
}

// testLogger sends the bridge's log to t.Log until the test's cleanups run
// (paho goroutines may outlive a failed Start by a moment).
func testLogger(t *testing.T) *slog.Logger {
	w := &tWriter{t: t}
	t.Cleanup(func() {
		w.mu.Lock()
		w.done = true
		w.mu.Unlock()
	})
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct {
	t    *testing.T
	mu   sync.Mutex
	done bool
}

func (w *tWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}
