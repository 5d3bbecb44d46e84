package points

import (
	"strings"
	"testing"
	"time"

	"carebed/gateway/protocol"
)

var tags = Tags{County: "和静县", Township: "巴伦台镇", Village: "一 村,东=", Home: "H-0001", Device: "bed-0001", Kind: "bed_sensor"}

func f(v float64) *float64 { return &v }

func TestLines(t *testing.T) {
	recv := time.UnixMilli(1_764_400_000_000)
	stamp := Stamp{Received: recv, LateAfter: time.Minute}
	occ := true
	cases := []struct {
		name string
		got  []byte
		want string
	}{
		{"reading with device clock",
			AppendTelemetry(nil, tags, protocol.Telemetry{Readings: []protocol.Reading{{Seq: 7, TS: 1_764_399_999_000, HR: f(64), Battery: f(87.5), Occupied: &occ}}}, stamp),
			`telemetry,county=和静县,device=bed-0001,home=H-0001,kind=bed_sensor,township=巴伦台镇,village=一\ 村\,东\= battery=87.5,hr=64.0,occupied=t,replayed=f,seq=7i,late=f 1764399999000000007` + "\n"},
		{"clockless reading uses receive time",
			AppendTelemetry(nil, tags, protocol.Telemetry{Readings: []protocol.Reading{{Seq: 1_000_003, RSSI: f(-71)}}}, stamp),
			`telemetry,county=和静县,device=bed-0001,home=H-0001,kind=bed_sensor,township=巴伦台镇,village=一\ 村\,东\= rssi=-71.0,replayed=f,seq=1000003i,late=f 1764400000000000003` + "\n"},
		{"late replayed reading",
			AppendTelemetry(nil, tags, protocol.Telemetry{Batch: true, Readings: []protocol.Reading{{Seq: 2, TS: 1_764_399_000_000, TempC: f(-3.25)}}}, stamp),
			`telemetry,county=和静县,device=bed-0001,home=H-0001,kind=bed_sensor,township=巴伦台镇,village=一\ 村\,东\= temp_c=-3.25,replayed=t,seq=2i,late=t,delay_ms=1000000i 1764399000000000002` + "\n"},
		{"event",
			AppendEvent(nil, tags, protocol.Event{Seq: 9, TS: 1_764_399_999_500, Type: protocol.EventFallCancel, Confidence: f(0.9), Cancels: 8}, stamp),
			`event,county=和静县,device=bed-0001,home=H-0001,kind=bed_sensor,township=巴伦台镇,village=一\ 村\,东\=,type=fall_cancel confidence=0.9,cancels=8i,seq=9i,late=f 1764399999500000009` + "\n"},
		{"last will without seq",
			AppendStatus(nil, tags, protocol.Status{Online: false}, stamp),
			`device_status,county=和静县,device=bed-0001,home=H-0001,kind=bed_sensor,township=巴伦台镇,village=一\ 村\,东\= online=f,seq=0i,late=f 1764400000000000000` + "\n"},
		{"status with quoted firmware",
			AppendStatus(nil, Tags{Device: "bed-0001"}, protocol.Status{Seq: 3, TS: 1_764_399_999_000, Online: true, FW: `1.4"2\`, HeartbeatS: 300}, stamp),
			`device_status,device=bed-0001 online=t,fw="1.4\"2\\",heartbeat_s=300i,seq=3i,late=f 1764399999000000003` + "\n"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if string(c.got) != c.want {
				t.Errorf("got\n%s\nwant\n%s", c.got, c.want)
			}
		})
	}
}

func TestRecordRoundTrip(t *testing.T) {
	rec := AppendRecordHeader(nil, "bed-0001", 5, 6, 7)
	rec = append(rec, "telemetry,device=bed-0001 hr=60.0 1\n"...)
	r, err := ParseRecord(rec)
	if err != nil {
		t.Fatal(err)
	}
	if r.Device != "bed-0001" || len(r.Seqs) != 3 || r.Seqs[2] != 7 || string(r.Lines) != "telemetry,device=bed-0001 hr=60.0 1\n" {
		t.Errorf("parsed %+v", r)
	}
	lines, err := Lines(rec)
	if err != nil || string(lines) != string(r.Lines) {
		t.Errorf("Lines = %q, %v", lines, err)
	}
	for _, bad := range []string{"", "no newline", "\nlines", "dev x\n"} {
		if _, err := ParseRecord([]byte(bad)); err == nil {
			t.Errorf("ParseRecord(%q) accepted a bad record", bad)
		}
	}
}

func FuzzParseRecord(f *testing.F) {
	f.Add([]byte("bed-0001 1 2\ntelemetry hr=1.0 1\n"))
	f.Add([]byte("x\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := ParseRecord(b)
		if err != nil {
			return
		}
		again := AppendRecordHeader(nil, r.Device, r.Seqs...)
		again = append(again, r.Lines...)
		r2, err := ParseRecord(again)
		if err != nil || r2.Device != r.Device || len(r2.Seqs) != len(r.Seqs) || !strings.EqualFold(string(r2.Lines), string(r.Lines)) {
			t.Fatalf("round trip of %q: %+v vs %+v (%v)", b, r, r2, err)
		}
	})
}

func TestAppendFloat(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{62, "62.0"}, {-71, "-71.0"}, {0, "0.0"}, {87.5, "87.5"}, {36.6, "36.6"},
		{2e6, "2000000.0"}, // 'g' alone wrote 2e+06, and with ".0" after it InfluxDB refused the point
		{1e-6, "1e-06"}, {1e300, "1e+300"},
	} {
		if got := string(appendFloat(nil, c.v)); got != c.want {
			t.Errorf("appendFloat(%v) = %q, want %q", c.v, got, c.want)
		}
	}
}
