// Package protocol implements carebed device protocol v1: MQTT topics, typed messages,
// and decoders that reject anything malformed with an error naming the reason.
package protocol

import (
	"fmt"
	"strings"
)

// Prefix is the topic prefix of protocol v1.
const Prefix = "carebed/v1/"

// Kind is the last segment of a device topic: what a message carries.
type Kind string

// Topic kinds of protocol v1.
const (
	KindTelemetry Kind = "telemetry"
	KindEvent     Kind = "event"
	KindStatus    Kind = "status"
	KindCmd       Kind = "cmd"
)

// Topic is a parsed device topic.
type Topic struct {
	Device string
	Kind   Kind
}

// ValidDeviceID reports whether id matches [a-z0-9][a-z0-9-]{2,63}, the device id
// (and MQTT username) syntax of protocol v1.
func ValidDeviceID(id string) bool {
	if len(id) < 3 || len(id) > 64 {
		return false
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-' && i > 0:
		default:
			return false
		}
	}
	return true
}

// ParseTopic parses carebed/v1/{device}/{kind}. It returns an *Error with reason
// ReasonBadTopic when the topic is not a device topic of protocol v1.
func ParseTopic(topic string) (Topic, error) {
	rest, ok := strings.CutPrefix(topic, Prefix)
	if !ok {
		return Topic{}, &Error{Reason: ReasonBadTopic, Msg: fmt.Sprintf("topic %q does not start with %q", topic, Prefix)}
	}
	device, kind, ok := strings.Cut(rest, "/")
	if !ok || strings.Contains(kind, "/") {
		return Topic{}, &Error{Reason: ReasonBadTopic, Msg: fmt.Sprintf("topic %q is not %s{device}/{kind}", topic, Prefix)}
	}
	if !ValidDeviceID(device) {
		return Topic{}, &Error{Reason: ReasonBadTopic, Msg: fmt.Sprintf("device id %q does not match [a-z0-9][a-z0-9-]{2,63}", device)}
	}
	switch k := Kind(kind); k {
	case KindTelemetry, KindEvent, KindStatus, KindCmd:
		return Topic{Device: device, Kind: k}, nil
	}
	return Topic{}, &Error{Reason: ReasonBadTopic, Msg: fmt.Sprintf("topic kind %q is not telemetry, event, status or cmd", kind)}
}

// String returns the topic name.
func (t Topic) String() string { return Prefix + t.Device + "/" + string(t.Kind) }

// DeviceTopic returns the topic of device for kind.
func DeviceTopic(device string, kind Kind) string { return Topic{Device: device, Kind: kind}.String() }
