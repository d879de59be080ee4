package main

import (
	"errors"
	"fmt"
	"os/signal"
	"path/filepath"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/wirecheck/wirecheck/harness/overhead"
)

type overheadFlags struct {
	out          string
	quick        bool
	timeScale    float64
	connects     int
	intervals    int
	keepalives   []int
	messages     int
	size         int
	mqttTargets  []string
	httpsTargets []string
	experiments  []string
}

func newOverheadCmd() *cobra.Command {
	var f overheadFlags
	cmd := &cobra.Command{
		Use:   "overhead --out DIR",
		Short: "Measure MQTT vs HTTPS bytes on the wire (connect, keepalive, messages)",
		Long: `Measure what MQTT and HTTPS cost on the wire, the way the 2012 study behind
the seed's battery tables compared them (Nicholas, "Power Profiling: HTTPS
Long Polling vs. MQTT with SSL, on Android"): real clients against real
servers on loopback, every packet captured on lo (AF_PACKET, needs root or
CAP_NET_RAW) and accounted per layer.

Servers: the reference MQTT broker, and one HTTP server serving the
reference REST API next to the study's Comet long-polling endpoint
(GET /s?t=TOPIC is held until a message or the hold time; POST /s?t=TOPIC
queues one), each on a plain and a TLS listener on 127.0.0.1; or the
targets given with --mqtt-target and --https-target (an HTTPS target must
serve /s?t= like the fixture, and /sensors for the shapes experiment).

Every experiment runs over plain TCP, TLS 1.2 and TLS 1.3 (client
MinVersion = MaxVersion) and reports the key exchange used; connect and
maintain also run TLS 1.3 with key exchange X25519 only, to compare with
Go's default X25519MLKEM768 (its key shares add about 1.2 KB each way).

Experiments:
  connect   TCP + TLS + MQTT CONNECT/CONNACK/SUBSCRIBE/SUBACK vs TCP + TLS +
            the first HTTPS long-poll request (the study's "connect")
  maintain  idle for N keepalive intervals of 60, 120, 240, 480 s: MQTT sends
            PINGREQ/PINGRESP each interval; the study's HTTPS client times
            out and reconnects (new TCP + TLS + request) each interval
            ("reconnect"); HTTPS on a kept-alive connection has the server
            end the idle poll and the client re-issue it ("kept-alive")
  send      M messages of S bytes: MQTT PUBLISH QoS 0/1/2 vs HTTPS POST
  receive   M messages of S bytes: MQTT delivery to a subscriber at QoS 0/1/2
            vs long-poll GET responses
  shapes    the seed's JSON reading {"Sensor": 1, "C_F": "C", "Value": 86,
            "Time": "22:31:11"} published to sensors/s1/value vs the same
            reading PUT to /sensors/s1 as {"value": 86, "unit": "C"}

Each event is bracketed in time (quiescence before and after) and counted
per layer: frames, link-layer bytes, IP and TCP headers, TCP payload, TLS
records and overhead, application bytes, by direction. --time-scale X runs
protocol time X times faster or slower in wall time (0.001: a 60 s
keepalive interval takes 60 ms); bytes per interval do not depend on its
length, and every output states the scale. Per-hour figures are bytes per
interval × 3600 / interval.

Outputs in --out DIR:
  overhead.json          a list of rows: experiment, protocol (mqtt/https),
                         tls (none/1.2/1.3), keepalive_s, event, frames,
                         wire_bytes, tcp_payload_bytes, app_bytes, per-layer
                         and per-direction counts, per_hour_bytes,
                         key_exchange, cipher_suite, capture_mode, time_scale
  overhead.csv           the same rows and columns
  overhead.md            tables: bytes and packets per event; per keepalive
                         interval and per hour
  bytes_per_event.png/.svg   stacked bars by layer per protocol and TLS
  bytes_per_hour.png/.svg    bytes per hour vs keepalive interval (log-log)
  EXPERIMENT.pcapng      one capture per experiment, with the throw-away
                         TLS secrets embedded so Wireshark decrypts it

Without capture privileges the bytes are counted at the socket instead:
every output then says "payload-only" (no headers, no pcapng).
A progress line per experiment goes to stderr.`,
		Example: `  wirecheck overhead --quick --out /tmp/ovh
  sudo wirecheck overhead --time-scale 0.01 --out results
  wirecheck overhead --experiments connect,maintain --mqtt-target tcp://127.0.0.1:1883 \
      --mqtt-target tls://127.0.0.1:8883 --out mosquitto`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return runOverhead(cmd, &f) },
	}
	fl := cmd.Flags()
	fl.StringVarP(&f.out, "out", "o", "", "output directory (created; required)")
	fl.BoolVar(&f.quick, "quick", false, "fewer events and --time-scale 0.001: the whole run takes seconds")
	fl.Float64Var(&f.timeScale, "time-scale", 0, "wall time per protocol time, 0.001 to 1 (default 1; 0.001 with --quick)")
	fl.IntVar(&f.connects, "connects", 0, "connects measured per variant (default 5; 2 with --quick)")
	fl.IntVar(&f.intervals, "intervals", 0, "keepalive intervals measured per job (default 3; 2 with --quick)")
	fl.IntSliceVar(&f.keepalives, "keepalive", nil, "keepalive intervals in seconds (default 60,120,240,480)")
	fl.IntVar(&f.messages, "messages", 0, "messages per send, receive and shapes job (default 100; 10 with --quick)")
	fl.IntVar(&f.size, "size", 0, "message payload in bytes for send and receive (default 1, as in the study)")
	fl.StringArrayVar(&f.mqttTargets, "mqtt-target", nil, "MQTT broker URL instead of the reference broker, repeatable: tcp://HOST:PORT, tls://HOST:PORT")
	fl.StringArrayVar(&f.httpsTargets, "https-target", nil, "HTTP(S) server URL instead of the in-process one, repeatable: http://HOST:PORT, https://HOST:PORT")
	fl.StringSliceVar(&f.experiments, "experiments", nil, "experiments to run (default all: connect,maintain,send,receive,shapes)")
	return cmd
}

func runOverhead(cmd *cobra.Command, f *overheadFlags) error {
	fl := cmd.Flags()
	if f.out == "" {
		return usagef("--out DIR is required")
	}
	if fl.Changed("time-scale") && (f.timeScale < overhead.MinTimeScale || f.timeScale > 1) {
		return usagef("--time-scale %g: want %g to 1", f.timeScale, overhead.MinTimeScale)
	}
	for _, name := range []string{"connects", "intervals", "messages", "size"} {
		if v, _ := fl.GetInt(name); fl.Changed(name) && v <= 0 {
			return usagef("--%s must be positive, got %d", name, v)
		}
	}
	o := overhead.Options{
		Out: f.out, Quick: f.quick, TimeScale: f.timeScale, Connects: f.connects, Intervals: f.intervals,
		Keepalives: f.keepalives, Messages: f.messages, Size: f.size, MQTTTargets: f.mqttTargets,
		HTTPSTargets: f.httpsTargets, Experiments: f.experiments, Progress: cmd.ErrOrStderr(),
	}
	o.Defaults()
	if err := o.Check(); err != nil {
		return usageError{err}
	}
	ctx, stop := signal.NotifyContext(cmd.Context(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()
	res, err := overhead.Run(ctx, o)
	if err != nil {
		if errors.Is(err, overhead.ErrTarget) {
			return usageError{err}
		}
		return err
	}
	fmt.Fprintf(cmd.ErrOrStderr(), "overhead: %d rows, capture %s, time scale %g, %v\n",
		len(res.Rows), res.CaptureMode, res.TimeScale, res.Elapsed.Round(1e6))
	for _, name := range res.Files {
		fmt.Fprintln(cmd.OutOrStdout(), filepath.Join(f.out, name))
	}
	return nil
}
