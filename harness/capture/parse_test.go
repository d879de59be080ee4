package capture

import (
	"bytes"
	"errors"
	"maps"
	"net/netip"
	"slices"
	"testing"

	"golang.org/x/net/bpf"
)

func TestMQTTFrames(t *testing.T) {
	for _, tc := range []struct {
		name     string
		in       []byte
		frames   []mqttFrame
		complete int
		err      error
	}{
		{name: "empty"},
		{name: "PINGREQ", in: []byte{0xc0, 0x00}, frames: []mqttFrame{{0, 2, "PINGREQ"}}, complete: 2},
		{name: "PINGREQ and PINGRESP coalesced", in: []byte{0xc0, 0x00, 0xd0, 0x00},
			frames: []mqttFrame{{0, 2, "PINGREQ"}, {2, 2, "PINGRESP"}}, complete: 4},
		{name: "CONNACK", in: mqttConnack, frames: []mqttFrame{{0, 4, "CONNACK"}}, complete: 4},
		{name: "header cut after byte 1", in: []byte{0x30}},
		{name: "remaining length cut", in: []byte{0x30, 0xc8}},
		{name: "body cut", in: mqttPublish(200)[:50], frames: []mqttFrame{{0, 206, "PUBLISH"}}},
		{name: "two-byte remaining length", in: mqttPublish(200), frames: []mqttFrame{{0, 206, "PUBLISH"}}, complete: 206},
		{name: "three-byte remaining length", in: mqttPublish(20000), frames: []mqttFrame{{0, 20007, "PUBLISH"}}, complete: 20007},
		// MQTT 3.1.1 §2.2.3: 0xFF 0xFF 0xFF 0x7F is 268,435,455, the largest.
		{name: "largest remaining length", in: []byte{0x30, 0xff, 0xff, 0xff, 0x7f}, frames: []mqttFrame{{0, 268435460, "PUBLISH"}}},
		{name: "five-byte remaining length", in: []byte{0x30, 0xff, 0xff, 0xff, 0xff, 0x01}, err: errMQTTVarint},
		{name: "reserved type 0", in: []byte{0xc0, 0x00, 0x00, 0x00}, frames: []mqttFrame{{0, 2, "PINGREQ"}}, complete: 2, err: errMQTTReservedType},
		{name: "AUTH (MQTT 5)", in: []byte{0xf0, 0x00}, frames: []mqttFrame{{0, 2, "AUTH"}}, complete: 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			frames, complete, err := mqttFrames(tc.in)
			if !slices.Equal(frames, tc.frames) || complete != tc.complete || !errors.Is(err, tc.err) {
				t.Errorf("got %v %d %v, want %v %d %v", frames, complete, err, tc.frames, tc.complete, tc.err)
			}
		})
	}
}

func TestTLSRecords(t *testing.T) {
	ping12 := mkRecord(recApplicationData, opaque(26))
	for _, tc := range []struct {
		name string
		in   []byte
		want []tlsRecord // Body compared by length
		err  bool
	}{
		{name: "empty"},
		{name: "header cut", in: ping12[:3]},
		{name: "one record", in: ping12, want: []tlsRecord{{Off: 0, Type: 23, Version: 0x0303, Len: 26, Body: opaque(26)}}},
		{name: "body cut", in: ping12[:10], want: []tlsRecord{{Off: 0, Type: 23, Version: 0x0303, Len: 26, Body: opaque(5)}}},
		{name: "two records and a cut header", in: append(append(mkRecord(20, []byte{1}), ping12...), 0x17, 0x03),
			want: []tlsRecord{{Off: 0, Type: 20, Version: 0x0303, Len: 1, Body: []byte{1}}, {Off: 6, Type: 23, Version: 0x0303, Len: 26, Body: opaque(26)}}},
		{name: "ClientHello record version 3.1", in: []byte{0x16, 0x03, 0x01, 0x00, 0x00},
			want: []tlsRecord{{Off: 0, Type: 22, Version: 0x0301, Len: 0, Body: []byte{}}}},
		{name: "unknown content type", in: []byte{0x19, 0x03, 0x03, 0x00, 0x01, 0x00}, err: true},
		{name: "not TLS (HTTP)", in: []byte("GET / HTTP/1.1\r\n"), err: true},
		{name: "SSLv2-style version", in: []byte{0x16, 0x02, 0x00, 0x00, 0x01, 0x00}, err: true},
		{name: "longest record", in: []byte{0x17, 0x03, 0x03, 0x48, 0x00},
			want: []tlsRecord{{Off: 0, Type: 23, Version: 0x0303, Len: 18432, Body: []byte{}}}},
		{name: "too long", in: []byte{0x17, 0x03, 0x03, 0x48, 0x01}, err: true},
		{name: "good then garbage", in: append(bytes.Clone(ping12), 0, 0, 0, 0, 0), want: []tlsRecord{{Off: 0, Type: 23, Version: 0x0303, Len: 26, Body: opaque(26)}}, err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tlsRecords(tc.in)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("%d records, want %d", len(got), len(tc.want))
			}
			for i := range got {
				g, w := got[i], tc.want[i]
				if g.Off != w.Off || g.Type != w.Type || g.Version != w.Version || g.Len != w.Len || !bytes.Equal(g.Body, w.Body) {
					t.Errorf("record %d: %+v, want %+v", i, g, w)
				}
				if !bytes.Equal(g.header(), tc.in[g.Off:g.Off+5]) {
					t.Errorf("record %d: header %x", i, g.header())
				}
			}
		})
	}
}

func TestHelloParsing(t *testing.T) {
	for _, tc := range []struct {
		name string
		body []byte
		want serverHello
		err  bool
	}{
		{name: "TLS 1.3 X25519MLKEM768", body: mkServerHello(7, 0x1301, 0x0304, 0x11ec, 1120),
			want: serverHello{Version: 0x0304, Suite: 0x1301, Group: 0x11ec}},
		{name: "TLS 1.2 no extensions", body: mkServerHello(7, 0xc02f, 0x0303, 0, 0)[:38],
			want: serverHello{Version: 0x0303, Suite: 0xc02f}},
		{name: "TLS 1.2 empty extensions", body: mkServerHello(7, 0xc02f, 0x0303, 0, 0),
			want: serverHello{Version: 0x0303, Suite: 0xc02f}},
		{name: "HelloRetryRequest", body: func() []byte {
			b := mkServerHello(0, 0x1301, 0x0304, 0x001d, 0)
			copy(b[2:34], helloRetryRandom[:])
			return b
		}(), want: serverHello{Version: 0x0304, Suite: 0x1301, Group: 0x001d, HRR: true}},
		{name: "cut in random", body: mkServerHello(7, 0x1301, 0x0304, 0x11ec, 32)[:20], err: true},
		{name: "extension longer than its list", body: func() []byte {
			b := mkServerHello(7, 0x1301, 0x0304, 0, 0)
			b[len(b)-3] = 9 // supported_versions claims 9 bytes
			return b
		}(), err: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseServerHello(tc.body)
			if (err != nil) != tc.err {
				t.Fatalf("error %v, want error %v", err, tc.err)
			}
			if err != nil {
				return
			}
			got.Random = nil
			if got.Version != tc.want.Version || got.Suite != tc.want.Suite || got.Group != tc.want.Group || got.HRR != tc.want.HRR {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
	if r, err := parseClientHelloRandom(mkClientHello(9)); err != nil || !bytes.Equal(r, bytes.Repeat([]byte{9}, 32)) {
		t.Errorf("ClientHello random %x, %v", r, err)
	}
	if _, err := parseClientHelloRandom([]byte{3, 3, 1}); err == nil {
		t.Error("short ClientHello parsed")
	}
	if g, ok := parseServerKeyExchangeGroup([]byte{3, 0x00, 0x1d, 32}); !ok || groupName(g) != "X25519" {
		t.Errorf("ServerKeyExchange group %x %v", g, ok)
	}
	if _, ok := parseServerKeyExchangeGroup([]byte{1, 0x00}); ok {
		t.Error("explicit curve taken for a named group")
	}
	if n := suiteParams(0x1302).finishedRecordLen(); n != 4+48+1+16 {
		t.Errorf("TLS_AES_256_GCM_SHA384 Finished record %d", n)
	}
}

// TestAppLayout: where the plaintext sits, per suite (ENERGY.md "Bytes
// that matter": a 2-byte PINGREQ is 31 bytes over TLS 1.2 AES-GCM, 24
// over TLS 1.3).
func TestAppLayout(t *testing.T) {
	for _, tc := range []struct {
		suite       uint16
		version     uint16
		body        int
		start, size int
	}{
		{0xc02b, 0x0303, 26, 8, 2},   // ECDHE-ECDSA-AES128-GCM: nonce 8, tag 16
		{0xc02f, 0x0303, 26, 8, 2},   // ECDHE-RSA-AES128-GCM
		{0xcca9, 0x0303, 18, 0, 2},   // ECDHE-ECDSA-CHACHA20-POLY1305: tag 16
		{0xc009, 0x0303, 48, 16, 11}, // ECDHE-ECDSA-AES128-CBC-SHA: IV 16, MAC 20, padding ≥ 1
		{0x1301, 0x0304, 19, 0, 2},   // TLS 1.3: content type 1, tag 16
		{0x1303, 0x0304, 19, 0, 2},
	} {
		s := suiteParams(tc.suite)
		start, size := s.appLayout(tc.version, tc.body, 0)
		if start != tc.start || size != tc.size {
			t.Errorf("%s: body %d: plaintext at %d size %d, want %d %d", s.Name, tc.body, start, size, tc.start, tc.size)
		}
	}
}

// mqttSession is a client and server MQTT stream.
func mqttSession() (client, server [][]byte) {
	client = [][]byte{mqttConnect, mqttPublish(200), mqttPublish(20000), mqttPingreq, mqttDisconnect}
	server = [][]byte{mqttConnack, mqttPingresp}
	return
}

// firstCarrier finds, independently of Analyze, the packet that first
// carried stream byte off of direction d.
func firstCarrier(pkts []Packet, d Direction, isn uint32, off int) int {
	for i, p := range pkts {
		if p.Dir != d || len(p.Payload) == 0 {
			continue
		}
		start := int(int32(p.Seq - isn - 1))
		if start <= off && off < start+len(p.Payload) {
			return i
		}
	}
	return -1
}

func TestMQTTReassembly(t *testing.T) {
	client, server := mqttSession()
	cs, ss := bytes.Join(client, nil), bytes.Join(server, nil)
	for _, tc := range []struct {
		name string
		send func(c *synthConn)
	}{
		{name: "one packet per segment", send: func(c *synthConn) {
			c.send(ToServer, client[0])
			c.send(ToClient, server[0])
			for _, p := range client[1:4] {
				c.send(ToServer, p)
			}
			c.send(ToClient, server[1])
			c.send(ToServer, client[4])
		}},
		{name: "coalesced", send: func(c *synthConn) {
			c.send(ToServer, cs)
			c.send(ToClient, ss)
		}},
		{name: "byte by byte", send: func(c *synthConn) {
			var cuts []int
			for i := 1; i < 40; i++ {
				cuts = append(cuts, i)
			}
			c.sendCut(ToServer, cs, append(cuts, len(cs)-3, len(cs)-1)...)
			c.sendCut(ToClient, ss, 1, 2, 3, 4, 5)
		}},
		{name: "cut in the remaining length", send: func(c *synthConn) {
			// after PUBLISH(200)'s first byte and between its two length bytes
			p := len(client[0])
			q := p + len(client[1])
			c.sendCut(ToServer, cs, p+1, p+2, q+1, q+2, q+3)
			c.sendCut(ToClient, ss, 1)
		}},
		{name: "segment boundaries inside bodies", send: func(c *synthConn) {
			c.sendCut(ToServer, cs, 7, 100, 5000, 16384, 16390, 20200)
			c.send(ToClient, ss)
		}},
		{name: "retransmission", send: func(c *synthConn) {
			c.sendCut(ToServer, cs, 18, 5000)
			c.resend(ToServer, 18, 5000)
			c.send(ToClient, ss)
			c.resend(ToClient, 0, len(ss))
		}},
		{name: "repacketized retransmission", send: func(c *synthConn) {
			c.sendCut(ToServer, cs, 10, 20, 30)
			c.resend(ToServer, 5, 25) // overlaps three segments
			c.send(ToClient, ss)
		}},
		{name: "out of order", send: func(c *synthConn) {
			base := c.seq[ToServer]
			c.raw(ToServer, base+18, tcpACK, cs[18:])
			c.raw(ToServer, base, tcpACK, cs[:18])
			c.seq[ToServer] += uint32(len(cs))
			c.sent[ToServer] = cs
			c.send(ToClient, ss)
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSynthConn()
			tc.send(c)
			pkts := c.close()
			acc := Analyze(pkts, nil, nil)
			want := map[string]int{"CONNECT": 1, "PUBLISH": 2, "PINGREQ": 1, "DISCONNECT": 1, "CONNACK": 1, "PINGRESP": 1}
			if !maps.Equal(acc.MQTT, want) {
				t.Errorf("MQTT %v, want %v", acc.MQTT, want)
			}
			if acc.ByDir[ToServer].AppBytes != len(cs) || acc.ByDir[ToClient].AppBytes != len(ss) {
				t.Errorf("app bytes %d/%d, want %d/%d", acc.ByDir[ToServer].AppBytes, acc.ByDir[ToClient].AppBytes, len(cs), len(ss))
			}
			if acc.TLSOverhead != 0 || acc.TLSRecords != 0 || acc.Connections != 1 || len(acc.Notes) != 0 {
				t.Errorf("account %+v", acc)
			}
			var payload, wire int
			for _, p := range pkts {
				payload += p.PayloadLen
				wire += p.WireLen
			}
			if acc.TCPPayloadBytes != payload || acc.WireBytes != wire || acc.Frames != len(pkts) {
				t.Errorf("layers %+v, want payload %d wire %d frames %d", acc.Layers, payload, wire, len(pkts))
			}
			// Each control packet is counted on the segment that first
			// carried its first byte, and only there.
			for d, stream := range [][][]byte{client, server} {
				isn := uint32(synthISNClient)
				if d == int(ToClient) {
					isn = synthISNServer
				}
				off := 0
				for _, m := range stream {
					i := firstCarrier(pkts, Direction(d), isn, off)
					one := Analyze(pkts, nil, func(p Packet) bool { return p.Time.Equal(pkts[i].Time) })
					name := mqttTypeNames[m[0]>>4]
					if one.MQTT[name] < 1 {
						t.Errorf("%s at %d: not counted on packet %d (%v)", name, off, i, one.MQTT)
					}
					off += len(m)
				}
			}
			// The per-packet sums add up to the whole.
			var sum Layers
			for i := range pkts {
				one := Analyze(pkts, nil, func(p Packet) bool { return p.Time.Equal(pkts[i].Time) })
				sum.add(one.Layers)
			}
			if sum != acc.Layers {
				t.Errorf("per-packet sum %+v, total %+v", sum, acc.Layers)
			}
		})
	}
}

// tls12Flights is a TLS 1.2 ECDHE-ECDSA-AES128-GCM session: records by
// flight, and what each direction carries.
func tls12Flights() (client, server [][]byte) {
	ske := append([]byte{3, 0x00, 0x1d, 32}, opaque(32+72)...)
	client = [][]byte{
		mkRecord(recHandshake, hsMsg(hsClientHello, mkClientHello(0x11))), // 52
		mkRecord(recHandshake, hsMsg(16, opaque(33))),                     // ClientKeyExchange, 42
		mkRecord(recChangeCipherSpec, []byte{1}),                          // 6
		mkRecord(recHandshake, opaque(40)),                                // encrypted Finished, 45
		mkRecord(recApplicationData, opaque(8+2+16)),                      // PINGREQ, 31
		mkRecord(recApplicationData, opaque(8+1000+16)),                   // 1029
	}
	server = [][]byte{
		mkRecord(recHandshake, bytes.Join([][]byte{
			hsMsg(hsServerHello, mkServerHello(0x22, 0xc02b, 0x0303, 0, 0)), // 44
			hsMsg(11, opaque(300)),          // Certificate, 304
			hsMsg(hsServerKeyExchange, ske), // 112
			hsMsg(14, nil),                  // ServerHelloDone, 4
		}, nil)), // 469
		mkRecord(recChangeCipherSpec, []byte{1}),     // 6
		mkRecord(recHandshake, opaque(40)),           // 45
		mkRecord(recApplicationData, opaque(8+2+16)), // PINGRESP, 31
	}
	return
}

// tls13Flights is a TLS 1.3 session as Go runs it (TLS_AES_128_GCM_SHA256,
// X25519MLKEM768, session ticket in the server's first flight).
func tls13Flights() (client, server [][]byte) {
	client = [][]byte{
		mkRecord(recHandshake, hsMsg(hsClientHello, mkClientHello(0x33))), // 52
		mkRecord(recChangeCipherSpec, []byte{1}),                          // 6
		mkRecord(recApplicationData, opaque(4+32+1+16)),                   // Finished, 58
		mkRecord(recApplicationData, opaque(2+1+16)),                      // PINGREQ, 24
	}
	server = [][]byte{
		mkRecord(recHandshake, hsMsg(hsServerHello, mkServerHello(0x44, 0x1301, 0x0304, 0x11ec, 1120))), // 1183
		mkRecord(recChangeCipherSpec, []byte{1}),                                                        // 6
		mkRecord(recApplicationData, opaque(4+2+17)),                                                    // EncryptedExtensions, 28
		mkRecord(recApplicationData, opaque(4+400+17)),                                                  // Certificate, 426
		mkRecord(recApplicationData, opaque(4+80+17)),                                                   // CertificateVerify, 106
		mkRecord(recApplicationData, opaque(4+32+17)),                                                   // Finished, 58
		mkRecord(recApplicationData, opaque(4+200+17)),                                                  // NewSessionTicket, 226
		mkRecord(recApplicationData, opaque(2+1+16)),                                                    // PINGRESP, 24
	}
	return
}

func TestTLSAccounting(t *testing.T) {
	c12, s12 := tls12Flights()
	c13, s13 := tls13Flights()
	closeNotify := mkRecord(recApplicationData, opaque(2+1+16))
	type dirWant struct{ records, overhead, app int }
	for _, tc := range []struct {
		name                string
		send                func(c *synthConn)
		serverClosesFirst   bool
		version, suite, kex string
		handshake           int
		toServer, toClient  dirWant
	}{
		{
			name: "TLS 1.2, one segment per flight",
			send: func(c *synthConn) {
				c.send(ToServer, c12[0])
				c.send(ToClient, bytes.Join(s12[:1], nil))
				c.send(ToServer, bytes.Join(c12[1:4], nil))
				c.send(ToClient, bytes.Join(s12[1:3], nil))
				c.send(ToServer, c12[4])
				c.send(ToClient, s12[3])
				c.send(ToServer, c12[5])
			},
			version: "1.2", suite: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", kex: "X25519",
			handshake: 52 + 42 + 6 + 45 + 469 + 6 + 45,
			toServer:  dirWant{6, 145 + 29 + 29, 1002},
			toClient:  dirWant{4, 520 + 29, 2},
		},
		{
			name: "TLS 1.2, records cut everywhere, retransmitted",
			send: func(c *synthConn) {
				c.sendCut(ToServer, c12[0], 1, 3, 5, 6, 40)
				c.sendCut(ToClient, s12[0], 2, 4, 5, 9, 50, 400)
				c.resend(ToClient, 3, 60)
				c.sendCut(ToServer, bytes.Join(c12[1:], nil), 41, 43, 50, 95, 100, 130, 131)
				c.sendCut(ToClient, bytes.Join(s12[1:], nil), 5, 7)
			},
			version: "1.2", suite: "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", kex: "X25519",
			handshake: 52 + 42 + 6 + 45 + 469 + 6 + 45,
			toServer:  dirWant{6, 145 + 29 + 29, 1002},
			toClient:  dirWant{4, 520 + 29, 2},
		},
		{
			name: "TLS 1.3, Go's flights",
			send: func(c *synthConn) {
				c.send(ToServer, c13[0])
				c.send(ToClient, bytes.Join(s13[:7], nil))
				c.send(ToServer, bytes.Join(c13[1:3], nil))
				c.send(ToServer, c13[3])
				c.send(ToClient, s13[7])
				c.send(ToServer, closeNotify)
			},
			version: "1.3", suite: "TLS_AES_128_GCM_SHA256", kex: "X25519MLKEM768",
			handshake: 52 + 6 + 58 + 1183 + 6 + 28 + 426 + 106 + 58 + 226,
			toServer:  dirWant{5, 116 + 22 + 24, 2},
			toClient:  dirWant{8, 2033 + 22, 2},
		},
		{
			name: "TLS 1.3, server closes on close_notify before the client's FIN",
			send: func(c *synthConn) {
				c.send(ToServer, c13[0])
				c.send(ToClient, bytes.Join(s13[:7], nil))
				c.send(ToServer, bytes.Join(c13[1:], nil))
				c.send(ToClient, s13[7])
				c.send(ToServer, closeNotify)
			},
			serverClosesFirst: true,
			version:           "1.3", suite: "TLS_AES_128_GCM_SHA256", kex: "X25519MLKEM768",
			handshake: 52 + 6 + 58 + 1183 + 6 + 28 + 426 + 106 + 58 + 226,
			toServer:  dirWant{5, 116 + 22 + 24, 2},
			toClient:  dirWant{8, 2033 + 22, 2},
		},
		{
			name: "TLS 1.3, Finished and data in one segment, close_notify",
			send: func(c *synthConn) {
				c.send(ToServer, c13[0])
				c.sendCut(ToClient, bytes.Join(s13[:7], nil), 1000, 1300)
				c.send(ToServer, bytes.Join(c13[1:], nil))
				c.send(ToClient, s13[7])
				c.send(ToServer, closeNotify) // then the FIN, nothing between
			},
			version: "1.3", suite: "TLS_AES_128_GCM_SHA256", kex: "X25519MLKEM768",
			handshake: 52 + 6 + 58 + 1183 + 6 + 28 + 426 + 106 + 58 + 226,
			toServer:  dirWant{5, 116 + 22 + 24, 2},
			toClient:  dirWant{8, 2033 + 22, 2},
		},
		{
			name: "TLS 1.3 with HelloRetryRequest",
			send: func(c *synthConn) {
				hrr := mkServerHello(0, 0x1301, 0x0304, 0x001d, 0)
				copy(hrr[2:34], helloRetryRandom[:])
				c.send(ToServer, c13[0])
				c.send(ToClient, bytes.Join([][]byte{mkRecord(recHandshake, hsMsg(hsServerHello, hrr)), s13[1]}, nil)) // 61 + 6
				c.send(ToServer, bytes.Join([][]byte{c13[1], mkRecord(recHandshake, hsMsg(hsClientHello, mkClientHello(0x33)))}, nil))
				sh := mkRecord(recHandshake, hsMsg(hsServerHello, mkServerHello(0x44, 0x1301, 0x0304, 0x001d, 32))) // 95
				c.send(ToClient, bytes.Join(append([][]byte{sh}, s13[2:7]...), nil))
				c.send(ToServer, bytes.Join(c13[2:], nil))
				c.send(ToClient, s13[7])
				c.send(ToServer, closeNotify)
			},
			version: "1.3", suite: "TLS_AES_128_GCM_SHA256", kex: "X25519",
			handshake: 52 + 6 + 52 + 58 + 61 + 6 + 95 + 28 + 426 + 106 + 58 + 226,
			toServer:  dirWant{6, 168 + 22 + 24, 2},
			toClient:  dirWant{9, 1006 + 22, 2},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newSynthConn()
			tc.send(c)
			var pkts []Packet
			if tc.serverClosesFirst {
				pkts = c.closeServerFirst()
			} else {
				pkts = c.close()
			}
			acc := Analyze(pkts, func(s netip.AddrPort) (Kind, Proto) { return TLS, MQTT }, nil)
			if acc.TLSVersion != tc.version || acc.CipherSuite != tc.suite || acc.KeyExchange != tc.kex || acc.HandshakeBytes != tc.handshake {
				t.Errorf("TLS %q %q %q handshake %d, want %q %q %q %d", acc.TLSVersion, acc.CipherSuite, acc.KeyExchange, acc.HandshakeBytes,
					tc.version, tc.suite, tc.kex, tc.handshake)
			}
			for d, want := range []dirWant{tc.toServer, tc.toClient} {
				got := acc.ByDir[d]
				if got.TLSRecords != want.records || got.TLSOverhead != want.overhead || got.AppBytes != want.app {
					t.Errorf("%s: records %d overhead %d app %d, want %+v", Direction(d), got.TLSRecords, got.TLSOverhead, got.AppBytes, want)
				}
				if got.TLSOverhead+got.AppBytes != len(c.sent[d]) {
					t.Errorf("%s: overhead + app = %d, stream %d", Direction(d), got.TLSOverhead+got.AppBytes, len(c.sent[d]))
				}
			}
			if len(acc.MQTT) != 0 {
				t.Errorf("MQTT packets inside TLS without keys: %v", acc.MQTT)
			}
		})
	}
}

func TestNotTLS(t *testing.T) {
	c := newSynthConn()
	c.send(ToServer, mqttConnect)
	c.send(ToClient, mqttConnack)
	acc := Analyze(c.close(), func(netip.AddrPort) (Kind, Proto) { return TLS, MQTT }, nil)
	if acc.AppBytes != 0 || acc.TLSOverhead != 0 || len(acc.Notes) == 0 {
		t.Errorf("plain MQTT taken for TLS: %+v", acc)
	}
}

func TestGapInCapture(t *testing.T) {
	client, _ := mqttSession()
	cs := bytes.Join(client, nil)
	c := newSynthConn()
	base := c.seq[ToServer]
	c.raw(ToServer, base, tcpACK, cs[:18])
	c.raw(ToServer, base+100, tcpACK, cs[100:]) // bytes 18..100 never captured
	c.seq[ToServer] += uint32(len(cs))
	acc := Analyze(c.close(), nil, nil)
	if acc.MQTT["CONNECT"] != 1 || acc.MQTT["PUBLISH"] != 0 || len(acc.Notes) == 0 {
		t.Errorf("MQTT %v notes %q", acc.MQTT, acc.Notes)
	}
	if acc.AppBytes != len(cs)-82 {
		t.Errorf("app bytes %d, want %d", acc.AppBytes, len(cs)-82)
	}
}

func TestDecodeFrames(t *testing.T) {
	v4c, v4s := synthClient, synthServer
	v6c, v6s := netip.MustParseAddrPort("[::1]:50000"), netip.MustParseAddrPort("[::1]:1883")
	ports := map[uint16]bool{1883: true}
	for _, tc := range []struct {
		name                       string
		frame                      []byte
		origLen                    int // 0: len(frame)
		ok                         bool
		dir                        Direction
		ip, tcp, payloadLen, captd int
	}{
		{name: "IPv4 to server", frame: buildFrame(v4c, v4s, 1, 2, tcpACK, []byte{0xc0, 0}), ok: true, dir: ToServer, ip: 20, tcp: 32, payloadLen: 2, captd: 2},
		{name: "IPv6 to client", frame: buildFrame(v6s, v6c, 1, 2, tcpACK, []byte{0xd0, 0}), ok: true, dir: ToClient, ip: 40, tcp: 32, payloadLen: 2, captd: 2},
		{name: "Ethernet padding", frame: append(buildFrame(v4c, v4s, 1, 2, tcpACK, nil), 0, 0, 0, 0, 0, 0), ok: true, dir: ToServer, ip: 20, tcp: 32},
		{name: "cut by the snap length", frame: buildFrame(v4c, v4s, 1, 2, tcpACK, opaque(1000))[:100], origLen: 1066,
			ok: true, dir: ToServer, ip: 20, tcp: 32, payloadLen: 1000, captd: 34},
		{name: "other port", frame: buildFrame(v4c, netip.MustParseAddrPort("127.0.0.1:80"), 1, 2, tcpACK, nil)},
		{name: "short", frame: buildFrame(v4c, v4s, 1, 2, tcpACK, nil)[:40]},
		{name: "ARP", frame: append(make([]byte, 12), 0x08, 0x06, 0, 0)},
		{name: "IPv4 length 0 (segmentation offload)", frame: func() []byte {
			f := buildFrame(v4c, v4s, 1, 2, tcpACK, opaque(10))
			f[16], f[17] = 0, 0
			return f
		}(), ok: true, dir: ToServer, ip: 20, tcp: 32, payloadLen: 10, captd: 10},
	} {
		t.Run(tc.name, func(t *testing.T) {
			orig := tc.origLen
			if orig == 0 {
				orig = len(tc.frame)
			}
			p, ok := frameDecoder{}.decode(tc.frame, orig, ports)
			if ok != tc.ok {
				t.Fatalf("ok %v", ok)
			}
			if !ok {
				return
			}
			if p.Dir != tc.dir || p.IPHeader != tc.ip || p.TCPHeader != tc.tcp || p.PayloadLen != tc.payloadLen ||
				len(p.Payload) != tc.captd || p.WireLen != orig || p.Server.Port() != 1883 || p.Seq != 1 || p.Ack != 2 || !p.ACK {
				t.Errorf("decoded %+v", p)
			}
		})
	}
}

// TestBPF runs the kernel filter (after its packet-type check, which the
// x/net/bpf VM cannot run) on frames.
func TestBPF(t *testing.T) {
	run := func(ports []uint16, frame []byte) int {
		raw, err := portFilter(ports, DefaultSnapLen)
		if err != nil {
			t.Fatal(err)
		}
		insts, ok := bpf.Disassemble(raw[2:])
		if !ok {
			t.Fatal("filter does not disassemble")
		}
		vm, err := bpf.NewVM(insts)
		if err != nil {
			t.Fatal(err)
		}
		n, err := vm.Run(frame)
		if err != nil {
			t.Fatal(err)
		}
		return n
	}
	v6c, v6s := netip.MustParseAddrPort("[::1]:50000"), netip.MustParseAddrPort("[::1]:1883")
	other := netip.MustParseAddrPort("127.0.0.1:8080")
	frag := buildFrame(synthClient, synthServer, 1, 2, tcpACK, nil)
	frag[20] = 0x20 | 0x01 // MF, offset 8
	udp := buildFrame(synthClient, synthServer, 1, 2, 0, nil)
	udp[23] = 17
	for _, tc := range []struct {
		name   string
		ports  []uint16
		frame  []byte
		accept bool
	}{
		{"IPv4 to port", []uint16{1883}, buildFrame(synthClient, synthServer, 1, 2, tcpACK, nil), true},
		{"IPv4 from port", []uint16{8883, 1883}, buildFrame(synthServer, synthClient, 1, 2, tcpACK, nil), true},
		{"IPv4 other port", []uint16{1883}, buildFrame(synthClient, other, 1, 2, tcpACK, nil), false},
		{"IPv6 to port", []uint16{1883}, buildFrame(v6c, v6s, 1, 2, tcpACK, nil), true},
		{"IPv6 from port", []uint16{1883}, buildFrame(v6s, v6c, 1, 2, tcpACK, nil), true},
		{"IPv6 other port", []uint16{443}, buildFrame(v6s, v6c, 1, 2, tcpACK, nil), false},
		{"later fragment", []uint16{1883}, frag, false},
		{"UDP", []uint16{1883}, udp, false},
		{"no ports: all TCP", nil, buildFrame(synthClient, other, 1, 2, tcpACK, nil), true},
	} {
		if got := run(tc.ports, tc.frame) > 0; got != tc.accept {
			t.Errorf("%s: accepted %v", tc.name, got)
		}
	}
	many := make([]uint16, 200)
	for i := range many {
		many[i] = uint16(10000 + i)
	}
	if _, err := portFilter(many, DefaultSnapLen); err == nil {
		t.Error("200 ports fit one classic BPF program?")
	}
}

func TestFilters(t *testing.T) {
	p := Packet{Time: synthT0, Server: synthServer, Dir: ToClient}
	for _, tc := range []struct {
		name string
		f    Filter
		want bool
	}{
		{"between, at from", Between(synthT0, synthT0.Add(1)), true},
		{"between, at to", Between(synthT0.Add(-1), synthT0), false},
		{"server port", ServerPort(1883), true},
		{"other server port", ServerPort(8883), false},
		{"direction", Dir(ToClient), true},
		{"and", And(ServerPort(1883), Dir(ToServer)), false},
		{"and with nil", And(nil, Dir(ToClient)), true},
		{"empty and", And(), true},
	} {
		if got := tc.f(p); got != tc.want {
			t.Errorf("%s: %v", tc.name, got)
		}
	}
}
