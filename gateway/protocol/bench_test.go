package protocol

import (
	"bytes"
	"encoding/json"
	"testing"
)

var (
	benchReading = []byte(`{"v":1,"seq":12,"ts":1764400000000,"battery":87,"rssi":-71,"hr":64,"rr":15,"occupied":true,"motion":0.1,"temp_c":22.5}`)
	benchEvent   = []byte(`{"v":1,"seq":42,"ts":1764400000000,"type":"fall_cancel","confidence":0.93,"cancels":41}`)
)

func BenchmarkDecodeTelemetry(b *testing.B) {
	b.SetBytes(int64(len(benchReading)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTelemetry(benchReading); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeTelemetryBatch(b *testing.B) {
	rs := make([]Reading, 200)
	for i := range rs {
		rs[i] = Reading{Seq: uint64(i + 1), TS: 1764400000000 + int64(i)*1000, HR: new(64.0), RR: new(15.0), Occupied: new(true), Motion: new(0.1)}
	}
	payload := EncodeBatch(rs)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTelemetry(payload); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeEvent(b *testing.B) {
	b.SetBytes(int64(len(benchEvent)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeEvent(benchEvent); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecode(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode("carebed/v1/bed-0001-a/telemetry", benchReading); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecodeReject(b *testing.B) {
	payload := []byte(`{"v":1,"seq":12,"ts":1764400000000,"battery":87,"rssi":-71,"hr":412,"rr":15}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeTelemetry(payload); err == nil {
			b.Fatal("accepted")
		}
	}
}

func BenchmarkEncodeReading(b *testing.B) {
	r, err := DecodeTelemetry(benchReading)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		EncodeReading(r.Readings[0])
	}
}

func BenchmarkEncodeEvent(b *testing.B) {
	e, err := DecodeEvent(benchEvent)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		EncodeEvent(e)
	}
}

// BenchmarkDecodeTelemetryEncodingJSON is the baseline the hand-written scanner is
// measured against: encoding/json with DisallowUnknownFields into pointer fields,
// before any range check.
func BenchmarkDecodeTelemetryEncodingJSON(b *testing.B) {
	b.SetBytes(int64(len(benchReading)))
	b.ReportAllocs()
	for b.Loop() {
		var v stdTelemetry
		d := json.NewDecoder(bytes.NewReader(benchReading))
		d.DisallowUnknownFields()
		if err := d.Decode(&v); err != nil {
			b.Fatal(err)
		}
	}
}
