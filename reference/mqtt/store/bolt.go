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

// Layout: four flat buckets.
//
//	meta/schema                          → uint32 big-endian schema version
//	retained/<name(topic)>               → encoded Message
//	sessions/<name(client)>              → encoded SessionRecord
//	out/<len(name) u16><name(client)><seq u64> → encoded OutRecord
//	in/<len(name) u16><name(client)><packet ID u16> → empty
//
// Out and inbound records are flat rather than nested per session so that a
// transaction touching many small sessions dirties a few shared leaf pages
// instead of one page per session: each dirty page is a write syscall at
// commit, which dominated grouped commits with nested buckets. All integers
// are big-endian so a session's records sort by seq / packet ID. The length
// prefix keeps one client's prefix from being a prefix of another's.
//
// name(s) is s itself up to maxRawName bytes, else 0x00 + SHA-256(s); names
// never contain U+0000 (checkName), so the two forms cannot collide.
var (
	bucketMeta     = []byte("meta")
	bucketRetained = []byte("retained")
	bucketSessions = []byte("sessions")
	bucketOut      = []byte("out")
	bucketIn       = []byte("in")
	keySchema      = []byte("schema")
	dataBuckets    = [][]byte{bucketRetained, bucketSessions, bucketOut, bucketIn}
)

// maxRawName keeps composite keys far below bbolt's 32 KiB key limit; longer
// topics and client IDs are legal in MQTT but rare enough to hash.
const maxRawName = 1024

type boltStore struct {
	db *bolt.DB
}

// Open opens, creating it if needed, DIR/wirecheck.db. Only one Store may hold
// a directory: a second Open, from this process or another broker, gives up
// after 1 s with ErrInUse instead of waiting for ever on the file lock.
func Open(dir string) (Store, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: data directory: %w", err)
	}
	path := filepath.Join(dir, FileName)
	db, err := bolt.Open(path, 0o600, &bolt.Options{
		Timeout:      time.Second,
		FreelistType: bolt.FreelistMapType, // faster than the array freelist once the file grows
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
	meta := tx.Bucket(bucketMeta)
	if meta != nil {
		v := meta.Get(keySchema)
		if len(v) != 4 {
			return fmt.Errorf("%w: bucket meta key %q: length %d, want 4", ErrCorrupt, keySchema, len(v))
		}
		if n := binary.BigEndian.Uint32(v); n != SchemaVersion {
			// Refuse rather than guess: a newer broker wrote this directory.
			return fmt.Errorf("%w: data written with schema version %d, this build reads version %d", ErrSchema, n, SchemaVersion)
		}
		for _, name := range dataBuckets {
			if tx.Bucket(name) == nil {
				return fmt.Errorf("%w: bucket %s missing", ErrCorrupt, name)
			}
		}
		return nil
	}
	for _, name := range dataBuckets {
		if tx.Bucket(name) != nil {
			return fmt.Errorf("%w: bucket %s present but meta bucket missing", ErrCorrupt, name)
		}
	}
	meta, err := tx.CreateBucket(bucketMeta)
	if err != nil {
		return err
	}
	if err := meta.Put(keySchema, binary.BigEndian.AppendUint32(nil, SchemaVersion)); err != nil {
		return err
	}
	for _, name := range dataBuckets {
		if _, err := tx.CreateBucket(name); err != nil {
			return err
		}
	}
	return nil
}

func nameKey(s string) []byte {
	if len(s) <= maxRawName {
		return []byte(s)
	}
	h := sha256.Sum256([]byte(s))
	return append([]byte{0}, h[:]...)
}

// clientPrefix is the common start of a client's out and in keys; extra is
// the capacity to leave for the suffix.
func clientPrefix(client string, extra int) []byte {
	name := nameKey(client)
	k := make([]byte, 0, 2+len(name)+extra)
	k = binary.BigEndian.AppendUint16(k, uint16(len(name)))
	return append(k, name...)
}

func outKey(client string, seq uint64) []byte {
	return binary.BigEndian.AppendUint64(clientPrefix(client, 8), seq)
}

func inKey(client string, id uint16) []byte {
	return binary.BigEndian.AppendUint16(clientPrefix(client, 2), id)
}

// splitKey splits an out or in key into the client's name key and the
// suffix, which must be n bytes long.
func splitKey(k []byte, n int) (name, suffix []byte, ok bool) {
	if len(k) < 2 {
		return nil, nil, false
	}
	l := int(binary.BigEndian.Uint16(k))
	if l == 0 || len(k) != 2+l+n {
		return nil, nil, false
	}
	return k[2 : 2+l], k[2+l:], true
}

func boltErr(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrStoreClosed
	}
	return err
}

type boltTx struct {
	retained, sessions, out, in *bolt.Bucket
}

func (s *boltStore) Apply(b *Batch) error {
	if err := b.validate(); err != nil {
		return err
	}
	return boltErr(s.db.Update(func(tx *bolt.Tx) error {
		t := boltTx{
			retained: tx.Bucket(bucketRetained),
			sessions: tx.Bucket(bucketSessions),
			out:      tx.Bucket(bucketOut),
			in:       tx.Bucket(bucketIn),
		}
		for i := range b.Len() {
			if err := t.apply(&b.ops[i]); err != nil {
				return fmt.Errorf("op %d (%s): %w", i, b.ops[i].kind, err)
			}
		}
		return nil
	}))
}

// apply writes one op. Keys and values are fresh slices because bbolt keeps
// them until the transaction commits.
func (t *boltTx) apply(o *op) error {
	switch o.kind {
	case opPutRetained:
		return t.retained.Put(nameKey(o.msg.Topic), encodeMessage(o.msg))
	case opDeleteRetained:
		return t.retained.Delete(nameKey(o.key))
	case opPutSession:
		return t.sessions.Put(nameKey(o.key), encodeSessionRecord(SessionRecord{ClientID: o.key, Subscriptions: o.subs}))
	case opDeleteSession:
		if err := t.sessions.Delete(nameKey(o.key)); err != nil {
			return err
		}
		prefix := clientPrefix(o.key, 0)
		if err := deletePrefix(t.out, prefix); err != nil {
			return err
		}
		return deletePrefix(t.in, prefix)
	case opPutOut:
		if t.sessions.Get(nameKey(o.key)) == nil {
			return fmt.Errorf("%w: client %q", ErrNoSession, o.key)
		}
		return t.out.Put(outKey(o.key, o.seq), encodeOutRecord(o.outRecord()))
	case opDeleteOut:
		return t.out.Delete(outKey(o.key, o.seq))
	case opPutInbound:
		if t.sessions.Get(nameKey(o.key)) == nil {
			return fmt.Errorf("%w: client %q", ErrNoSession, o.key)
		}
		return t.in.Put(inKey(o.key, o.id), []byte{})
	case opDeleteInbound:
		return t.in.Delete(inKey(o.key, o.id))
	}
	return fmt.Errorf("unknown operation %d", o.kind)
}

// deletePrefix deletes every key starting with prefix. It seeks afresh after
// each delete rather than trusting a cursor across deletions.
func deletePrefix(b *bolt.Bucket, prefix []byte) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Seek(prefix) {
		if err := c.Delete(); err != nil {
			return err
		}
	}
	return nil
}

// corrupt names the bucket and key, so that an operator can find the damaged
// record (e.g. with `bbolt get`).
func corrupt(bucket []byte, key []byte, err error) error {
	return fmt.Errorf("%w: bucket %s key %q: %v", ErrCorrupt, bucket, key, err)
}

func (s *boltStore) Load() (*Snapshot, error) {
	snap := &Snapshot{}
	err := s.db.View(func(tx *bolt.Tx) error {
		err := tx.Bucket(bucketRetained).ForEach(func(k, v []byte) error {
			m, err := decodeMessage(v)
			if err != nil {
				return corrupt(bucketRetained, k, err)
			}
			if !bytes.Equal(k, nameKey(m.Topic)) {
				return corrupt(bucketRetained, k, fmt.Errorf("record is for topic %q", m.Topic))
			}
			snap.Retained = append(snap.Retained, m)
			return nil
		})
		if err != nil {
			return err
		}
		byName := map[string]int{} // name key → index in snap.Sessions
		err = tx.Bucket(bucketSessions).ForEach(func(k, v []byte) error {
			if v == nil {
				return corrupt(bucketSessions, k, errors.New("nested bucket where a session record belongs"))
			}
			rec, err := decodeSessionRecord(v)
			if err != nil {
				return corrupt(bucketSessions, k, err)
			}
			if !bytes.Equal(k, nameKey(rec.ClientID)) {
				return corrupt(bucketSessions, k, fmt.Errorf("record is for client %q", rec.ClientID))
			}
			byName[string(k)] = len(snap.Sessions)
			snap.Sessions = append(snap.Sessions, SessionState{Session: rec})
			return nil
		})
		if err != nil {
			return err
		}
		// Keys sort by client then big-endian seq / ID, so appending keeps
		// each session's records in order.
		err = tx.Bucket(bucketOut).ForEach(func(k, v []byte) error {
			name, suffix, ok := splitKey(k, 8)
			if !ok {
				return corrupt(bucketOut, k, errors.New("malformed key"))
			}
			i, ok := byName[string(name)]
			if !ok {
				return corrupt(bucketOut, k, errors.New("no session record for this client"))
			}
			if v == nil {
				return corrupt(bucketOut, k, errors.New("nested bucket where a record belongs"))
			}
			r, err := decodeOutRecord(v)
			if err != nil {
				return corrupt(bucketOut, k, err)
			}
			if seq := binary.BigEndian.Uint64(suffix); r.Seq != seq {
				return corrupt(bucketOut, k, fmt.Errorf("record has seq %d, key has %d", r.Seq, seq))
			}
			snap.Sessions[i].Out = append(snap.Sessions[i].Out, r)
			return nil
		})
		if err != nil {
			return err
		}
		return tx.Bucket(bucketIn).ForEach(func(k, v []byte) error {
			name, suffix, ok := splitKey(k, 2)
			if !ok {
				return corrupt(bucketIn, k, errors.New("malformed key"))
			}
			i, ok := byName[string(name)]
			if !ok {
				return corrupt(bucketIn, k, errors.New("no session record for this client"))
			}
			id := binary.BigEndian.Uint16(suffix)
			// v == nil means a nested bucket, which has no place here.
			if id == 0 || v == nil || len(v) != 0 {
				return corrupt(bucketIn, k, errors.New("want a non-zero packet ID and an empty value"))
			}
			snap.Sessions[i].Inbound = append(snap.Sessions[i].Inbound, id)
			return nil
		})
	})
	if err != nil {
		return nil, boltErr(err)
	}
	// Keys are not in name order (hashed names, length prefixes), so sort.
	slices.SortFunc(snap.Retained, func(a, b Message) int { return cmp.Compare(a.Topic, b.Topic) })
	slices.SortFunc(snap.Sessions, func(a, b SessionState) int {
		return cmp.Compare(a.Session.ClientID, b.Session.ClientID)
	})
	return snap, nil
}

func (s *boltStore) Close() error {
	return s.db.Close()
}
