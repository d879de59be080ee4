package mqtt

// Faults deliberately break the broker so the harness self-test can prove
// that the conformance suite catches each kind of mistake. Every field is off
// by default and no flag or config key sets them: never use in production.
type Faults struct {
	AcceptSecondConnect   bool // connect: ignore a second CONNECT instead of closing [MQTT-3.1.0-2]
	NoSessionPresent      bool // session: always answer session present 0 [MQTT-3.2.2-2]
	NoOfflineQueue        bool // session: drop QoS 1/2 messages for offline sessions [MQTT-3.1.2-5]
	KeepWillOnDisconnect  bool // will: publish the will even after DISCONNECT [MQTT-3.14.4-3]
	NoKeepalive           bool // keepalive: never close silent clients [MQTT-3.1.2-24]
	UpgradeQoS            bool // qos: deliver at the granted QoS, not the minimum [MQTT-3.8.4-6]
	DeliverDuplicateQoS2  bool // qos: deliver a resent QoS 2 PUBLISH again [MQTT-4.3.3-2]
	ReuseInflightID       bool // packet-ids: give every outgoing message packet ID 1 [MQTT-2.3.1-4]
	DropRetainedOnReplace bool // retained: replacing a retained message deletes it [MQTT-3.3.1-5]
	RetainOnLive          bool // publish: forward live messages with the publisher's RETAIN [MQTT-3.3.1-9]
	SubackWrongID         bool // subscribe: answer SUBACK with the wrong packet ID [MQTT-3.8.4-2]
	WildcardMatchesSys    bool // topics: let '#' and '+' match '$' topics [MQTT-4.7.2-1]
	TolerateMalformed     bool // malformed: skip an ill-formed packet instead of closing [MQTT-4.8.0-1]
	AcceptAnyPassword     bool // security: accept any password for a known user
}
