// Package bridge feeds MQTT sensor readings into the REST server's store.
//
// The bridge subscribes to sensors/+/value on a broker (the reference broker
// or any other) and stores each reading with Store.SetValue(..., "mqtt", 0,
// create=true), so the REST API serves the history that MQTT devices push.
//
// Delivery. The bridge connects with a fixed client ID and a persistent
// session (CleanSession false) and subscribes at QoS 1, so QoS 1 readings
// published while it is down are queued by the broker and delivered when it
// returns. Acknowledgement is manual (paho's AutoAckDisabled): a message is
// acknowledged only once its fate is final —
//
//   - stored: SetValue returned without error (the write is committed);
//   - rejected: the topic or payload is malformed, or the store answered
//     ErrInvalid, so it never will be storable (logged at warn);
//   - skipped: a retained message (a replay of the broker's last value, sent
//     again on every resubscription; the live publication was delivered as a
//     normal message) or a redelivered duplicate already in the store.
//
// If SetValue fails (after a few quick retries) the message is left
// unacknowledged and logged at error: the broker redelivers it when the bridge
// next connects (after a network drop or a restart), so a store outage loses
// no QoS 1 reading. Brokers cap unacknowledged messages per client (the
// reference broker's MaxInflight, Mosquitto's max_inflight_messages), so a
// long outage stalls delivery and the broker queues instead, until reconnect.
// QoS 0 readings have no acknowledgement and no redelivery.
//
// Delivery is at least once. A redelivery (DUP flag set) whose payload gives
// its time is checked against the store and skipped if the same reading is
// already there, which removes the usual duplicate (stored, but the PUBACK
// was lost with the connection). Readings without a time cannot be matched
// and may be stored twice in that case.
package bridge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/wirecheck/wirecheck/reference/rest/store"
)

// DefaultClientID is the bridge's MQTT client ID. It is fixed so that the
// broker keeps one persistent session for the bridge across restarts; give
// each bridge sharing a broker its own with ?client_id= in the broker URL.
const DefaultClientID = "wirecheck-rest-bridge"

// Source is the reading source the bridge stores.
const Source = "mqtt"

// Tunables. Store calls are short transactions; the retries cover a busy
// database (SQLite lock, a PostgreSQL failover) without holding the paho
// dispatcher long. (paho reads the network and dispatches in order, so a
// handler blocked past keepalive + ping timeout costs the connection; the
// unacknowledged reading is then redelivered, not lost.)
const (
	storeTimeout   = 5 * time.Second
	storeAttempts  = 3
	storeBackoff   = 100 * time.Millisecond
	closeGrace     = 5 * time.Second // Close waits this long for a message being stored
	subscribeWait  = 30 * time.Second
	keepAlive      = 30 * time.Second
	maxReconnect   = 30 * time.Second
	connectTimeout = 30 * time.Second
	disconnectWait = 250 // ms, paho's quiesce
)

// Stats counts messages. Received counts every delivery (a redelivery counts
// again); each delivery then ends as at most one of the other four, or none
// if the bridge was closing.
type Stats struct {
	Received uint64 // messages delivered to the bridge
	Stored   uint64 // readings committed to the store
	Rejected uint64 // bad topic, sensor name or payload: acknowledged and dropped
	Skipped  uint64 // retained replays and duplicates already stored: acknowledged
	Failed   uint64 // store errors: left unacknowledged for redelivery
}

// Bridge is a running MQTT-to-store bridge.
type Bridge struct {
	st     store.Store
	log    *slog.Logger
	url    string // for logs, password redacted
	client paho.Client

	ctx    context.Context // cancelled by Close: aborts store calls
	cancel context.CancelFunc

	// sem is held while a message is handled; Close takes it for good so no
	// message is being stored when it disconnects.
	sem       chan struct{}
	closing   atomic.Bool
	closeOnce sync.Once

	subscribed chan error // first subscription's result
	subOnce    sync.Once

	received, stored, rejected, skipped, failed atomic.Uint64

	now func() time.Time // tests
}

// Start connects to the broker at brokerURL and subscribes to
// sensors/+/value. It returns once the first connection and subscription are
// up, or an error naming the URL if they fail or ctx ends first. ctx bounds
// only the start: the bridge then runs, reconnecting as needed, until Close.
//
// brokerURL is any URL paho accepts (tcp://, mqtt://, ssl://, tls://,
// mqtts://, ws://, wss://, unix://), "host:port" meaning tcp://. Userinfo
// (tcp://user:pass@host:1883) is sent as the MQTT user name and password.
// The query parameter client_id overrides DefaultClientID; it is removed
// before the URL is given to paho.
func Start(ctx context.Context, brokerURL string, st store.Store, log *slog.Logger) (*Bridge, error) {
	if st == nil {
		return nil, errors.New("bridge: nil store")
	}
	u, clientID, err := parseBrokerURL(brokerURL)
	if err != nil {
		return nil, err
	}
	b := newBridge(st, log)
	b.url = u.Redacted()

	opts := paho.NewClientOptions().
		AddBroker(u.String()).
		SetClientID(clientID).
		SetProtocolVersion(4). // MQTT 3.1.1: no fallback to 3.1 on failure
		SetCleanSession(false).
		SetOrderMatters(true). // readings stored in the order they arrive
		SetAutoAckDisabled(true).
		SetAutoReconnect(true).
		SetConnectRetry(false). // the first failure is Start's error
		SetMaxReconnectInterval(maxReconnect).
		SetKeepAlive(keepAlive).
		SetConnectTimeout(connectTimeout).
		// A persistent session may deliver queued messages before the
		// SUBSCRIBE of this connection: they match no route, so the
		// default handler takes them (paho would otherwise never ack them).
		SetDefaultPublishHandler(b.handle).
		SetOnConnectHandler(b.onConnect).
		SetConnectionLostHandler(func(_ paho.Client, err error) {
			b.log.Warn("mqtt bridge: connection lost; reconnecting", "broker", b.url, "err", err)
		}).
		SetReconnectingHandler(func(paho.Client, *paho.ClientOptions) {
			b.log.Info("mqtt bridge: reconnecting", "broker", b.url)
		})
	b.client = paho.NewClient(opts)

	fail := func(step string, err error) (*Bridge, error) {
		b.closing.Store(true)
		b.cancel()
		b.client.Disconnect(0)
		return nil, fmt.Errorf("bridge: %s MQTT broker %s as %q: %w", step, b.url, clientID, err)
	}
	tok := b.client.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fail("connect to", err)
		}
	case <-ctx.Done():
		// paho finishes (and then drops) the attempt in the background.
		return fail("connect to", context.Cause(ctx))
	}
	select {
	case err := <-b.subscribed:
		if err != nil {
			return fail("subscribe on", err)
		}
	case <-ctx.Done():
		return fail("subscribe on", context.Cause(ctx))
	}
	b.log.Info("mqtt bridge: subscribed", "broker", b.url, "client_id", clientID, "topic", Topic, "store", st.Kind())
	return b, nil
}

func newBridge(st store.Store, log *slog.Logger) *Bridge {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Bridge{
		st:         st,
		log:        log,
		ctx:        ctx,
		cancel:     cancel,
		sem:        make(chan struct{}, 1),
		subscribed: make(chan error, 1),
		now:        time.Now,
	}
}

// parseBrokerURL parses the broker URL, takes out client_id and checks the
// scheme, so a typo is reported at once rather than as paho's "unknown
// protocol" after a connection attempt.
func parseBrokerURL(raw string) (*url.URL, string, error) {
	if raw == "" {
		return nil, "", errors.New("bridge: empty MQTT broker URL")
	}
	if !strings.Contains(raw, "://") {
		raw = "tcp://" + raw
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the URL, password included: name only the cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, "", fmt.Errorf("bridge: bad MQTT broker URL: %w", err)
	}
	switch u.Scheme {
	case "tcp", "mqtt", "ssl", "tls", "mqtts", "mqtt+ssl", "tcps", "ws", "wss":
		if u.Host == "" {
			return nil, "", fmt.Errorf("bridge: MQTT broker URL %s has no host", u.Redacted())
		}
	case "unix":
	default:
		return nil, "", fmt.Errorf("bridge: MQTT broker URL %s: unsupported scheme %q (want tcp, mqtt, ssl, tls, mqtts, ws, wss or unix)", u.Redacted(), u.Scheme)
	}
	clientID := DefaultClientID
	q := u.Query()
	if q.Has("client_id") {
		clientID = q.Get("client_id")
		if clientID == "" {
			// An empty ID cannot have a persistent session [MQTT-3.1.3-7].
			return nil, "", fmt.Errorf("bridge: MQTT broker URL %s: empty client_id", u.Redacted())
		}
		q.Del("client_id")
		u.RawQuery = q.Encode()
	}
	return u, clientID, nil
}

// onConnect (re)subscribes on every connection. paho calls it in its own
// goroutine.
func (b *Bridge) onConnect(c paho.Client) {
	if b.closing.Load() {
		return
	}
	// No callback: matching messages go to the default handler, the same one
	// that takes queued messages arriving before this SUBSCRIBE.
	tok := c.Subscribe(Topic, 1, nil)
	var err error
	if !tok.WaitTimeout(subscribeWait) {
		err = fmt.Errorf("no SUBACK for %s within %v", Topic, subscribeWait)
	} else if err = tok.Error(); err == nil {
		if st, ok := tok.(*paho.SubscribeToken); ok {
			if qos, ok := st.Result()[Topic]; ok && qos == 0x80 {
				err = fmt.Errorf("broker refused the subscription to %s (SUBACK 0x80: not authorised?)", Topic)
			}
		}
	}
	first := false
	b.subOnce.Do(func() { first = true; b.subscribed <- err })
	if err != nil && !first {
		b.log.Error("mqtt bridge: resubscribe failed; readings are not received until the next reconnect", "broker", b.url, "err", err)
	} else if err == nil && !first {
		b.log.Info("mqtt bridge: reconnected and resubscribed", "broker", b.url)
	}
}

// handle is paho's handler for every message. paho calls it from one
// goroutine, in arrival order (SetOrderMatters). It acknowledges the message
// (m.Ack) only when the outcome is final; see the package comment.
func (b *Bridge) handle(_ paho.Client, m paho.Message) {
	b.received.Add(1)
	select {
	case b.sem <- struct{}{}:
	case <-b.ctx.Done():
		return // closing: unacknowledged, redelivered next session
	}
	defer func() { <-b.sem }()
	if b.closing.Load() {
		return
	}

	topic := m.Topic()
	if m.Retained() {
		// [MQTT-3.3.1-9]: a live publication reaches an established
		// subscription with RETAIN 0; RETAIN 1 is the broker replaying its
		// stored value on (re)subscription, which we have seen or missed
		// for good.
		b.skipped.Add(1)
		b.log.Debug("mqtt bridge: retained message skipped", "topic", topic)
		m.Ack()
		return
	}
	name, err := SensorFromTopic(topic)
	if err == nil {
		var meas Measurement
		meas, err = ParsePayload(m.Payload(), b.now())
		if err == nil {
			b.store(m, name, meas)
			return
		}
	}
	b.rejected.Add(1)
	b.log.Warn("mqtt bridge: reading rejected", "topic", truncate(topic), "payload", truncate(string(m.Payload())), "err", err)
	m.Ack()
}

// store writes one reading, retrying briefly, and acknowledges it if the
// write (or an earlier one of the same reading) is committed.
func (b *Bridge) store(m paho.Message, name string, meas Measurement) {
	if m.Duplicate() && meas.TimeGiven {
		dup, err := b.alreadyStored(name, meas)
		if err == nil && dup {
			b.skipped.Add(1)
			b.log.Debug("mqtt bridge: redelivered reading already stored", "sensor", name, "time", meas.Time)
			m.Ack()
			return
		}
		// On error, store it: a possible duplicate beats a lost reading.
	}
	var err error
	for attempt := 1; ; attempt++ {
		ctx, cancel := context.WithTimeout(b.ctx, storeTimeout)
		_, err = b.st.SetValue(ctx, name, meas.Value, meas.Unit, meas.Time, Source, 0, true)
		cancel()
		if err == nil {
			b.stored.Add(1)
			m.Ack()
			return
		}
		if errors.Is(err, store.ErrInvalid) {
			// The store will never take it: redelivery would only repeat
			// the failure on every reconnect.
			b.rejected.Add(1)
			b.log.Warn("mqtt bridge: reading rejected by the store", "sensor", name, "err", err)
			m.Ack()
			return
		}
		if attempt == storeAttempts || b.ctx.Err() != nil {
			break
		}
		t := time.NewTimer(storeBackoff << (2 * (attempt - 1)))
		select {
		case <-t.C:
		case <-b.ctx.Done():
			t.Stop()
		}
	}
	if b.ctx.Err() != nil {
		b.log.Info("mqtt bridge: closing; reading left for redelivery", "sensor", name)
		return
	}
	b.failed.Add(1)
	msg := "mqtt bridge: store write failed; reading left unacknowledged for redelivery on reconnect"
	if m.Qos() == 0 {
		msg = "mqtt bridge: store write failed; QoS 0 reading lost (no redelivery at QoS 0)"
	}
	b.log.Error(msg, "sensor", name, "value", meas.Value, "time", meas.Time, "attempts", storeAttempts, "err", err)
}

// alreadyStored looks for a reading of name with the same time, value, unit
// and source.
func (b *Bridge) alreadyStored(name string, meas Measurement) (bool, error) {
	ctx, cancel := context.WithTimeout(b.ctx, storeTimeout)
	defer cancel()
	// A window, not [t, t+1ns): a store may keep less than nanoseconds.
	from, to := meas.Time.Add(-time.Second), meas.Time.Add(time.Second)
	rs, _, err := b.st.Readings(ctx, name, from, to, store.Page{Limit: 1000})
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range rs {
		if r.Source == Source && r.Value == meas.Value && r.Unit == meas.Unit &&
			r.Time.Sub(meas.Time).Abs() < time.Millisecond {
			return true, nil
		}
	}
	return false, nil
}

// Stats returns the message counts so far.
func (b *Bridge) Stats() Stats {
	return Stats{
		Received: b.received.Load(),
		Stored:   b.stored.Load(),
		Rejected: b.rejected.Load(),
		Skipped:  b.skipped.Load(),
		Failed:   b.failed.Load(),
	}
}

// Connected reports whether the bridge has a live connection to the broker.
func (b *Bridge) Connected() bool { return b.client != nil && b.client.IsConnectionOpen() }

// Close disconnects from the broker, keeping the session (and its
// subscription) there so readings published meanwhile are queued. A message
// being stored is given a few seconds to finish; one still unfinished, or
// arriving later, is left unacknowledged for the next session. Close does
// not close the store. It is safe to call more than once.
func (b *Bridge) Close() error {
	b.closeOnce.Do(func() {
		b.closing.Store(true)
		t := time.NewTimer(closeGrace)
		select {
		case b.sem <- struct{}{}: // held for good: no handler runs now
			t.Stop()
		case <-t.C:
			b.log.Warn("mqtt bridge: close: a store write is still running; aborting it", "broker", b.url)
		}
		b.cancel()
		b.client.Disconnect(disconnectWait)
		b.log.Info("mqtt bridge: disconnected", "broker", b.url)
	})
	return nil
}
