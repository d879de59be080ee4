package mqtt311

import (
	"errors"
	"fmt"
	"strings"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// topicsOf returns the topic names of ps.
func topicsOf(ps []*packets.Publish) []string {
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.Topic
	}
	return out
}

var _ = Describe("Topic names and filters", Area("topics"), func() {
	ConformanceIt("matches '+' against exactly one level and '#' against the parent and every level below",
		IDs("MQTT-4.7.1-2", "MQTT-4.7.1-3", "MQTT-3.3.2-3"), func() {
			RequireCap(info.Caps.Wildcards, "wildcard subscriptions")
			base := Topic()
			want := map[string][]string{
				base + "/+":     {base + "/a"},
				base + "/#":     {base, base + "/a", base + "/a/b", base + "//b", base + "/a/b/c"},
				base + "/+/b":   {base + "/a/b", base + "//b"},
				base + "/a/+/#": {base + "/a/b", base + "/a/b/c"},
				base + "/+/+":   {base + "/a/b", base + "//b"},
			}
			var filters []string
			var subs []*rawclient.Client
			for f := range want {
				filters = append(filters, f)
				subs = append(subs, Subscriber(f, 1))
			}
			pub := Client()
			for _, t := range []string{base, base + "/a", base + "/a/b", base + "//b", base + "/a/b/c"} {
				Publish(pub, t, t, 1, false)
			}
			for i, f := range filters {
				got := Gather(subs[i], len(want[f]), 0)
				Expect(topicsOf(got)).To(ConsistOf(want[f]), "topics delivered for %s", f)
			}
			ExpectNoneOf(subs...)
		})

	ConformanceIt("does not match topics beginning with '$' with filters beginning with '#' or '+'",
		IDs("MQTT-4.7.2-1"), func() {
			RequireCap(info.Caps.Wildcards, "wildcard subscriptions")
			// A '$' topic a client may publish to is broker specific; $SYS is
			// the one every broker that has it fills on its own.
			RequireCap(info.Caps.SysTopics, "$SYS topics")
			hash := Subscriber("#", 0)
			plus := Subscriber("+/#", 0)
			plus2 := Subscriber("+/broker/#", 0)
			control := Subscriber("$SYS/#", 0)
			// Retained $SYS messages sent for the new subscription do not go
			// through routing: wait for a live one (RETAIN=0). The wildcard
			// subscriptions existed before it was published.
			deadline := time.Now().Add(3 * Long)
			for live := false; !live; {
				p, err := control.Next(time.Until(deadline))
				if errors.Is(err, rawclient.ErrTimeout) {
					Skip(fmt.Sprintf("no live $SYS message within %v", 3*Long))
				}
				Expect(err).NotTo(HaveOccurred())
				Expect(p.Type()).To(Equal(packets.PUBLISH))
				pub := p.(*packets.Publish)
				Expect(pub.Topic).To(HavePrefix("$SYS/"))
				live = !pub.Retain
			}
			for i, ps := range GatherEach(Short, hash, plus, plus2) {
				for _, p := range ps {
					Expect(p.Topic).NotTo(HavePrefix("$"), "filter %d of 3 delivered a '$' topic", i+1)
				}
			}
		})

	invalid := func(name string, ids ...string) TableEntry {
		return statementEntry(name, append(ids, "MQTT-4.8.0-1"), name)
	}
	statementTable("refuses a topic filter that misplaces a wildcard or is empty", nil, func(name string) {
		c := Client()
		Expect(c.SendBytes(MalformedCase(name))).To(Succeed())
		p, err := c.Next(Long)
		switch {
		case errors.Is(err, rawclient.ErrClosed):
			RecordOutcome("invalid-topic-filter", "connection closed")
		case err != nil:
			Fail("waiting for the connection to close: " + err.Error())
		default:
			ack, ok := p.(*packets.Suback)
			if !ok {
				Fail("got " + p.Type().String() + ", want the connection closed")
			}
			codes := ack.ReturnCodes
			Expect(codes).NotTo(BeEmpty())
			Expect(codes[len(codes)-1]).To(Equal(packets.SubackFailure), "SUBACK code for the invalid filter")
			RecordOutcome("invalid-topic-filter", "SUBACK 0x80")
		}
	},
		invalid("SUBSCRIBE filter a/#/b", "MQTT-4.7.1-2"),
		invalid("SUBSCRIBE filter #a", "MQTT-4.7.1-2"),
		invalid("SUBSCRIBE second filter sport/tennis#", "MQTT-4.7.1-2"),
		invalid("SUBSCRIBE filter a+", "MQTT-4.7.1-3"),
		invalid("SUBSCRIBE empty filter", "MQTT-4.7.3-1"),
		invalid("UNSUBSCRIBE filter sport+", "MQTT-4.7.1-3"),
		invalid("UNSUBSCRIBE filter sport/tennis/#/ranking", "MQTT-4.7.1-2"),
	)

	ConformanceIt("keeps U+FEFF (EF BB BF) in a topic name intact when matching and forwarding",
		IDs("MQTT-1.5.3-3"), func() {
			RequireCap(info.Caps.Wildcards, "wildcard subscriptions")
			base := Topic()
			topic := base + "/\ufeffbom"
			wild := Subscriber(base+"/+", 1)
			exact := Subscriber(topic, 1)
			stripped := Subscriber(base+"/bom", 1)
			pub := Client()
			Publish(pub, topic, "\ufeff", 1, false)
			for _, c := range []*rawclient.Client{wild, exact} {
				got := Gather(c, 1, 0)
				Expect(got).To(HaveLen(1))
				Expect([]byte(got[0].Topic)).To(Equal([]byte(topic)), "topic bytes")
				Expect(got[0].Topic).To(HaveSuffix("/\xef\xbb\xbfbom"))
			}
			ExpectNoneOf(stripped, wild, exact)
		})

	ConformanceIt("matches topic names byte for byte: no case folding, trimming, Unicode normalisation or slash collapsing",
		IDs("MQTT-4.7.3-4"), func() {
			base := Topic()
			exact := []string{base + "/Case/x", base + "/caf\u00e9", base + "/a b"}
			near := []string{base + "/case/x", base + "/CASE/x", base + "/Case/x/", base + "/Case//x", base + "/ Case/x",
				base + "/caf" + "e\u0301", base + "/a  b", base + "/a_b", base + "/ab"}
			sub := Client()
			var subs []packets.Subscription
			for _, t := range exact {
				subs = append(subs, packets.Subscription{Filter: t, QoS: 1})
			}
			ack, err := sub.Subscribe(1, subs...)
			Expect(err).NotTo(HaveOccurred())
			Expect(ack.ReturnCodes).To(Equal([]byte{1, 1, 1}))
			var wild *rawclient.Client
			if info.Caps.Wildcards {
				wild = Subscriber(base+"/#", 1)
			}
			pub := Client()
			for _, t := range append(near, exact...) {
				Publish(pub, t, t, 1, false)
			}
			got := Gather(sub, len(exact), Short)
			Expect(topicsOf(got)).To(ConsistOf(exact), "only the exact topic names match")
			if wild != nil {
				// Forwarded names are the published ones, unaltered.
				all := append(append([]string{}, near...), exact...)
				Expect(topicsOf(Gather(wild, len(all), 0))).To(ConsistOf(all))
			}
		})

	ConformanceIt("accepts and forwards a topic name of the maximum 65535 bytes",
		IDs("MQTT-4.7.3-3"), func() {
			base := Topic("long")
			topic := base + "/" + strings.Repeat("x", 65535-len(base)-1)
			Expect(topic).To(HaveLen(65535))
			sub := Subscriber(topic, 1)
			pub := Client()
			Publish(pub, topic, "long", 1, false)
			got := Gather(sub, 1, 0)
			Expect(got).To(HaveLen(1))
			Expect(got[0].Topic == topic).To(BeTrue(), "the 65535-byte topic name comes back unchanged")
		})
})
