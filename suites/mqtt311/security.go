package mqtt311

import (
	"crypto/tls"
	"fmt"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// refusedCredentials are the return codes a broker may give for a user name
// or password it does not accept. The text of §3.2.2.3 describes 4 as
// "malformed" user name or password data and 5 as "not authorized"; brokers
// use either for a wrong password, so the spec records which.
var refusedCredentials = []byte{packets.RefusedBadUsernamePassword, packets.RefusedNotAuthorized}

var _ = Describe("Authentication and TLS", Area("security"), func() {
	ConformanceIt("accepts a CONNECT with the configured user name and password", IDs("MQTT-3.1.4-4"), func() {
		RequireCap(info.Caps.Auth && info.Username != "", "credentials it enforces")
		c := Dial()
		ack, err := c.Connect(ConnectPacket(ClientID(), Credentials(info.Username, info.Password)))
		Expect(err).NotTo(HaveOccurred())
		Expect(ack.ReturnCode).To(Equal(packets.Accepted))
		Ping(c)
	})

	for _, tc := range []struct {
		name, outcome string
		follow        bool                   // send a PUBLISH right behind the CONNECT [MQTT-3.1.4-5]
		mod           func(*packets.Connect) // run inside the spec: info is known then
	}{
		{"a wrong password", "bad-password-code", true,
			func(p *packets.Connect) { Credentials(info.Username, info.Password+"x")(p) }},
		{"an unknown user name", "unknown-user-code", true,
			func(p *packets.Connect) { Credentials("no-such-user-"+ClientID(), info.Password)(p) }},
		{"a user name without its password", "user-without-password-code", false,
			func(p *packets.Connect) { p.UsernameFlag, p.Username = true, info.Username }},
	} {
		ids, text := IDs("MQTT-3.2.2-4", "MQTT-3.2.2-5"), "refuses "+tc.name+" with CONNACK 4 or 5, then closes"
		if tc.follow {
			ids, text = append(ids, "MQTT-3.1.4-5"), text+" and ignores what follows"
		}
		ConformanceIt(text, ids, func() {
			RequireCap(info.Caps.Auth && info.Username != "", "credentials it enforces")
			topic := Topic()
			b := encode(ConnectPacket(ClientID(), tc.mod), nil)
			if tc.follow {
				var err error
				b, err = (&packets.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: []byte("x")}).AppendTo(b)
				Expect(err).NotTo(HaveOccurred())
			}
			var watcher *rawclient.Client
			if tc.follow {
				watcher = Subscriber(topic, 1)
			}
			c := Dial()
			Expect(c.SendBytes(b)).To(Succeed())
			code := ExpectRefused(c, refusedCredentials...)
			RecordOutcome(tc.outcome, fmt.Sprintf("CONNACK %d", code))
			if tc.follow {
				ExpectNothing(watcher) // the PUBLISH was not acted on
			}
		})
	}

	ConformanceIt("refuses an anonymous client with CONNACK 5 where anonymous access is off", IDs("MQTT-3.2.2-4", "MQTT-3.2.2-5"), func() {
		c := Dial()
		Expect(c.Send(ConnectPacket(ClientID()))).To(Succeed())
		p, err := c.Expect(packets.CONNACK, Long)
		Expect(err).NotTo(HaveOccurred())
		ack := p.(*packets.Connack)
		if info.Caps.AnonymousAllowed {
			Expect(ack.ReturnCode).To(Equal(packets.Accepted), "the target declares anonymous access")
			RecordOutcome("anonymous", "accepted (declared)")
			Skip("target " + tgt.Name() + " allows anonymous clients")
		}
		Expect(ack.ReturnCode).To(Equal(packets.RefusedNotAuthorized))
		Expect(ack.SessionPresent).To(BeFalse())
		ExpectClosedSilently(c, Long)
		RecordOutcome("anonymous", "refused with CONNACK 5")
	})

	ConformanceIt("speaks MQTT over TLS: connect, subscribe, publish", IDs("MQTT-7.1.1-1"), func() {
		tlsClient := func() *rawclient.Client {
			GinkgoHelper()
			c := DialTLS()
			if tc, ok := c.Conn().(*tls.Conn); ok {
				GinkgoWriter.Printf("TLS %s\n", tls.VersionName(tc.ConnectionState().Version))
			}
			var mods []func(*packets.Connect)
			if !info.Caps.AnonymousAllowed && info.Username != "" {
				mods = append(mods, Credentials(info.Username, info.Password))
			}
			_, err := c.MustConnect(ConnectPacket(ClientID(), mods...))
			Expect(err).NotTo(HaveOccurred())
			return c
		}
		topic := Topic("tls")
		sub, pub := tlsClient(), tlsClient()
		Subscribe(sub, topic, 2)
		plain := Subscriber(topic, 2) // plain TCP clients see what TLS clients publish
		for qos := byte(0); qos <= 2; qos++ {
			payload := fmt.Sprint("over TLS at QoS ", qos)
			Publish(pub, topic, payload, qos, false)
			for _, c := range []*rawclient.Client{sub, plain} {
				p := Deliver(c)
				Expect(p.Payload).To(BeEquivalentTo(payload))
				Expect(p.QoS).To(Equal(qos))
			}
		}
	})
})
