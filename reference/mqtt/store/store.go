// Package store holds the durable state of the reference MQTT 3.1.1 broker:
// retained messages, persistent sessions, the QoS 1/2 messages queued or in
// flight to those sessions, and inbound QoS 2 packet IDs awaiting PUBREL.
//
// The broker's in-memory state is authoritative while it runs; the store is a
// write-ahead mirror that is loaded once at start. Changes travel as Batches,
// and a Committer groups many Batches into one transaction so that each
// fsync acknowledges many QoS 1/2 PUBLISH packets.
package store

import (
	"errors"
	"fmt"
	"strings"
)

var (
	// ErrClosed is reported by a Committer that has been closed.
	ErrClosed = errors.New("store: committer closed")
	// ErrStoreClosed is returned by Apply and Load after Close.
	ErrStoreClosed = errors.New("store: store closed")
	// ErrNoSession is returned when an Out record or inbound ID names a
	// session that does not exist; it points at a broker bug, so it is not
	// silently turned into a new session.
	ErrNoSession = errors.New("store: no such session")
	// ErrInvalid marks an operation that can never be stored (empty client
	// ID, QoS 3, packet ID 0 …); such a batch is rejected before any write.
	ErrInvalid = errors.New("store: invalid operation")
	// ErrCorrupt marks a stored record that cannot be decoded or does not
	// match its key.
	ErrCorrupt = errors.New("store: corrupt data")
	// ErrInUse is returned by Open when another process (or another Open in
	// this one) holds the data directory.
	ErrInUse = errors.New("store: data directory in use")
	// ErrSchema is returned by Open for a database written by a newer (or
	// unknown) schema version.
	ErrSchema = errors.New("store: unsupported schema version")
)

// Message is an application message as stored: retained, or queued to a session.
// Its Payload is treated as immutable once handed to the store (brokers share
// one payload among all subscribers), so it is not copied into a Batch.
type Message struct {
	Topic   string
	Payload []byte
	QoS     byte
	Retain  bool
}

// SessionRecord is the persistent part of a session apart from its messages.
type SessionRecord struct {
	ClientID      string
	Subscriptions map[string]byte // filter → granted QoS
}

// OutRecord is a message queued or in flight to a persistent session.
type OutRecord struct {
	Seq      uint64 // per-session monotonic order key assigned by the broker
	Msg      Message
	PacketID uint16 // 0 while queued (not yet sent)
	Pubrel   bool   // PUBREC received, PUBREL sent, awaiting PUBCOMP
}

// SessionState is one session as loaded at start.
type SessionState struct {
	Session SessionRecord
	Out     []OutRecord // sorted by Seq
	Inbound []uint16    // sorted
}

// Snapshot is the whole durable state as loaded at start. Empty slices are
// nil; Subscriptions is never nil.
type Snapshot struct {
	Retained []Message      // sorted by topic
	Sessions []SessionState // sorted by client ID
}

// Store persists Batches.
type Store interface {
	// Apply applies b atomically: all of it or, on error, none of it. When it
	// returns nil the changes are durable.
	Apply(b *Batch) error
	// Load returns a copy of everything stored.
	Load() (*Snapshot, error)
	Close() error
}

type opKind uint8

const (
	opPutRetained opKind = iota + 1
	opDeleteRetained
	opPutSession
	opDeleteSession
	opPutOut
	opDeleteOut
	opPutInbound
	opDeleteInbound
)

func (k opKind) String() string {
	switch k {
	case opPutRetained:
		return "PutRetained"
	case opDeleteRetained:
		return "DeleteRetained"
	case opPutSession:
		return "PutSession"
	case opDeleteSession:
		return "DeleteSession"
	case opPutOut:
		return "PutOut"
	case opDeleteOut:
		return "DeleteOut"
	case opPutInbound:
		return "PutInbound"
	case opDeleteInbound:
		return "DeleteInbound"
	}
	return fmt.Sprintf("op(%d)", uint8(k))
}

// op is one change. key is the client ID, or the topic for DeleteRetained;
// the other fields are used as each kind needs them, which keeps a Batch one
// flat slice with no per-op allocation.
type op struct {
	kind   opKind
	pubrel bool
	id     uint16
	seq    uint64
	key    string
	msg    Message
	subs   map[string]byte
}

func (o *op) outRecord() OutRecord {
	return OutRecord{Seq: o.seq, Msg: o.msg, PacketID: o.id, Pubrel: o.pubrel}
}

// Batch is a list of operations applied atomically, in order.
// The zero value is an empty batch ready to use.
type Batch struct {
	ops []op
}

// PutRetained stores m as the retained message of m.Topic.
func (b *Batch) PutRetained(m Message) {
	b.ops = append(b.ops, op{kind: opPutRetained, msg: m})
}

// DeleteRetained removes the retained message of topic, if any.
func (b *Batch) DeleteRetained(topic string) {
	b.ops = append(b.ops, op{kind: opDeleteRetained, key: topic})
}

// PutSession creates or replaces a session record (subscriptions are replaced
// whole). The map is copied because brokers keep mutating their live one.
func (b *Batch) PutSession(s SessionRecord) {
	subs := make(map[string]byte, len(s.Subscriptions))
	for f, q := range s.Subscriptions {
		subs[f] = q
	}
	b.ops = append(b.ops, op{kind: opPutSession, key: s.ClientID, subs: subs})
}

// DeleteSession removes a session with all its Out records and Inbound IDs.
func (b *Batch) DeleteSession(clientID string) {
	b.ops = append(b.ops, op{kind: opDeleteSession, key: clientID})
}

// PutOut creates or replaces the Out record with r.Seq of a session.
func (b *Batch) PutOut(clientID string, r OutRecord) {
	b.ops = append(b.ops, op{kind: opPutOut, key: clientID, seq: r.Seq, msg: r.Msg, id: r.PacketID, pubrel: r.Pubrel})
}

// DeleteOut removes the Out record with seq of a session, if any.
func (b *Batch) DeleteOut(clientID string, seq uint64) {
	b.ops = append(b.ops, op{kind: opDeleteOut, key: clientID, seq: seq})
}

// PutInbound records an inbound QoS 2 packet ID awaiting PUBREL.
func (b *Batch) PutInbound(clientID string, packetID uint16) {
	b.ops = append(b.ops, op{kind: opPutInbound, key: clientID, id: packetID})
}

// DeleteInbound forgets an inbound QoS 2 packet ID (PUBREL received).
func (b *Batch) DeleteInbound(clientID string, packetID uint16) {
	b.ops = append(b.ops, op{kind: opDeleteInbound, key: clientID, id: packetID})
}

// Len returns the number of operations in b.
func (b *Batch) Len() int {
	if b == nil {
		return 0
	}
	return len(b.ops)
}

// Append appends o's operations to b; o is left unchanged.
func (b *Batch) Append(o *Batch) {
	if o != nil {
		b.ops = append(b.ops, o.ops...)
	}
}

// Reset empties b, keeping its capacity for reuse.
func (b *Batch) Reset() {
	clear(b.ops) // drop references to payloads and maps
	b.ops = b.ops[:0]
}

// validate checks what can be checked without the stored state, so that both
// stores reject the same batches before writing anything.
func (b *Batch) validate() error {
	if b == nil {
		return nil
	}
	for i := range b.ops {
		if err := b.ops[i].validate(); err != nil {
			return fmt.Errorf("%w: op %d (%s): %s", ErrInvalid, i, b.ops[i].kind, err)
		}
	}
	return nil
}

func (o *op) validate() error {
	switch o.kind {
	case opPutRetained:
		if err := checkName("topic", o.msg.Topic); err != nil {
			return err
		}
		return checkQoS(o.msg.QoS)
	case opDeleteRetained:
		return checkName("topic", o.key)
	case opPutSession:
		if err := checkName("client ID", o.key); err != nil {
			return err
		}
		for f, q := range o.subs {
			if f == "" {
				return errors.New("empty topic filter")
			}
			if q > 2 {
				return fmt.Errorf("filter %q: granted QoS %d", f, q)
			}
		}
		return nil
	case opDeleteSession, opDeleteOut:
		return checkName("client ID", o.key)
	case opPutOut:
		if err := checkName("client ID", o.key); err != nil {
			return err
		}
		return checkOut(o.outRecord())
	case opPutInbound, opDeleteInbound:
		if err := checkName("client ID", o.key); err != nil {
			return err
		}
		if o.id == 0 {
			return errors.New("packet ID 0") // [MQTT-2.3.1-1]
		}
		return nil
	}
	return errors.New("unknown operation")
}

// checkName rejects empty names and names containing U+0000, which MQTT
// forbids in strings [MQTT-1.5.3-2]; the bolt store relies on that to give
// over-long names a hashed key that cannot collide with a real name.
func checkName(what, s string) error {
	if s == "" {
		return fmt.Errorf("empty %s", what)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return fmt.Errorf("%s contains U+0000", what)
	}
	return nil
}

func checkQoS(q byte) error {
	if q > 2 {
		return fmt.Errorf("QoS %d", q)
	}
	return nil
}

func checkOut(r OutRecord) error {
	if err := checkName("topic", r.Msg.Topic); err != nil {
		return err
	}
	if err := checkQoS(r.Msg.QoS); err != nil {
		return err
	}
	if r.Msg.QoS == 0 && r.PacketID != 0 {
		return fmt.Errorf("QoS 0 message with packet ID %d", r.PacketID)
	}
	if r.Pubrel && (r.Msg.QoS != 2 || r.PacketID == 0) {
		return errors.New("PUBREL state needs QoS 2 and a packet ID")
	}
	return nil
}
