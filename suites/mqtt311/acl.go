package mqtt311

import (
	"errors"
	"fmt"
	"strings"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// deniedWatch subscribes a client to a wildcard filter that matches the
// denied topic and a sibling of it this run owns, and proves with a message
// to the sibling that it receives. It returns the client and the sibling,
// or skips when the ACL lets no such subscription read.
func deniedWatch() (*rawclient.Client, string) {
	GinkgoHelper()
	RequireCap(info.Caps.Wildcards, "wildcard subscriptions")
	levels := strings.Split(info.DeniedTopic, "/")
	levels[len(levels)-1] = "+"
	parent := strings.Join(levels, "/")
	levels[len(levels)-1] = strings.ReplaceAll(Topic(), "/", "-")
	sibling := strings.Join(levels, "/")
	w := Client()
	for _, f := range []string{parent, "#"} {
		ack, err := w.Subscribe(1, packets.Subscription{Filter: f, QoS: 1})
		Expect(err).NotTo(HaveOccurred())
		if ack.ReturnCodes[0] == packets.SubackFailure {
			continue
		}
		Publish(Client(), sibling, "control", 1, false)
		for _, p := range Gather(w, 1, 0) {
			if p.Topic == sibling {
				return w, sibling
			}
		}
		Skip("a subscriber to " + f + " does not receive " + sibling + ": cannot watch the denied topic")
	}
	Skip("the ACL refuses " + parent + " and #: cannot watch the denied topic")
	return nil, ""
}

// onlySibling requires w to receive the fence message on sibling and
// nothing on the denied topic.
func onlySibling(w *rawclient.Client, sibling, fence string) {
	GinkgoHelper()
	seen := false
	for _, p := range Gather(w, 1, Short) {
		Expect(p.Topic).NotTo(Equal(info.DeniedTopic), "a message on the denied topic was delivered: %q", p.Payload)
		if p.Topic == sibling && string(p.Payload) == fence {
			seen = true
		}
	}
	Expect(seen).To(BeTrue(), "the fence message on %s", sibling)
}

var _ = Describe("Authorisation", Area("security"), func() {
	BeforeEach(func() {
		RequireCap(info.Caps.ACL && info.DeniedTopic != "", "an ACL with a denied topic")
	})

	ConformanceIt("acknowledges a PUBLISH to a denied topic as its QoS requires or closes the connection, and delivers it to no one",
		IDs("MQTT-3.3.5-2"), func() {
			w, sibling := deniedWatch()
			c := Client()
			outcome := "acknowledged normally"
		flows:
			for _, qos := range []byte{1, 2, 0} {
				err := c.Publish(&packets.Publish{Topic: info.DeniedTopic, QoS: qos, PacketID: uint16(10 + qos),
					Payload: []byte("denied")})
				if qos == 0 && err == nil {
					// Nothing acknowledges QoS 0: PINGRESP shows it was read.
					if err = c.Send(&packets.Pingreq{}); err == nil {
						_, err = c.Expect(packets.PINGRESP, Long)
					}
				}
				switch {
				case err == nil:
				case errors.Is(err, rawclient.ErrClosed):
					outcome = "connection closed"
					break flows
				default:
					Fail(fmt.Sprintf("QoS %d PUBLISH to the denied topic: %v (want the normal acknowledgement or the connection closed)", qos, err))
				}
			}
			RecordOutcome("acl-denied-publish", outcome)
			Publish(Client(), sibling, "fence", 1, false)
			onlySibling(w, sibling, "fence")
		})

	ConformanceIt("answers a SUBSCRIBE to a denied topic with return code 0x80, or grants it and delivers nothing from it",
		IDs("MQTT-3.8.4-5", "MQTT-3.8.4-4"), func() {
			allowed := Topic("allowed")
			sub := Client()
			ack, err := sub.Subscribe(2, packets.Subscription{Filter: allowed, QoS: 1},
				packets.Subscription{Filter: info.DeniedTopic, QoS: 1})
			Expect(err).NotTo(HaveOccurred())
			Expect(ack.ReturnCodes).To(HaveLen(2), "one return code per filter")
			Expect(ack.ReturnCodes[0]).To(Equal(byte(1)), "the allowed filter")
			switch code := ack.ReturnCodes[1]; code {
			case packets.SubackFailure:
				RecordOutcome("acl-denied-subscribe", "SUBACK 0x80")
			default:
				Expect(code).To(BeNumerically("<=", 1))
				RecordOutcome("acl-denied-subscribe", "granted, nothing delivered")
				// Whoever tries to publish there, nothing may come through.
				c := Client()
				if c.Send(&packets.Publish{Topic: info.DeniedTopic, QoS: 1, PacketID: 1, Payload: []byte("denied")}) == nil {
					c.Next(Long) // PUBACK or close: either is allowed [MQTT-3.3.5-2]
				}
			}
			Publish(Client(), allowed, "allowed", 1, false)
			got := Gather(sub, 1, Short)
			Expect(topicsOf(got)).To(Equal([]string{allowed}), "only the allowed filter delivers")
		})
})
