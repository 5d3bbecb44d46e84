package protocol

import (
	"reflect"
	"testing"
)

// A position never rejects its message: a bad one is dropped with a problem.
func TestDecodeFix(t *testing.T) {
	const ts = 1764400000000
	const tel, ev, st = "carebed/v1/p-0001/telemetry", "carebed/v1/p-0001/event", "carebed/v1/p-0001/status"
	fix := func(lat, lon, acc float64, fts int64) *Fix { return &Fix{Lat: lat, Lon: lon, AccM: acc, TS: fts} }
	tests := []struct {
		name    string
		topic   string
		payload string
		want    *Fix
		problem FixProblem
	}{
		{"sos with a fix", ev, `{"v":1,"seq":1,"ts":1764400000000,"type":"sos","lat":42.87,"lon":83.71,"acc_m":12,"fix_ts":1764399990000}`, fix(42.87, 83.71, 12, ts-10000), ""},
		{"fix without fix_ts", ev, `{"v":1,"seq":1,"type":"fall","lat":-33.5,"lon":-70.25,"acc_m":5.5}`, fix(-33.5, -70.25, 5.5, 0), ""},
		{"reading with only a fix", tel, `{"v":1,"seq":1,"lat":42.87,"lon":83.71,"acc_m":30}`, fix(42.87, 83.71, 30, 0), ""},
		{"status with a fix", st, `{"v":1,"online":true,"lat":90,"lon":-180,"acc_m":10000}`, fix(90, -180, 10000, 0), ""},
		{"stale fix is kept", ev, `{"v":1,"seq":1,"ts":1764400000000,"type":"sos","lat":42.87,"lon":83.71,"acc_m":12,"fix_ts":1763800000000}`, fix(42.87, 83.71, 12, 1763800000000), ""},
		{"fix with a device without clock", ev, `{"v":1,"seq":1,"type":"sos","lat":42.87,"lon":83.71,"acc_m":12,"fix_ts":1764399990000}`, fix(42.87, 83.71, 12, ts-10000), ""},
		{"lat out of range", ev, `{"v":1,"seq":1,"type":"sos","lat":91,"lon":83.71,"acc_m":12}`, nil, FixOutOfRange},
		{"lon out of range", ev, `{"v":1,"seq":1,"type":"sos","lat":42,"lon":-180.5,"acc_m":12}`, nil, FixOutOfRange},
		{"null island", ev, `{"v":1,"seq":1,"type":"sos","lat":0,"lon":0,"acc_m":12}`, nil, FixOutOfRange},
		{"huge number", ev, `{"v":1,"seq":1,"type":"sos","lat":1e400,"lon":0,"acc_m":12}`, nil, FixOutOfRange},
		{"accuracy missing", ev, `{"v":1,"seq":1,"type":"sos","lat":42.87,"lon":83.71}`, nil, FixAccuracy},
		{"accuracy zero", ev, `{"v":1,"seq":1,"type":"sos","lat":42.87,"lon":83.71,"acc_m":0}`, nil, FixAccuracy},
		{"accuracy absurd", ev, `{"v":1,"seq":1,"type":"sos","lat":42.87,"lon":83.71,"acc_m":10001}`, nil, FixAccuracy},
		{"lat alone", ev, `{"v":1,"seq":1,"type":"sos","lat":42.87,"acc_m":12}`, nil, FixIncomplete},
		{"fix_ts alone", st, `{"v":1,"online":true,"fix_ts":1}`, nil, FixIncomplete},
		{"lat as a string", ev, `{"v":1,"seq":1,"type":"sos","lat":"42.87","lon":83.71,"acc_m":12}`, nil, FixMalformed},
		{"lat null", ev, `{"v":1,"seq":1,"type":"sos","lat":null,"lon":83.71,"acc_m":12}`, nil, FixMalformed},
		{"lat twice", ev, `{"v":1,"seq":1,"type":"sos","lat":42,"lat":43,"lon":83.71,"acc_m":12}`, nil, FixMalformed},
		{"fix_ts fraction", ev, `{"v":1,"seq":1,"type":"sos","lat":42.87,"lon":83.71,"acc_m":12,"fix_ts":1.5}`, nil, FixMalformed},
		{"fix_ts negative", ev, `{"v":1,"seq":1,"type":"sos","lat":42.87,"lon":83.71,"acc_m":12,"fix_ts":-1}`, nil, FixMalformed},
		{"fix after the event", ev, `{"v":1,"seq":1,"ts":1764400000000,"type":"sos","lat":42.87,"lon":83.71,"acc_m":12,"fix_ts":1764400002000}`, nil, FixAfterMessage},
		{"fix a week and more old", ev, `{"v":1,"seq":1,"ts":1764400000000,"type":"sos","lat":42.87,"lon":83.71,"acc_m":12,"fix_ts":1763795199999}`, nil, FixTooOld},
		{"bad fix in a reading with data", tel, `{"v":1,"seq":1,"hr":60,"lat":91,"lon":0,"acc_m":1}`, nil, FixOutOfRange},
		{"bad fix in a batch", tel, `{"v":1,"batch":[{"seq":1,"hr":60,"lat":42,"lon":83,"acc_m":1},{"seq":2,"hr":60,"lat":42}]}`, nil, FixIncomplete},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m, err := Decode(tt.topic, []byte(tt.payload))
			if err != nil {
				t.Fatalf("rejected: %v", err)
			}
			var got *Fix
			var problem FixProblem
			switch m.Topic.Kind {
			case KindEvent:
				got, problem = m.Event.Fix, m.Event.FixDropped
			case KindStatus:
				got, problem = m.Status.Fix, m.Status.FixDropped
			default:
				r := m.Telemetry.Readings[len(m.Telemetry.Readings)-1]
				got, problem = r.Fix, r.FixDropped
			}
			if !reflect.DeepEqual(got, tt.want) || problem != tt.problem {
				t.Errorf("fix %+v, problem %q; want %+v, %q", got, problem, tt.want, tt.problem)
			}
		})
	}
}

// Strictness stays where a fix cannot excuse it.
func TestDecodeFixRejects(t *testing.T) {
	tests := []struct {
		name, topic, payload string
		reason               Reason
		field                string
	}{
		{"reading with only a bad fix", "carebed/v1/p-0001/telemetry", `{"v":1,"seq":1,"lat":91,"lon":0,"acc_m":1}`, ReasonEmptyReading, ""},
		{"fix beside a batch", "carebed/v1/p-0001/telemetry", `{"v":1,"batch":[{"seq":1,"hr":60}],"lat":42}`, ReasonUnknownField, "lat"},
		{"batch after a fix", "carebed/v1/p-0001/telemetry", `{"v":1,"lat":42,"batch":[{"seq":1,"hr":60}]}`, ReasonUnknownField, "batch"},
		{"syntax error in a fix", "carebed/v1/p-0001/event", `{"v":1,"seq":1,"type":"sos","lat":4-2}`, ReasonBadJSON, ""},
		{"upper-case LAT on a tamper", "carebed/v1/p-0001/event", `{"v":1,"seq":1,"type":"tamper","LAT":42}`, ReasonUnknownField, "LAT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(tt.topic, []byte(tt.payload))
			e, ok := err.(*Error)
			if !ok || e.Reason != tt.reason || e.Field != tt.field {
				t.Errorf("Decode = %v; want %s on %q", err, tt.reason, tt.field)
			}
		})
	}
}

func TestFixRoundTrip(t *testing.T) {
	f := &Fix{Lat: 42.871234, Lon: 83.712345, AccM: 8.5, TS: 1764399990000}
	e := Event{Seq: 3, TS: 1764400000000, Type: EventSOS, Fix: f}
	got, err := DecodeEvent(EncodeEvent(e))
	if err != nil || !reflect.DeepEqual(got, e) {
		t.Errorf("event round trip: %+v %v", got, err)
	}
	r := Reading{Seq: 4, TS: 1764400000000, Fix: f}
	tel, err := DecodeTelemetry(EncodeBatch([]Reading{r}))
	if err != nil || !reflect.DeepEqual(tel.Readings[0], r) {
		t.Errorf("reading round trip: %+v %v", tel, err)
	}
	st := Status{Online: true, Fix: f}
	gotSt, err := DecodeStatus(EncodeStatus(st))
	if err != nil || !reflect.DeepEqual(gotSt, st) {
		t.Errorf("status round trip: %+v %v", gotSt, err)
	}
}
