package capture

import (
	"cmp"
	"crypto/tls"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"time"
)

// Kind is what a server port speaks at the TCP level.
type Kind int

const (
	Plain Kind = iota // application bytes straight on TCP
	TLS               // TLS records on TCP
)

// Proto is the application protocol inside a stream.
type Proto int

const (
	MQTT Proto = iota
	HTTP
)

// Account sums a set of packets (see Analyze).
type Account struct {
	Layers
	ByDir [2]Layers `json:"by_dir"` // indexed by Direction

	// MQTT control packets by type name, counted on the packet that
	// carried their first byte: plain MQTT streams, and MQTT over TLS
	// when the session's secrets are known (TLSDecrypted).
	MQTT      map[string]int    `json:"mqtt,omitempty"`
	MQTTByDir [2]map[string]int `json:"mqtt_by_dir,omitempty"`

	TLSVersion     string `json:"tls_version,omitempty"`  // "1.2", "1.3", "" (no TLS)
	CipherSuite    string `json:"cipher_suite,omitempty"` // e.g. TLS_AES_128_GCM_SHA256
	KeyExchange    string `json:"key_exchange,omitempty"` // e.g. X25519MLKEM768, X25519; "" when not visible
	HandshakeBytes int    `json:"handshake_bytes"`        // whole TLS handshake (and ChangeCipherSpec) records, headers included

	Connections  int  `json:"connections"`   // TCP connections with at least one packet kept
	TLSDecrypted bool `json:"tls_decrypted"` // every TLS connection was classified with its secrets (KeyLogWriter)
	PayloadOnly  bool `json:"payload_only"`  // socket-mode packets: no frame, IP or TCP header bytes

	Notes []string `json:"notes,omitempty"` // what Analyze could not classify exactly, and why
}

// Analyze reassembles each connection and direction over all pkts (in TCP
// sequence order; bytes already seen — retransmissions — are not
// classified again), classifies the bytes, and sums over the packets that
// pass keep (nil keeps all): frames and bytes at each layer, and TLS
// records, TLS overhead, handshake and application bytes attributed to the
// packet whose payload first carried them.
//
// kind tells, per server address, whether streams are TLS and whether they
// carry MQTT or HTTP (nil: plain MQTT). On plain streams every payload
// byte is an application byte; MQTT streams are also split into control
// packets by their fixed headers. On TLS streams, record headers,
// handshake, ChangeCipherSpec, alert and heartbeat records are TLS
// overhead, and application_data records are split into plaintext
// (application bytes) and overhead: TLS 1.2 AES-GCM 8-byte explicit nonce
// + 16-byte tag, ChaCha20-Poly1305 16-byte tag, CBC IV + MAC + padding
// (padding estimated at its minimum); TLS 1.3 inner content type + padding
// + 16-byte tag. Version and cipher suite come from the ServerHello
// (supported_versions for 1.3), the key exchange from its key_share (1.3)
// or the ServerKeyExchange (1.2).
//
// TLS 1.3 encrypts its handshake in application_data records. When the
// session's secrets were logged through KeyLogWriter, Analyze decrypts
// them and classifies each record by its inner content type: exact, and
// MQTT control packets inside TLS are counted too. Otherwise it assumes:
// the client's handshake ends with its first application_data record the
// size of a Finished message (the first one if none is), and the server's
// handshake is every application_data record it sent before the client's
// first application_data record (this includes session tickets sent in the
// first flight, as Go's server does, but not tickets sent later, as
// OpenSSL's does: those count as application bytes); and a direction's last
// record, if it has 2 bytes of plaintext and the FIN follows it with no
// data from the peer in between, is the close_notify alert (a peer that
// answers with 2 bytes and closes without close_notify is miscounted).
// A note says so.
func Analyze(pkts []Packet, kind func(server netip.AddrPort) (Kind, Proto), keep Filter) Account {
	return analyze(pkts, kind, keep, true)
}

// analyze is Analyze; useKeys false ignores the key log (tests compare).
func analyze(pkts []Packet, kind func(server netip.AddrPort) (Kind, Proto), keep Filter, useKeys bool) Account {
	order := make([]int, len(pkts))
	for i := range order {
		order[i] = i
	}
	sort.SliceStable(order, func(a, b int) bool { return pkts[order[a]].Time.Before(pkts[order[b]].Time) })

	conns, pktConn := trackConns(pkts, order)
	attr := make([]pktAttr, len(pkts))
	var notes []string
	for _, c := range conns {
		k, proto := Plain, MQTT
		if kind != nil {
			k, proto = kind(c.server)
		}
		c.kind = k
		for _, s := range c.d {
			s.finish()
		}
		if k == TLS {
			c.classifyTLS(proto, pkts, useKeys)
		} else {
			c.classifyPlain(proto)
		}
		for _, s := range c.d {
			s.attribute(attr)
			c.notes = append(c.notes, s.notes...)
		}
		for _, n := range c.notes {
			notes = append(notes, fmt.Sprintf("%s→%s: %s", c.client, c.server, n))
		}
	}

	var acc Account
	used := make([]bool, len(conns))
	for _, i := range order {
		p := &pkts[i]
		if keep != nil && !keep(*p) {
			continue
		}
		a := &attr[i]
		l := Layers{
			Frames:          1,
			WireBytes:       p.WireLen,
			IPHeaderBytes:   p.IPHeader,
			TCPHeaderBytes:  p.TCPHeader,
			TCPPayloadBytes: p.PayloadLen,
			TLSRecords:      a.records,
			TLSOverhead:     a.tls,
			AppBytes:        a.app,
		}
		acc.Layers.add(l)
		d := p.Dir & 1
		acc.ByDir[d].add(l)
		acc.HandshakeBytes += a.hs
		if p.WireLen == 0 {
			acc.PayloadOnly = true
		}
		for _, t := range a.mqtt {
			if acc.MQTT == nil {
				acc.MQTT = map[string]int{}
			}
			if acc.MQTTByDir[d] == nil {
				acc.MQTTByDir[d] = map[string]int{}
			}
			acc.MQTT[t]++
			acc.MQTTByDir[d][t]++
		}
		used[pktConn[i]] = true
	}

	var versions, suites, kexes []string
	decrypted, anyTLS := true, false
	for ci, c := range conns {
		if !used[ci] {
			continue
		}
		acc.Connections++
		if c.kind != TLS {
			continue
		}
		anyTLS = true
		decrypted = decrypted && c.decrypted
		versions = appendUnique(versions, c.tlsVersion)
		suites = appendUnique(suites, c.suite)
		kexes = appendUnique(kexes, c.kex)
	}
	acc.TLSDecrypted = anyTLS && decrypted
	acc.TLSVersion = strings.Join(versions, ",")
	acc.CipherSuite = strings.Join(suites, ",")
	acc.KeyExchange = strings.Join(kexes, ",")
	acc.Notes = compactNotes(notes)
	return acc
}

func appendUnique(list []string, s string) []string {
	if s == "" || slices.Contains(list, s) {
		return list
	}
	return append(list, s)
}

func compactNotes(notes []string) []string {
	const maxNotes = 20
	slices.Sort(notes)
	notes = slices.Compact(notes)
	if len(notes) > maxNotes {
		n := len(notes) - maxNotes
		notes = append(notes[:maxNotes], fmt.Sprintf("… and %d more notes", n))
	}
	return notes
}

// pktAttr is what one packet carried, first transmission only.
type pktAttr struct {
	tls, app, hs, records int
	mqtt                  []string
}

// Byte labels.
const (
	lblTLS uint8 = 1 << iota // TLS overhead
	lblApp                   // application bytes
	lblHS                    // TLS handshake (together with lblTLS)
)

type span struct {
	start, end int
	lbl        uint8
}

type event struct {
	off    int
	record bool   // a TLS record starts here
	mqtt   string // an MQTT control packet starts here
}

type iv struct{ start, end int }

// owner is a range of stream bytes and the packet that first carried it.
type owner struct {
	iv
	pkt int
}

// stream is one direction of one connection.
type stream struct {
	dir      Direction
	haveBase bool
	synBase  bool
	base     uint32 // sequence number of stream offset 0
	buf      []byte // stream bytes by offset (holes are zero)
	covered  []iv   // sorted, disjoint, merged
	owners   []owner
	contig   int // bytes known from offset 0 without a hole
	finOff   int // stream offset of the FIN, -1 if none seen
	spans    []span
	events   []event
	notes    []string
}

// A segment starting this far beyond what is known is not trusted (a
// wrong sequence base); the stream would need that much memory.
const maxSeqJump = 64 << 20

func (s *stream) add(p *Packet, pi int) {
	if p.SYN {
		if !s.synBase {
			s.base, s.haveBase, s.synBase = p.Seq+1, true, true
		}
	}
	if p.FIN && s.haveBase {
		fin := p.Seq + uint32(p.PayloadLen)
		if p.SYN {
			fin++
		}
		s.finOff = int(int32(fin - s.base))
	}
	if p.PayloadLen == 0 || len(p.Payload) == 0 {
		return
	}
	seq := p.Seq
	if p.SYN {
		seq++ // data on a SYN (TCP Fast Open) follows the SYN's sequence number
	}
	if !s.haveBase {
		s.base, s.haveBase = seq, true
	}
	rel := int(int32(seq - s.base))
	payload := p.Payload
	if rel < 0 {
		if -rel >= len(payload) {
			return
		}
		payload, rel = payload[-rel:], 0
	}
	end := rel + len(payload)
	if rel > len(s.buf)+maxSeqJump {
		s.notes = append(s.notes, fmt.Sprintf("%s: segment %d bytes beyond the stream, ignored", s.dir, rel-len(s.buf)))
		return
	}
	for _, n := range missing(s.covered, rel, end) {
		if len(s.buf) < n.end {
			s.buf = append(s.buf, make([]byte, n.end-len(s.buf))...)
		}
		copy(s.buf[n.start:n.end], payload[n.start-rel:n.end-rel])
		s.owners = append(s.owners, owner{n, pi})
		s.covered = addIV(s.covered, n)
	}
}

// missing returns the parts of [a, b) not in set.
func missing(set []iv, a, b int) []iv {
	var out []iv
	cur := a
	i := sort.Search(len(set), func(i int) bool { return set[i].end > a })
	for ; i < len(set) && set[i].start < b; i++ {
		if set[i].start > cur {
			out = append(out, iv{cur, set[i].start})
		}
		cur = max(cur, set[i].end)
	}
	if cur < b {
		out = append(out, iv{cur, b})
	}
	return out
}

// addIV adds n, disjoint from set, keeping set sorted and merged.
func addIV(set []iv, n iv) []iv {
	i := sort.Search(len(set), func(i int) bool { return set[i].start >= n.end })
	// set[i-1] may end at n.start, set[i] may start at n.end.
	if i > 0 && set[i-1].end == n.start {
		set[i-1].end = n.end
		if i < len(set) && set[i].start == n.end {
			set[i-1].end = set[i].end
			set = slices.Delete(set, i, i+1)
		}
		return set
	}
	if i < len(set) && set[i].start == n.end {
		set[i].start = n.start
		return set
	}
	return slices.Insert(set, i, n)
}

func (s *stream) finish() {
	if len(s.covered) > 0 && s.covered[0].start == 0 {
		s.contig = s.covered[0].end
	}
	if len(s.covered) > 1 || (len(s.covered) == 1 && s.contig == 0) {
		s.notes = append(s.notes, fmt.Sprintf("%s: bytes missing from the capture at offset %d; later bytes not classified", s.dir, s.contig))
	}
	slices.SortFunc(s.owners, func(a, b owner) int { return cmp.Compare(a.start, b.start) })
}

func (s *stream) data() []byte { return s.buf[:s.contig] }

// ownerAt returns the packet that first carried stream byte off.
func (s *stream) ownerAt(off int) (int, bool) {
	i := sort.Search(len(s.owners), func(i int) bool { return s.owners[i].end > off })
	if i < len(s.owners) && s.owners[i].start <= off {
		return s.owners[i].pkt, true
	}
	return 0, false
}

func (s *stream) timeAt(off int, pkts []Packet) (time.Time, bool) {
	if pi, ok := s.ownerAt(off); ok {
		return pkts[pi].Time, true
	}
	return time.Time{}, false
}

func (s *stream) label(start, end int, lbl uint8) {
	if end <= start {
		return
	}
	if n := len(s.spans); n > 0 && s.spans[n-1].end == start && s.spans[n-1].lbl == lbl {
		s.spans[n-1].end = end
		return
	}
	s.spans = append(s.spans, span{start, end, lbl})
}

// attribute adds the labelled bytes and events to the packets that first
// carried them.
func (s *stream) attribute(attr []pktAttr) {
	for _, o := range s.owners {
		j := sort.Search(len(s.spans), func(k int) bool { return s.spans[k].end > o.start })
		for ; j < len(s.spans) && s.spans[j].start < o.end; j++ {
			sp := s.spans[j]
			n := min(o.end, sp.end) - max(o.start, sp.start)
			a := &attr[o.pkt]
			if sp.lbl&lblTLS != 0 {
				a.tls += n
			}
			if sp.lbl&lblApp != 0 {
				a.app += n
			}
			if sp.lbl&lblHS != 0 {
				a.hs += n
			}
		}
	}
	for _, e := range s.events {
		pi, ok := s.ownerAt(e.off)
		if !ok {
			continue
		}
		if e.record {
			attr[pi].records++
		}
		if e.mqtt != "" {
			attr[pi].mqtt = append(attr[pi].mqtt, e.mqtt)
		}
	}
}

// conn is one TCP connection.
type conn struct {
	client, server netip.AddrPort
	haveISN        bool
	isn            uint32
	d              [2]*stream
	pkts           []int // indexes into the packets, in time order

	kind       Kind
	tlsVersion string
	suite      string
	kex        string
	decrypted  bool
	notes      []string
}

func trackConns(pkts []Packet, order []int) ([]*conn, []int) {
	type key struct{ client, server netip.AddrPort }
	active := map[key]*conn{}
	var conns []*conn
	pktConn := make([]int, len(pkts))
	index := map[*conn]int{}
	for _, i := range order {
		p := &pkts[i]
		k := key{p.Client, p.Server}
		c := active[k]
		opening := p.SYN && !p.ACK && p.Dir == ToServer
		if c == nil || (opening && (!c.haveISN || c.isn != p.Seq)) {
			c = &conn{client: p.Client, server: p.Server,
				d: [2]*stream{{dir: ToServer, finOff: -1}, {dir: ToClient, finOff: -1}}}
			active[k] = c
			index[c] = len(conns)
			conns = append(conns, c)
		}
		if opening {
			c.haveISN, c.isn = true, p.Seq
		}
		pktConn[i] = index[c]
		c.pkts = append(c.pkts, i)
		c.d[p.Dir&1].add(p, i)
	}
	return conns, pktConn
}

func (c *conn) classifyPlain(proto Proto) {
	for _, s := range c.d {
		s.label(0, math.MaxInt, lblApp)
		if proto != MQTT {
			continue
		}
		frames, _, err := mqttFrames(s.data())
		for _, f := range frames {
			s.events = append(s.events, event{off: f.Off, mqtt: f.Type})
		}
		if err != nil {
			c.notes = append(c.notes, fmt.Sprintf("%s: %v; later MQTT packets not counted", s.dir, err))
		}
	}
}

// recClass is how one record is counted.
type recClass struct {
	hs       bool   // handshake (or ChangeCipherSpec) record
	app      bool   // application data: plaintext at [appStart, appStart+appSize) of the body
	appStart int    // offset of the plaintext in the body
	appSize  int    // plaintext length
	plain    []byte // decrypted plaintext (nil when not decrypted)
}

// tlsSide is the handshake as seen in one direction's plaintext records.
type tlsSide struct {
	random []byte      // ClientHello or ServerHello random
	sh     serverHello // server side
	haveSH bool
	hrr    bool
	skeGrp uint16 // TLS 1.2 ServerKeyExchange group
}

// readHandshake reads the plaintext handshake messages of one direction:
// the ClientHello, or the ServerHello (and HelloRetryRequest) and
// ServerKeyExchange.
func readHandshake(recs []tlsRecord, server bool) (tlsSide, error) {
	var side tlsSide
	var buf []byte
	for _, r := range recs {
		if r.Type == recApplicationData {
			break // TLS 1.3 encrypted handshake, or TLS 1.2 after the handshake
		}
		// TLS 1.2 encrypts what follows a ChangeCipherSpec; TLS 1.3 sends
		// one for middlebox compatibility only, after its ServerHello or
		// HelloRetryRequest. A ClientHello always comes before the
		// client's.
		tls13 := side.hrr || (side.haveSH && side.sh.Version == tls.VersionTLS13)
		if r.Type == recChangeCipherSpec && (!server || !tls13) {
			break
		}
		if r.Type != recHandshake {
			continue
		}
		buf = append(buf, r.Body...)
		msgs, used := hsMessages(buf)
		buf = append([]byte(nil), buf[used:]...)
		for _, m := range msgs {
			switch {
			case !server && m.Type == hsClientHello && side.random == nil:
				rnd, err := parseClientHelloRandom(m.Body)
				if err != nil {
					return side, err
				}
				side.random = rnd
				return side, nil
			case server && m.Type == hsServerHello:
				sh, err := parseServerHello(m.Body)
				if err != nil {
					return side, err
				}
				if sh.HRR {
					side.hrr = true
					continue
				}
				side.sh, side.haveSH, side.random = sh, true, sh.Random
			case server && m.Type == hsServerKeyExchange:
				if g, ok := parseServerKeyExchangeGroup(m.Body); ok {
					side.skeGrp = g
				}
			}
		}
	}
	return side, nil
}

func (c *conn) classifyTLS(proto Proto, pkts []Packet, useKeys bool) {
	cs, ss := c.d[ToServer], c.d[ToClient]
	var recs [2][]tlsRecord
	for d, s := range c.d {
		var err error
		recs[d], err = tlsRecords(s.data())
		if err != nil {
			c.notes = append(c.notes, fmt.Sprintf("%s: %v; later bytes not classified", s.dir, err))
		}
	}
	ch, err := readHandshake(recs[ToServer], false)
	if err != nil {
		c.notes = append(c.notes, fmt.Sprintf("ClientHello: %v", err))
	}
	sv, err := readHandshake(recs[ToClient], true)
	if err != nil {
		c.notes = append(c.notes, fmt.Sprintf("ServerHello: %v", err))
	}
	var version uint16
	suite := suiteParams(0)
	if sv.haveSH {
		version = sv.sh.Version
		suite = suiteParams(sv.sh.Suite)
		c.tlsVersion = versionName(version)
		c.suite = suite.Name
		switch {
		case version == tls.VersionTLS13:
			c.kex = groupName(sv.sh.Group)
		case sv.skeGrp != 0:
			c.kex = groupName(sv.skeGrp)
		case strings.HasPrefix(suite.Name, "TLS_RSA_"):
			c.kex = "RSA"
		}
		if suite.AEAD == "cbc" {
			c.notes = append(c.notes, "CBC cipher suite: padding counted at its minimum")
		} else if suite.AEAD == "" || (suite.AEAD == "ccm" && version == tls.VersionTLS12) {
			c.notes = append(c.notes, fmt.Sprintf("cipher suite %s: record layout assumed AES-GCM-like", suite.Name))
		}
	} else if len(recs[ToClient])+len(recs[ToServer]) > 0 {
		c.notes = append(c.notes, "no ServerHello in the capture: TLS version unknown, records assumed TLS 1.2 AES-GCM")
	}

	// Ciphers from the key log, when the experiment logged the secrets.
	var ciphers [2][2]*recordCipher // [direction][handshake, application]
	haveKeys := false
	if secrets := secretsFor(ch.random); useKeys && secrets != nil && sv.haveSH {
		var err error
		switch version {
		case tls.VersionTLS13:
			labels := [2][2]string{
				ToServer: {"CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"},
				ToClient: {"SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"},
			}
			haveKeys = true
			for d := range 2 {
				for ph := range 2 {
					if ciphers[d][ph], err = newCipher13(suite, secrets[labels[d][ph]]); err != nil {
						haveKeys = false
					}
				}
			}
		case tls.VersionTLS12:
			ciphers[ToServer][1], ciphers[ToClient][1], err = newCiphers12(suite, secrets["CLIENT_RANDOM"], ch.random, sv.random)
			haveKeys = err == nil
		}
		if !haveKeys {
			c.notes = append(c.notes, "TLS secrets logged but unusable for "+suite.Name)
		}
	}
	if !haveKeys {
		ciphers = [2][2]*recordCipher{}
	}

	// Heuristic boundaries of the TLS 1.3 encrypted handshake.
	clientFin, firstClientApp := -1, -1
	for i, r := range recs[ToServer] {
		if r.Type != recApplicationData {
			continue
		}
		if firstClientApp < 0 {
			firstClientApp = i
		}
		if r.Len == suite.finishedRecordLen() && clientFin < 0 && i-firstClientApp < 8 {
			clientFin = i
		}
	}
	if clientFin < 0 {
		clientFin = firstClientApp
	}
	var clientAppTime time.Time
	haveClientAppTime := false
	if firstClientApp >= 0 {
		clientAppTime, haveClientAppTime = cs.timeAt(recs[ToServer][firstClientApp].Off, pkts)
	}
	guessHS := func(d Direction, i int) bool {
		if d == ToServer {
			return i <= clientFin
		}
		if !haveClientAppTime {
			return firstClientApp < 0
		}
		t, ok := ss.timeAt(recs[ToClient][i].Off, pkts)
		return ok && t.Before(clientAppTime)
	}

	decrypted := haveKeys
	for d, s := range c.d {
		dir := Direction(d)
		classes := make([]recClass, len(recs[d]))
		cur := ciphers[d][0]
		if version != tls.VersionTLS13 {
			cur = nil // TLS 1.2: encrypted only after ChangeCipherSpec
		}
		decOK := haveKeys
		inHS := true // TLS 1.3: before this side's Finished
		var hsBuf []byte
		for i, r := range recs[d] {
			cl := &classes[i]
			switch r.Type {
			case recChangeCipherSpec:
				cl.hs = true
				if version == tls.VersionTLS12 && decOK {
					cur = ciphers[d][1]
				}
				continue
			case recHandshake:
				cl.hs = true
			case recApplicationData:
			default: // alert, heartbeat: overhead
			}
			if version != tls.VersionTLS13 {
				if r.Type == recApplicationData {
					cl.app = true
					cl.appStart, cl.appSize = suite.appLayout(version, r.Len, 0)
				}
				if cur != nil && decOK {
					_, pt, _, err := cur.open(r)
					if err != nil {
						decOK = false
						if r.complete() {
							c.notes = append(c.notes, fmt.Sprintf("%s: TLS 1.2 record at %d does not decrypt: %v", dir, r.Off, err))
						}
					} else if r.Type == recApplicationData {
						cl.plain = pt
					}
				}
				continue
			}
			// TLS 1.3
			if r.Type != recApplicationData {
				continue
			}
			if decOK && cur != nil {
				typ, content, _, err := cur.open(r)
				if err == nil {
					switch typ {
					case recApplicationData:
						cl.app, cl.appStart, cl.appSize, cl.plain = true, 0, len(content), content
					case recHandshake:
						cl.hs = true
						hsBuf = append(hsBuf, content...)
						msgs, used := hsMessages(hsBuf)
						hsBuf = append([]byte(nil), hsBuf[used:]...)
						for _, m := range msgs {
							switch {
							case m.Type == hsFinished && inHS:
								inHS = false
								cur = ciphers[d][1]
							case m.Type == hsKeyUpdate && !inHS:
								if next, err := cur.next(); err == nil {
									cur = next
								} else {
									decOK = false
								}
							}
						}
					}
					continue
				}
				decOK = false
				if r.complete() {
					c.notes = append(c.notes, fmt.Sprintf("%s: TLS 1.3 record at %d does not decrypt: %v", dir, r.Off, err))
				}
			}
			// Not decrypted: the heuristic.
			switch {
			case guessHS(dir, i):
				cl.hs = true
			case i == len(recs[d])-1 && r.Len == 2+1+suite.Tag && c.closesWith(dir, r, pkts):
				// The last record, 2 bytes of plaintext, right before the
				// FIN: the close_notify alert TLS 1.3 implementations send
				// when they close (Go's Close, OpenSSL's SSL_shutdown).
			default:
				cl.app = true
				cl.appStart, cl.appSize = suite.appLayout(version, r.Len, 0)
			}
		}
		decrypted = decrypted && decOK

		// Labels and events.
		last := 0
		var plain []byte
		var segs []plainSeg
		plainOK := true
		for i, r := range recs[d] {
			cl := classes[i]
			s.events = append(s.events, event{off: r.Off, record: true})
			body := r.Off + tlsHeaderLen
			switch {
			case cl.app:
				s.label(r.Off, body+cl.appStart, lblTLS)
				s.label(body+cl.appStart, body+cl.appStart+cl.appSize, lblApp)
				s.label(body+cl.appStart+cl.appSize, r.end(), lblTLS)
				if cl.plain == nil {
					plainOK = false
				}
				if plainOK && len(cl.plain) > 0 {
					segs = append(segs, plainSeg{plain: len(plain), stream: body + cl.appStart})
					plain = append(plain, cl.plain...)
				}
			case cl.hs:
				s.label(r.Off, r.end(), lblTLS|lblHS)
			default:
				s.label(r.Off, r.end(), lblTLS)
			}
			last = r.end()
		}
		if n := len(s.data()); len(recs[d]) > 0 && last < n && n-last < tlsHeaderLen {
			s.label(last, n, lblTLS) // a record header cut by the end of the capture
		}
		if proto == MQTT && haveKeys {
			frames, _, err := mqttFrames(plain)
			for _, f := range frames {
				s.events = append(s.events, event{off: mapPlain(segs, f.Off), mqtt: f.Type})
			}
			if err != nil {
				c.notes = append(c.notes, fmt.Sprintf("%s: %v (inside TLS); later MQTT packets not counted", dir, err))
			}
		}
		slices.SortStableFunc(s.events, func(a, b event) int { return cmp.Compare(a.off, b.off) })
	}
	c.decrypted = decrypted
	if !decrypted && version == tls.VersionTLS13 && firstClientApp >= 0 {
		c.notes = append(c.notes, "TLS 1.3 without secrets (KeyLogWriter): encrypted handshake told from application data by heuristic")
	}
}

// closesWith reports whether record r is the last thing direction d sent
// before its FIN, with no payload from the peer in between: a peer's
// message between them means r was an answer, not the goodbye. (The
// peer's FIN may come between: a peer closing on close_notify.)
func (c *conn) closesWith(d Direction, r tlsRecord, pkts []Packet) bool {
	s := c.d[d]
	if r.end() != s.finOff {
		return false
	}
	pi, ok := s.ownerAt(r.end() - 1)
	if !ok {
		return false
	}
	from := pkts[pi].Time
	var fin time.Time
	for _, i := range c.pkts {
		if p := &pkts[i]; p.Dir == d && p.FIN {
			fin = p.Time
			break
		}
	}
	for _, i := range c.pkts {
		p := &pkts[i]
		if p.Dir != d && p.PayloadLen > 0 && p.Time.After(from) && !p.Time.After(fin) {
			return false
		}
	}
	return true
}

// plainSeg maps decrypted plaintext to the stream: plaintext offset plain
// is stream offset stream.
type plainSeg struct{ plain, stream int }

func mapPlain(segs []plainSeg, off int) int {
	i := sort.Search(len(segs), func(i int) bool { return segs[i].plain > off }) - 1
	if i < 0 {
		return 0
	}
	return segs[i].stream + off - segs[i].plain
}
