package bench

import (
	"context"
	"fmt"
	"net/url"
	"strings"
)

// broker is one target: something that speaks MQTT on a loopback address
// and, when it is a local child process, has a PID to measure.
type broker interface {
	Name() string
	Start(ctx context.Context) error // a fresh broker: no sessions, no retained messages
	Stop(ctx context.Context) error  // safe to call twice
	Addr() string                    // host:port while running
	Pid() int                        // 0 unless a local child process
	Alive() bool
	Version() string
	Settings() string
}

// settings the load depends on, shared by both local brokers for fairness:
// 20 QoS 1/2 messages in flight per client, 1000 more queued, no persistence.
const (
	brokerInflight = 20
	brokerQueued   = 1000
)

const targetForms = "want reference, mosquitto or tcp://HOST:PORT"

// CheckTarget reports whether spec is a target bench can run: reference,
// mosquitto or tcp://HOST:PORT.
func CheckTarget(spec string) error {
	switch {
	case spec == "reference" || spec == "mosquitto":
		return nil
	case strings.Contains(spec, "://"):
		u, err := url.Parse(spec)
		if err != nil || u.Scheme != "tcp" {
			return fmt.Errorf("target %q: unsupported scheme (%s)", spec, targetForms)
		}
		if u.Host == "" || u.Port() == "" || (u.Path != "" && u.Path != "/") {
			return fmt.Errorf("target %q: %s", spec, targetForms)
		}
		return nil
	}
	return fmt.Errorf("unknown target %q: %s", spec, targetForms)
}

// newBroker turns a --target value into a broker. pin, if not empty, is the
// CPU set local broker processes are pinned to.
func newBroker(spec, brokerBin string, pin []int) (broker, error) {
	if err := CheckTarget(spec); err != nil {
		return nil, err
	}
	switch {
	case spec == "reference" && brokerBin != "":
		return &refChild{child: child{pin: pin}, bin: brokerBin}, nil
	case spec == "reference":
		return &refInProc{}, nil
	case spec == "mosquitto":
		bin, err := findMosquitto()
		if err != nil {
			return nil, err
		}
		return &mosquittoChild{child: child{pin: pin}, bin: bin}, nil
	}
	u, _ := url.Parse(spec) // CheckTarget accepted it: tcp://HOST:PORT
	return &external{spec: spec, addr: u.Host}, nil
}
