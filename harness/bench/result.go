package bench

import (
	"io"
	"time"
)

// Scenario names, as given to --scenario and written to bench.json.
const (
	P2P       = "p2p"       // N publisher/subscriber pairs, each pair on its own topic
	Fanout    = "fanout"    // 1 publisher -> N subscribers on one topic
	Fanin     = "fanin"     // N publishers -> 1 wildcard subscriber
	Conn      = "conn"      // connection rate and memory per idle connection
	Reconnect = "reconnect" // persistent session: queue while offline, reconnect, drain
)

// Load modes.
const (
	Closed = "closed" // bounded in-flight window, as fast as the broker sustains without loss
	Open   = "open"   // fixed offered rate, latency from the scheduled send time
)

// Case is one measurement: a scenario at one size, QoS, payload and mode.
type Case struct {
	Scenario string  `json:"scenario"`
	Clients  int     `json:"clients"` // pairs (p2p), subscribers (fanout), publishers (fanin), connections (conn), queued messages (reconnect)
	QoS      byte    `json:"qos"`
	Payload  int     `json:"payload"` // bytes, including the sequence number and timestamp header
	Mode     string  `json:"mode"`
	Rate     float64 `json:"offered_per_s,omitempty"` // open loop: PUBLISHes per second offered, all publishers together (fan-out delivers Clients times as many)
}

// Result is one row of bench.json: one target × case, aggregated over rounds
// (medians). Field names are an interface other tools rely on: add, never rename.
type Result struct {
	Target string `json:"target"`
	Case
	Rounds        int           `json:"rounds"`
	Sent          int64         `json:"sent"`      // PUBLISH packets sent by publishers (last round)
	Expected      int64         `json:"expected"`  // deliveries subscribers should have got (last round)
	Delivered     int64         `json:"delivered"` // deliveries counted (last round)
	DeliveredPerS float64       `json:"delivered_per_s"`
	RoundsPerS    []float64     `json:"rounds_delivered_per_s,omitempty"`
	P50us         float64       `json:"p50_us"`
	P90us         float64       `json:"p90_us"`
	P99us         float64       `json:"p99_us"`
	P999us        float64       `json:"p999_us"`
	MaxUs         float64       `json:"max_us"`
	Lost          int64         `json:"lost"`
	Dup           int64         `json:"dup"`
	Reordered     int64         `json:"reordered"`
	CPUusPerMsg   float64       `json:"cpu_us_per_msg"` // broker CPU (user+sys) per delivered message; -1 when the broker is not a local process
	RSSBytes      int64         `json:"rss_bytes"`      // broker peak RSS during the case; -1 when unknown
	SteadyRSS     int64         `json:"steady_rss_bytes,omitempty"`
	ConnPerS      float64       `json:"conn_per_s,omitempty"`     // conn: CONNECT→CONNACK completed per second
	BytesPerConn  float64       `json:"bytes_per_conn,omitempty"` // conn: broker RSS growth per idle connection
	NA            string        `json:"na,omitempty"`             // why the target cannot run this case ("" = it ran)
	Error         string        `json:"error,omitempty"`          // the case ran and failed (e.g. connection refused)
	Duration      time.Duration `json:"duration_ns"`

	// Added by the engine; Lost, Dup and Reordered above are summed over rounds.
	LoadgenCPUusPerMsg float64  `json:"loadgen_cpu_us_per_msg"` // the load generator's own CPU per delivered message; -1 when the broker runs in its process
	Note               string   `json:"note,omitempty"`         // what a figure means where it differs (conn, reconnect) or what was adjusted
	Samples            []Sample `json:"samples,omitempty"`      // one per round, in order
}

// Disclosure is the full-disclosure header of a run.
type Disclosure struct {
	Started        time.Time         `json:"started"`
	CPU            string            `json:"cpu"`
	Cores          int               `json:"cores"`
	Kernel         string            `json:"kernel"`
	GoVersion      string            `json:"go_version"`
	Wirecheck      string            `json:"wirecheck_version"`
	Targets        map[string]string `json:"targets"` // name -> version string
	Config         map[string]string `json:"config"`  // broker settings that matter (inflight, queue, persistence)
	Pinning        string            `json:"pinning"` // e.g. "broker cpu 1, load cpu 0" or "none"
	Quick          bool              `json:"quick"`
	LoadgenCeiling float64           `json:"loadgen_ceiling_per_s"` // deliveries/s the load generator reaches against an in-process null relay
}

// Report is everything one `wirecheck bench` run measured.
type Report struct {
	Disclosure Disclosure `json:"disclosure"`
	Results    []Result   `json:"results"`
}

// Sample is what one round of a case measured.
type Sample struct {
	DeliveredPerS      float64 `json:"delivered_per_s"`
	P50us              float64 `json:"p50_us"`
	P99us              float64 `json:"p99_us"`
	CPUusPerMsg        float64 `json:"cpu_us_per_msg"`
	RSSBytes           int64   `json:"rss_bytes"`
	LoadgenCPUusPerMsg float64 `json:"loadgen_cpu_us_per_msg"`
	ConnPerS           float64 `json:"conn_per_s,omitempty"`
	BytesPerConn       float64 `json:"bytes_per_conn,omitempty"`
	Lost               int64   `json:"lost,omitempty"`
	Dup                int64   `json:"dup,omitempty"`
	NA                 string  `json:"na,omitempty"`
	Error              string  `json:"error,omitempty"`
}

// Config is one `wirecheck bench` run. Zero values mean the defaults
// described on each field.
type Config struct {
	Targets   []string      // "reference", "mosquitto" or tcp://HOST:PORT; first is the baseline for ratios
	Scenarios []string      // subset of P2P, Fanout, Fanin, Conn, Reconnect; empty = all
	QoS       []byte        // empty = 0, 1, 2
	Payloads  []int         // empty = 16, 256, 4096
	Quick     bool          // a small matrix that finishes in well under 3 minutes for two targets
	Rounds    int           // A B A B rounds per case; 0 = 3 (quick: 2)
	Duration  time.Duration // measured time per case per round; 0 = 5 s (quick: 1 s)
	Rate      float64       // open loop offered rate in msgs/s; 0 = half the slowest target's closed-loop rate
	Pin       bool          // pin the broker and the load generator to different CPUs
	BrokerBin string        // wirecheck binary used to run the reference broker as a child process; "" = in-process
	Progress  io.Writer     // progress lines while it runs; nil = silent
	Clients   []int         // overrides every selected scenario's sizes (Case.Clients); empty = the matrix's own
}
