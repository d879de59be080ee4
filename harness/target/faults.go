package target

import (
	"fmt"
	"sort"

	"github.com/wirecheck/wirecheck/reference/mqtt"
)

// Fault is a deliberate defect of the reference broker and the suite area
// whose specs must catch it (the harness self-test).
type Fault struct {
	Name  string
	Area  string // label of the suite area expected to fail
	apply func(*mqtt.Faults)
}

// Faults lists every defect the self-test injects, one or more per area.
var Faults = []Fault{
	{"accept-second-connect", "connect", func(f *mqtt.Faults) { f.AcceptSecondConnect = true }},
	{"no-session-present", "session", func(f *mqtt.Faults) { f.NoSessionPresent = true }},
	{"no-offline-queue", "session", func(f *mqtt.Faults) { f.NoOfflineQueue = true }},
	{"keep-will-on-disconnect", "will", func(f *mqtt.Faults) { f.KeepWillOnDisconnect = true }},
	{"no-keepalive", "keepalive", func(f *mqtt.Faults) { f.NoKeepalive = true }},
	{"upgrade-qos", "qos", func(f *mqtt.Faults) { f.UpgradeQoS = true }},
	{"deliver-duplicate-qos2", "packet-ids", func(f *mqtt.Faults) { f.DeliverDuplicateQoS2 = true }},
	{"reuse-inflight-id", "packet-ids", func(f *mqtt.Faults) { f.ReuseInflightID = true }},
	{"drop-retained-on-replace", "retained", func(f *mqtt.Faults) { f.DropRetainedOnReplace = true }},
	{"retain-on-live", "retained", func(f *mqtt.Faults) { f.RetainOnLive = true }},
	{"suback-wrong-id", "subscribe", func(f *mqtt.Faults) { f.SubackWrongID = true }},
	{"wildcard-matches-sys", "topics", func(f *mqtt.Faults) { f.WildcardMatchesSys = true }},
	{"tolerate-malformed", "malformed", func(f *mqtt.Faults) { f.TolerateMalformed = true }},
	{"accept-any-password", "security", func(f *mqtt.Faults) { f.AcceptAnyPassword = true }},
}

// NewFaultyReference returns a reference target with the named fault.
func NewFaultyReference(name string) (*Reference, error) {
	for _, f := range Faults {
		if f.Name == name {
			apply := f.apply
			r := NewReference()
			r.Tune = func(o *mqtt.Options) { apply(&o.Faults) }
			return r, nil
		}
	}
	var names []string
	for _, f := range Faults {
		names = append(names, f.Name)
	}
	sort.Strings(names)
	return nil, fmt.Errorf("unknown fault %q; known: %v", name, names)
}
