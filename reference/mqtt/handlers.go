package mqtt

import (
	"fmt"
	"strings"

	"github.com/wirecheck/wirecheck/reference/mqtt/auth"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	"github.com/wirecheck/wirecheck/reference/mqtt/store"
)

// handle dispatches one packet received after CONNECT. A returned error
// closes the connection [MQTT-4.8.0-1].
func (c *conn) handle(p packets.Packet) error {
	switch p := p.(type) {
	case *packets.Publish:
		return c.onPublish(p)
	case *packets.Puback:
		c.srv.acked(c.sess, p.PacketID, 1)
	case *packets.Pubrec:
		c.srv.received(c.sess, c, p.PacketID)
	case *packets.Pubrel:
		c.onPubrel(p)
	case *packets.Pubcomp:
		c.srv.acked(c.sess, p.PacketID, 2)
	case *packets.Subscribe:
		c.onSubscribe(p)
	case *packets.Unsubscribe:
		c.onUnsubscribe(p)
	case *packets.Pingreq:
		c.out.send(&packets.Pingresp{}, false) // [MQTT-3.12.4-1]
	case *packets.Disconnect:
		c.mu.Lock()
		c.graceful = true
		if !c.srv.opts.Faults.KeepWillOnDisconnect {
			c.will = nil // [MQTT-3.14.4-3] [MQTT-3.1.2-10]
		}
		c.mu.Unlock()
	case *packets.Connect:
		if c.srv.opts.Faults.AcceptSecondConnect {
			return nil
		}
		return errSecondConnect // [MQTT-3.1.0-2]
	default:
		return fmt.Errorf("%w: %v", errUnexpected, p.Type())
	}
	return nil
}

// onPublish accepts an inbound PUBLISH and acknowledges it per its QoS
// [MQTT-3.3.4-1] once its effects are durable.
func (c *conn) onPublish(p *packets.Publish) error {
	srv := c.srv
	srv.stats.msgsReceived.Add(1)
	ack := c.ackFor(p)
	if !c.mayPublish(p.Topic) {
		// [MQTT-3.3.5-2] acknowledge normally, deliver nowhere.
		c.log.Info("publish denied", "topic", p.Topic)
		srv.commit.Submit(&store.Batch{}, ack)
		return nil
	}
	var b *store.Batch
	if p.QoS == 2 {
		s := c.sess
		s.mu.Lock()
		_, dup := s.inbound[p.PacketID]
		dup = dup && !srv.opts.Faults.DeliverDuplicateQoS2
		if !dup {
			s.inbound[p.PacketID] = struct{}{}
		}
		s.mu.Unlock()
		if dup {
			// [MQTT-4.3.3-2] already accepted: PUBREC again, no second delivery.
			srv.commit.Submit(&store.Batch{}, ack)
			return nil
		}
		if s.persistent && srv.durable() {
			b = &store.Batch{}
			b.PutInbound(s.id, p.PacketID)
		}
	}
	m := &message{topic: p.Topic, payload: p.Payload, qos: p.QoS, retain: p.Retain}
	srv.publish(m, b, ack)
	return nil
}

// ackFor returns what to send once p is accepted (nil for QoS 0).
func (c *conn) ackFor(p *packets.Publish) func(error) {
	var ack packets.Packet
	switch p.QoS {
	case 0:
		return nil
	case 1:
		ack = &packets.Puback{PacketID: p.PacketID}
	case 2:
		ack = &packets.Pubrec{PacketID: p.PacketID}
	}
	return func(err error) {
		if err != nil {
			// Not durable, so not acknowledged: the client will resend.
			c.kick("store commit failed: " + err.Error())
			return
		}
		c.out.send(ack, false) // [MQTT-2.3.1-6]
	}
}

// mayPublish applies $SYS protection and the ACL.
func (c *conn) mayPublish(topic string) bool {
	if strings.HasPrefix(topic, "$SYS") {
		return false // $SYS is the broker's own
	}
	acl := c.srv.opts.ACL
	return acl == nil || acl.Allowed(c.clientID, c.username, topic, auth.Write)
}

// onPubrel releases a QoS 2 packet ID: from now on the same ID is a new
// message [MQTT-4.3.3-2].
func (c *conn) onPubrel(p *packets.Pubrel) {
	s := c.sess
	s.mu.Lock()
	delete(s.inbound, p.PacketID)
	s.mu.Unlock()
	b := &store.Batch{}
	if s.persistent && c.srv.durable() {
		b.DeleteInbound(s.id, p.PacketID)
	}
	c.srv.commit.Submit(b, func(err error) {
		if err == nil {
			c.out.send(&packets.Pubcomp{PacketID: p.PacketID}, false)
		}
	})
}

func (c *conn) onSubscribe(p *packets.Subscribe) {
	srv, s := c.srv, c.sess
	codes := make([]byte, len(p.Subscriptions))
	var granted []packets.Subscription
	// [MQTT-3.8.4-4] each filter is handled as if in its own SUBSCRIBE.
	for i, sub := range p.Subscriptions {
		if srv.opts.ACL != nil && !srv.opts.ACL.CanSubscribe(c.clientID, c.username, sub.Filter) {
			codes[i] = packets.SubackFailure // [MQTT-3.8.4-5]
			continue
		}
		codes[i] = sub.QoS // the broker supports QoS 2, so it grants what is asked
		granted = append(granted, sub)
	}
	// The tree is never locked while s.mu is held: routing locks them the
	// other way round.
	for _, g := range granted {
		srv.subs.add(g.Filter, s, g.QoS) // [MQTT-3.8.4-3] replaces an identical filter
	}
	s.mu.Lock()
	for _, g := range granted {
		s.subs[g.Filter] = g.QoS
	}
	b := srv.sessionRecordLocked(s)
	s.mu.Unlock()
	srv.commit.Submit(b, func(err error) {
		if err != nil {
			c.kick("store commit failed: " + err.Error())
			return
		}
		// [MQTT-3.8.4-1] [MQTT-3.8.4-2] [MQTT-3.9.3-1]
		id := p.PacketID
		if srv.opts.Faults.SubackWrongID {
			id++
		}
		c.out.send(&packets.Suback{PacketID: id, ReturnCodes: codes}, false)
		for _, g := range granted {
			srv.sendRetained(s, g)
		}
	})
}

// sendRetained delivers the retained messages matching a new subscription
// with RETAIN=1 [MQTT-3.3.1-6] [MQTT-3.3.1-8].
func (srv *Server) sendRetained(s *session, sub packets.Subscription) {
	for _, m := range srv.retained.match(sub.Filter) {
		if srv.opts.ACL != nil && !srv.opts.ACL.Allowed(s.id, s.user(), m.topic, auth.Read) {
			continue
		}
		om := &outMsg{msg: m, qos: min(m.qos, sub.QoS), retain: true}
		b := &store.Batch{}
		if om.qos > 0 && s.persistent && srv.durable() {
			om.seq = s.reserve()
			b.PutOut(s.id, om.record())
		}
		srv.persistAsync(b)
		srv.deliver(s, om)
	}
}

func (c *conn) onUnsubscribe(p *packets.Unsubscribe) {
	srv, s := c.srv, c.sess
	s.mu.Lock()
	for _, f := range p.Filters {
		delete(s.subs, f)
	}
	b := srv.sessionRecordLocked(s)
	s.mu.Unlock()
	for _, f := range p.Filters {
		// [MQTT-3.10.4-1] literal comparison; in-flight messages still
		// complete [MQTT-3.10.4-3].
		srv.subs.remove(f, s)
	}
	srv.commit.Submit(b, func(err error) {
		if err == nil { // [MQTT-3.10.4-4] [MQTT-3.10.4-5] [MQTT-3.10.4-6]
			c.out.send(&packets.Unsuback{PacketID: p.PacketID}, false)
		}
	})
}

// sessionRecordLocked returns a batch saving s's subscriptions, empty for a
// clean or in-memory session. s.mu is held.
func (srv *Server) sessionRecordLocked(s *session) *store.Batch {
	b := &store.Batch{}
	if s.persistent && srv.durable() {
		subs := make(map[string]byte, len(s.subs))
		for f, q := range s.subs {
			subs[f] = q
		}
		b.PutSession(store.SessionRecord{ClientID: s.id, Subscriptions: subs})
	}
	return b
}
