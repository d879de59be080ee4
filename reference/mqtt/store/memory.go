package store

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"sync"
)

// memStore keeps everything in maps. It copies payloads in and out so that it
// behaves like the bolt store even if a caller reuses a buffer.
type memStore struct {
	mu       sync.Mutex
	closed   bool
	retained map[string]Message
	sessions map[string]*memSession
}

type memSession struct {
	subs map[string]byte
	out  map[uint64]OutRecord
	in   map[uint16]struct{}
}

// NewMemory returns an in-memory Store with the same semantics as the bolt
// store, for tests and to check the bolt store against.
func NewMemory() Store {
	return &memStore{retained: map[string]Message{}, sessions: map[string]*memSession{}}
}

func cloneMessage(m Message) Message {
	if len(m.Payload) == 0 {
		m.Payload = nil
	} else {
		m.Payload = slices.Clone(m.Payload)
	}
	return m
}

func (s *memStore) Apply(b *Batch) error {
	if err := b.validate(); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return ErrStoreClosed
	}
	if b.Len() == 0 {
		return nil
	}
	// Check session existence as the batch would see it, so that a failing
	// batch changes nothing, as a rolled-back bolt transaction would.
	exists := map[string]bool{}
	for i := range b.ops {
		o := &b.ops[i]
		switch o.kind {
		case opPutSession:
			exists[o.key] = true
		case opDeleteSession:
			exists[o.key] = false
		case opPutOut, opPutInbound:
			e, seen := exists[o.key]
			if !seen {
				_, e = s.sessions[o.key]
			}
			if !e {
				return fmt.Errorf("%w: op %d (%s) for client %q", ErrNoSession, i, o.kind, o.key)
			}
		}
	}
	for i := range b.ops {
		o := &b.ops[i]
		switch o.kind {
		case opPutRetained:
			s.retained[o.msg.Topic] = cloneMessage(o.msg)
		case opDeleteRetained:
			delete(s.retained, o.key)
		case opPutSession:
			ss := s.sessions[o.key]
			if ss == nil {
				ss = &memSession{out: map[uint64]OutRecord{}, in: map[uint16]struct{}{}}
				s.sessions[o.key] = ss
			}
			ss.subs = maps.Clone(o.subs)
		case opDeleteSession:
			delete(s.sessions, o.key)
		case opPutOut:
			r := o.outRecord()
			r.Msg = cloneMessage(r.Msg)
			s.sessions[o.key].out[o.seq] = r
		case opDeleteOut:
			if ss := s.sessions[o.key]; ss != nil {
				delete(ss.out, o.seq)
			}
		case opPutInbound:
			s.sessions[o.key].in[o.id] = struct{}{}
		case opDeleteInbound:
			if ss := s.sessions[o.key]; ss != nil {
				delete(ss.in, o.id)
			}
		}
	}
	return nil
}

func (s *memStore) Load() (*Snapshot, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrStoreClosed
	}
	snap := &Snapshot{}
	for _, m := range s.retained {
		snap.Retained = append(snap.Retained, cloneMessage(m))
	}
	slices.SortFunc(snap.Retained, func(a, b Message) int { return cmp.Compare(a.Topic, b.Topic) })
	for id, ss := range s.sessions {
		st := SessionState{Session: SessionRecord{ClientID: id, Subscriptions: maps.Clone(ss.subs)}}
		if st.Session.Subscriptions == nil {
			st.Session.Subscriptions = map[string]byte{}
		}
		for _, r := range ss.out {
			r.Msg = cloneMessage(r.Msg)
			st.Out = append(st.Out, r)
		}
		slices.SortFunc(st.Out, func(a, b OutRecord) int { return cmp.Compare(a.Seq, b.Seq) })
		for pid := range ss.in {
			st.Inbound = append(st.Inbound, pid)
		}
		slices.Sort(st.Inbound)
		snap.Sessions = append(snap.Sessions, st)
	}
	slices.SortFunc(snap.Sessions, func(a, b SessionState) int {
		return cmp.Compare(a.Session.ClientID, b.Session.ClientID)
	})
	return snap, nil
}

func (s *memStore) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	return nil
}
