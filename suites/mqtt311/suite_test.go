package mqtt311

import (
	"testing"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// TestMQTT311 runs the suite under go test or the ginkgo CLI; the target
// comes from WIRECHECK_TARGET (default: the in-process reference broker).
func TestMQTT311(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "MQTT 3.1.1 conformance")
}
