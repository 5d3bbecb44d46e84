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
	f.Fuzz(func(t *testing.T, b []byte) {
		devs, err := ReadLedger(bytes.NewReader(b))
		if err != nil {
			return
		}
		for _, d := range devs {
			if d.Heartbeat < 0 || d.Heartbeat > 24*time.Hour {
				t.Fatalf("heartbeat %v", d.Heartbeat)
			}
		}
	})
}
