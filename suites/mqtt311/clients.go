package mqtt311

import (
	"errors"
	"fmt"
	"sync"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// Waits used across the suite. Long bounds an answer that must come; Short
// is how long silence must last to count as "nothing arrived".
const (
	Long  = 5 * time.Second
	Short = 300 * time.Millisecond
)

// Dial opens a raw connection to the target, closed when the spec ends.
func Dial() *rawclient.Client {
	GinkgoHelper()
	nc, err := info.Dial(Long)
	Expect(err).NotTo(HaveOccurred(), "dial %s", info.Addr)
	c := rawclient.New(nc)
	DeferCleanup(c.Close)
	return c
}

// ConnectPacket is a clean-session CONNECT for id, changed by mods.
func ConnectPacket(id string, mods ...func(*packets.Connect)) *packets.Connect {
	p := &packets.Connect{ClientID: id, CleanSession: true, KeepAlive: 60}
	for _, m := range mods {
		m(p)
	}
	return p
}

// Persistent makes a CONNECT ask for a persistent session.
func Persistent(p *packets.Connect) { p.CleanSession = false }

// KeepAlive sets the keep alive in seconds.
func KeepAlive(s uint16) func(*packets.Connect) {
	return func(p *packets.Connect) { p.KeepAlive = s }
}

// Will sets a will message.
func Will(topic string, payload string, qos byte, retain bool) func(*packets.Connect) {
	return func(p *packets.Connect) {
		p.WillFlag, p.WillTopic, p.WillMessage, p.WillQoS, p.WillRetain = true, topic, []byte(payload), qos, retain
	}
}

// Credentials sets user name and password.
func Credentials(user, pass string) func(*packets.Connect) {
	return func(p *packets.Connect) {
		p.UsernameFlag, p.Username, p.PasswordFlag, p.Password = true, user, true, []byte(pass)
	}
}

// Connect dials and connects, requiring CONNACK 0; it returns the client and
// the session-present flag.
func Connect(id string, mods ...func(*packets.Connect)) (*rawclient.Client, bool) {
	GinkgoHelper()
	c := Dial()
	ack, err := c.MustConnect(ConnectPacket(id, mods...))
	Expect(err).NotTo(HaveOccurred(), "CONNECT %s", id)
	return c, ack.SessionPresent
}

// Client connects a fresh clean session.
func Client(mods ...func(*packets.Connect)) *rawclient.Client {
	GinkgoHelper()
	c, _ := Connect(ClientID(), mods...)
	return c
}

// Subscribe subscribes c and requires the granted QoS to be the one asked.
func Subscribe(c *rawclient.Client, filter string, qos byte) {
	GinkgoHelper()
	ack, err := c.Subscribe(1, packets.Subscription{Filter: filter, QoS: qos})
	Expect(err).NotTo(HaveOccurred())
	Expect(ack.ReturnCodes).To(Equal([]byte{qos}), "SUBACK for %s", filter)
}

// Subscriber connects a clean session subscribed to filter at qos.
func Subscriber(filter string, qos byte) *rawclient.Client {
	GinkgoHelper()
	c := Client()
	Subscribe(c, filter, qos)
	return c
}

// Publish sends a message and completes its QoS flow.
func Publish(c *rawclient.Client, topic, payload string, qos byte, retain bool) {
	GinkgoHelper()
	p := &packets.Publish{Topic: topic, Payload: []byte(payload), QoS: qos, Retain: retain}
	if qos > 0 {
		p.PacketID = uint16(seq.Add(1)%65535) + 1
	}
	Expect(c.Publish(p)).To(Succeed(), "PUBLISH %s QoS %d", topic, qos)
}

// Deliver waits for a PUBLISH on c and acknowledges it.
func Deliver(c *rawclient.Client) *packets.Publish {
	GinkgoHelper()
	p, err := c.Receive(Long)
	Expect(err).NotTo(HaveOccurred())
	return p
}

// ExpectNothing requires c to receive no packet for Short.
func ExpectNothing(c *rawclient.Client) {
	GinkgoHelper()
	Expect(c.ExpectNothing(Short)).To(Succeed())
}

// ExpectClosed requires the broker to close c within d and returns how long
// it took.
func ExpectClosed(c *rawclient.Client, d time.Duration) time.Duration {
	GinkgoHelper()
	took, err := c.ExpectClosed(d)
	Expect(err).NotTo(HaveOccurred())
	return took
}

// RequireCap skips the spec when the target lacks what it needs.
func RequireCap(ok bool, what string) {
	if !ok {
		Skip("target " + tgt.Name() + " does not declare " + what)
	}
}

// ---- Helpers for the connect, session, will, keepalive, security and
// transport specs.

// ExpectClosedSilently requires the broker to close c within d without
// sending any packet first (e.g. no CONNACK [MQTT-3.1.4-1]); it returns how
// long the close took.
func ExpectClosedSilently(c *rawclient.Client, d time.Duration) time.Duration {
	GinkgoHelper()
	start := time.Now()
	p, err := c.Next(d)
	took := time.Since(start)
	switch {
	case err == nil:
		Fail(fmt.Sprintf("got %v %+v, want the connection closed with nothing sent", p.Type(), p))
	case errors.Is(err, rawclient.ErrTimeout):
		Fail(fmt.Sprintf("connection still open after %v", d))
	case !errors.Is(err, rawclient.ErrClosed):
		Fail(fmt.Sprintf("got undecodable bytes (%v), want the connection closed with nothing sent", err))
	}
	return took
}

// ExpectRefused waits for a CONNACK, requires its return code to be one of
// codes and Session Present 0 [MQTT-3.2.2-4], then requires the broker to
// close the connection [MQTT-3.2.2-5]. It returns the code.
func ExpectRefused(c *rawclient.Client, codes ...byte) byte {
	GinkgoHelper()
	p, err := c.Expect(packets.CONNACK, Long)
	Expect(err).NotTo(HaveOccurred(), "waiting for CONNACK")
	ack := p.(*packets.Connack)
	Expect(codes).To(ContainElement(ack.ReturnCode), "CONNACK return code")
	Expect(ack.SessionPresent).To(BeFalse(), "Session Present with a refusal [MQTT-3.2.2-4]")
	ExpectClosedSilently(c, Long)
	return ack.ReturnCode
}

// Ping sends PINGREQ and requires PINGRESP within Long [MQTT-3.12.4-1].
func Ping(c *rawclient.Client) {
	GinkgoHelper()
	Expect(c.Send(&packets.Pingreq{})).To(Succeed())
	_, err := c.Expect(packets.PINGRESP, Long)
	Expect(err).NotTo(HaveOccurred(), "waiting for PINGRESP")
}

// Disconnect sends DISCONNECT and waits for the broker to close the
// connection, so that the session is offline when it returns.
func Disconnect(c *rawclient.Client) {
	GinkgoHelper()
	Expect(c.Send(&packets.Disconnect{})).To(Succeed())
	ExpectClosed(c, Long)
}

// DropSession removes any session the broker keeps for id (a clean
// CONNECT, then DISCONNECT); specs that make persistent sessions defer it.
func DropSession(id string) {
	nc, err := info.Dial(Long)
	if err != nil {
		return
	}
	c := rawclient.New(nc)
	defer c.Close()
	if _, err := c.MustConnect(ConnectPacket(id)); err == nil {
		c.Send(&packets.Disconnect{})
		c.ExpectClosed(Short)
	}
}

// PersistentClient connects id with CleanSession 0, requires the
// Session Present flag to be present, and removes the session when the spec
// ends.
func PersistentClient(id string, present bool, mods ...func(*packets.Connect)) *rawclient.Client {
	GinkgoHelper()
	DeferCleanup(DropSession, id)
	c, got := ConnectDroppable(id, append([]func(*packets.Connect){Persistent}, mods...)...)
	Expect(got).To(Equal(present), "Session Present for %s", id)
	return c
}

// DialDroppable is Dial for a connection the spec may Drop itself.
func DialDroppable() *rawclient.Client {
	GinkgoHelper()
	nc, err := info.Dial(Long)
	Expect(err).NotTo(HaveOccurred(), "dial %s", info.Addr)
	c := rawclient.New(nc)
	DeferCleanup(func() { c.Close() })
	return c
}

// ConnectDroppable is Connect on a connection the spec may Drop.
func ConnectDroppable(id string, mods ...func(*packets.Connect)) (*rawclient.Client, bool) {
	GinkgoHelper()
	c := DialDroppable()
	ack, err := c.MustConnect(ConnectPacket(id, mods...))
	Expect(err).NotTo(HaveOccurred(), "CONNECT %s", id)
	return c, ack.SessionPresent
}

// Drop closes a connection from DialDroppable or ConnectDroppable without
// DISCONNECT: a network failure as the broker sees it.
func Drop(c *rawclient.Client) { c.Close() }

// Collect receives n PUBLISH packets on c within Long, acknowledging each
// as its QoS requires and completing QoS 2 flows even when they interleave
// with other deliveries. It returns the messages in arrival order.
func Collect(c *rawclient.Client, n int) []*packets.Publish {
	GinkgoHelper()
	var got []*packets.Publish
	pending := map[uint16]bool{} // QoS 2 IDs waiting for PUBREL
	deadline := time.Now().Add(Long)
	for len(got) < n || len(pending) > 0 {
		left := time.Until(deadline)
		Expect(left).To(BeNumerically(">", 0), "received %d of %d messages, %d QoS 2 flows open", len(got), n, len(pending))
		p, err := c.Next(left)
		Expect(err).NotTo(HaveOccurred(), "received %d of %d messages", len(got), n)
		switch p := p.(type) {
		case *packets.Publish:
			got = append(got, p)
			switch p.QoS {
			case 1:
				Expect(c.Send(&packets.Puback{PacketID: p.PacketID})).To(Succeed())
			case 2:
				pending[p.PacketID] = true
				Expect(c.Send(&packets.Pubrec{PacketID: p.PacketID})).To(Succeed())
			}
		case *packets.Pubrel:
			Expect(pending).To(HaveKey(p.PacketID), "PUBREL for an unknown packet ID")
			delete(pending, p.PacketID)
			Expect(c.Send(&packets.Pubcomp{PacketID: p.PacketID})).To(Succeed())
		default:
			Fail(fmt.Sprintf("got %v %+v while receiving messages", p.Type(), p))
		}
	}
	return got
}

// ExpectPubacks reads n PUBACKs from pub and requires one per packet ID
// 1..n sent, whatever their order.
func ExpectPubacks(pub *rawclient.Client, n int) {
	GinkgoHelper()
	acked := map[uint16]bool{}
	for range n {
		p, err := pub.Expect(packets.PUBACK, Long)
		Expect(err).NotTo(HaveOccurred(), "after %d PUBACKs", len(acked))
		acked[p.(*packets.Puback).PacketID] = true
	}
	Expect(acked).To(HaveLen(n), "one PUBACK per PUBLISH")
}

// Payloads returns the payloads of ps as strings.
func Payloads(ps []*packets.Publish) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = string(p.Payload)
	}
	return out
}

// DialTLS opens a raw connection to the target's TLS listener, or skips the
// spec when the target has none.
func DialTLS() *rawclient.Client {
	GinkgoHelper()
	if info.TLSAddr == "" || info.TLSConfig == nil {
		Skip("target " + tgt.Name() + " has no TLS listener")
	}
	nc, err := info.DialTLS(Long, info.TLSConfig.Clone())
	Expect(err).NotTo(HaveOccurred(), "dial TLS %s", info.TLSAddr)
	c := rawclient.New(nc)
	DeferCleanup(c.Close)
	return c
}

// MalformedCase returns the bytes of the malformed golden case called name.
func MalformedCase(name string) []byte {
	GinkgoHelper()
	for _, g := range packets.GoldenMalformed {
		if g.Name == name {
			return g.Bytes
		}
	}
	Fail("no golden malformed case " + name)
	return nil
}

// ---- Helpers for the publish, qos, retained, subscribe, topics,
// packet-ids, malformed and acl specs.

// gather reads what the broker sends c: up to Long for want PUBLISH packets,
// then on for quiet so that extra copies show up. With ack it answers as a
// subscriber does (PUBACK, PUBREC, PUBCOMP for PUBREL) and reads on until
// every QoS 2 flow it answered has had its PUBREL; without, it answers
// nothing and counts PUBREL as unexpected. Every PUBLISH comes back in
// arrival order; any other packet or the connection closing is an error.
func gather(c *rawclient.Client, want int, quiet time.Duration, ack bool) ([]*packets.Publish, error) {
	var got []*packets.Publish
	pending := map[uint16]bool{} // QoS 2 deliveries waiting for PUBREL
	deadline := time.Now().Add(Long)
	if want == 0 {
		deadline = time.Now().Add(quiet)
	}
	var flowsEnd time.Time // once deadline passes: limit for open QoS 2 flows
	for {
		left := time.Until(deadline)
		if left <= 0 {
			if len(pending) == 0 {
				return got, nil
			}
			// Finish the QoS 2 flows this answered, so no PUBREL is left over.
			if flowsEnd.IsZero() {
				flowsEnd = time.Now().Add(Long)
			}
			if left = time.Until(flowsEnd); left <= 0 {
				return got, fmt.Errorf("no PUBREL for packet IDs %v", pending)
			}
		}
		p, err := c.Next(left)
		switch {
		case errors.Is(err, rawclient.ErrTimeout):
			continue
		case err != nil:
			return got, fmt.Errorf("after %d PUBLISH: %w", len(got), err)
		}
		switch p := p.(type) {
		case *packets.Publish:
			got = append(got, p)
			if ack {
				switch p.QoS {
				case 1:
					err = c.Send(&packets.Puback{PacketID: p.PacketID})
				case 2:
					pending[p.PacketID] = true
					err = c.Send(&packets.Pubrec{PacketID: p.PacketID})
				}
			}
			if len(got) == want {
				deadline = time.Now().Add(quiet)
			}
		case *packets.Pubrel:
			if !pending[p.PacketID] {
				return got, fmt.Errorf("unexpected PUBREL %d", p.PacketID)
			}
			delete(pending, p.PacketID)
			err = c.Send(&packets.Pubcomp{PacketID: p.PacketID})
		default:
			return got, fmt.Errorf("unexpected %v %+v", p.Type(), p)
		}
		if err != nil {
			return got, err
		}
	}
}

// Gather waits up to Long for want messages on c, then keeps reading for
// quiet (0: not at all), acknowledging each as a subscriber does; it returns
// every PUBLISH that arrived, in order.
func Gather(c *rawclient.Client, want int, quiet time.Duration) []*packets.Publish {
	GinkgoHelper()
	got, err := gather(c, want, quiet, true)
	Expect(err).NotTo(HaveOccurred())
	return got
}

// GatherNoAck is Gather without acknowledging anything.
func GatherNoAck(c *rawclient.Client, want int, quiet time.Duration) []*packets.Publish {
	GinkgoHelper()
	got, err := gather(c, want, quiet, false)
	Expect(err).NotTo(HaveOccurred())
	return got
}

// GatherEach reads from every one of cs at the same time for quiet,
// acknowledging as a subscriber does, and returns what each received; it
// costs one quiet period however many clients it watches.
func GatherEach(quiet time.Duration, cs ...*rawclient.Client) [][]*packets.Publish {
	GinkgoHelper()
	got := make([][]*packets.Publish, len(cs))
	errs := make([]error, len(cs))
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() { got[i], errs[i] = gather(c, 0, quiet, true) })
	}
	wg.Wait()
	for i, err := range errs {
		Expect(err).NotTo(HaveOccurred(), "client %d of %d", i+1, len(cs))
	}
	return got
}

// ExpectNoneOf requires every one of cs to receive nothing for Short; the
// clients are watched at the same time, so this costs one Short.
func ExpectNoneOf(cs ...*rawclient.Client) {
	GinkgoHelper()
	for i, got := range GatherEach(Short, cs...) {
		Expect(got).To(BeEmpty(), "client %d of %d should receive nothing", i+1, len(cs))
	}
}

// Unsubscribe sends UNSUBSCRIBE and requires an UNSUBACK with the same ID.
func Unsubscribe(c *rawclient.Client, id uint16, filters ...string) {
	GinkgoHelper()
	Expect(c.Send(&packets.Unsubscribe{PacketID: id, Filters: filters})).To(Succeed())
	p, err := c.Expect(packets.UNSUBACK, Long)
	Expect(err).NotTo(HaveOccurred())
	Expect(p.(*packets.Unsuback).PacketID).To(Equal(id), "UNSUBACK packet ID")
}
