package capture

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/wirecheck/wirecheck/reference/mqtt/listeners"
)

// inCI: tests that need root or tshark fail instead of skipping.
func inCI() bool { return os.Getenv("CI") == "true" }

func skipOrFail(t *testing.T, format string, args ...any) {
	t.Helper()
	if inCI() {
		t.Fatalf("CI=true: "+format, args...)
	}
	t.Skipf(format, args...)
}

// needCapture skips (fails in CI) unless the process may capture: root
// or CAP_NET_RAW, probed by opening a capture.
func needCapture(t *testing.T) {
	t.Helper()
	s, err := Start(Options{Ports: []uint16{9}})
	if errors.Is(err, ErrNoPrivilege) {
		skipOrFail(t, "capturing on lo needs root or CAP_NET_RAW (uid %d): %v", os.Geteuid(), err)
	}
	if err != nil {
		t.Fatal(err)
	}
	s.Stop()
}

// startCapture starts a session, skipping (failing in CI) without privilege.
func startCapture(t *testing.T, opts Options) *Session {
	t.Helper()
	needCapture(t)
	s, err := Start(opts)
	if errors.Is(err, ErrNoPrivilege) {
		skipOrFail(t, "%v", err)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Stop() })
	return s
}

// tlsPair is a self-signed server config and a client config trusting it.
func tlsPair(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	server, certPEM, err := listeners.SelfSigned()
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(certPEM) {
		t.Fatal("self-signed certificate not accepted")
	}
	return server, &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

// serve listens on network/host:0 (loopback only) and runs handle on each
// connection, over TLS when conf is set.
func serve(t *testing.T, network, host string, conf *tls.Config, handle func(net.Conn)) netip.AddrPort {
	t.Helper()
	ln, err := net.Listen(network, net.JoinHostPort(host, "0"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				// Closes the TCP connection, not the TLS one: no
				// close_notify from this server, as from many.
				defer c.Close()
				if conf != nil {
					c = tls.Server(c, conf)
				}
				handle(c)
			}()
		}
	}()
	return ln.Addr().(*net.TCPAddr).AddrPort()
}

func echo(c net.Conn) { io.Copy(c, c) }

// ping answers each MQTT PINGREQ (C0 00) with a PINGRESP (D0 00).
func ping(c net.Conn) {
	b := make([]byte, 2)
	for {
		if _, err := io.ReadFull(c, b); err != nil {
			return
		}
		if b[0] == 0xc0 && b[1] == 0 {
			if _, err := c.Write([]byte{0xd0, 0}); err != nil {
				return
			}
		}
	}
}

// dial connects to addr, over TLS with conf when it is set, and completes
// the handshake.
func dial(t *testing.T, addr netip.AddrPort, conf *tls.Config) net.Conn {
	t.Helper()
	c, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	if conf == nil {
		return c
	}
	tc := tls.Client(c, conf)
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	return tc
}

// echoSizes are the writes of the echo experiment: a PINGREQ-sized
// message, a typical one, and ones larger than one record and than one
// loopback segment.
var echoSizes = []int{2, 1000, 20000, 100000}

func echoAll(t *testing.T, c net.Conn) int {
	t.Helper()
	total := 0
	for i, n := range echoSizes {
		msg := bytes.Repeat([]byte{byte('a' + i)}, n)
		errc := make(chan error, 1)
		go func() { _, err := c.Write(msg); errc <- err }()
		got := make([]byte, n)
		if _, err := io.ReadFull(c, got); err != nil {
			t.Fatal(err)
		}
		if err := <-errc; err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, msg) {
			t.Fatalf("echo of %d bytes differs", n)
		}
		total += n
	}
	return total
}

type tsharkRow struct {
	time       time.Time
	frameLen   int
	tcpLen     int
	serverPort uint16
	direction  Direction
}

// tshark reads a pcapng file with tshark: one row per frame.
func tshark(t *testing.T, path string, serverPorts map[uint16]bool) []tsharkRow {
	t.Helper()
	bin, err := exec.LookPath("tshark")
	if err != nil {
		skipOrFail(t, "tshark not installed (Debian package tshark): cannot compare totals")
	}
	cmd := exec.Command(bin, "-r", path, "-T", "fields",
		"-e", "frame.len", "-e", "tcp.len", "-e", "tcp.srcport", "-e", "tcp.dstport", "-e", "frame.time_epoch")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("tshark: %v\n%s", err, stderr.String())
	}
	var rows []tsharkRow
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 5 {
			t.Fatalf("tshark line %q", sc.Text())
		}
		var r tsharkRow
		var n [4]int
		for i := range n {
			var err error
			if n[i], err = strconv.Atoi(f[i]); err != nil {
				t.Fatalf("tshark line %q", sc.Text())
			}
		}
		r.frameLen, r.tcpLen = n[0], n[1]
		r.time = parseEpoch(t, f[4])
		r.direction, r.serverPort = ToServer, uint16(n[3])
		if serverPorts[uint16(n[2])] {
			r.direction, r.serverPort = ToClient, uint16(n[2])
		}
		rows = append(rows, r)
	}
	return rows
}

// parseEpoch parses tshark's frame.time_epoch ("1700000000.123456789").
func parseEpoch(t *testing.T, s string) time.Time {
	t.Helper()
	sec, frac, _ := strings.Cut(s, ".")
	secs, err := strconv.ParseInt(sec, 10, 64)
	if err != nil {
		t.Fatalf("frame.time_epoch %q", s)
	}
	frac = (frac + "000000000")[:9]
	ns, err := strconv.ParseInt(frac, 10, 64)
	if err != nil {
		t.Fatalf("frame.time_epoch %q", s)
	}
	return time.Unix(secs, ns)
}

// TestTsharkAgrees runs a TCP echo over loopback (plain over IPv4 and
// IPv6, TLS 1.2 and TLS 1.3), writes pcapng and checks that tshark reads
// the same frames, sizes and timestamps, and the same totals per
// direction, as Analyze reports.
func TestTsharkAgrees(t *testing.T) {
	needCapture(t)
	srvConf, cliConf := tlsPair(t)
	plain := serve(t, "tcp4", "127.0.0.1", nil, echo)
	tls12 := serve(t, "tcp4", "127.0.0.1", srvConf, echo)
	tls13 := serve(t, "tcp4", "127.0.0.1", srvConf, echo)
	ports := []uint16{plain.Port(), tls12.Port(), tls13.Port()}
	var plain6 netip.AddrPort
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil {
		ln.Close()
		plain6 = serve(t, "tcp6", "::1", nil, echo)
		ports = append(ports, plain6.Port())
	}
	serverPorts := map[uint16]bool{}
	for _, p := range ports {
		serverPorts[p] = true
	}
	kind := func(s netip.AddrPort) (Kind, Proto) {
		if s.Port() == tls12.Port() || s.Port() == tls13.Port() {
			return TLS, HTTP
		}
		return Plain, HTTP
	}

	file := filepath.Join(t.TempDir(), "echo.pcapng")
	s := startCapture(t, Options{Ports: ports, Pcapng: file})
	if s.Mode() != "afpacket" {
		t.Fatalf("Mode() = %q", s.Mode())
	}
	sent := map[uint16]int{}
	run := func(addr netip.AddrPort, conf *tls.Config) {
		c := dial(t, addr, conf)
		sent[addr.Port()] = echoAll(t, c)
		c.Close()
	}
	run(plain, nil)
	c12 := cliConf.Clone()
	c12.MaxVersion = tls.VersionTLS12
	c12.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	run(tls12, c12)
	c13 := cliConf.Clone()
	c13.MinVersion = tls.VersionTLS13
	c13.KeyLogWriter = KeyLogWriter()
	run(tls13, c13)
	if plain6.IsValid() {
		run(plain6, nil)
	}
	start := time.Now()
	pkts, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 1500*time.Millisecond {
		t.Errorf("Stop took %v", d)
	}
	rows := tshark(t, file, serverPorts)

	// Frame by frame: same order, sizes, timestamps.
	if len(rows) != len(pkts) {
		t.Fatalf("tshark reads %d frames, the capture has %d", len(rows), len(pkts))
	}
	for i, r := range rows {
		p := pkts[i]
		if r.frameLen != p.WireLen || r.tcpLen != p.PayloadLen || r.direction != p.Dir || !r.time.Equal(p.Time) {
			t.Fatalf("frame %d: tshark %d/%d %s %s, capture %d/%d %s %s", i+1,
				r.frameLen, r.tcpLen, r.direction, r.time.Format(time.RFC3339Nano),
				p.WireLen, p.PayloadLen, p.Dir, p.Time.Format(time.RFC3339Nano))
		}
		if i > 0 && p.Time.Before(pkts[i-1].Time) {
			t.Fatalf("packet %d out of time order", i)
		}
	}
	if d := time.Since(pkts[0].Time); d < 0 || d > time.Minute {
		t.Errorf("first packet stamped %v, %v ago", pkts[0].Time, d)
	}

	// Totals per direction, overall and per server port.
	for _, port := range append([]uint16{0}, ports...) {
		var keep Filter
		name := "all"
		if port != 0 {
			keep, name = ServerPort(port), fmt.Sprintf("port %d", port)
		}
		acc := Analyze(pkts, kind, keep)
		var want [2]Layers
		for _, r := range rows {
			if port != 0 && r.serverPort != port {
				continue
			}
			want[r.direction].Frames++
			want[r.direction].WireBytes += r.frameLen
			want[r.direction].TCPPayloadBytes += r.tcpLen
		}
		for d := range 2 {
			got := acc.ByDir[d]
			t.Logf("%-10s %-9s tshark: %4d frames %8d frame.len %8d tcp.len | capture: %4d frames %8d wire %8d payload (TLS %d, app %d, records %d)",
				name, Direction(d), want[d].Frames, want[d].WireBytes, want[d].TCPPayloadBytes,
				got.Frames, got.WireBytes, got.TCPPayloadBytes, got.TLSOverhead, got.AppBytes, got.TLSRecords)
			if got.Frames != want[d].Frames || got.WireBytes != want[d].WireBytes || got.TCPPayloadBytes != want[d].TCPPayloadBytes {
				t.Errorf("%s %s: tshark %+v, capture %+v", name, Direction(d), want[d], got)
			}
		}
		if port == 0 {
			continue
		}
		// Every stream byte is either TLS overhead or application data
		// (retransmitted bytes are payload but not classified again), and
		// the application bytes are what the echo client sent.
		unique := streamLengths(pkts, port)
		for d := range 2 {
			got := acc.ByDir[d]
			if retrans := got.TCPPayloadBytes - unique[d]; retrans != 0 {
				t.Logf("%s %s: %d bytes retransmitted", name, Direction(d), retrans)
			}
			if got.TLSOverhead+got.AppBytes != unique[d] {
				t.Errorf("%s %s: TLS %d + app %d != stream %d (notes %q)", name, Direction(d),
					got.TLSOverhead, got.AppBytes, unique[d], acc.Notes)
			}
			if got.AppBytes != sent[port] {
				t.Errorf("%s %s: app bytes %d, the client sent %d (notes %q)", name, Direction(d), got.AppBytes, sent[port], acc.Notes)
			}
		}
		switch port {
		case tls12.Port():
			checkTLS(t, acc, "1.2", "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", "X25519", false)
		case tls13.Port():
			checkTLS(t, acc, "1.3", "TLS_AES_128_GCM_SHA256", "X25519MLKEM768", true)
		default:
			checkTLS(t, acc, "", "", "", false)
		}
	}
}

// streamLengths is, per direction, how many bytes the one connection to
// port carried, from its sequence numbers: SYN to the end of the last
// segment.
func streamLengths(pkts []Packet, port uint16) [2]int {
	var isn [2]uint32
	var end [2]int
	for _, p := range pkts {
		if p.Server.Port() != port {
			continue
		}
		if p.SYN {
			isn[p.Dir] = p.Seq
			continue
		}
		if p.PayloadLen > 0 {
			end[p.Dir] = max(end[p.Dir], int(p.Seq-isn[p.Dir]-1)+p.PayloadLen)
		}
	}
	return end
}

func checkTLS(t *testing.T, acc Account, version, suite, kex string, decrypted bool) {
	t.Helper()
	if acc.TLSVersion != version || acc.CipherSuite != suite || acc.KeyExchange != kex || acc.TLSDecrypted != decrypted {
		t.Errorf("TLS %q %q %q decrypted=%v, want %q %q %q %v", acc.TLSVersion, acc.CipherSuite, acc.KeyExchange,
			acc.TLSDecrypted, version, suite, kex, decrypted)
	}
	if version != "" && acc.HandshakeBytes == 0 {
		t.Errorf("TLS %s: no handshake bytes", version)
	}
}

// TestPingreqOverTLS: an MQTT PINGREQ (C0 00) is 2 bytes plain, a 31-byte
// record over TLS 1.2 AES-GCM (5 header + 8 nonce + 2 + 16 tag) and a
// 24-byte record over TLS 1.3 (5 + 2 + 1 content type + 16 tag).
func TestPingreqOverTLS(t *testing.T) {
	needCapture(t)
	srvConf, cliConf := tlsPair(t)
	for _, tc := range []struct {
		name     string
		version  uint16 // 0: plain
		keyLog   bool
		payload  int
		overhead int
		mqtt     bool // MQTT packets visible
	}{
		{name: "plain", payload: 2, mqtt: true},
		{name: "TLS 1.2 AES-GCM", version: tls.VersionTLS12, payload: 31, overhead: 29},
		{name: "TLS 1.2 AES-GCM with key log", version: tls.VersionTLS12, keyLog: true, payload: 31, overhead: 29, mqtt: true},
		{name: "TLS 1.3", version: tls.VersionTLS13, payload: 24, overhead: 22},
		{name: "TLS 1.3 with key log", version: tls.VersionTLS13, keyLog: true, payload: 24, overhead: 22, mqtt: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var sc, cc *tls.Config
			kind := Plain
			if tc.version != 0 {
				sc, cc, kind = srvConf, cliConf.Clone(), TLS
				cc.MinVersion, cc.MaxVersion = tc.version, tc.version
				if tc.version == tls.VersionTLS12 {
					cc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
				}
				if tc.keyLog {
					cc.KeyLogWriter = KeyLogWriter()
				}
			}
			addr := serve(t, "tcp4", "127.0.0.1", sc, ping)
			s := startCapture(t, Options{Ports: []uint16{addr.Port()}, Pcapng: filepath.Join(t.TempDir(), "ping.pcapng")})
			c := dial(t, addr, cc)
			t0 := time.Now()
			if _, err := c.Write([]byte{0xc0, 0x00}); err != nil {
				t.Fatal(err)
			}
			resp := make([]byte, 2)
			if _, err := io.ReadFull(c, resp); err != nil || resp[0] != 0xd0 {
				t.Fatalf("PINGRESP %x, %v", resp, err)
			}
			t1 := time.Now()
			c.Close()
			pkts, err := s.Stop()
			if err != nil {
				t.Fatal(err)
			}
			kinds := func(netip.AddrPort) (Kind, Proto) { return kind, MQTT }
			for _, d := range []Direction{ToServer, ToClient} {
				acc := Analyze(pkts, kinds, And(Between(t0, t1), Dir(d)))
				l := acc.Layers
				t.Logf("%s: %d frames, %d wire, %d TCP payload, %d TLS overhead in %d records, %d app, MQTT %v, notes %q",
					d, l.Frames, l.WireBytes, l.TCPPayloadBytes, l.TLSOverhead, l.TLSRecords, l.AppBytes, acc.MQTT, acc.Notes)
				wantRecords := 0
				if tc.version != 0 {
					wantRecords = 1
				}
				if l.TCPPayloadBytes != tc.payload || l.AppBytes != 2 || l.TLSOverhead != tc.overhead || l.TLSRecords != wantRecords {
					t.Errorf("%s: payload %d app %d overhead %d records %d, want %d 2 %d %d",
						d, l.TCPPayloadBytes, l.AppBytes, l.TLSOverhead, l.TLSRecords, tc.payload, tc.overhead, wantRecords)
				}
				if acc.ByDir[d] != l {
					t.Errorf("ByDir[%s] = %+v, total %+v", d, acc.ByDir[d], l)
				}
				want := "PINGREQ"
				if d == ToClient {
					want = "PINGRESP"
				}
				if tc.mqtt {
					if len(acc.MQTT) != 1 || acc.MQTT[want] != 1 || acc.MQTTByDir[d][want] != 1 {
						t.Errorf("%s: MQTT %v, want {%s:1}", d, acc.MQTT, want)
					}
				} else if len(acc.MQTT) != 0 {
					t.Errorf("%s: MQTT %v inside TLS without secrets", d, acc.MQTT)
				}
			}
		})
	}
}

// TestHeuristicMatchesDecryption: without secrets, the TLS 1.3 handshake
// and application bytes of a Go client and server are told apart exactly
// as with them (the same connection analysed both ways).
func TestHeuristicMatchesDecryption(t *testing.T) {
	needCapture(t)
	srvConf, cliConf := tlsPair(t)
	for _, group := range []tls.CurveID{0, tls.X25519} {
		t.Run(fmt.Sprint("group ", group), func(t *testing.T) {
			addr := serve(t, "tcp4", "127.0.0.1", srvConf, echo)
			s := startCapture(t, Options{Ports: []uint16{addr.Port()}})
			cc := cliConf.Clone()
			cc.MinVersion = tls.VersionTLS13
			if group != 0 {
				cc.CurvePreferences = []tls.CurveID{group}
			}
			cc.KeyLogWriter = KeyLogWriter()
			c := dial(t, addr, cc)
			sent := echoAll(t, c)
			c.Close()
			pkts, err := s.Stop()
			if err != nil {
				t.Fatal(err)
			}
			kind := func(netip.AddrPort) (Kind, Proto) { return TLS, HTTP }
			dec := analyze(pkts, kind, nil, true)
			heur := analyze(pkts, kind, nil, false)
			if !dec.TLSDecrypted || heur.TLSDecrypted {
				t.Fatalf("decrypted %v / %v", dec.TLSDecrypted, heur.TLSDecrypted)
			}
			for d := range 2 {
				t.Logf("%s: decrypted: %+v; heuristic: %+v", Direction(d), dec.ByDir[d], heur.ByDir[d])
				if dec.ByDir[d] != heur.ByDir[d] {
					t.Errorf("%s differs", Direction(d))
				}
				if dec.ByDir[d].AppBytes != sent {
					t.Errorf("%s: app bytes %d, sent %d", Direction(d), dec.ByDir[d].AppBytes, sent)
				}
			}
			t.Logf("handshake bytes: decrypted %d, heuristic %d", dec.HandshakeBytes, heur.HandshakeBytes)
			if dec.HandshakeBytes != heur.HandshakeBytes {
				t.Errorf("handshake bytes differ")
			}
			want := "X25519MLKEM768"
			if group != 0 {
				want = "X25519"
			}
			if dec.KeyExchange != want || heur.KeyExchange != want {
				t.Errorf("key exchange %q / %q, want %q", dec.KeyExchange, heur.KeyExchange, want)
			}
		})
	}
}

func TestStartErrors(t *testing.T) {
	if _, err := Start(Options{}); err == nil {
		t.Error("Start without ports succeeded")
	}
	needCapture(t)
	if _, err := Start(Options{Interface: "no-such-interface0", Ports: []uint16{1}}); err == nil {
		t.Error("Start on a missing interface succeeded")
	}
	if _, err := Start(Options{Ports: []uint16{1}, Pcapng: filepath.Join(t.TempDir(), "missing", "x.pcapng")}); err == nil {
		t.Error("Start with an unwritable pcapng path succeeded")
	}
}

// TestNoPrivilege runs Start as an unprivileged user in a child process:
// the error must wrap ErrNoPrivilege.
func TestNoPrivilege(t *testing.T) {
	if os.Getenv("WIRECHECK_CAPTURE_CHILD") == "1" {
		_, err := Start(Options{Ports: []uint16{1}})
		if !errors.Is(err, ErrNoPrivilege) {
			fmt.Printf("Start as uid %d: %v\n", os.Geteuid(), err)
			os.Exit(3)
		}
		os.Exit(0)
	}
	if os.Geteuid() != 0 {
		_, err := Start(Options{Ports: []uint16{1}})
		if !errors.Is(err, ErrNoPrivilege) {
			t.Fatalf("Start unprivileged: %v", err)
		}
		return
	}
	// The go tool's build directory is private to root: run a copy.
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir, err := os.MkdirTemp("", "capture-noprivilege")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	bin, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	child := filepath.Join(dir, "capture.test")
	if err := os.WriteFile(child, bin, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(child, "-test.run=^TestNoPrivilege$")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "WIRECHECK_CAPTURE_CHILD=1")
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) && ee.ExitCode() == 3 {
		t.Fatalf("unprivileged child: %s", out)
	}
	if err != nil {
		t.Skipf("cannot run the test binary as nobody (%v): %s", err, out)
	}
}

// TestSocketFallback counts at the socket: the PINGREQ over TLS 1.2 is
// still a 31-byte record and 2 application bytes, labelled payload-only.
func TestSocketFallback(t *testing.T) {
	srvConf, cliConf := tlsPair(t)
	addr := serve(t, "tcp4", "127.0.0.1", srvConf, ping)
	s := NewSocketSession()
	if s.Mode() != "socket" || !s.PayloadOnly() {
		t.Fatalf("Mode %q PayloadOnly %v", s.Mode(), s.PayloadOnly())
	}
	raw, err := net.Dial("tcp", addr.String())
	if err != nil {
		t.Fatal(err)
	}
	cc := cliConf.Clone()
	cc.MaxVersion = tls.VersionTLS12
	cc.CipherSuites = []uint16{tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	cc.KeyLogWriter = KeyLogWriter()
	c := tls.Client(s.Wrap(raw, addr, ToServer), cc)
	if err := c.Handshake(); err != nil {
		t.Fatal(err)
	}
	t0 := time.Now()
	c.Write([]byte{0xc0, 0})
	resp := make([]byte, 2)
	if _, err := io.ReadFull(c, resp); err != nil {
		t.Fatal(err)
	}
	t1 := time.Now()
	c.Close()
	pkts, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	kind := func(netip.AddrPort) (Kind, Proto) { return TLS, MQTT }
	acc := Analyze(pkts, kind, And(Between(t0, t1), Dir(ToServer)))
	if !acc.PayloadOnly || acc.WireBytes != 0 || acc.TCPPayloadBytes != 31 || acc.AppBytes != 2 || acc.MQTT["PINGREQ"] != 1 {
		t.Errorf("socket mode PINGREQ: %+v", acc)
	}
	all := Analyze(pkts, kind, nil)
	if all.TLSVersion != "1.2" || all.KeyExchange != "X25519" || all.HandshakeBytes == 0 {
		t.Errorf("socket mode handshake: %+v", all)
	}
	for _, p := range pkts {
		if p.Server != addr || !p.Client.Addr().IsLoopback() || p.WireLen != 0 {
			t.Fatalf("socket packet %+v", p)
		}
	}
}

// TestDrain: Stop returns promptly and has every frame, the connection's
// last ACK included.
func TestDrain(t *testing.T) {
	addr := serve(t, "tcp4", "127.0.0.1", nil, echo)
	s := startCapture(t, Options{Ports: []uint16{addr.Port()}})
	for range 20 {
		c := dial(t, addr, nil)
		echoAll(t, c)
		c.Close()
	}
	time.Sleep(10 * time.Millisecond)
	start := time.Now()
	pkts, err := s.Stop()
	if err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d > 1100*time.Millisecond {
		t.Errorf("Stop took %v", d)
	}
	acc := Analyze(pkts, nil, nil)
	if acc.Connections != 20 {
		t.Errorf("%d connections, want 20", acc.Connections)
	}
	var syn, fin int
	for _, p := range pkts {
		if p.SYN && !p.ACK {
			syn++
		}
		if p.FIN {
			fin++
		}
	}
	if syn != 20 || fin != 40 {
		t.Errorf("%d SYN and %d FIN, want 20 and 40", syn, fin)
	}
	if again, err2 := s.Stop(); len(again) != len(pkts) || err2 != nil {
		t.Errorf("second Stop: %d packets, %v", len(again), err2)
	}
}
