package fleet

import (
	"bytes"
	"os"
	"strings"
	"testing"
	"time"

	"carebed/gateway/protocol"
)

func TestLedgerDevices(t *testing.T) {
	cases := []struct {
		name, csv string
		want      map[string]string
	}{
		{"english", "county,home_id,device_id,device_kind\n和静县,H-1,bed-0001,bed_sensor\n", map[string]string{"bed-0001": "bed_sensor"}},
		{"chinese with BOM", "\ufeff县,户编号,设备编号,设备类型\n和静县,H-1,sos-0001,紧急呼叫器\n", map[string]string{"sos-0001": "sos_pendant"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got, err := LedgerDevices(strings.NewReader(c.csv))
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for k, v := range c.want {
				if got[k] != v {
					t.Errorf("%s: got %q, want %q", k, got[k], v)
				}
			}
		})
	}
	if _, err := LedgerDevices(strings.NewReader("a,b\n1,2\n")); err == nil {
		t.Error("a file without device columns was accepted")
	}
}

// TestDemoLedgerPayloadsDecode plays every device of the demo ledger for a day and
// checks that the gateway's decoder accepts each message.
func TestDemoLedgerPayloadsDecode(t *testing.T) {
	f, err := os.Open("../../deploy/demo/ledger.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	kinds, err := LedgerDevices(f)
	if err != nil {
		t.Fatal(err)
	}
	play := Homes(kinds)
	start := time.Date(2026, 11, 29, 0, 0, 0, 0, time.Local)
	counts := map[protocol.Kind]int{}
	for device := range kinds {
		for seq := uint64(1); seq <= 24*60; seq++ { // a day of reports every minute
			topic, payload := play(device, seq, start.Add(time.Duration(seq)*time.Minute))
			m, err := protocol.Decode(topic, payload)
			if err != nil {
				t.Fatalf("%s seq %d: %v\n%s", device, seq, err, payload)
			}
			counts[m.Topic.Kind]++
		}
	}
	if counts[protocol.KindTelemetry] == 0 || counts[protocol.KindEvent] == 0 {
		t.Errorf("a day of the demo homes sent %v; want telemetry and some SOS events", counts)
	}
}

// TestReadLedgerHerders: a herder's home (流动 是 on any of its rows) with its
// coordinates, a pendant and an SMS-only phone with its own number; the phone is
// not among the MQTT devices.
func TestReadLedgerHerders(t *testing.T) {
	csv := "户编号,村,纬度,经度,设备编号,设备类型,流动,设备电话\n" +
		"H-21,巴西里克村,43.03,84.15,hb-0021-sos,紧急呼叫器,,\n" +
		"H-21,巴西里克村,,,hb-0021-phone,手机,是,138 0000 0021\n" +
		"H-22,巴西里克村,91,84.15,hb-0022-sos,sos_pendant,否,\n" +
		"H-23,巴西里克村,NaN,84,hb-0023-phone,sms_phone,yes,+8613800000023\n"
	devs, err := ReadLedger(strings.NewReader(csv))
	if err != nil {
		t.Fatal(err)
	}
	want := []LedgerDevice{
		{ID: "hb-0021-sos", Kind: "sos_pendant", Home: "H-21", Village: "巴西里克村", Lat: 43.03, Lon: 84.15, HasPos: true, Mobile: true},
		{ID: "hb-0021-phone", Kind: SMSPhone, Home: "H-21", Village: "巴西里克村", Lat: 43.03, Lon: 84.15, HasPos: true, Mobile: true, Phone: "138 0000 0021"},
		{ID: "hb-0022-sos", Kind: "sos_pendant", Home: "H-22", Village: "巴西里克村"},
		{ID: "hb-0023-phone", Kind: SMSPhone, Home: "H-23", Village: "巴西里克村", Mobile: true, Phone: "+8613800000023"},
	}
	if len(devs) != len(want) {
		t.Fatalf("%d devices: %+v", len(devs), devs)
	}
	for i := range want {
		if devs[i] != want[i] {
			t.Errorf("row %d: %+v, want %+v", i, devs[i], want[i])
		}
	}
	kinds, _ := LedgerDevices(strings.NewReader(csv))
	if _, ok := kinds["hb-0021-phone"]; ok || kinds["hb-0021-sos"] != "sos_pendant" {
		t.Errorf("MQTT devices %v; an SMS-only phone is not one", kinds)
	}
}

func TestReadLedgerHeartbeat(t *testing.T) {
	f, err := os.Open("../../deploy/demo/ledger.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	devs, err := ReadLedger(f)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]time.Duration{}
	for _, d := range devs {
		got[d.ID] = d.Heartbeat
	}
	if got["hj-0001-bed"] != time.Minute || got["hj-0001-sos"] != 5*time.Minute || got["hj-0002-sos"] != 0 {
		t.Errorf("heartbeats %v", got)
	}
}

func FuzzReadLedger(f *testing.F) {
	f.Add([]byte("county,home_id,device_id,device_kind,heartbeat_s\n和静县,H-1,bed-0001,bed_sensor,60\n"))
	f.Add([]byte("\ufeff县,户编号,设备编号,设备类型,村,心跳间隔\n和静县,H-1,sos-0001,紧急呼叫器,巴伦台村,x\n"))
	f.Add([]byte("户编号,纬度,经度,设备编号,设备类型,游牧,设备电话\nH-1,43.03,84.15,p-0001,手机,是,13800000021\nH-1,,,s-0001,sos,,\n"))
	f.Fuzz(func(t *testing.T, b []byte) {
		devs, err := ReadLedger(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, d := range devs {
			if d.Heartbeat < 0 || d.Heartbeat > 24*time.Hour {
				t.Fatalf("heartbeat %v", d.Heartbeat)
			}
			if d.HasPos && !(d.Lat >= -90 && d.Lat <= 90 && d.Lon >= -180 && d.Lon <= 180) {
				t.Fatalf("position %v,%v", d.Lat, d.Lon)
			}
		}
	})
}
