package rules

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/sqlite"
)

var (
	t0    = time.Date(2026, 11, 29, 3, 0, 0, 0, time.UTC)
	place = alerting.Place{County: "和静县", Township: "巴伦台镇", Village: "巴伦台村", Home: "H-0002"}
)

func obs(at time.Duration, ev string) alerting.Observation {
	return alerting.Observation{Device: "hj-0002-fall", Place: place, Seq: 1, At: t0.Add(at), Received: t0.Add(at),
		Event: &alerting.Event{Type: ev}}
}

func TestRules(t *testing.T) {
	f := func(v float64) *float64 { return &v }
	cases := []struct {
		name  string
		obs   []alerting.Observation
		at    time.Duration // when to look at the store
		kind  alerting.Kind
		state alerting.State // "" = no alert of that kind
		due   int            // alerts with a step due at the look time
	}{
		{"sos pages at once", []alerting.Observation{obs(0, "sos")}, 0, alerting.KindSOS, alerting.StateOpen, 1},
		{"fall is held", []alerting.Observation{obs(0, "fall")}, 10 * time.Second, alerting.KindFall, alerting.StatePending, 0},
		{"fall pages after the hold-off", []alerting.Observation{obs(0, "fall")}, 15 * time.Second, alerting.KindFall, alerting.StatePending, 1},
		{"fall cancelled inside the hold-off", []alerting.Observation{obs(0, "fall"), obs(5*time.Second, "fall_cancel")}, time.Minute, alerting.KindFall, alerting.StateResolved, 0},
		{"sos_cancel also cancels a held fall", []alerting.Observation{obs(0, "fall"), obs(5*time.Second, "sos_cancel")}, time.Minute, alerting.KindFall, alerting.StateResolved, 0},
		{"smoke", []alerting.Observation{obs(0, "smoke")}, 0, alerting.KindSmoke, alerting.StateOpen, 1},
		{"bed exit alone raises nothing", []alerting.Observation{obs(0, "bed_exit")}, 0, alerting.KindBedExitProlonged, "", 0},
		{"offline then online resolves", []alerting.Observation{
			{Device: "hj-0002-fall", Place: place, Received: t0, Status: &alerting.Status{Online: false}},
			{Device: "hj-0002-fall", Place: place, Received: t0.Add(time.Minute), Status: &alerting.Status{Online: true}},
		}, 2 * time.Minute, alerting.KindDeviceOffline, alerting.StateResolved, 0},
		{"low battery", []alerting.Observation{{Device: "hj-0002-fall", Place: place, Received: t0, Reading: &alerting.Reading{Battery: f(12)}}},
			0, alerting.KindLowBattery, alerting.StateOpen, 1},
		{"battery fine", []alerting.Observation{{Device: "hj-0002-fall", Place: place, Received: t0, Reading: &alerting.Reading{Battery: f(60)}}},
			0, alerting.KindLowBattery, "", 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st, err := sqlite.Open(filepath.Join(t.TempDir(), "a.db"))
			if err != nil {
				t.Fatal(err)
			}
			defer st.Close()
			raised := 0
			e := New(Options{Store: st, Raised: func(alerting.Alert) { raised++ }})
			ctx := context.Background()
			for _, o := range c.obs {
				if err := e.Observe(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			all, _ := st.List(ctx, sqlite.Filter{})
			var got alerting.State
			for _, a := range all {
				if a.Kind == c.kind {
					got = a.State
				}
			}
			if got != c.state {
				t.Errorf("state of the %s alert = %q, want %q", c.kind, got, c.state)
			}
			due, _ := st.DueSteps(ctx, t0.Add(c.at))
			if len(due) != c.due {
				t.Errorf("%d alerts due at +%s, want %d", len(due), c.at, c.due)
			}
		})
	}
}
