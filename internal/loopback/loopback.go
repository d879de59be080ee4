// Package loopback finds free ports on 127.0.0.1 for the servers the
// harness starts (brokers, PostgreSQL); network tests stay on loopback.
package loopback

import "net"

// FreePort asks the kernel for a free loopback TCP port. Another process
// could take it before the caller binds it, so callers that can retry do.
func FreePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}
