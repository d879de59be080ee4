package mqtt311

import (
	"fmt"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// Keep alive used by these specs, and how late after 1.5 × keep alive a
// broker may close: brokers that check keep alive on a timer close up to a
// tick late. keepAliveGiveUp bounds the wait, beyond the deadline, so that
// a late close is still measured and reported.
const (
	keepAlive       = 1 // seconds
	keepAliveWindow = 1500 * time.Millisecond
	timerTolerance  = time.Second
	keepAliveGiveUp = 10 * time.Second
)

var _ = Describe("Keep alive", Area("keepalive"), func() {
	ConformanceIt("closes a client silent for 1.5 × its keep alive", IDs("MQTT-3.1.2-24"), func() {
		c, _ := Connect(ClientID(), KeepAlive(keepAlive))
		// The client now says nothing: the broker's timer runs from the
		// CONNECT, just before the CONNACK that started this clock.
		took, err := c.ExpectClosed(keepAliveGiveUp)
		Expect(err).NotTo(HaveOccurred(), "keep alive %d s", keepAlive)
		ka := time.Duration(keepAlive) * time.Second
		RecordMeasured("keepalive-disconnect", took, fmt.Sprintf("%.2f × keepalive", took.Seconds()/ka.Seconds()))
		Expect(took).To(BeNumerically(">=", ka-50*time.Millisecond), "closed before one keep alive passed")
		Expect(took).To(BeNumerically("<=", keepAliveWindow+timerTolerance), "closed later than 1.5 × keep alive (plus %v for timer checks)", timerTolerance)
	})

	ConformanceIt("answers PINGREQ with PINGRESP, keeping a client connected; keep alive 0 never times out", IDs("MQTT-3.12.4-1", "MQTT-3.1.2-24"), func() {
		// Two clients over the same 2.5 × keep alive, well past the point
		// where a silent client would have been dropped: one pings every
		// half keep alive, the other has keep alive 0 and stays silent.
		pinger, _ := Connect(ClientID(), KeepAlive(keepAlive))
		silent, _ := Connect(ClientID(), KeepAlive(0))
		start := time.Now()
		for time.Since(start) < keepAliveWindow+timerTolerance {
			silence(keepAlive * time.Second / 2)
			Ping(pinger)
		}
		By("the keep alive 0 client, silent for " + time.Since(start).Round(time.Millisecond).String())
		Ping(silent) // still open, still answering
	})
})

// silence keeps the test client quiet for d so that a broker timer can run
// out. It is the only sleep in the suite's specs: it creates silence; it
// never stands in for waiting on an event.
func silence(d time.Duration) { time.Sleep(d) }
