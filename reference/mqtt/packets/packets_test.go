package packets

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"runtime"
	"slices"
	"strings"
	"testing"
	"testing/iotest"
)

// allCases returns Golden followed by GoldenMalformed, in source order.
func allCases() []GoldenCase { return slices.Concat(Golden, GoldenMalformed) }

// dumpLimit is the largest case whose hex dump golden.go spells out.
const dumpLimit = 64

func TestGoldenCasesAreWellFormed(t *testing.T) {
	names := map[string]bool{}
	for _, c := range allCases() {
		if names[c.Name] {
			t.Errorf("duplicate case name %q", c.Name)
		}
		names[c.Name] = true
		if c.Ref == "" || c.Version != Version311 || len(c.Bytes) < 2 {
			t.Errorf("%s: needs a Ref, Version 4 and at least two bytes", c.Name)
		}
	}
	types := map[Type]bool{}
	for _, c := range Golden {
		if c.Err != nil || c.Packet == nil {
			t.Errorf("%s: a valid case needs a Packet and no Err", c.Name)
			continue
		}
		types[c.Packet.Type()] = true
	}
	for ty := CONNECT; ty <= DISCONNECT; ty++ {
		if !types[ty] {
			t.Errorf("Golden has no %v", ty)
		}
	}
	flagged := map[Type]bool{}
	for _, c := range GoldenMalformed {
		if c.Err == nil {
			t.Errorf("%s: a malformed case needs an Err", c.Name)
		}
		if c.Err == ErrReservedFlags {
			flagged[Type(c.Bytes[0]>>4)] = true
		}
	}
	for ty := CONNECT; ty <= DISCONNECT; ty++ {
		if ty != PUBLISH && !flagged[ty] {
			t.Errorf("GoldenMalformed has no reserved-flag case for %v (Table 2.2)", ty)
		}
	}
}

// TestGoldenHexDumps keeps the hex dumps in golden.go's comments true to the
// byte literals next to them.
func TestGoldenHexDumps(t *testing.T) {
	src, err := os.ReadFile("golden.go")
	if err != nil {
		t.Fatal(err)
	}
	// Full dumps ("00000000  30 0a ...  |0...|") for small cases, the first
	// 12 bytes and the length ("30 7f 00 ... … (129 bytes)") for the others.
	dumpLine := regexp.MustCompile(`(?m)^\s*// ([0-9a-f]{8}  .*|([0-9a-f]{2} )+… \(\d+ bytes\))$`)
	var got []string
	for _, m := range dumpLine.FindAllSubmatch(src, -1) {
		got = append(got, string(m[1]))
	}
	var want []string
	for _, c := range allCases() {
		if len(c.Bytes) <= dumpLimit {
			want = append(want, strings.Split(strings.TrimSuffix(hex.Dump(c.Bytes), "\n"), "\n")...)
		} else {
			want = append(want, fmt.Sprintf("% x … (%d bytes)", c.Bytes[:12], len(c.Bytes)))
		}
	}
	if !slices.Equal(got, want) {
		for i := range min(len(got), len(want)) {
			if got[i] != want[i] {
				t.Fatalf("hex dump line %d in golden.go:\n got %s\nwant %s", i, got[i], want[i])
			}
		}
		t.Fatalf("golden.go has %d hex dump lines, the cases need %d", len(got), len(want))
	}
}

func TestDecodeGolden(t *testing.T) {
	for _, c := range Golden {
		t.Run(c.Name, func(t *testing.T) {
			p, n, err := Decode(c.Bytes, c.Version)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if n != len(c.Bytes) {
				t.Errorf("Decode used %d of %d bytes", n, len(c.Bytes))
			}
			if !reflect.DeepEqual(p, c.Packet) {
				t.Errorf("Decode:\n got %#v\nwant %#v", p, c.Packet)
			}
			if p.Type() != Type(c.Bytes[0]>>4) {
				t.Errorf("Type() = %v, first byte says %v", p.Type(), Type(c.Bytes[0]>>4))
			}
		})
	}
}

func TestEncodeGolden(t *testing.T) {
	for _, c := range Golden {
		t.Run(c.Name, func(t *testing.T) {
			got, err := Encode(c.Packet)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			if !bytes.Equal(got, c.Bytes) {
				t.Errorf("Encode:\n got % x\nwant % x", got, c.Bytes)
			}
			prefix := []byte("prefix")
			got, err = c.Packet.AppendTo(prefix)
			if err != nil || !bytes.Equal(got, slices.Concat(prefix, c.Bytes)) {
				t.Errorf("AppendTo(prefix) = % x, %v; want the prefix then the packet", got, err)
			}
		})
	}
}

// TestDecodeGoldenAtAnyOffset decodes each valid case followed by other bytes
// (Decode must stop at the packet's end) and checks that every strict prefix
// asks for more bytes.
func TestDecodeGoldenAtAnyOffset(t *testing.T) {
	for _, c := range Golden {
		t.Run(c.Name, func(t *testing.T) {
			p, n, err := Decode(slices.Concat(c.Bytes, []byte{0xc0, 0x00}), c.Version)
			if err != nil || n != len(c.Bytes) || !reflect.DeepEqual(p, c.Packet) {
				t.Errorf("Decode with a PINGREQ behind = %v, %d, %v", p, n, err)
			}
			for k := range len(c.Bytes) {
				if _, _, err := Decode(c.Bytes[:k], c.Version); err != io.ErrUnexpectedEOF {
					t.Fatalf("Decode of the first %d bytes = %v, want io.ErrUnexpectedEOF", k, err)
				}
			}
		})
	}
}

func TestDecodeMalformed(t *testing.T) {
	for _, c := range GoldenMalformed {
		t.Run(c.Name, func(t *testing.T) {
			p, _, err := Decode(c.Bytes, c.Version)
			checkMalformed(t, "Decode", c, p, err)

			r := NewReader(bytes.NewReader(c.Bytes), 16)
			r.Version = c.Version
			p, err = r.ReadPacket()
			checkMalformed(t, "ReadPacket", c, p, err)
		})
	}
}

func checkMalformed(t *testing.T, via string, c GoldenCase, p Packet, err error) {
	t.Helper()
	if !errors.Is(err, c.Err) {
		t.Fatalf("%s: error %v, want %v", via, err, c.Err)
	}
	if c.Err == io.ErrUnexpectedEOF {
		return // a packet cut short breaks no rule yet: more bytes may come
	}
	rule := RuleOf(err)
	want := c.Err.(*Violation).Rule
	if c.Err == ErrReservedFlags {
		if r, ok := flagRule[Type(c.Bytes[0]>>4)]; ok {
			want = r
		}
	}
	if rule == "" || rule != want {
		t.Errorf("%s: RuleOf(%v) = %q, want %q", via, err, rule, want)
	}
	if c.Packet != nil && !reflect.DeepEqual(p, c.Packet) {
		t.Errorf("%s: partial packet\n got %#v\nwant %#v", via, p, c.Packet)
	}
}

// TestRoundTrip encodes packets built in Go, decodes them and expects the same
// values back. Empty byte slices are written []byte{}, as Decode returns them.
func TestRoundTrip(t *testing.T) {
	var cases []Packet
	for _, will := range []bool{false, true} {
		for qos := range byte(3) {
			for _, retain := range []bool{false, true} {
				for _, user := range []bool{false, true} {
					if !will && (qos > 0 || retain) {
						continue // [MQTT-3.1.2-11]
					}
					c := &Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanSession: !retain,
						KeepAlive: 0x1234, ClientID: "client-0123456789abcdefghijklmnopqrstuvwxyz"}
					if will {
						c.WillFlag, c.WillQoS, c.WillRetain = true, qos, retain
						c.WillTopic, c.WillMessage = "clients/gone", bytes.Repeat([]byte{0, 0xff}, 300)
					}
					if user {
						c.UsernameFlag, c.Username = true, "ユーザー"
						if retain {
							c.PasswordFlag, c.Password = true, []byte{0, 1, 2}
						}
					}
					cases = append(cases, c)
				}
			}
		}
	}
	for code := Accepted; code <= RefusedNotAuthorized; code++ {
		cases = append(cases, &Connack{ReturnCode: code}, &Connack{SessionPresent: code == 0, ReturnCode: code})
	}
	for qos := range byte(3) {
		for _, dup := range []bool{false, true} {
			for _, size := range []int{0, 1, 120, 124, 125, 16377, 16378, 70000} {
				if dup && qos == 0 {
					continue // [MQTT-3.3.1-2]
				}
				p := &Publish{Dup: dup, QoS: qos, Retain: size%2 == 0, Topic: "sensors/x/€/" + strings.Repeat("t", size%100),
					Payload: bytes.Repeat([]byte{byte(size)}, size)}
				if qos > 0 {
					p.PacketID = uint16(size + 1)
				}
				cases = append(cases, p)
			}
		}
	}
	for _, id := range []uint16{1, 0x00ff, 0x8000, 0xffff} {
		cases = append(cases, &Puback{id}, &Pubrec{id}, &Pubrel{id}, &Pubcomp{id}, &Unsuback{id})
	}
	sub := &Subscribe{PacketID: 7}
	unsub := &Unsubscribe{PacketID: 8}
	suback := &Suback{PacketID: 7}
	for i := range 300 {
		f := fmt.Sprintf("a/%d/+/#", i)
		sub.Subscriptions = append(sub.Subscriptions, Subscription{f, byte(i % 3)})
		unsub.Filters = append(unsub.Filters, f)
		suback.ReturnCodes = append(suback.ReturnCodes, []byte{0, 1, 2, 0x80}[i%4])
	}
	cases = append(cases, sub, unsub, suback, &Pingreq{}, &Pingresp{}, &Disconnect{})

	for _, p := range cases {
		t.Run(fmt.Sprintf("%v", p.Type()), func(t *testing.T) {
			wire, err := Encode(p)
			if err != nil {
				t.Fatalf("Encode: %v", err)
			}
			got, n, err := Decode(wire, Version311)
			if err != nil || n != len(wire) {
				t.Fatalf("Decode(Encode(%+v)) = %d bytes of %d, %v", p, n, len(wire), err)
			}
			if !reflect.DeepEqual(got, p) {
				t.Fatalf("round trip:\n got %+v\nwant %+v", got, p)
			}
		})
	}
}

// goldenStream concatenates every valid case.
func goldenStream() []byte {
	var b []byte
	for _, c := range Golden {
		b = append(b, c.Bytes...)
	}
	return b
}

func TestReaderStream(t *testing.T) {
	stream := goldenStream()
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"whole", func(r io.Reader) io.Reader { return r }},
		{"OneByteReader", iotest.OneByteReader},
		{"HalfReader", iotest.HalfReader},
		{"DataErrReader", iotest.DataErrReader},
	}
	for _, rd := range readers {
		for _, bufSize := range []int{16, 4096} {
			t.Run(fmt.Sprintf("%s/buffer %d", rd.name, bufSize), func(t *testing.T) {
				r := NewReader(rd.wrap(bytes.NewReader(stream)), bufSize)
				for _, c := range Golden {
					p, err := r.ReadPacket()
					if err != nil {
						t.Fatalf("%s: %v", c.Name, err)
					}
					if !reflect.DeepEqual(p, c.Packet) {
						t.Fatalf("%s:\n got %#v\nwant %#v", c.Name, p, c.Packet)
					}
				}
				if p, err := r.ReadPacket(); err != io.EOF {
					t.Fatalf("after the last packet: %v, %v; want io.EOF", p, err)
				}
				if r.Buffered() != 0 {
					t.Errorf("Buffered() = %d after EOF", r.Buffered())
				}
			})
		}
	}
}

// TestReaderSplitAcrossReads cuts a stream of three packets at every byte:
// the first Read returns the bytes before the cut, the second the rest.
func TestReaderSplitAcrossReads(t *testing.T) {
	var stream []byte
	var want []Packet
	for _, c := range Golden {
		if c.Name == "CONNECT Figure 3.6 will, user name and password" ||
			c.Name == "PUBLISH Figure 3.11 QoS 1 packet identifier 10" || c.Name == "PUBREL" {
			stream = append(stream, c.Bytes...)
			want = append(want, c.Packet)
		}
	}
	for cut := range len(stream) + 1 {
		r := NewReader(io.MultiReader(bytes.NewReader(stream[:cut]), bytes.NewReader(stream[cut:])), 16)
		for i, w := range want {
			p, err := r.ReadPacket()
			if err != nil || !reflect.DeepEqual(p, w) {
				t.Fatalf("cut at %d, packet %d: %#v, %v", cut, i, p, err)
			}
		}
		if _, err := r.ReadPacket(); err != io.EOF {
			t.Fatalf("cut at %d: %v after the last packet, want io.EOF", cut, err)
		}
	}
}

func TestReaderTruncated(t *testing.T) {
	for _, c := range Golden {
		if len(c.Bytes) > dumpLimit {
			continue
		}
		for k := range len(c.Bytes) {
			r := NewReader(bytes.NewReader(c.Bytes[:k]), 16)
			want := io.ErrUnexpectedEOF
			if k == 0 {
				want = io.EOF // nothing at all: a clean end of stream
			}
			if _, err := r.ReadPacket(); err != want {
				t.Fatalf("%s cut to %d bytes: %v, want %v", c.Name, k, err, want)
			}
		}
	}
}

func TestReaderMaxSize(t *testing.T) {
	for _, c := range Golden {
		if !strings.HasPrefix(c.Name, "PUBLISH remaining length") {
			continue
		}
		t.Run(c.Name, func(t *testing.T) {
			r := NewReader(bytes.NewReader(c.Bytes), 4096)
			r.MaxSize = len(c.Bytes) // the fixed header counts too
			if p, err := r.ReadPacket(); err != nil || !reflect.DeepEqual(p, c.Packet) {
				t.Fatalf("MaxSize %d: %v", r.MaxSize, err)
			}
			r = NewReader(bytes.NewReader(c.Bytes), 4096)
			r.MaxSize = len(c.Bytes) - 1
			_, err := r.ReadPacket()
			if !errors.Is(err, ErrPacketTooLarge) || RuleOf(err) != "§2.2.3" {
				t.Fatalf("MaxSize %d: %v, want ErrPacketTooLarge", r.MaxSize, err)
			}
		})
	}
}

// failReader fails the test if the Reader reads past a refused header.
type failReader struct{ t *testing.T }

func (f failReader) Read([]byte) (int, error) {
	f.t.Error("Reader read the body of a packet it had refused")
	return 0, io.ErrUnexpectedEOF
}

func TestReaderMaxSizeRefusesBeforeReadingTheBody(t *testing.T) {
	header := []byte{0x30, 0xff, 0xff, 0xff, 0x7f} // PUBLISH announcing 268,435,455 bytes
	r := NewReader(io.MultiReader(bytes.NewReader(header), failReader{t}), 16)
	r.MaxSize = 1 << 20
	if _, err := r.ReadPacket(); !errors.Is(err, ErrPacketTooLarge) {
		t.Fatalf("ReadPacket: %v, want ErrPacketTooLarge", err)
	}
}

// TestReaderAllocatesAsBytesArrive: with no MaxSize, a 5-byte header that
// announces 256 MiB must not cost 256 MiB before the bytes come.
func TestReaderAllocatesAsBytesArrive(t *testing.T) {
	stream := []byte{0x30, 0xff, 0xff, 0xff, 0x7f, 0x00, 0x01, 'a'}
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	_, err := NewReader(bytes.NewReader(stream), 16).ReadPacket()
	runtime.ReadMemStats(&after)
	if err != io.ErrUnexpectedEOF {
		t.Fatalf("ReadPacket: %v, want io.ErrUnexpectedEOF", err)
	}
	if grew := after.TotalAlloc - before.TotalAlloc; grew > 1<<20 {
		t.Errorf("ReadPacket allocated %d bytes for a 8-byte stream", grew)
	}
}

// TestReaderLargePacket reads packets bigger than the Reader's first body
// chunk, byte by byte, including both sides of Table 2.4's 4-byte boundary.
func TestReaderLargePacket(t *testing.T) {
	for _, rl := range []int{bodyChunk - 1, bodyChunk, bodyChunk + 1, 3*bodyChunk + 7, 2097151, 2097152} {
		p := &Publish{QoS: 1, PacketID: 9, Topic: "big", Payload: bytes.Repeat([]byte{0xa5}, rl-7)}
		wire, err := Encode(p)
		if err != nil {
			t.Fatal(err)
		}
		r := NewReader(iotest.OneByteReader(bytes.NewReader(wire)), 4096)
		got, err := r.ReadPacket()
		if err != nil || !reflect.DeepEqual(got, p) {
			t.Fatalf("remaining length %d: %v", rl, err)
		}
		if pl := got.(*Publish).Payload; cap(pl) != len(pl) {
			t.Errorf("remaining length %d: payload has %d bytes of spare capacity", rl, cap(pl)-len(pl))
		}
	}
}

// Table 2.4 - Size of Remaining Length field, and the examples of §2.2.3.
var remainingLengthCases = []struct {
	name  string
	value int
	wire  []byte
}{
	{"Table 2.4 one digit from 0", 0, []byte{0x00}},
	{"§2.2.3 example 64", 64, []byte{0x40}},
	{"Table 2.4 one digit to 127", 127, []byte{0x7f}},
	{"Table 2.4 two digits from 128", 128, []byte{0x80, 0x01}},
	{"§2.2.3 example 321", 321, []byte{0xc1, 0x02}},
	{"Table 2.4 two digits to 16383", 16383, []byte{0xff, 0x7f}},
	{"Table 2.4 three digits from 16384", 16384, []byte{0x80, 0x80, 0x01}},
	{"Table 2.4 three digits to 2097151", 2097151, []byte{0xff, 0xff, 0x7f}},
	{"Table 2.4 four digits from 2097152", 2097152, []byte{0x80, 0x80, 0x80, 0x01}},
	{"Table 2.4 four digits to 268435455", 268435455, []byte{0xff, 0xff, 0xff, 0x7f}},
}

func TestRemainingLength(t *testing.T) {
	for _, c := range remainingLengthCases {
		t.Run(c.name, func(t *testing.T) {
			if got := AppendRemainingLength([]byte{0xaa}, c.value); !bytes.Equal(got, slices.Concat([]byte{0xaa}, c.wire)) {
				t.Errorf("AppendRemainingLength(%d) = % x, want aa % x", c.value, got, c.wire)
			}
			v, n, err := DecodeRemainingLength(slices.Concat(c.wire, []byte{0xff}))
			if v != c.value || n != len(c.wire) || err != nil {
				t.Errorf("DecodeRemainingLength = %d, %d, %v; want %d, %d", v, n, err, c.value, len(c.wire))
			}
			for k := range len(c.wire) {
				if v, n, err := DecodeRemainingLength(c.wire[:k]); v != 0 || n != 0 || err != nil {
					t.Errorf("DecodeRemainingLength of %d bytes = %d, %d, %v; want a request for more", k, v, n, err)
				}
			}
			wire := slices.Concat([]byte{0x30}, c.wire)
			h, n, err := ParseFixedHeader(wire)
			if err != nil || n != len(wire) || h != (FixedHeader{PUBLISH, 0, c.value}) {
				t.Errorf("ParseFixedHeader = %+v, %d, %v", h, n, err)
			}
			h, n, err = NewReader(bytes.NewReader(wire), 16).ReadHeader()
			if err != nil || n != len(wire) || h != (FixedHeader{PUBLISH, 0, c.value}) {
				t.Errorf("ReadHeader = %+v, %d, %v", h, n, err)
			}
		})
	}
}

func TestRemainingLengthMalformed(t *testing.T) {
	for _, wire := range [][]byte{
		{0xff, 0xff, 0xff, 0xff, 0x7f}, // a fifth byte
		{0x80, 0x80, 0x80, 0x80},       // a fourth byte that announces a fifth
		{0x80, 0x80, 0x80, 0x80, 0x00},
	} {
		if _, _, err := DecodeRemainingLength(wire); err != ErrRemainingLength {
			t.Errorf("DecodeRemainingLength(% x) = %v, want ErrRemainingLength", wire, err)
		}
		full := slices.Concat([]byte{0xc0}, wire)
		if _, _, err := ParseFixedHeader(full); err != ErrRemainingLength {
			t.Errorf("ParseFixedHeader(% x) = %v, want ErrRemainingLength", full, err)
		}
		if _, _, err := NewReader(bytes.NewReader(full), 16).ReadHeader(); err != ErrRemainingLength {
			t.Errorf("ReadHeader(% x) = %v, want ErrRemainingLength", full, err)
		}
	}
}

// MQTT 3.1.1 has no rule against a longer-than-needed remaining length (MQTT
// 5.0 added [MQTT-1.5.5-1]), so the codec reads it and writes the short form.
func TestRemainingLengthNotMinimal(t *testing.T) {
	v, n, err := DecodeRemainingLength([]byte{0x80, 0x00})
	if v != 0 || n != 2 || err != nil {
		t.Errorf("DecodeRemainingLength(80 00) = %d, %d, %v", v, n, err)
	}
	p, n, err := Decode([]byte{0xc0, 0x80, 0x80, 0x00}, Version311)
	if err != nil || n != 4 {
		t.Fatalf("Decode(c0 80 80 00) = %v, %d, %v", p, n, err)
	}
	if wire, _ := Encode(p); !bytes.Equal(wire, []byte{0xc0, 0x00}) {
		t.Errorf("Encode = % x, want c0 00", wire)
	}
}

func TestParseFixedHeaderNeedsMore(t *testing.T) {
	for _, b := range [][]byte{nil, {0x30}, {0x30, 0x80}, {0x30, 0xff, 0xff, 0xff}} {
		if h, n, err := ParseFixedHeader(b); n != 0 || err != nil {
			t.Errorf("ParseFixedHeader(% x) = %+v, %d, %v; want a request for more", b, h, n, err)
		}
	}
}

func TestAppendHeaderLimit(t *testing.T) {
	if got, err := appendHeader(nil, PUBLISH, 0, MaxRemainingLength); err != nil || !bytes.Equal(got, []byte{0x30, 0xff, 0xff, 0xff, 0x7f}) {
		t.Errorf("appendHeader(MaxRemainingLength) = % x, %v", got, err)
	}
	if _, err := appendHeader(nil, PUBLISH, 0, MaxRemainingLength+1); err != ErrRemainingLengthTooLong {
		t.Errorf("appendHeader(MaxRemainingLength+1) = %v, want ErrRemainingLengthTooLong", err)
	}
}

// §1.5.3: strings are at most 65535 bytes [MQTT-4.7.3-3].
func TestEncodeStringTooLong(t *testing.T) {
	longest, over := strings.Repeat("a", 65535), strings.Repeat("a", 65536)
	for _, p := range []Packet{
		&Publish{Topic: longest},
		&Connect{ClientID: longest},
		&Subscribe{PacketID: 1, Subscriptions: []Subscription{{longest, 0}}},
	} {
		if _, err := Encode(p); err != nil {
			t.Errorf("%v with a 65535-byte string: %v", p.Type(), err)
		}
	}
	for _, p := range []Packet{
		&Publish{Topic: over},
		&Connect{ClientID: over},
		&Connect{WillFlag: true, WillTopic: "w", WillMessage: []byte(over)},
		&Connect{UsernameFlag: true, Username: over},
		&Connect{UsernameFlag: true, PasswordFlag: true, Password: []byte(over)},
		&Subscribe{PacketID: 1, Subscriptions: []Subscription{{over, 0}}},
		&Unsubscribe{PacketID: 1, Filters: []string{over}},
	} {
		if _, err := Encode(p); !errors.Is(err, ErrStringTooLong) {
			t.Errorf("%v with a 65536-byte string: %v, want ErrStringTooLong", p.Type(), err)
		}
	}
}

func TestConnectDefaults(t *testing.T) {
	// A zero Connect is written as protocol "MQTT" level 4.
	wire, err := Encode(&Connect{CleanSession: true})
	want := []byte{0x10, 12, 0, 4, 'M', 'Q', 'T', 'T', 4, 0x02, 0, 0, 0, 0}
	if err != nil || !bytes.Equal(wire, want) {
		t.Errorf("Encode(&Connect{}) = % x, %v; want % x", wire, err, want)
	}
}

// §1.5.3 UTF-8 encoded strings.
func TestValidateUTF8(t *testing.T) {
	for _, c := range []struct {
		name string
		in   string
		want error
	}{
		{"empty", "", nil},
		{"Figure 1.2 A U+2A6D4", "A\U0002A6D4", nil},
		{"U+FEFF kept [MQTT-1.5.3-3]", "\ufeff", nil},
		{"U+0001 control character (SHOULD NOT, accepted)", "\x01", nil},
		{"U+FFFF non-character (SHOULD NOT, accepted)", "\uffff", nil},
		{"U+10FFFF", "\U0010ffff", nil},
		{"U+0000 [MQTT-1.5.3-2]", "a\x00", ErrNullCharacter},
		{"lone continuation byte [MQTT-1.5.3-1]", "\x80", ErrMalformedUTF8},
		{"truncated sequence [MQTT-1.5.3-1]", "\xe2\x82", ErrMalformedUTF8},
		{"surrogate U+D800 [MQTT-1.5.3-1]", "\xed\xa0\x80", ErrMalformedUTF8},
		{"surrogate U+DFFF [MQTT-1.5.3-1]", "\xed\xbf\xbf", ErrMalformedUTF8},
		{"overlong C0 80 [MQTT-1.5.3-1]", "\xc0\x80", ErrMalformedUTF8},
		{"overlong E0 80 AF [MQTT-1.5.3-1]", "\xe0\x80\xaf", ErrMalformedUTF8},
		{"beyond U+10FFFF [MQTT-1.5.3-1]", "\xf4\x90\x80\x80", ErrMalformedUTF8},
		{"byte FF [MQTT-1.5.3-1]", "\xff", ErrMalformedUTF8},
	} {
		if err := ValidateUTF8([]byte(c.in)); err != c.want {
			t.Errorf("%s: ValidateUTF8(%q) = %v, want %v", c.name, c.in, err, c.want)
		}
	}
}

// §4.7 Topic Names and Topic Filters.
func TestValidateTopicName(t *testing.T) {
	for _, c := range []struct {
		topic string
		want  error
	}{
		{"sport/tennis/player1", nil},
		{"/finance", nil},
		{"/", nil},
		{" ", nil},
		{"$SYS/broker/uptime", nil},
		{"ACCOUNTS", nil},
		{"\ufeff", nil},
		{"", ErrTopicEmpty},
		{"+", ErrTopicWildcard},
		{"#", ErrTopicWildcard},
		{"sport/+/player1", ErrTopicWildcard},
		{"sport/tennis/#", ErrTopicWildcard},
		{"sport+", ErrTopicWildcard},
	} {
		if err := ValidateTopicName(c.topic); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("ValidateTopicName(%q) = %v, want %v", c.topic, err, c.want)
		}
	}
}

func TestValidateTopicFilter(t *testing.T) {
	for _, c := range []struct {
		name, filter string
		want         error
	}{
		{"§4.7.1.2 example", "sport/tennis/player1/#", nil},
		{"§4.7.1.2 # alone", "#", nil},
		{"§4.7.1.2 sport/#", "sport/#", nil},
		{"§4.7.1.2 sport/tennis# [MQTT-4.7.1-2]", "sport/tennis#", ErrFilterMultiLevel},
		{"§4.7.1.2 sport/tennis/#/ranking [MQTT-4.7.1-2]", "sport/tennis/#/ranking", ErrFilterMultiLevel},
		{"§4.7.1.2 ## [MQTT-4.7.1-2]", "##", ErrFilterMultiLevel},
		{"§4.7.1.2 #/ [MQTT-4.7.1-2]", "#/", ErrFilterMultiLevel},
		{"§4.7.1.2 #a [MQTT-4.7.1-2]", "#a", ErrFilterMultiLevel},
		{"§4.7.1.3 + alone", "+", nil},
		{"§4.7.1.3 +/tennis/#", "+/tennis/#", nil},
		{"§4.7.1.3 sport/+/player1", "sport/+/player1", nil},
		{"§4.7.1.3 /+", "/+", nil},
		{"§4.7.1.3 +/+", "+/+", nil},
		{"§4.7.1.3 sport+ [MQTT-4.7.1-3]", "sport+", ErrFilterSingleLevel},
		{"§4.7.1.3 a+ [MQTT-4.7.1-3]", "a+", ErrFilterSingleLevel},
		{"§4.7.1.3 ++ [MQTT-4.7.1-3]", "a/++", ErrFilterSingleLevel},
		{"§4.7.1 +# in one level", "+#", ErrFilterMultiLevel},
		{"§4.7.3 empty [MQTT-4.7.3-1]", "", ErrTopicEmpty},
		{"§4.7.3 empty levels", "//", nil},
		{"§4.7.2 $SYS/#", "$SYS/#", nil},
	} {
		if err := ValidateTopicFilter(c.filter); !errors.Is(err, c.want) || (c.want == nil) != (err == nil) {
			t.Errorf("%s: ValidateTopicFilter(%q) = %v, want %v", c.name, c.filter, err, c.want)
		}
	}
}

var matchTopicCases = []struct {
	name, filter, topic string
	want                bool
}{
	{"§4.7.1.2 sport/tennis/player1/# parent", "sport/tennis/player1/#", "sport/tennis/player1", true},
	{"§4.7.1.2 sport/tennis/player1/# child", "sport/tennis/player1/#", "sport/tennis/player1/ranking", true},
	{"§4.7.1.2 sport/tennis/player1/# grandchild", "sport/tennis/player1/#", "sport/tennis/player1/score/wimbledon", true},
	{"§4.7.1.2 sport/# matches sport", "sport/#", "sport", true},
	{"§4.7.1.2 a/# matches a", "a/#", "a", true},
	{"§4.7.1.2 a/# matches an empty child level", "a/#", "a/", true},
	{"§4.7.1.2 a/b/# does not match a", "a/b/#", "a", false},
	{"§4.7.1.2 # matches everything", "#", "sport/tennis", true},
	{"§4.7.1.2 # matches /", "#", "/", true},
	{"§4.7.1.3 sport/tennis/+ player1", "sport/tennis/+", "sport/tennis/player1", true},
	{"§4.7.1.3 sport/tennis/+ player2", "sport/tennis/+", "sport/tennis/player2", true},
	{"§4.7.1.3 sport/tennis/+ not two levels", "sport/tennis/+", "sport/tennis/player1/ranking", false},
	{"§4.7.1.3 sport/tennis/+ not the parent", "sport/tennis/+", "sport/tennis", false},
	{"§4.7.1.3 sport/+ not sport", "sport/+", "sport", false},
	{"§4.7.1.3 sport/+ matches sport/", "sport/+", "sport/", true},
	{"§4.7.1.3 +/+ matches /finance", "+/+", "/finance", true},
	{"§4.7.1.3 /+ matches /finance", "/+", "/finance", true},
	{"§4.7.1.3 + not /finance", "+", "/finance", false},
	{"§4.7.1.3 +/# matches a", "+/#", "a", true},
	{"§4.7.1.3 a/+/c", "a/+/c", "a/b/c", true},
	{"§4.7.1.3 a/+/c wrong last level", "a/+/c", "a/b/d", false},
	{"§4.7.2 # not $SYS/x [MQTT-4.7.2-1]", "#", "$SYS/x", false},
	{"§4.7.2 +/x not $SYS/x [MQTT-4.7.2-1]", "+/x", "$SYS/x", false},
	{"§4.7.2 +/monitor/Clients not $SYS/monitor/Clients", "+/monitor/Clients", "$SYS/monitor/Clients", false},
	{"§4.7.2 $SYS/# matches $SYS/x", "$SYS/#", "$SYS/x", true},
	{"§4.7.2 $SYS/monitor/+ matches $SYS/monitor/Clients", "$SYS/monitor/+", "$SYS/monitor/Clients", true},
	{"§4.7.2 $SYS/# matches $SYS", "$SYS/#", "$SYS", true},
	{"§4.7.2 a/$b matched by a/+", "a/+", "a/$b", true},
	{"§4.7.3 case sensitive ACCOUNTS", "ACCOUNTS", "Accounts", false},
	{"§4.7.3 exact", "Accounts payable", "Accounts payable", true},
	{"§4.7.3 / is distinct", "/finance", "finance", false},
	{"§4.7.3 trailing /", "a", "a/", false},
	{"§4.7.3 no normalisation [MQTT-4.7.3-4]", "\u00e9", "e\u0301", false},
	{"§4.7.3 U+FEFF kept", "\ufeffa", "a", false},
	{"exact longer topic", "a/b", "a/b/c", false},
	{"exact shorter topic", "a/b/c", "a/b", false},
}

func TestMatchTopic(t *testing.T) {
	for _, c := range matchTopicCases {
		if err := ValidateTopicFilter(c.filter); err != nil {
			t.Errorf("%s: filter %q: %v", c.name, c.filter, err)
		}
		if err := ValidateTopicName(c.topic); err != nil {
			t.Errorf("%s: topic %q: %v", c.name, c.topic, err)
		}
		if got := MatchTopic(c.filter, c.topic); got != c.want {
			t.Errorf("%s: MatchTopic(%q, %q) = %v, want %v", c.name, c.filter, c.topic, got, c.want)
		}
		if got := referenceMatch(c.filter, c.topic); got != c.want {
			t.Errorf("%s: referenceMatch(%q, %q) = %v, want %v", c.name, c.filter, c.topic, got, c.want)
		}
	}
}

// referenceMatch is §4.7 spelled out level by level, for valid input only.
func referenceMatch(filter, topic string) bool {
	if strings.HasPrefix(topic, "$") && (strings.HasPrefix(filter, "+") || strings.HasPrefix(filter, "#")) {
		return false // [MQTT-4.7.2-1]
	}
	fl, tl := strings.Split(filter, "/"), strings.Split(topic, "/")
	for i, l := range fl {
		if l == "#" {
			return true // the rest, including the parent level
		}
		if i >= len(tl) || (l != "+" && l != tl[i]) {
			return false
		}
	}
	return len(fl) == len(tl)
}

var statementID = regexp.MustCompile(`^(MQTT-\d+(\.\d+)*(\.-|-)\d+|MQTT-3-8\.3-4|§\d+(\.\d+)*)$`)

func TestViolation(t *testing.T) {
	for _, v := range []*Violation{ErrReservedFlags, ErrRemainingLength, ErrShortPacket, ErrTrailingBytes,
		ErrPacketTooLarge, ErrUnknownType, ErrMalformedUTF8, ErrNullCharacter, ErrZeroPacketID,
		ErrProtocolName, ErrProtocolLevel, ErrConnectReserved, ErrWillFlags, ErrWillQoS,
		ErrPasswordWithoutUser, ErrConnackReserved, ErrConnackCode, ErrSessionPresentRefused,
		ErrPublishDupQoS0, ErrPublishQoS3, ErrTopicWildcard, ErrTopicEmpty, ErrFilterMultiLevel,
		ErrFilterSingleLevel, ErrSubscribeEmpty, ErrSubscribeOptions, ErrSubackCode,
		ErrUnsubscribeEmpty, ErrStringTooLong, ErrRemainingLengthTooLong} {
		if !statementID.MatchString(v.Rule) || v.Reason == "" {
			t.Errorf("%v: rule %q is not a statement ID or section", v, v.Rule)
		}
		if RuleOf(v) != v.Rule || RuleOf(fmt.Errorf("wrapped: %w", v)) != v.Rule {
			t.Errorf("RuleOf(%v) lost the rule", v)
		}
	}
	if RuleOf(nil) != "" || RuleOf(io.EOF) != "" {
		t.Error("RuleOf of a non-violation is not empty")
	}
	_, _, err := Decode([]byte{0x60, 0x02, 0x00, 0x01}, Version311) // PUBREL flags 0000
	if !errors.Is(err, ErrReservedFlags) || errors.Is(err, ErrUnknownType) || RuleOf(err) != "MQTT-3.6.1-1" {
		t.Errorf("PUBREL flags 0000: %v (rule %q)", err, RuleOf(err))
	}
	if want := "[MQTT-3.6.1-1] invalid fixed-header flags: PUBREL flags 0000, want 0010"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}

func TestTypeString(t *testing.T) {
	for ty, want := range map[Type]string{0: "RESERVED", CONNECT: "CONNECT", PUBREL: "PUBREL",
		DISCONNECT: "DISCONNECT", 15: "RESERVED", 16: "Type(16)"} {
		if got := ty.String(); got != want {
			t.Errorf("Type(%d).String() = %q, want %q", byte(ty), got, want)
		}
	}
	for _, ty := range []Type{0, 15, 16} {
		if _, err := New(ty); !errors.Is(err, ErrUnknownType) {
			t.Errorf("New(%d) = %v, want ErrUnknownType", ty, err)
		}
	}
}
