package protocol

import (
	"math"
	"strconv"
	"strings"
)

// EventType is the type of a discrete event a device reports.
type EventType string

// Event types of protocol v1.
const (
	EventSOS        EventType = "sos"         // SOS button pressed (紧急呼叫)
	EventSOSCancel  EventType = "sos_cancel"  // SOS cancelled on the device (取消紧急呼叫)
	EventFall       EventType = "fall"        // fall detected (跌倒)
	EventFallCancel EventType = "fall_cancel" // fall cancelled: the person got up or pressed cancel (取消跌倒)
	EventBedExit    EventType = "bed_exit"    // the person left the bed (离床)
	EventBedReturn  EventType = "bed_return"  // the person returned to bed (回床)
	EventSmoke      EventType = "smoke"       // smoke detected (烟雾报警)
	EventGas        EventType = "gas"         // gas leak detected (燃气泄漏)
	EventWaterLeak  EventType = "water_leak"  // water leak detected (漏水)
	EventTamper     EventType = "tamper"      // device opened, moved or removed (防拆报警)
	EventLowBattery EventType = "low_battery" // battery low (电量低)
	// EventVisit: someone came to look after the person: a visitor's card tapped on
	// the device, or the caregiver button of a pendant or bed sensor (探访打卡). It
	// raises no alert; the gateway records a visit. Added to v1 backward-compatibly.
	EventVisit EventType = "visit"
)

var eventTypes = []EventType{
	EventSOS, EventSOSCancel, EventFall, EventFallCancel, EventBedExit, EventBedReturn,
	EventSmoke, EventGas, EventWaterLeak, EventTamper, EventLowBattery, EventVisit,
}

// EventTypes lists every event type of protocol v1. The caller may modify the
// returned slice.
func EventTypes() []EventType { return append([]EventType(nil), eventTypes...) }

// IsCancel reports whether t cancels an earlier event (sos_cancel, fall_cancel); only
// those events may carry Cancels.
func (t EventType) IsCancel() bool { return t == EventSOSCancel || t == EventFallCancel }

// IsAlarm reports whether t is a life-safety alarm (sos, fall, smoke, gas,
// water_leak). An alarm event is never rejected for a field protocol v1 does not
// know: the field is skipped and named in Event.Unknown, so a firmware update that
// adds a field cannot silence the alarms of a whole device model.
func (t EventType) IsAlarm() bool {
	switch t {
	case EventSOS, EventFall, EventSmoke, EventGas, EventWaterLeak:
		return true
	}
	return false
}

// Event is one discrete event reported by a device.
type Event struct {
	Seq        uint64    // the device's message counter
	TS         int64     // device clock, Unix milliseconds; 0 when the device has no clock
	Type       EventType // what happened
	Confidence *float64  // the device's confidence in the detection, 0..1; nil when not sent
	Cancels    uint64    // for sos_cancel and fall_cancel: seq of the event cancelled; 0 when not sent
	// Unknown names the fields protocol v1 does not define that an alarm event
	// (Type.IsAlarm) carried: accepted and skipped, as in Error.Field (shortened,
	// quoted unless plain). Any other event with an unknown field is rejected.
	Unknown []string `json:",omitempty"`
	// Fix is the device's last position (an SOS or fall carries the last fix it
	// has); nil when not sent or dropped.
	Fix *Fix `json:",omitempty"`
	// FixDropped says why a position sent with the event was dropped; "" if none was.
	FixDropped FixProblem `json:",omitempty"`
}

const (
	eV = iota
	eSeq
	eTS
	eType
	eConfidence
	eCancels
)

var eventNames = []string{"v", "seq", "ts", "type", "confidence", "cancels"}

var (
	confidenceSpec = floatSpec{"confidence", 0, 1, ""}
	cancelsSpec    = intSpec{"cancels", 0, math.MaxUint64, ""}
	eventTypeList  = func() string {
		names := make([]string, len(eventTypes))
		for i, t := range eventTypes {
			names[i] = string(t)
		}
		return strings.Join(names, ", ")
	}()
)

// DecodeEvent decodes the payload of an event topic. A payload over MaxMessageSize
// bytes is rejected with ReasonOversize. Every error is an *Error.
func DecodeEvent(b []byte) (Event, error) {
	if len(b) > MaxMessageSize {
		return Event{}, oversize(len(b), "an event", MaxMessageSize)
	}
	return decodeEvent(b)
}

// decodeEvent decodes an event payload of any size.
func decodeEvent(b []byte) (Event, error) {
	d := eventDecoder{s: newScanner(b)}
	if d.s.top(d.member) {
		d.end()
	}
	if err := d.s.err(); err != nil {
		return Event{}, err
	}
	return d.e, nil
}

type eventDecoder struct {
	s    scanner
	e    Event
	seen uint16
	loc  fixFields
	// unknown is the unknown_field error of the first unknown field, when no field
	// error came before it; it becomes the error unless the event is an alarm.
	unknown *Error
}

func (d *eventDecoder) member(key []byte) {
	s := &d.s
	id := fieldIndex(eventNames, key)
	if id < 0 {
		if !s.locationMember(&d.loc, key) {
			d.unknownField(key)
		}
		return
	}
	if !s.claim(&d.seen, id, eventNames) {
		return
	}
	switch id {
	case eV:
		s.topVersion()
	case eSeq:
		d.e.Seq, _ = s.intValue(&seqSpec)
	case eTS:
		ts, _ := s.intValue(&tsSpec)
		d.e.TS = int64(ts)
	case eType:
		d.e.Type = s.eventType()
	case eConfidence:
		if v, ok := s.floatValue(&confidenceSpec); ok {
			d.e.Confidence = &v
		}
	case eCancels:
		d.e.Cancels, _ = s.intValue(&cancelsSpec)
	}
}

// eventType reads the type field; it returns "" when the type is not valid.
func (s *scanner) eventType() EventType {
	v, ok := s.stringValue("type")
	if !ok {
		return ""
	}
	for _, t := range eventTypes {
		if string(v) == string(t) {
			return t
		}
	}
	s.failf(ReasonUnknownEventType, "type", "%s is not an event type of protocol v1; use one of %s", strconv.Quote(short(v)), eventTypeList)
	return ""
}

// unknownField skips the value of a field events do not have and remembers it: the
// type, which may come later, decides whether it is rejected (see Type.IsAlarm).
func (d *eventDecoder) unknownField(key []byte) {
	s := &d.s
	d.e.Unknown = append(d.e.Unknown, fieldName(key))
	if s.first != nil || d.unknown != nil {
		s.skip()
		return
	}
	s.unknown(key, "an event")
	d.unknown, s.first = s.first, nil
}

func (d *eventDecoder) end() {
	s := &d.s
	if d.unknown != nil && !d.e.Type.IsAlarm() {
		// An error recorded after the unknown field came later in the payload.
		s.first = d.unknown
	}
	if !d.e.Type.IsAlarm() {
		d.e.Unknown = nil
	}
	d.e.Fix, d.e.FixDropped = d.loc.fix(d.e.TS)
	if d.seen&(1<<eV) == 0 {
		s.missingVersion()
	}
	switch {
	case d.seen&(1<<eSeq) == 0:
		s.missing("seq", "every event carries seq, the device's message counter")
	case d.seen&(1<<eType) == 0:
		s.missing("type", "every event carries a type, one of "+eventTypeList)
	case d.seen&(1<<eCancels) != 0 && d.e.Type != "" && !d.e.Type.IsCancel():
		s.failf(ReasonUnknownField, "cancels", "only sos_cancel and fall_cancel events carry cancels, not %s", d.e.Type)
	}
}
