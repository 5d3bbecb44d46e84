package protocol

import (
	"bytes"
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"slices"
	"testing"
	"unicode/utf8"
)

// FuzzDecode checks that Decode never panics, that every rejection is an *Error
// with a listed reason, that it agrees with encoding/json about what is valid JSON
// and what an accepted message means, and that an accepted message re-encodes and
// decodes to the same value.
func FuzzDecode(f *testing.F) {
	for _, dir := range goldenCases(f) {
		topic, payload := readCase(f, dir)
		if len(payload) <= MaxMessageSize+1 { // 64 KiB seeds slow the fuzzer down
			f.Add(topic, payload)
		}
	}
	f.Fuzz(func(t *testing.T, topic string, payload []byte) {
		m, err := Decode(topic, payload)
		if err != nil {
			checkRejection(t, payload, err)
			return
		}
		if !json.Valid(payload) {
			t.Fatalf("accepted invalid JSON %q", payload)
		}
		checkAgainstEncodingJSON(t, m, payload)
		checkRoundTrip(t, m)
	})
}

func checkRejection(t *testing.T, payload []byte, err error) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || !slices.Contains(AllReasons(), e.Reason) || e.Msg == "" {
		t.Fatalf("rejection %#v is not an *Error with a listed reason and a message", err)
	}
	switch valid := json.Valid(payload); {
	case valid && e.Reason == ReasonBadJSON && utf8.Valid(payload):
		t.Fatalf("bad_json for valid JSON %q: %v", payload, err)
	case !valid && e.Reason != ReasonBadJSON && e.Reason != ReasonOversize && e.Reason != ReasonBadTopic:
		t.Fatalf("invalid JSON %q rejected with %v", payload, err)
	}
}

// checkRoundTrip encodes m and decodes it again. The size limits are left out: the
// encoders' number format may be longer than the device's (1e-5 becomes 0.00001).
func checkRoundTrip(t *testing.T, m Message) {
	t.Helper()
	payload := encodeMessage(m)
	got := Message{Topic: m.Topic}
	var err error
	switch m.Topic.Kind {
	case KindTelemetry:
		got.Telemetry, err = decodeTelemetry(payload)
	case KindEvent:
		got.Event, err = decodeEvent(payload)
	default:
		got.Status, err = decodeStatus(payload)
	}
	if err != nil {
		t.Fatalf("re-encoded %s is rejected: %v", payload, err)
	}
	m.Event.Unknown = nil // the encoder writes only the fields of protocol v1
	// and only the fixes kept
	m.Event.FixDropped, m.Status.FixDropped = "", ""
	if m.Topic.Kind == KindTelemetry {
		m.Telemetry.Readings = slices.Clone(m.Telemetry.Readings)
		for i := range m.Telemetry.Readings {
			m.Telemetry.Readings[i].FixDropped = ""
		}
	}
	if !reflect.DeepEqual(got, m) {
		t.Fatalf("round trip through %s\ngot  %+v\nwant %+v", payload, got, m)
	}
}

// Mirrors of the messages for encoding/json, every field a pointer.
type (
	stdReading struct {
		V        *int     `json:"v"`
		Seq      *uint64  `json:"seq"`
		TS       *int64   `json:"ts"`
		Battery  *float64 `json:"battery"`
		RSSI     *float64 `json:"rssi"`
		HR       *float64 `json:"hr"`
		RR       *float64 `json:"rr"`
		Motion   *float64 `json:"motion"`
		TempC    *float64 `json:"temp_c"`
		Occupied *bool    `json:"occupied"`
		stdFix
	}
	stdTelemetry struct {
		stdReading
		Batch []stdReading `json:"batch"`
	}
	stdEvent struct {
		V          *int     `json:"v"`
		Seq        *uint64  `json:"seq"`
		TS         *int64   `json:"ts"`
		Type       *string  `json:"type"`
		Confidence *float64 `json:"confidence"`
		Cancels    *uint64  `json:"cancels"`
		stdFix
	}
	stdStatus struct {
		V          *int    `json:"v"`
		Seq        *uint64 `json:"seq"`
		TS         *int64  `json:"ts"`
		Online     *bool   `json:"online"`
		FW         *string `json:"fw"`
		HeartbeatS *int    `json:"heartbeat_s"`
		stdFix
	}
	// stdFix holds the location fields as sent: a bad one drops the fix, it does not
	// reject the message.
	stdFix struct {
		Lat   json.RawMessage `json:"lat"`
		Lon   json.RawMessage `json:"lon"`
		AccM  json.RawMessage `json:"acc_m"`
		FixTS json.RawMessage `json:"fix_ts"`
	}
)

// check compares what the decoder made of the location fields with what they hold:
// no fix and no problem when none was sent; when a fix was kept, exactly the numbers
// sent.
func (f stdFix) check(t *testing.T, got *Fix, problem FixProblem) {
	t.Helper()
	sent := f.Lat != nil || f.Lon != nil || f.AccM != nil || f.FixTS != nil
	switch {
	case !sent && (got != nil || problem != ""):
		t.Fatalf("no location sent, got fix %+v problem %q", got, problem)
	case sent && (got == nil) == (problem == ""):
		t.Fatalf("location sent, got fix %+v and problem %q: want exactly one", got, problem)
	case got == nil:
		return
	}
	var want Fix
	for _, v := range []struct {
		raw json.RawMessage
		dst any
	}{{f.Lat, &want.Lat}, {f.Lon, &want.Lon}, {f.AccM, &want.AccM}} {
		if err := json.Unmarshal(v.raw, v.dst); err != nil {
			t.Fatalf("fix %+v kept from %s: %v", got, v.raw, err)
		}
	}
	if f.FixTS != nil {
		if err := json.Unmarshal(f.FixTS, &want.TS); err != nil {
			t.Fatalf("fix %+v kept with fix_ts %s: %v", got, f.FixTS, err)
		}
	}
	if *got != want {
		t.Fatalf("fix %+v, encoding/json reads %+v", *got, want)
	}
}

func (r stdReading) reading() Reading {
	return Reading{Seq: val(r.Seq), TS: val(r.TS), Battery: r.Battery, RSSI: r.RSSI, HR: r.HR,
		RR: r.RR, Motion: r.Motion, TempC: r.TempC, Occupied: r.Occupied}
}

func val[T any](p *T) T {
	var zero T
	if p == nil {
		return zero
	}
	return *p
}

// checkAgainstEncodingJSON decodes payload with encoding/json into the mirror types
// and compares the result with m.
func checkAgainstEncodingJSON(t *testing.T, m Message, payload []byte) {
	t.Helper()
	want := Message{Topic: m.Topic}
	switch m.Topic.Kind {
	case KindTelemetry:
		var v stdTelemetry
		stdDecode(t, payload, &v)
		want.Telemetry = Telemetry{Readings: []Reading{v.reading()}}
		if v.Batch != nil {
			want.Telemetry = Telemetry{Batch: true, Readings: make([]Reading, len(v.Batch))}
			for i, r := range v.Batch {
				want.Telemetry.Readings[i] = r.reading()
			}
		}
		for i := range want.Telemetry.Readings {
			got := m.Telemetry.Readings[i]
			if v.Batch != nil {
				v.Batch[i].check(t, got.Fix, got.FixDropped)
			} else {
				v.check(t, got.Fix, got.FixDropped)
			}
			want.Telemetry.Readings[i].Fix, want.Telemetry.Readings[i].FixDropped = got.Fix, got.FixDropped
		}
	case KindEvent:
		var v stdEvent
		if m.Event.Unknown != nil {
			if !m.Event.Type.IsAlarm() {
				t.Fatalf("%s event with unknown fields %q accepted", m.Event.Type, m.Event.Unknown)
			}
			payload = knownEventFields(t, payload)
		}
		stdDecode(t, payload, &v)
		want.Event = Event{Seq: val(v.Seq), TS: val(v.TS), Type: EventType(val(v.Type)), Confidence: v.Confidence, Cancels: val(v.Cancels), Unknown: m.Event.Unknown,
			Fix: m.Event.Fix, FixDropped: m.Event.FixDropped}
		v.check(t, m.Event.Fix, m.Event.FixDropped)
	case KindStatus:
		var v stdStatus
		stdDecode(t, payload, &v)
		want.Status = Status{Seq: val(v.Seq), TS: val(v.TS), Online: val(v.Online), FW: val(v.FW), HeartbeatS: val(v.HeartbeatS),
			Fix: m.Status.Fix, FixDropped: m.Status.FixDropped}
		v.check(t, m.Status.Fix, m.Status.FixDropped)
	}
	if !reflect.DeepEqual(m, want) {
		t.Fatalf("encoding/json reads %q differently\nours %+v\nstd  %+v", payload, m, want)
	}
}

// knownEventFields returns payload without the fields events do not have (by exact
// name: encoding/json would match "SEQ" to seq).
func knownEventFields(t *testing.T, payload []byte) []byte {
	t.Helper()
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatalf("accepted %q, which encoding/json rejects: %v", payload, err)
	}
	for k := range raw {
		if !slices.Contains(eventNames, k) && !slices.Contains(locationNames, k) {
			delete(raw, k)
		}
	}
	b, err := json.Marshal(raw)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func stdDecode(t *testing.T, payload []byte, v any) {
	t.Helper()
	d := json.NewDecoder(bytes.NewReader(payload))
	d.DisallowUnknownFields()
	if err := d.Decode(v); err != nil {
		t.Fatalf("accepted %q, which encoding/json rejects: %v", payload, err)
	}
}

// FuzzEncodeReading checks that EncodeReading writes valid JSON that decodes to the
// same reading when the values are within range, and is rejected otherwise.
func FuzzEncodeReading(f *testing.F) {
	f.Add(uint64(12), int64(1764400000000), uint8(0xff), 87.0, -71.0, 64.0, 15.0, 0.1, 22.5, true)
	f.Add(uint64(0), int64(0), uint8(1), 1e-7, -0.0, 300.0, 100.0, 1.0, -50.0, false)
	f.Add(uint64(math.MaxUint64), int64(-1), uint8(0x04), 101.0, 1.0, 300.1, math.NaN(), math.Inf(1), 5e-324, false)
	f.Fuzz(func(t *testing.T, seq uint64, ts int64, mask uint8, battery, rssi, hr, rr, motion, tempC float64, occupied bool) {
		r := Reading{Seq: seq, TS: ts}
		values := []*float64{&battery, &rssi, &hr, &rr, &motion, &tempC}
		fields := []**float64{&r.Battery, &r.RSSI, &r.HR, &r.RR, &r.Motion, &r.TempC}
		for i, v := range values {
			if mask&(1<<i) != 0 {
				*fields[i] = v
			}
		}
		if mask&(1<<6) != 0 {
			r.Occupied = &occupied
		}
		checkEncodedReading(t, r)
	})
}

func checkEncodedReading(t *testing.T, r Reading) {
	t.Helper()
	payload := EncodeReading(r)
	if !json.Valid(payload) {
		t.Fatalf("EncodeReading wrote invalid JSON %s", payload)
	}
	got, err := DecodeTelemetry(payload)
	if !readingValid(r) {
		if err == nil {
			t.Fatalf("out-of-range reading %s accepted", payload)
		}
		return
	}
	if err != nil || len(got.Readings) != 1 || !reflect.DeepEqual(got.Readings[0], r) {
		t.Fatalf("round trip of %s: %+v, %v", payload, got, err)
	}
}

// readingValid reports whether r is within protocol v1's rules, independently of
// the decoder's tables.
func readingValid(r Reading) bool {
	in := func(p *float64, lo, hi float64) bool { return p == nil || (*p >= lo && *p <= hi) }
	any := r.Battery != nil || r.RSSI != nil || r.HR != nil || r.RR != nil || r.Motion != nil || r.TempC != nil || r.Occupied != nil
	return any && r.TS >= 0 && in(r.Battery, 0, 100) && in(r.RSSI, -150, 0) && in(r.HR, 0, 300) &&
		in(r.RR, 0, 100) && in(r.Motion, 0, 1) && in(r.TempC, -50, 80)
}

// FuzzEncodeStatus checks EncodeStatus, and the string escaping, against DecodeStatus
// and encoding/json.
func FuzzEncodeStatus(f *testing.F) {
	f.Add(uint64(1), int64(1764400000000), true, "1.4.2", 300)
	f.Add(uint64(0), int64(0), false, "", 0)
	f.Add(uint64(5), int64(5), true, "固件\"\\\n\x00\u2028\xff", 10)
	f.Fuzz(func(t *testing.T, seq uint64, ts int64, online bool, fw string, hb int) {
		s := Status{Seq: seq, TS: ts, Online: online, FW: fw, HeartbeatS: hb}
		payload := EncodeStatus(s)
		var std stdStatus
		if err := json.Unmarshal(payload, &std); err != nil {
			t.Fatalf("EncodeStatus wrote %q, which encoding/json rejects: %v", payload, err)
		}
		got, err := DecodeStatus(payload)
		valid := ts >= 0 && (hb == 0 || hb >= 10 && hb <= 86400) && utf8.ValidString(fw) && utf8.RuneCountInString(fw) <= MaxFWLength
		switch {
		case !valid && err == nil && utf8.ValidString(fw):
			t.Fatalf("invalid status %s accepted", payload)
		case valid && (err != nil || got != s):
			t.Fatalf("round trip of %s: %+v, %v", payload, got, err)
		case valid && val(std.FW) != fw:
			t.Fatalf("encoding/json reads fw %q, want %q", val(std.FW), fw)
		}
	})
}

// FuzzDecodeCmd checks that DecodeCmd never panics and that an accepted cmd
// re-encodes to the same value, as encoding/json reads it too.
func FuzzDecodeCmd(f *testing.F) {
	f.Add([]byte(`{"v":1,"type":"ack_feedback","alert":"A7K3","by":"village_doctor"}`))
	f.Add([]byte(`{"v":1,"type":"ack_feedback","text":"\u5e2e\u52a9\u9a6c\u4e0a\u5230"}`))
	f.Add([]byte(`{"v":1,"alert":"A7K3"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := DecodeCmd(payload)
		if err != nil {
			checkRejection(t, payload, err)
			return
		}
		var std Cmd
		stdDecode(t, payload, &std)
		if std != c {
			t.Fatalf("encoding/json reads %q as %+v, DecodeCmd as %+v", payload, std, c)
		}
		again, err := DecodeCmd(c.Encode())
		if err != nil || again != c {
			t.Fatalf("round trip of %s: %+v, %v", c.Encode(), again, err)
		}
	})
}
