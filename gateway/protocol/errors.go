package protocol

import "errors"

// Reason is a short, stable label for why a message was rejected; it is the value of
// the reason label of the rejects metric and of the dead-letter log.
type Reason string

// Reject reasons. Each is documented in docs/protocol.md.
const (
	// ReasonBadTopic: the topic is not carebed/v1/{device}/{kind}, or a device
	// published to its cmd topic.
	ReasonBadTopic Reason = "bad_topic"
	// ReasonOversize: the payload is longer than MaxMessageSize (MaxBatchSize for a
	// telemetry batch).
	ReasonOversize Reason = "oversize"
	// ReasonBadJSON: the payload is not one well-formed JSON object (syntax error,
	// empty payload, trailing data, a string that is not UTF-8).
	ReasonBadJSON Reason = "bad_json"
	// ReasonBadVersion: v is missing or is not the number 1.
	ReasonBadVersion Reason = "bad_version"
	// ReasonBadType: a field has the wrong JSON type, e.g. a string where a number
	// belongs, or a fraction where an integer belongs.
	ReasonBadType Reason = "bad_type"
	// ReasonUnknownField: a field that protocol v1 does not define for this message.
	ReasonUnknownField Reason = "unknown_field"
	// ReasonDuplicateField: the same field appears twice in one JSON object.
	ReasonDuplicateField Reason = "duplicate_field"
	// ReasonMissingField: a required field is absent.
	ReasonMissingField Reason = "missing_field"
	// ReasonOutOfRange: a number outside its allowed range, or a string too long.
	ReasonOutOfRange Reason = "out_of_range"
	// ReasonEmptyReading: a telemetry reading without any reading field, or an
	// empty batch.
	ReasonEmptyReading Reason = "empty_reading"
	// ReasonUnknownEventType: an event type that protocol v1 does not define.
	ReasonUnknownEventType Reason = "unknown_event_type"
)

// AllReasons lists every Reason constant, in a fixed order, for metrics
// pre-registration and docs. The caller may modify the returned slice.
func AllReasons() []Reason {
	return []Reason{
		ReasonBadTopic, ReasonOversize, ReasonBadJSON, ReasonBadVersion,
		ReasonBadType, ReasonUnknownField, ReasonDuplicateField, ReasonMissingField,
		ReasonOutOfRange, ReasonEmptyReading, ReasonUnknownEventType,
	}
}

// Error is a rejection of a message: the reason, the field at fault (if any) and a
// sentence a firmware engineer can act on.
type Error struct {
	Reason Reason
	Field  string
	Msg    string
}

// Error returns the message, prefixed with the field when there is one.
func (e *Error) Error() string {
	if e.Field != "" {
		return string(e.Reason) + ": " + e.Field + ": " + e.Msg
	}
	return string(e.Reason) + ": " + e.Msg
}

// ReasonOf returns the Reason of the *Error in err's chain, or "" when there is none.
func ReasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
