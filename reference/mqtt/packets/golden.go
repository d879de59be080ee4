package packets

import (
	"bytes"
	"io"
)

// GoldenCase is one packet on the wire and what the codec makes of it. The
// cases live in a non-test file so that every package's tests (broker, raw
// client, suites) can share them. Treat them as read-only: a decoded packet
// may alias Bytes.
type GoldenCase struct {
	Name    string // unique; used for subtest and fuzz corpus names
	Ref     string // figure, table or statement of the MQTT 3.1.1 standard
	Bytes   []byte // the whole packet, fixed header included
	Packet  Packet // what Decode returns; for malformed cases the partial packet, when it matters
	Err     error  // sentinel that errors.Is must match; nil for a valid packet
	Version byte   // protocol level to decode with
}

// fill returns n bytes of 'x': the payload of the remaining length cases.
func fill(n int) []byte { return bytes.Repeat([]byte{'x'}, n) }

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

// Golden holds valid packets, taken from the standard's own examples where it
// has them. Decode(Bytes) gives Packet and Packet.AppendTo gives Bytes back.
var Golden = []GoldenCase{
	// CONNECT (§3.1)
	{
		Name: "CONNECT Figure 3.6 will, user name and password",
		Ref:  "Figure 3.6 - Variable header non normative example",
		// 00000000  10 26 00 04 4d 51 54 54  04 ce 00 0a 00 03 77 63  |.&..MQTT......wc|
		// 00000010  31 00 04 77 69 6c 6c 00  03 62 79 65 00 04 75 73  |1..will..bye..us|
		// 00000020  65 72 00 04 70 61 73 73                           |er..pass|
		Bytes: []byte{
			0x10, 38, // fixed header: CONNECT, remaining length 38
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name (Figure 3.2)
			0x04,       // protocol level 4 (Figure 3.3)
			0xce,       // connect flags 11001110: user name, password, will QoS 01, will flag, clean session
			0x00, 0x0a, // keep alive 10 s
			0x00, 0x03, 'w', 'c', '1', // client identifier "wc1"
			0x00, 0x04, 'w', 'i', 'l', 'l', // will topic "will"
			0x00, 0x03, 'b', 'y', 'e', // will message "bye"
			0x00, 0x04, 'u', 's', 'e', 'r', // user name "user"
			0x00, 0x04, 'p', 'a', 's', 's', // password "pass"
		},
		Packet: &Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanSession: true, KeepAlive: 10,
			ClientID: "wc1", WillFlag: true, WillQoS: 1, WillTopic: "will", WillMessage: []byte("bye"),
			UsernameFlag: true, PasswordFlag: true, Username: "user", Password: []byte("pass")},
		Version: Version311,
	},
	{
		Name: "CONNECT minimal",
		Ref:  "§3.1.3.1 zero-byte client identifier with clean session [MQTT-3.1.3-7]",
		// 00000000  10 0c 00 04 4d 51 54 54  04 02 00 3c 00 00        |....MQTT...<..|
		Bytes: []byte{
			0x10, 12, // fixed header: CONNECT, remaining length 12
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x02,       // connect flags: clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier "" (zero bytes)
		},
		Packet:  &Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanSession: true, KeepAlive: 60},
		Version: Version311,
	},
	{
		Name: "CONNECT retained will QoS 2 and user name",
		Ref:  "Figure 3.4 - Connect Flag bits; §3.1.2.6 Will QoS, §3.1.2.7 Will Retain",
		// 00000000  10 18 00 04 4d 51 54 54  04 b4 00 00 00 02 63 31  |....MQTT......c1|
		// 00000010  00 03 73 2f 31 00 00 00  01 75                    |..s/1....u|
		Bytes: []byte{
			0x10, 24, // fixed header: CONNECT, remaining length 24
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0xb4,       // connect flags 10110100: user name, will retain, will QoS 10, will flag; clean session 0
			0x00, 0x00, // keep alive 0: off
			0x00, 0x02, 'c', '1', // client identifier "c1"
			0x00, 0x03, 's', '/', '1', // will topic "s/1"
			0x00, 0x00, // will message: zero bytes
			0x00, 0x01, 'u', // user name "u"
		},
		Packet: &Connect{ProtocolName: "MQTT", ProtocolLevel: 4, ClientID: "c1", WillFlag: true, WillQoS: 2,
			WillRetain: true, WillTopic: "s/1", WillMessage: []byte{}, UsernameFlag: true, Username: "u"},
		Version: Version311,
	},
	{
		Name: "CONNECT empty password and longest keep alive",
		Ref:  "Figure 3.7 - Password bytes (0 bytes); §3.1.2.10 keep alive 65535 s = 18 h 12 min 15 s",
		// 00000000  10 13 00 04 4d 51 54 54  04 c2 ff ff 00 02 63 32  |....MQTT......c2|
		// 00000010  00 01 75 00 00                                    |..u..|
		Bytes: []byte{
			0x10, 19, // fixed header: CONNECT, remaining length 19
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0xc2,       // connect flags 11000010: user name, password, clean session
			0xff, 0xff, // keep alive 65535 s
			0x00, 0x02, 'c', '2', // client identifier "c2"
			0x00, 0x01, 'u', // user name "u"
			0x00, 0x00, // password: zero bytes
		},
		Packet: &Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanSession: true, KeepAlive: 65535,
			ClientID: "c2", UsernameFlag: true, PasswordFlag: true, Username: "u", Password: []byte{}},
		Version: Version311,
	},
	{
		Name: "CONNECT client identifier with U+FEFF",
		Ref:  "§1.5.3 EF BB BF is U+FEFF and is kept intact [MQTT-1.5.3-3]",
		// 00000000  10 11 00 04 4d 51 54 54  04 02 00 1e 00 05 ef bb  |....MQTT........|
		// 00000010  bf 69 64                                          |.id|
		Bytes: []byte{
			0x10, 17, // fixed header: CONNECT, remaining length 17
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x02,       // connect flags: clean session
			0x00, 0x1e, // keep alive 30 s
			0x00, 0x05, 0xef, 0xbb, 0xbf, 'i', 'd', // client identifier "\uFEFFid"
		},
		Packet:  &Connect{ProtocolName: "MQTT", ProtocolLevel: 4, CleanSession: true, KeepAlive: 30, ClientID: "\ufeffid"},
		Version: Version311,
	},

	// CONNACK (§3.2)
	{
		Name: "CONNACK accepted",
		Ref:  "Figure 3.8 - CONNACK Packet fixed header; Table 3.1 return code 0",
		// 00000000  20 02 00 00                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x00, // acknowledge flags: session present 0
			0x00, // return code 0x00 connection accepted
		},
		Packet:  &Connack{ReturnCode: Accepted},
		Version: Version311,
	},
	{
		Name: "CONNACK session present",
		Ref:  "Figure 3.9 - CONNACK Packet variable header; §3.2.2.2 Session Present [MQTT-3.2.2-2]",
		// 00000000  20 02 01 00                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x01, // acknowledge flags: session present 1
			0x00, // return code 0x00 connection accepted
		},
		Packet:  &Connack{SessionPresent: true, ReturnCode: Accepted},
		Version: Version311,
	},
	{
		Name: "CONNACK unacceptable protocol version",
		Ref:  "Table 3.1 - Connect Return code values: 0x01",
		// 00000000  20 02 00 01                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x00, // acknowledge flags: session present 0 [MQTT-3.2.2-4]
			0x01, // return code 0x01 unacceptable protocol version
		},
		Packet:  &Connack{ReturnCode: RefusedProtocolVersion},
		Version: Version311,
	},
	{
		Name: "CONNACK identifier rejected",
		Ref:  "Table 3.1 - Connect Return code values: 0x02",
		// 00000000  20 02 00 02                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x00, // acknowledge flags: session present 0
			0x02, // return code 0x02 identifier rejected
		},
		Packet:  &Connack{ReturnCode: RefusedIdentifierRejected},
		Version: Version311,
	},
	{
		Name: "CONNACK server unavailable",
		Ref:  "Table 3.1 - Connect Return code values: 0x03",
		// 00000000  20 02 00 03                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x00, // acknowledge flags: session present 0
			0x03, // return code 0x03 server unavailable
		},
		Packet:  &Connack{ReturnCode: RefusedServerUnavailable},
		Version: Version311,
	},
	{
		Name: "CONNACK bad user name or password",
		Ref:  "Table 3.1 - Connect Return code values: 0x04",
		// 00000000  20 02 00 04                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x00, // acknowledge flags: session present 0
			0x04, // return code 0x04 bad user name or password
		},
		Packet:  &Connack{ReturnCode: RefusedBadUsernamePassword},
		Version: Version311,
	},
	{
		Name: "CONNACK not authorized",
		Ref:  "Table 3.1 - Connect Return code values: 0x05",
		// 00000000  20 02 00 05                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x00, // acknowledge flags: session present 0
			0x05, // return code 0x05 not authorized
		},
		Packet:  &Connack{ReturnCode: RefusedNotAuthorized},
		Version: Version311,
	},

	// PUBLISH (§3.3)
	{
		Name: "PUBLISH QoS 0",
		Ref:  "Figure 3.10 - PUBLISH Packet fixed header; QoS 0 has no packet identifier [MQTT-2.3.1-5]",
		// 00000000  30 0a 00 03 61 2f 62 68  65 6c 6c 6f              |0...a/bhello|
		Bytes: []byte{
			0x30, 10, // fixed header: PUBLISH, DUP 0, QoS 0, RETAIN 0; remaining length 10
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			'h', 'e', 'l', 'l', 'o', // payload
		},
		Packet:  &Publish{Topic: "a/b", Payload: []byte("hello")},
		Version: Version311,
	},
	{
		Name: "PUBLISH Figure 3.11 QoS 1 packet identifier 10",
		Ref:  "Table 3.3 - Publish Packet non normative example; Figure 3.11 - Publish Packet variable header non normative example",
		// 00000000  32 09 00 03 61 2f 62 00  0a 68 69                 |2...a/b..hi|
		Bytes: []byte{
			0x32, 9, // fixed header: PUBLISH, DUP 0, QoS 1, RETAIN 0; remaining length 9
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			0x00, 0x0a, // packet identifier 10
			'h', 'i', // payload
		},
		Packet:  &Publish{QoS: 1, Topic: "a/b", PacketID: 10, Payload: []byte("hi")},
		Version: Version311,
	},
	{
		Name: "PUBLISH QoS 2 DUP RETAIN",
		Ref:  "Figure 3.10 - PUBLISH Packet fixed header; §2.3.1 packet identifier 0x1234",
		// 00000000  3d 08 00 03 61 2f 62 12  34 78                    |=...a/b.4x|
		Bytes: []byte{
			0x3d, 8, // fixed header: PUBLISH, DUP 1, QoS 2, RETAIN 1; remaining length 8
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			0x12, 0x34, // packet identifier 0x1234
			'x', // payload
		},
		Packet:  &Publish{Dup: true, QoS: 2, Retain: true, Topic: "a/b", PacketID: 0x1234, Payload: []byte("x")},
		Version: Version311,
	},
	{
		Name: "PUBLISH QoS 1 DUP redelivery empty payload",
		Ref:  "§3.3.1.1 DUP set on re-delivery [MQTT-3.3.1.-1]; §3.3.3 zero length payload",
		// 00000000  3a 07 00 03 61 2f 62 ff  ff                       |:...a/b..|
		Bytes: []byte{
			0x3a, 7, // fixed header: PUBLISH, DUP 1, QoS 1, RETAIN 0; remaining length 7
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			0xff, 0xff, // packet identifier 65535
		},
		Packet:  &Publish{Dup: true, QoS: 1, Topic: "a/b", PacketID: 65535, Payload: []byte{}},
		Version: Version311,
	},
	{
		Name: "PUBLISH QoS 0 RETAIN empty payload",
		Ref:  "§3.3.1.3 RETAIN with a zero byte payload clears the retained message [MQTT-3.3.1-10]",
		// 00000000  31 05 00 03 61 2f 62                              |1...a/b|
		Bytes: []byte{
			0x31, 5, // fixed header: PUBLISH, DUP 0, QoS 0, RETAIN 1; remaining length 5
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"; no payload
		},
		Packet:  &Publish{Retain: true, Topic: "a/b", Payload: []byte{}},
		Version: Version311,
	},
	{
		Name: "PUBLISH QoS 2 to a $SYS topic",
		Ref:  "Table 3.4 - Expected Publish Packet response (QoS 2); §4.7.2 topics beginning with $",
		// 00000000  34 10 00 0b 24 53 59 53  2f 75 70 74 69 6d 65 00  |4...$SYS/uptime.|
		// 00000010  01 31                                             |.1|
		Bytes: []byte{
			0x34, 16, // fixed header: PUBLISH, DUP 0, QoS 2, RETAIN 0; remaining length 16
			0x00, 0x0b, '$', 'S', 'Y', 'S', '/', 'u', 'p', 't', 'i', 'm', 'e', // topic name "$SYS/uptime"
			0x00, 0x01, // packet identifier 1
			'1', // payload
		},
		Packet:  &Publish{QoS: 2, Topic: "$SYS/uptime", PacketID: 1, Payload: []byte("1")},
		Version: Version311,
	},
	{
		Name: "PUBLISH topic with U+FEFF",
		Ref:  "§1.5.3 EF BB BF is U+FEFF and is kept intact [MQTT-1.5.3-3]",
		// 00000000  30 08 00 06 ef bb bf 61  2f 62                    |0......a/b|
		Bytes: []byte{
			0x30, 8, // fixed header: PUBLISH QoS 0; remaining length 8
			0x00, 0x06, 0xef, 0xbb, 0xbf, 'a', '/', 'b', // topic name "\uFEFFa/b"; no payload
		},
		Packet:  &Publish{Topic: "\ufeffa/b", Payload: []byte{}},
		Version: Version311,
	},
	{
		Name: "PUBLISH Figure 1.2 topic A U+2A6D4",
		Ref:  "Figure 1.2 UTF-8 encoded string non normative example",
		// 00000000  30 07 00 05 41 f0 aa 9b  94                       |0...A....|
		Bytes: []byte{
			0x30, 7, // fixed header: PUBLISH QoS 0; remaining length 7
			0x00, 0x05, 'A', 0xf0, 0xaa, 0x9b, 0x94, // topic name "A\U0002A6D4"; no payload
		},
		Packet:  &Publish{Topic: "A\U0002A6D4", Payload: []byte{}},
		Version: Version311,
	},
	{
		Name: "PUBLISH topic with a space and empty levels",
		Ref:  "§4.7.3 topic levels may be empty and may contain spaces",
		// 00000000  30 06 00 03 2f 20 2f 21                           |0.../ /!|
		Bytes: []byte{
			0x30, 6, // fixed header: PUBLISH QoS 0; remaining length 6
			0x00, 0x03, '/', ' ', '/', // topic name "/ /"
			'!', // payload
		},
		Packet:  &Publish{Topic: "/ /", Payload: []byte("!")},
		Version: Version311,
	},
	{
		Name: "PUBLISH remaining length 64",
		Ref:  "§2.2.3 example: 64 is encoded as the single byte 0x40",
		// 30 40 00 01 61 78 78 78 78 78 78 78 … (66 bytes)
		Bytes: cat([]byte{
			0x30, 0x40, // fixed header: PUBLISH QoS 0; remaining length 64
			0x00, 0x01, 'a', // topic name "a"
		}, fill(61)), // payload: 61 bytes
		Packet:  &Publish{Topic: "a", Payload: fill(61)},
		Version: Version311,
	},
	{
		Name: "PUBLISH remaining length 127",
		Ref:  "Table 2.4 remaining length 127 (one byte, 0x7F)",
		// 30 7f 00 01 61 78 78 78 78 78 78 78 … (129 bytes)
		Bytes: cat([]byte{
			0x30, 0x7f, // fixed header: PUBLISH QoS 0; remaining length 127
			0x00, 0x01, 'a', // topic name "a"
		}, fill(124)), // payload: 124 bytes
		Packet:  &Publish{Topic: "a", Payload: fill(124)},
		Version: Version311,
	},
	{
		Name: "PUBLISH remaining length 128",
		Ref:  "Table 2.4 remaining length 128 (two bytes, 0x80 0x01)",
		// 30 80 01 00 01 61 78 78 78 78 78 78 … (131 bytes)
		Bytes: cat([]byte{
			0x30, 0x80, 0x01, // fixed header: PUBLISH QoS 0; remaining length 0 + 1×128 = 128
			0x00, 0x01, 'a', // topic name "a"
		}, fill(125)), // payload: 125 bytes
		Packet:  &Publish{Topic: "a", Payload: fill(125)},
		Version: Version311,
	},
	{
		Name: "PUBLISH remaining length 321",
		Ref:  "§2.2.3 example: 321 = 65 + 2×128 is encoded as 0xC1 0x02",
		// 30 c1 02 00 01 61 78 78 78 78 78 78 … (324 bytes)
		Bytes: cat([]byte{
			0x30, 0xc1, 0x02, // fixed header: PUBLISH QoS 0; remaining length 65 + 2×128 = 321
			0x00, 0x01, 'a', // topic name "a"
		}, fill(318)), // payload: 318 bytes
		Packet:  &Publish{Topic: "a", Payload: fill(318)},
		Version: Version311,
	},
	{
		Name: "PUBLISH remaining length 16383",
		Ref:  "Table 2.4 remaining length 16383 (two bytes, 0xFF 0x7F)",
		// 30 ff 7f 00 01 61 78 78 78 78 78 78 … (16386 bytes)
		Bytes: cat([]byte{
			0x30, 0xff, 0x7f, // fixed header: PUBLISH QoS 0; remaining length 127 + 127×128 = 16383
			0x00, 0x01, 'a', // topic name "a"
		}, fill(16380)), // payload: 16380 bytes
		Packet:  &Publish{Topic: "a", Payload: fill(16380)},
		Version: Version311,
	},
	{
		Name: "PUBLISH remaining length 16384",
		Ref:  "Table 2.4 remaining length 16384 (three bytes, 0x80 0x80 0x01)",
		// 30 80 80 01 00 01 61 78 78 78 78 78 … (16388 bytes)
		Bytes: cat([]byte{
			0x30, 0x80, 0x80, 0x01, // fixed header: PUBLISH QoS 0; remaining length 1×128² = 16384
			0x00, 0x01, 'a', // topic name "a"
		}, fill(16381)), // payload: 16381 bytes
		Packet:  &Publish{Topic: "a", Payload: fill(16381)},
		Version: Version311,
	},

	// PUBACK, PUBREC, PUBREL, PUBCOMP (§3.4 - §3.7)
	{
		Name: "PUBACK",
		Ref:  "Figure 3.12 - PUBACK Packet fixed header; Figure 3.13 - PUBACK Packet variable header",
		// 00000000  40 02 00 0a                                       |@...|
		Bytes: []byte{
			0x40, 0x02, // fixed header: PUBACK, remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Packet:  &Puback{PacketID: 10},
		Version: Version311,
	},
	{
		Name: "PUBACK packet identifier 65535",
		Ref:  "Figure 2.3 - Packet Identifier bytes (16 bits)",
		// 00000000  40 02 ff ff                                       |@...|
		Bytes: []byte{
			0x40, 0x02, // fixed header: PUBACK, remaining length 2
			0xff, 0xff, // packet identifier 65535
		},
		Packet:  &Puback{PacketID: 65535},
		Version: Version311,
	},
	{
		Name: "PUBREC",
		Ref:  "Figure 3.14 - PUBREC Packet fixed header; Figure 3.15 - PUBREC Packet variable header",
		// 00000000  50 02 00 0a                                       |P...|
		Bytes: []byte{
			0x50, 0x02, // fixed header: PUBREC, remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Packet:  &Pubrec{PacketID: 10},
		Version: Version311,
	},
	{
		Name: "PUBREL",
		Ref:  "Figure 3.16 - PUBREL Packet fixed header (flags 0010) [MQTT-3.6.1-1]; Figure 3.17",
		// 00000000  62 02 00 0a                                       |b...|
		Bytes: []byte{
			0x62, 0x02, // fixed header: PUBREL, flags 0010; remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Packet:  &Pubrel{PacketID: 10},
		Version: Version311,
	},
	{
		Name: "PUBCOMP",
		Ref:  "Figure 3.18 - PUBCOMP Packet fixed header; Figure 3.19 - PUBCOMP Packet variable header",
		// 00000000  70 02 00 0a                                       |p...|
		Bytes: []byte{
			0x70, 0x02, // fixed header: PUBCOMP, remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Packet:  &Pubcomp{PacketID: 10},
		Version: Version311,
	},

	// SUBSCRIBE, SUBACK (§3.8, §3.9)
	{
		Name: "SUBSCRIBE Figure 3.21 and Figure 3.23",
		Ref:  "Figure 3.21 - Variable header with a Packet Identifier of 10; Table 3.5, Figure 3.23 - Payload byte format non normative example",
		// 00000000  82 0e 00 0a 00 03 61 2f  62 01 00 03 63 2f 64 02  |......a/b...c/d.|
		Bytes: []byte{
			0x82, 14, // fixed header: SUBSCRIBE, flags 0010; remaining length 14
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			0x01,                      // requested QoS 1
			0x00, 0x03, 'c', '/', 'd', // topic filter "c/d"
			0x02, // requested QoS 2
		},
		Packet:  &Subscribe{PacketID: 10, Subscriptions: []Subscription{{"a/b", 1}, {"c/d", 2}}},
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE wildcard filters",
		Ref:  "§4.7.1.2 Multi-level wildcard, §4.7.1.3 Single level wildcard",
		// 00000000  82 16 00 01 00 07 73 70  6f 72 74 2f 23 00 00 03  |......sport/#...|
		// 00000010  2b 2f 2b 01 00 01 23 02                           |+/+...#.|
		Bytes: []byte{
			0x82, 22, // fixed header: SUBSCRIBE, flags 0010; remaining length 22
			0x00, 0x01, // packet identifier 1
			0x00, 0x07, 's', 'p', 'o', 'r', 't', '/', '#', // topic filter "sport/#"
			0x00,                      // requested QoS 0
			0x00, 0x03, '+', '/', '+', // topic filter "+/+"
			0x01,            // requested QoS 1
			0x00, 0x01, '#', // topic filter "#"
			0x02, // requested QoS 2
		},
		Packet:  &Subscribe{PacketID: 1, Subscriptions: []Subscription{{"sport/#", 0}, {"+/+", 1}, {"#", 2}}},
		Version: Version311,
	},
	{
		Name: "SUBACK Figure 3.27",
		Ref:  "Table 3.6, Figure 3.27 - Payload byte format non normative example",
		// 00000000  90 05 00 0a 00 02 80                              |.......|
		Bytes: []byte{
			0x90, 0x05, // fixed header: SUBACK, remaining length 5
			0x00, 0x0a, // packet identifier 10
			0x00, // success, maximum QoS 0
			0x02, // success, maximum QoS 2
			0x80, // failure
		},
		Packet:  &Suback{PacketID: 10, ReturnCodes: []byte{0x00, 0x02, 0x80}},
		Version: Version311,
	},
	{
		Name: "SUBACK QoS 1",
		Ref:  "Figure 3.24 - SUBACK Packet fixed header; Figure 3.26 - SUBACK Packet payload format",
		// 00000000  90 03 00 01 01                                    |.....|
		Bytes: []byte{
			0x90, 0x03, // fixed header: SUBACK, remaining length 3
			0x00, 0x01, // packet identifier 1
			0x01, // success, maximum QoS 1
		},
		Packet:  &Suback{PacketID: 1, ReturnCodes: []byte{0x01}},
		Version: Version311,
	},

	// UNSUBSCRIBE, UNSUBACK (§3.10, §3.11)
	{
		Name: "UNSUBSCRIBE Figure 3.30",
		Ref:  "Figure 3.28 - UNSUBSCRIBE Packet Fixed header; Table 3.7, Figure 3.30 - Payload byte format non normative example",
		// 00000000  a2 0c 00 0a 00 03 61 2f  62 00 03 63 2f 64        |......a/b..c/d|
		Bytes: []byte{
			0xa2, 12, // fixed header: UNSUBSCRIBE, flags 0010; remaining length 12
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			0x00, 0x03, 'c', '/', 'd', // topic filter "c/d"
		},
		Packet:  &Unsubscribe{PacketID: 10, Filters: []string{"a/b", "c/d"}},
		Version: Version311,
	},
	{
		Name: "UNSUBACK",
		Ref:  "Figure 3.31 - UNSUBACK Packet fixed header; Figure 3.32 - UNSUBACK Packet variable header",
		// 00000000  b0 02 00 0a                                       |....|
		Bytes: []byte{
			0xb0, 0x02, // fixed header: UNSUBACK, remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Packet:  &Unsuback{PacketID: 10},
		Version: Version311,
	},

	// PINGREQ, PINGRESP, DISCONNECT (§3.12 - §3.14)
	{
		Name: "PINGREQ",
		Ref:  "Figure 3.33 - PINGREQ Packet fixed header",
		// 00000000  c0 00                                             |..|
		Bytes: []byte{
			0xc0, 0x00, // fixed header: PINGREQ, remaining length 0
		},
		Packet:  &Pingreq{},
		Version: Version311,
	},
	{
		Name: "PINGRESP",
		Ref:  "Figure 3.34 - PINGRESP Packet fixed header",
		// 00000000  d0 00                                             |..|
		Bytes: []byte{
			0xd0, 0x00, // fixed header: PINGRESP, remaining length 0
		},
		Packet:  &Pingresp{},
		Version: Version311,
	},
	{
		Name: "DISCONNECT",
		Ref:  "Figure 3.35 - DISCONNECT Packet fixed header",
		// 00000000  e0 00                                             |..|
		Bytes: []byte{
			0xe0, 0x00, // fixed header: DISCONNECT, remaining length 0
		},
		Packet:  &Disconnect{},
		Version: Version311,
	},
}

// GoldenMalformed holds packets a receiver must refuse, each with the
// sentinel Decode (and Reader.ReadPacket) must return. Every error except
// io.ErrUnexpectedEOF (a packet cut short) names its rule (see RuleOf).
// Packet, when set, is the partial packet Decode returns with the error.
var GoldenMalformed = []GoldenCase{
	// Fixed header: packet type (Table 2.1)
	{
		Name: "reserved packet type 0",
		Ref:  "Table 2.1 - Control packet types: 0 Reserved",
		// 00000000  00 00                                             |..|
		Bytes: []byte{
			0x00, 0x00, // fixed header: type 0, remaining length 0
		},
		Err:     ErrUnknownType,
		Version: Version311,
	},
	{
		Name: "reserved packet type 15",
		Ref:  "Table 2.1 - Control packet types: 15 Reserved",
		// 00000000  f0 00                                             |..|
		Bytes: []byte{
			0xf0, 0x00, // fixed header: type 15, remaining length 0
		},
		Err:     ErrUnknownType,
		Version: Version311,
	},

	// Fixed header: reserved flags (Table 2.2), one case per packet type
	{
		Name: "CONNECT flags 0001",
		Ref:  "Table 2.2 - Flag Bits; Figure 3.1 [MQTT-2.2.2-2]",
		// 00000000  11 0c 00 04 4d 51 54 54  04 02 00 3c 00 00        |....MQTT...<..|
		Bytes: []byte{
			0x11, 12, // fixed header: CONNECT with flags 0001 (must be 0000); remaining length 12
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x02,       // connect flags: clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "CONNACK flags 1000",
		Ref:  "Table 2.2 - Flag Bits; Figure 3.8 [MQTT-2.2.2-2]",
		// 00000000  28 02 00 00                                       |(...|
		Bytes: []byte{
			0x28, 0x02, // fixed header: CONNACK with flags 1000; remaining length 2
			0x00, 0x00, // acknowledge flags, return code
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "PUBACK flags 0001",
		Ref:  "Table 2.2 - Flag Bits; Figure 3.12 [MQTT-2.2.2-2]",
		// 00000000  41 02 00 0a                                       |A...|
		Bytes: []byte{
			0x41, 0x02, // fixed header: PUBACK with flags 0001; remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "PUBREC flags 0010",
		Ref:  "Table 2.2 - Flag Bits; Figure 3.14 [MQTT-2.2.2-2]",
		// 00000000  52 02 00 0a                                       |R...|
		Bytes: []byte{
			0x52, 0x02, // fixed header: PUBREC with flags 0010 (PUBREL's, not PUBREC's); remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "PUBREL flags 0000",
		Ref:  "Figure 3.16 - PUBREL Packet fixed header [MQTT-3.6.1-1]",
		// 00000000  60 02 00 0a                                       |`...|
		Bytes: []byte{
			0x60, 0x02, // fixed header: PUBREL with flags 0000 (must be 0010); remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "PUBCOMP flags 0010",
		Ref:  "Table 2.2 - Flag Bits; Figure 3.18 [MQTT-2.2.2-2]",
		// 00000000  72 02 00 0a                                       |r...|
		Bytes: []byte{
			0x72, 0x02, // fixed header: PUBCOMP with flags 0010; remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE flags 0000",
		Ref:  "Figure 3.20 - SUBSCRIBE Packet fixed header [MQTT-3.8.1-1]",
		// 00000000  80 08 00 0a 00 03 61 2f  62 00                    |......a/b.|
		Bytes: []byte{
			0x80, 8, // fixed header: SUBSCRIBE with flags 0000 (must be 0010); remaining length 8
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			0x00, // requested QoS 0
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "SUBACK flags 0001",
		Ref:  "Table 2.2 - Flag Bits; Figure 3.24 [MQTT-2.2.2-2]",
		// 00000000  91 03 00 0a 00                                    |.....|
		Bytes: []byte{
			0x91, 0x03, // fixed header: SUBACK with flags 0001; remaining length 3
			0x00, 0x0a, // packet identifier 10
			0x00, // return code: QoS 0
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "UNSUBSCRIBE flags 0000",
		Ref:  "Figure 3.28 - UNSUBSCRIBE Packet Fixed header [MQTT-3.10.1-1]",
		// 00000000  a0 07 00 0a 00 03 61 2f  62                       |......a/b|
		Bytes: []byte{
			0xa0, 7, // fixed header: UNSUBSCRIBE with flags 0000 (must be 0010); remaining length 7
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "UNSUBACK flags 0010",
		Ref:  "Table 2.2 - Flag Bits; Figure 3.31 [MQTT-2.2.2-2]",
		// 00000000  b2 02 00 0a                                       |....|
		Bytes: []byte{
			0xb2, 0x02, // fixed header: UNSUBACK with flags 0010; remaining length 2
			0x00, 0x0a, // packet identifier 10
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "PINGREQ flags 0001",
		Ref:  "Table 2.2 - Flag Bits; Figure 3.33 [MQTT-2.2.2-2]",
		// 00000000  c1 00                                             |..|
		Bytes: []byte{
			0xc1, 0x00, // fixed header: PINGREQ with flags 0001; remaining length 0
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "PINGRESP flags 1000",
		Ref:  "Table 2.2 - Flag Bits; Figure 3.34 [MQTT-2.2.2-2]",
		// 00000000  d8 00                                             |..|
		Bytes: []byte{
			0xd8, 0x00, // fixed header: PINGRESP with flags 1000; remaining length 0
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},
	{
		Name: "DISCONNECT flags 0001",
		Ref:  "Figure 3.35 - DISCONNECT Packet fixed header [MQTT-3.14.1-1]",
		// 00000000  e1 00                                             |..|
		Bytes: []byte{
			0xe1, 0x00, // fixed header: DISCONNECT with flags 0001; remaining length 0
		},
		Err:     ErrReservedFlags,
		Version: Version311,
	},

	// Fixed header: remaining length (§2.2.3) and packet size
	{
		Name: "remaining length of five bytes",
		Ref:  "§2.2.3, Table 2.4: at most four bytes",
		// 00000000  30 ff ff ff ff 7f                                 |0.....|
		Bytes: []byte{
			0x30,                         // fixed header: PUBLISH QoS 0
			0xff, 0xff, 0xff, 0xff, 0x7f, // remaining length with a fifth byte
		},
		Err:     ErrRemainingLength,
		Version: Version311,
	},
	{
		Name: "remaining length beyond the packet",
		Ref:  "§2.2.3 Remaining Length: 10 bytes announced, 5 present",
		// 00000000  30 0a 00 03 61 2f 62                              |0...a/b|
		Bytes: []byte{
			0x30, 10, // fixed header: PUBLISH QoS 0; remaining length 10
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"; the 5 payload bytes never come
		},
		Err:     io.ErrUnexpectedEOF,
		Version: Version311,
	},
	{
		Name: "remaining length cut after a continuation byte",
		Ref:  "§2.2.3 continuation bit 0x80 announces another length byte",
		// 00000000  30 80                                             |0.|
		Bytes: []byte{
			0x30, 0x80, // fixed header: PUBLISH QoS 0; remaining length continues, then nothing
		},
		Err:     io.ErrUnexpectedEOF,
		Version: Version311,
	},
	{
		Name: "PUBACK shorter than its packet identifier",
		Ref:  "Figure 3.12 - PUBACK remaining length is 2",
		// 00000000  40 01 00                                          |@..|
		Bytes: []byte{
			0x40, 0x01, // fixed header: PUBACK, remaining length 1
			0x00, // half a packet identifier
		},
		Err:     ErrShortPacket,
		Version: Version311,
	},
	{
		Name: "PUBACK with trailing bytes",
		Ref:  "Figure 3.12 - PUBACK remaining length is 2; §3.4.3 no payload",
		// 00000000  40 03 00 0a 00                                    |@....|
		Bytes: []byte{
			0x40, 0x03, // fixed header: PUBACK, remaining length 3
			0x00, 0x0a, // packet identifier 10
			0x00, // one byte too many
		},
		Err:     ErrTrailingBytes,
		Version: Version311,
	},
	{
		Name: "PINGREQ with a body",
		Ref:  "Figure 3.33 - PINGREQ remaining length 0; §3.12.3 no payload",
		// 00000000  c0 01 00                                          |...|
		Bytes: []byte{
			0xc0, 0x01, // fixed header: PINGREQ, remaining length 1
			0x00, // unexpected body
		},
		Err:     ErrTrailingBytes,
		Version: Version311,
	},
	{
		Name: "DISCONNECT with a body",
		Ref:  "Figure 3.35 - DISCONNECT remaining length 0; §3.14.3 no payload",
		// 00000000  e0 01 00                                          |...|
		Bytes: []byte{
			0xe0, 0x01, // fixed header: DISCONNECT, remaining length 1
			0x00, // unexpected body
		},
		Err:     ErrTrailingBytes,
		Version: Version311,
	},

	// UTF-8 encoded strings (§1.5.3)
	{
		Name: "topic with a lone continuation byte",
		Ref:  "§1.5.3 ill-formed UTF-8 [MQTT-1.5.3-1]",
		// 00000000  30 06 00 04 61 2f 80 62                           |0...a/.b|
		Bytes: []byte{
			0x30, 6, // fixed header: PUBLISH QoS 0; remaining length 6
			0x00, 0x04, 'a', '/', 0x80, 'b', // topic name "a/" 0x80 "b": continuation byte without a lead byte
		},
		Err:     ErrMalformedUTF8,
		Version: Version311,
	},
	{
		Name: "topic with an encoded surrogate",
		Ref:  "§1.5.3 U+D800..U+DFFF must not be encoded [MQTT-1.5.3-1]",
		// 00000000  30 06 00 04 61 ed a0 80                           |0...a...|
		Bytes: []byte{
			0x30, 6, // fixed header: PUBLISH QoS 0; remaining length 6
			0x00, 0x04, 'a', 0xed, 0xa0, 0x80, // topic name "a" + ED A0 80 (U+D800)
		},
		Err:     ErrMalformedUTF8,
		Version: Version311,
	},
	{
		Name: "topic with an overlong NUL",
		Ref:  "§1.5.3 well-formed UTF-8 (RFC 3629 forbids overlong forms) [MQTT-1.5.3-1]",
		// 00000000  30 05 00 03 61 c0 80                              |0...a..|
		Bytes: []byte{
			0x30, 5, // fixed header: PUBLISH QoS 0; remaining length 5
			0x00, 0x03, 'a', 0xc0, 0x80, // topic name "a" + C0 80 (U+0000 in two bytes)
		},
		Err:     ErrMalformedUTF8,
		Version: Version311,
	},
	{
		Name: "client identifier with byte FF",
		Ref:  "§3.1.3.1 ClientId is a UTF-8 encoded string [MQTT-3.1.3-4] [MQTT-1.5.3-1]",
		// 00000000  10 0d 00 04 4d 51 54 54  04 02 00 3c 00 01 ff     |....MQTT...<...|
		Bytes: []byte{
			0x10, 13, // fixed header: CONNECT, remaining length 13
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x02,       // connect flags: clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x01, 0xff, // client identifier: FF is never valid UTF-8
		},
		Err:     ErrMalformedUTF8,
		Version: Version311,
	},
	{
		Name: "topic with U+0000",
		Ref:  "§1.5.3 U+0000 must not be encoded [MQTT-1.5.3-2] [MQTT-4.7.3-2]",
		// 00000000  30 05 00 03 61 00 62                              |0...a.b|
		Bytes: []byte{
			0x30, 5, // fixed header: PUBLISH QoS 0; remaining length 5
			0x00, 0x03, 'a', 0x00, 'b', // topic name "a\x00b"
		},
		Err:     ErrNullCharacter,
		Version: Version311,
	},
	{
		Name: "topic filter with U+0000",
		Ref:  "§1.5.3 U+0000 must not be encoded [MQTT-1.5.3-2] [MQTT-4.7.3-2]",
		// 00000000  82 08 00 0a 00 03 61 00  23 00                    |......a.#.|
		Bytes: []byte{
			0x82, 8, // fixed header: SUBSCRIBE, flags 0010; remaining length 8
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', 0x00, '#', // topic filter "a\x00#"
			0x00, // requested QoS 0
		},
		Err:     ErrNullCharacter,
		Version: Version311,
	},
	{
		Name: "string longer than the packet",
		Ref:  "Figure 1.1 Structure of UTF-8 encoded strings: length prefix",
		// 00000000  30 03 00 05 61                                    |0...a|
		Bytes: []byte{
			0x30, 3, // fixed header: PUBLISH QoS 0; remaining length 3
			0x00, 0x05, 'a', // topic name announces 5 bytes, 1 present
		},
		Err:     ErrShortPacket,
		Version: Version311,
	},

	// PUBLISH (§3.3)
	{
		Name: "PUBLISH topic with +",
		Ref:  "§3.3.2.1 no wildcards in a Topic Name [MQTT-3.3.2-2] [MQTT-4.7.1-1]",
		// 00000000  30 05 00 03 61 2f 2b                              |0...a/+|
		Bytes: []byte{
			0x30, 5, // fixed header: PUBLISH QoS 0; remaining length 5
			0x00, 0x03, 'a', '/', '+', // topic name "a/+"
		},
		Err:     ErrTopicWildcard,
		Version: Version311,
	},
	{
		Name: "PUBLISH topic with #",
		Ref:  "§3.3.2.1 no wildcards in a Topic Name [MQTT-3.3.2-2] [MQTT-4.7.1-1]",
		// 00000000  30 05 00 03 61 2f 23                              |0...a/#|
		Bytes: []byte{
			0x30, 5, // fixed header: PUBLISH QoS 0; remaining length 5
			0x00, 0x03, 'a', '/', '#', // topic name "a/#"
		},
		Err:     ErrTopicWildcard,
		Version: Version311,
	},
	{
		Name: "PUBLISH empty topic",
		Ref:  "§4.7.3 Topic Names are at least one character long [MQTT-4.7.3-1]",
		// 00000000  30 02 00 00                                       |0...|
		Bytes: []byte{
			0x30, 2, // fixed header: PUBLISH QoS 0; remaining length 2
			0x00, 0x00, // topic name ""
		},
		Err:     ErrTopicEmpty,
		Version: Version311,
	},
	{
		Name: "PUBLISH QoS 3",
		Ref:  "Table 3.2 - QoS definitions: 3 reserved [MQTT-3.3.1-4]",
		// 00000000  36 07 00 03 61 2f 62 00  01                       |6...a/b..|
		Bytes: []byte{
			0x36, 7, // fixed header: PUBLISH, QoS bits 11; remaining length 7
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			0x00, 0x01, // packet identifier 1
		},
		Err:     ErrPublishQoS3,
		Version: Version311,
	},
	{
		Name: "PUBLISH DUP on QoS 0",
		Ref:  "§3.3.1.1 DUP is 0 for all QoS 0 messages [MQTT-3.3.1-2]",
		// 00000000  38 05 00 03 61 2f 62                              |8...a/b|
		Bytes: []byte{
			0x38, 5, // fixed header: PUBLISH, DUP 1, QoS 0; remaining length 5
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
		},
		Err:     ErrPublishDupQoS0,
		Version: Version311,
	},
	{
		Name: "PUBLISH QoS 1 packet identifier 0",
		Ref:  "§2.3.1 non-zero packet identifier [MQTT-2.3.1-1]",
		// 00000000  32 07 00 03 61 2f 62 00  00                       |2...a/b..|
		Bytes: []byte{
			0x32, 7, // fixed header: PUBLISH QoS 1; remaining length 7
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"
			0x00, 0x00, // packet identifier 0
		},
		Err:     ErrZeroPacketID,
		Version: Version311,
	},
	{
		Name: "PUBLISH QoS 2 without packet identifier",
		Ref:  "§3.3.2.2 Packet Identifier present when QoS is 1 or 2",
		// 00000000  34 05 00 03 61 2f 62                              |4...a/b|
		Bytes: []byte{
			0x34, 5, // fixed header: PUBLISH QoS 2; remaining length 5
			0x00, 0x03, 'a', '/', 'b', // topic name "a/b"; no packet identifier
		},
		Err:     ErrShortPacket,
		Version: Version311,
	},

	// Packet identifier 0 (§2.3.1)
	{
		Name: "PUBACK packet identifier 0",
		Ref:  "§2.3.1 non-zero packet identifier [MQTT-2.3.1-1]",
		// 00000000  40 02 00 00                                       |@...|
		Bytes: []byte{
			0x40, 0x02, // fixed header: PUBACK, remaining length 2
			0x00, 0x00, // packet identifier 0
		},
		Err:     ErrZeroPacketID,
		Version: Version311,
	},
	{
		Name: "PUBREC packet identifier 0",
		Ref:  "§2.3.1 non-zero packet identifier [MQTT-2.3.1-1]",
		// 00000000  50 02 00 00                                       |P...|
		Bytes: []byte{
			0x50, 0x02, // fixed header: PUBREC, remaining length 2
			0x00, 0x00, // packet identifier 0
		},
		Err:     ErrZeroPacketID,
		Version: Version311,
	},
	{
		Name: "PUBREL packet identifier 0",
		Ref:  "§2.3.1 non-zero packet identifier [MQTT-2.3.1-1]",
		// 00000000  62 02 00 00                                       |b...|
		Bytes: []byte{
			0x62, 0x02, // fixed header: PUBREL, flags 0010; remaining length 2
			0x00, 0x00, // packet identifier 0
		},
		Err:     ErrZeroPacketID,
		Version: Version311,
	},
	{
		Name: "PUBCOMP packet identifier 0",
		Ref:  "§2.3.1 non-zero packet identifier [MQTT-2.3.1-1]",
		// 00000000  70 02 00 00                                       |p...|
		Bytes: []byte{
			0x70, 0x02, // fixed header: PUBCOMP, remaining length 2
			0x00, 0x00, // packet identifier 0
		},
		Err:     ErrZeroPacketID,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE packet identifier 0",
		Ref:  "§2.3.1 non-zero packet identifier [MQTT-2.3.1-1]",
		// 00000000  82 08 00 00 00 03 61 2f  62 00                    |......a/b.|
		Bytes: []byte{
			0x82, 8, // fixed header: SUBSCRIBE, flags 0010; remaining length 8
			0x00, 0x00, // packet identifier 0
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			0x00, // requested QoS 0
		},
		Err:     ErrZeroPacketID,
		Version: Version311,
	},
	{
		Name: "SUBACK packet identifier 0",
		Ref:  "§2.3.1 non-zero packet identifier [MQTT-2.3.1-1]",
		// 00000000  90 03 00 00 00                                    |.....|
		Bytes: []byte{
			0x90, 0x03, // fixed header: SUBACK, remaining length 3
			0x00, 0x00, // packet identifier 0
			0x00, // return code: QoS 0
		},
		Err:     ErrZeroPacketID,
		Version: Version311,
	},
	{
		Name: "UNSUBSCRIBE packet identifier 0",
		Ref:  "§2.3.1 non-zero packet identifier [MQTT-2.3.1-1]",
		// 00000000  a2 07 00 00 00 03 61 2f  62                       |......a/b|
		Bytes: []byte{
			0xa2, 7, // fixed header: UNSUBSCRIBE, flags 0010; remaining length 7
			0x00, 0x00, // packet identifier 0
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
		},
		Err:     ErrZeroPacketID,
		Version: Version311,
	},
	{
		Name: "UNSUBACK packet identifier 0",
		Ref:  "§2.3.1 non-zero packet identifier [MQTT-2.3.1-1]",
		// 00000000  b0 02 00 00                                       |....|
		Bytes: []byte{
			0xb0, 0x02, // fixed header: UNSUBACK, remaining length 2
			0x00, 0x00, // packet identifier 0
		},
		Err:     ErrZeroPacketID,
		Version: Version311,
	},

	// SUBSCRIBE (§3.8) and topic filters (§4.7.1)
	{
		Name: "SUBSCRIBE with no payload",
		Ref:  "§3.8.3 at least one Topic Filter / QoS pair [MQTT-3.8.3-3]",
		// 00000000  82 02 00 0a                                       |....|
		Bytes: []byte{
			0x82, 2, // fixed header: SUBSCRIBE, flags 0010; remaining length 2
			0x00, 0x0a, // packet identifier 10; no payload
		},
		Err:     ErrSubscribeEmpty,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE requested QoS 3",
		Ref:  "Figure 3.22 - SUBSCRIBE Packet payload format: QoS 0, 1 or 2 [MQTT-3.8.3-4]",
		// 00000000  82 08 00 0a 00 03 61 2f  62 03                    |......a/b.|
		Bytes: []byte{
			0x82, 8, // fixed header: SUBSCRIBE, flags 0010; remaining length 8
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			0x03, // requested QoS 3
		},
		Err:     ErrSubscribeOptions,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE requested QoS reserved bit 0x04",
		Ref:  "Figure 3.22 - SUBSCRIBE Packet payload format: upper 6 bits reserved [MQTT-3.8.3-4]",
		// 00000000  82 08 00 0a 00 03 61 2f  62 04                    |......a/b.|
		Bytes: []byte{
			0x82, 8, // fixed header: SUBSCRIBE, flags 0010; remaining length 8
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			0x04, // requested QoS byte 00000100: reserved bit 2 set
		},
		Err:     ErrSubscribeOptions,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE requested QoS reserved bit 0x80",
		Ref:  "Figure 3.22 - SUBSCRIBE Packet payload format: upper 6 bits reserved [MQTT-3.8.3-4]",
		// 00000000  82 08 00 0a 00 03 61 2f  62 81                    |......a/b.|
		Bytes: []byte{
			0x82, 8, // fixed header: SUBSCRIBE, flags 0010; remaining length 8
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			0x81, // requested QoS byte 10000001: reserved bit 7 set
		},
		Err:     ErrSubscribeOptions,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE without requested QoS",
		Ref:  "Figure 3.22 - SUBSCRIBE Packet payload format: each filter is followed by a QoS byte",
		// 00000000  82 07 00 0a 00 03 61 2f  62                       |......a/b|
		Bytes: []byte{
			0x82, 7, // fixed header: SUBSCRIBE, flags 0010; remaining length 7
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"; no requested QoS
		},
		Err:     ErrShortPacket,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE filter a/#/b",
		Ref:  "§4.7.1.2 # is the last character of the filter [MQTT-4.7.1-2]",
		// 00000000  82 0a 00 0a 00 05 61 2f  23 2f 62 00              |......a/#/b.|
		Bytes: []byte{
			0x82, 10, // fixed header: SUBSCRIBE, flags 0010; remaining length 10
			0x00, 0x0a, // packet identifier 10
			0x00, 0x05, 'a', '/', '#', '/', 'b', // topic filter "a/#/b"
			0x00, // requested QoS 0
		},
		Err:     ErrFilterMultiLevel,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE filter a+",
		Ref:  "§4.7.1.3 + occupies an entire level [MQTT-4.7.1-3]",
		// 00000000  82 07 00 0a 00 02 61 2b  00                       |......a+.|
		Bytes: []byte{
			0x82, 7, // fixed header: SUBSCRIBE, flags 0010; remaining length 7
			0x00, 0x0a, // packet identifier 10
			0x00, 0x02, 'a', '+', // topic filter "a+"
			0x00, // requested QoS 0
		},
		Err:     ErrFilterSingleLevel,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE filter #a",
		Ref:  "§4.7.1.2 # stands alone in its level [MQTT-4.7.1-2]",
		// 00000000  82 07 00 0a 00 02 23 61  00                       |......#a.|
		Bytes: []byte{
			0x82, 7, // fixed header: SUBSCRIBE, flags 0010; remaining length 7
			0x00, 0x0a, // packet identifier 10
			0x00, 0x02, '#', 'a', // topic filter "#a"
			0x00, // requested QoS 0
		},
		Err:     ErrFilterMultiLevel,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE second filter sport/tennis#",
		Ref:  "§4.7.1.2 non normative comment: sport/tennis# is not valid [MQTT-4.7.1-2]",
		// 00000000  82 18 00 0a 00 03 61 2f  62 01 00 0d 73 70 6f 72  |......a/b...spor|
		// 00000010  74 2f 74 65 6e 6e 69 73  23 01                    |t/tennis#.|
		Bytes: []byte{
			0x82, 24, // fixed header: SUBSCRIBE, flags 0010; remaining length 24
			0x00, 0x0a, // packet identifier 10
			0x00, 0x03, 'a', '/', 'b', // topic filter "a/b"
			0x01, // requested QoS 1
			0x00, 0x0d, 's', 'p', 'o', 'r', 't', '/',
			't', 'e', 'n', 'n', 'i', 's', '#', // topic filter "sport/tennis#"
			0x01, // requested QoS 1
		},
		Err:     ErrFilterMultiLevel,
		Version: Version311,
	},
	{
		Name: "SUBSCRIBE empty filter",
		Ref:  "§4.7.3 Topic Filters are at least one character long [MQTT-4.7.3-1]",
		// 00000000  82 05 00 0a 00 00 00                              |.......|
		Bytes: []byte{
			0x82, 5, // fixed header: SUBSCRIBE, flags 0010; remaining length 5
			0x00, 0x0a, // packet identifier 10
			0x00, 0x00, // topic filter ""
			0x00, // requested QoS 0
		},
		Err:     ErrTopicEmpty,
		Version: Version311,
	},

	// UNSUBSCRIBE (§3.10)
	{
		Name: "UNSUBSCRIBE with no payload",
		Ref:  "§3.10.3 at least one Topic Filter [MQTT-3.10.3-2]",
		// 00000000  a2 02 00 0a                                       |....|
		Bytes: []byte{
			0xa2, 2, // fixed header: UNSUBSCRIBE, flags 0010; remaining length 2
			0x00, 0x0a, // packet identifier 10; no payload
		},
		Err:     ErrUnsubscribeEmpty,
		Version: Version311,
	},
	{
		Name: "UNSUBSCRIBE filter sport+",
		Ref:  "§4.7.1.3 non normative comment: sport+ is not valid [MQTT-4.7.1-3]",
		// 00000000  a2 0a 00 0a 00 06 73 70  6f 72 74 2b              |......sport+|
		Bytes: []byte{
			0xa2, 10, // fixed header: UNSUBSCRIBE, flags 0010; remaining length 10
			0x00, 0x0a, // packet identifier 10
			0x00, 0x06, 's', 'p', 'o', 'r', 't', '+', // topic filter "sport+"
		},
		Err:     ErrFilterSingleLevel,
		Version: Version311,
	},
	{
		Name: "UNSUBSCRIBE filter sport/tennis/#/ranking",
		Ref:  "§4.7.1.2 non normative comment: sport/tennis/#/ranking is not valid [MQTT-4.7.1-2]",
		// 00000000  a2 1a 00 0a 00 16 73 70  6f 72 74 2f 74 65 6e 6e  |......sport/tenn|
		// 00000010  69 73 2f 23 2f 72 61 6e  6b 69 6e 67              |is/#/ranking|
		Bytes: []byte{
			0xa2, 26, // fixed header: UNSUBSCRIBE, flags 0010; remaining length 26
			0x00, 0x0a, // packet identifier 10
			0x00, 0x16, 's', 'p', 'o', 'r', 't', '/', 't', 'e', 'n', 'n', 'i', 's', '/', '#', '/',
			'r', 'a', 'n', 'k', 'i', 'n', 'g', // topic filter "sport/tennis/#/ranking"
		},
		Err:     ErrFilterMultiLevel,
		Version: Version311,
	},

	// SUBACK (§3.9)
	{
		Name: "SUBACK return code 0x03",
		Ref:  "§3.9.3 only 0x00, 0x01, 0x02 and 0x80 [MQTT-3.9.3-2]",
		// 00000000  90 03 00 0a 03                                    |.....|
		Bytes: []byte{
			0x90, 0x03, // fixed header: SUBACK, remaining length 3
			0x00, 0x0a, // packet identifier 10
			0x03, // return code 0x03: reserved
		},
		Err:     ErrSubackCode,
		Version: Version311,
	},
	{
		Name: "SUBACK return code 0x81",
		Ref:  "Figure 3.26 - SUBACK Packet payload format: bits 6-2 are 0 [MQTT-3.9.3-2]",
		// 00000000  90 04 00 0a 01 81                                 |......|
		Bytes: []byte{
			0x90, 0x04, // fixed header: SUBACK, remaining length 4
			0x00, 0x0a, // packet identifier 10
			0x01, // return code 0x01: success, maximum QoS 1
			0x81, // return code 0x81: reserved
		},
		Err:     ErrSubackCode,
		Version: Version311,
	},

	// CONNACK (§3.2)
	{
		Name: "CONNACK reserved acknowledge flag bit 1",
		Ref:  "§3.2.2.1 Connect Acknowledge Flags: bits 7-1 reserved, set to 0",
		// 00000000  20 02 02 00                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x02, // acknowledge flags 00000010: reserved bit 1 set
			0x00, // return code 0x00
		},
		Err:     ErrConnackReserved,
		Version: Version311,
	},
	{
		Name: "CONNACK reserved acknowledge flag bit 7",
		Ref:  "§3.2.2.1 Connect Acknowledge Flags: bits 7-1 reserved, set to 0",
		// 00000000  20 02 81 00                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x81, // acknowledge flags 10000001: reserved bit 7 and session present
			0x00, // return code 0x00
		},
		Err:     ErrConnackReserved,
		Version: Version311,
	},
	{
		Name: "CONNACK return code 6",
		Ref:  "Table 3.1 - Connect Return code values: 6-255 reserved",
		// 00000000  20 02 00 06                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x00, // acknowledge flags
			0x06, // return code 6
		},
		Err:     ErrConnackCode,
		Version: Version311,
	},
	{
		Name: "CONNACK session present with a refusal",
		Ref:  "§3.2.2.2 non-zero return code needs Session Present 0 [MQTT-3.2.2-4]",
		// 00000000  20 02 01 05                                       | ...|
		Bytes: []byte{
			0x20, 0x02, // fixed header: CONNACK, remaining length 2
			0x01, // acknowledge flags: session present 1
			0x05, // return code 0x05 not authorized
		},
		Err:     ErrSessionPresentRefused,
		Version: Version311,
	},
	{
		Name: "CONNACK remaining length 3",
		Ref:  "Figure 3.8 - CONNACK remaining length is 2; §3.2.3 no payload",
		// 00000000  20 03 00 00 00                                    | ....|
		Bytes: []byte{
			0x20, 0x03, // fixed header: CONNACK, remaining length 3
			0x00, 0x00, // acknowledge flags, return code
			0x00, // one byte too many
		},
		Err:     ErrTrailingBytes,
		Version: Version311,
	},
	{
		Name: "CONNACK remaining length 1",
		Ref:  "Figure 3.8 - CONNACK remaining length is 2",
		// 00000000  20 01 00                                          | ..|
		Bytes: []byte{
			0x20, 0x01, // fixed header: CONNACK, remaining length 1
			0x00, // acknowledge flags; no return code
		},
		Err:     ErrShortPacket,
		Version: Version311,
	},

	// CONNECT (§3.1)
	{
		Name: "CONNECT reserved flag",
		Ref:  "Figure 3.4 - Connect Flag bits: bit 0 reserved [MQTT-3.1.2-3]",
		// 00000000  10 0c 00 04 4d 51 54 54  04 03 00 3c 00 00        |....MQTT...<..|
		Bytes: []byte{
			0x10, 12, // fixed header: CONNECT, remaining length 12
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x03,       // connect flags 00000011: clean session, reserved bit 0 set
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
		},
		Err:     ErrConnectReserved,
		Version: Version311,
	},
	{
		Name: "CONNECT will QoS 3",
		Ref:  "§3.1.2.6 Will QoS must not be 3 [MQTT-3.1.2-14]",
		// 00000000  10 11 00 04 4d 51 54 54  04 1e 00 3c 00 00 00 01  |....MQTT...<....|
		// 00000010  77 00 00                                          |w..|
		Bytes: []byte{
			0x10, 17, // fixed header: CONNECT, remaining length 17
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x1e,       // connect flags 00011110: will QoS 11, will flag, clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
			0x00, 0x01, 'w', // will topic "w"
			0x00, 0x00, // will message: zero bytes
		},
		Err:     ErrWillQoS,
		Version: Version311,
	},
	{
		Name: "CONNECT will QoS without will flag",
		Ref:  "§3.1.2.5, §3.1.2.6 Will Flag 0 needs Will QoS 0 [MQTT-3.1.2-11] [MQTT-3.1.2-13]",
		// 00000000  10 0c 00 04 4d 51 54 54  04 0a 00 3c 00 00        |....MQTT...<..|
		Bytes: []byte{
			0x10, 12, // fixed header: CONNECT, remaining length 12
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x0a,       // connect flags 00001010: will QoS 01 without will flag, clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
		},
		Err:     ErrWillFlags,
		Version: Version311,
	},
	{
		Name: "CONNECT will retain without will flag",
		Ref:  "§3.1.2.7 Will Flag 0 needs Will Retain 0 [MQTT-3.1.2-15]",
		// 00000000  10 0c 00 04 4d 51 54 54  04 22 00 3c 00 00        |....MQTT.".<..|
		Bytes: []byte{
			0x10, 12, // fixed header: CONNECT, remaining length 12
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x22,       // connect flags 00100010: will retain without will flag, clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
		},
		Err:     ErrWillFlags,
		Version: Version311,
	},
	{
		Name: "CONNECT password without user name",
		Ref:  "§3.1.2.9 User Name Flag 0 needs Password Flag 0 [MQTT-3.1.2-22]",
		// 00000000  10 0f 00 04 4d 51 54 54  04 42 00 3c 00 00 00 01  |....MQTT.B.<....|
		// 00000010  70                                                |p|
		Bytes: []byte{
			0x10, 15, // fixed header: CONNECT, remaining length 15
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x42,       // connect flags 01000010: password, clean session; no user name
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
			0x00, 0x01, 'p', // password "p"
		},
		Err:     ErrPasswordWithoutUser,
		Version: Version311,
	},
	{
		Name: "CONNECT protocol name MQIsdp at level 4",
		Ref:  "§3.1.2.1 Protocol Name [MQTT-3.1.2-1]",
		// 00000000  10 0e 00 06 4d 51 49 73  64 70 04 02 00 3c 00 00  |....MQIsdp...<..|
		Bytes: []byte{
			0x10, 14, // fixed header: CONNECT, remaining length 14
			0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp" (MQTT 3.1)
			0x04,       // protocol level 4 (MQTT 3.1.1)
			0x02,       // connect flags: clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
		},
		Err:     ErrProtocolName,
		Version: Version311,
	},
	{
		Name: "CONNECT protocol name in lower case",
		Ref:  "§3.1.2.1 Protocol Name \"MQTT\", capitalized as shown [MQTT-3.1.2-1]",
		// 00000000  10 0c 00 04 6d 71 74 74  04 02 00 3c 00 00        |....mqtt...<..|
		Bytes: []byte{
			0x10, 12, // fixed header: CONNECT, remaining length 12
			0x00, 0x04, 'm', 'q', 't', 't', // protocol name "mqtt"
			0x04,       // protocol level 4
			0x02,       // connect flags: clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
		},
		Err:     ErrProtocolName,
		Version: Version311,
	},
	{
		Name: "CONNECT MQTT protocol level 3",
		Ref:  "§3.1.2.2 Protocol Level: unsupported level gets CONNACK 0x01 [MQTT-3.1.2-2]",
		// 00000000  10 0c 00 04 4d 51 54 54  03 02 00 3c 00 00        |....MQTT...<..|
		Bytes: []byte{
			0x10, 12, // fixed header: CONNECT, remaining length 12
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x03,       // protocol level 3
			0x02,       // connect flags: clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
		},
		Packet:  &Connect{ProtocolName: "MQTT", ProtocolLevel: 3},
		Err:     ErrProtocolLevel,
		Version: Version311,
	},
	{
		Name: "CONNECT MQTT protocol level 5",
		Ref:  "§3.1.2.2 Protocol Level: unsupported level gets CONNACK 0x01 [MQTT-3.1.2-2]",
		// 00000000  10 0d 00 04 4d 51 54 54  05 02 00 3c 00 00 00     |....MQTT...<...|
		Bytes: []byte{
			0x10, 13, // fixed header: CONNECT, remaining length 13
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x05,       // protocol level 5 (MQTT 5.0)
			0x02,       // connect flags: clean session
			0x00, 0x3c, // keep alive 60 s
			0x00,       // MQTT 5.0 property length 0
			0x00, 0x00, // client identifier ""
		},
		Packet:  &Connect{ProtocolName: "MQTT", ProtocolLevel: 5},
		Err:     ErrProtocolLevel,
		Version: Version311,
	},
	{
		Name: "CONNECT MQIsdp protocol level 3",
		Ref:  "§3.1.2.2 Protocol Level: an MQTT 3.1 client gets CONNACK 0x01 [MQTT-3.1.2-2]",
		// 00000000  10 0e 00 06 4d 51 49 73  64 70 03 02 00 3c 00 00  |....MQIsdp...<..|
		Bytes: []byte{
			0x10, 14, // fixed header: CONNECT, remaining length 14
			0x00, 0x06, 'M', 'Q', 'I', 's', 'd', 'p', // protocol name "MQIsdp"
			0x03,       // protocol level 3 (MQTT 3.1)
			0x02,       // connect flags: clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
		},
		Packet:  &Connect{ProtocolName: "MQIsdp", ProtocolLevel: 3},
		Err:     ErrProtocolLevel,
		Version: Version311,
	},
	{
		Name: "CONNECT will topic with a wildcard",
		Ref:  "§3.1.3.2 Will Topic is a topic name [MQTT-4.7.1-1]",
		// 00000000  10 13 00 04 4d 51 54 54  04 06 00 3c 00 00 00 03  |....MQTT...<....|
		// 00000010  61 2f 23 00 00                                    |a/#..|
		Bytes: []byte{
			0x10, 19, // fixed header: CONNECT, remaining length 19
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x06,       // connect flags 00000110: will flag, clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
			0x00, 0x03, 'a', '/', '#', // will topic "a/#"
			0x00, 0x00, // will message: zero bytes
		},
		Err:     ErrTopicWildcard,
		Version: Version311,
	},
	{
		Name: "CONNECT without client identifier",
		Ref:  "§3.1.3.1 ClientId must be present [MQTT-3.1.3-3]",
		// 00000000  10 0a 00 04 4d 51 54 54  04 02 00 3c              |....MQTT...<|
		Bytes: []byte{
			0x10, 10, // fixed header: CONNECT, remaining length 10
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x02,       // connect flags: clean session
			0x00, 0x3c, // keep alive 60 s; no payload
		},
		Err:     ErrShortPacket,
		Version: Version311,
	},
	{
		Name: "CONNECT will flag without will topic",
		Ref:  "§3.1.2.5 Will Flag 1 needs Will Topic and Will Message [MQTT-3.1.2-9]",
		// 00000000  10 0c 00 04 4d 51 54 54  04 06 00 3c 00 00        |....MQTT...<..|
		Bytes: []byte{
			0x10, 12, // fixed header: CONNECT, remaining length 12
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x06,       // connect flags 00000110: will flag, clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""; no will topic
		},
		Err:     ErrShortPacket,
		Version: Version311,
	},
	{
		Name: "CONNECT user name flag without user name",
		Ref:  "§3.1.2.8 User Name Flag 1 needs a user name [MQTT-3.1.2-19]",
		// 00000000  10 0c 00 04 4d 51 54 54  04 82 00 3c 00 00        |....MQTT...<..|
		Bytes: []byte{
			0x10, 12, // fixed header: CONNECT, remaining length 12
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x82,       // connect flags 10000010: user name, clean session
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""; no user name
		},
		Err:     ErrShortPacket,
		Version: Version311,
	},
	{
		Name: "CONNECT password without password flag",
		Ref:  "§3.1.2.9 Password Flag 0: no password in the payload [MQTT-3.1.2-20]",
		// 00000000  10 12 00 04 4d 51 54 54  04 82 00 3c 00 00 00 01  |....MQTT...<....|
		// 00000010  75 00 01 70                                       |u..p|
		Bytes: []byte{
			0x10, 18, // fixed header: CONNECT, remaining length 18
			0x00, 0x04, 'M', 'Q', 'T', 'T', // protocol name
			0x04,       // protocol level 4
			0x82,       // connect flags 10000010: user name, clean session; no password
			0x00, 0x3c, // keep alive 60 s
			0x00, 0x00, // client identifier ""
			0x00, 0x01, 'u', // user name "u"
			0x00, 0x01, 'p', // a password nobody announced
		},
		Err:     ErrTrailingBytes,
		Version: Version311,
	},
}
