package protocol

import (
	"fmt"
	"math"
)

// Reading is one telemetry sample. A nil pointer is a field the device did not send.
type Reading struct {
	Seq      uint64   // the device's message counter
	TS       int64    // device clock, Unix milliseconds; 0 when the device has no clock
	Battery  *float64 // battery charge, percent, 0..100
	RSSI     *float64 // received signal strength, dBm, -150..0
	HR       *float64 // heart rate, beats/min, 0..300; 0 means none detected
	RR       *float64 // respiration rate, breaths/min, 0..100
	Motion   *float64 // movement in bed, 0 (still) ..1
	TempC    *float64 // room temperature, °C, -50..80
	Occupied *bool    // someone is in bed
	// Fix is the device's position when it sent one; nil when not sent or dropped.
	Fix *Fix `json:",omitempty"`
	// FixDropped says why a position sent with the reading was dropped; "" if none was.
	FixDropped FixProblem `json:",omitempty"`
}

// Telemetry is the payload of a telemetry topic: one reading, or a batch of readings
// replayed after an offline period.
type Telemetry struct {
	Readings []Reading
	Batch    bool // the message came as {"v":1,"batch":[...]}
}

// Reading field ids: bit positions in readingFields.seen and indexes of readingNames.
const (
	fSeq = iota
	fTS
	fBattery
	fRSSI
	fHR
	fRR
	fMotion
	fTempC
	fOccupied
)

// dataFields are the fields of which a reading must carry at least one.
const dataFields = 1<<fBattery | 1<<fRSSI | 1<<fHR | 1<<fRR | 1<<fMotion | 1<<fTempC | 1<<fOccupied

var readingNames = []string{"seq", "ts", "battery", "rssi", "hr", "rr", "motion", "temp_c", "occupied"}

var readingFloats = [fTempC + 1]floatSpec{
	fBattery: {"battery", 0, 100, " %"},
	fRSSI:    {"rssi", -150, 0, " dBm"},
	fHR:      {"hr", 0, 300, " beats/min"},
	fRR:      {"rr", 0, 100, " breaths/min"},
	fMotion:  {"motion", 0, 1, ""},
	fTempC:   {"temp_c", -50, 80, " °C"},
}

var (
	seqSpec = intSpec{"seq", 0, math.MaxUint64, ""}
	tsSpec  = intSpec{"ts", 0, math.MaxInt64, " (Unix time in milliseconds; leave ts out or send 0 when the device has no clock)"}
)

// float returns the field of r that holds the number field id.
func (r *Reading) float(id int) **float64 {
	switch id {
	case fBattery:
		return &r.Battery
	case fRSSI:
		return &r.RSSI
	case fHR:
		return &r.HR
	case fRR:
		return &r.RR
	case fMotion:
		return &r.Motion
	}
	return &r.TempC
}

// readingFields is a reading being read and the fields seen so far.
type readingFields struct {
	r    Reading
	seen uint16
	loc  fixFields
}

// readingMember reads the value of key into f. It returns false, reading nothing,
// when key is not a reading field.
func (s *scanner) readingMember(f *readingFields, key []byte) bool {
	id := fieldIndex(readingNames, key)
	if id < 0 {
		return s.locationMember(&f.loc, key)
	}
	if !s.claim(&f.seen, id, readingNames) {
		return true
	}
	switch id {
	case fSeq:
		f.r.Seq, _ = s.intValue(&seqSpec)
	case fTS:
		ts, _ := s.intValue(&tsSpec)
		f.r.TS = int64(ts)
	case fOccupied:
		if v, ok := s.boolValue("occupied"); ok {
			f.r.Occupied = s.newBool(v)
		}
	default:
		if v, ok := s.floatValue(&readingFloats[id]); ok {
			*f.r.float(id) = s.newFloat(v)
		}
	}
	return true
}

// endReading checks a reading once all its fields are read.
// A reading with a position and nothing else is not empty.
func (s *scanner) endReading(f *readingFields) {
	f.r.Fix, f.r.FixDropped = f.loc.fix(f.r.TS)
	switch {
	case f.seen&(1<<fSeq) == 0:
		s.missing("seq", "every reading carries seq, the device's message counter")
	case f.seen&dataFields == 0 && f.r.FixDropped != "":
		s.failf(ReasonEmptyReading, "", "the reading has none of battery, rssi, hr, rr, occupied, motion, temp_c, and its position was dropped (%s)", f.r.FixDropped)
	case f.seen&dataFields == 0 && f.r.Fix == nil:
		s.failf(ReasonEmptyReading, "", "the reading has none of battery, rssi, hr, rr, occupied, motion, temp_c")
	}
}

// DecodeTelemetry decodes the payload of a telemetry topic: one reading, or a
// {"v":1,"batch":[...]} of readings. A payload over MaxBatchSize bytes, or over
// MaxMessageSize bytes when it is not a batch, is rejected with ReasonOversize. Every
// error is an *Error.
func DecodeTelemetry(b []byte) (Telemetry, error) {
	if len(b) > MaxBatchSize {
		return Telemetry{}, oversize(len(b), "a telemetry batch", MaxBatchSize)
	}
	t, err := decodeTelemetry(b)
	if len(b) > MaxMessageSize && !t.Batch {
		return Telemetry{}, oversize(len(b), "a telemetry message that is not a batch", MaxMessageSize)
	}
	if err != nil {
		return Telemetry{}, err
	}
	return t, nil
}

func oversize(n int, what string, limit int) *Error {
	return &Error{Reason: ReasonOversize, Msg: fmt.Sprintf("payload is %d bytes; %s may be at most %d bytes", n, what, limit)}
}

// telemetryDecoder reads a telemetry payload; t.Batch is set as soon as a batch
// field is seen.
type telemetryDecoder struct {
	s    scanner
	f    readingFields
	t    Telemetry
	hasV bool
	blk  *readingBlock
}

// readingBlock holds a single reading and its values in one allocation.
type readingBlock struct {
	r  [1]Reading
	fl [6]float64
	bl [1]bool
}

// decodeTelemetry decodes a telemetry payload of any size.
func decodeTelemetry(b []byte) (Telemetry, error) {
	d := telemetryDecoder{s: newScanner(b), blk: new(readingBlock)}
	d.s.fl, d.s.bl = d.blk.fl[:0], d.blk.bl[:0]
	if d.s.top(d.member) {
		d.end()
	}
	return d.t, d.s.err()
}

func (d *telemetryDecoder) member(key []byte) {
	s := &d.s
	switch string(key) {
	case "v":
		if d.hasV {
			s.duplicate("v")
			return
		}
		d.hasV = true
		s.topVersion()
	case "batch":
		d.batch()
	default:
		d.readingField(key)
	}
}

func (d *telemetryDecoder) batch() {
	s := &d.s
	switch {
	case d.t.Batch:
		s.duplicate("batch")
	case d.f.seen != 0 || d.f.loc.seen != 0:
		s.skip()
		s.failf(ReasonUnknownField, "batch", "cannot be mixed with reading fields; send one reading, or {\"v\":1,\"batch\":[...]} with seq and the values inside each reading")
	default:
		d.t.Batch = true
		s.readings(&d.t)
	}
}

func (d *telemetryDecoder) readingField(key []byte) {
	s := &d.s
	if id := fieldIndex(readingNames, key); d.t.Batch && id >= 0 {
		s.skip()
		s.failf(ReasonUnknownField, readingNames[id], "a batch message carries only v and batch; put %s inside each reading of the batch", readingNames[id])
		return
	}
	if id := fieldIndex(locationNames, key); d.t.Batch && id >= 0 {
		s.skip()
		s.failf(ReasonUnknownField, locationNames[id], "a batch message carries only v and batch; put %s inside each reading of the batch", locationNames[id])
		return
	}
	if !s.readingMember(&d.f, key) {
		s.unknown(key, "a telemetry message")
	}
}

func (d *telemetryDecoder) end() {
	if !d.hasV {
		d.s.missingVersion()
	}
	if !d.t.Batch {
		d.s.endReading(&d.f)
		d.blk.r[0] = d.f.r
		d.t.Readings = d.blk.r[:]
	}
}

// readings reads the array of a batch into t.Readings.
func (s *scanner) readings(t *Telemetry) {
	if s.peek() != '[' {
		s.badType("batch", "an array of readings")
		return
	}
	s.i++
	s.depth++
	s.ws()
	if s.peek() == ']' {
		s.i++
		s.failf(ReasonEmptyReading, "batch", "holds no readings; send at least one reading, or no message")
	} else {
		s.elements(t)
	}
	s.depth--
}

// elements reads the readings of a batch up to and including its closing ']'.
func (s *scanner) elements(t *Telemetry) {
	for s.elem = 0; ; s.elem++ {
		s.ws()
		t.Readings = append(t.Readings, s.element())
		if s.syn != nil {
			break
		}
		s.ws()
		if s.peek() == ']' {
			s.i++
			break
		}
		if !s.expect(',', "',' or ']'") {
			break
		}
	}
	s.elem = -1
}

// element reads one reading of a batch; it may carry "v":1.
func (s *scanner) element() Reading {
	if s.peek() != '{' {
		s.badType("", "a reading object")
		return Reading{}
	}
	var f readingFields
	hasV := false
	s.object(func(key []byte) {
		switch {
		case string(key) == "v" && hasV:
			s.duplicate("v")
		case string(key) == "v":
			hasV = true
			if e, _ := s.version(); e != nil && s.first == nil {
				s.first = e
			}
		case !s.readingMember(&f, key):
			s.unknown(key, "a batch reading")
		}
	})
	if s.syn == nil {
		s.endReading(&f)
	}
	return f.r
}
