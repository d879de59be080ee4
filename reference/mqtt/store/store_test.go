package store

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// normalize makes nil and empty equivalent so snapshots compare by content.
func normalize(s *Snapshot) *Snapshot {
	if s == nil {
		return nil
	}
	n := &Snapshot{}
	for _, m := range s.Retained {
		n.Retained = append(n.Retained, normMsg(m))
	}
	for _, st := range s.Sessions {
		ns := SessionState{Session: SessionRecord{ClientID: st.Session.ClientID, Subscriptions: map[string]byte{}}}
		for f, q := range st.Session.Subscriptions {
			ns.Session.Subscriptions[f] = q
		}
		for _, r := range st.Out {
			r.Msg = normMsg(r.Msg)
			ns.Out = append(ns.Out, r)
		}
		ns.Inbound = append(ns.Inbound, st.Inbound...)
		n.Sessions = append(n.Sessions, ns)
	}
	return n
}

func normMsg(m Message) Message {
	if len(m.Payload) == 0 {
		m.Payload = nil
	}
	return m
}

func mustOpen(t testing.TB, dir string) Store {
	t.Helper()
	s, err := Open(dir)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	return s
}

func mustLoad(t testing.TB, s Store) *Snapshot {
	t.Helper()
	snap, err := s.Load()
	if err != nil {
		t.Fatalf("Load: %v", err)
	}
	return normalize(snap)
}

// reopen closes s and loads the directory afresh, proving durability across Close.
func reopen(t testing.TB, s Store, dir string) *Snapshot {
	t.Helper()
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	s2 := mustOpen(t, dir)
	defer s2.Close()
	return mustLoad(t, s2)
}

func diff(got, want *Snapshot) string {
	if reflect.DeepEqual(got, want) {
		return ""
	}
	return fmt.Sprintf("got  %+v\nwant %+v", got, want)
}

func batch(f func(b *Batch)) *Batch {
	var b Batch
	f(&b)
	return &b
}

func sess(id string, subs ...any) SessionRecord {
	r := SessionRecord{ClientID: id, Subscriptions: map[string]byte{}}
	for i := 0; i+1 < len(subs); i += 2 {
		r.Subscriptions[subs[i].(string)] = byte(subs[i+1].(int))
	}
	return r
}

func out(seq uint64, topic string, qos byte, pid uint16, pubrel bool) OutRecord {
	return OutRecord{Seq: seq, Msg: Message{Topic: topic, Payload: []byte(fmt.Sprint("m", seq)), QoS: qos}, PacketID: pid, Pubrel: pubrel}
}

func state(s SessionRecord, o []OutRecord, in ...uint16) SessionState {
	if len(in) == 0 {
		in = nil
	}
	return SessionState{Session: s, Out: o, Inbound: in}
}

func TestRoundTrip(t *testing.T) {
	longTopic := "t/" + strings.Repeat("x", bolt.MaxKeySize+10)
	longClient := strings.Repeat("c", maxRawName+1)
	rawTopic, rawClient := strings.Repeat("r", maxRawName), strings.Repeat("d", maxRawName)
	retained := Message{Topic: "a/b", Payload: []byte{0, 1, 2, 0xff}, QoS: 1, Retain: true}
	tests := []struct {
		name    string
		batches []*Batch // each applied with its own Apply
		want    *Snapshot
	}{
		{"empty", nil, &Snapshot{}},
		{
			"put retained",
			[]*Batch{batch(func(b *Batch) { b.PutRetained(retained) })},
			&Snapshot{Retained: []Message{retained}},
		},
		{
			"retained empty payload and QoS 2",
			[]*Batch{batch(func(b *Batch) { b.PutRetained(Message{Topic: "z", Payload: []byte{}, QoS: 2}) })},
			&Snapshot{Retained: []Message{{Topic: "z", QoS: 2}}},
		},
		{
			"retained replaced and sorted by topic",
			[]*Batch{
				batch(func(b *Batch) {
					b.PutRetained(Message{Topic: "b", Payload: []byte("old")})
					b.PutRetained(Message{Topic: "a", Payload: []byte("1")})
				}),
				batch(func(b *Batch) { b.PutRetained(Message{Topic: "b", Payload: []byte("new")}) }),
			},
			&Snapshot{Retained: []Message{{Topic: "a", Payload: []byte("1")}, {Topic: "b", Payload: []byte("new")}}},
		},
		{
			"delete retained",
			[]*Batch{
				batch(func(b *Batch) { b.PutRetained(retained); b.PutRetained(Message{Topic: "keep"}) }),
				batch(func(b *Batch) { b.DeleteRetained("a/b"); b.DeleteRetained("never/existed") }),
			},
			&Snapshot{Retained: []Message{{Topic: "keep"}}},
		},
		{
			"long topic and client ID use hashed keys",
			[]*Batch{batch(func(b *Batch) {
				b.PutRetained(Message{Topic: longTopic, Payload: []byte("p")})
				b.PutSession(sess(longClient, "#", 1))
				b.PutOut(longClient, out(1, longTopic, 1, 0, false))
			})},
			&Snapshot{
				Retained: []Message{{Topic: longTopic, Payload: []byte("p")}},
				Sessions: []SessionState{state(sess(longClient, "#", 1), []OutRecord{out(1, longTopic, 1, 0, false)})},
			},
		},
		{
			"names at the raw key limit",
			[]*Batch{batch(func(b *Batch) {
				b.PutRetained(Message{Topic: rawTopic})
				b.PutSession(sess(rawClient))
				b.PutInbound(rawClient, 3)
			})},
			&Snapshot{Retained: []Message{{Topic: rawTopic}}, Sessions: []SessionState{state(sess(rawClient), nil, 3)}},
		},
		{
			"client IDs that are prefixes of each other",
			[]*Batch{
				batch(func(b *Batch) {
					for _, id := range []string{"c", "c1", "c10"} {
						b.PutSession(sess(id))
						b.PutOut(id, out(1, id, 1, 0, false))
						b.PutInbound(id, 1)
					}
				}),
				batch(func(b *Batch) { b.DeleteSession("c1") }),
			},
			&Snapshot{Sessions: []SessionState{
				state(sess("c"), []OutRecord{out(1, "c", 1, 0, false)}, 1),
				state(sess("c10"), []OutRecord{out(1, "c10", 1, 0, false)}, 1),
			}},
		},
		{
			"put session",
			[]*Batch{batch(func(b *Batch) { b.PutSession(sess("c1", "a/+", 1, "#", 0, "x/y", 2)) })},
			&Snapshot{Sessions: []SessionState{state(sess("c1", "a/+", 1, "#", 0, "x/y", 2), nil)}},
		},
		{
			"session with no subscriptions",
			[]*Batch{batch(func(b *Batch) { b.PutSession(SessionRecord{ClientID: "c1"}) })},
			&Snapshot{Sessions: []SessionState{state(sess("c1"), nil)}},
		},
		{
			"put session replaces subscriptions whole, keeps messages",
			[]*Batch{
				batch(func(b *Batch) {
					b.PutSession(sess("c1", "a", 1, "b", 2))
					b.PutOut("c1", out(1, "a", 1, 0, false))
					b.PutInbound("c1", 7)
				}),
				batch(func(b *Batch) { b.PutSession(sess("c1", "c", 0)) }),
			},
			&Snapshot{Sessions: []SessionState{state(sess("c1", "c", 0), []OutRecord{out(1, "a", 1, 0, false)}, 7)}},
		},
		{
			"sessions sorted by client ID",
			[]*Batch{batch(func(b *Batch) { b.PutSession(sess("zed")); b.PutSession(sess("Abe")); b.PutSession(sess("mid")) })},
			&Snapshot{Sessions: []SessionState{state(sess("Abe"), nil), state(sess("mid"), nil), state(sess("zed"), nil)}},
		},
		{
			"delete session removes out and inbound",
			[]*Batch{
				batch(func(b *Batch) {
					b.PutSession(sess("c1", "a", 1))
					b.PutOut("c1", out(1, "a", 1, 0, false))
					b.PutOut("c1", out(2, "a", 2, 9, true))
					b.PutInbound("c1", 3)
					b.PutSession(sess("c2"))
					b.PutInbound("c2", 4)
				}),
				batch(func(b *Batch) { b.DeleteSession("c1"); b.DeleteSession("nobody") }),
			},
			&Snapshot{Sessions: []SessionState{state(sess("c2"), nil, 4)}},
		},
		{
			"delete session spanning many pages keeps neighbours",
			[]*Batch{
				batch(func(b *Batch) {
					for _, id := range []string{"b", "c1", "c2"} {
						b.PutSession(sess(id))
						b.PutOut(id, out(7, "t", 1, 0, false))
						b.PutInbound(id, 7)
					}
					for seq := range uint64(2000) {
						b.PutOut("c1", out(seq+100, "t", 1, 0, false))
					}
					for id := range uint16(1000) {
						b.PutInbound("c1", id+100)
					}
				}),
				batch(func(b *Batch) { b.DeleteSession("c1") }),
			},
			&Snapshot{Sessions: []SessionState{
				state(sess("b"), []OutRecord{out(7, "t", 1, 0, false)}, 7),
				state(sess("c2"), []OutRecord{out(7, "t", 1, 0, false)}, 7),
			}},
		},
		{
			"deleted session recreated starts empty",
			[]*Batch{
				batch(func(b *Batch) {
					b.PutSession(sess("c1"))
					b.PutOut("c1", out(1, "a", 1, 0, false))
					b.PutInbound("c1", 1)
				}),
				batch(func(b *Batch) { b.DeleteSession("c1"); b.PutSession(sess("c1", "n", 2)) }),
			},
			&Snapshot{Sessions: []SessionState{state(sess("c1", "n", 2), nil)}},
		},
		{
			"out states: queued, sent, PUBREL sent",
			[]*Batch{batch(func(b *Batch) {
				b.PutSession(sess("c1"))
				b.PutOut("c1", out(1, "q", 1, 0, false))
				b.PutOut("c1", out(2, "s", 1, 10, false))
				b.PutOut("c1", out(3, "r", 2, 11, true))
				b.PutOut("c1", OutRecord{Seq: 4, Msg: Message{Topic: "zero", QoS: 0, Retain: true}})
			})},
			&Snapshot{Sessions: []SessionState{state(sess("c1"), []OutRecord{
				out(1, "q", 1, 0, false), out(2, "s", 1, 10, false), out(3, "r", 2, 11, true),
				{Seq: 4, Msg: Message{Topic: "zero", Retain: true}},
			})}},
		},
		{
			"out ordered by seq, not by insertion or byte order of decimal",
			[]*Batch{
				batch(func(b *Batch) {
					b.PutSession(sess("c1"))
					for _, s := range []uint64{300, 1, 1 << 40, 256, 2} {
						b.PutOut("c1", out(s, "t", 1, 0, false))
					}
				}),
			},
			&Snapshot{Sessions: []SessionState{state(sess("c1"), []OutRecord{
				out(1, "t", 1, 0, false), out(2, "t", 1, 0, false), out(256, "t", 1, 0, false),
				out(300, "t", 1, 0, false), out(1<<40, "t", 1, 0, false),
			})}},
		},
		{
			"put out replaces by seq (queued → sent → PUBREL)",
			[]*Batch{
				batch(func(b *Batch) { b.PutSession(sess("c1")); b.PutOut("c1", out(5, "t", 2, 0, false)) }),
				batch(func(b *Batch) { b.PutOut("c1", out(5, "t", 2, 42, false)) }),
				batch(func(b *Batch) { b.PutOut("c1", out(5, "t", 2, 42, true)) }),
			},
			&Snapshot{Sessions: []SessionState{state(sess("c1"), []OutRecord{out(5, "t", 2, 42, true)})}},
		},
		{
			"delete out",
			[]*Batch{
				batch(func(b *Batch) {
					b.PutSession(sess("c1"))
					b.PutOut("c1", out(1, "t", 1, 1, false))
					b.PutOut("c1", out(2, "t", 1, 2, false))
				}),
				batch(func(b *Batch) { b.DeleteOut("c1", 1); b.DeleteOut("c1", 99); b.DeleteOut("nobody", 1) }),
			},
			&Snapshot{Sessions: []SessionState{state(sess("c1"), []OutRecord{out(2, "t", 1, 2, false)})}},
		},
		{
			"inbound put, delete, sorted numerically",
			[]*Batch{
				batch(func(b *Batch) {
					b.PutSession(sess("c1"))
					for _, id := range []uint16{513, 2, 258, 65535, 1} {
						b.PutInbound("c1", id)
					}
					b.PutInbound("c1", 2) // idempotent
				}),
				batch(func(b *Batch) { b.DeleteInbound("c1", 1); b.DeleteInbound("c1", 999); b.DeleteInbound("nobody", 1) }),
			},
			&Snapshot{Sessions: []SessionState{state(sess("c1"), nil, 2, 258, 513, 65535)}},
		},
		{
			"put then delete in one batch ends deleted",
			[]*Batch{batch(func(b *Batch) {
				b.PutRetained(Message{Topic: "r"})
				b.DeleteRetained("r")
				b.PutSession(sess("keep"))
				b.PutOut("keep", out(1, "t", 1, 0, false))
				b.DeleteOut("keep", 1)
				b.PutInbound("keep", 5)
				b.DeleteInbound("keep", 5)
				b.PutSession(sess("gone"))
				b.PutOut("gone", out(1, "t", 1, 0, false))
				b.PutInbound("gone", 1)
				b.DeleteSession("gone")
			})},
			&Snapshot{Sessions: []SessionState{state(sess("keep"), nil)}},
		},
		{
			"delete then put in one batch ends present",
			[]*Batch{
				batch(func(b *Batch) { b.PutRetained(Message{Topic: "r", Payload: []byte("1")}) }),
				batch(func(b *Batch) {
					b.DeleteRetained("r")
					b.PutRetained(Message{Topic: "r", Payload: []byte("2")})
				}),
			},
			&Snapshot{Retained: []Message{{Topic: "r", Payload: []byte("2")}}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			bs, mem := mustOpen(t, dir), NewMemory()
			for i, b := range tt.batches {
				if err := bs.Apply(b); err != nil {
					t.Fatalf("bolt Apply %d: %v", i, err)
				}
				if err := mem.Apply(b); err != nil {
					t.Fatalf("memory Apply %d: %v", i, err)
				}
			}
			want := normalize(tt.want)
			if d := diff(mustLoad(t, bs), want); d != "" {
				t.Errorf("bolt before reopen:\n%s", d)
			}
			if d := diff(reopen(t, bs, dir), want); d != "" {
				t.Errorf("bolt after reopen:\n%s", d)
			}
			if d := diff(mustLoad(t, mem), want); d != "" {
				t.Errorf("memory:\n%s", d)
			}
		})
	}
}

// TestLoadCopies checks that Load results do not alias the store or the caller.
func TestLoadCopies(t *testing.T) {
	for name, s := range map[string]Store{"bolt": mustOpen(t, t.TempDir()), "memory": NewMemory()} {
		t.Run(name, func(t *testing.T) {
			defer s.Close()
			payload := []byte("abc")
			subs := map[string]byte{"a": 1}
			var b Batch
			b.PutRetained(Message{Topic: "t", Payload: payload})
			b.PutSession(SessionRecord{ClientID: "c", Subscriptions: subs})
			if err := s.Apply(&b); err != nil {
				t.Fatal(err)
			}
			payload[0] = 'X'
			subs["b"] = 2
			snap := mustLoad(t, s)
			if got := string(snap.Retained[0].Payload); got != "abc" {
				t.Errorf("payload = %q, want abc", got)
			}
			if got := snap.Sessions[0].Session.Subscriptions; len(got) != 1 {
				t.Errorf("subscriptions = %v, want only a", got)
			}
		})
	}
}

func TestApplyErrors(t *testing.T) {
	setup := batch(func(b *Batch) {
		b.PutSession(sess("c1", "a", 1))
		b.PutRetained(Message{Topic: "r", Payload: []byte("v")})
	})
	tests := []struct {
		name string
		b    *Batch
		want error
	}{
		{"empty topic", batch(func(b *Batch) { b.PutRetained(Message{}) }), ErrInvalid},
		{"NUL in topic", batch(func(b *Batch) { b.PutRetained(Message{Topic: "a\x00b"}) }), ErrInvalid},
		{"retained QoS 3", batch(func(b *Batch) { b.PutRetained(Message{Topic: "a", QoS: 3}) }), ErrInvalid},
		{"delete retained empty topic", batch(func(b *Batch) { b.DeleteRetained("") }), ErrInvalid},
		{"empty client ID", batch(func(b *Batch) { b.PutSession(SessionRecord{}) }), ErrInvalid},
		{"subscription QoS 0x80", batch(func(b *Batch) { b.PutSession(sess("c", "a", 0x80)) }), ErrInvalid},
		{"empty filter", batch(func(b *Batch) { b.PutSession(sess("c", "", 0)) }), ErrInvalid},
		{"QoS 0 out with packet ID", batch(func(b *Batch) { b.PutOut("c1", out(1, "t", 0, 5, false)) }), ErrInvalid},
		{"PUBREL on QoS 1", batch(func(b *Batch) { b.PutOut("c1", out(1, "t", 1, 5, true)) }), ErrInvalid},
		{"PUBREL without packet ID", batch(func(b *Batch) { b.PutOut("c1", out(1, "t", 2, 0, true)) }), ErrInvalid},
		{"inbound packet ID 0", batch(func(b *Batch) { b.PutInbound("c1", 0) }), ErrInvalid},
		{"out for unknown session", batch(func(b *Batch) { b.PutOut("nobody", out(1, "t", 1, 0, false)) }), ErrNoSession},
		{"inbound for unknown session", batch(func(b *Batch) { b.PutInbound("nobody", 1) }), ErrNoSession},
		{"out after delete session in same batch", batch(func(b *Batch) {
			b.DeleteSession("c1")
			b.PutOut("c1", out(1, "t", 1, 0, false))
		}), ErrNoSession},
		{"valid ops before a failing one are rolled back", batch(func(b *Batch) {
			b.DeleteRetained("r")
			b.PutSession(sess("c1"))
			b.PutOut("c1", out(1, "t", 1, 0, false))
			b.DeleteSession("c1")
			b.PutInbound("other", 1)
		}), ErrNoSession},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, s := range map[string]Store{"bolt": mustOpen(t, dir), "memory": NewMemory()} {
				if err := s.Apply(setup); err != nil {
					t.Fatal(err)
				}
				before := mustLoad(t, s)
				err := s.Apply(tt.b)
				if !errors.Is(err, tt.want) {
					t.Errorf("%s: Apply = %v, want %v", name, err, tt.want)
				}
				if d := diff(mustLoad(t, s), before); d != "" {
					t.Errorf("%s: failed batch changed the store:\n%s", name, d)
				}
				s.Close()
			}
		})
	}
}

func TestClosedStore(t *testing.T) {
	for name, s := range map[string]Store{"bolt": mustOpen(t, t.TempDir()), "memory": NewMemory()} {
		if err := s.Close(); err != nil {
			t.Fatalf("%s: Close: %v", name, err)
		}
		if err := s.Apply(batch(func(b *Batch) { b.PutRetained(Message{Topic: "t"}) })); !errors.Is(err, ErrStoreClosed) {
			t.Errorf("%s: Apply after Close = %v, want ErrStoreClosed", name, err)
		}
		if _, err := s.Load(); !errors.Is(err, ErrStoreClosed) {
			t.Errorf("%s: Load after Close = %v, want ErrStoreClosed", name, err)
		}
	}
}

// TestMatchesMemory applies the same random operations to both stores and
// requires the same errors and the same snapshots throughout.
func TestMatchesMemory(t *testing.T) {
	clients := []string{"a", "b", "c"}
	topics := []string{"t/1", "t/2", "t/3"}
	filters := []string{"#", "t/+", "t/1"}
	randOp := func(r *rand.Rand, b *Batch) {
		c := clients[r.IntN(len(clients))]
		switch r.IntN(12) {
		case 0:
			b.PutRetained(Message{Topic: topics[r.IntN(len(topics))], Payload: randPayload(r), QoS: byte(r.IntN(3)), Retain: r.IntN(2) == 0})
		case 1:
			b.DeleteRetained(topics[r.IntN(len(topics))])
		case 2, 3:
			s := SessionRecord{ClientID: c, Subscriptions: map[string]byte{}}
			for range r.IntN(3) {
				s.Subscriptions[filters[r.IntN(len(filters))]] = byte(r.IntN(3))
			}
			b.PutSession(s)
		case 4:
			b.DeleteSession(c)
		case 5, 6, 7:
			q := byte(r.IntN(3))
			rec := OutRecord{Seq: uint64(r.IntN(6)), Msg: Message{Topic: topics[r.IntN(len(topics))], Payload: randPayload(r), QoS: q}}
			if q > 0 && r.IntN(2) == 0 {
				rec.PacketID = uint16(1 + r.IntN(4))
				rec.Pubrel = q == 2 && r.IntN(2) == 0
			}
			b.PutOut(c, rec)
		case 8:
			b.DeleteOut(c, uint64(r.IntN(6)))
		case 9, 10:
			b.PutInbound(c, uint16(1+r.IntN(4)))
		case 11:
			b.DeleteInbound(c, uint16(1+r.IntN(4)))
		}
	}
	for seed := range uint64(6) {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			r := rand.New(rand.NewPCG(seed, 0x5eed))
			dir := t.TempDir()
			bs, mem := mustOpen(t, dir), NewMemory()
			defer mem.Close()
			failures := 0
			for i := range 150 {
				var b Batch
				for range 1 + r.IntN(6) {
					randOp(r, &b)
				}
				be, me := bs.Apply(&b), mem.Apply(&b)
				if (be == nil) != (me == nil) || (be != nil && errors.Is(be, ErrNoSession) != errors.Is(me, ErrNoSession)) {
					t.Fatalf("batch %d: bolt error %v, memory error %v", i, be, me)
				}
				if be != nil {
					failures++
				}
				if d := diff(mustLoad(t, bs), mustLoad(t, mem)); d != "" {
					t.Fatalf("after batch %d:\n%s", i, d)
				}
			}
			want := mustLoad(t, mem)
			if d := diff(reopen(t, bs, dir), want); d != "" {
				t.Fatalf("after reopen:\n%s", d)
			}
			if failures == 0 || len(want.Sessions) == 0 {
				t.Logf("weak run: %d failed batches, %d sessions", failures, len(want.Sessions))
			}
		})
	}
}

func randPayload(r *rand.Rand) []byte {
	p := make([]byte, r.IntN(5))
	for i := range p {
		p[i] = byte(r.Uint32())
	}
	return p
}

func TestOpenInUse(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	start := time.Now()
	s2, err := Open(dir)
	elapsed := time.Since(start)
	if err == nil {
		s2.Close()
		t.Fatal("second Open succeeded while the first is open")
	}
	if !errors.Is(err, ErrInUse) || !strings.Contains(err.Error(), "data directory in use") {
		t.Errorf("second Open error = %q, want ErrInUse mentioning \"data directory in use\"", err)
	}
	if elapsed > 3*time.Second {
		t.Errorf("second Open took %v, want about 1s", elapsed)
	}
	t.Logf("second Open failed after %v: %v", elapsed.Round(time.Millisecond), err)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	mustOpen(t, dir).Close()
}

// poke edits the database file directly, as damage or a newer broker would.
func poke(t *testing.T, dir string, f func(tx *bolt.Tx) error) {
	t.Helper()
	db, err := bolt.Open(dir+"/"+FileName, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Update(f); err != nil {
		t.Fatal(err)
	}
}

func TestSchemaVersion(t *testing.T) {
	tests := []struct {
		name    string
		value   []byte
		want    error
		wantMsg string
	}{
		{"newer version", []byte{0, 0, 0, 2}, ErrSchema, "schema version 2"},
		{"zero version", []byte{0, 0, 0, 0}, ErrSchema, "schema version 0"},
		{"damaged", []byte{1}, ErrCorrupt, `key "schema"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			mustOpen(t, dir).Close()
			poke(t, dir, func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put(keySchema, tt.value) })
			s, err := Open(dir)
			if err == nil {
				s.Close()
				t.Fatal("Open succeeded")
			}
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), tt.wantMsg) {
				t.Errorf("Open = %q, want %v containing %q", err, tt.want, tt.wantMsg)
			}
		})
	}
	t.Run("missing data bucket", func(t *testing.T) {
		dir := t.TempDir()
		mustOpen(t, dir).Close()
		poke(t, dir, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketOut) })
		s, err := Open(dir)
		if err == nil {
			s.Close()
		}
		if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "bucket out missing") {
			t.Errorf("Open = %v, want ErrCorrupt naming bucket out", err)
		}
	})
	t.Run("missing meta with data", func(t *testing.T) {
		dir := t.TempDir()
		mustOpen(t, dir).Close()
		poke(t, dir, func(tx *bolt.Tx) error { return tx.DeleteBucket(bucketMeta) })
		if s, err := Open(dir); !errors.Is(err, ErrCorrupt) {
			if err == nil {
				s.Close()
			}
			t.Errorf("Open = %v, want ErrCorrupt", err)
		}
	})
}

func TestLoadCorrupt(t *testing.T) {
	bucket := func(tx *bolt.Tx, name []byte) *bolt.Bucket { return tx.Bucket(name) }
	tests := []struct {
		name    string
		poke    func(tx *bolt.Tx) error
		wantErr string // must appear in the error: bucket, key and cause
	}{
		{"retained garbage", func(tx *bolt.Tx) error {
			return bucket(tx, bucketRetained).Put([]byte("r/1"), []byte{1})
		}, `bucket retained key "r/1": truncated record`},
		{"retained unknown version", func(tx *bolt.Tx) error {
			return bucket(tx, bucketRetained).Put([]byte("r/1"), []byte{9, 0, 3, 'r', '/', '1'})
		}, `bucket retained key "r/1": unknown record version 9`},
		{"retained under the wrong key", func(tx *bolt.Tx) error {
			return bucket(tx, bucketRetained).Put([]byte("other"), encodeMessage(Message{Topic: "r/1"}))
		}, `bucket retained key "other": record is for topic "r/1"`},
		{"session record truncated", func(tx *bolt.Tx) error {
			v := encodeSessionRecord(sess("c1", "a", 1))
			return bucket(tx, bucketSessions).Put([]byte("c1"), v[:len(v)-1])
		}, `bucket sessions key "c1": subscription count`},
		{"session under the wrong key", func(tx *bolt.Tx) error {
			return bucket(tx, bucketSessions).Put([]byte("c2"), encodeSessionRecord(sess("c1")))
		}, `bucket sessions key "c2": record is for client "c1"`},
		{"nested bucket in sessions", func(tx *bolt.Tx) error {
			_, err := bucket(tx, bucketSessions).CreateBucket([]byte("stray"))
			return err
		}, `bucket sessions key "stray": nested bucket`},
		{"out record bad QoS", func(tx *bolt.Tx) error {
			v := encodeOutRecord(out(1, "t", 1, 0, false))
			v[11] |= 3 << flagQoSShift
			return bucket(tx, bucketOut).Put(outKey("c1", 1), v)
		}, `bucket out key "\x00\x02c1\x00\x00\x00\x00\x00\x00\x00\x01": QoS 3`},
		{"out record under the wrong seq", func(tx *bolt.Tx) error {
			return bucket(tx, bucketOut).Put(outKey("c1", 2), encodeOutRecord(out(3, "t", 1, 0, false)))
		}, "record has seq 3, key has 2"},
		{"out key malformed", func(tx *bolt.Tx) error {
			return bucket(tx, bucketOut).Put([]byte("\x00\x02c1x"), encodeOutRecord(out(3, "t", 1, 0, false)))
		}, `bucket out key "\x00\x02c1x": malformed key`},
		{"out record without session", func(tx *bolt.Tx) error {
			return bucket(tx, bucketOut).Put(outKey("ghost", 1), encodeOutRecord(out(1, "t", 1, 0, false)))
		}, `bucket out key "\x00\x05ghost\x00\x00\x00\x00\x00\x00\x00\x01": no session record`},
		{"session record deleted under its messages", func(tx *bolt.Tx) error {
			return bucket(tx, bucketSessions).Delete([]byte("c1"))
		}, `bucket out key "\x00\x02c1`},
		{"inbound packet ID 0", func(tx *bolt.Tx) error {
			return bucket(tx, bucketIn).Put(inKey("c1", 0), []byte{})
		}, `bucket in key "\x00\x02c1\x00\x00": want a non-zero packet ID`},
		{"inbound with a value", func(tx *bolt.Tx) error {
			return bucket(tx, bucketIn).Put(inKey("c1", 9), []byte{1})
		}, `bucket in key "\x00\x02c1\x00\t"`},
		{"inbound nested bucket", func(tx *bolt.Tx) error {
			_, err := bucket(tx, bucketIn).CreateBucket(inKey("c1", 9))
			return err
		}, `bucket in key "\x00\x02c1\x00\t"`},
		{"inbound without session", func(tx *bolt.Tx) error {
			return bucket(tx, bucketIn).Put(inKey("ghost", 1), []byte{})
		}, `bucket in key "\x00\x05ghost\x00\x01": no session record`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			s := mustOpen(t, dir)
			err := s.Apply(batch(func(b *Batch) {
				b.PutRetained(Message{Topic: "r/1", Payload: []byte("v")})
				b.PutSession(sess("c1", "a", 1))
				b.PutOut("c1", out(1, "t", 1, 0, false))
				b.PutInbound("c1", 1)
			}))
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			poke(t, dir, tt.poke)
			s = mustOpen(t, dir)
			defer s.Close()
			snap, err := s.Load()
			if err == nil {
				t.Fatalf("Load succeeded: %+v", snap)
			}
			if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Load = %q, want ErrCorrupt containing %q", err, tt.wantErr)
			}
		})
	}
}
