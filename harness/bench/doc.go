// Package bench is the engine of `wirecheck bench`: it measures MQTT
// brokers' throughput, latency, loss and cost side by side.
//
// Run (run.go) expands a Config into cases (Cases, matrix.go), starts each
// target fresh for every scenario (broker*.go), and runs the rounds of each
// case against the targets in turn (A B A B), so a change in the machine's
// load hits all of them alike; aggregate.go folds the rounds into a Result.
//
// The load generator is its own MQTT 3.1.1 client (client.go, pktreader.go)
// built on the project's codec. In p2p, fanout and fanin
// (scenario_pubsub.go) publishers (publisher.go, publisher_window.go) put
// a sequence number, the send time and their index in every payload
// (payload.go); subscribers (subscriber.go) count loss, duplicates and
// reordering from it (track.go) and record latency into HDR histograms
// (stats.go). conn and reconnect have files of their own (scenario_*.go).
//
// Closed loop bounds the messages in flight and measures the rate a broker
// sustains; open loop offers a fixed rate, by default half the slowest
// target's closed-loop rate, and times each message from its scheduled
// send time, so a stalled broker cannot hide its stall (no coordinated
// omission). Broker CPU and memory come from /proc for brokers run as child
// processes (proc.go, meter.go); the load generator's own ceiling is
// measured first against an in-process null relay (nullrelay.go).
package bench
