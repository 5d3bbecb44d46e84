package protocol

import "time"

// Limits and rules of protocol v1.
const (
	// Version is the value of the v field of every protocol v1 message.
	Version = 1
	// MaxMessageSize is the longest payload, in bytes, of any message but a telemetry batch.
	MaxMessageSize = 4096
	// MaxBatchSize is the longest payload, in bytes, of a telemetry batch.
	MaxBatchSize = 65536
	// LateAfter is how much older than its arrival a message's ts may be before the
	// message is late: still processed, and flagged with how late it is.
	LateAfter = 60 * time.Second
	// DedupWindow is how many of a device's most recent seqs the gateway remembers to
	// drop duplicates.
	DedupWindow = 1024
	// MaxSeqJump is the largest step between a device's seqs that the gateway takes
	// for its counter moving on (or a replay going back): 2^32, more than a device
	// sending ten messages a second uses in thirteen years. A seq further from the
	// highest seen resets the duplicate filter of the device to it (counted in
	// carebed_ingest_seq_resets_total); the message is still taken.
	MaxSeqJump = 1 << 32
	// MaxTS is the latest ts, in Unix milliseconds, that the gateway stores as sent:
	// 2262-04-11 23:47:16.853 UTC. InfluxDB's timestamps are int64 nanoseconds and end
	// there (the gateway adds up to 999 999 ns of seq to each ms). Decode accepts a
	// larger ts (up to 2^63-1); the gateway treats it as no clock (the arrival time is
	// used) and flags the point ts_invalid.
	MaxTS = 9_223_372_036_853
)

// Message is the decoded form of any device→gateway message. Only the field for
// Topic.Kind is set.
type Message struct {
	Topic     Topic
	Telemetry Telemetry
	Event     Event
	Status    Status
}

// Decode parses topic and payload together: ParseTopic, then the decoder for the
// topic's kind. A cmd topic is rejected with ReasonBadTopic, since devices must not
// publish to it. Every error is an *Error; when only the payload is at fault the
// returned Message still carries the parsed Topic, so the caller can say which
// device sent it.
func Decode(topic string, payload []byte) (Message, error) {
	t, err := ParseTopic(topic)
	if err != nil {
		return Message{}, err
	}
	m := Message{Topic: t}
	switch t.Kind {
	case KindTelemetry:
		m.Telemetry, err = DecodeTelemetry(payload)
	case KindEvent:
		m.Event, err = DecodeEvent(payload)
	case KindStatus:
		m.Status, err = DecodeStatus(payload)
	default:
		err = &Error{Reason: ReasonBadTopic, Msg: "devices must not publish to their cmd topic " + topic + "; it carries commands from the gateway"}
	}
	return m, err
}
