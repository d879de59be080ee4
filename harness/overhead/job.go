package overhead

import (
	"crypto/tls"
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/harness/capture"
)

// experiment is one capture session (one pcapng) and the jobs run in it.
type experiment struct {
	name string
	o    *Options
	fix  *fixtures
	sess *capture.Session
	jobs []*job
}

// wrap passes a client connection through the socket counter in
// payload-only mode; in capture mode it is the connection itself.
func (e *experiment) wrap(nc net.Conn, server netip.AddrPort) net.Conn {
	if e.sess != nil && e.sess.PayloadOnly() {
		return e.sess.Wrap(nc, server, capture.ToServer)
	}
	return nc
}

// job is one row's worth of measurement: one protocol over one variant
// doing one kind of event, on its own connections. Jobs of an experiment
// run concurrently; a job's packets are told apart by their client
// addresses (every connection the job opens) and its time windows.
type job struct {
	exp *experiment
	id  int // makes topics and client IDs unique, with a fixed length

	// What the row says.
	experiment string
	proto      string // "mqtt" or "https"
	v          Variant
	ep         endpoint
	event      string
	mode       string // maintain over HTTPS: "reconnect" or "keepalive"
	keepalive  int    // seconds (maintain), else 0
	qos        int    // MQTT QoS (send, receive, shapes), else -1
	payload    int    // message size in bytes (send, receive, shapes)
	note       string // what the event is made of

	run func(j *job) error

	mu      sync.Mutex
	clients map[netip.AddrPort]bool
	spans   []span
	events  int
	state   *tls.ConnectionState
	err     error
}

// span is a measured time window holding n events.
type span struct{ from, to time.Time }

func (j *job) addClient(a netip.AddrPort) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.clients == nil {
		j.clients = map[netip.AddrPort]bool{}
	}
	j.clients[a] = true
}

// noteTLS keeps the first handshake's state: the key exchange and cipher
// suite when the capture cannot see them.
func (j *job) noteTLS(st tls.ConnectionState) {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.state == nil {
		j.state = &st
	}
}

// measure brackets events: it waits for quiescence (the settle time, so
// that late ACKs of what came before fall outside), runs fn, waits for
// quiescence again (the last ACK) and records the window as holding n
// events.
func (j *job) measure(n int, fn func() error) error {
	time.Sleep(j.exp.o.Settle)
	from := time.Now()
	err := fn()
	if err != nil {
		return err
	}
	time.Sleep(j.exp.o.Settle)
	j.record(from, time.Now(), n)
	return nil
}

// record adds a window holding n events, measured by the caller.
func (j *job) record(from, to time.Time, n int) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.spans = append(j.spans, span{from: from, to: to})
	j.events += n
}

// sleepUntil sleeps until t (no-op if t has passed).
func sleepUntil(t time.Time) { time.Sleep(time.Until(t)) }

// keep selects the job's packets: on its server port, of its
// connections, inside one of its windows.
func (j *job) keep() capture.Filter {
	j.mu.Lock()
	defer j.mu.Unlock()
	clients := make(map[netip.AddrPort]bool, len(j.clients))
	for c := range j.clients {
		clients[c] = true
	}
	windows := make([]capture.Filter, len(j.spans))
	for i, s := range j.spans {
		windows[i] = capture.Between(s.from, s.to)
	}
	return capture.And(
		capture.ServerPort(j.ep.addr.Port()),
		func(p capture.Packet) bool { return clients[p.Client] },
		func(p capture.Packet) bool {
			for _, in := range windows {
				if in(p) {
					return true
				}
			}
			return false
		})
}

// wallInterval is the wall-clock length of a keepalive interval of ka
// seconds at the run's time scale.
func (j *job) wallInterval() time.Duration {
	return time.Duration(float64(j.keepalive) * j.exp.o.TimeScale * float64(time.Second))
}
