package visits

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"carebed/alerting/policy"
	"carebed/gateway/influxread"
	"carebed/internal/devsvc"
)

// TestConfirmedFromInfluxDB: after a restart the memory holds no activity; a check-in
// is then confirmed from the home's sensor data stored in InfluxDB within 30 minutes
// before it, and only from such data (set CAREBED_INFLUXD to run it).
func TestConfirmedFromInfluxDB(t *testing.T) {
	inf := devsvc.StartInflux(t)
	base := time.Date(2026, 12, 1, 10, 0, 0, 0, beijing)
	ms := func(d time.Duration) int64 { return base.Add(d).UnixNano() }
	inf.Write(t, strings.Join([]string{
		// H-0001: still, then the bed emptied 20 minutes before the check-in
		fmt.Sprintf("telemetry,home=H-0001,device=hj-0001-bed motion=0,occupied=true,seq=1i %d", ms(-25*time.Minute)),
		fmt.Sprintf("telemetry,home=H-0001,device=hj-0001-bed motion=0,occupied=false,seq=2i %d", ms(-20*time.Minute)),
		// H-0002: a low battery 10 minutes before, an SOS 40 minutes before: no evidence
		fmt.Sprintf("event,home=H-0002,device=hj-0002-sos,type=low_battery seq=3i %d", ms(-10*time.Minute)),
		fmt.Sprintf("event,home=H-0002,device=hj-0002-sos,type=sos seq=4i %d", ms(-40*time.Minute)),
		// H-0013: motion 5 minutes before
		fmt.Sprintf("telemetry,home=H-0013,device=hj-0013-bed motion=0.6,seq=5i %d", ms(-5*time.Minute)),
	}, "\n"))
	hist := InfluxHistory{Q: influxread.New(inf.URL, devsvc.DB, "")}
	tests := []struct {
		from, body, home string
		confirmed        bool
	}{
		{visitorJia, "到 H-0001", "H-0001", true},
		{visitorJia, "到 H-0002", "H-0002", false},
		{visitorBing, "到 H-0013", "H-0013", true},
	}
	f := newFixture(t, smallLedger, nil)
	f.clock.Set(base)
	svc, err := New(Options{Path: filepath.Join(t.TempDir(), "visits.db"), Homes: f.reg, Schedule: policy.Default().Visits(),
		Location: beijing, History: hist, Now: f.clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	for _, tt := range tests {
		if _, _, err := svc.HandleSMS(context.Background(), tt.from, tt.body); err != nil {
			t.Fatal(err)
		}
		vs, err := svc.st.list(context.Background(), `WHERE home = ?`, tt.home)
		if err != nil || len(vs) != 1 || vs[0].Confirmed != tt.confirmed {
			t.Errorf("%s: %+v, %v; want confirmed %v", tt.home, vs, err, tt.confirmed)
		}
	}
}
