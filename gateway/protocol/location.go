package protocol

import (
	"math"
	"time"
)

// Limits of a position fix.
const (
	// MaxFixAccuracyM is the largest accuracy radius, in metres, of a fix the gateway
	// keeps: a fix less precise than this says nothing about where to go.
	MaxFixAccuracyM = 10_000
	// MaxFixAge is how much older than its message a fix may be: an SOS carries the
	// last fix the device had, possibly from before a long coverage gap, but a fix a
	// week old is no help.
	MaxFixAge = 7 * 24 * time.Hour
	// fixClockSlack is how much later than its message a fix may be (clock steps).
	fixClockSlack = time.Second
)

// Fix is a position from the device's satellite receiver, sent in any reading,
// event or status as lat, lon, acc_m and fix_ts.
type Fix struct {
	Lat  float64 // latitude, WGS-84 degrees, -90..90
	Lon  float64 // longitude, WGS-84 degrees, -180..180
	AccM float64 // accuracy: radius in metres, 0 < AccM <= MaxFixAccuracyM
	TS   int64   // when the fix was taken, Unix ms; 0: at the message's ts
}

// At returns when the fix was taken: its TS, else the message's ts (msgTS), else 0.
func (f Fix) At(msgTS int64) int64 {
	if f.TS != 0 {
		return f.TS
	}
	return msgTS
}

// FixProblem says why a fix sent with a message was dropped. A bad fix never rejects
// its message (an SOS must page even when its position is garbage): the message is
// taken without the fix and the problem counted.
type FixProblem string

// Fix problems. Each is documented in docs/protocol.md.
const (
	// FixIncomplete: lat without lon or lon without lat, or acc_m or fix_ts without a
	// position.
	FixIncomplete FixProblem = "fix_incomplete"
	// FixMalformed: a location field that is not a number (fix_ts: a non-negative
	// integer), or sent twice.
	FixMalformed FixProblem = "fix_malformed"
	// FixOutOfRange: lat outside -90..90 or lon outside -180..180, or exactly 0,0 (the
	// position receivers report before they have a fix).
	FixOutOfRange FixProblem = "fix_out_of_range"
	// FixAccuracy: acc_m missing, not above 0, or above MaxFixAccuracyM.
	FixAccuracy FixProblem = "fix_accuracy"
	// FixAfterMessage: fix_ts later than the message's ts.
	FixAfterMessage FixProblem = "fix_after_message"
	// FixTooOld: fix_ts more than MaxFixAge before the message's ts.
	FixTooOld FixProblem = "fix_too_old"
)

// AllFixProblems lists every FixProblem, for metrics pre-registration. The caller
// may modify the returned slice.
func AllFixProblems() []FixProblem {
	return []FixProblem{FixIncomplete, FixMalformed, FixOutOfRange, FixAccuracy, FixAfterMessage, FixTooOld}
}

// Location field ids: bit positions in fixFields.seen.
const (
	lLat = iota
	lLon
	lAcc
	lFixTS
)

var locationNames = []string{"lat", "lon", "acc_m", "fix_ts"}

// fixFields collects the location fields of one object.
type fixFields struct {
	seen      uint8
	malformed bool
	f         Fix
}

// locationMember reads the value of key into l when key is a location field, and
// reports whether it was one. It records no error: a bad value only marks the fix
// malformed.
func (s *scanner) locationMember(l *fixFields, key []byte) bool {
	id := fieldIndex(locationNames, key)
	if id < 0 {
		return false
	}
	if l.seen&(1<<id) != 0 {
		l.malformed = true
		s.skip()
		return true
	}
	l.seen |= 1 << id
	c := s.peek()
	if c != '-' && (c < '0' || c > '9') {
		l.malformed = true
		s.skip()
		return true
	}
	tok, ok := s.number()
	if !ok {
		return true // a syntax error: the message is rejected anyway
	}
	if id == lFixTS {
		v, ok := parseUint(tok)
		if !ok || v > math.MaxInt64 || hasFraction(tok) {
			l.malformed = true
		}
		l.f.TS = int64(v)
		return true
	}
	v, err := parseFloat(tok)
	if err != nil {
		v = math.Inf(1) // beyond float64: out of every range
	}
	switch id {
	case lLat:
		l.f.Lat = v
	case lLon:
		l.f.Lon = v
	default:
		l.f.AccM = v
	}
	return true
}

func hasFraction(tok []byte) bool {
	for _, c := range tok {
		if c == '.' || c == 'e' || c == 'E' {
			return true
		}
	}
	return false
}

// fix returns the fix of a message whose ts is msgTS, or the problem that drops it;
// (nil, "") when the message carries no location field.
func (l *fixFields) fix(msgTS int64) (*Fix, FixProblem) {
	if l.seen == 0 {
		return nil, ""
	}
	if p := l.problem(msgTS); p != "" {
		return nil, p
	}
	f := l.f
	return &f, ""
}

func (l *fixFields) problem(msgTS int64) FixProblem {
	const pos = 1<<lLat | 1<<lLon
	f := l.f
	switch {
	case l.malformed:
		return FixMalformed
	case l.seen&pos != pos:
		return FixIncomplete
	case !(f.Lat >= -90 && f.Lat <= 90 && f.Lon >= -180 && f.Lon <= 180) || f.Lat == 0 && f.Lon == 0:
		return FixOutOfRange
	case l.seen&(1<<lAcc) == 0 || !(f.AccM > 0 && f.AccM <= MaxFixAccuracyM):
		return FixAccuracy
	}
	if f.TS == 0 || msgTS <= 0 || msgTS > MaxTS {
		return "" // no clock on one side: nothing to compare
	}
	switch d := msgTS - f.TS; { // both within 0..MaxTS or above: no overflow
	case d > MaxFixAge.Milliseconds():
		return FixTooOld
	case d < -fixClockSlack.Milliseconds():
		return FixAfterMessage
	}
	return ""
}

// appendFix appends the location fields of f, each after a comma.
func appendFix(b []byte, f *Fix) []byte {
	if f == nil {
		return b
	}
	b = appendNumber(append(b, `,"lat":`...), f.Lat)
	b = appendNumber(append(b, `,"lon":`...), f.Lon)
	b = appendNumber(append(b, `,"acc_m":`...), f.AccM)
	if f.TS != 0 {
		b = appendInt(b, `,"fix_ts":`, f.TS)
	}
	return b
}
