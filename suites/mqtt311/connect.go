package mqtt311

import (
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

var _ = Describe("CONNECT and CONNACK", Area("connect"), func() {
	ConformanceIt("answers a valid CONNECT with CONNACK 0 as its first packet", IDs("MQTT-3.1.4-4", "MQTT-3.2.0-1", "MQTT-7.1.1-1"), func() {
		c := Dial()
		Expect(c.Send(ConnectPacket(ClientID()))).To(Succeed())
		p, err := c.Next(Long)
		Expect(err).NotTo(HaveOccurred())
		Expect(p).To(BeAssignableToTypeOf(&packets.Connack{}), "first packet from the server")
		Expect(p.(*packets.Connack).ReturnCode).To(Equal(packets.Accepted))
	})

	ConformanceIt("refuses an unsupported protocol level with CONNACK 1, then closes", IDs("MQTT-3.1.2-2", "MQTT-3.2.2-4", "MQTT-3.2.2-5"), func() {
		// Level 5 is not among them: a broker that also speaks MQTT 5.0
		// reads the rest of the packet as 5.0 (Mosquitto 2 does).
		for _, level := range []byte{3, 6} {
			c := Dial()
			// The codec writes what it is given; level 3 with name "MQTT" is not 3.1.
			Expect(c.Send(ConnectPacket(ClientID(), func(p *packets.Connect) { p.ProtocolLevel = level }))).To(Succeed())
			p, err := c.Expect(packets.CONNACK, Long)
			Expect(err).NotTo(HaveOccurred(), "level %d", level)
			ack := p.(*packets.Connack)
			Expect(ack.ReturnCode).To(Equal(packets.RefusedProtocolVersion), "level %d", level)
			Expect(ack.SessionPresent).To(BeFalse())
			ExpectClosed(c, Long)
		}
	})

	ConformanceIt("accepts client IDs of 1 to 23 letters and digits", IDs("MQTT-3.1.3-5"), func() {
		// 23-byte IDs of digits, lower and upper case letters, each
		// starting with this run's unique part, and a 1-byte ID.
		var ids []string
		for _, fill := range []string{"0123456789", "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"} {
			id := ClientID()
			id += strings.Repeat(fill, 3)[:23-len(id)]
			ids = append(ids, id)
		}
		const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		ids = append(ids, string(alnum[rand.IntN(len(alnum))]))
		for _, id := range ids {
			c := Dial()
			ack, err := c.Connect(ConnectPacket(id))
			Expect(err).NotTo(HaveOccurred(), "client ID %q", id)
			Expect(ack.ReturnCode).To(Equal(packets.Accepted), "client ID %q (%d bytes)", id, len(id))
			Disconnect(c)
		}
	})

	ConformanceIt("gives an empty client ID with CleanSession 1 a unique ID of its own", IDs("MQTT-3.1.3-6"), func() {
		// Two anonymous-ID clients at once: had they been given the same
		// ID, the second CONNECT would take over the first.
		c1 := Dial()
		ack, err := c1.Connect(ConnectPacket(""))
		Expect(err).NotTo(HaveOccurred())
		if ack.ReturnCode == packets.RefusedIdentifierRejected {
			// Accepting empty IDs is optional; refusing them is allowed.
			RecordOutcome("empty-client-id", "refused with CONNACK 0x02")
			ExpectClosedSilently(c1, Long)
			return
		}
		Expect(ack.ReturnCode).To(Equal(packets.Accepted))
		Expect(ack.SessionPresent).To(BeFalse())
		RecordOutcome("empty-client-id", "accepted with an assigned ID")
		c2 := Dial()
		_, err = c2.MustConnect(ConnectPacket(""))
		Expect(err).NotTo(HaveOccurred())
		topic := Topic()
		Subscribe(c1, topic, 1)
		Subscribe(c2, topic, 1)
		Publish(Client(), topic, "both", 1, false)
		Expect(Deliver(c1).Payload).To(BeEquivalentTo("both"))
		Expect(Deliver(c2).Payload).To(BeEquivalentTo("both"))
		Ping(c1)
		Ping(c2)
	})

	ConformanceIt("refuses an empty client ID with CleanSession 0 with CONNACK 0x02, then closes", IDs("MQTT-3.1.3-8", "MQTT-3.1.3-9", "MQTT-3.2.2-4", "MQTT-3.2.2-5"), func() {
		c := Dial()
		Expect(c.Send(ConnectPacket("", Persistent))).To(Succeed())
		ExpectRefused(c, packets.RefusedIdentifierRejected)
	})

	ConformanceIt("ignores data that follows a refused CONNECT", IDs("MQTT-3.1.4-5"), func() {
		topic := Topic()
		watcher := Subscriber(topic, 1)
		// CONNECT (refused: empty ID, persistent), PUBLISH QoS 1, SUBSCRIBE
		// and PINGREQ in one write: none may be answered or acted on.
		var b []byte
		for _, p := range []packets.Packet{
			ConnectPacket("", Persistent),
			&packets.Publish{Topic: topic, QoS: 1, PacketID: 7, Payload: []byte("after refusal")},
			&packets.Subscribe{PacketID: 8, Subscriptions: []packets.Subscription{{Filter: topic, QoS: 1}}},
			&packets.Pingreq{},
		} {
			var err error
			b, err = p.AppendTo(b)
			Expect(err).NotTo(HaveOccurred())
		}
		c := Dial()
		Expect(c.SendBytes(b)).To(Succeed())
		ExpectRefused(c, packets.RefusedIdentifierRejected)
		ExpectNothing(watcher)
	})

	ConformanceIt("closes the connection on a second CONNECT", IDs("MQTT-3.1.0-2"), func() {
		id := ClientID()
		c, _ := Connect(id)
		Expect(c.Send(ConnectPacket(id))).To(Succeed())
		ExpectClosedSilently(c, Long)
	})

	ConformanceIt("closes without CONNACK when the CONNECT reserved flag is set", IDs("MQTT-3.1.2-3", "MQTT-3.1.4-1"), func() {
		c := Dial()
		Expect(c.Send(ConnectPacket(ClientID(), func(p *packets.Connect) { p.ReservedFlag = true }))).To(Succeed())
		ExpectClosedSilently(c, Long)
	})

	ConformanceIt("closes without CONNACK when the CONNECT does not conform to section 3.1", IDs("MQTT-3.1.4-1"), func() {
		cases := []struct {
			name  string
			bytes []byte
		}{
			{"fixed header flags 0001", MalformedCase("CONNECT flags 0001")},
			{"Will QoS 3", encode(ConnectPacket(ClientID(), Will(Topic(), "x", 0, false)), func(b []byte) {
				b[connectFlagsAt] |= 3 << 3
			})},
			{"Will QoS 1 with Will Flag 0", encode(ConnectPacket(ClientID()), func(b []byte) { b[connectFlagsAt] |= 1 << 3 })},
			{"Will Retain with Will Flag 0", encode(ConnectPacket(ClientID()), func(b []byte) { b[connectFlagsAt] |= 0x20 })},
			{"Password Flag without User Name Flag", encode(ConnectPacket(ClientID(), func(p *packets.Connect) {
				p.PasswordFlag, p.Password = true, []byte("pw")
			}), nil)},
			{"client ID that is not UTF-8", MalformedCase("client identifier with byte FF")},
			{"a byte after the payload", encode(ConnectPacket(ClientID()), func(b []byte) { b[1]++ }, 0)},
		}
		for _, tc := range cases {
			By(tc.name)
			c := Dial()
			Expect(c.SendBytes(tc.bytes)).To(Succeed())
			ExpectClosedSilently(c, Long)
		}
	})

	ConformanceIt("does not proceed as MQTT 3.1.1 when the protocol name is wrong", IDs("MQTT-3.1.2-1"), func() {
		c := Dial()
		Expect(c.Send(ConnectPacket(ClientID(), func(p *packets.Connect) { p.ProtocolName = "MQTX" }))).To(Succeed())
		p, err := c.Next(Long)
		switch {
		case errors.Is(err, rawclient.ErrClosed):
			RecordOutcome("wrong-protocol-name", "closed without CONNACK")
			return
		case err != nil:
			Fail(fmt.Sprintf("want CONNACK refusal or close: %v", err))
		}
		// Processing the CONNECT under another specification is allowed,
		// but not accepting it as MQTT 3.1.1.
		Expect(p).To(BeAssignableToTypeOf(&packets.Connack{}))
		ack := p.(*packets.Connack)
		Expect(ack.ReturnCode).NotTo(Equal(packets.Accepted), "CONNECT with protocol name \"MQTX\" accepted")
		RecordOutcome("wrong-protocol-name", fmt.Sprintf("CONNACK %d then close", ack.ReturnCode))
		ExpectClosedSilently(c, Long)
	})

	ConformanceIt("closes the existing connection when a client connects with the same client ID", IDs("MQTT-3.1.4-2"), func() {
		id := ClientID()
		old, _ := Connect(id)
		c, _ := Connect(id)
		ExpectClosed(old, Long)
		Ping(c) // the new connection carries on
	})

	ConformanceIt("sets Session Present as the stored session requires", IDs("MQTT-3.2.2-1", "MQTT-3.2.2-2", "MQTT-3.2.2-3", "MQTT-3.1.4-3", "MQTT-3.1.2-6"), func() {
		id := ClientID()
		topic := Topic()
		c := PersistentClient(id, false) // new persistent session [MQTT-3.2.2-3]
		Subscribe(c, topic, 1)
		Disconnect(c)
		c, present := Connect(id, Persistent)
		Expect(present).To(BeTrue(), "stored persistent session [MQTT-3.2.2-2]")
		Disconnect(c)
		c, present = Connect(id)
		Expect(present).To(BeFalse(), "CleanSession 1 [MQTT-3.2.2-1]")
		Disconnect(c)
		// The clean session discarded the stored one [MQTT-3.1.2-6]
		// [MQTT-3.1.4-3], its subscription too.
		c, present = Connect(id, Persistent)
		Expect(present).To(BeFalse(), "persistent session after a clean one")
		Publish(Client(), topic, "to a discarded subscription", 1, false)
		ExpectNothing(c)
	})

	ConformanceIt("closes a socket that sends no CONNECT within the declared connect timeout", IDs(), func() {
		limit := info.Caps.ConnectTimeout
		RequireCap(limit > 0, "a connect timeout")
		if limit > slowLimit && os.Getenv("WIRECHECK_SLOW") == "" {
			Skip(fmt.Sprintf("declared connect timeout %v is longer than %v; set WIRECHECK_SLOW=1 to wait for it", limit, slowLimit))
		}
		c := Dial()
		took := ExpectClosedSilently(c, limit+time.Second+limit/10)
		RecordMeasured("connect-timeout", took, fmt.Sprintf("%.2f × declared %v", took.Seconds()/limit.Seconds(), limit))
	})
})

// slowLimit is the longest wait a spec takes unless WIRECHECK_SLOW is set.
const slowLimit = 10 * time.Second

// connectFlagsAt is the offset of the connect flags in a CONNECT of less
// than 128 bytes: fixed header (2), protocol name "MQTT" (6), level (1).
const connectFlagsAt = 9

// encode returns p's wire form with edit applied (for flags the codec does
// not write) and extra bytes appended.
func encode(p packets.Packet, edit func([]byte), extra ...byte) []byte {
	GinkgoHelper()
	b, err := packets.Encode(p)
	Expect(err).NotTo(HaveOccurred())
	if edit != nil {
		edit(b)
	}
	return append(b, extra...)
}
