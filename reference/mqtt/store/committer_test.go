package store

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"testing"
	"time"
)

// gateStore holds its first Apply until release is closed, so that later
// submissions queue up and form a known group; it records each Apply's size.
type gateStore struct {
	Store
	release chan struct{}
	once    sync.Once
	entered chan struct{}
	mu      sync.Mutex
	sizes   []int
}

func newGateStore() *gateStore {
	return &gateStore{Store: NewMemory(), release: make(chan struct{}), entered: make(chan struct{})}
}

func (g *gateStore) Apply(b *Batch) error {
	first := false
	g.once.Do(func() { first = true })
	if first {
		close(g.entered)
		<-g.release
	}
	g.mu.Lock()
	g.sizes = append(g.sizes, b.Len())
	g.mu.Unlock()
	return g.Store.Apply(b)
}

func (g *gateStore) applySizes() []int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return slices.Clone(g.sizes)
}

func retainedBatch(i int) *Batch {
	return batch(func(b *Batch) { b.PutRetained(Message{Topic: fmt.Sprint("t/", i), Payload: []byte{byte(i)}}) })
}

func TestCommitterOrderAndGrouping(t *testing.T) {
	g := newGateStore()
	c := NewCommitter(g, 10000)
	defer c.Close()
	var order []int // appended only on the committer goroutine
	const n = 50
	for i := range n {
		c.Submit(retainedBatch(i), func(err error) {
			if err != nil {
				t.Errorf("batch %d: %v", i, err)
			}
			order = append(order, i)
		})
		if i == 0 {
			<-g.entered // batch 0 is in Apply; the rest must queue behind it
		}
	}
	close(g.release)
	if err := c.Flush(); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if want := countTo(n); !slices.Equal(order, want) {
		t.Errorf("done order = %v", order)
	}
	if got := g.applySizes(); !slices.Equal(got, []int{1, n - 1}) {
		t.Errorf("Apply sizes = %v, want [1 %d]", got, n-1)
	}
	st := c.Stats()
	if st != (CommitStats{Transactions: 2, Batches: n, Ops: n}) {
		t.Errorf("Stats = %+v", st)
	}
	snap := mustLoad(t, g)
	if len(snap.Retained) != n {
		t.Errorf("%d retained messages stored, want %d", len(snap.Retained), n)
	}
}

func countTo(n int) []int {
	s := make([]int, n)
	for i := range s {
		s[i] = i
	}
	return s
}

func TestCommitterMaxBatch(t *testing.T) {
	tests := []struct {
		max       int
		batchLens []int
		want      []int // Apply sizes after the gated first batch
	}{
		{6, []int{3, 3, 3, 3, 3}, []int{6, 6, 3}},
		{5, []int{3, 3, 3}, []int{3, 3, 3}},
		{4, []int{10, 1, 1}, []int{10, 2}}, // an oversized batch still goes, alone
		{100, []int{1, 2, 3}, []int{6}},
		{0, []int{1, 1}, []int{1, 1}}, // cap below 1 means one op per transaction
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.max, tt.batchLens), func(t *testing.T) {
			g := newGateStore()
			c := NewCommitter(g, tt.max)
			defer c.Close()
			c.Submit(retainedBatch(-1), nil)
			<-g.entered
			k := 0
			for _, l := range tt.batchLens {
				var b Batch
				for range l {
					b.Append(retainedBatch(k))
					k++
				}
				c.Submit(&b, nil)
			}
			close(g.release)
			if err := c.Flush(); err != nil {
				t.Fatal(err)
			}
			if got := g.applySizes()[1:]; !slices.Equal(got, tt.want) {
				t.Errorf("Apply sizes = %v, want %v", got, tt.want)
			}
		})
	}
}

// TestCommitterIsolatesFailure: a batch that cannot be applied fails alone;
// its neighbours in the same group are still committed.
func TestCommitterIsolatesFailure(t *testing.T) {
	g := newGateStore()
	c := NewCommitter(g, 10000)
	defer c.Close()
	c.Submit(batch(func(b *Batch) { b.PutSession(sess("c1")) }), nil)
	<-g.entered
	errs := make([]error, 4)
	record := func(i int) func(error) { return func(err error) { errs[i] = err } }
	c.Submit(batch(func(b *Batch) { b.PutOut("c1", out(1, "t", 1, 0, false)) }), record(0))
	c.Submit(batch(func(b *Batch) { b.PutOut("nobody", out(1, "t", 1, 0, false)) }), record(1))
	c.Submit(batch(func(b *Batch) { b.PutRetained(Message{Topic: ""}) }), record(2))
	c.Submit(batch(func(b *Batch) { b.PutInbound("c1", 9) }), record(3))
	close(g.release)
	if err := c.Flush(); !errors.Is(err, ErrNoSession) {
		t.Errorf("Flush = %v, want the first batch error (ErrNoSession)", err)
	}
	if err := c.Flush(); err != nil {
		t.Errorf("second Flush = %v, want nil (errors are reported once)", err)
	}
	if errs[0] != nil || !errors.Is(errs[1], ErrNoSession) || !errors.Is(errs[2], ErrInvalid) || errs[3] != nil {
		t.Errorf("done errors = %v, want [nil ErrNoSession ErrInvalid nil]", errs)
	}
	want := normalize(&Snapshot{Sessions: []SessionState{state(sess("c1"), []OutRecord{out(1, "t", 1, 0, false)}, 9)}})
	if d := diff(mustLoad(t, g), want); d != "" {
		t.Error(d)
	}
	if st := c.Stats(); st.Batches != 3 || st.Failed != 2 {
		t.Errorf("Stats = %+v, want 3 batches and 2 failed", st)
	}
}

// TestCommitterConcurrent: many submitters against the bolt store get their
// batches grouped, each submitter sees its own batches complete in order, and
// everything is on disk afterwards.
func TestCommitterConcurrent(t *testing.T) {
	dir := t.TempDir()
	s := mustOpen(t, dir)
	const clients, perClient = 32, 100
	var setup Batch
	for i := range clients {
		setup.PutSession(sess(fmt.Sprint("c", i), "#", 1))
	}
	if err := s.Apply(&setup); err != nil {
		t.Fatal(err)
	}
	c := NewCommitter(s, 10000)
	var wg sync.WaitGroup
	for i := range clients {
		wg.Go(func() {
			id := fmt.Sprint("c", i)
			var mu sync.Mutex
			var got []uint64
			var all sync.WaitGroup
			for seq := range uint64(perClient) {
				all.Add(1)
				c.Submit(batch(func(b *Batch) { b.PutOut(id, out(seq, "t", 1, 0, false)) }), func(err error) {
					if err != nil {
						t.Errorf("%s seq %d: %v", id, seq, err)
					}
					mu.Lock()
					got = append(got, seq)
					mu.Unlock()
					all.Done()
				})
				if seq%10 == 9 {
					all.Wait() // like a client with an in-flight window of 10
				}
			}
			all.Wait()
			if !slices.IsSorted(got) || len(got) != perClient {
				t.Errorf("%s: done order %v", id, got)
			}
		})
	}
	wg.Wait()
	if err := c.Close(); err != nil {
		t.Fatal(err)
	}
	st := c.Stats()
	t.Logf("stats: %+v (%.1f batches per transaction)", st, float64(st.Batches)/float64(st.Transactions))
	if st.Batches != clients*perClient || st.Transactions >= st.Batches {
		t.Errorf("Stats = %+v: want %d batches in fewer transactions", st, clients*perClient)
	}
	snap := reopen(t, s, dir)
	for _, ss := range snap.Sessions {
		if len(ss.Out) != perClient {
			t.Errorf("%s: %d out records, want %d", ss.Session.ClientID, len(ss.Out), perClient)
		}
	}
}

func TestCommitterClose(t *testing.T) {
	g := newGateStore()
	c := NewCommitter(g, 10000)
	c.Submit(retainedBatch(0), nil)
	<-g.entered
	var committed []int
	for i := 1; i <= 3; i++ {
		c.Submit(retainedBatch(i), func(err error) {
			if err == nil {
				committed = append(committed, i)
			}
		})
	}
	closed := make(chan error)
	go func() { closed <- c.Close() }()
	time.Sleep(10 * time.Millisecond) // let Close reach its wait; it must not return while gated
	select {
	case err := <-closed:
		t.Fatalf("Close returned %v before the queued batches were committed", err)
	default:
	}
	close(g.release)
	if err := <-closed; err != nil {
		t.Fatalf("Close: %v", err)
	}
	if !slices.Equal(committed, []int{1, 2, 3}) {
		t.Errorf("committed before Close returned: %v", committed)
	}
	if n := len(mustLoad(t, g).Retained); n != 4 {
		t.Errorf("%d retained, want 4", n)
	}
	var after error
	called := false
	c.Submit(retainedBatch(9), func(err error) { called, after = true, err })
	if !called || !errors.Is(after, ErrClosed) {
		t.Errorf("Submit after Close: called=%v err=%v, want done(ErrClosed) at once", called, after)
	}
	c.Submit(retainedBatch(9), nil) // nil done must not panic
	if err := c.Flush(); !errors.Is(err, ErrClosed) {
		t.Errorf("Flush after Close = %v, want ErrClosed", err)
	}
	if err := c.Close(); err != nil {
		t.Errorf("second Close = %v", err)
	}
}

func TestCommitterMemoryMode(t *testing.T) {
	before := runtime.NumGoroutine()
	c := NewCommitter(nil, 10)
	if n := runtime.NumGoroutine(); n > before {
		t.Errorf("memory mode started a goroutine (%d → %d)", before, n)
	}
	called := false
	c.Submit(retainedBatch(1), func(err error) { called = err == nil })
	if !called {
		t.Error("done(nil) not called synchronously")
	}
	c.Submit(nil, nil)
	if err := c.Flush(); err != nil {
		t.Error(err)
	}
	if err := c.Close(); err != nil {
		t.Error(err)
	}
	var err error
	c.Submit(retainedBatch(1), func(e error) { err = e })
	if !errors.Is(err, ErrClosed) {
		t.Errorf("Submit after Close: %v", err)
	}
}

func TestCommitterNoGoroutineLeak(t *testing.T) {
	before := runtime.NumGoroutine()
	for range 20 {
		c := NewCommitter(NewMemory(), 100)
		for i := range 50 {
			c.Submit(retainedBatch(i), nil)
		}
		if err := c.Close(); err != nil {
			t.Fatal(err)
		}
	}
	c := NewCommitter(NewMemory(), 100) // closed while idle
	c.Close()
	deadline := time.Now().Add(2 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(5 * time.Millisecond)
	}
}
