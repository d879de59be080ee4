package mqtt311

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

var _ = Describe("Sessions", Area("session"), func() {
	ConformanceIt("keeps a persistent session's subscriptions and queues QoS 1 and 2 while it is offline", IDs("MQTT-3.1.2-4", "MQTT-3.1.2-5", "MQTT-4.1.0-1", "MQTT-3.2.2-2"), func() {
		id := ClientID()
		t1, t2 := Topic("q1"), Topic("q2")
		c := PersistentClient(id, false)
		Subscribe(c, t1, 1)
		Subscribe(c, t2, 2)
		Disconnect(c)
		pub := Client()
		// Three offline periods: the session lives on across each.
		for round := 1; round <= 3; round++ {
			Publish(pub, t1, fmt.Sprint("qos1 #", round), 1, false)
			Publish(pub, t2, fmt.Sprint("qos2 #", round), 2, false)
			c, present := Connect(id, Persistent)
			Expect(present).To(BeTrue(), "Session Present on reconnect %d", round)
			got := Collect(c, 2)
			byTopic := map[string]*packets.Publish{}
			for _, p := range got {
				byTopic[p.Topic] = p
			}
			Expect(byTopic).To(HaveKey(t1), "queued QoS 1 message")
			Expect(byTopic).To(HaveKey(t2), "queued QoS 2 message")
			Expect(byTopic[t1].Payload).To(BeEquivalentTo(fmt.Sprint("qos1 #", round)))
			Expect(byTopic[t1].QoS).To(BeEquivalentTo(1))
			Expect(byTopic[t2].Payload).To(BeEquivalentTo(fmt.Sprint("qos2 #", round)))
			Expect(byTopic[t2].QoS).To(BeEquivalentTo(2))
			// The resumed subscriptions also deliver live messages.
			Publish(pub, t1, "live", 1, false)
			Expect(Deliver(c).Payload).To(BeEquivalentTo("live"))
			if round == 3 {
				ExpectNothing(c) // and no copies
			}
			Disconnect(c)
		}
	})

	ConformanceIt("queues QoS 0 messages for an offline session or not (either is allowed)", IDs("MQTT-3.1.2-5"), func() {
		id := ClientID()
		topic := Topic()
		c := PersistentClient(id, false)
		Subscribe(c, topic, 1)
		Disconnect(c)
		pub := Client()
		// QoS 0, then a QoS 1 marker on the same topic from the same
		// client: once the marker is acknowledged the broker has handled
		// both, and a queued QoS 0 message arrives before the marker.
		Publish(pub, topic, "qos0", 0, false)
		Publish(pub, topic, "marker", 1, false)
		c, present := Connect(id, Persistent)
		Expect(present).To(BeTrue())
		var got []string
		for len(got) == 0 || got[len(got)-1] != "marker" {
			p := Deliver(c)
			got = append(got, string(p.Payload))
		}
		Expect(got).To(Or(Equal([]string{"marker"}), Equal([]string{"qos0", "marker"})))
		chosen := "not queued"
		if len(got) == 2 {
			chosen = "queued"
		}
		RecordOutcome("qos0-offline", chosen)
		if d := info.Caps.QueuesQoS0; d != nil && *d != (chosen == "queued") {
			GinkgoWriter.Printf("target declares QueuesQoS0=%v but QoS 0 was %s\n", *d, chosen)
		}
	})

	ConformanceIt("discards the stored session and its queued messages on a CleanSession 1 connect", IDs("MQTT-3.1.2-6"), func() {
		id := ClientID()
		topic := Topic()
		c := PersistentClient(id, false)
		Subscribe(c, topic, 1)
		Disconnect(c)
		Publish(Client(), topic, "queued for the old session", 1, false)
		c, present := Connect(id)
		Expect(present).To(BeFalse())
		ExpectNothing(c) // the queued message went with the old session
		Disconnect(c)
		// Nor is the clean session itself reused: its subscription is gone.
		c, present = Connect(id, Persistent)
		Expect(present).To(BeFalse(), "a clean session is never reused")
		Publish(Client(), topic, "after the clean session", 1, false)
		ExpectNothing(c)
	})

	ConformanceIt("keys session state on the client ID", IDs("MQTT-3.1.3-2"), func() {
		a, b := ClientID(), ClientID()
		ta, tb := Topic("a"), Topic("b")
		ca := PersistentClient(a, false)
		Subscribe(ca, ta, 1)
		Disconnect(ca)
		cb := PersistentClient(b, false)
		Subscribe(cb, tb, 1)
		Disconnect(cb)
		pub := Client()
		Publish(pub, ta, "for a", 1, false)
		Publish(pub, tb, "for b", 1, false)
		ca, present := Connect(a, Persistent)
		Expect(present).To(BeTrue())
		p := Deliver(ca)
		Expect(p.Topic).To(Equal(ta))
		Expect(p.Payload).To(BeEquivalentTo("for a"))
		cb, present = Connect(b, Persistent)
		Expect(present).To(BeTrue())
		p = Deliver(cb)
		Expect(p.Topic).To(Equal(tb))
		Expect(p.Payload).To(BeEquivalentTo("for b"))
		ExpectNoneOf(ca, cb)
	})

	ConformanceIt("keeps a session's state for as long as its connection lasts", IDs("MQTT-4.1.0-1", "MQTT-4.1.0-2"), func() {
		topic, inbound := Topic("sub"), Topic("in")
		watcher := Subscriber(inbound, 2)
		c := Client()
		Subscribe(c, topic, 1)
		// A QoS 2 message received by the broker but not yet released: its
		// packet ID is session state until PUBREL.
		const pid = 77
		Expect(c.Send(&packets.Publish{Topic: inbound, QoS: 2, PacketID: pid, Payload: []byte("held")})).To(Succeed())
		rec, err := c.Expect(packets.PUBREC, Long)
		Expect(err).NotTo(HaveOccurred())
		Expect(rec.(*packets.Pubrec).PacketID).To(BeEquivalentTo(pid))
		// Other clients come and go; the subscription keeps delivering.
		for i := range 3 {
			other := Client()
			Publish(other, topic, fmt.Sprint("m", i), 1, false)
			Disconnect(other)
			Expect(Deliver(c).Payload).To(BeEquivalentTo(fmt.Sprint("m", i)))
		}
		Ping(c)
		Expect(c.Send(&packets.Pubrel{PacketID: pid})).To(Succeed())
		comp, err := c.Expect(packets.PUBCOMP, Long)
		Expect(err).NotTo(HaveOccurred())
		Expect(comp.(*packets.Pubcomp).PacketID).To(BeEquivalentTo(pid))
		Expect(Deliver(watcher).Payload).To(BeEquivalentTo("held"))
	})

	ConformanceIt("resends an unacknowledged QoS 1 PUBLISH with DUP and its packet ID on resume", IDs("MQTT-4.4.0-1"), func() {
		id := ClientID()
		topic := Topic()
		c := PersistentClient(id, false)
		Subscribe(c, topic, 1)
		Publish(Client(), topic, "unacked", 1, false)
		p, err := c.Expect(packets.PUBLISH, Long)
		Expect(err).NotTo(HaveOccurred())
		first := p.(*packets.Publish)
		Expect(first.QoS).To(BeEquivalentTo(1))
		Drop(c) // no PUBACK
		c, present := Connect(id, Persistent)
		Expect(present).To(BeTrue())
		p, err = c.Expect(packets.PUBLISH, Long)
		Expect(err).NotTo(HaveOccurred(), "the unacknowledged message again")
		again := p.(*packets.Publish)
		Expect(again.Dup).To(BeTrue(), "DUP on the resent PUBLISH")
		Expect(again.PacketID).To(Equal(first.PacketID), "packet ID of the resent PUBLISH")
		Expect(again.QoS).To(BeEquivalentTo(1))
		Expect(again.Topic).To(Equal(topic))
		Expect(again.Payload).To(BeEquivalentTo("unacked"))
		Expect(c.Send(&packets.Puback{PacketID: again.PacketID})).To(Succeed())
	})

	ConformanceIt("resends an unacknowledged QoS 2 PUBLISH with DUP, then an unanswered PUBREL, on resume", IDs("MQTT-4.4.0-1"), func() {
		id := ClientID()
		topic := Topic()
		c := PersistentClient(id, false)
		Subscribe(c, topic, 2)
		Publish(Client(), topic, "exactly once", 2, false)
		p, err := c.Expect(packets.PUBLISH, Long)
		Expect(err).NotTo(HaveOccurred())
		first := p.(*packets.Publish)
		Expect(first.QoS).To(BeEquivalentTo(2))
		Drop(c) // no PUBREC

		By("resuming after an unanswered PUBLISH")
		c, present := ConnectDroppable(id, Persistent)
		Expect(present).To(BeTrue())
		p, err = c.Expect(packets.PUBLISH, Long)
		Expect(err).NotTo(HaveOccurred(), "the unacknowledged QoS 2 message again")
		again := p.(*packets.Publish)
		Expect(again.Dup).To(BeTrue(), "DUP on the resent PUBLISH")
		Expect(again.PacketID).To(Equal(first.PacketID), "packet ID of the resent PUBLISH")
		Expect(again.Payload).To(BeEquivalentTo("exactly once"))
		Expect(c.Send(&packets.Pubrec{PacketID: again.PacketID})).To(Succeed())
		p, err = c.Expect(packets.PUBREL, Long)
		Expect(err).NotTo(HaveOccurred())
		Expect(p.(*packets.Pubrel).PacketID).To(Equal(first.PacketID))
		Drop(c) // no PUBCOMP

		By("resuming after an unanswered PUBREL")
		c, present = Connect(id, Persistent)
		Expect(present).To(BeTrue())
		p, err = c.Expect(packets.PUBREL, Long)
		Expect(err).NotTo(HaveOccurred(), "PUBREL again, not the PUBLISH")
		Expect(p.(*packets.Pubrel).PacketID).To(Equal(first.PacketID), "packet ID of the resent PUBREL")
		Expect(c.Send(&packets.Pubcomp{PacketID: first.PacketID})).To(Succeed())
	})

	ConformanceIt("keeps retained messages after the session that published them ends", IDs("MQTT-3.1.2-7"), func() {
		topic := Topic("retained")
		DeferCleanup(clearRetained, topic)
		pub := Client()
		Publish(pub, topic, "kept", 1, true)
		Disconnect(pub) // the publisher's clean session ends here
		c := Client()
		Subscribe(c, topic, 1)
		p := Deliver(c)
		Expect(p.Payload).To(BeEquivalentTo("kept"))
		Expect(p.Retain).To(BeTrue())
	})

	ConformanceIt("keeps a persistent session, its queued messages and retained messages across a restart", IDs("MQTT-3.1.2-4", "MQTT-3.1.2-5", "MQTT-3.1.2-7", "MQTT-4.1.0-1"), Serial, func(ctx SpecContext) {
		RequireCap(info.Caps.Restart, "restart")
		id := ClientID()
		topic, retained := Topic("queued"), Topic("retained")
		DeferCleanup(clearRetained, retained)
		c := PersistentClient(id, false)
		Subscribe(c, topic, 1)
		Disconnect(c)
		pub := Client()
		Publish(pub, topic, "survives", 1, false)
		Publish(pub, retained, "also survives", 1, true)
		Disconnect(pub)

		start := time.Now()
		restartTarget(ctx)
		RecordMeasured("restart", time.Since(start), "")

		c, present := Connect(id, Persistent)
		Expect(present).To(BeTrue(), "session after the restart")
		p := Deliver(c)
		Expect(p.Topic).To(Equal(topic))
		Expect(p.Payload).To(BeEquivalentTo("survives"))
		// The subscription survived too: live messages still arrive.
		Publish(Client(), topic, "after restart", 1, false)
		Expect(Deliver(c).Payload).To(BeEquivalentTo("after restart"))

		r := Client()
		Subscribe(r, retained, 1)
		p = Deliver(r)
		Expect(p.Payload).To(BeEquivalentTo("also survives"))
		Expect(p.Retain).To(BeTrue())
	}, NodeTimeout(2*time.Minute))
})

// clearRetained removes the retained message on topic (an empty retained
// PUBLISH), for cleanup.
func clearRetained(topic string) {
	nc, err := info.Dial(Long)
	if err != nil {
		return
	}
	c := rawclient.New(nc)
	defer c.Close()
	if _, err := c.MustConnect(ConnectPacket(ClientID())); err == nil {
		c.Publish(&packets.Publish{Topic: topic, QoS: 1, PacketID: 1, Retain: true})
		c.Send(&packets.Disconnect{})
	}
}
