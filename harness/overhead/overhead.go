// Package overhead measures what MQTT and HTTPS cost on the wire, the way
// the 2012 study behind the seed's battery tables compared them (Nicholas,
// "Power Profiling: HTTPS Long Polling vs. MQTT with SSL, on Android"; see
// ENERGY.md): real clients against real servers on loopback, every packet
// captured (harness/capture) and accounted per layer.
//
// Experiments, each over plain TCP, TLS 1.2 and TLS 1.3 (MinVersion =
// MaxVersion; connect and maintain also over TLS 1.3 with key exchange
// X25519 only, against Go's default X25519MLKEM768):
//
//   - connect: TCP + TLS + MQTT CONNECT/CONNACK/SUBSCRIBE/SUBACK vs TCP +
//     TLS + the first HTTPS long-poll request (the study's "connect").
//   - maintain: idle for N keepalive intervals of 60, 120, 240 and 480 s:
//     MQTT sends PINGREQ/PINGRESP once per interval; the study's HTTPS
//     client times out and reconnects (new TCP + TLS + request) once per
//     interval; HTTPS over a kept-alive connection has the server end the
//     idle poll and the client re-issue it on the same connection.
//   - send and receive: M messages of S bytes, MQTT QoS 0/1/2 (publisher
//     and subscriber sides) vs HTTPS POST and long-poll GET.
//   - shapes: the seed's JSON sensor reading published over MQTT to
//     sensors/s1/value vs the same reading PUT to the REST server.
//
// The servers are the reference broker and one HTTP server on two
// listeners (plain, TLS) that serves the reference REST handler next to
// the study's Comet endpoint (GET/POST /s?t=TOPIC, see Comet), or any
// targets given. Events are bracketed in time (the settle time before and
// after, so that late ACKs land in the right window); the jobs of one
// experiment run concurrently and are told apart by their connections.
//
// Reading the figures: TLS record and application bytes are exact and
// repeatable; frames (and so wire bytes) can differ by a pure ACK from one
// event to the next, as the kernel's delayed-ACK state varies, so rows are
// means over their events. send and receive run their M messages back to
// back, as fast as possible like the study's, and the kernel coalesces
// small segments (autocorking): per-message frames of a burst are below
// one. The seed's readings (shapes) are sent one at a time, as its
// producer does every 5 s.
//
// Outputs in the output directory: overhead.json, overhead.csv,
// overhead.md, bytes_per_event.{png,svg}, bytes_per_hour.{png,svg} and
// one pcapng per experiment (capture mode only).
package overhead

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"github.com/wirecheck/wirecheck/harness/capture"
)

// Options configure a run. Zero fields take the defaults (Defaults).
type Options struct {
	Out   string // output directory (created)
	Quick bool   // fewer events and TimeScale 0.001 unless set

	// TimeScale is wall time per protocol time: 0.001 runs a 60 s
	// keepalive interval in 60 ms. Bytes per interval do not depend on
	// the interval's length (nothing is sent in between: TCP keepalive is
	// off on both sides of the in-process servers), so figures at any
	// scale are per protocol-time interval. Default 1 (quick: 0.001).
	TimeScale float64

	Connects   int   // connects measured per variant (default 5; quick 2)
	Intervals  int   // keepalive intervals measured per job (default 3; quick 2)
	Keepalives []int // seconds (default 60, 120, 240, 480)
	Messages   int   // messages per send/receive/shapes job (default 100; quick 10)
	Size       int   // message payload bytes for send/receive (default 1, as in the study)

	MQTTTargets  []string // tcp://HOST:PORT and/or tls://HOST:PORT; default: the in-process broker
	HTTPSTargets []string // http://HOST:PORT and/or https://HOST:PORT; default: in-process
	Experiments  []string // subset to run (default all)

	Settle   time.Duration // quiescence before and after each window (default 60 ms, above Linux's 40 ms delayed ACK)
	Progress io.Writer     // one line per experiment (default: none)

	// NoCapture forces the payload-only fallback (tests).
	NoCapture bool
}

// Defaults fills unset fields.
func (o *Options) Defaults() {
	def := func(p *int, full, quick int) {
		if *p <= 0 {
			*p = full
			if o.Quick {
				*p = quick
			}
		}
	}
	def(&o.Connects, 5, 2)
	def(&o.Intervals, 3, 2)
	def(&o.Messages, 100, 10)
	def(&o.Size, 1, 1)
	if o.TimeScale <= 0 {
		o.TimeScale = 1
		if o.Quick {
			o.TimeScale = 0.001
		}
	}
	if len(o.Keepalives) == 0 {
		o.Keepalives = []int{60, 120, 240, 480}
	}
	if len(o.Experiments) == 0 {
		o.Experiments = slices.Clone(Experiments)
	}
	if o.Settle <= 0 {
		o.Settle = 60 * time.Millisecond
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
}

// ErrOptions marks options that cannot run.
var ErrOptions = errors.New("overhead: bad options")

// MinTimeScale keeps the shortest interval (60 s) above the settle time
// and the kernel's delayed ACK, so that no ACK rides on the next ping.
const MinTimeScale = 0.001

// Check validates options after Defaults.
func (o *Options) Check() error {
	if o.Out == "" {
		return fmt.Errorf("%w: no output directory", ErrOptions)
	}
	if o.TimeScale < MinTimeScale || o.TimeScale > 1 {
		return fmt.Errorf("%w: time scale %g: want %g to 1", ErrOptions, o.TimeScale, MinTimeScale)
	}
	for _, ka := range o.Keepalives {
		if ka <= 0 || ka > 65535 {
			return fmt.Errorf("%w: keepalive %d s: want 1 to 65535", ErrOptions, ka)
		}
	}
	if o.Messages > maxQueued || o.Size > 1<<20 {
		return fmt.Errorf("%w: at most %d messages of at most 1 MiB", ErrOptions, maxQueued)
	}
	for _, e := range o.Experiments {
		if !slices.Contains(Experiments, e) {
			return fmt.Errorf("%w: unknown experiment %q (want one of %v)", ErrOptions, e, Experiments)
		}
	}
	return nil
}

// Result is what a run produced.
type Result struct {
	Rows        []Row
	CaptureMode string // afpacket or payload-only
	TimeScale   float64
	Files       []string // written, relative to Out
	Elapsed     time.Duration
}

// Run runs the experiments and writes every output into o.Out.
func Run(ctx context.Context, o Options) (*Result, error) {
	start := time.Now()
	o.Defaults()
	if err := o.Check(); err != nil {
		return nil, err
	}
	fix, err := startFixtures(&o)
	if err != nil {
		return nil, err
	}
	defer fix.close()
	if err := os.MkdirAll(o.Out, 0o755); err != nil {
		return nil, err
	}

	res := &Result{TimeScale: o.TimeScale}
	next := 0
	for _, name := range o.Experiments {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		e := &experiment{name: name, o: &o, fix: fix}
		plan(e, &next)
		rows, mode, file, err := e.run()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if res.CaptureMode == "" {
			res.CaptureMode = mode
		}
		res.Rows = append(res.Rows, rows...)
		if file != "" {
			res.Files = append(res.Files, file)
		}
	}
	sortRows(res.Rows)
	files, err := writeOutputs(o.Out, res)
	if err != nil {
		return nil, err
	}
	res.Files = append(res.Files, files...)
	res.Elapsed = time.Since(start)
	return res, nil
}

// run captures the experiment, runs its jobs concurrently and accounts
// for each.
func (e *experiment) run() (rows []Row, mode, file string, err error) {
	start := time.Now()
	eta := ""
	if e.name == ExpMaintain && len(e.o.Keepalives) > 0 {
		longest := time.Duration(float64(slices.Max(e.o.Keepalives)) * e.o.TimeScale * float64(e.o.Intervals+1) * float64(time.Second))
		eta = fmt.Sprintf(" (about %v at time scale %g)", longest.Round(time.Millisecond), e.o.TimeScale)
	}
	fmt.Fprintf(e.o.Progress, "overhead: %-8s %2d jobs ...%s\n", e.name, len(e.jobs), eta)
	pcap := filepath.Join(e.o.Out, e.name+".pcapng")
	if !e.o.NoCapture {
		e.sess, err = capture.Start(capture.Options{Interface: "lo", Ports: e.fix.ports(), Pcapng: pcap})
	}
	switch {
	case e.o.NoCapture || errors.Is(err, capture.ErrNoPrivilege):
		e.sess, err = capture.NewSocketSession(), nil
		mode = ModePayloadOnly
	case err != nil:
		return nil, "", "", err
	default:
		mode, file = ModeAFPacket, filepath.Base(pcap)
	}
	var wg sync.WaitGroup
	for _, j := range e.jobs {
		wg.Go(func() { j.err = j.run(j) })
	}
	wg.Wait()
	pkts, stopErr := e.sess.Stop()
	var errs []error
	if stopErr != nil {
		errs = append(errs, stopErr)
	}
	kind := e.fix.kind
	for _, j := range e.jobs {
		if j.err != nil {
			errs = append(errs, fmt.Errorf("%s %s (QoS %d) over %s: %w", j.proto, j.event, j.qos, j.v.Label(), j.err))
			continue
		}
		a := capture.Analyze(pkts, kind, j.keep())
		rows = append(rows, buildRow(j.meta(), a, j.events, j.state, mode, e.o.TimeScale))
	}
	fmt.Fprintf(e.o.Progress, "overhead: %-8s %2d jobs done in %v (%s, %d packets)\n",
		e.name, len(e.jobs), time.Since(start).Round(time.Millisecond), mode, len(pkts))
	return rows, mode, file, errors.Join(errs...)
}
