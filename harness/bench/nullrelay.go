package bench

import (
	"net"
	"sync"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// nullRelay is the least an MQTT server can do for the load generator:
// accept CONNECT and SUBSCRIBE, forward each PUBLISH to the subscribers of
// exactly its topic (no wildcards, no sessions, no retries) and acknowledge
// as the QoS asks. Whatever rate the load generator reaches through it is
// the most it could measure of any broker on this machine.
type nullRelay struct {
	ln     net.Listener
	mu     sync.RWMutex
	subs   map[string][]relaySub
	conns  map[*relayConn]struct{}
	closed bool // by Close: a connection accepted after it is closed at once
	wg     sync.WaitGroup
}

// relaySub is one subscription: a client and the QoS it was granted.
type relaySub struct {
	c   *relayConn
	qos byte
}

// relayConn is one client of the relay: serve reads its packets,
// writeLoop writes out what send and forward queue for it.
type relayConn struct {
	nc net.Conn

	mu     sync.Mutex
	buf    []byte
	spare  []byte
	closed bool
	wake   chan struct{}
	pid    uint16
}

func startNullRelay() (*nullRelay, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	r := &nullRelay{ln: ln, subs: map[string][]relaySub{}, conns: map[*relayConn]struct{}{}}
	r.wg.Go(func() {
		for {
			nc, err := ln.Accept()
			if err != nil {
				return
			}
			c := &relayConn{nc: nc, wake: make(chan struct{}, 1)}
			r.mu.Lock()
			r.conns[c] = struct{}{}
			if r.closed {
				// Accepted just before Close closed the listener, too late
				// for Close to see it: serve returns at once.
				nc.Close()
			}
			r.mu.Unlock()
			r.wg.Go(c.writeLoop)
			r.wg.Go(func() { r.serve(c) })
		}
	})
	return r, nil
}

func (r *nullRelay) Addr() string { return r.ln.Addr().String() }

// Close stops accepting, closes every connection and waits for all of it.
func (r *nullRelay) Close() {
	r.ln.Close()
	r.mu.Lock()
	r.closed = true
	for c := range r.conns {
		c.nc.Close()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// send appends the encoded packet to c's output; the writer sends it.
func (c *relayConn) send(b []byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.buf = append(c.buf, b...)
	c.mu.Unlock()
	c.kick()
}

// kick wakes the writer; one pending wake-up is enough.
func (c *relayConn) kick() {
	select {
	case c.wake <- struct{}{}:
	default:
	}
}

func (c *relayConn) sendAck(t packets.Type, id uint16) {
	b := ackBytes(t, id)
	c.send(b[:])
}

// forward queues p for this subscriber at qos, with an identifier of its
// own connection when qos > 0.
func (c *relayConn) forward(p *packets.Publish, qos byte) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	out := packets.Publish{Topic: p.Topic, QoS: qos, Payload: p.Payload}
	if qos > 0 {
		c.pid++
		if c.pid == 0 {
			c.pid = 1
		}
		out.PacketID = c.pid
	}
	c.buf, _ = out.AppendTo(c.buf)
	c.mu.Unlock()
	c.kick()
}

func (c *relayConn) writeLoop() {
	for range c.wake {
		c.mu.Lock()
		b, closed := c.buf, c.closed
		c.buf, c.spare = c.spare[:0], nil
		c.mu.Unlock()
		if len(b) > 0 {
			if _, err := c.nc.Write(b); err != nil {
				c.nc.Close()
			}
			c.mu.Lock()
			c.spare = b[:0]
			c.mu.Unlock()
		}
		if closed {
			return
		}
	}
}

func (r *nullRelay) serve(c *relayConn) {
	defer func() {
		c.nc.Close()
		c.mu.Lock()
		c.closed = true
		c.mu.Unlock()
		c.kick() // the writer sees closed and ends
		r.mu.Lock()
		delete(r.conns, c)
		for topic, ss := range r.subs {
			kept := ss[:0:0]
			for _, s := range ss {
				if s.c != c {
					kept = append(kept, s)
				}
			}
			r.subs[topic] = kept
		}
		r.mu.Unlock()
	}()
	rd := newPktReader(c.nc)
	var pub packets.Publish
	for {
		h, body, err := rd.read()
		if err != nil {
			return
		}
		var p packets.Packet = &pub
		if h.Type != packets.PUBLISH {
			u, err := packets.New(h.Type)
			if err != nil {
				return
			}
			p = u
		}
		if err := p.(packets.Unpacker).Unpack(h, body, packets.Version311); err != nil {
			return
		}
		switch p := p.(type) {
		case *packets.Connect:
			c.send([]byte{byte(packets.CONNACK) << 4, 2, 0, packets.Accepted})
		case *packets.Subscribe:
			codes := make([]byte, len(p.Subscriptions))
			r.mu.Lock()
			for i, s := range p.Subscriptions {
				r.subs[s.Filter] = append(r.subs[s.Filter], relaySub{c, s.QoS})
				codes[i] = s.QoS
			}
			r.mu.Unlock()
			b, _ := (&packets.Suback{PacketID: p.PacketID, ReturnCodes: codes}).AppendTo(nil)
			c.send(b)
		case *packets.Publish:
			switch p.QoS {
			case 1:
				c.sendAck(packets.PUBACK, p.PacketID) // [MQTT-4.3.2-2]
			case 2:
				c.sendAck(packets.PUBREC, p.PacketID) // [MQTT-4.3.3-2]
			}
			r.mu.RLock()
			for _, s := range r.subs[p.Topic] {
				s.c.forward(p, min(p.QoS, s.qos))
			}
			r.mu.RUnlock()
		case *packets.Pubrel:
			c.sendAck(packets.PUBCOMP, p.PacketID) // [MQTT-4.3.3-2]
		case *packets.Pubrec:
			c.sendAck(packets.PUBREL, p.PacketID) // [MQTT-4.3.3-1]
		case *packets.Pingreq:
			c.send([]byte{byte(packets.PINGRESP) << 4, 0})
		case *packets.Disconnect:
			return
		}
	}
}
