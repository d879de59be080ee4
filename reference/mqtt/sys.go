package mqtt

import (
	"strconv"
	"time"
)

// Stats is a snapshot of the broker's counters, also published under $SYS.
type Stats struct {
	ClientsConnected int64
	ClientsTotal     uint64
	MessagesReceived uint64
	MessagesSent     uint64
	MessagesDropped  uint64
	BytesReceived    uint64
	BytesSent        uint64
	Subscriptions    int
	Retained         int
	Uptime           time.Duration
}

// Stats returns the current counters.
func (srv *Server) Stats() Stats {
	return Stats{
		ClientsConnected: srv.stats.clientsConnected.Load(),
		ClientsTotal:     srv.stats.clientsTotal.Load(),
		MessagesReceived: srv.stats.msgsReceived.Load(),
		MessagesSent:     srv.stats.msgsSent.Load(),
		MessagesDropped:  srv.stats.dropped.Load(),
		BytesReceived:    srv.stats.bytesReceived.Load(),
		BytesSent:        srv.stats.bytesSent.Load(),
		Subscriptions:    srv.subs.len(),
		Retained:         srv.retained.len(),
		Uptime:           time.Since(srv.started),
	}
}

// startSys publishes $SYS/broker/... every SysInterval, retained so a new
// subscriber sees the latest values at once.
func (srv *Server) startSys() {
	if srv.opts.SysInterval <= 0 || srv.sysDone != nil {
		return
	}
	srv.sysDone = make(chan struct{})
	go func() {
		defer close(srv.sysDone)
		t := time.NewTicker(srv.opts.SysInterval)
		defer t.Stop()
		srv.publishSys()
		for {
			select {
			case <-t.C:
				srv.publishSys()
			case <-srv.stop:
				return
			}
		}
	}()
}

func (srv *Server) publishSys() {
	st := srv.Stats()
	u := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for _, kv := range [][2]string{
		{"version", srv.opts.Version},
		{"uptime", strconv.FormatInt(int64(st.Uptime.Seconds()), 10) + " seconds"},
		{"clients/connected", strconv.FormatInt(st.ClientsConnected, 10)},
		{"clients/total", u(st.ClientsTotal)},
		{"messages/received", u(st.MessagesReceived)},
		{"messages/sent", u(st.MessagesSent)},
		{"messages/dropped", u(st.MessagesDropped)},
		{"load/bytes/received", u(st.BytesReceived)},
		{"load/bytes/sent", u(st.BytesSent)},
		{"subscriptions/count", strconv.Itoa(st.Subscriptions)},
		{"retained messages/count", strconv.Itoa(st.Retained)},
	} {
		// $SYS values are not written to the store: they are rebuilt at start.
		m := &message{topic: "$SYS/broker/" + kv[0], payload: []byte(kv[1]), retain: true}
		ds := srv.plan(m, nil)
		srv.retained.set(m)
		for _, d := range ds {
			srv.deliver(d.s, d.om)
		}
	}
}
