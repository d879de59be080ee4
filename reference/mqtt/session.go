package mqtt

import (
	"sync"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	"github.com/wirecheck/wirecheck/reference/mqtt/store"
)

// message is one accepted PUBLISH, shared by every subscriber it goes to.
type message struct {
	topic   string
	payload []byte
	qos     byte
	retain  bool

	once sync.Once
	qos0 []byte // encoded as a live QoS 0 PUBLISH, built once for fan-out
}

func (m *message) encodedQoS0() []byte {
	m.once.Do(func() {
		m.qos0, _ = (&packets.Publish{Topic: m.topic, Payload: m.payload}).AppendTo(nil)
	})
	return m.qos0
}

func (m *message) record() store.Message {
	return store.Message{Topic: m.topic, Payload: m.payload, QoS: m.qos, Retain: m.retain}
}

// record is om as stored: QoS and RETAIN as delivered, not as published.
func (om *outMsg) record() store.OutRecord {
	return store.OutRecord{Seq: om.seq, PacketID: om.pid, Pubrel: om.pubrel,
		Msg: store.Message{Topic: om.msg.topic, Payload: om.msg.payload, QoS: om.qos, Retain: om.retain}}
}

// outMsg is a QoS 1/2 message on its way to one session.
type outMsg struct {
	seq    uint64
	msg    *message
	qos    byte
	retain bool   // RETAIN flag to send: set only for retained-on-subscribe [MQTT-3.3.1-8]
	pid    uint16 // 0 while queued
	pubrel bool   // PUBREC received, PUBREL sent
}

// session is the state the server keeps per client ID (§4.1). A persistent
// session outlives its connections [MQTT-3.1.2-4].
type session struct {
	id         string
	persistent bool

	mu       sync.Mutex
	conn     *conn
	username string
	subs     map[string]byte
	nextSeq  uint64
	nextID   uint16
	inflight []*outMsg // in send order, for resend on resume [MQTT-4.4.0-1]
	byID     map[uint16]*outMsg
	queue    []*outMsg // waiting for room in the in-flight window
	inbound  map[uint16]struct{}
	dropped  uint64
	// restored is set for a session loaded from the store until its client
	// reconnects: the store does not keep user names, so until then the
	// ACL read check is deferred to resume (see recheckQueueLocked).
	restored bool
}

func newSession(id string, persistent bool) *session {
	return &session{id: id, persistent: persistent, subs: map[string]byte{},
		byID: map[uint16]*outMsg{}, inbound: map[uint16]struct{}{}}
}

// reserve assigns a sequence number for a message that will be delivered
// once its batch is durable.
func (s *session) reserve() uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.nextSeq++
	return s.nextSeq
}

// allocID picks a packet identifier that is non-zero and not in flight
// [MQTT-2.3.1-1] [MQTT-2.3.1-4]. Called with s.mu held and room in the window.
func (s *session) allocID() uint16 {
	for {
		s.nextID++
		if s.nextID == 0 {
			s.nextID = 1
		}
		if _, used := s.byID[s.nextID]; !used {
			return s.nextID
		}
	}
}

// publishPacket builds the PUBLISH for om; dup marks a resend [MQTT-3.3.1-1],
// set by our own retransmission state only [MQTT-3.3.1-3].
func (om *outMsg) publishPacket(dup bool) *packets.Publish {
	return &packets.Publish{Topic: om.msg.topic, Payload: om.msg.payload, QoS: om.qos,
		Retain: om.retain, PacketID: om.pid, Dup: dup}
}
