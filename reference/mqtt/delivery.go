package mqtt

import (
	"github.com/wirecheck/wirecheck/reference/mqtt/auth"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	"github.com/wirecheck/wirecheck/reference/mqtt/store"
)

// delivery is one message bound for one session.
type delivery struct {
	s  *session
	om *outMsg
}

// plan finds every session m goes to [MQTT-4.5.0-1] and adds what must be
// durable before anyone is told about m to b.
func (srv *Server) plan(m *message, b *store.Batch) []delivery {
	var ds []delivery
	srv.subs.match(m.topic, func(s *session, granted byte) {
		if srv.opts.ACL != nil {
			// A restored session's user is not known yet: queue now, check
			// at resume.
			if user, known := s.aclUser(); known && !srv.opts.ACL.Allowed(s.id, user, m.topic, auth.Read) {
				return
			}
		}
		om := &outMsg{msg: m, qos: min(m.qos, granted)} // [MQTT-3.8.4-6]
		if srv.opts.Faults.UpgradeQoS {
			om.qos = granted
		}
		om.retain = m.retain && srv.opts.Faults.RetainOnLive // else RETAIN=0 [MQTT-3.3.1-9]
		if om.qos > 0 && s.persistent && srv.durable() && b != nil {
			// Its own batch, submitted before the publisher's: durable before
			// the PUBACK, yet a session deleted meanwhile (ErrNoSession)
			// fails only this record, not the publish.
			om.seq = s.reserve()
			sb := &store.Batch{}
			sb.PutOut(s.id, om.record())
			srv.commit.Submit(sb, srv.logCommitErr)
		}
		ds = append(ds, delivery{s, om})
	})
	if m.retain && b != nil {
		// [MQTT-3.3.1-5] [MQTT-3.3.1-10] [MQTT-3.3.1-11]
		if len(m.payload) == 0 {
			b.DeleteRetained(m.topic)
		} else {
			b.PutRetained(m.record())
		}
	}
	return ds
}

// publish routes m once it is durable, then runs after (the acknowledgement
// to the publisher). In memory mode this happens before publish returns.
func (srv *Server) publish(m *message, b *store.Batch, after func(error)) {
	if b == nil {
		b = &store.Batch{}
	}
	ds := srv.plan(m, b)
	srv.commit.Submit(b, func(err error) {
		if err == nil {
			if m.retain {
				srv.retained.set(m)
			}
			for _, d := range ds {
				srv.deliver(d.s, d.om)
			}
		}
		if after != nil {
			after(err)
		}
	})
}

// deliver hands om to s: QoS 0 straight to its connection, QoS 1/2 into the
// in-flight window, else the bounded queue; what overflows is counted.
func (srv *Server) deliver(s *session, om *outMsg) {
	s.mu.Lock()
	c := s.conn
	if om.qos == 0 {
		s.mu.Unlock()
		if c == nil {
			return // QoS 0 is not queued for offline sessions (an allowed choice)
		}
		var ok bool
		if om.retain {
			ok = c.out.send(om.publishPacket(false), true)
		} else {
			ok = c.out.sendEncoded(om.msg.encodedQoS0())
		}
		if ok {
			srv.stats.msgsSent.Add(1)
		} else {
			srv.stats.dropped.Add(1)
		}
		return
	}
	b := &store.Batch{}
	switch {
	case c == nil && srv.opts.Faults.NoOfflineQueue:
	case c != nil && len(s.queue) == 0 && len(s.inflight) < srv.opts.MaxInflight:
		srv.sendLocked(s, c, om, b)
	case len(s.queue) < srv.opts.MaxQueued:
		s.queue = append(s.queue, om)
	default:
		s.dropped++
		srv.stats.dropped.Add(1)
		if om.seq != 0 {
			b.DeleteOut(s.id, om.seq)
		}
	}
	s.mu.Unlock()
	srv.persistAsync(b)
}

// sendLocked gives om a packet ID and sends it. s.mu is held.
func (srv *Server) sendLocked(s *session, c *conn, om *outMsg, b *store.Batch) {
	om.pid = s.allocID()
	if srv.opts.Faults.ReuseInflightID {
		om.pid = 1
	}
	s.byID[om.pid] = om
	s.inflight = append(s.inflight, om)
	if c.out.send(om.publishPacket(false), false) {
		srv.stats.msgsSent.Add(1)
	}
	if om.seq != 0 {
		b.PutOut(s.id, om.record())
	}
}

// fillLocked moves queued messages into the in-flight window.
func (srv *Server) fillLocked(s *session, b *store.Batch) {
	for s.conn != nil && len(s.queue) > 0 && len(s.inflight) < srv.opts.MaxInflight {
		om := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		srv.sendLocked(s, s.conn, om, b)
	}
}

// resumeLocked resends what was in flight, in order, with DUP set, and PUBREL
// where PUBREC had arrived [MQTT-4.4.0-1], then fills the window.
func (srv *Server) resumeLocked(s *session, b *store.Batch) {
	if s.restored {
		s.restored = false
		srv.recheckQueueLocked(s, b)
	}
	for _, om := range s.inflight {
		if om.pubrel {
			s.conn.out.send(&packets.Pubrel{PacketID: om.pid}, false)
		} else {
			s.conn.out.send(om.publishPacket(true), false)
		}
	}
	srv.fillLocked(s, b)
}

// recheckQueueLocked applies the ACL read check, with the user name the
// client has just connected with, to the messages queued for a session
// restored from the store; denied ones are dropped. s.mu is held.
func (srv *Server) recheckQueueLocked(s *session, b *store.Batch) {
	if srv.opts.ACL == nil {
		return
	}
	kept := s.queue[:0]
	for _, om := range s.queue {
		if srv.opts.ACL.Allowed(s.id, s.username, om.msg.topic, auth.Read) {
			kept = append(kept, om)
		} else if om.seq != 0 {
			b.DeleteOut(s.id, om.seq)
		}
	}
	clear(s.queue[len(kept):])
	s.queue = kept
}

// acked completes the flow of pid (PUBACK for QoS 1, PUBCOMP for QoS 2).
func (srv *Server) acked(s *session, pid uint16, qos byte) {
	b := &store.Batch{}
	s.mu.Lock()
	om := s.byID[pid]
	if om != nil && om.qos == qos && (qos == 1 || om.pubrel) {
		delete(s.byID, pid) // the ID is free for reuse now [MQTT-2.3.1-3]
		s.removeInflight(om)
		if om.seq != 0 {
			b.DeleteOut(s.id, om.seq)
		}
		srv.fillLocked(s, b)
	}
	s.mu.Unlock()
	srv.persistAsync(b)
}

// received handles PUBREC: the message is no longer resent, PUBREL is
// [MQTT-4.3.3-1].
func (srv *Server) received(s *session, c *conn, pid uint16) {
	b := &store.Batch{}
	s.mu.Lock()
	if om := s.byID[pid]; om != nil && om.qos == 2 && !om.pubrel {
		om.pubrel = true
		if om.seq != 0 {
			b.PutOut(s.id, om.record())
		}
	}
	s.mu.Unlock()
	c.out.send(&packets.Pubrel{PacketID: pid}, false) // [MQTT-2.3.1-6]
	srv.persistAsync(b)
}

func (s *session) removeInflight(om *outMsg) {
	for i, x := range s.inflight {
		if x == om {
			copy(s.inflight[i:], s.inflight[i+1:])
			s.inflight[len(s.inflight)-1] = nil
			s.inflight = s.inflight[:len(s.inflight)-1]
			return
		}
	}
}

// aclUser returns the user name to check the ACL with; known is false for a
// session restored from the store whose client has not reconnected yet.
func (s *session) aclUser() (user string, known bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.username, !s.restored
}

func (s *session) user() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.username
}

// persistAsync commits session bookkeeping that nobody waits for.
func (srv *Server) persistAsync(b *store.Batch) {
	if b != nil && b.Len() > 0 && srv.durable() {
		srv.commit.Submit(b, srv.logCommitErr)
	}
}
