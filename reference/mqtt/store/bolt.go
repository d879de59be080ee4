package store

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// FileName is the database file Open keeps in its data directory.
const FileName = "wirecheck.db"

// SchemaVersion is the layout version written to, and accepted from, the
// "meta" bucket. Bump it when the bucket layout changes incompatibly.
const SchemaVersion = 1

// Layout:
//
//	meta/schema              → uint32 big-endian schema version
//	retained/<topic>         → encoded Message
//	sessions/<client>/sub    → encoded SessionRecord
//	sessions/<client>/out/<seq, 8 bytes big-endian> → encoded OutRecord
//	sessions/<client>/in/<packet ID, 2 bytes big-endian> → empty
//
// Names longer than bbolt's key limit are keyed by 0x00 + SHA-256(name);
// names never contain U+0000 (checkName), so such keys cannot collide.
var (
	bucketMeta     = []byte("meta")
	bucketRetained = []byte("retained")
	bucketSessions = []byte("sessions")
	keySchema      = []byte("schema")
	keySub         = []byte("sub")
	bucketOut      = []byte("out")
	bucketIn       = []byte("in")
)

type boltStore struct {
	db *bolt.DB
}

// Open opens, creating it if needed, DIR/wirecheck.db. Only one Store may hold
// a directory: a second Open, from this process or another broker, gives up
// after 1 s with ErrInUse instead of waiting for ever on the file lock.
func Open(dir string) (Store, error) {
	return openBolt(dir, false)
}

// openBolt lets tests skip fsync where durability is not what they check.
func openBolt(dir string, noSync bool) (Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      time.Second,
		FreelistType: bolt.FreelistMapType, // faster than the array freelist once the file grows
		NoSync:       noSync,
	})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s is locked by another broker (gave up after 1s)", ErrInUse, path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := db.Update(initSchema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: %s: %w", path, err)
	}
	return &boltStore{db: db}, nil
}

func initSchema(tx *bolt.Tx) error {
	if meta := tx.Bucket(bucketMeta); meta != nil {
		v := meta.Get(keySchema)
		if len(v) != 4 {
			return fmt.Errorf("%w: bucket meta key %q: length %d, want 4", ErrCorrupt, keySchema, len(v))
		}
		if n := binary.BigEndian.Uint32(v); n != SchemaVersion {
			// Refuse rather than guess: a newer broker wrote this directory.
			return fmt.Errorf("%w: data written with schema version %d, this build reads version %d", ErrSchema, n, SchemaVersion)
		}
	} else {
		if tx.Bucket(bucketRetained) != nil || tx.Bucket(bucketSessions) != nil {
			return fmt.Errorf("%w: data present but meta bucket missing", ErrCorrupt)
		}
		meta, err := tx.CreateBucket(bucketMeta)
		if err != nil {
			return err
		}
		if err := meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion)); err != nil {
			return err
		}
	}
	for _, name := range [][]byte{bucketRetained, bucketSessions} {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}

func nameKey(s string) []byte {
	if len(s) <= bolt.MaxKeySize {
		return []byte(s)
	}
	h := sha256.Sum256([]byte(s))
	return append([]byte{0}, h[:]...)
}

func seqKey(seq uint64) []byte { return binary.BigEndian.AppendUint64(nil, seq) }
func idKey(id uint16) []byte   { return binary.BigEndian.AppendUint16(nil, id) }
func boltErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrStoreClosed
	}
	return err
}

func (s *boltStore) Apply(b *Batch) error {
	if err := b.validate(); err != nil {
		return err
	}
	return boltErr(s.db.Update(func(tx *bolt.Tx) error {
		retained := tx.Bucket(bucketRetained)
		sessions := tx.Bucket(bucketSessions)
		for i := range b.Len() {
			if err := applyOp(retained, sessions, &b.ops[i]); err != nil {
				return fmt.Errorf("op %d (%s): %w", i, b.ops[i].kind, err)
			}
		}
		return nil
	}))
}

// applyOp writes one op. Keys and values are fresh slices because bbolt keeps
// them until the transaction commits.
func applyOp(retained, sessions *bolt.Bucket, o *op) error {
	switch o.kind {
	case opPutRetained:
		return retained.Put(nameKey(o.msg.Topic), encodeMessage(o.msg))
	case opDeleteRetained:
		return retained.Delete(nameKey(o.key))
	case opPutSession:
		sb, err := sessions.CreateBucketIfNotExists(nameKey(o.key))
		if err != nil {
			return err
		}
		for _, name := range [][]byte{bucketOut, bucketIn} {
			if _, err := sb.CreateBucketIfNotExists(name); err != nil {
				return err
			}
		}
		return sb.Put(keySub, encodeSessionRecord(SessionRecord{ClientID: o.key, Subscriptions: o.subs}))
	case opDeleteSession:
		err := sessions.DeleteBucket(nameKey(o.key)) // recursive: takes out and in with it
		if errors.Is(err, berrors.ErrBucketNotFound) {
			return nil
		}
		return err
	}
	sb := sessions.Bucket(nameKey(o.key))
	if sb == nil {
		if o.kind == opDeleteOut || o.kind == opDeleteInbound {
			return nil
		}
		return fmt.Errorf("%w: client %q", ErrNoSession, o.key)
	}
	name := bucketOut
	if o.kind == opPutInbound || o.kind == opDeleteInbound {
		name = bucketIn
	}
	nb := sb.Bucket(name)
	if nb == nil {
		return fmt.Errorf("%w: session %q has no %q bucket", ErrCorrupt, o.key, name)
	}
	switch o.kind {
	case opPutOut:
		return nb.Put(seqKey(o.seq), encodeOutRecord(o.outRecord()))
	case opDeleteOut:
		return nb.Delete(seqKey(o.seq))
	case opPutInbound:
		return nb.Put(idKey(o.id), []byte{})
	case opDeleteInbound:
		return nb.Delete(idKey(o.id))
	}
	return fmt.Errorf("unknown operation %d", o.kind)
}

// corrupt names the bucket path and key, so that an operator can find the
// damaged record (e.g. with `bbolt get`).
func corrupt(path string, key []byte, err error) error {
	return fmt.Errorf("%w: bucket %s key %q: %v", ErrCorrupt, path, key, err)
}

func (s *boltStore) Load() (*Snapshot, error) {
	snap := &Snapshot{}
	err := s.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketRetained).ForEach(func(k, v []byte) error {
			m, err := decodeMessage(v)
			if err != nil {
				return corrupt("retained", k, err)
			}
			if !bytes.Equal(k, nameKey(m.Topic)) {
				return corrupt("retained", k, fmt.Errorf("record is for topic %q", m.Topic))
			}
			snap.Retained = append(snap.Retained, m)
			return nil
		})
		if err != nil {
			return err
		}
		sessions := tx.Bucket(bucketSessions)
		return sessions.ForEach(func(k, v []byte) error {
			if v != nil {
				return corrupt("sessions", k, errors.New("value where a session bucket belongs"))
			}
			st, err := loadSession(sessions.Bucket(k), k)
			if err != nil {
				return err
			}
			snap.Sessions = append(snap.Sessions, st)
			return nil
		})
	})
	if err != nil {
		return nil, boltErr(err)
	}
	// Over-long names are keyed by hash, so key order is not quite name order.
	slices.SortFunc(snap.Retained, func(a, b Message) int { return cmp.Compare(a.Topic, b.Topic) })
	slices.SortFunc(snap.Sessions, func(a, b SessionState) int {
		return cmp.Compare(a.Session.ClientID, b.Session.ClientID)
	})
	return snap, nil
}

func loadSession(sb *bolt.Bucket, k []byte) (SessionState, error) {
	var st SessionState
	path := fmt.Sprintf("sessions/%q", k)
	v := sb.Get(keySub)
	if v == nil {
		return st, corrupt(path, keySub, errors.New("missing"))
	}
	rec, err := decodeSessionRecord(v)
	if err != nil {
		return st, corrupt(path, keySub, err)
	}
	if !bytes.Equal(k, nameKey(rec.ClientID)) {
		return st, corrupt(path, keySub, fmt.Errorf("record is for client %q", rec.ClientID))
	}
	st.Session = rec
	out, in := sb.Bucket(bucketOut), sb.Bucket(bucketIn)
	if out == nil || in == nil {
		return st, corrupt(path, nil, errors.New("missing out or in bucket"))
	}
	err = out.ForEach(func(k, v []byte) error {
		if len(k) != 8 {
			return corrupt(path+"/out", k, errors.New("key is not an 8-byte sequence number"))
		}
		r, err := decodeOutRecord(v)
		if err != nil {
			return corrupt(path+"/out", k, err)
		}
		if r.Seq != binary.BigEndian.Uint64(k) {
			return corrupt(path+"/out", k, fmt.Errorf("record has seq %d", r.Seq))
		}
		st.Out = append(st.Out, r)
		return nil
	})
	if err != nil {
		return st, err
	}
	err = in.ForEach(func(k, v []byte) error {
		// v == nil means a nested bucket, which has no place here.
		if len(k) != 2 || (k[0] == 0 && k[1] == 0) || v == nil || len(v) != 0 {
			return corrupt(path+"/in", k, errors.New("not a 2-byte non-zero packet ID with an empty value"))
		}
		st.Inbound = append(st.Inbound, binary.BigEndian.Uint16(k))
		return nil
	})
	return st, err
}

func (s *boltStore) Close() error {
	return s.db.Close()
}
