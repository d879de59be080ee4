package rawclient

import (
	"fmt"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// DefaultWait is how long the helpers below wait for an answer.
var DefaultWait = 5 * time.Second

// Connect sends p and returns the CONNACK.
func (c *Client) Connect(p *packets.Connect) (*packets.Connack, error) {
	if err := c.Send(p); err != nil {
		return nil, err
	}
	ack, err := c.Expect(packets.CONNACK, DefaultWait)
	if err != nil {
		return nil, err
	}
	return ack.(*packets.Connack), nil
}

// MustConnect connects and requires return code 0.
func (c *Client) MustConnect(p *packets.Connect) (*packets.Connack, error) {
	ack, err := c.Connect(p)
	if err == nil && ack.ReturnCode != packets.Accepted {
		err = fmt.Errorf("CONNACK return code %d", ack.ReturnCode)
	}
	return ack, err
}

// Subscribe subscribes and returns the SUBACK, checking its packet ID.
func (c *Client) Subscribe(id uint16, subs ...packets.Subscription) (*packets.Suback, error) {
	if err := c.Send(&packets.Subscribe{PacketID: id, Subscriptions: subs}); err != nil {
		return nil, err
	}
	p, err := c.Expect(packets.SUBACK, DefaultWait, packets.PUBLISH)
	if err != nil {
		return nil, err
	}
	ack := p.(*packets.Suback)
	if ack.PacketID != id {
		return ack, fmt.Errorf("SUBACK packet ID %d, want %d", ack.PacketID, id)
	}
	return ack, nil
}

// Publish sends p and completes the publisher's side of its QoS flow.
func (c *Client) Publish(p *packets.Publish) error {
	if err := c.Send(p); err != nil {
		return err
	}
	switch p.QoS {
	case 1:
		return c.expectID(packets.PUBACK, p.PacketID)
	case 2:
		if err := c.expectID(packets.PUBREC, p.PacketID); err != nil {
			return err
		}
		if err := c.Send(&packets.Pubrel{PacketID: p.PacketID}); err != nil {
			return err
		}
		return c.expectID(packets.PUBCOMP, p.PacketID)
	}
	return nil
}

func (c *Client) expectID(t packets.Type, id uint16) error {
	p, err := c.Expect(t, DefaultWait, packets.PUBLISH)
	if err != nil {
		return err
	}
	if got := packetID(p); got != id {
		return fmt.Errorf("%v packet ID %d, want %d", t, got, id)
	}
	return nil
}

func packetID(p packets.Packet) uint16 {
	switch p := p.(type) {
	case *packets.Puback:
		return p.PacketID
	case *packets.Pubrec:
		return p.PacketID
	case *packets.Pubrel:
		return p.PacketID
	case *packets.Pubcomp:
		return p.PacketID
	case *packets.Suback:
		return p.PacketID
	case *packets.Unsuback:
		return p.PacketID
	case *packets.Publish:
		return p.PacketID
	}
	return 0
}

// Receive waits for a PUBLISH and acknowledges it per its QoS (QoS 2:
// PUBREC, then PUBREL is awaited and PUBCOMP sent).
func (c *Client) Receive(d time.Duration) (*packets.Publish, error) {
	p, err := c.Expect(packets.PUBLISH, d)
	if err != nil {
		return nil, err
	}
	pub := p.(*packets.Publish)
	switch pub.QoS {
	case 1:
		err = c.Send(&packets.Puback{PacketID: pub.PacketID})
	case 2:
		if err = c.Send(&packets.Pubrec{PacketID: pub.PacketID}); err != nil {
			return pub, err
		}
		if err = c.expectID(packets.PUBREL, pub.PacketID); err != nil {
			return pub, err
		}
		err = c.Send(&packets.Pubcomp{PacketID: pub.PacketID})
	}
	return pub, err
}

// Disconnect sends DISCONNECT and closes the connection.
func (c *Client) Disconnect() error {
	err := c.Send(&packets.Disconnect{})
	c.nc.Close()
	return err
}
