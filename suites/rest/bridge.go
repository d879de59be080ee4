package rest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"

	. "github.com/wirecheck/wirecheck/suites/conformance"
)

// The MQTT bridge: the server subscribes to sensors/+/value on a broker and
// stores each JSON reading, so the REST API serves what MQTT devices push.

// publisher connects an MQTT client to the broker the target bridges from,
// or skips the spec when the target names none.
func publisher() paho.Client {
	GinkgoHelper()
	if Info().MQTTURL == "" {
		Skip(fmt.Sprintf("REST target %s names no MQTT broker it bridges from (give mqtt_url in its profile)", Target().Name()))
	}
	opts := paho.NewClientOptions().AddBroker(Info().MQTTURL).SetClientID(Name("pub")).
		SetCleanSession(true).SetAutoReconnect(false).SetConnectTimeout(Long).SetConnectRetry(false)
	c := paho.NewClient(opts)
	tok := c.Connect()
	Expect(tok.WaitTimeout(Long)).To(BeTrue(), "connect to %s", Info().MQTTURL)
	Expect(tok.Error()).NotTo(HaveOccurred(), "connect to %s", Info().MQTTURL)
	DeferCleanup(func() { c.Disconnect(100) })
	return c
}

// publish sends payload at QoS 1 and waits for the broker's PUBACK.
func publish(c paho.Client, topic string, payload any) {
	GinkgoHelper()
	var b []byte
	switch p := payload.(type) {
	case string:
		b = []byte(p)
	default:
		var err error
		b, err = json.Marshal(p)
		Expect(err).NotTo(HaveOccurred())
	}
	tok := c.Publish(topic, 1, false, b)
	Expect(tok.WaitTimeout(Long)).To(BeTrue(), "PUBACK for %s", topic)
	Expect(tok.Error()).NotTo(HaveOccurred())
}

// history reads a sensor's readings, nil while the sensor does not exist.
func history(name string) []Reading {
	GinkgoHelper()
	r := Do(http.MethodGet, ReadingsPath(name, nil), Accept("application/json"))
	if r.Status == http.StatusNotFound {
		return nil
	}
	all, _ := AllReadings(ReadingsPath(name, nil))
	return all
}

// waitFor polls cond until it holds or d has passed, and says which.
func waitFor(d time.Duration, cond func() bool) bool {
	GinkgoHelper()
	deadline := time.Now().Add(d)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		<-tick.C
	}
	return true
}

func valueTopic(name string) string { return "sensors/" + name + "/value" }

var _ = Describe("MQTT bridge", Area("bridge"), func() {
	BeforeEach(requireTarget)

	RESTIt("store a seed-shaped JSON reading published to sensors/NAME/value", IDs("SEED-BRIDGE-1"), func() {
		c := publisher()
		name := NewSensor("bridged")
		// The seed's pub/sub example: {"Sensor": 1, "C_F": "C", "Value": 86, "Time": "22:31:11"}.
		start := time.Now()
		publish(c, valueTopic(name), map[string]any{"Sensor": 1, "C_F": "C", "Value": 86,
			"Time": time.Now().UTC().Format(time.TimeOnly)})
		Eventually(func() []float64 { return Values(history(name)) }).WithTimeout(Long).WithPolling(20*time.Millisecond).
			Should(Equal([]float64{86}), "the reading shows in GET %s", ReadingsPath(name, nil))
		RecordMeasured("bridge-latency", time.Since(start), "publish to visible in GET readings")
		rs := history(name)
		Expect(rs[0].Unit).To(Equal("C"), "the unit travels with the reading: %v", rs[0].Raw)
		Expect(ValueOf(name)).To(BeNumerically("==", 86), "the sensor's value is the latest reading")

		// With an RFC 3339 time, the reading keeps it.
		at := time.Now().Add(-time.Minute).UTC().Truncate(time.Millisecond)
		publish(c, valueTopic(name), map[string]any{"Sensor": 1, "C_F": "F", "Value": 72.5, "Time": at.Format(time.RFC3339Nano)})
		Eventually(func() []float64 { return Values(history(name)) }).WithTimeout(Long).WithPolling(20 * time.Millisecond).
			Should(ContainElement(72.5))
		for _, r := range history(name) {
			if r.Value == 72.5 {
				Expect(r.Time).To(BeTemporally("==", at), "the published time is kept")
				Expect(r.Unit).To(Equal("F"))
			}
		}

		// A sensor the API has never seen: the issue leaves open whether
		// its first reading creates it.
		fresh := Name("fresh")
		publish(c, valueTopic(fresh), `{"Value": 5}`)
		if waitFor(2*time.Second, func() bool { return len(history(fresh)) == 1 }) {
			Expect(Values(history(fresh))).To(Equal([]float64{5}))
			RecordOutcome("bridge-unknown-sensor", "created by its first reading")
		} else {
			RecordOutcome("bridge-unknown-sensor", "not created")
		}
	})

	RESTIt("drop a malformed MQTT payload and go on storing the readings that follow", IDs("SEED-BRIDGE-2"), func() {
		c := publisher()
		name := NewSensor("bridgebad")
		for _, bad := range []string{"not json", `{"Value": "abc"}`, `{"C_F": "C"}`, `{"Value": 1, "C_F": "K"}`,
			`[1, 2]`, ``, `{"Value": 1e999}`, `{"Value": 3, "Time": "yesterday"}`, "\xff\xfe"} {
			publish(c, valueTopic(name), bad)
		}
		publish(c, valueTopic(name), map[string]any{"Value": 42, "C_F": "C"})
		Eventually(func() []float64 { return Values(history(name)) }).WithTimeout(Long).WithPolling(20 * time.Millisecond).
			Should(ContainElement(42.0))
		Expect(Values(history(name))).To(Equal([]float64{42}), "only the good reading was stored")
	})
})
