package target

import (
	"context"
	"net"
	"time"

	"github.com/coder/websocket"
)

// DialWS opens an MQTT-over-WebSocket connection (subprotocol "mqtt",
// binary frames [MQTT-6.0.0-3]) and returns it as a byte stream.
func DialWS(url string, timeout time.Duration) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{"mqtt"}})
	if err != nil {
		return nil, err
	}
	c.SetReadLimit(-1)
	// The stream outlives the dial context.
	return websocket.NetConn(context.Background(), c, websocket.MessageBinary), nil
}
