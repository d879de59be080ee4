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

var _ = Describe("Will and DISCONNECT", Area("will"), func() {
	ConformanceIt("publishes a will, at its QoS and not retained, when the connection drops without DISCONNECT", IDs("MQTT-3.1.2-8", "MQTT-3.1.2-16"), func() {
		topic := Topic("will")
		sub := Subscriber(topic, 2)
		// One client per will QoS, each dropped once its CONNECT is handled.
		for qos := byte(0); qos <= 2; qos++ {
			c, _ := ConnectDroppable(ClientID(), Will(topic, fmt.Sprint("QoS ", qos), qos, false))
			Ping(c)
			Drop(c)
		}
		got := Collect(sub, 3)
		byPayload := map[string]*packets.Publish{}
		for _, p := range got {
			Expect(p.Topic).To(Equal(topic))
			Expect(p.Retain).To(BeFalse(), "RETAIN on a will with Will Retain 0")
			byPayload[string(p.Payload)] = p
		}
		for qos := byte(0); qos <= 2; qos++ {
			p := byPayload[fmt.Sprint("QoS ", qos)]
			Expect(p).NotTo(BeNil(), "the QoS %d will", qos)
			Expect(p.QoS).To(Equal(qos), "the will's QoS")
		}
		// Will Retain 0: nothing is left for a later subscriber.
		late := Subscriber(topic, 2)
		ExpectNoneOf(sub, late)
	})

	ConformanceIt("publishes a will with Will Retain 1 as a retained message", IDs("MQTT-3.1.2-8", "MQTT-3.1.2-17"), func() {
		topic := Topic("will")
		DeferCleanup(clearRetained, topic)
		sub := Subscriber(topic, 1)
		c, _ := ConnectDroppable(ClientID(), Will(topic, "retained will", 1, true))
		Ping(c)
		Drop(c)
		Expect(Deliver(sub).Payload).To(BeEquivalentTo("retained will"))
		late := Client()
		Subscribe(late, topic, 1)
		p := Deliver(late)
		Expect(p.Payload).To(BeEquivalentTo("retained will"))
		Expect(p.Retain).To(BeTrue(), "RETAIN on the stored will")
	})

	ConformanceIt("publishes the will when the keep alive expires", IDs("MQTT-3.1.2-8"), func() {
		// Timing is the keep alive specs' business: here only that the
		// will goes out once the broker gives up on a silent client.
		topic := Topic("will")
		sub := Subscriber(topic, 1)
		start := time.Now()
		c, _ := Connect(ClientID(), KeepAlive(keepAlive), Will(topic, "timed out", 1, false))
		p, err := sub.Receive(keepAliveGiveUp) // the client stays silent meanwhile
		took := time.Since(start)
		Expect(err).NotTo(HaveOccurred(), "waiting for the will of a client with keep alive %d s", keepAlive)
		Expect(p.Payload).To(BeEquivalentTo("timed out"))
		ExpectClosed(c, Short)
		RecordMeasured("keepalive-will", took, fmt.Sprintf("%.2f × keepalive", took.Seconds()/keepAlive))
	})

	ConformanceIt("publishes the will when it closes the connection for a protocol error", IDs("MQTT-3.1.2-8"), func() {
		topic := Topic("will")
		sub := Subscriber(topic, 1)
		c, _ := Connect(ClientID(), Will(topic, "protocol error", 1, false))
		Expect(c.SendBytes(MalformedCase("PUBLISH QoS 3"))).To(Succeed())
		ExpectClosed(c, Long)
		Expect(Deliver(sub).Payload).To(BeEquivalentTo("protocol error"))
	})

	ConformanceIt("publishes the will only once", IDs("MQTT-3.1.2-10"), func() {
		topic := Topic("will")
		sub := Subscriber(topic, 1)
		id := ClientID()
		c, _ := ConnectDroppable(id, Will(topic, "once", 1, false))
		Ping(c)
		Drop(c)
		Expect(Deliver(sub).Payload).To(BeEquivalentTo("once"))
		// The same client again, without a will: its drop publishes nothing.
		c, _ = ConnectDroppable(id)
		Ping(c)
		Drop(c)
		ExpectNothing(sub)
	})

	ConformanceIt("discards the will on DISCONNECT", IDs("MQTT-3.1.2-10", "MQTT-3.14.4-3"), func() {
		topic := Topic("will")
		sub := Subscriber(topic, 1)
		c, _ := Connect(ClientID(), Will(topic, "must not be sent", 1, false))
		Disconnect(c)
		ExpectNothing(sub)
	})

	ConformanceIt("publishes no will for a CONNECT with Will Flag 0", IDs("MQTT-3.1.2-12"), func() {
		// The filter covers any topic a broker could make up under this
		// spec's prefix, and the client publishes there itself first so a
		// will, had one been invented, would have a topic to go to.
		topic := Topic()
		sub := Subscriber(topic+"/#", 1)
		c, _ := ConnectDroppable(ClientID())
		Publish(c, topic+"/x", "live", 1, false)
		Expect(Deliver(sub).Payload).To(BeEquivalentTo("live"))
		Drop(c)
		ExpectNothing(sub)
	})

	ConformanceIt("closes the connection on a DISCONNECT with reserved flags set", IDs("MQTT-3.14.1-1"), func() {
		topic := Topic("will")
		sub := Subscriber(topic, 1)
		c, _ := Connect(ClientID(), Will(topic, "bad disconnect", 1, false))
		Expect(c.SendBytes(MalformedCase("DISCONNECT flags 0001"))).To(Succeed())
		ExpectClosed(c, Long)
		// Not a DISCONNECT, so the will should go out; record what happened.
		_, err := sub.Receive(Short)
		switch {
		case err == nil:
			RecordOutcome("will-after-malformed-disconnect", "published")
		case errors.Is(err, rawclient.ErrTimeout):
			RecordOutcome("will-after-malformed-disconnect", "not published")
		default:
			Expect(err).NotTo(HaveOccurred())
		}
	})
})
