package rest

import (
	"testing"
	"time"

	. "github.com/onsi/ginkgo/v2"
	. "github.com/onsi/gomega"
)

// TestREST runs the suite under go test or the ginkgo CLI; the target comes
// from WIRECHECK_REST_TARGET (default: the reference server on SQLite, in
// process), WIRECHECK_REST_PROFILE and WIRECHECK_REST_TOKEN.
func TestREST(t *testing.T) {
	RegisterFailHandler(Fail)
	RunSpecs(t, "REST conformance")
}

var _ = BeforeSuite(func(ctx SpecContext) {
	Expect(Setup(ctx)).To(Succeed())
	i := Info()
	GinkgoWriter.Printf("REST target %s (%s, store %q) at %s; MQTT %q\n", Target().Name(), i.Version, i.Store, i.BaseURL, i.MQTTURL)
}, NodeTimeout(3*time.Minute))

var _ = AfterSuite(func(ctx SpecContext) {
	Expect(Teardown(ctx)).To(Succeed())
}, NodeTimeout(time.Minute))
