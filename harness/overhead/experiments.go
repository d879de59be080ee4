package overhead

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/harness/rawclient"
	"github.com/wirecheck/wirecheck/reference/mqtt/packets"
)

// The experiments, in the order they run.
const (
	ExpConnect  = "connect"
	ExpMaintain = "maintain"
	ExpSend     = "send"
	ExpReceive  = "receive"
	ExpShapes   = "shapes"
)

// Experiments lists every experiment name.
var Experiments = []string{ExpConnect, ExpMaintain, ExpSend, ExpReceive, ExpShapes}

// The seed's sensor reading (intro-to-rest-and-mqtt, "Pub/Sub with JSON"):
// what its paho producer publishes to MQTT, and the same reading as the
// reference REST server takes it.
const (
	SeedTopic    = "sensors/s1/value"
	SeedReading  = `{"Sensor": 1, "C_F": "C", "Value": 86, "Time": "22:31:11"}`
	SeedSensor   = "s1"
	SeedRESTBody = `{"value": 86, "unit": "C"}`
)

// planner adds the jobs of one experiment.
type planner struct {
	e    *experiment
	next *int
}

func (p planner) add(j *job) {
	ep, ok := p.endpoint(j.proto, j.v)
	if !ok {
		return // no target for this variant
	}
	j.ep = ep
	*p.next++
	j.id = *p.next
	j.exp = p.e
	j.experiment = p.e.name
	p.e.jobs = append(p.e.jobs, j)
}

func (p planner) endpoint(proto string, v Variant) (endpoint, bool) {
	m := p.e.fix.mqtt
	if proto == "https" {
		m = p.e.fix.https
	}
	ep, ok := m[v.secure()]
	return ep, ok
}

// topic is the job's own topic; all have the same length, so every job of
// a kind sends the same bytes.
func (j *job) topic() string    { return fmt.Sprintf("wirecheck/%03d", j.id) }
func (j *job) clientID() string { return fmt.Sprintf("wirecheck-%03d", j.id) }

func noQoS(j *job) *job { j.qos = -1; return j }

// plan builds the jobs of experiment e.
func plan(e *experiment, next *int) {
	p := planner{e: e, next: next}
	o := e.o
	all := []Variant{plainTCP, tls12, tls13, tls13X25519}
	three := []Variant{plainTCP, tls12, tls13}
	switch e.name {
	case ExpConnect:
		for _, v := range all {
			p.add(noQoS(&job{proto: "mqtt", v: v, event: "connect", run: mqttConnectJob,
				note: "TCP and TLS (if any) handshakes, CONNECT/CONNACK, SUBSCRIBE/SUBACK (QoS 1)"}))
			p.add(noQoS(&job{proto: "https", v: v, event: "connect", run: httpsConnectJob,
				note: "TCP and TLS (if any) handshakes, first long-poll GET /s?t=TOPIC (held)"}))
		}
	case ExpMaintain:
		for _, ka := range o.Keepalives {
			for _, v := range all {
				p.add(noQoS(&job{proto: "mqtt", v: v, event: "ping", keepalive: ka, run: mqttMaintainJob,
					note: "PINGREQ/PINGRESP once per keepalive interval"}))
				p.add(noQoS(&job{proto: "https", v: v, event: "reconnect", mode: "reconnect", keepalive: ka,
					run:  httpsReconnectJob,
					note: "read timeout: close, new TCP (+ TLS) connection, new long-poll GET (the study's HTTPS client)"}))
				p.add(noQoS(&job{proto: "https", v: v, event: "repoll", mode: "keepalive", keepalive: ka,
					run:  httpsRepollJob,
					note: "server ends the idle poll (204), client re-issues it on the same connection"}))
			}
		}
	case ExpSend:
		for _, v := range three {
			for qos := range 3 {
				p.add(&job{proto: "mqtt", v: v, event: "publish", qos: qos, payload: o.Size, run: mqttSendJob,
					note: fmt.Sprintf("PUBLISH QoS %d of %d bytes and its acknowledgements", qos, o.Size)})
			}
			p.add(noQoS(&job{proto: "https", v: v, event: "post", payload: o.Size, run: httpsSendJob,
				note: fmt.Sprintf("POST /s?t=TOPIC of %d bytes on a kept-alive connection, 204", o.Size)}))
		}
	case ExpReceive:
		for _, v := range three {
			for qos := range 3 {
				p.add(&job{proto: "mqtt", v: v, event: "deliver", qos: qos, payload: o.Size, run: mqttReceiveJob,
					note: fmt.Sprintf("PUBLISH QoS %d of %d bytes to the subscriber and its acknowledgements", qos, o.Size)})
			}
			p.add(noQoS(&job{proto: "https", v: v, event: "poll", payload: o.Size, run: httpsReceiveJob,
				note: fmt.Sprintf("long-poll 200 with %d bytes, then the next GET on the same connection", o.Size)}))
		}
	case ExpShapes:
		for _, v := range three {
			p.add(&job{proto: "mqtt", v: v, event: "publish", qos: 0, payload: len(SeedReading), run: mqttShapeJob,
				note: "the seed's JSON reading published QoS 0 to " + SeedTopic})
			p.add(noQoS(&job{proto: "https", v: v, event: "put", payload: len(SeedRESTBody), run: restShapeJob,
				note: "the same reading PUT to /sensors/" + SeedSensor + " " + SeedRESTBody + ", 200 with the sensor"}))
		}
	}
}

// --- connect ---

func mqttConnectJob(j *job) error {
	for range j.exp.o.Connects {
		var c *rawclient.Client
		err := j.measure(1, func() (err error) {
			c, err = j.mqttConnect(j.clientID(), 60, j.topic(), 1)
			return err
		})
		if err != nil {
			return err
		}
		c.Disconnect()
	}
	return nil
}

func httpsConnectJob(j *job) error {
	j.setHold(0)
	for range j.exp.o.Connects {
		var h *httpConn
		err := j.measure(1, func() (err error) {
			if h, err = j.httpDial(); err != nil {
				return err
			}
			return h.send(http.MethodGet, pollTarget(j.topic()), "", nil)
		})
		if err != nil {
			return err
		}
		h.Close()
	}
	return nil
}

// setHold sets how long the in-process Comet fixture holds the job's idle
// polls (an external target does what it does).
func (j *job) setHold(d time.Duration) {
	if c := j.exp.fix.comet; c != nil && !j.ep.external {
		c.SetHold(j.topic(), d)
	}
}

// --- maintain ---
//
// Maintenance is periodic, so it is measured over a window of exactly N
// keepalive intervals whose edges fall in the quiet part of the period:
// from the start of the first interval's event to where the (N+1)th would
// start. Everything the N events cause, delayed ACKs included, lies
// inside, whatever the time scale, as long as an event and its ACKs take
// less than an interval (60 ms at the smallest time scale).

func mqttMaintainJob(j *job) error {
	c, err := j.mqttConnect(j.clientID(), uint16(j.keepalive), j.topic(), 1)
	if err != nil {
		return err
	}
	defer c.Disconnect()
	wall := j.wallInterval()
	next := time.Now().Add(wall)
	from := next
	for range j.exp.o.Intervals {
		sleepUntil(next)
		if err := ping(c); err != nil {
			return fmt.Errorf("PINGREQ: %w", err)
		}
		next = next.Add(wall)
	}
	sleepUntil(next)
	j.record(from, next, j.exp.o.Intervals)
	return nil
}

// httpsReconnectJob is the study's idle HTTPS client: its read timeout
// equals the keepalive interval; when it fires the client drops the
// connection and opens a new one (TCP + TLS) with a new long poll.
func httpsReconnectJob(j *job) error {
	j.setHold(0)
	wall := j.wallInterval()
	h, err := j.httpDial()
	if err != nil {
		return err
	}
	defer func() { h.Close() }()
	if err := h.send(http.MethodGet, pollTarget(j.topic()), "", nil); err != nil {
		return err
	}
	timeout := time.Now().Add(wall)
	from := timeout
	for range j.exp.o.Intervals {
		resp, _, err := h.read(http.MethodGet, time.Until(timeout))
		switch {
		case err == nil:
			return fmt.Errorf("the server answered an idle long poll (%s) before the read timeout", resp.Status)
		case !isTimeout(err):
			return fmt.Errorf("idle long poll: %w", err)
		}
		h.Close()
		if h, err = j.httpDial(); err != nil {
			return err
		}
		if err := h.send(http.MethodGet, pollTarget(j.topic()), "", nil); err != nil {
			return err
		}
		timeout = time.Now().Add(wall)
	}
	sleepUntil(timeout)
	j.record(from, timeout, j.exp.o.Intervals)
	return nil
}

// httpsRepollJob keeps one connection: the server ends an idle poll after
// the keepalive interval (204) and the client sends the next at once. The
// window's edges sit a tenth of an interval before each 204 is due.
func httpsRepollJob(j *job) error {
	wall := j.wallInterval()
	lead := wall / 10
	j.setHold(wall)
	h, err := j.httpDial()
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.send(http.MethodGet, pollTarget(j.topic()), "", nil); err != nil {
		return err
	}
	from := time.Now().Add(wall - lead)
	edge := from
	for range j.exp.o.Intervals {
		resp, _, err := h.read(http.MethodGet, 2*wall+dialTimeout)
		if err != nil {
			return fmt.Errorf("idle long poll on a kept-alive connection: %w", err)
		}
		if resp.StatusCode/100 != 2 {
			return fmt.Errorf("idle long poll: %s", resp.Status)
		}
		if resp.Close {
			return errors.New("the server closed the kept-alive connection after an idle poll")
		}
		if err := h.send(http.MethodGet, pollTarget(j.topic()), "", nil); err != nil {
			return err
		}
		edge = time.Now().Add(wall - lead)
	}
	sleepUntil(edge)
	j.record(from, edge, j.exp.o.Intervals)
	return nil
}

// --- send and receive ---

func (j *job) message() []byte { return bytes.Repeat([]byte{'x'}, j.payload) }

func mqttSendJob(j *job) error {
	c, err := j.mqttConnect(j.clientID(), 60, "", 0)
	if err != nil {
		return err
	}
	defer c.Disconnect()
	msg := j.message()
	n := j.exp.o.Messages
	return j.measure(n, func() error {
		for i := range n {
			p := &packets.Publish{Topic: j.topic(), QoS: byte(j.qos), Payload: msg}
			if j.qos > 0 {
				p.PacketID = uint16(i%65535 + 1)
			}
			if err := c.Publish(p); err != nil {
				return fmt.Errorf("PUBLISH QoS %d: %w", j.qos, err)
			}
		}
		return nil
	})
}

func httpsSendJob(j *job) error {
	h, err := j.httpDial()
	if err != nil {
		return err
	}
	defer h.Close()
	msg := j.message()
	n := j.exp.o.Messages
	return j.measure(n, func() error {
		for range n {
			if _, _, err := h.do(http.MethodPost, pollTarget(j.topic()), "application/octet-stream", msg); err != nil {
				return err
			}
		}
		return nil
	})
}

// feeder publishes the messages a receiving job takes: over MQTT on a
// connection of its own (not the job's, so not counted), over HTTPS
// straight into the in-process fixture or with POSTs to a target.
func (j *job) feeder() (publish func(i int, msg []byte) error, closeFn func(), err error) {
	switch {
	case j.proto == "mqtt":
		pub := &job{exp: j.exp, v: j.v, ep: j.ep} // its client addresses are not the job's
		c, err := pub.mqttConnect(fmt.Sprintf("wirecheck-p%02d", j.id%100), 60, "", 0)
		if err != nil {
			return nil, nil, fmt.Errorf("publisher: %w", err)
		}
		return func(i int, msg []byte) error {
			p := &packets.Publish{Topic: j.topic(), QoS: byte(j.qos), Payload: msg}
			if j.qos > 0 {
				p.PacketID = uint16(i%65535 + 1)
			}
			return c.Publish(p)
		}, func() { c.Disconnect() }, nil
	case j.exp.fix.comet != nil && !j.ep.external:
		return func(_ int, msg []byte) error {
			if !j.exp.fix.comet.Publish(j.topic(), msg) {
				return errors.New("fixture queue full")
			}
			return nil
		}, func() {}, nil
	default:
		pub := &job{exp: j.exp, v: j.v, ep: j.ep}
		h, err := pub.httpDial()
		if err != nil {
			return nil, nil, fmt.Errorf("publisher: %w", err)
		}
		return func(_ int, msg []byte) error {
			_, _, err := h.do(http.MethodPost, pollTarget(j.topic()), "application/octet-stream", msg)
			return err
		}, func() { h.Close() }, nil
	}
}

func mqttReceiveJob(j *job) error {
	c, err := j.mqttConnect(j.clientID(), 60, j.topic(), byte(j.qos))
	if err != nil {
		return err
	}
	defer c.Disconnect()
	publish, closeFeeder, err := j.feeder()
	if err != nil {
		return err
	}
	defer closeFeeder()
	msg := j.message()
	n := j.exp.o.Messages
	return j.measure(n, func() error {
		return whilePublishing(publish, n, msg, func() error { return receiveMQTT(c, n) })
	})
}

// receiveMQTT takes n messages as a subscriber, acknowledging each per its
// QoS while the next ones may already be arriving (QoS 2: PUBREC, then
// PUBCOMP on PUBREL; a message counts once its flow is complete).
func receiveMQTT(c *rawclient.Client, n int) error {
	for done := 0; done < n; {
		p, err := c.Next(rawclient.DefaultWait)
		if err != nil {
			return fmt.Errorf("after %d of %d messages: %w", done, n, err)
		}
		switch p := p.(type) {
		case *packets.Publish:
			switch p.QoS {
			case 0:
				done++
			case 1:
				err = c.Send(&packets.Puback{PacketID: p.PacketID})
				done++
			case 2:
				err = c.Send(&packets.Pubrec{PacketID: p.PacketID})
			}
		case *packets.Pubrel:
			err = c.Send(&packets.Pubcomp{PacketID: p.PacketID})
			done++
		default:
			err = fmt.Errorf("unexpected %v", p.Type())
		}
		if err != nil {
			return err
		}
	}
	return nil
}

func httpsReceiveJob(j *job) error {
	j.setHold(0)
	h, err := j.httpDial()
	if err != nil {
		return err
	}
	defer h.Close()
	if err := h.send(http.MethodGet, pollTarget(j.topic()), "", nil); err != nil {
		return err
	}
	publish, closeFeeder, err := j.feeder()
	if err != nil {
		return err
	}
	defer closeFeeder()
	msg := j.message()
	n := j.exp.o.Messages
	return j.measure(n, func() error {
		return whilePublishing(publish, n, msg, func() (rerr error) {
			for range n {
				var resp *http.Response
				var body []byte
				if resp, body, rerr = h.read(http.MethodGet, dialTimeout); rerr != nil {
					break
				}
				if resp.StatusCode != http.StatusOK || len(body) != len(msg) {
					rerr = fmt.Errorf("long poll: %s with %d bytes, want 200 with %d", resp.Status, len(body), len(msg))
					break
				}
				if rerr = h.send(http.MethodGet, pollTarget(j.topic()), "", nil); rerr != nil {
					break
				}
			}
			return rerr
		})
	})
}

// whilePublishing publishes n messages in the background while receive
// takes them, and returns both sides' errors.
func whilePublishing(publish func(int, []byte) error, n int, msg []byte, receive func() error) error {
	var wg sync.WaitGroup
	var perr error
	wg.Go(func() {
		for i := range n {
			if perr = publish(i, msg); perr != nil {
				return
			}
		}
	})
	rerr := receive()
	wg.Wait()
	return errors.Join(perr, rerr)
}

// --- message shapes from the seed ---
//
// The seed's producer publishes one reading every 5 s, so each reading is
// measured on its own (quiescence before and after), not in a burst the
// kernel would coalesce.

// shapeEvents is how many readings a shapes job sends.
func (j *job) shapeEvents() int { return min(j.exp.o.Messages, maxShapeEvents) }

const maxShapeEvents = 20

func mqttShapeJob(j *job) error {
	c, err := j.mqttConnect(j.clientID(), 60, "", 0)
	if err != nil {
		return err
	}
	defer c.Disconnect()
	for range j.shapeEvents() {
		err := j.measure(1, func() error {
			return c.Publish(&packets.Publish{Topic: SeedTopic, Payload: []byte(SeedReading)})
		})
		if err != nil {
			return err
		}
	}
	return nil
}

func restShapeJob(j *job) error {
	h, err := j.httpDial()
	if err != nil {
		return err
	}
	defer h.Close()
	// The sensor exists before the measured PUTs (409 if another job made it).
	resp, _, err := h.do(http.MethodPost, "/sensors", "application/json", []byte(`{"name": "`+SeedSensor+`"}`))
	if err != nil && (resp == nil || resp.StatusCode != http.StatusConflict) {
		return fmt.Errorf("create sensor %s: %w", SeedSensor, err)
	}
	for range j.shapeEvents() {
		err := j.measure(1, func() error {
			_, _, err := h.do(http.MethodPut, "/sensors/"+SeedSensor, "application/json", []byte(SeedRESTBody))
			return err
		})
		if err != nil {
			return err
		}
	}
	return nil
}
