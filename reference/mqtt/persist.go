package mqtt

import "fmt"

// restore loads retained messages and persistent sessions from the store.
func (srv *Server) restore() error {
	snap, err := srv.store.Load()
	if err != nil {
		return fmt.Errorf("load %s: %w", srv.opts.DataDir, err)
	}
	for _, r := range snap.Retained {
		srv.retained.set(&message{topic: r.Topic, payload: r.Payload, qos: r.QoS, retain: true})
	}
	queued := 0
	for _, st := range snap.Sessions {
		s := newSession(st.Session.ClientID, true)
		s.restored = true // user name unknown until the client reconnects
		for f, q := range st.Session.Subscriptions {
			s.subs[f] = q
			srv.subs.add(f, s, q)
		}
		for _, r := range st.Out {
			om := &outMsg{seq: r.Seq, qos: r.Msg.QoS, retain: r.Msg.Retain, pid: r.PacketID, pubrel: r.Pubrel,
				msg: &message{topic: r.Msg.Topic, payload: r.Msg.Payload, qos: r.Msg.QoS}}
			if om.pid != 0 {
				s.byID[om.pid] = om
				s.inflight = append(s.inflight, om)
			} else {
				s.queue = append(s.queue, om)
			}
			s.nextSeq = max(s.nextSeq, r.Seq)
			queued++
		}
		for _, id := range st.Inbound {
			s.inbound[id] = struct{}{}
		}
		srv.sessions[s.id] = s
	}
	srv.log.Info("store loaded", "dir", srv.opts.DataDir, "retained", len(snap.Retained),
		"sessions", len(snap.Sessions), "messages", queued)
	return nil
}
