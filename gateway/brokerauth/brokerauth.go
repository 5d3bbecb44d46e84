// Package brokerauth is the one statement of who may publish and subscribe where on
// the broker. The embedded broker asks Allowed at every publish and subscribe, and
// `gateway broker export` writes the same rules as Mosquitto's password and ACL
// files, so both brokers enforce the same thing (but for one thing WriteACL says:
// Mosquitto's file grants the device rules by pattern, so there every user holds them
// for the topics named after itself):
//
//   - a device writes only carebed/v1/{its id}/telemetry|event|status and reads only
//     carebed/v1/{its id}/cmd;
//   - a responder app writes only carebed/v1/responders/{its id}/ack and reads only
//     carebed/v1/responders/{its id}/alerts;
//   - the gateway reads everything under carebed/v1/ and Mosquitto's BrokerStats,
//     and writes devices' cmd topics and responders' alerts topics.
package brokerauth

import (
	"fmt"
	"strings"

	"carebed/gateway/protocol"
)

// Kind is what a broker user is.
type Kind string

// The kinds of broker users.
const (
	Device    Kind = "device"
	Responder Kind = "responder"
	Gateway   Kind = "gateway"
	// GatewayAlarms is the gateway's second session, which only reads devices'
	// events, so that an SOS never queues at the broker behind the readings for the
	// gateway's main session (a township replaying its backlog after a power cut).
	GatewayAlarms Kind = "gateway_alarms"
)

// AlarmUser is the broker user (and client id) of the gateway's alarm session,
// given the gateway's own username.
func AlarmUser(gatewayUser string) string { return gatewayUser + "-alarms" }

// Principal is one broker user: its username (device id, responder id, or the
// gateway's configured username) and kind, and for export its password hash.
type Principal struct {
	Kind Kind
	ID   string
	// Hash is the password hash in Mosquitto's $7$ format (package credential).
	Hash string
}

// BrokerStats are the statistics Mosquitto publishes that the gateway reads and
// exports: the messages it dropped because a queue was full (acknowledged to their
// publisher and lost), and the messages it holds.
var BrokerStats = []string{StatDropped, StatStored}

// The $SYS topics of BrokerStats.
const (
	StatDropped = "$SYS/broker/publish/messages/dropped"
	StatStored  = "$SYS/broker/store/messages/count"
)

// MaxPacketSize is the largest MQTT packet, in bytes and whole (fixed header
// included), that either broker takes: Mosquitto's max_packet_size in every shipped
// configuration (deploy/) and the embedded broker's limit. It is a telemetry batch of
// protocol.MaxBatchSize with its topic, packet id and properties, plus room to spare,
// so a payload a little over the protocol's limit still reaches the gateway and is
// dead-lettered as oversize. A larger packet closes the connection before its body
// is read: nobody, with or without a password, can make a broker hold more.
const MaxPacketSize = protocol.MaxBatchSize + 4096

// respondersPrefix is where responder apps talk to the gateway.
const respondersPrefix = protocol.Prefix + "responders/"

// Rules returns the topic filters p may write (publish to) and read (subscribe to).
func Rules(p Principal) (write, read []string) {
	switch p.Kind {
	case Device:
		base := protocol.Prefix + p.ID + "/"
		return []string{base + string(protocol.KindTelemetry), base + string(protocol.KindEvent),
			base + string(protocol.KindStatus)}, []string{base + string(protocol.KindCmd)}
	case Responder:
		base := respondersPrefix + p.ID + "/"
		return []string{base + "ack"}, []string{base + "alerts"}
	case Gateway:
		return []string{protocol.Prefix + "+/" + string(protocol.KindCmd), respondersPrefix + "+/alerts"},
			append([]string{protocol.Prefix + "#"}, BrokerStats...)
	case GatewayAlarms:
		return nil, []string{protocol.Prefix + "+/" + string(protocol.KindEvent)}
	}
	return nil, nil
}

// Allowed reports whether p may publish to topic (write) or subscribe to the topic
// filter (read). A subscription filter is allowed when every topic it can match is
// allowed, which for these rules means it is matched by one of p's read filters.
func Allowed(p Principal, topic string, write bool) bool {
	if p.ID == "" {
		return false
	}
	w, r := Rules(p)
	filters := r
	if write {
		filters = w
	}
	for _, f := range filters {
		if Covers(f, topic) {
			return true
		}
	}
	return false
}

// Covers reports whether every topic matched by sub (a topic name or an MQTT filter
// with + and #) is also matched by the filter f.
func Covers(f, sub string) bool {
	fl, sl := strings.Split(f, "/"), strings.Split(sub, "/")
	for i, level := range fl {
		switch {
		case level == "#":
			return true
		case i >= len(sl):
			return false
		case level == "+":
			if sl[i] == "#" {
				return false
			}
		case level != sl[i]:
			return false
		}
	}
	return len(fl) == len(sl)
}

// CheckID returns an error unless id can be a broker username in the exported files:
// Mosquitto's files are line-based with ':' and spaces as separators.
func CheckID(id string) error {
	if id == "" || strings.ContainsAny(id, ": \t\r\n#+/") {
		return fmt.Errorf("broker user %q: must be non-empty without ':', '/', '+', '#' or white space", id)
	}
	return nil
}
