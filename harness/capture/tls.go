package capture

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// TLS record content types (RFC 8446 §5.1, RFC 5246 §6.2.1).
const (
	recChangeCipherSpec = 20
	recAlert            = 21
	recHandshake        = 22
	recApplicationData  = 23
	recHeartbeat        = 24

	tlsHeaderLen = 5
	// The largest record body any version allows: TLS 1.2's 2^14 + 2048.
	maxTLSRecordBody = 1<<14 + 2048
)

// Handshake message types.
const (
	hsClientHello       = 1
	hsServerHello       = 2
	hsNewSessionTicket  = 4
	hsServerKeyExchange = 12
	hsFinished          = 20
	hsKeyUpdate         = 24
)

// tlsRecord is one record found in a TLS byte stream.
type tlsRecord struct {
	Off     int    // offset of the 5-byte header in the stream
	Type    byte   // content type
	Version uint16 // legacy record version
	Len     int    // body length declared by the header
	Body    []byte // the body as far as the stream has it: len(Body) < Len if cut
}

func (r tlsRecord) complete() bool { return len(r.Body) == r.Len }
func (r tlsRecord) end() int       { return r.Off + tlsHeaderLen + r.Len }
func (r tlsRecord) header() []byte {
	return []byte{r.Type, byte(r.Version >> 8), byte(r.Version), byte(r.Len >> 8), byte(r.Len)}
}

var errTLSRecord = errors.New("tls: not a TLS record")

// tlsRecords splits data, a prefix of one direction of a TLS stream, into
// records: type (1), legacy version (2), length (2), body. The last record
// may be cut by the end of data (its Body shorter than Len); a header cut
// by the end of data is not returned, rest tells how many bytes of data
// follow the last record header returned. On bytes that cannot be a record
// header the records before them come back with the error.
func tlsRecords(data []byte) (recs []tlsRecord, err error) {
	off := 0
	for len(data)-off >= tlsHeaderLen {
		h := data[off : off+tlsHeaderLen]
		typ, ver, n := h[0], binary.BigEndian.Uint16(h[1:3]), int(binary.BigEndian.Uint16(h[3:5]))
		if typ < recChangeCipherSpec || typ > recHeartbeat || ver>>8 != 3 || n > maxTLSRecordBody {
			return recs, fmt.Errorf("%w at offset %d: % x", errTLSRecord, off, h)
		}
		body := data[off+tlsHeaderLen : min(off+tlsHeaderLen+n, len(data))]
		recs = append(recs, tlsRecord{Off: off, Type: typ, Version: ver, Len: n, Body: body})
		off += tlsHeaderLen + n
	}
	return recs, nil
}

// hsMessage is one handshake message: type (1), length (3), body.
type hsMessage struct {
	Type byte
	Body []byte
}

// hsMessages splits concatenated handshake bytes into whole messages;
// used is how many bytes they took (the rest is an incomplete message).
func hsMessages(data []byte) (msgs []hsMessage, used int) {
	for len(data)-used >= 4 {
		n := int(data[used+1])<<16 | int(data[used+2])<<8 | int(data[used+3])
		if len(data)-used-4 < n {
			break
		}
		msgs = append(msgs, hsMessage{Type: data[used], Body: data[used+4 : used+4+n]})
		used += 4 + n
	}
	return msgs, used
}

// reader is a bounds-checked cursor over handshake bytes.
type reader struct {
	b   []byte
	err bool
}

func (r *reader) bytes(n int) []byte {
	if r.err || n < 0 || len(r.b) < n {
		r.err = true
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() int {
	if v := r.bytes(1); v != nil {
		return int(v[0])
	}
	return 0
}

func (r *reader) u16() int {
	if v := r.bytes(2); v != nil {
		return int(binary.BigEndian.Uint16(v))
	}
	return 0
}

// helloRetryRandom marks a ServerHello as a HelloRetryRequest
// (RFC 8446 §4.1.3): SHA-256 of "HelloRetryRequest".
var helloRetryRandom = sha256.Sum256([]byte("HelloRetryRequest"))

// serverHello holds what accounting needs from a ServerHello.
type serverHello struct {
	Version uint16 // negotiated: supported_versions if present, else legacy_version
	Random  []byte
	Suite   uint16
	Group   uint16 // key_share group (TLS 1.3), 0 if absent
	HRR     bool   // a HelloRetryRequest
}

var errHello = errors.New("tls: malformed hello")

// parseServerHello parses a ServerHello body (RFC 8446 §4.1.3, RFC 5246
// §7.4.1.3).
func parseServerHello(b []byte) (serverHello, error) {
	var sh serverHello
	r := reader{b: b}
	sh.Version = uint16(r.u16())
	sh.Random = r.bytes(32)
	r.bytes(r.u8()) // legacy_session_id_echo
	sh.Suite = uint16(r.u16())
	r.u8() // compression
	if r.err {
		return sh, errHello
	}
	sh.HRR = bytes.Equal(sh.Random, helloRetryRandom[:])
	if len(r.b) == 0 {
		return sh, nil // no extensions
	}
	exts := reader{b: r.bytes(r.u16())}
	for !r.err && len(exts.b) > 0 {
		typ := exts.u16()
		ext := reader{b: exts.bytes(exts.u16())}
		if exts.err {
			return sh, errHello
		}
		switch typ {
		case 43: // supported_versions: selected_version
			if v := ext.u16(); !ext.err {
				sh.Version = uint16(v)
			}
		case 51: // key_share: group, then the key (absent in a HelloRetryRequest)
			if g := ext.u16(); !ext.err {
				sh.Group = uint16(g)
			}
		}
	}
	if r.err {
		return sh, errHello
	}
	return sh, nil
}

// parseClientHelloRandom returns the 32-byte random of a ClientHello body.
func parseClientHelloRandom(b []byte) ([]byte, error) {
	r := reader{b: b}
	r.u16() // legacy_version
	rnd := r.bytes(32)
	if r.err {
		return nil, errHello
	}
	return rnd, nil
}

// parseServerKeyExchangeGroup returns the named group of an ECDHE
// ServerKeyExchange (RFC 8422 §5.4: curve_type 3 = named_curve).
func parseServerKeyExchangeGroup(b []byte) (uint16, bool) {
	if len(b) < 3 || b[0] != 3 {
		return 0, false
	}
	return binary.BigEndian.Uint16(b[1:3]), true
}

// versionName is "1.3", "1.2", … for a protocol version.
func versionName(v uint16) string {
	switch v {
	case tls.VersionTLS13:
		return "1.3"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS10:
		return "1.0"
	case 0:
		return ""
	}
	return fmt.Sprintf("0x%04x", v)
}

// groupName is the IANA name of a named group (TLS Supported Groups
// registry).
func groupName(g uint16) string {
	switch g {
	case 0x0017:
		return "secp256r1"
	case 0x0018:
		return "secp384r1"
	case 0x0019:
		return "secp521r1"
	case 0x001d:
		return "X25519"
	case 0x001e:
		return "X448"
	case 0x0100:
		return "ffdhe2048"
	case 0x0101:
		return "ffdhe3072"
	case 0x0200:
		return "MLKEM512"
	case 0x0201:
		return "MLKEM768"
	case 0x0202:
		return "MLKEM1024"
	case 0x11eb:
		return "SecP256r1MLKEM768"
	case 0x11ec:
		return "X25519MLKEM768"
	case 0x11ed:
		return "SecP384r1MLKEM1024"
	case 0x6399:
		return "X25519Kyber768Draft00"
	case 0:
		return ""
	}
	return fmt.Sprintf("0x%04x", g)
}

// suiteInfo is how a cipher suite lays out an application_data record.
type suiteInfo struct {
	ID            uint16
	Name          string
	TLS13         bool
	AEAD          string // "gcm", "chacha20-poly1305", "ccm", "cbc", "" (unknown)
	KeyLen        int
	ExplicitNonce int // TLS 1.2 AES-GCM/CCM: 8 bytes before the ciphertext
	Tag           int // AEAD tag after the ciphertext
	IVLen         int // CBC: the record IV
	MACLen        int // CBC: HMAC
	HashLen       int // PRF / HKDF hash: 32 (SHA-256) or 48 (SHA-384)
}

// suiteParams describes a cipher suite. Unknown suites are taken for
// AES-GCM-like (an estimate; Analyze notes it).
func suiteParams(id uint16) suiteInfo {
	s := suiteInfo{ID: id, Name: tls.CipherSuiteName(id), HashLen: 32}
	switch id {
	case 0x1301:
		s.TLS13, s.AEAD, s.KeyLen, s.Tag = true, "gcm", 16, 16
	case 0x1302:
		s.TLS13, s.AEAD, s.KeyLen, s.Tag, s.HashLen = true, "gcm", 32, 16, 48
	case 0x1303:
		s.TLS13, s.AEAD, s.KeyLen, s.Tag = true, "chacha20-poly1305", 32, 16
	case 0x1304:
		s.TLS13, s.AEAD, s.KeyLen, s.Tag, s.Name = true, "ccm", 16, 16, "TLS_AES_128_CCM_SHA256"
	case 0x1305:
		s.TLS13, s.AEAD, s.KeyLen, s.Tag, s.Name = true, "ccm", 16, 8, "TLS_AES_128_CCM_8_SHA256"
	default:
		n := s.Name
		if strings.HasSuffix(n, "_SHA384") {
			s.HashLen = 48
		}
		switch {
		case strings.Contains(n, "_GCM_"):
			s.AEAD, s.ExplicitNonce, s.Tag = "gcm", 8, 16
			s.KeyLen = 16
			if strings.Contains(n, "AES_256") {
				s.KeyLen = 32
			}
		case strings.Contains(n, "CHACHA20_POLY1305"):
			s.AEAD, s.Tag, s.KeyLen = "chacha20-poly1305", 16, 32
		case strings.Contains(n, "_CBC_"):
			s.AEAD, s.IVLen = "cbc", 16
			if strings.Contains(n, "3DES") {
				s.IVLen = 8
			}
			switch {
			case strings.HasSuffix(n, "_SHA"):
				s.MACLen = 20
			case strings.HasSuffix(n, "_SHA256"):
				s.MACLen = 32
			case strings.HasSuffix(n, "_SHA384"):
				s.MACLen = 48
			}
		default:
			s.ExplicitNonce, s.Tag = 8, 16
		}
	}
	return s
}

// appLayout is where the plaintext sits in an application_data record
// body of n bytes: plaintext [start, start+size), within the body;
// everything else in the record is TLS overhead. pad is TLS 1.3 padding
// (known only decrypted).
func (s suiteInfo) appLayout(version uint16, n, pad int) (start, size int) {
	switch {
	case version == tls.VersionTLS13 || s.TLS13:
		size = n - 1 - pad - s.Tag
	case s.AEAD == "cbc":
		// IV, then plaintext, MAC and padding to the block size: the
		// padding is encrypted, count the least there can be (its length
		// byte).
		start, size = s.IVLen, n-s.IVLen-s.MACLen-1
	default:
		start, size = s.ExplicitNonce, n-s.ExplicitNonce-s.Tag
	}
	start = min(start, n)
	return start, min(max(size, 0), n-start)
}

// finishedRecordLen is the body length of a TLS 1.3 record carrying only
// a Finished message, unpadded: 4-byte header + verify_data (hash length)
// + inner content type + tag.
func (s suiteInfo) finishedRecordLen() int { return 4 + s.HashLen + 1 + s.Tag }
