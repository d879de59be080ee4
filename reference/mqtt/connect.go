package mqtt

import (
	"crypto/rand"
	"encoding/hex"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	"github.com/wirecheck/wirecheck/reference/mqtt/store"
)

// connect handles a valid CONNECT: authenticate, attach a session, CONNACK.
func (c *conn) connect(p *packets.Connect) error {
	refuse := func(code byte, why string) error {
		// [MQTT-3.2.2-4] session present is 0; [MQTT-3.2.2-5] then close.
		c.out.send(&packets.Connack{ReturnCode: code}, false)
		c.log.Info("refused", "client", p.ClientID, "code", code, "reason", why)
		return errRefused // [MQTT-3.1.4-5] nothing after it is processed
	}
	id := p.ClientID
	if id == "" {
		if !p.CleanSession {
			return refuse(packets.RefusedIdentifierRejected, "empty client ID with a persistent session") // [MQTT-3.1.3-8]
		}
		id = assignID() // [MQTT-3.1.3-6]
	}
	if code, why := c.srv.authenticate(p); code != packets.Accepted {
		return refuse(code, why)
	}
	c.clientID, c.username = id, p.Username
	c.keepAlive = time.Duration(p.KeepAlive) * time.Second
	c.log = c.log.With("client", id)
	if p.WillFlag {
		// [MQTT-3.1.2-8] kept until published or discarded; QoS and RETAIN as
		// asked [MQTT-3.1.2-16] [MQTT-3.1.2-17].
		c.will = &message{topic: p.WillTopic, payload: p.WillMessage, qos: p.WillQoS, retain: p.WillRetain}
	}
	s, present := c.srv.attach(c, id, p.CleanSession)
	c.sess = s
	c.srv.stats.clientsConnected.Add(1)
	c.srv.stats.clientsTotal.Add(1)
	c.log.Debug("connected", "clean", p.CleanSession, "keepalive", p.KeepAlive, "session_present", present)
	return nil
}

// assignID makes a unique client ID for an empty one.
func assignID() string {
	var b [12]byte
	rand.Read(b[:])
	return "wc-" + hex.EncodeToString(b[:])
}

// authenticate checks credentials: CONNACK 4 for a bad user name or
// password, 5 for an anonymous client when anonymous access is off.
func (srv *Server) authenticate(p *packets.Connect) (byte, string) {
	if !p.UsernameFlag {
		if !srv.opts.AllowAnonymous {
			return packets.RefusedNotAuthorized, "anonymous clients not allowed"
		}
		return packets.Accepted, ""
	}
	if srv.opts.Passwords == nil {
		if srv.opts.AllowAnonymous {
			return packets.Accepted, "" // no password file: user names are informational
		}
		return packets.RefusedNotAuthorized, "no password file and anonymous access off"
	}
	if !srv.opts.Passwords.Check(p.Username, p.Password) && !srv.opts.Faults.AcceptAnyPassword {
		return packets.RefusedBadUsernamePassword, "bad user name or password"
	}
	return packets.Accepted, ""
}

// attach binds c to the session for id, taking over any connection that
// holds it [MQTT-3.1.4-2], and applies CleanSession [MQTT-3.1.4-3].
func (srv *Server) attach(c *conn, id string, clean bool) (s *session, present bool) {
	for {
		srv.mu.Lock()
		old := srv.sessions[id]
		if old != nil {
			old.mu.Lock()
			oc := old.conn
			old.mu.Unlock()
			if oc != nil {
				srv.mu.Unlock()
				oc.kick("session taken over")
				select {
				case <-oc.done:
				case <-time.After(2 * flushTimeout):
				}
				if oc.isDone() {
					continue
				}
				srv.mu.Lock()
			}
		}
		b := &store.Batch{}
		if old != nil && (clean || !old.persistent) {
			// [MQTT-3.1.2-6] a clean start discards the old session.
			srv.dropSessionLocked(old, b)
			old = nil
		}
		if old != nil && !clean {
			s, present = old, true // [MQTT-3.2.2-2]
		} else {
			s = newSession(id, !clean) // [MQTT-3.2.2-1] [MQTT-3.2.2-3]
			srv.sessions[id] = s
			if !clean && srv.durable() {
				b.PutSession(store.SessionRecord{ClientID: id, Subscriptions: map[string]byte{}})
			}
		}
		s.mu.Lock()
		s.conn = c
		s.username = c.username
		// Under s.mu, together with s.conn = c, so that nothing routed to the
		// session can overtake them: [MQTT-3.2.0-1] CONNACK first
		// ([MQTT-3.2.2-1..3] session present), then the resends [MQTT-4.4.0-1].
		c.out.send(&packets.Connack{SessionPresent: present && !srv.opts.Faults.NoSessionPresent, ReturnCode: packets.Accepted}, false)
		if present {
			srv.resumeLocked(s, b)
		}
		s.mu.Unlock()
		srv.mu.Unlock()
		srv.persistAsync(b)
		return s, present
	}
}

func (c *conn) isDone() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// dropSessionLocked removes s and its subscriptions. srv.mu is held.
func (srv *Server) dropSessionLocked(s *session, b *store.Batch) {
	s.mu.Lock()
	filters := make([]string, 0, len(s.subs))
	for f := range s.subs {
		filters = append(filters, f)
	}
	persistent := s.persistent
	s.mu.Unlock()
	for _, f := range filters {
		srv.subs.remove(f, s)
	}
	if srv.sessions[s.id] == s {
		delete(srv.sessions, s.id)
	}
	if persistent && srv.durable() {
		b.DeleteSession(s.id)
	}
}

// detach unbinds c from its session; a clean session ends with its
// connection [MQTT-3.1.2-6].
func (srv *Server) detach(c *conn) {
	s := c.sess
	s.mu.Lock()
	if s.conn != c {
		s.mu.Unlock()
		return // already taken over
	}
	s.conn = nil
	persistent := s.persistent
	s.mu.Unlock()
	if !persistent {
		srv.mu.Lock()
		srv.dropSessionLocked(s, nil)
		srv.mu.Unlock()
	}
}
