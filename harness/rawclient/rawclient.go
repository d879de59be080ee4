// Package rawclient is a packet-level MQTT client for conformance tests: it
// sends exactly the bytes or packets a spec chooses and reports exactly what
// comes back, a packet of some type within a deadline or the connection
// closing. It never acknowledges anything on its own.
package rawclient

import (
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// ErrClosed means the peer closed the connection (or reset it).
var ErrClosed = errors.New("connection closed by peer")

// ErrTimeout means nothing arrived before the deadline.
var ErrTimeout = errors.New("timed out")

// Client is one connection. Methods are safe for one reader and one writer
// goroutine at a time.
type Client struct {
	nc   net.Conn
	r    *packets.Reader
	wmu  sync.Mutex
	rmu  sync.Mutex
	sent []packets.Packet // what was sent, for failure messages
}

// New wraps an established connection.
func New(nc net.Conn) *Client {
	return &Client{nc: nc, r: packets.NewReader(nc, 64<<10)}
}

// Dial opens a plain TCP connection.
func Dial(addr string, timeout time.Duration) (*Client, error) {
	nc, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return nil, err
	}
	return New(nc), nil
}

// Conn returns the underlying connection.
func (c *Client) Conn() net.Conn { return c.nc }

// Close closes the connection without DISCONNECT (an ungraceful drop).
func (c *Client) Close() error { return c.nc.Close() }

// Send encodes and writes p.
func (c *Client) Send(p packets.Packet) error {
	b, err := packets.Encode(p)
	if err != nil {
		return fmt.Errorf("encode %v: %w", p.Type(), err)
	}
	return c.SendBytes(b)
}

// SendBytes writes raw bytes, malformed or not.
func (c *Client) SendBytes(b []byte) error {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	c.nc.SetWriteDeadline(time.Now().Add(5 * time.Second))
	_, err := c.nc.Write(b)
	return err
}

// Next returns the next packet within d, ErrTimeout, or ErrClosed.
func (c *Client) Next(d time.Duration) (packets.Packet, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	c.nc.SetReadDeadline(time.Now().Add(d))
	p, err := c.r.ReadPacket()
	if err == nil {
		return p, nil
	}
	var ne net.Error
	switch {
	case errors.As(err, &ne) && ne.Timeout():
		return nil, ErrTimeout
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, net.ErrClosed), isReset(err):
		return nil, ErrClosed
	}
	return p, err // a decode error: the broker sent something malformed
}

func isReset(err error) bool {
	var oe *net.OpError
	return errors.As(err, &oe)
}

// Expect returns the next packet if it has type t within d. Packets of other
// types are an error, except ones listed in skip, which are passed over.
func (c *Client) Expect(t packets.Type, d time.Duration, skip ...packets.Type) (packets.Packet, error) {
	deadline := time.Now().Add(d)
	for {
		left := time.Until(deadline)
		if left <= 0 {
			return nil, fmt.Errorf("waiting %v for %v: %w", d, t, ErrTimeout)
		}
		p, err := c.Next(left)
		if err != nil {
			return nil, fmt.Errorf("waiting %v for %v: %w", d, t, err)
		}
		if p.Type() == t {
			return p, nil
		}
		if !contains(skip, p.Type()) {
			return p, fmt.Errorf("got %v %+v while waiting for %v", p.Type(), p, t)
		}
	}
}

func contains(ts []packets.Type, t packets.Type) bool {
	for _, x := range ts {
		if x == t {
			return true
		}
	}
	return false
}

// ExpectClosed waits up to d for the peer to close the connection, ignoring
// packets that arrive first, and returns how long it took.
func (c *Client) ExpectClosed(d time.Duration) (time.Duration, error) {
	start := time.Now()
	for {
		left := d - time.Since(start)
		if left <= 0 {
			return time.Since(start), fmt.Errorf("connection still open after %v", d)
		}
		_, err := c.Next(left)
		switch {
		case errors.Is(err, ErrClosed):
			return time.Since(start), nil
		case errors.Is(err, ErrTimeout):
			return time.Since(start), fmt.Errorf("connection still open after %v", d)
		case err != nil:
			return time.Since(start), nil // undecodable bytes then close count as closed
		}
	}
}

// ExpectNothing succeeds if no packet arrives within d (the connection may
// stay open).
func (c *Client) ExpectNothing(d time.Duration) error {
	p, err := c.Next(d)
	switch {
	case errors.Is(err, ErrTimeout):
		return nil
	case err != nil:
		return err
	}
	return fmt.Errorf("unexpected %v %+v", p.Type(), p)
}
