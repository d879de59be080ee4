package mqtt311

import (
	"errors"
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// malformedEntry is one golden malformed case sent to the broker: on a fresh
// socket as the first packet, or by a client that has connected.
func malformedEntry(name string, first bool, ids ...string) TableEntry {
	return statementEntry(name, append(ids, "MQTT-4.8.0-1"), name, first)
}

// expectClosedAfter sends bad, then a PINGREQ, and requires the broker to
// close the connection. A PINGRESP to that PINGREQ means the broker has read
// past bad and kept the connection, so the spec fails at once instead of
// waiting Long (a bad PINGREQ may be answered too: then the second counts).
func expectClosedAfter(c *rawclient.Client, bad []byte) {
	GinkgoHelper()
	Expect(c.SendBytes(append(append([]byte{}, bad...), 0xc0, 0x00))).To(Succeed())
	answers := 1
	if packets.Type(bad[0]>>4) == packets.PINGREQ {
		answers = 2
	}
	deadline := time.Now().Add(Long)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			Fail(fmt.Sprintf("connection still open %v after % x", Long, bad))
		}
		p, err := c.Next(left)
		switch {
		case errors.Is(err, rawclient.ErrClosed):
			return
		case errors.Is(err, rawclient.ErrTimeout):
			continue
		case err != nil:
			return // undecodable bytes, then the close, count as closed
		case p.Type() == packets.PINGRESP:
			if answers--; answers == 0 {
				Fail(fmt.Sprintf("the broker answered the PINGREQ sent after % x: it read past the bad packet and kept the connection", bad))
			}
		}
	}
}

var _ = Describe("Malformed packets", Area("malformed"), func() {
	// The bytes are the codec's golden malformed cases, each annotated
	// field by field in reference/mqtt/packets/golden.go. Left out: packets
	// cut short (a broker rightly waits for the rest), DISCONNECT with bad
	// flags or a body (the connection closes whatever the broker thinks of
	// it), and CONNECT-only rules, which the connect specs cover.
	statementTable("closes the connection on a packet the codec refuses", nil, func(name string, first bool) {
		var c = Dial()
		if !first {
			c = Client()
		}
		expectClosedAfter(c, MalformedCase(name))
	},
		// Packet types 0 and 15 are reserved (Table 2.1).
		malformedEntry("reserved packet type 0", false),
		malformedEntry("reserved packet type 15", false),

		// Reserved fixed-header flags (Table 2.2), one case per packet type.
		// The server-to-client types are a violation from a client anyway.
		malformedEntry("CONNECT flags 0001", true, "MQTT-2.2.2-2"),
		malformedEntry("CONNACK flags 1000", false, "MQTT-2.2.2-2"),
		malformedEntry("PUBACK flags 0001", false, "MQTT-2.2.2-2"),
		malformedEntry("PUBREC flags 0010", false, "MQTT-2.2.2-2"),
		malformedEntry("PUBREL flags 0000", false, "MQTT-2.2.2-2", "MQTT-3.6.1-1"),
		malformedEntry("PUBCOMP flags 0010", false, "MQTT-2.2.2-2"),
		malformedEntry("SUBSCRIBE flags 0000", false, "MQTT-2.2.2-2", "MQTT-3.8.1-1"),
		malformedEntry("SUBACK flags 0001", false, "MQTT-2.2.2-2"),
		malformedEntry("UNSUBSCRIBE flags 0000", false, "MQTT-2.2.2-2", "MQTT-3.10.1-1"),
		malformedEntry("UNSUBACK flags 0010", false, "MQTT-2.2.2-2"),
		malformedEntry("PINGREQ flags 0001", false, "MQTT-2.2.2-2"),
		malformedEntry("PINGRESP flags 1000", false, "MQTT-2.2.2-2"),

		// Remaining length and packet size (§2.2.3).
		malformedEntry("remaining length of five bytes", false),
		malformedEntry("PUBACK shorter than its packet identifier", false),
		malformedEntry("PUBACK with trailing bytes", false),
		malformedEntry("PINGREQ with a body", false),
		malformedEntry("string longer than the packet", false, "MQTT-3.3.2-1"),

		// UTF-8 encoded strings (§1.5.3).
		malformedEntry("topic with a lone continuation byte", false, "MQTT-1.5.3-1"),
		malformedEntry("topic with an encoded surrogate", false, "MQTT-1.5.3-1"),
		malformedEntry("topic with an overlong NUL", false, "MQTT-1.5.3-1"),
		malformedEntry("client identifier with byte FF", true, "MQTT-1.5.3-1"),
		malformedEntry("topic with U+0000", false, "MQTT-1.5.3-2", "MQTT-4.7.3-2"),
		malformedEntry("topic filter with U+0000", false, "MQTT-1.5.3-2", "MQTT-4.7.3-2"),

		// PUBLISH (§3.3).
		malformedEntry("PUBLISH topic with +", false, "MQTT-3.3.2-2", "MQTT-4.7.1-1"),
		malformedEntry("PUBLISH topic with #", false, "MQTT-3.3.2-2", "MQTT-4.7.1-1"),
		malformedEntry("PUBLISH empty topic", false, "MQTT-4.7.3-1"),
		malformedEntry("PUBLISH QoS 3", false, "MQTT-3.3.1-4"),
		malformedEntry("PUBLISH DUP on QoS 0", false, "MQTT-3.3.1-2"),
		malformedEntry("PUBLISH QoS 1 packet identifier 0", false, "MQTT-2.3.1-1"),
		malformedEntry("PUBLISH QoS 2 without packet identifier", false),

		// Packet identifier 0 (§2.3.1).
		malformedEntry("SUBSCRIBE packet identifier 0", false, "MQTT-2.3.1-1"),
		malformedEntry("UNSUBSCRIBE packet identifier 0", false, "MQTT-2.3.1-1"),
		malformedEntry("PUBACK packet identifier 0", false),
		malformedEntry("PUBREC packet identifier 0", false),
		malformedEntry("PUBREL packet identifier 0", false),
		malformedEntry("PUBCOMP packet identifier 0", false),

		// SUBSCRIBE and UNSUBSCRIBE payloads (§3.8.3, §3.10.3).
		malformedEntry("SUBSCRIBE with no payload", false, "MQTT-3.8.3-3"),
		malformedEntry("SUBSCRIBE requested QoS 3", false, "MQTT-3.8.3-4"),
		malformedEntry("SUBSCRIBE requested QoS reserved bit 0x04", false, "MQTT-3.8.3-4"),
		malformedEntry("SUBSCRIBE requested QoS reserved bit 0x80", false, "MQTT-3.8.3-4"),
		malformedEntry("SUBSCRIBE without requested QoS", false),
		malformedEntry("UNSUBSCRIBE with no payload", false, "MQTT-3.10.3-2"),
	)

	ConformanceIt("sends every packet type with the fixed-header flags of Table 2.2 and only valid SUBACK return codes",
		IDs("MQTT-2.2.2-1", "MQTT-3.9.3-2"), func() {
			// rawclient decodes strictly: a packet from the broker with other
			// flags, or a SUBACK code other than 0, 1, 2 or 0x80, fails here.
			RequireCap(info.Caps.MaxQoS >= 2, "QoS 2")
			topic := Topic("flags")
			sub := Client()                                                           // CONNACK
			ack, err := sub.Subscribe(3, packets.Subscription{Filter: topic, QoS: 2}) // SUBACK
			Expect(err).NotTo(HaveOccurred())
			Expect(ack.ReturnCodes).To(Equal([]byte{2}))
			pub := Client()
			for _, qos := range []byte{0, 1, 2} { // PUBACK, PUBREC, PUBCOMP
				Publish(pub, topic, "flags", qos, qos == 1)
			}
			got := Gather(sub, 3, 0) // PUBLISH at each QoS, PUBREL
			Expect(got).To(HaveLen(3))
			if info.Caps.Retain {
				DeferCleanup(Publish, pub, topic, "", byte(1), true)
				expectRetained(Gather(Subscriber(topic, 1), 1, 0), topic, "flags", 1) // PUBLISH with RETAIN
			}
			Unsubscribe(sub, 4, topic) // UNSUBACK
			Ping(sub)                  // PINGRESP
		})
})
