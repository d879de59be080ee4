package listeners

import (
	"crypto/tls"
	"strings"
	"testing"
)

func TestParseSpec(t *testing.T) {
	tests := []struct {
		in   string
		want Spec
	}{
		// Bare addresses are tcp.
		{"127.0.0.1:1883", Spec{Scheme: "tcp", Addr: "127.0.0.1:1883"}},
		{"127.0.0.1", Spec{Scheme: "tcp", Addr: "127.0.0.1:1883"}},
		{"localhost:0", Spec{Scheme: "tcp", Addr: "localhost:0"}},
		{":1884", Spec{Scheme: "tcp", Addr: ":1884"}},
		{"1884", Spec{Scheme: "tcp", Addr: ":1884"}},
		{"  127.0.0.1:1883 ", Spec{Scheme: "tcp", Addr: "127.0.0.1:1883"}},
		{"127.0.0.1:01883", Spec{Scheme: "tcp", Addr: "127.0.0.1:1883"}},
		{"[::1]:1883", Spec{Scheme: "tcp", Addr: "[::1]:1883"}},
		{"[::1]", Spec{Scheme: "tcp", Addr: "[::1]:1883"}},
		{"[fe80::1%lo]:1883", Spec{Scheme: "tcp", Addr: "[fe80::1%lo]:1883"}},
		// tcp and its alias.
		{"tcp://127.0.0.1:65535", Spec{Scheme: "tcp", Addr: "127.0.0.1:65535"}},
		{"tcp://127.0.0.1", Spec{Scheme: "tcp", Addr: "127.0.0.1:1883"}},
		{"TCP://127.0.0.1", Spec{Scheme: "tcp", Addr: "127.0.0.1:1883"}},
		{"mqtt://127.0.0.1", Spec{Scheme: "tcp", Addr: "127.0.0.1:1883"}},
		{"tcp://:0", Spec{Scheme: "tcp", Addr: ":0"}},
		{"tcp://[::1]", Spec{Scheme: "tcp", Addr: "[::1]:1883"}},
		// tls and its aliases.
		{"tls://127.0.0.1:8884", Spec{Scheme: "tls", Addr: "127.0.0.1:8884"}},
		{"tls://127.0.0.1", Spec{Scheme: "tls", Addr: "127.0.0.1:8883"}},
		{"ssl://127.0.0.1", Spec{Scheme: "tls", Addr: "127.0.0.1:8883"}},
		{"mqtts://[::1]", Spec{Scheme: "tls", Addr: "[::1]:8883"}},
		// ws and wss, with and without a path.
		{"ws://127.0.0.1", Spec{Scheme: "ws", Addr: "127.0.0.1:8080"}},
		{"ws://127.0.0.1:9001/mqtt", Spec{Scheme: "ws", Addr: "127.0.0.1:9001", Path: "/mqtt"}},
		{"ws://127.0.0.1/", Spec{Scheme: "ws", Addr: "127.0.0.1:8080", Path: "/"}},
		{"ws://localhost/a/b", Spec{Scheme: "ws", Addr: "localhost:8080", Path: "/a/b"}},
		{"wss://127.0.0.1", Spec{Scheme: "wss", Addr: "127.0.0.1:8081"}},
		{"wss://[::1]/mqtt", Spec{Scheme: "wss", Addr: "[::1]:8081", Path: "/mqtt"}},
		{"wss://[::1]:0/mqtt", Spec{Scheme: "wss", Addr: "[::1]:0", Path: "/mqtt"}},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			if err != nil {
				t.Fatalf("ParseSpec(%q): %v", tt.in, err)
			}
			if got != tt.want {
				t.Fatalf("ParseSpec(%q) = %+v, want %+v", tt.in, got, tt.want)
			}
			// String is canonical: it parses back to the same Spec.
			again, err := ParseSpec(got.String())
			if err != nil || again != got {
				t.Fatalf("ParseSpec(%q) = %+v, %v; want %+v", got.String(), again, err, got)
			}
		})
	}
}

func TestParseSpecErrors(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string // a fragment of the message, besides the value and the accepted forms
	}{
		{"", "empty value"},
		{"   ", "empty value"},
		{"http://127.0.0.1:1883", `unknown scheme "http"`},
		{"udp://127.0.0.1:1883", `unknown scheme "udp"`},
		{"quic://127.0.0.1", `unknown scheme "quic"`},
		{"://127.0.0.1", `unknown scheme ""`},
		{"tcp://", "missing address"},
		{"ws:///mqtt", "missing address"},
		{"127.0.0.1:", "empty port"},
		{"127.0.0.1:65536", "out of range"},
		{"127.0.0.1:99999", "out of range"},
		{"127.0.0.1:-1", "bad port"},
		{"127.0.0.1:abc", "bad port"},
		{"127.0.0.1:mqtt", "bad port"},
		{"tcp://127.0.0.1:1883x", "bad port"},
		{"ws://127.0.0.1:8080mqtt", "bad port"},
		{"[::1]:", "empty port"},
		{"[::1]:99999", "out of range"},
		{"::1", "brackets"},
		{"::1:1883", "brackets"},
		{"[::1", "missing ']'"},
		{"[::1]1883", "unexpected"},
		{"[127.0.0.1]:1883", "not an IPv6"},
		{"bad host:1883", "bad host"},
		{"tcp://127.0.0.1:1883/mqtt", "only makes sense for ws"},
		{"tls://127.0.0.1/", "only makes sense for ws"},
		{"ws://127.0.0.1/mqtt?x=1", "no query"},
		{"ws://127.0.0.1/mqtt#frag", "no query"},
		{"ws://127.0.0.1/a b", "no query"},
		{"ws://user@127.0.0.1", "user information"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseSpec(tt.in)
			if err == nil {
				t.Fatalf("ParseSpec(%q) = %+v, want an error", tt.in, got)
			}
			msg := err.Error()
			for _, frag := range []string{tt.wantErr, `"` + tt.in + `"`, "accepted forms", "wss://HOST"} {
				if !strings.Contains(msg, frag) {
					t.Errorf("error %q lacks %q", msg, frag)
				}
			}
		})
	}
}

func TestListenRejects(t *testing.T) {
	tests := []struct {
		name    string
		spec    Spec
		tlsConf bool
		wantErr string
	}{
		{"unknown scheme", Spec{Scheme: "ssl", Addr: "127.0.0.1:0"}, false, "unknown scheme"},
		{"tls without config", Spec{Scheme: "tls", Addr: "127.0.0.1:0"}, false, "TLS config is required"},
		{"wss without config", Spec{Scheme: "wss", Addr: "127.0.0.1:0"}, false, "TLS config is required"},
		{"tls config without cert", Spec{Scheme: "tls", Addr: "127.0.0.1:0"}, true, "no certificate"},
		{"bad address", Spec{Scheme: "tcp", Addr: "127.0.0.1"}, false, "missing port"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var conf *tls.Config
			if tt.tlsConf {
				conf = &tls.Config{}
			}
			ln, err := Listen(tt.spec, conf)
			if err == nil {
				ln.Close()
				t.Fatalf("Listen(%+v) succeeded, want error containing %q", tt.spec, tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Listen(%+v) = %v, want error containing %q", tt.spec, err, tt.wantErr)
			}
		})
	}
}
