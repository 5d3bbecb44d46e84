package protocol

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestEncodeExact(t *testing.T) {
	full := Reading{Seq: 12, TS: 1764400000000, Battery: new(87.0), RSSI: new(-71.0), HR: new(64.0),
		RR: new(15.0), Motion: new(0.1), TempC: new(22.5), Occupied: new(true)}
	tests := []struct {
		name string
		got  []byte
		want string
	}{
		{"reading", EncodeReading(full),
			`{"v":1,"seq":12,"ts":1764400000000,"battery":87,"rssi":-71,"hr":64,"rr":15,"occupied":true,"motion":0.1,"temp_c":22.5}`},
		{"reading without clock", EncodeReading(Reading{Seq: 3, HR: new(0.0)}), `{"v":1,"seq":3,"hr":0}`},
		{"batch", EncodeBatch([]Reading{{Seq: 1, HR: new(60.0)}, {Seq: 2, TS: 5, Occupied: new(false)}}),
			`{"v":1,"batch":[{"seq":1,"hr":60},{"seq":2,"ts":5,"occupied":false}]}`},
		{"event", EncodeEvent(Event{Seq: 42, TS: 1764400000000, Type: EventFall, Confidence: new(0.93)}),
			`{"v":1,"seq":42,"ts":1764400000000,"type":"fall","confidence":0.93}`},
		{"cancel event", EncodeEvent(Event{Seq: 43, Type: EventFallCancel, Cancels: 42}),
			`{"v":1,"seq":43,"type":"fall_cancel","cancels":42}`},
		{"status", EncodeStatus(Status{Seq: 1, TS: 1764400000000, Online: true, FW: "1.4.2", HeartbeatS: 300}),
			`{"v":1,"online":true,"fw":"1.4.2","heartbeat_s":300,"ts":1764400000000,"seq":1}`},
		{"last will", EncodeStatus(Status{}), `{"v":1,"online":false}`},
		{"cmd", Cmd{Type: CmdAckFeedback, Alert: "A7K3", By: "village_doctor"}.Encode(),
			`{"v":1,"type":"ack_feedback","alert":"A7K3","by":"village_doctor"}`},
		{"cmd escapes", EncodeCmd(Cmd{V: 1, Type: "t", Text: "a\"b\\c\n\x01\xff"}),
			`{"v":1,"type":"t","text":"a\"b\\c\n\u0001\ufffd"}`},
		{"NaN written as null", EncodeReading(Reading{Seq: 1, HR: new(math.NaN())}), `{"v":1,"seq":1,"hr":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if string(tt.got) != tt.want {
				t.Errorf("got  %s\nwant %s", tt.got, tt.want)
			}
		})
	}
}

func TestRoundTrip(t *testing.T) {
	reading := func(seq uint64) Reading {
		return Reading{Seq: seq, TS: 1764400000000 + int64(seq), Battery: new(100.0), RSSI: new(-150.0),
			HR: new(0.0), RR: new(99.99), Motion: new(1e-7), TempC: new(-49.999999999999), Occupied: new(false)}
	}
	batch := make([]Reading, 200)
	for i := range batch {
		batch[i] = reading(uint64(i))
	}
	tests := []struct {
		name string
		m    Message
	}{
		{"reading", Message{Topic: Topic{"bed-1", KindTelemetry}, Telemetry: Telemetry{Readings: []Reading{reading(math.MaxUint64)}}}},
		{"sparse reading", Message{Topic: Topic{"bed-1", KindTelemetry}, Telemetry: Telemetry{Readings: []Reading{{Seq: 0, TempC: new(80.0)}}}}},
		{"batch", Message{Topic: Topic{"bed-1", KindTelemetry}, Telemetry: Telemetry{Readings: batch, Batch: true}}},
		{"event", Message{Topic: Topic{"sos-1", KindEvent}, Event: Event{Seq: 7, TS: math.MaxInt64, Type: EventSOS, Confidence: new(1.0)}}},
		{"cancel", Message{Topic: Topic{"sos-1", KindEvent}, Event: Event{Seq: 8, Type: EventSOSCancel, Cancels: 7}}},
		{"status", Message{Topic: Topic{"bed-1", KindStatus}, Status: Status{Seq: 9, TS: 1, Online: true, FW: "v1 \"β\"\t", HeartbeatS: 86400}}},
		{"last will", Message{Topic: Topic{"bed-1", KindStatus}}},
	}
	for _, et := range EventTypes() {
		tests = append(tests, struct {
			name string
			m    Message
		}{"event " + string(et), Message{Topic: Topic{"dev-1", KindEvent}, Event: Event{Seq: 1, Type: et}}})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := encodeMessage(tt.m)
			got, err := Decode(tt.m.Topic.String(), payload)
			if err != nil {
				t.Fatalf("Decode(%s) = %v", payload, err)
			}
			if !reflect.DeepEqual(got, tt.m) {
				t.Errorf("round trip of %s\ngot  %+v\nwant %+v", payload, got, tt.m)
			}
		})
	}
}

// encodeMessage encodes m with the encoder for its kind.
func encodeMessage(m Message) []byte {
	switch m.Topic.Kind {
	case KindTelemetry:
		if m.Telemetry.Batch {
			return EncodeBatch(m.Telemetry.Readings)
		}
		return EncodeReading(m.Telemetry.Readings[0])
	case KindEvent:
		return EncodeEvent(m.Event)
	}
	return EncodeStatus(m.Status)
}

func TestAppendNumberMatchesEncodingJSON(t *testing.T) {
	values := []float64{0, math.Copysign(0, -1), 1, -1, 0.1, 22.5, -71, 300, 1e-6, 9.99e-7, 1e-7, -1e-7,
		1.5e-10, 5e-324, 1e20, 1e21, 1.7976931348623157e308, 123456789.125, 0.30000000000000004}
	for _, v := range values {
		want, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		if got := appendNumber(nil, v); string(got) != string(want) {
			t.Errorf("appendNumber(%v) = %s, encoding/json writes %s", v, got, want)
		}
	}
}

// TestEncodedReadingSize checks the bound EncodeBatch documents: a reading within
// the protocol's ranges encodes to at most 280 bytes (with its comma).
func TestEncodedReadingSize(t *testing.T) {
	long := -0.0000012345678901234567 // 'f' form with 17 significant digits
	r := Reading{Seq: math.MaxUint64, TS: math.MaxInt64, Battery: new(-long), RSSI: new(long),
		HR: new(-long), RR: new(-long), Motion: new(-long), TempC: new(long), Occupied: new(false)}
	b := EncodeBatch([]Reading{r})
	n := len(b) - len(`{"v":1,"batch":[]}`) + 1 // the reading and its separating comma
	if n > 280 {
		t.Errorf("a worst-case reading takes %d bytes in a batch: %s", n, b)
	}
	if _, err := DecodeTelemetry(b); err != nil {
		t.Errorf("worst-case reading rejected: %v", err)
	}
	if strings.Contains(string(b), "e-") {
		t.Errorf("worst case should be in plain notation: %s", b)
	}
	// With a position: at most 390 bytes.
	r.Fix = &Fix{Lat: -89.123456789012345, Lon: -179.12345678901234, AccM: 9999.1234567890123, TS: math.MaxInt64}
	b = EncodeBatch([]Reading{r})
	if n := len(b) - len(`{"v":1,"batch":[]}`) + 1; n > 390 {
		t.Errorf("a worst-case reading with a position takes %d bytes in a batch: %s", n, b)
	}
	if tel, err := DecodeTelemetry(b); err != nil || tel.Readings[0].FixDropped != "" {
		t.Errorf("worst-case reading with a position: %+v %v", tel, err)
	}
}
