// Package mqtt311 is the MQTT 3.1.1 conformance suite. Its specs live in
// non-test files so the wirecheck binary can run them; suite_test.go lets
// `go test` and the ginkgo CLI run the same specs.
//
// Every spec is declared with conformance.It and carries the statement IDs
// it checks as labels; containers carry an area label.
package mqtt311

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"sync/atomic"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	"github.com/wirecheck/wirecheck/harness/target"
)

var (
	tgt       target.Target
	preStart  bool // the caller started tgt and will stop it
	info      target.Info
	runPrefix string
	seq       atomic.Int64
)

// SetTarget chooses the broker under test before RunSpecs. started says the
// caller has started it already (and will stop it). Without SetTarget the
// suite reads WIRECHECK_TARGET and WIRECHECK_PROFILE, default "reference".
func SetTarget(t target.Target, started bool) { tgt, preStart = t, started }

// Target returns the broker under test.
func Target() target.Target { return tgt }

var _ = BeforeSuite(func(ctx SpecContext) {
	if tgt == nil && os.Getenv("WIRECHECK_FAULT") != "" {
		// Harness self-test: the reference broker with one deliberate defect.
		t, err := target.NewFaultyReference(os.Getenv("WIRECHECK_FAULT"))
		Expect(err).NotTo(HaveOccurred())
		tgt = t
	}
	if tgt == nil {
		t, err := target.Parse(os.Getenv("WIRECHECK_TARGET"), os.Getenv("WIRECHECK_PROFILE"))
		Expect(err).NotTo(HaveOccurred())
		tgt = t
	}
	if !preStart {
		Expect(tgt.Start(ctx)).To(Succeed(), "starting target %s", tgt.Name())
	}
	info = tgt.Info()
	// Parallel processes and repeated runs must not share client IDs or
	// topics: retained messages and sessions outlive a run on a real broker.
	runPrefix = "wc" + strconv.FormatInt(time.Now().UnixNano()%1e8, 36) + strconv.Itoa(GinkgoParallelProcess())
	GinkgoWriter.Printf("target %s (%s) at %s\n", tgt.Name(), info.Version, info.Addr)
}, NodeTimeout(3*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	if tgt != nil && !preStart {
		Expect(tgt.Stop(ctx)).To(Succeed())
		if c, ok := tgt.(interface{ Cleanup() error }); ok {
			Expect(c.Cleanup()).To(Succeed())
		}
	}
}, NodeTimeout(time.Minute))

// ClientID returns a client ID unique to this run, at most 23 characters so
// every broker must accept it [MQTT-3.1.3-5].
func ClientID() string {
	id := runPrefix + "c" + strconv.FormatInt(seq.Add(1), 36)
	if len(id) > 23 {
		id = id[len(id)-23:]
	}
	return id
}

// Topic returns a topic under this run's prefix.
func Topic(parts ...string) string {
	t := runPrefix + "/" + strconv.FormatInt(seq.Add(1), 36)
	for _, p := range parts {
		t += "/" + p
	}
	return t
}

// restartTarget restarts the broker, or skips the spec when the kind cannot.
func restartTarget(ctx context.Context) {
	if !info.Caps.Restart {
		Skip(fmt.Sprintf("target %s cannot be restarted", tgt.Name()))
	}
	Expect(tgt.Restart(ctx)).To(Succeed())
	info = tgt.Info()
}
