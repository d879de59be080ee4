// Package capture records loopback traffic of one experiment with gopacket
// (AF_PACKET, pure Go) and accounts for it per flow and direction: frames,
// bytes at each layer, TLS records and their overhead and, on plain
// streams, MQTT control packets after TCP reassembly. Every experiment is
// also written as pcapng. Without capture privileges it falls back to
// counting at the socket (payload bytes only), and says so.
//
// A capture is one Session: Start opens an AF_PACKET socket on the
// loopback interface with a kernel BPF filter for the experiment's server
// ports (and a userspace check of the same ports), Stop drains what the
// kernel queued and returns the packets in time order. Analyze turns
// packets into an Account for any subset of them (a time window, a
// direction, a server port).
//
// TLS 1.3 hides its handshake in application_data records. Analyze tells
// the two apart exactly when it knows the session's secrets: set
// KeyLogWriter() as the tls.Config.KeyLogWriter of the experiment's client
// or server. Without secrets it uses a documented heuristic (see Analyze).
package capture

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/gopacket/gopacket"
	"github.com/gopacket/gopacket/afpacket"
	"github.com/gopacket/gopacket/layers"
	"github.com/gopacket/gopacket/pcapgo"
	"golang.org/x/net/bpf"
)

// ErrNoPrivilege means the process cannot open an AF_PACKET socket (not
// root, no CAP_NET_RAW): use the socket-counting fallback.
var ErrNoPrivilege = errors.New("capture: no privilege to capture packets (need root or CAP_NET_RAW)")

// ErrDropped is returned (wrapped, together with the packets) by Stop when
// the kernel dropped frames that matched the filter: the byte totals of
// that session are incomplete.
var ErrDropped = errors.New("capture: the kernel dropped frames")

// Direction is relative to the server port of a flow.
type Direction int

const (
	ToServer Direction = iota // client → server
	ToClient                  // server → client
)

func (d Direction) String() string {
	switch d {
	case ToServer:
		return "to-server"
	case ToClient:
		return "to-client"
	}
	return fmt.Sprintf("Direction(%d)", int(d))
}

// Packet is one captured frame, decoded down to TCP. In socket mode (see
// NewSocketSession) it is one Read or Write: WireLen, IPHeader and
// TCPHeader are 0 and Seq counts payload bytes from 0.
type Packet struct {
	Time          time.Time
	Client        netip.AddrPort // the side whose port is not a server port
	Server        netip.AddrPort
	Dir           Direction
	WireLen       int    // link-layer frame length (loopback: 14-byte Ethernet header + IP packet); tshark's frame.len
	IPHeader      int    // IP header bytes
	TCPHeader     int    // TCP header bytes, options included
	PayloadLen    int    // TCP payload bytes as the IP header declares them; tshark's tcp.len
	Payload       []byte // TCP payload (a copy); shorter than PayloadLen only if the snap length cut the frame
	Seq, Ack      uint32 // TCP sequence and acknowledgement numbers
	SYN, FIN, RST bool
	ACK           bool

	frame []byte // the captured frame (capture mode), written to pcapng
}

// Layers sums bytes at each layer for a set of packets.
type Layers struct {
	Frames          int `json:"frames"`
	WireBytes       int `json:"wire_bytes"`       // link layer, everything on the wire
	IPHeaderBytes   int `json:"ip_header_bytes"`  // IP headers only
	TCPHeaderBytes  int `json:"tcp_header_bytes"` // TCP headers only
	TCPPayloadBytes int `json:"tcp_payload_bytes"`
	TLSRecords      int `json:"tls_records"`        // 0 on plain streams
	TLSOverhead     int `json:"tls_overhead_bytes"` // record headers, nonces, tags, handshake
	AppBytes        int `json:"app_bytes"`          // application bytes: MQTT packets or HTTP messages
}

func (l *Layers) add(o Layers) {
	l.Frames += o.Frames
	l.WireBytes += o.WireBytes
	l.IPHeaderBytes += o.IPHeaderBytes
	l.TCPHeaderBytes += o.TCPHeaderBytes
	l.TCPPayloadBytes += o.TCPPayloadBytes
	l.TLSRecords += o.TLSRecords
	l.TLSOverhead += o.TLSOverhead
	l.AppBytes += o.AppBytes
}

// Options configure a capture Session.
type Options struct {
	Interface string   // default "lo"
	Ports     []uint16 // server ports of the experiment; frames not to/from these are ignored (not accounted, not written)
	Pcapng    string   // path of a pcapng file to write ("" = none); flushed and closed by Stop
	SnapLen   int      // default 65536+14 (loopback MTU is 65536)
}

// DefaultSnapLen holds a full loopback frame: the 65536-byte MTU plus the
// 14-byte Ethernet header.
const DefaultSnapLen = 65536 + 14

const (
	modeAFPacket = "afpacket"
	modeSocket   = "socket"

	// Ring: 32 blocks of 1 MiB. TPACKET_V3 packs frames of any size into a
	// block, so a 64 KiB loopback frame fits and small frames waste nothing.
	ringBlockSize = 1 << 20
	ringBlocks    = 32
	// A block is handed to userspace when full or after this long.
	ringBlockTimeout = 5 * time.Millisecond
	readPollTimeout  = 10 * time.Millisecond

	drainQuiet = 50 * time.Millisecond
	drainMax   = time.Second
)

// Session is one capture (or, in socket mode, one set of wrapped
// connections). It is safe for concurrent use.
type Session struct {
	mode    string
	opts    Options
	ports   map[uint16]bool
	tp      *afpacket.TPacket
	file    *os.File // pcapng, opened by Start, written by Stop
	since   time.Time
	done    chan struct{}
	stopReq atomic.Bool

	nread     atomic.Int64 // frames taken from the ring, matching or not
	lastFrame atomic.Int64 // wall clock (UnixNano) of the last frame taken

	stopMu sync.Mutex // held by Stop: a second caller waits for the first

	mu      sync.Mutex
	pkts    []Packet
	readErr error
	stopped bool
	result  []Packet
	stopErr error
	drops   uint
	filter  string
}

// Start opens an AF_PACKET socket on opts.Interface (default "lo"), with
// a kernel filter for TCP to or from opts.Ports, and captures until Stop.
// The socket is capturing when Start returns. Without the privilege to
// open it, the error wraps ErrNoPrivilege.
func Start(opts Options) (*Session, error) {
	if opts.Interface == "" {
		opts.Interface = "lo"
	}
	if opts.SnapLen <= 0 {
		opts.SnapLen = DefaultSnapLen
	}
	if opts.SnapLen > ringBlockSize/2 {
		opts.SnapLen = ringBlockSize / 2
	}
	if len(opts.Ports) == 0 {
		return nil, errors.New("capture: Options.Ports is empty: name the experiment's server ports")
	}
	s := &Session{
		mode:  modeAFPacket,
		opts:  opts,
		ports: map[uint16]bool{},
		done:  make(chan struct{}),
	}
	for _, p := range opts.Ports {
		s.ports[p] = true
	}
	s.filter = filterString(opts.Ports)

	prog, err := portFilter(opts.Ports, opts.SnapLen)
	if err != nil {
		// Too many ports for the jump offsets of one classic BPF program:
		// the kernel keeps all TCP, the port check is done here only.
		if prog, err = portFilter(nil, opts.SnapLen); err != nil {
			return nil, fmt.Errorf("capture: BPF filter: %w", err)
		}
	}
	tp, err := afpacket.NewTPacket(
		afpacket.OptInterface(opts.Interface),
		afpacket.TPacketVersion3,
		afpacket.OptFrameSize(1<<16),
		afpacket.OptBlockSize(ringBlockSize),
		afpacket.OptNumBlocks(ringBlocks),
		afpacket.OptBlockTimeout(ringBlockTimeout),
		afpacket.OptPollTimeout(readPollTimeout),
	)
	if err != nil {
		if errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) {
			return nil, fmt.Errorf("%w: %v", ErrNoPrivilege, err)
		}
		return nil, fmt.Errorf("capture: open AF_PACKET socket on %s: %w", opts.Interface, err)
	}
	if err := tp.SetBPF(prog); err != nil {
		tp.Close()
		return nil, fmt.Errorf("capture: attach BPF filter: %w", err)
	}
	// Frames the socket took between bind and the filter are not ours
	// (and may be loopback duplicates): drop anything stamped before now.
	s.since = time.Now()
	s.tp = tp

	if opts.Pcapng != "" {
		f, err := os.Create(opts.Pcapng)
		if err != nil {
			tp.Close()
			return nil, fmt.Errorf("capture: %w", err)
		}
		s.file = f
	}
	go s.read()
	return s, nil
}

// Mode is "afpacket" for a kernel capture, "socket" for the payload-only
// fallback.
func (s *Session) Mode() string { return s.mode }

// PayloadOnly reports whether figures of this session count TCP payload
// only (socket mode): every output must label them "payload-only".
func (s *Session) PayloadOnly() bool { return s.mode == modeSocket }

// Drops is the number of frames the kernel dropped (known after Stop).
func (s *Session) Drops() uint {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.drops
}

// Filter describes, in capture-filter (libpcap) syntax, what the session
// captured ("" in socket mode); the pcapng interface block records it.
func (s *Session) Filter() string { return s.filter }

func (s *Session) read() {
	defer close(s.done)
	var dec frameDecoder
	for !s.stopReq.Load() {
		data, ci, err := s.tp.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, afpacket.ErrTimeout) {
				continue
			}
			s.mu.Lock()
			s.readErr = err
			s.mu.Unlock()
			return
		}
		s.nread.Add(1)
		s.lastFrame.Store(time.Now().UnixNano())
		if ci.Timestamp.Before(s.since) {
			continue
		}
		p, ok := dec.decode(data, ci.Length, s.ports)
		if !ok {
			continue
		}
		p.Time = ci.Timestamp
		p.frame = slices.Clone(data)
		off := ethHeaderLen + p.IPHeader + p.TCPHeader
		end := off + len(p.Payload)
		p.Payload = p.frame[off:end:end]
		s.mu.Lock()
		s.pkts = append(s.pkts, p)
		s.mu.Unlock()
	}
}

// Stop drains what the kernel queued (until no frame came for ~50 ms and
// every frame the kernel accepted has been read, at most 1 s), closes the
// socket, writes and closes the pcapng file and returns the packets in
// time order. If the kernel dropped frames, the packets come back with an
// error wrapping ErrDropped. Calling Stop again returns the same result.
func (s *Session) Stop() ([]Packet, error) {
	if s.mode == modeSocket {
		return s.stopSocket()
	}
	s.stopMu.Lock()
	defer s.stopMu.Unlock()
	s.mu.Lock()
	if s.stopped {
		defer s.mu.Unlock()
		return s.result, s.stopErr
	}
	s.stopped = true
	s.mu.Unlock()

	var accepted, drops uint
	stats := func() {
		_, v3, err := s.tp.SocketStats()
		if err == nil {
			// tp_packets counts drops too.
			accepted, drops = v3.Packets()-v3.Drops(), v3.Drops()
		}
	}
	// Done when every frame the kernel accepted has been read, none came
	// for drainQuiet and Stop waited at least a little for frames still
	// in flight; or after drainMax.
	start := time.Now()
drain:
	for time.Since(start) < drainMax {
		stats()
		quiet := time.Since(time.Unix(0, s.lastFrame.Load())) >= drainQuiet
		if quiet && time.Since(start) >= drainQuiet/5 && uint(s.nread.Load()) >= accepted {
			break
		}
		select {
		case <-s.done: // the reader failed
			break drain
		case <-time.After(5 * time.Millisecond):
		}
	}
	s.stopReq.Store(true)
	<-s.done
	stats()
	s.tp.Close()

	s.mu.Lock()
	defer s.mu.Unlock()
	pkts := s.pkts
	s.pkts = nil
	slices.SortStableFunc(pkts, func(a, b Packet) int { return a.Time.Compare(b.Time) })
	s.drops = drops
	var errs []error
	if s.readErr != nil {
		errs = append(errs, fmt.Errorf("capture: reading frames: %w", s.readErr))
	}
	if drops > 0 {
		errs = append(errs, fmt.Errorf("%w: %d frames", ErrDropped, drops))
	}
	if s.file != nil {
		if err := writePcapng(s.file, s.opts, s.filter, pkts); err != nil {
			errs = append(errs, err)
		}
	}
	s.result, s.stopErr = pkts, errors.Join(errs...)
	return s.result, s.stopErr
}

func writePcapng(f *os.File, opts Options, filter string, pkts []Packet) error {
	w, err := pcapgo.NewNgWriterInterface(f, pcapgo.NgInterface{
		Name:                opts.Interface,
		Filter:              filter,
		OS:                  runtime.GOOS,
		LinkType:            layers.LinkTypeEthernet,
		SnapLength:          uint32(opts.SnapLen),
		TimestampResolution: 9, // nanoseconds
	}, pcapgo.NgWriterOptions{SectionInfo: pcapgo.NgSectionInfo{
		Hardware:    runtime.GOARCH,
		OS:          runtime.GOOS,
		Application: "wirecheck (harness/capture)",
	}})
	if err == nil {
		// TLS secrets the experiment logged (KeyLogWriter), so Wireshark
		// decrypts the TLS streams of this file by itself.
		if secrets := keyLogFor(clientRandoms(pkts)); len(secrets) > 0 {
			err = w.WriteDecryptionSecretsBlock(pcapgo.DSB_SECRETS_TYPE_TLS, secrets)
		}
	}
	for i := 0; err == nil && i < len(pkts); i++ {
		p := &pkts[i]
		err = w.WritePacket(gopacket.CaptureInfo{
			Timestamp:     p.Time,
			CaptureLength: len(p.frame),
			Length:        p.WireLen,
		}, p.frame)
	}
	if err == nil {
		err = w.Flush()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("capture: writing %s: %w", opts.Pcapng, err)
	}
	return nil
}

// filterString is the capture filter in tshark syntax, recorded in the
// pcapng interface block.
func filterString(ports []uint16) string {
	var parts []string
	for _, p := range ports {
		parts = append(parts, fmt.Sprintf("tcp port %d", p))
	}
	return strings.Join(parts, " or ")
}

// portFilter is the kernel filter: drop the loopback's outgoing copy of
// every frame (AF_PACKET sees each loopback frame twice, as libpcap knows),
// keep IPv4/IPv6 TCP whose source or destination port is one of ports (all
// TCP if ports is empty), cut at snapLen.
func portFilter(ports []uint16, snapLen int) ([]bpf.RawInstruction, error) {
	const (
		packetOutgoing = 4 // PACKET_OUTGOING
		ethIPv4        = 0x0800
		ethIPv6        = 0x86dd
		protoTCP       = 6
	)
	var a asm
	a.add(bpf.LoadExtension{Num: bpf.ExtType})
	a.jeq(packetOutgoing, "drop", "")
	a.add(bpf.LoadAbsolute{Off: 12, Size: 2})
	a.jeq(ethIPv4, "", "notv4")
	a.add(bpf.LoadAbsolute{Off: 23, Size: 1})
	a.jeq(protoTCP, "", "drop")
	a.add(bpf.LoadAbsolute{Off: 20, Size: 2}) // flags + fragment offset
	a.jset(0x1fff, "drop", "")                // a later fragment has no TCP header
	if len(ports) == 0 {
		a.jmp("accept")
	}
	a.add(bpf.LoadMemShift{Off: 14})          // X = IPv4 header length
	a.add(bpf.LoadIndirect{Off: 14, Size: 2}) // source port
	for _, p := range ports {
		a.jeq(uint32(p), "accept", "")
	}
	a.add(bpf.LoadIndirect{Off: 16, Size: 2}) // destination port
	for _, p := range ports {
		a.jeq(uint32(p), "accept", "")
	}
	a.jmp("drop")
	a.label("notv4")
	a.jeq(ethIPv6, "", "drop")
	a.add(bpf.LoadAbsolute{Off: 20, Size: 1}) // next header: TCP right after the fixed header
	a.jeq(protoTCP, "", "drop")
	if len(ports) == 0 {
		a.jmp("accept")
	}
	a.add(bpf.LoadAbsolute{Off: 54, Size: 2})
	for _, p := range ports {
		a.jeq(uint32(p), "accept", "")
	}
	a.add(bpf.LoadAbsolute{Off: 56, Size: 2})
	for _, p := range ports {
		a.jeq(uint32(p), "accept", "")
	}
	a.label("drop")
	a.add(bpf.RetConstant{Val: 0})
	a.label("accept")
	a.add(bpf.RetConstant{Val: uint32(snapLen)})
	return a.assemble()
}

// asm is a tiny BPF assembler with labels ("" = next instruction).
type asm struct {
	insts  []bpf.Instruction
	jumps  map[int][2]string // conditional: true, false labels
	jmps   map[int]string    // unconditional
	labels map[string]int
}

func (a *asm) add(i bpf.Instruction) { a.insts = append(a.insts, i) }

func (a *asm) label(name string) {
	if a.labels == nil {
		a.labels = map[string]int{}
	}
	a.labels[name] = len(a.insts)
}

func (a *asm) cond(c bpf.JumpTest, val uint32, t, f string) {
	if a.jumps == nil {
		a.jumps = map[int][2]string{}
	}
	a.jumps[len(a.insts)] = [2]string{t, f}
	a.add(bpf.JumpIf{Cond: c, Val: val})
}

func (a *asm) jeq(val uint32, t, f string)  { a.cond(bpf.JumpEqual, val, t, f) }
func (a *asm) jset(val uint32, t, f string) { a.cond(bpf.JumpBitsSet, val, t, f) }

func (a *asm) jmp(to string) {
	if a.jmps == nil {
		a.jmps = map[int]string{}
	}
	a.jmps[len(a.insts)] = to
	a.add(bpf.Jump{})
}

func (a *asm) assemble() ([]bpf.RawInstruction, error) {
	skip := func(i int, label string) (int, error) {
		if label == "" {
			return 0, nil
		}
		at, ok := a.labels[label]
		if !ok {
			return 0, fmt.Errorf("undefined label %q", label)
		}
		return at - i - 1, nil
	}
	for i, l := range a.jumps {
		t, err := skip(i, l[0])
		if err != nil {
			return nil, err
		}
		f, err := skip(i, l[1])
		if err != nil {
			return nil, err
		}
		if t > 255 || f > 255 {
			return nil, errors.New("too many ports for one filter")
		}
		j := a.insts[i].(bpf.JumpIf)
		j.SkipTrue, j.SkipFalse = uint8(t), uint8(f)
		a.insts[i] = j
	}
	for i, l := range a.jmps {
		n, err := skip(i, l)
		if err != nil {
			return nil, err
		}
		a.insts[i] = bpf.Jump{Skip: uint32(n)}
	}
	return bpf.Assemble(a.insts)
}
