package mqtt311

import (
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// statementTable declares a DescribeTable whose entries all check ids (none
// when each entry names its own): the container carries the statement and
// level labels and the IDs in its text, as conformance.It does for a spec.
func statementTable(text string, ids []string, body any, entries ...TableEntry) bool {
	args := append(Statements("mqtt311", ids...), body)
	for _, e := range entries {
		args = append(args, e)
	}
	if len(ids) > 0 {
		text += " [" + strings.Join(ids, " ") + "]"
	}
	return DescribeTable(text, args...)
}

// statementEntry is an Entry checking ids of its own, labelled like
// conformance.It; parameters follow.
func statementEntry(text string, ids []string, params ...any) TableEntry {
	args := append(Statements("mqtt311", ids...), params...)
	return Entry(text+" ["+strings.Join(ids, " ")+"]", args...)
}

var _ = Describe("QoS", Area("qos"), func() {
	// All nine pairs; one spec each so a report shows which pair fails.
	var entries []TableEntry
	for _, pub := range []byte{0, 1, 2} {
		for _, sub := range []byte{0, 1, 2} {
			entries = append(entries, Entry(fmt.Sprintf("published at QoS %d, subscribed at QoS %d", pub, sub), pub, sub))
		}
	}
	statementTable("delivers a message at the lower of its published QoS and the subscription's granted QoS",
		IDs("MQTT-3.8.4-6"), func(pubQoS, subQoS byte) {
			RequireCap(info.Caps.MaxQoS >= max(pubQoS, subQoS), fmt.Sprintf("QoS %d", max(pubQoS, subQoS)))
			topic := Topic("downgrade")
			sub := Subscriber(topic, subQoS)
			pub := Client()
			payload := fmt.Sprintf("published %d subscribed %d", pubQoS, subQoS)
			Publish(pub, topic, payload, pubQoS, false)
			got := Gather(sub, 1, 0)
			Expect(got).To(HaveLen(1))
			Expect(got[0].QoS).To(Equal(min(pubQoS, subQoS)), "delivered QoS")
			Expect(string(got[0].Payload)).To(Equal(payload))
			Expect(got[0].Dup).To(BeFalse())
			if got[0].QoS > 0 {
				Expect(got[0].PacketID).NotTo(BeZero())
			}
		}, entries...)

	ConformanceIt("as a QoS 2 sender, answers PUBREC with a PUBREL of the same ID and never resends the PUBLISH",
		IDs("MQTT-4.3.3-1", "MQTT-2.3.1-6", "MQTT-3.6.1-1"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("qos2out")
			sub := Subscriber(topic, 2)
			pub := Client()
			Publish(pub, topic, "exactly once", 2, false)
			got := GatherNoAck(sub, 1, 0)
			Expect(got).To(HaveLen(1))
			p := got[0]
			Expect(p.QoS).To(Equal(byte(2)))
			Expect(p.Dup).To(BeFalse())
			Expect(p.PacketID).NotTo(BeZero())
			Expect(sub.Send(&packets.Pubrec{PacketID: p.PacketID})).To(Succeed())
			// The codec refuses a PUBREL whose flags are not 0010.
			rel, err := sub.Expect(packets.PUBREL, Long)
			Expect(err).NotTo(HaveOccurred())
			Expect(rel.(*packets.Pubrel).PacketID).To(Equal(p.PacketID))
			Expect(sub.Send(&packets.Pubcomp{PacketID: p.PacketID})).To(Succeed())
			ExpectNothing(sub)
		})

	ConformanceIt("as a QoS 2 receiver, answers PUBREC, then PUBCOMP for PUBREL, and delivers the message once",
		IDs("MQTT-4.3.3-2", "MQTT-2.3.1-6", "MQTT-3.3.4-1"), func() {
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("qos2in")
			sub := Subscriber(topic, 2)
			pub := Client()
			Expect(pub.Send(&packets.Publish{Topic: topic, QoS: 2, PacketID: 77, Payload: []byte("once")})).To(Succeed())
			rec, err := pub.Expect(packets.PUBREC, Long)
			Expect(err).NotTo(HaveOccurred())
			Expect(rec.(*packets.Pubrec).PacketID).To(Equal(uint16(77)))
			Expect(pub.Send(&packets.Pubrel{PacketID: 77})).To(Succeed())
			comp, err := pub.Expect(packets.PUBCOMP, Long)
			Expect(err).NotTo(HaveOccurred())
			Expect(comp.(*packets.Pubcomp).PacketID).To(Equal(uint16(77)))
			got := Gather(sub, 1, Short)
			Expect(got).To(HaveLen(1), "copies delivered")
			Expect(string(got[0].Payload)).To(Equal("once"))
		})

	ConformanceIt("delivers overlapping subscriptions at the highest granted QoS (one copy, or one per subscription)",
		IDs("MQTT-3.3.5-1"), func() {
			RequireCap(info.Caps.Wildcards, "wildcard subscriptions")
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			base := Topic()
			topic := base + "/a/b"
			sub := Client()
			ack, err := sub.Subscribe(5, packets.Subscription{Filter: base + "/#", QoS: 0},
				packets.Subscription{Filter: topic, QoS: 2}, packets.Subscription{Filter: base + "/+/b", QoS: 1})
			Expect(err).NotTo(HaveOccurred())
			Expect(ack.ReturnCodes).To(Equal([]byte{0, 2, 1}))
			pub := Client()
			Publish(pub, topic, "overlap", 2, false)
			got := Gather(sub, 1, Short)
			Expect(got).NotTo(BeEmpty())
			var qos []byte
			for _, p := range got {
				Expect(string(p.Payload)).To(Equal("overlap"))
				qos = append(qos, p.QoS)
			}
			Expect(qos).To(ContainElement(byte(2)), "a copy at the highest QoS of the matching subscriptions")
			switch len(got) {
			case 1:
				RecordOutcome("overlapping-subscriptions", "one copy at max QoS")
			default:
				Expect(qos).To(ConsistOf(byte(0), byte(1), byte(2)), "one copy per subscription, each at its own QoS")
				RecordOutcome("overlapping-subscriptions", "one copy per subscription")
			}
		})
})
