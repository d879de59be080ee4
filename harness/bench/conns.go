package bench

import (
	"context"
	"sync"
	"sync/atomic"
)

// connSet holds the connections of one round so that they can all be
// closed at once, from the round itself or from a context.AfterFunc when
// the round's context ends, even while other goroutines are still adding
// connections to it.
type connSet struct {
	rst bool // close aborted connections with an RST (see mconn.reset)

	mu     sync.Mutex
	conns  []*mconn
	closed bool
}

// add registers c; once the set is closed, c is aborted at once instead.
func (s *connSet) add(c *mconn) {
	s.mu.Lock()
	closed := s.closed
	if !closed {
		s.conns = append(s.conns, c)
	}
	s.mu.Unlock()
	if closed {
		s.abortOne(c)
	}
}

// take closes the set and returns what it held.
func (s *connSet) take() []*mconn {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs := s.conns
	s.conns, s.closed = nil, true
	return cs
}

// disconnect ends every connection with DISCONNECT.
func (s *connSet) disconnect() {
	for _, c := range s.take() {
		c.disconnect()
	}
}

// abort closes every connection without DISCONNECT.
func (s *connSet) abort() {
	for _, c := range s.take() {
		s.abortOne(c)
	}
}

func (s *connSet) abortOne(c *mconn) {
	if s.rst {
		c.reset()
	} else {
		c.abort()
	}
}

// forEach runs f(0…n-1) on up to workers goroutines and returns the first
// error; after an error or ctx ending the remaining calls are skipped.
func forEach(ctx context.Context, n, workers int, f func(i int) error) error {
	var (
		next  atomic.Int64
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	failed := func() bool { mu.Lock(); defer mu.Unlock(); return first != nil }
	for range min(workers, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n || failed() || ctx.Err() != nil {
					return
				}
				if err := f(i); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	if first == nil {
		first = ctx.Err()
	}
	return first
}
