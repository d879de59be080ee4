package main

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/spf13/cobra"
)

func newRootCmd() *cobra.Command {
	root := &cobra.Command{
		Use:   "wirecheck",
		Short: "MQTT and REST conformance, overhead and energy harness",
		Long: `wirecheck checks whether an MQTT broker or a REST server does what the
standards say, and measures what a protocol costs on the wire, in battery
and in broker performance.

  wirecheck test       run the MQTT 3.1.1 and REST conformance suites (reports per statement)
  wirecheck broker     the reference MQTT 3.1.1 broker
  wirecheck rest       the reference REST server (sensors, readings, tasks)
  wirecheck overhead   MQTT vs HTTPS bytes on the wire, captured on loopback
  wirecheck energy     MQTT vs HTTPS battery cost, the published tables reproduced
  wirecheck bench      broker performance side by side: throughput, latency, loss, CPU, memory`,
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.AddCommand(newBrokerCmd())
	root.AddCommand(newTestCmd())
	root.AddCommand(newRestCmd())
	root.AddCommand(newOverheadCmd())
	root.AddCommand(newEnergyCmd())
	root.AddCommand(newBenchCmd())
	return root
}

// usageError marks a bad flag or argument: exit code 2, like flag parsing.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

func exitCode(err error) int {
	var u usageError
	if errors.As(err, &u) || strings.Contains(err.Error(), "unknown flag") ||
		strings.Contains(err.Error(), "invalid argument") || strings.Contains(err.Error(), "unknown command") {
		return 2
	}
	return 1
}

// newLogger builds the structured logger from --log-level and --log-format.
func newLogger(level, format string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, usagef("--log-level %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: l}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(os.Stderr, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(os.Stderr, opts)), nil
	}
	return nil, usagef("--log-format %q: want text or json", format)
}
