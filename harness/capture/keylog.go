package capture

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash"
	"io"
	"strings"
	"sync"

	"golang.org/x/crypto/chacha20poly1305"
)

// KeyLogWriter returns the process-wide TLS key log: set it as the
// KeyLogWriter of the tls.Config of an experiment's client or server.
// Analyze then decrypts that experiment's TLS records to classify them
// exactly (TLS 1.3 encrypted handshake vs application data, MQTT packets
// inside TLS), and Stop writes the secrets of the captured sessions into
// the pcapng file (a Decryption Secrets Block) so Wireshark decrypts them
// too. Use it for test traffic only: anyone with the file can read it.
// It is safe for concurrent use.
func KeyLogWriter() io.Writer { return &keyLog }

var keyLog = keyLogRegistry{byRandom: map[[32]byte]*tlsSecrets{}}

// maxKeyLogSessions bounds the registry; the oldest sessions go first.
const maxKeyLogSessions = 1 << 16

type keyLogRegistry struct {
	mu       sync.RWMutex
	partial  []byte
	byRandom map[[32]byte]*tlsSecrets
	order    [][32]byte
}

// tlsSecrets are one session's NSS key log lines, by label.
type tlsSecrets struct {
	lines   []string
	secrets map[string][]byte // CLIENT_RANDOM, CLIENT_HANDSHAKE_TRAFFIC_SECRET, …
}

// Write takes NSS key log lines ("LABEL <client random> <secret>").
func (k *keyLogRegistry) Write(b []byte) (int, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	data := append(k.partial, b...)
	for {
		i := bytes.IndexByte(data, '\n')
		if i < 0 {
			break
		}
		k.addLine(string(data[:i]))
		data = data[i+1:]
	}
	k.partial = bytes.Clone(data)
	return len(b), nil
}

func (k *keyLogRegistry) addLine(line string) {
	f := strings.Fields(line)
	if len(f) != 3 || strings.HasPrefix(line, "#") {
		return
	}
	rnd, err1 := hex.DecodeString(f[1])
	secret, err2 := hex.DecodeString(f[2])
	if err1 != nil || err2 != nil || len(rnd) != 32 {
		return
	}
	key := [32]byte(rnd)
	s := k.byRandom[key]
	if s == nil {
		if len(k.order) >= maxKeyLogSessions {
			delete(k.byRandom, k.order[0])
			k.order = k.order[1:]
		}
		s = &tlsSecrets{secrets: map[string][]byte{}}
		k.byRandom[key] = s
		k.order = append(k.order, key)
	}
	s.lines = append(s.lines, strings.Join(f, " "))
	s.secrets[f[0]] = secret
}

// secretsFor returns the secrets logged for a client random.
func secretsFor(clientRandom []byte) map[string][]byte {
	if len(clientRandom) != 32 {
		return nil
	}
	keyLog.mu.RLock()
	defer keyLog.mu.RUnlock()
	if s := keyLog.byRandom[[32]byte(clientRandom)]; s != nil {
		return s.secrets
	}
	return nil
}

// keyLogFor returns the key log lines of the given sessions.
func keyLogFor(randoms [][]byte) []byte {
	keyLog.mu.RLock()
	defer keyLog.mu.RUnlock()
	var b bytes.Buffer
	for _, r := range randoms {
		if s := keyLog.byRandom[[32]byte(r)]; s != nil {
			for _, l := range s.lines {
				b.WriteString(l)
				b.WriteByte('\n')
			}
		}
	}
	return b.Bytes()
}

// clientRandoms finds the ClientHellos at the start of client→server
// payloads: their randoms.
func clientRandoms(pkts []Packet) [][]byte {
	var out [][]byte
	seen := map[[32]byte]bool{}
	for i := range pkts {
		p := pkts[i].Payload
		// record header, handshake type 1, 3-byte length, version, random
		if pkts[i].Dir != ToServer || len(p) < 43 || p[0] != recHandshake || p[5] != hsClientHello {
			continue
		}
		r := [32]byte(p[11:43])
		if !seen[r] {
			seen[r] = true
			out = append(out, r[:])
		}
	}
	return out
}

// recordCipher decrypts the records of one direction of one session.
type recordCipher struct {
	suite   suiteInfo
	version uint16
	aead    cipher.AEAD
	iv      []byte // TLS 1.3 and ChaCha20: XORed with seq; TLS 1.2 GCM: 4-byte salt
	seq     uint64
	secret  []byte // TLS 1.3 traffic secret, for KeyUpdate
}

var errNoCipher = errors.New("tls: no key for this cipher suite")

func (s suiteInfo) hash() func() hash.Hash {
	if s.HashLen == 48 {
		return sha512.New384
	}
	return sha256.New
}

func (s suiteInfo) newAEAD(key []byte) (cipher.AEAD, error) {
	switch s.AEAD {
	case "gcm":
		b, err := aes.NewCipher(key)
		if err != nil {
			return nil, err
		}
		return cipher.NewGCM(b)
	case "chacha20-poly1305":
		return chacha20poly1305.New(key)
	}
	return nil, errNoCipher
}

// expandLabel is HKDF-Expand-Label (RFC 8446 §7.1).
func expandLabel(h func() hash.Hash, secret []byte, label string, context []byte, n int) ([]byte, error) {
	label = "tls13 " + label
	info := make([]byte, 0, 4+len(label)+len(context))
	info = append(info, byte(n>>8), byte(n), byte(len(label)))
	info = append(info, label...)
	info = append(info, byte(len(context)))
	info = append(info, context...)
	return hkdf.Expand(h, secret, string(info), n)
}

// newCipher13 derives a TLS 1.3 record cipher from a traffic secret
// (RFC 8446 §7.3).
func newCipher13(s suiteInfo, secret []byte) (*recordCipher, error) {
	if len(secret) == 0 {
		return nil, errNoCipher
	}
	key, err := expandLabel(s.hash(), secret, "key", nil, s.KeyLen)
	if err != nil {
		return nil, err
	}
	iv, err := expandLabel(s.hash(), secret, "iv", nil, 12)
	if err != nil {
		return nil, err
	}
	aead, err := s.newAEAD(key)
	if err != nil {
		return nil, err
	}
	return &recordCipher{suite: s, version: 0x0304, aead: aead, iv: iv, secret: secret}, nil
}

// next is the cipher after a KeyUpdate (RFC 8446 §7.2).
func (c *recordCipher) next() (*recordCipher, error) {
	s, err := expandLabel(c.suite.hash(), c.secret, "traffic upd", nil, c.suite.HashLen)
	if err != nil {
		return nil, err
	}
	return newCipher13(c.suite, s)
}

// prf12 is the TLS 1.2 PRF, P_hash (RFC 5246 §5).
func prf12(h func() hash.Hash, secret []byte, label string, seed []byte, n int) []byte {
	seed = append([]byte(label), seed...)
	out := make([]byte, 0, n+64)
	mac := hmac.New(h, secret)
	mac.Write(seed)
	a := mac.Sum(nil)
	for len(out) < n {
		mac.Reset()
		mac.Write(a)
		mac.Write(seed)
		out = mac.Sum(out)
		mac.Reset()
		mac.Write(a)
		a = mac.Sum(nil)
	}
	return out[:n]
}

// newCiphers12 derives both TLS 1.2 AEAD record ciphers from the master
// secret (RFC 5246 §6.3; RFC 5288 for GCM, RFC 7905 for ChaCha20).
func newCiphers12(s suiteInfo, master, clientRandom, serverRandom []byte) (client, server *recordCipher, err error) {
	if len(master) == 0 || (s.AEAD != "gcm" && s.AEAD != "chacha20-poly1305") {
		return nil, nil, errNoCipher
	}
	ivLen := 4
	if s.AEAD == "chacha20-poly1305" {
		ivLen = 12
	}
	kb := prf12(s.hash(), master, "key expansion", append(bytes.Clone(serverRandom), clientRandom...), 2*s.KeyLen+2*ivLen)
	ck, sk := kb[:s.KeyLen], kb[s.KeyLen:2*s.KeyLen]
	civ, siv := kb[2*s.KeyLen:2*s.KeyLen+ivLen], kb[2*s.KeyLen+ivLen:]
	ca, err := s.newAEAD(ck)
	if err != nil {
		return nil, nil, err
	}
	sa, err := s.newAEAD(sk)
	if err != nil {
		return nil, nil, err
	}
	return &recordCipher{suite: s, version: 0x0303, aead: ca, iv: civ},
		&recordCipher{suite: s, version: 0x0303, aead: sa, iv: siv}, nil
}

// open decrypts a record. TLS 1.3: returns the inner content type, the
// content without padding and the padding length. TLS 1.2: the record's
// own type and the plaintext.
func (c *recordCipher) open(r tlsRecord) (typ byte, content []byte, pad int, err error) {
	if !r.complete() {
		return 0, nil, 0, errors.New("tls: record cut by the end of the capture")
	}
	seq := c.seq
	c.seq++
	nonce := make([]byte, 12)
	if c.version == 0x0304 {
		copy(nonce, c.iv)
		for i := 0; i < 8; i++ {
			nonce[4+i] ^= byte(seq >> (56 - 8*i))
		}
		inner, err := c.aead.Open(nil, nonce, r.Body, r.header())
		if err != nil {
			return 0, nil, 0, err
		}
		i := len(inner) - 1
		for i >= 0 && inner[i] == 0 {
			i--
		}
		if i < 0 {
			return 0, nil, 0, errors.New("tls: record without content type")
		}
		return inner[i], inner[:i], len(inner) - 1 - i, nil
	}
	body := r.Body
	if c.suite.AEAD == "gcm" {
		if len(body) < 8 {
			return 0, nil, 0, errors.New("tls: short record")
		}
		copy(nonce, c.iv)
		copy(nonce[4:], body[:8])
		body = body[8:]
	} else {
		copy(nonce, c.iv)
		for i := 0; i < 8; i++ {
			nonce[4+i] ^= byte(seq >> (56 - 8*i))
		}
	}
	n := len(body) - c.aead.Overhead()
	if n < 0 {
		return 0, nil, 0, errors.New("tls: short record")
	}
	ad := make([]byte, 13)
	binary.BigEndian.PutUint64(ad, seq)
	ad[8], ad[9], ad[10] = r.Type, byte(r.Version>>8), byte(r.Version)
	binary.BigEndian.PutUint16(ad[11:], uint16(n))
	pt, err := c.aead.Open(nil, nonce, body, ad)
	return r.Type, pt, 0, err
}
