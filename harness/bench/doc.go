// Package bench is the engine of `wirecheck bench`: it measures MQTT
// brokers' throughput, latency, loss and cost side by side.
//
// Run expands a Config into cases (Cases), starts each target fresh for
// every scenario, and runs the rounds of each case against the targets in
// turn (A B A B), so a change in the machine's load hits all of them alike.
// The load generator is its own MQTT 3.1.1 client (client.go) built on the
// project's codec: every payload starts with a sequence number, the send
// time and the publisher's index (payload.go), from which each subscriber
// counts loss, duplicates and reordering (track.go) and records latency
// into HDR histograms (stats.go).
//
// Closed loop bounds the messages in flight and measures the rate a broker
// sustains; open loop offers a fixed rate, by default half the slowest
// target's closed-loop rate, and times each message from its scheduled
// send time, so a stalled broker cannot hide its stall (no coordinated
// omission). Broker CPU and memory come from /proc for brokers run as child
// processes (proc.go); the load generator's own ceiling is measured first
// against an in-process null relay (nullrelay.go).
package bench
