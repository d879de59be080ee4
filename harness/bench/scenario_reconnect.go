package bench

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// runReconnect: a persistent session (clean session 0) subscribes and goes
// away; n messages are published to it while it is offline, which the
// broker must keep for it [MQTT-3.1.2-5]; it reconnects and drains them.
// The rate is messages drained per second from the reconnect; latency is
// the time from the reconnect to each message's arrival. (Mosquitto 2.0.11
// at QoS 2 sent its 20-message in-flight window here and then nothing until
// other traffic for the client came: its db__message_delete_outgoing moves
// queued messages into the window on PUBCOMP without writing them. The
// rest count as lost.) QoS 0 is n/a:
// queuing QoS 0 for offline clients is optional (§3.1.2.4), and neither
// local broker does it.
func runReconnect(ctx context.Context, ep endpoint, n int, qos byte, payload int) (rr roundResult) {
	if qos == 0 {
		return failed(errNA{"QoS 0 messages are not queued for an offline session (optional in MQTT 3.1.1 §3.1.2.4)"})
	}
	ctx, cancel := context.WithTimeout(ctx, 2*drainMax+time.Minute)
	defer cancel()
	id, topic := newClientID(), newTopic()
	var conns connSet
	var readers sync.WaitGroup
	defer func() {
		conns.disconnect()
		readers.Wait()
		// Discard the session: CONNECT with clean session 1 ends it [MQTT-3.1.2-6].
		cctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if c, _, err := dialMQTT(cctx, ep.addr, id, true); err == nil {
			c.disconnect()
		}
	}()
	stop := context.AfterFunc(ctx, conns.abort)
	defer stop()

	// 1. The session subscribes, then leaves.
	c, _, err := dialMQTT(ctx, ep.addr, id, false)
	if err != nil {
		return failed(fmt.Errorf("subscriber: %w", err))
	}
	conns.add(c)
	if err := c.subscribeAt(topic, qos); err != nil {
		return failed(fmt.Errorf("subscriber: %w", err))
	}
	c.disconnectWait()

	// 2. Publish n messages and wait until every flow is complete, so the
	// broker has them all before the session comes back.
	pc, _, err := dialMQTT(ctx, ep.addr, newClientID(), true)
	if err != nil {
		return failed(fmt.Errorf("publisher: %w", err))
	}
	conns.add(pc)
	p := newPublisher(ctx, pc, 0, topic, 1, load{qos: qos})
	readers.Go(p.readLoop)
	pub := &packets.Publish{Topic: topic, QoS: qos, Payload: newPayload(payload)}
	deadline := now() + int64(drainMax)
	for seq := range uint32(n) {
		if !p.waitRoom(false, deadline) {
			break
		}
		if err := p.publish(pub, seq, now()); err != nil {
			return failed(fmt.Errorf("publisher: %w", err))
		}
	}
	pc.flush()
	for p.unacked.Load() > 0 && now() < deadline && ctx.Err() == nil {
		time.Sleep(2 * time.Millisecond)
	}
	if un := p.unacked.Load(); un > 0 {
		return failed(fmt.Errorf("publisher: %d of %d messages not acknowledged", un, n))
	}
	pc.disconnect()

	// 3. The session comes back and drains its queue.
	m := startMeter(ep)
	start := now()
	sc, ack, err := dialMQTT(ctx, ep.addr, id, false)
	if err != nil {
		m.finish()
		return failed(fmt.Errorf("reconnect: %w", err))
	}
	conns.add(sc)
	if !ack.SessionPresent {
		m.finish()
		// [MQTT-3.2.2-2]: a kept session is announced with session present 1.
		return failed(errNA{"the session was not kept (CONNACK session present 0)"})
	}
	s := &subscriber{c: sc, track: newTracker(0, 1), lat: newLatencies(), latFrom: start}
	readers.Go(s.readLoop)
	waitDrained(ctx, time.Millisecond, 0, func() (int64, bool) {
		got := s.got.Load()
		return got, got >= int64(n)
	})
	end := s.last.Load()
	rr.setUsage(m.finish())
	sc.disconnect()
	readers.Wait()
	if s.err != nil {
		return failed(fmt.Errorf("subscriber: %w", s.err))
	}
	if p.rerr != nil {
		return failed(fmt.Errorf("publisher: %w", p.rerr))
	}
	rr.sent = p.sent.Load()
	rr.counts = s.track.result(func(uint32) int64 { return rr.sent })
	if end > start {
		rr.elapsed = time.Duration(end - start)
		rr.perS = float64(rr.counts.Delivered) / rr.elapsed.Seconds()
	}
	rr.lat = summarize(s.lat.merged())
	return rr
}
