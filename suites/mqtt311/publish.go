package mqtt311

import (
	"strconv"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

var _ = Describe("PUBLISH", Area("publish"), func() {
	ConformanceIt("forwards a QoS 0 message as QoS 0 with DUP 0 and no packet identifier, and answers its publisher with nothing",
		IDs("MQTT-3.3.4-1", "MQTT-4.3.1-1", "MQTT-2.3.1-5", "MQTT-3.3.1-2", "MQTT-3.3.2-1"), func() {
			topic := Topic("qos0")
			// Subscribed at QoS 2 so that only the message's own QoS can make it QoS 0.
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			sub := Subscriber(topic, 2)
			pub := Client()
			// A packet identifier the broker slipped in would show up as two
			// extra bytes in front of the payload the codec reads.
			payload := "\x00\x07qos0"
			Expect(pub.Send(&packets.Publish{Topic: topic, Payload: []byte(payload)})).To(Succeed())
			got := Gather(sub, 1, 0)
			Expect(got).To(HaveLen(1))
			Expect(got[0].QoS).To(BeZero())
			Expect(got[0].Dup).To(BeFalse(), "DUP on a QoS 0 PUBLISH")
			Expect(got[0].Topic).To(Equal(topic), "topic name, first field of the variable header")
			Expect(string(got[0].Payload)).To(Equal(payload))
			// No PUBACK/PUBREC to the publisher, no second copy to the subscriber.
			ExpectNoneOf(pub, sub)
		})

	ConformanceIt("answers QoS 1 with PUBACK and QoS 2 with PUBREC and PUBCOMP, each echoing the packet identifier",
		IDs("MQTT-3.3.4-1", "MQTT-2.3.1-6", "MQTT-4.3.2-2", "MQTT-4.3.3-2"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("acks")
			sub := Subscriber(topic, 2)
			pub := Client()
			n := 0
			for _, qos := range []byte{1, 2} {
				for _, id := range []uint16{1, 0x1234, 0xffff} {
					// rawclient checks that PUBACK, PUBREC and PUBCOMP carry id.
					Expect(pub.Publish(&packets.Publish{Topic: topic, QoS: qos, PacketID: id,
						Payload: []byte(strconv.Itoa(n))})).To(Succeed(), "QoS %d packet ID %d", qos, id)
					n++
				}
			}
			got := Gather(sub, n, 0)
			Expect(got).To(HaveLen(n))
			for i, p := range got {
				Expect(string(p.Payload)).To(Equal(strconv.Itoa(i)))
			}
		})

	ConformanceIt("adds each message to every subscriber whose filter matches, with the topic name as published",
		IDs("MQTT-4.5.0-1", "MQTT-3.3.2-3"), func() {
			RequireCap(info.Caps.Wildcards, "wildcard subscriptions")
			base := Topic()
			topic := base + "/b/c"
			filters := []string{topic, base + "/+/c", base + "/#", base + "/b/+"}
			var clients []*rawclient.Client
			for _, f := range filters {
				clients = append(clients, Subscriber(f, 1))
			}
			other := Subscriber(base+"/+", 1) // one level only: does not match
			pub := Client()
			Publish(pub, topic, "to all", 1, false)
			for i, c := range clients {
				got := Gather(c, 1, 0)
				Expect(got).To(HaveLen(1), "subscriber to %s", filters[i])
				Expect(got[0].Topic).To(Equal(topic), "topic name sent to %s", filters[i])
				Expect(packets.MatchTopic(filters[i], got[0].Topic)).To(BeTrue())
				Expect(string(got[0].Payload)).To(Equal("to all"))
			}
			ExpectNoneOf(append(clients, other)...)
		})

	ConformanceIt("forwards the messages of one publisher on one topic in the order they were published (100 at QoS 1)",
		IDs("MQTT-4.6.0-5", "MQTT-4.6.0-6"), func() {
			const n = 100
			topic := Topic("order")
			sub := Subscriber(topic, 1)
			pub := Client()
			// Pipelined: all 100 PUBLISH go out before the first PUBACK is read.
			for i := range n {
				Expect(pub.Send(&packets.Publish{Topic: topic, QoS: 1, PacketID: uint16(i + 1),
					Payload: []byte(strconv.Itoa(i))})).To(Succeed())
			}
			ExpectPubacks(pub, n)
			got := Gather(sub, n, 0)
			Expect(got).To(HaveLen(n))
			for i, p := range got {
				Expect(string(p.Payload)).To(Equal(strconv.Itoa(i)), "message %d out of order", i)
				Expect(p.QoS).To(Equal(byte(1)))
			}
		})
})
