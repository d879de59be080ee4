package mqtt311

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

var _ = Describe("SUBSCRIBE and UNSUBSCRIBE", Area("subscribe"), func() {
	ConformanceIt("answers a SUBSCRIBE of several filters with one SUBACK: same packet ID, one valid return code per filter in order, each filter a subscription of its own",
		IDs("MQTT-3.8.4-1", "MQTT-3.8.4-2", "MQTT-3.8.4-4", "MQTT-3.8.4-5", "MQTT-3.9.3-1", "MQTT-3.9.3-2", "MQTT-2.3.1-7"), func() {
			base := Topic()
			filters := []packets.Subscription{{Filter: base + "/q2", QoS: 2}, {Filter: base + "/q0", QoS: 0}, {Filter: base + "/q1", QoS: 1}}
			sub := Client()
			// rawclient checks the SUBACK's packet ID; the codec refuses
			// return codes other than 0, 1, 2 and 0x80.
			ack, err := sub.Subscribe(0xa55a, filters...)
			Expect(err).NotTo(HaveOccurred())
			Expect(ack.ReturnCodes).To(HaveLen(len(filters)), "one return code per filter")
			for i, code := range ack.ReturnCodes {
				Expect(code).To(BeNumerically("<=", filters[i].QoS), "return code %d for %s asking QoS %d", i, filters[i].Filter, filters[i].QoS)
				if filters[i].QoS <= info.Caps.MaxQoS {
					Expect(code).To(Equal(filters[i].QoS), "return code %d for %s", i, filters[i].Filter)
				}
			}
			// Each filter works at the QoS its own return code granted, so
			// the codes are in the order of the filters.
			pub := Client()
			for _, f := range filters {
				Publish(pub, f.Filter, f.Filter, min(2, info.Caps.MaxQoS), false)
			}
			got := Gather(sub, len(filters), 0)
			Expect(got).To(HaveLen(len(filters)))
			byTopic := map[string]byte{}
			for _, p := range got {
				byTopic[p.Topic] = p.QoS
			}
			for i, f := range filters {
				Expect(byTopic).To(HaveKeyWithValue(f.Filter, min(ack.ReturnCodes[i], info.Caps.MaxQoS)), "delivery through %s", f.Filter)
			}
			// SUBACK echoes the ID, whatever it is.
			for _, id := range []uint16{1, 0xffff} {
				_, err := sub.Subscribe(id, packets.Subscription{Filter: base + "/q0", QoS: 0})
				Expect(err).NotTo(HaveOccurred(), "SUBSCRIBE packet ID %d", id)
			}
		})

	ConformanceIt("replaces a subscription to an identical filter, resends the retained message and delivers once at the new QoS",
		IDs("MQTT-3.8.4-3"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("resub")
			var pub *rawclient.Client
			if info.Caps.Retain {
				pub = retainer(topic)
				Publish(pub, topic, "retained", 2, true)
			} else {
				pub = Client()
			}
			sub := Subscriber(topic, 0)
			if info.Caps.Retain {
				expectRetained(Gather(sub, 1, 0), topic, "retained", 0)
			}
			Subscribe(sub, topic, 2)
			if info.Caps.Retain {
				expectRetained(Gather(sub, 1, 0), topic, "retained", 2)
			}
			Publish(pub, topic, "live", 2, false)
			got := Gather(sub, 1, Short)
			Expect(got).To(HaveLen(1), "one subscription, so one copy")
			Expect(got[0].QoS).To(Equal(byte(2)), "the replacing subscription's QoS")
			Expect(string(got[0].Payload)).To(Equal("live"))
		})

	ConformanceIt("unsubscribes exactly the filters named, character for character, with one UNSUBACK even when nothing matched",
		IDs("MQTT-3.10.4-1", "MQTT-3.10.4-2", "MQTT-3.10.4-4", "MQTT-3.10.4-5", "MQTT-3.10.4-6", "MQTT-2.3.1-7"), func() {
			RequireCap(info.Caps.Wildcards, "wildcard subscriptions")
			base := Topic()
			sub := Client()
			ack, err := sub.Subscribe(1, packets.Subscription{Filter: base + "/+", QoS: 1}, packets.Subscription{Filter: base + "/a", QoS: 1})
			Expect(err).NotTo(HaveOccurred())
			Expect(ack.ReturnCodes).To(Equal([]byte{1, 1}))
			pub := Client()

			// base/# would cover both subscriptions if it were matched as a
			// filter; it is compared literally and removes nothing.
			Unsubscribe(sub, 0x0102, base+"/#", base+"/b")
			Publish(pub, base+"/c", "c1", 1, false)
			got := Gather(sub, 1, 0)
			Expect(got).To(HaveLen(1))
			Expect(got[0].Topic).To(Equal(base + "/c"))

			// Removing base/+ leaves base/a.
			Unsubscribe(sub, 0xfffe, base+"/+")
			Publish(pub, base+"/c", "c2", 1, false)
			Publish(pub, base+"/a", "a1", 1, false)
			got = Gather(sub, 1, Short)
			Expect(Payloads(got)).To(Equal([]string{"a1"}), "only base/a is still subscribed")

			// Several filters, one UNSUBACK; nothing is delivered afterwards.
			Unsubscribe(sub, 3, base+"/a", base+"/never-subscribed")
			Publish(pub, base+"/a", "a2", 1, false)
			Publish(pub, base+"/c", "c3", 1, false)
			ExpectNothing(sub) // also catches a second UNSUBACK
		})

	ConformanceIt("completes a QoS 2 delivery already in flight after its subscription is removed",
		IDs("MQTT-3.10.4-3"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("inflight")
			sub := Subscriber(topic, 2)
			pub := Client()
			Publish(pub, topic, "in flight", 2, false)
			got := GatherNoAck(sub, 1, 0)
			Expect(got).To(HaveLen(1))
			id := got[0].PacketID
			Unsubscribe(sub, 9, topic)
			Expect(sub.Send(&packets.Pubrec{PacketID: id})).To(Succeed())
			rel, err := sub.Expect(packets.PUBREL, Long)
			Expect(err).NotTo(HaveOccurred(), "the flow goes on after UNSUBACK")
			Expect(rel.(*packets.Pubrel).PacketID).To(Equal(id))
			Expect(sub.Send(&packets.Pubcomp{PacketID: id})).To(Succeed())
		})
})
