// Command wirecheck is the MQTT/REST conformance and performance harness.
// Run `wirecheck --help` for the subcommands.
package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=…".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "wirecheck:", err)
		os.Exit(exitCode(err))
	}
}
