package mqtt

import (
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

func TestPublishSubscribeAllQoS(t *testing.T) {
	_, addr := startServer(t, Options{})
	sub := client(t, addr, "sub")
	if a := sub.subscribe(1, "a/+", 2); a.ReturnCodes[0] != 2 {
		t.Fatalf("granted %v", a.ReturnCodes)
	}
	pub := client(t, addr, "pub")
	for qos := byte(0); qos <= 2; qos++ {
		pub.publish(&packets.Publish{Topic: "a/b", QoS: qos, PacketID: uint16(qos) + 10, Payload: []byte{qos}})
		got := expect[*packets.Publish](sub, 2*time.Second)
		if got.QoS != qos || got.Payload[0] != qos || got.Retain || got.Dup {
			t.Fatalf("qos %d: got %+v", qos, got)
		}
		if qos > 0 && got.PacketID == 0 {
			t.Fatalf("packet id 0 [MQTT-2.3.1-1]")
		}
		switch qos {
		case 1:
			sub.send(&packets.Puback{PacketID: got.PacketID})
		case 2:
			sub.send(&packets.Pubrec{PacketID: got.PacketID})
			if rel := expect[*packets.Pubrel](sub, 2*time.Second); rel.PacketID != got.PacketID {
				t.Fatalf("PUBREL id %d", rel.PacketID)
			}
			sub.send(&packets.Pubcomp{PacketID: got.PacketID})
		}
	}
}
