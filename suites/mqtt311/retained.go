package mqtt311

import (
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// retainer connects a publisher for retained messages and clears topics
// when the spec ends, so nothing is left on a shared broker.
func retainer(topics ...string) *rawclient.Client {
	GinkgoHelper()
	RequireCap(info.Caps.Retain, "retained messages")
	c := Client()
	DeferCleanup(func() {
		for _, t := range topics {
			c.Publish(&packets.Publish{Topic: t, Retain: true, QoS: 1, PacketID: 1})
		}
	})
	return c
}

// processedFence publishes at QoS 1 to a topic nobody reads and waits for
// PUBACK: a broker handles one connection's packets in order, so a QoS 0
// PUBLISH sent before it has been processed when processedFence returns.
func processedFence(c *rawclient.Client) {
	GinkgoHelper()
	Publish(c, Topic("fence"), "", 1, false)
}

// expectRetained requires one message, flagged RETAIN=1, with payload and QoS.
func expectRetained(got []*packets.Publish, topic, payload string, qos byte) {
	GinkgoHelper()
	Expect(got).To(HaveLen(1), "retained messages for %s", topic)
	Expect(got[0].Topic).To(Equal(topic))
	Expect(string(got[0].Payload)).To(Equal(payload))
	Expect(got[0].Retain).To(BeTrue(), "RETAIN flag of a message sent for a new subscription")
	Expect(got[0].QoS).To(Equal(qos), "QoS of the retained message")
}

var _ = Describe("Retained messages", Area("retained"), func() {
	ConformanceIt("keeps a retained message with its QoS and sends it with RETAIN=1 to each new matching subscription, wildcards included",
		IDs("MQTT-3.3.1-5", "MQTT-3.3.1-6", "MQTT-3.3.1-8"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			base := Topic()
			t1, t2 := base+"/r/1", base+"/r/2"
			pub := retainer(t1, t2)
			Publish(pub, t1, "one", 1, true)
			Publish(pub, t2, "two", 2, true)
			expectRetained(Gather(Subscriber(t1, 2), 1, 0), t1, "one", 1)
			expectRetained(Gather(Subscriber(t2, 2), 1, 0), t2, "two", 2)
			if info.Caps.Wildcards {
				got := Gather(Subscriber(base+"/+/#", 2), 2, 0)
				Expect(got).To(HaveLen(2))
				byTopic := map[string]*packets.Publish{}
				for _, p := range got {
					byTopic[p.Topic] = p
				}
				expectRetained([]*packets.Publish{byTopic[t1]}, t1, "one", 1)
				expectRetained([]*packets.Publish{byTopic[t2]}, t2, "two", 2)
			}
		})

	ConformanceIt("sends a retained message to a new subscription at the lower of its QoS and the granted QoS",
		IDs("MQTT-3.3.1-6", "MQTT-3.8.4-6"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("rdown")
			pub := retainer(topic)
			Publish(pub, topic, "downgraded", 2, true)
			for _, sq := range []byte{0, 1} {
				expectRetained(Gather(Subscriber(topic, sq), 1, 0), topic, "downgraded", sq)
			}
		})

	ConformanceIt("replaces the retained message of a topic with the next retained PUBLISH",
		IDs("MQTT-3.3.1-5", "MQTT-3.3.1-6"), func() {
			topic := Topic("replace")
			pub := retainer(topic)
			Publish(pub, topic, "first", 1, true)
			Publish(pub, topic, "second", 1, true)
			got := Gather(Subscriber(topic, 1), 1, Short)
			expectRetained(got, topic, "second", 1)
		})

	ConformanceIt("forwards messages to existing subscriptions with RETAIN=0, retained or not",
		IDs("MQTT-3.3.1-9"), func() {
			topic := Topic("live")
			sub := Subscriber(topic, 1)
			pub := retainer(topic)
			Publish(pub, topic, "retained", 1, true)
			Publish(pub, topic, "plain", 1, false)
			got := Gather(sub, 2, 0)
			Expect(got).To(HaveLen(2))
			for _, p := range got {
				Expect(p.Retain).To(BeFalse(), "RETAIN on the live copy of %q", p.Payload)
			}
		})

	ConformanceIt("clears a retained message with an empty retained PUBLISH, still forwarded to current subscribers, and never keeps an empty one",
		IDs("MQTT-3.3.1-10", "MQTT-3.3.1-11"), func() {
			base := Topic()
			topic, never := base+"/clear", base+"/never"
			pub := retainer(topic)
			Publish(pub, topic, "doomed", 1, true)
			live := Subscriber(topic, 1)
			expectRetained(Gather(live, 1, 0), topic, "doomed", 1)
			Publish(pub, topic, "", 1, true)
			got := Gather(live, 1, 0)
			Expect(got).To(HaveLen(1), "the clearing message is forwarded like any other")
			Expect(got[0].Payload).To(BeEmpty())
			Expect(got[0].Retain).To(BeFalse())
			// An empty retained PUBLISH to a topic with nothing retained stores nothing either.
			Publish(pub, never, "", 0, true)
			processedFence(pub)
			ExpectNoneOf(Subscriber(topic, 1), Subscriber(never, 1))
		})

	ConformanceIt("leaves the retained message alone when a PUBLISH has RETAIN=0",
		IDs("MQTT-3.3.1-12"), func() {
			topic := Topic("keep")
			pub := retainer(topic)
			Publish(pub, topic, "kept", 1, true)
			Publish(pub, topic, "passing", 1, false)
			Publish(pub, topic, "passing too", 0, false)
			processedFence(pub)
			got := Gather(Subscriber(topic, 1), 1, Short)
			expectRetained(got, topic, "kept", 1)
		})

	ConformanceIt("discards the old retained message when a retained QoS 0 PUBLISH arrives (keeping the new one is recommended)",
		IDs("MQTT-3.3.1-7"), func() {
			topic := Topic("rq0")
			pub := retainer(topic)
			Publish(pub, topic, "old qos 1", 1, true)
			Publish(pub, topic, "new qos 0", 0, true)
			processedFence(pub)
			got := Gather(Subscriber(topic, 1), 1, Short)
			for _, p := range got {
				Expect(string(p.Payload)).NotTo(Equal("old qos 1"), "the replaced retained message")
			}
			switch {
			case len(got) == 0:
				RecordOutcome("retained-qos0-replace", "QoS 0 retained message discarded")
			default:
				expectRetained(got, topic, "new qos 0", 0)
				RecordOutcome("retained-qos0-replace", "QoS 0 retained message kept")
			}
		})
})
