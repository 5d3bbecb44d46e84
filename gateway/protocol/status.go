package protocol

import "unicode/utf8"

// MaxFWLength is the longest firmware version string a status may carry, in characters.
const MaxFWLength = 32

// Status is a device's presence report. The Last Will {"v":1,"online":false} decodes
// to the zero Status.
type Status struct {
	Seq        uint64 // the device's message counter; 0 when not sent (the Last Will has none)
	TS         int64  // device clock, Unix milliseconds; 0 when the device has no clock
	Online     bool   // false: the device went offline (usually its Last Will)
	FW         string // firmware version, at most MaxFWLength characters; "" when not sent
	HeartbeatS int    // the device's heartbeat interval in seconds, 10..86400; 0 when not sent
	// Fix is the device's position; nil when not sent or dropped.
	Fix *Fix `json:",omitempty"`
	// FixDropped says why a position sent with the status was dropped; "" if none was.
	FixDropped FixProblem `json:",omitempty"`
}

const (
	sV = iota
	sSeq
	sTS
	sOnline
	sFW
	sHeartbeat
)

var statusNames = []string{"v", "seq", "ts", "online", "fw", "heartbeat_s"}

var heartbeatSpec = intSpec{"heartbeat_s", 10, 86400, " seconds"}

// DecodeStatus decodes the payload of a status topic. A payload over MaxMessageSize
// bytes is rejected with ReasonOversize. Every error is an *Error.
func DecodeStatus(b []byte) (Status, error) {
	if len(b) > MaxMessageSize {
		return Status{}, oversize(len(b), "a status message", MaxMessageSize)
	}
	return decodeStatus(b)
}

// decodeStatus decodes a status payload of any size.
func decodeStatus(b []byte) (Status, error) {
	d := statusDecoder{s: newScanner(b)}
	if d.s.top(d.member) {
		d.end()
	}
	if err := d.s.err(); err != nil {
		return Status{}, err
	}
	return d.st, nil
}

type statusDecoder struct {
	s    scanner
	st   Status
	seen uint16
	loc  fixFields
}

func (d *statusDecoder) member(key []byte) {
	s := &d.s
	id := fieldIndex(statusNames, key)
	if id < 0 {
		if !s.locationMember(&d.loc, key) {
			s.unknown(key, "a status message")
		}
		return
	}
	if !s.claim(&d.seen, id, statusNames) {
		return
	}
	switch id {
	case sV:
		s.topVersion()
	case sSeq:
		d.st.Seq, _ = s.intValue(&seqSpec)
	case sTS:
		ts, _ := s.intValue(&tsSpec)
		d.st.TS = int64(ts)
	case sOnline:
		d.st.Online, _ = s.boolValue("online")
	case sFW:
		d.st.FW = s.fw()
	case sHeartbeat:
		hb, _ := s.intValue(&heartbeatSpec)
		d.st.HeartbeatS = int(hb)
	}
}

// fw reads the firmware version.
func (s *scanner) fw() string {
	v, ok := s.stringValue("fw")
	if !ok {
		return ""
	}
	if n := utf8.RuneCount(v); n > MaxFWLength {
		s.failf(ReasonOutOfRange, "fw", "is %d characters long; at most %d are allowed", n, MaxFWLength)
		return ""
	}
	return string(v)
}

func (d *statusDecoder) end() {
	d.st.Fix, d.st.FixDropped = d.loc.fix(d.st.TS)
	if d.seen&(1<<sV) == 0 {
		d.s.missingVersion()
	}
	if d.seen&(1<<sOnline) == 0 {
		d.s.missing("online", "every status carries online: true when the device connects, false in its Last Will")
	}
}
