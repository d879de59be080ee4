package mqtt311

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/coder/websocket"
	paho "github.com/eclipse/paho.mqtt.golang"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

var _ = Describe("Transport", Area("transport"), func() {
	ConformanceIt("carries packets in order and without loss over its byte stream", IDs("MQTT-7.1.1-1"), func() {
		topic := Topic()
		sub := Subscriber(topic, 1)
		pub := Client()
		// 100 QoS 1 PUBLISH packets in one write, then one large message.
		const n = 100
		var b []byte
		var want []string
		for i := range n {
			want = append(want, fmt.Sprintf("message %03d", i))
			var err error
			b, err = (&packets.Publish{Topic: topic, QoS: 1, PacketID: uint16(i + 1), Payload: []byte(want[i])}).AppendTo(b)
			Expect(err).NotTo(HaveOccurred())
		}
		Expect(pub.SendBytes(b)).To(Succeed())
		ExpectPubacks(pub, n)
		Expect(Payloads(Collect(sub, n))).To(Equal(want), "messages in order")

		big := make([]byte, 200<<10)
		rand.Read(big)
		Expect(pub.Publish(&packets.Publish{Topic: topic, QoS: 1, PacketID: 1, Payload: big})).To(Succeed())
		p := Deliver(sub)
		Expect(bytes.Equal(p.Payload, big)).To(BeTrue(), "200 KiB payload arrived intact (%d bytes)", len(p.Payload))
	})

	ConformanceIt("interoperates with an off-the-shelf client (Eclipse Paho) using standard packets only", IDs("MQTT-7.0.0-2"), func() {
		url := info.WSURL
		switch {
		case info.TLSOnly:
			url = "tls://" + info.Addr
		case info.Addr != "":
			url = "tcp://" + info.Addr
		}
		opts := paho.NewClientOptions().AddBroker(url).SetClientID(ClientID()).
			SetProtocolVersion(4).SetCleanSession(true).SetAutoReconnect(false).
			SetConnectTimeout(Long).SetKeepAlive(30 * time.Second).SetOrderMatters(false)
		if info.TLSConfig != nil {
			opts.SetTLSConfig(info.TLSConfig.Clone())
		}
		if !info.Caps.AnonymousAllowed && info.Username != "" {
			opts.SetUsername(info.Username).SetPassword(info.Password)
		}
		cl := paho.NewClient(opts)
		tok := cl.Connect()
		Expect(tok.WaitTimeout(Long)).To(BeTrue(), "paho connect")
		Expect(tok.Error()).NotTo(HaveOccurred())
		DeferCleanup(func() { cl.Disconnect(100) })

		topic := Topic("paho")
		got := make(chan paho.Message, 10)
		tok = cl.Subscribe(topic, 2, func(_ paho.Client, m paho.Message) { got <- m })
		Expect(tok.WaitTimeout(Long)).To(BeTrue(), "paho subscribe")
		Expect(tok.Error()).NotTo(HaveOccurred())
		raw := Subscriber(topic, 2)
		for qos := byte(0); qos <= 2; qos++ {
			payload := fmt.Sprint("paho QoS ", qos)
			tok = cl.Publish(topic, qos, false, payload)
			Expect(tok.WaitTimeout(Long)).To(BeTrue(), "paho publish QoS %d", qos)
			Expect(tok.Error()).NotTo(HaveOccurred())
			var m paho.Message
			Eventually(got).WithTimeout(Long).Should(Receive(&m), "paho receives its QoS %d message", qos)
			Expect(string(m.Payload())).To(Equal(payload))
			Expect(m.Qos()).To(Equal(qos))
			p := Deliver(raw)
			Expect(string(p.Payload)).To(Equal(payload))
			Expect(p.QoS).To(Equal(qos))
		}
		// And the other way: a raw client's message reaches paho.
		Publish(Client(), topic, "from the raw client", 1, false)
		var m paho.Message
		Eventually(got).WithTimeout(Long).Should(Receive(&m))
		Expect(string(m.Payload())).To(Equal("from the raw client"))
		Deliver(raw)
	})

	Context("over WebSocket", func() {
		ConformanceIt("selects the mqtt subprotocol in the handshake and speaks MQTT", IDs("MQTT-6.0.0-4"), func() {
			ws, resp := dialWS()
			Expect(resp.StatusCode).To(Equal(http.StatusSwitchingProtocols))
			Expect(resp.Header.Values("Sec-WebSocket-Protocol")).To(Equal([]string{"mqtt"}), "Sec-WebSocket-Protocol in the response")
			Expect(ws.Subprotocol()).To(Equal("mqtt"))
			c := wsClient(ws)
			_, err := c.MustConnect(ConnectPacket(ClientID()))
			Expect(err).NotTo(HaveOccurred())
			topic := Topic("ws")
			Subscribe(c, topic, 1)
			Publish(Client(), topic, "from TCP to WebSocket", 1, false)
			Expect(Deliver(c).Payload).To(BeEquivalentTo("from TCP to WebSocket"))
		})

		ConformanceIt("closes the connection when a text frame arrives", IDs("MQTT-6.0.0-1"), func() {
			ws, _ := dialWS()
			c := wsClient(ws)
			_, err := c.MustConnect(ConnectPacket(ClientID()))
			Expect(err).NotTo(HaveOccurred())
			ctx, cancel := context.WithTimeout(context.Background(), Long)
			defer cancel()
			Expect(ws.Write(ctx, websocket.MessageText, encode(&packets.Pingreq{}, nil))).To(Succeed())
			p, err := c.Next(Long)
			switch {
			case err == nil:
				Fail(fmt.Sprintf("got %v in answer to a PINGREQ in a text frame; want the connection closed", p.Type()))
			case errors.Is(err, rawclient.ErrTimeout):
				Fail(fmt.Sprintf("connection still open %v after a text frame", Long))
			default:
				GinkgoWriter.Printf("closed: %v (close status %d)\n", err, websocket.CloseStatus(err))
			}
		})

		ConformanceIt("reads packets that span WebSocket frames and frames that hold several packets", IDs("MQTT-6.0.0-2"), func() {
			ws, _ := dialWS()
			c := wsClient(ws)
			ctx, cancel := context.WithTimeout(context.Background(), Long)
			defer cancel()
			frames := func(parts ...[]byte) {
				GinkgoHelper()
				for _, p := range parts {
					Expect(ws.Write(ctx, websocket.MessageBinary, p)).To(Succeed())
				}
			}
			// CONNECT in two frames, split inside the protocol name.
			connect := encode(ConnectPacket(ClientID()), nil)
			frames(connect[:5], connect[5:])
			p, err := c.Expect(packets.CONNACK, Long)
			Expect(err).NotTo(HaveOccurred(), "CONNACK for a CONNECT sent in two frames")
			Expect(p.(*packets.Connack).ReturnCode).To(Equal(packets.Accepted))
			// SUBSCRIBE and PINGREQ in one frame.
			topic := Topic("ws")
			sub := encode(&packets.Subscribe{PacketID: 3, Subscriptions: []packets.Subscription{{Filter: topic, QoS: 0}}}, nil)
			frames(append(sub, encode(&packets.Pingreq{}, nil)...))
			// The two answers may come in either order.
			var answers []packets.Type
			for range 2 {
				p, err := c.Next(Long)
				Expect(err).NotTo(HaveOccurred(), "answers so far: %v", answers)
				answers = append(answers, p.Type())
			}
			Expect(answers).To(ConsistOf(packets.SUBACK, packets.PINGRESP))
			// A PUBLISH byte by byte for its header, then the rest.
			pub := encode(&packets.Publish{Topic: topic, Payload: []byte(strings.Repeat("split ", 20))}, nil)
			frames(pub[:1], pub[1:2], pub[2:4], pub[4:])
			got, err := c.Expect(packets.PUBLISH, Long)
			Expect(err).NotTo(HaveOccurred())
			Expect(got.(*packets.Publish).Payload).To(BeEquivalentTo(strings.Repeat("split ", 20)))
		})
	})
})

// dialWS opens a WebSocket to the target offering subprotocol "mqtt", or
// skips the spec when the target has no WebSocket listener.
func dialWS() (*websocket.Conn, *http.Response) {
	GinkgoHelper()
	if info.WSURL == "" {
		Skip("target " + tgt.Name() + " has no WebSocket listener")
	}
	ctx, cancel := context.WithTimeout(context.Background(), Long)
	defer cancel()
	ws, resp, err := websocket.Dial(ctx, info.WSURL, &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
	Expect(err).NotTo(HaveOccurred(), "WebSocket handshake with %s", info.WSURL)
	ws.SetReadLimit(-1)
	DeferCleanup(func() { ws.CloseNow() })
	return ws, resp
}

// wsClient reads (and may write) MQTT over ws as a byte stream of binary
// frames; the spec may also write frames to ws directly.
func wsClient(ws *websocket.Conn) *rawclient.Client {
	return rawclient.New(websocket.NetConn(context.Background(), ws, websocket.MessageBinary))
}
