package energy

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/wirecheck/wirecheck/harness/capture"
	"github.com/wirecheck/wirecheck/harness/overhead"
	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// Events are the captured exchanges the tables need, each in capture
// order.
type Events struct {
	TLS            string // the profile, e.g. "study"
	MQTTConnect    []Packet
	MQTTPing       []Packet
	HTTPSConnect   []Packet
	HTTPSReconnect []Packet // close of the timed-out connection, new TCP + TLS, new long-poll GET
}

const settle = 120 * time.Millisecond

// CaptureEvents runs one MQTT connect and keepalive against the reference
// broker and one HTTPS long-poll connect and reconnect against the
// overhead package's Comet endpoint, over TLS with the given profile on
// loopback, capturing every frame on lo (needs root or CAP_NET_RAW).
func CaptureEvents(profile string) (*Events, error) {
	srvConf, cli, err := tlsConfigs(profile)
	if err != nil {
		return nil, err
	}

	b, err := mqtt.New(mqtt.Options{AllowAnonymous: true, SysInterval: -1, Version: "wirecheck energy"})
	if err != nil {
		return nil, err
	}
	defer b.Close()
	mln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	mqttAddr := netip.MustParseAddrPort(mln.Addr().String())
	b.Serve(tls.NewListener(mln, srvConf))

	comet := overhead.NewComet()
	mux := http.NewServeMux()
	mux.Handle("/s", comet)
	hsrv := &http.Server{Handler: mux, ReadHeaderTimeout: time.Minute}
	hln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	httpAddr := netip.MustParseAddrPort(hln.Addr().String())
	hc := srvConf.Clone()
	hc.NextProtos = []string{"http/1.1"}
	go hsrv.Serve(tls.NewListener(hln, hc))
	defer hsrv.Close()

	sess, err := capture.Start(capture.Options{Interface: "lo", Ports: []uint16{mqttAddr.Port(), httpAddr.Port()}})
	if err != nil {
		return nil, err
	}
	type win struct{ from, to time.Time }
	var wMC, wMP, wHC, wHR win
	runErr := func() error {
		dial := func(a netip.AddrPort) (*tls.Conn, error) {
			nc, err := net.DialTimeout("tcp", a.String(), 5*time.Second)
			if err != nil {
				return nil, err
			}
			tc := tls.Client(nc, cli)
			return tc, tc.Handshake()
		}
		time.Sleep(settle)
		wMC.from = time.Now()
		tc, err := dial(mqttAddr)
		if err != nil {
			return err
		}
		c := rawclient.New(tc)
		defer c.Close()
		if _, err := c.MustConnect(&packets.Connect{CleanSession: true, KeepAlive: 60, ClientID: "wirecheck-energy"}); err != nil {
			return err
		}
		if _, err := c.Subscribe(1, packets.Subscription{Filter: "wirecheck/energy", QoS: 1}); err != nil {
			return err
		}
		time.Sleep(settle)
		wMC.to = time.Now()
		wMP.from = time.Now()
		if err := c.Send(&packets.Pingreq{}); err != nil {
			return err
		}
		if _, err := c.Expect(packets.PINGRESP, 5*time.Second); err != nil {
			return err
		}
		time.Sleep(settle)
		wMP.to = time.Now()

		get := func() (*tls.Conn, error) {
			tc, err := dial(httpAddr)
			if err != nil {
				return nil, err
			}
			req, _ := http.NewRequest(http.MethodGet, "https://"+httpAddr.String()+"/s?t=wirecheck/energy", nil)
			var buf bytes.Buffer
			req.Write(&buf)
			_, err = tc.Write(buf.Bytes())
			return tc, err
		}
		wHC.from = time.Now()
		h, err := get()
		if err != nil {
			return err
		}
		time.Sleep(settle)
		wHC.to = time.Now()
		wHR.from = time.Now()
		h.Close()
		h2, err := get()
		if err != nil {
			return err
		}
		time.Sleep(settle)
		wHR.to = time.Now()
		h2.Close()
		return nil
	}()
	pkts, stopErr := sess.Stop()
	if err := errors.Join(runErr, stopErr); err != nil {
		return nil, err
	}
	if sess.PayloadOnly() {
		return nil, errors.New("energy: capture fell back to payload-only mode")
	}
	pick := func(port uint16, w win) []Packet {
		var out []Packet
		var t0 time.Time
		for _, p := range pkts {
			if p.Server.Port() != port || p.Time.Before(w.from) || p.Time.After(w.to) {
				continue
			}
			if t0.IsZero() {
				t0 = p.Time
			}
			out = append(out, Packet{T: p.Time.Sub(t0).Seconds(), Up: p.Dir == capture.ToServer,
				Payload: p.PayloadLen, Wire: p.WireLen - 14})
		}
		return out
	}
	ev := &Events{TLS: profile,
		MQTTConnect: pick(mqttAddr.Port(), wMC), MQTTPing: pick(mqttAddr.Port(), wMP),
		HTTPSConnect: pick(httpAddr.Port(), wHC), HTTPSReconnect: pick(httpAddr.Port(), wHR)}
	for name, e := range map[string][]Packet{"MQTT connect": ev.MQTTConnect, "MQTT ping": ev.MQTTPing,
		"HTTPS connect": ev.HTTPSConnect, "HTTPS reconnect": ev.HTTPSReconnect} {
		if len(e) == 0 {
			return nil, fmt.Errorf("energy: no packets captured for %s", name)
		}
	}
	return ev, nil
}
