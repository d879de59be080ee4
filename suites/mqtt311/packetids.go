package mqtt311

import (
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

var _ = Describe("Packet identifiers", Area("packet-ids"), func() {
	ConformanceIt("gives every QoS 1 and QoS 2 message it sends a non-zero packet ID unused by any other in flight, with DUP 0",
		IDs("MQTT-2.3.1-1", "MQTT-2.3.1-4", "MQTT-4.3.2-1", "MQTT-4.3.3-1"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			const n = 10 // within any broker's in-flight window
			topic := Topic("ids")
			sub := Subscriber(topic, 2)
			pub := Client()
			for i := range n {
				Publish(pub, topic, strconv.Itoa(i), byte(1+i%2), false)
			}
			// Nothing is acknowledged: all n are in flight at once.
			got := GatherNoAck(sub, n, 0)
			Expect(got).To(HaveLen(n), "messages in flight without acknowledgement")
			ids := map[uint16]string{}
			for _, p := range got {
				Expect(p.PacketID).NotTo(BeZero(), "packet ID of %q", p.Payload)
				Expect(p.Dup).To(BeFalse(), "DUP on a first delivery")
				Expect(ids).NotTo(HaveKey(p.PacketID), "packet ID %d of %q already in flight for %q", p.PacketID, p.Payload, ids[p.PacketID])
				ids[p.PacketID] = string(p.Payload)
			}
		})

	ConformanceIt("accepts a packet ID again as a new message once its QoS 1 or QoS 2 flow is complete",
		IDs("MQTT-4.3.2-2", "MQTT-4.3.3-2", "MQTT-2.3.1-6"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("reuse")
			sub := Subscriber(topic, 2)
			pub := Client()
			payloads := []string{"q1 first", "q1 again", "q2 first", "q2 again"}
			for i, pl := range payloads {
				// rawclient completes each flow and checks the echoed IDs.
				Expect(pub.Publish(&packets.Publish{Topic: topic, QoS: byte(1 + i/2), PacketID: 42,
					Payload: []byte(pl)})).To(Succeed(), "%q with packet ID 42", pl)
			}
			got := Gather(sub, len(payloads), Short)
			Expect(Payloads(got)).To(ConsistOf(payloads), "each reuse of ID 42 is a new message")
		})

	ConformanceIt("delivers a QoS 2 message once when its PUBLISH is resent with DUP before PUBREL",
		IDs("MQTT-4.3.3-2"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("dup2")
			sub := Subscriber(topic, 2)
			pub := Client()
			p := &packets.Publish{Topic: topic, QoS: 2, PacketID: 7, Payload: []byte("only once")}
			for i, dup := range []bool{false, true, true} {
				p.Dup = dup
				Expect(pub.Send(p)).To(Succeed())
				rec, err := pub.Expect(packets.PUBREC, Long)
				Expect(err).NotTo(HaveOccurred(), "PUBREC for transmission %d of 3 (DUP %v) before PUBREL", i+1, dup)
				Expect(rec.(*packets.Pubrec).PacketID).To(Equal(uint16(7)))
			}
			Expect(pub.Send(&packets.Pubrel{PacketID: 7})).To(Succeed())
			comp, err := pub.Expect(packets.PUBCOMP, Long)
			Expect(err).NotTo(HaveOccurred())
			Expect(comp.(*packets.Pubcomp).PacketID).To(Equal(uint16(7)))
			got := Gather(sub, 1, Short)
			Expect(Payloads(got)).To(Equal([]string{"only once"}))
		})

	ConformanceIt("sets DUP on outgoing messages from its own state, not from the publisher's DUP",
		IDs("MQTT-3.3.1-3"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("dupout")
			sub := Subscriber(topic, 2)
			pub := Client()
			for _, qos := range []byte{1, 2} {
				// The first (and only) transmission, flagged DUP by the publisher.
				Expect(pub.Publish(&packets.Publish{Topic: topic, QoS: qos, PacketID: 11, Dup: true,
					Payload: []byte{'0' + qos}})).To(Succeed())
			}
			got := Gather(sub, 2, 0)
			Expect(got).To(HaveLen(2))
			for _, p := range got {
				Expect(p.Dup).To(BeFalse(), "DUP on the broker's first delivery of QoS %d", p.QoS)
			}
		})

	ConformanceIt("resends an unacknowledged QoS 1 PUBLISH with DUP 1 and the same ID on session resume, and a PUBREL rather than the PUBLISH once PUBREC was sent",
		IDs("MQTT-3.3.1-1", "MQTT-4.3.2-1", "MQTT-4.3.3-1"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			base := Topic()
			t1, t2 := base+"/q1", base+"/q2"
			id := ClientID()
			sub := PersistentClient(id, false)
			Subscribe(sub, t1, 1)
			Subscribe(sub, t2, 2)
			pub := Client()
			Publish(pub, t1, "one", 1, false)
			Publish(pub, t2, "two", 2, false)
			got := GatherNoAck(sub, 2, 0)
			Expect(got).To(HaveLen(2))
			byTopic := map[string]*packets.Publish{got[0].Topic: got[0], got[1].Topic: got[1]}
			Expect(byTopic).To(HaveKey(t1))
			Expect(byTopic).To(HaveKey(t2))
			m1, m2 := byTopic[t1], byTopic[t2]
			Expect(sub.Send(&packets.Pubrec{PacketID: m2.PacketID})).To(Succeed())
			rel, err := sub.Expect(packets.PUBREL, Long)
			Expect(err).NotTo(HaveOccurred())
			Expect(rel.(*packets.Pubrel).PacketID).To(Equal(m2.PacketID))
			// Drop the connection with PUBACK and PUBCOMP outstanding.
			sub.Close()

			again, present := Connect(id, Persistent)
			Expect(present).To(BeTrue(), "Session Present on resume")
			var resent *packets.Publish
			var pubrel *packets.Pubrel
			for resent == nil || pubrel == nil {
				p, err := again.Next(Long)
				Expect(err).NotTo(HaveOccurred(), "waiting for the resent PUBLISH and PUBREL")
				switch p := p.(type) {
				case *packets.Publish:
					Expect(resent).To(BeNil(), "second PUBLISH %+v: only the QoS 1 message is resent", p)
					resent = p
				case *packets.Pubrel:
					Expect(pubrel).To(BeNil(), "second PUBREL")
					pubrel = p
				default:
					Fail("unexpected " + p.Type().String())
				}
			}
			Expect(resent.Topic).To(Equal(t1), "the QoS 2 PUBLISH must not be resent after PUBREC")
			Expect(resent.Dup).To(BeTrue(), "DUP on re-delivery")
			Expect(resent.PacketID).To(Equal(m1.PacketID), "same packet ID on re-delivery")
			Expect(string(resent.Payload)).To(Equal("one"))
			Expect(pubrel.PacketID).To(Equal(m2.PacketID))
			Expect(again.Send(&packets.Puback{PacketID: m1.PacketID})).To(Succeed())
			Expect(again.Send(&packets.Pubcomp{PacketID: m2.PacketID})).To(Succeed())
			ExpectNothing(again)
		})
})
