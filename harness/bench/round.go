package bench

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strconv"
	"sync/atomic"
	"time"
)

// roundResult is what one round of one case against one target measured.
type roundResult struct {
	na  string // the target cannot run the case
	err error  // the case failed

	sent    int64
	counts  counts
	perS    float64 // deliveries per second
	lat     percentiles
	elapsed time.Duration
	cpu     time.Duration // broker CPU over the round; -1 unknown
	selfCPU time.Duration // load generator CPU over the round; -1 unknown
	peak    int64         // broker RSS; -1 unknown
	steady  int64

	connPerS     float64
	bytesPerConn float64
	clients      int // conn: connections actually opened (may be fewer than asked, see note)
	note         string
}

func (r *roundResult) setUsage(u usage) {
	r.cpu, r.selfCPU, r.peak, r.steady = u.cpu, u.self, u.peak, u.steady
}

// failed turns an error into a round result: errNA into n/a, the rest into
// a failure.
func failed(err error) roundResult {
	var na errNA
	if errors.As(err, &na) {
		return roundResult{na: na.reason, cpu: -1, selfCPU: -1, peak: -1, steady: -1}
	}
	return roundResult{err: err, cpu: -1, selfCPU: -1, peak: -1, steady: -1}
}

// cpuPerMsg is broker CPU µs per delivered message (or connection); -1 when
// not measured.
func (r roundResult) cpuPerMsg() float64 { return r.perMsg(r.cpu) }

// loadgenPerMsg is the load generator's CPU µs per delivered message (or
// connection); -1 when not measured.
func (r roundResult) loadgenPerMsg() float64 { return r.perMsg(r.selfCPU) }

func (r roundResult) perMsg(cpu time.Duration) float64 {
	n := r.counts.Delivered
	if r.clients > 0 && n == 0 {
		n = int64(r.clients)
	}
	if cpu < 0 || n == 0 {
		return -1
	}
	return float64(cpu.Nanoseconds()) / 1e3 / float64(n)
}

// runTag makes client identifiers and topics unique to this process, so a
// run never meets another's sessions on an external broker.
var runTag = func() string {
	b := make([]byte, 4)
	rand.Read(b)
	return hex.EncodeToString(b)
}()

var idSeq atomic.Int64

// newClientID returns a unique client identifier of at most 23 characters
// from [0-9a-z], which every server must accept [MQTT-3.1.3-5].
func newClientID() string {
	return "wcb" + runTag + "x" + strconv.FormatInt(idSeq.Add(1), 36)
}

// newTopic returns a topic prefix no earlier round used.
func newTopic() string {
	return "wcb/" + runTag + "/" + strconv.FormatInt(idSeq.Add(1), 36)
}
