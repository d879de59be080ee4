package store

import (
	"sync"
	"sync/atomic"
)

// CommitStats counts the Committer's work; Ops/Transactions is the grouping
// factor, i.e. how many operations each fsync covered.
type CommitStats struct {
	Transactions uint64 // successful Apply calls
	Batches      uint64 // batches made durable
	Ops          uint64 // operations made durable
	Failed       uint64 // batches whose done got an error
}

// Committer groups batches so that one transaction and one fsync make many
// of them durable. A single goroutine takes everything queued (up to maxBatch
// operations), applies it with one Store.Apply, then calls each done(err) in
// submission order.
//
// If a merged transaction fails, nothing of it was written (Apply is atomic),
// so the Committer retries its batches one by one: a batch that can never be
// applied gets its own error instead of failing its neighbours.
type Committer struct {
	s        Store
	maxBatch int

	mu     sync.Mutex
	cond   sync.Cond // signalled when the queue gains an entry or on Close
	queue  []pending
	closed bool
	exited chan struct{}

	transactions, batches, ops, failed atomic.Uint64
}

// pending is a submitted batch, or a Flush marker (flush != nil).
type pending struct {
	b     *Batch
	done  func(error)
	flush chan error
}

// NewCommitter starts a Committer on s; maxBatch caps the operations per
// transaction (a single larger batch still goes alone). If s is nil the
// Committer runs in memory mode: no goroutine, and Submit calls done(nil) at
// once in the caller.
func NewCommitter(s Store, maxBatch int) *Committer {
	c := &Committer{s: s, maxBatch: max(maxBatch, 1), exited: make(chan struct{})}
	c.cond.L = &c.mu
	if s == nil {
		close(c.exited)
		return c
	}
	go c.run()
	return c
}

// Submit queues b. The caller must not touch b afterwards. done (which may be
// nil) runs on the committer goroutine once b is durable or has failed, and
// must not block. After Close, done(ErrClosed) runs at once in the caller.
func (c *Committer) Submit(b *Batch, done func(error)) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		c.failed.Add(1)
		call(done, ErrClosed)
		return
	}
	if c.s == nil {
		c.mu.Unlock()
		c.batches.Add(1)
		c.ops.Add(uint64(b.Len()))
		call(done, nil)
		return
	}
	c.queue = append(c.queue, pending{b: b, done: done})
	if len(c.queue) == 1 {
		c.cond.Signal()
	}
	c.mu.Unlock()
}

func call(done func(error), err error) {
	if done != nil {
		done(err)
	}
}

// Flush waits until everything submitted before it is committed. It returns
// the first error reported to any batch since the previous Flush (so a caller
// that passed nil done functions still learns of failures), or ErrClosed.
func (c *Committer) Flush() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return ErrClosed
	}
	if c.s == nil {
		c.mu.Unlock()
		return nil
	}
	ch := make(chan error, 1)
	c.queue = append(c.queue, pending{flush: ch})
	if len(c.queue) == 1 {
		c.cond.Signal()
	}
	c.mu.Unlock()
	return <-ch
}

// Close commits what is queued, stops the goroutine and waits for it to exit.
// It returns the first error reported since the last Flush. It does not close
// the Store. Calling it again returns nil.
func (c *Committer) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		<-c.exited
		return nil
	}
	c.closed = true
	if c.s == nil {
		c.mu.Unlock()
		return nil
	}
	ch := make(chan error, 1)
	c.queue = append(c.queue, pending{flush: ch})
	c.cond.Signal()
	c.mu.Unlock()
	err := <-ch
	<-c.exited
	return err
}

// Stats returns the counters so far.
func (c *Committer) Stats() CommitStats {
	return CommitStats{
		Transactions: c.transactions.Load(),
		Batches:      c.batches.Load(),
		Ops:          c.ops.Load(),
		Failed:       c.failed.Load(),
	}
}

func (c *Committer) run() {
	defer close(c.exited)
	var (
		group, spare []pending
		merged       Batch
		errs         []error
		flushErr     error // first error since the last flush marker
	)
	for {
		c.mu.Lock()
		for len(c.queue) == 0 && !c.closed {
			c.cond.Wait()
		}
		if len(c.queue) == 0 {
			c.mu.Unlock()
			return
		}
		n, ops := 0, 0
		for n < len(c.queue) {
			l := c.queue[n].b.Len()
			if n > 0 && ops+l > c.maxBatch {
				break
			}
			ops += l
			n++
		}
		if n == len(c.queue) {
			// The usual case: swap buffers, so nothing is copied and
			// Submit appends to an already grown slice.
			group, c.queue = c.queue, spare[:0]
		} else {
			group = append(spare[:0], c.queue[:n]...)
			rest := copy(c.queue, c.queue[n:])
			clear(c.queue[rest:])
			c.queue = c.queue[:rest]
		}
		c.mu.Unlock()

		errs = c.commit(group, &merged, errs[:0])
		for i, p := range group {
			if p.flush != nil {
				p.flush <- flushErr
				flushErr = nil
				continue
			}
			if errs[i] != nil {
				c.failed.Add(1)
				if flushErr == nil {
					flushErr = errs[i]
				}
			} else {
				c.batches.Add(1)
				c.ops.Add(uint64(p.b.Len()))
			}
			call(p.done, errs[i])
		}
		clear(group) // let batches and callbacks be collected
		spare = group
	}
}

// commit applies group and returns one error per entry.
func (c *Committer) commit(group []pending, merged *Batch, errs []error) []error {
	errs = append(errs, make([]error, len(group))...)
	var only *Batch // set while exactly one batch has ops: applied without copying
	nb := 0
	for _, p := range group {
		if p.b.Len() == 0 {
			continue // empty batches and flush markers need no transaction
		}
		switch nb {
		case 0:
			only = p.b
		case 1:
			merged.Append(only)
			merged.Append(p.b)
		default:
			merged.Append(p.b)
		}
		nb++
	}
	if nb == 0 {
		return errs
	}
	b := only
	if nb > 1 {
		b = merged
	}
	err := c.s.Apply(b)
	merged.Reset() // drop references to payloads until the next group
	if err == nil {
		c.transactions.Add(1)
		return errs
	}
	if nb == 1 {
		for i, p := range group {
			if p.b == only {
				errs[i] = err
			}
		}
		return errs
	}
	// Nothing was written; apply batch by batch so only the culprit fails.
	for i, p := range group {
		if p.b.Len() == 0 {
			continue
		}
		if errs[i] = c.s.Apply(p.b); errs[i] == nil {
			c.transactions.Add(1)
		}
	}
	return errs
}
