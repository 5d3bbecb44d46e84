package rules

import (
	"context"
	"fmt"
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
			st := openStore(t)
			raised := 0
			e := New(Options{Store: st, Raised: func(alerting.Alert) { raised++ }})
			ctx := context.Background()
			for _, o := range c.obs {
				if err := e.Observe(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			all, _ := st.List(ctx, alerting.Filter{})
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

func TestVillageOutageGroupsOfflineDevices(t *testing.T) {
	st := openStore(t)
	e := New(Options{Store: st})
	ctx := context.Background()
	status := func(i int, online bool, at time.Duration) alerting.Observation {
		p := place
		p.Home = fmt.Sprintf("H-%04d", i)
		return alerting.Observation{Device: fmt.Sprintf("dev-%04d", i), Place: p, Received: t0.Add(at),
			Status: &alerting.Status{Online: online}}
	}
	for i := range 30 { // a power cut: 30 devices of one village within a minute
		if err := e.Observe(ctx, status(i, false, time.Duration(i)*2*time.Second)); err != nil {
			t.Fatal(err)
		}
	}
	due, _ := st.DueSteps(ctx, t0.Add(10*time.Minute))
	if len(due) != 1 || due[0].Alert.Kind != alerting.KindVillageOutage || due[0].Alert.Repeats != 25 {
		t.Fatalf("alerts due: %+v, want the one village outage (with 25 repeats)", due)
	}
	all, _ := st.List(ctx, alerting.Filter{OpenOnly: true})
	if len(all) != 1 {
		t.Fatalf("%d open alerts, want 1: %+v", len(all), all)
	}
	for i := range 30 {
		if err := e.Observe(ctx, status(i, true, 20*time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if all, _ := st.List(ctx, alerting.Filter{OpenOnly: true}); len(all) != 0 {
		t.Fatalf("open after every device came back: %+v", all)
	}
}

// TestVillageOutageFoldsAStormsJoins: a township's devices going offline within a
// second each join the village outage; their repeats are written as one (one commit,
// counting them all) within FoldJoinsFor or at the next Tick, and before the outage
// is resolved when the last is back.
func TestVillageOutageFoldsAStormsJoins(t *testing.T) {
	st := openStore(t)
	e := New(Options{Store: st})
	ctx := context.Background()
	status := func(i int, online bool, at time.Duration) {
		t.Helper()
		p := place
		p.Home = fmt.Sprintf("H-%04d", i)
		o := alerting.Observation{Device: fmt.Sprintf("dev-%04d", i), Place: p, Received: t0.Add(at),
			Status: &alerting.Status{Online: online}}
		if err := e.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	outage := func() (alerting.Alert, []string) {
		t.Helper()
		all, err := st.List(ctx, alerting.Filter{})
		if err != nil {
			t.Fatal(err)
		}
		for _, a := range all {
			if a.Kind == alerting.KindVillageOutage {
				trail, err := st.Audit(ctx, a.ID)
				if err != nil {
					t.Fatal(err)
				}
				var repeats []string
				for _, r := range trail {
					if r.What == "repeat" {
						repeats = append(repeats, r.Detail)
					}
				}
				return a, repeats
			}
		}
		t.Fatal("no village outage alert")
		return alerting.Alert{}, nil
	}
	for i := range 400 { // 400 devices within 0.4 s: the 5th opens the outage
		status(i, false, time.Duration(i)*time.Millisecond)
	}
	if a, repeats := outage(); a.Repeats != 0 || len(repeats) != 0 {
		t.Fatalf("outage with %d repeats %q before the fold was written, want none yet", a.Repeats, repeats)
	}
	if err := e.Tick(ctx, t0.Add(5*time.Second)); err != nil {
		t.Fatal(err)
	}
	a, repeats := outage()
	if a.Repeats != 395 || len(repeats) != 1 {
		t.Fatalf("after the tick: %d repeats in %d audit rows %q, want 395 in one", a.Repeats, len(repeats), repeats)
	}
	if n, ok := alerting.OutageJoins(repeats[0]); n != 395 || !ok {
		t.Errorf("the repeat's detail %q does not say 395 devices", repeats[0])
	}
	status(400, false, 10*time.Second) // a second after the last write: written at once
	status(401, false, 10*time.Second+100*time.Millisecond)
	status(402, false, 10*time.Second+200*time.Millisecond)
	if a, _ := outage(); a.Repeats != 396 {
		t.Fatalf("%d repeats, want 396: a device joining a second after the last write is written at once", a.Repeats)
	}
	for i := range 403 { // all back: the two folded joins are written before the outage ends
		status(i, true, 20*time.Minute)
	}
	a, repeats = outage()
	if a.State != alerting.StateResolved || a.Repeats != 398 || len(repeats) != 3 {
		t.Fatalf("outage %s with %d repeats in %d audit rows, want resolved with 398 in 3", a.State, a.Repeats, len(repeats))
	}
}

func TestFewOfflineDevicesAreSeparateAlerts(t *testing.T) {
	st := openStore(t)
	e := New(Options{Store: st})
	ctx := context.Background()
	for i := range 2 {
		p := place
		p.Home = fmt.Sprintf("H-%04d", i)
		o := alerting.Observation{Device: fmt.Sprintf("dev-%04d", i), Place: p, Received: t0, Status: &alerting.Status{Online: false}}
		if err := e.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	if due, _ := st.DueSteps(ctx, t0.Add(time.Minute)); len(due) != 0 {
		t.Fatalf("offline alerts paged inside the grouping window: %+v", due)
	}
	if due, _ := st.DueSteps(ctx, t0.Add(2*time.Minute)); len(due) != 2 {
		t.Fatalf("%d offline alerts due after the window, want 2", len(due))
	}
}

// openStore opens an alert store in a fresh folder, closed when the test ends.
func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.Open(filepath.Join(t.TempDir(), "a.db"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// TestCancelAfterPagingRecorded: a device cancel that comes after the SOS was paged
// leaves the alert open but is in the audit trail, on the feed and told to the
// caller (who tells those paged); before the fix it was dropped silently.
func TestCancelAfterPagingRecorded(t *testing.T) {
	st := openStore(t)
	var changes []alerting.ChangeKind
	st.Subscribe(func(c alerting.Change) { changes = append(changes, c.What) })
	var told []string
	e := New(Options{Store: st, CancelledAfterPaging: func(a alerting.Alert, at time.Time) {
		told = append(told, fmt.Sprintf("%s %s", a.Kind, at.Sub(t0)))
	}})
	ctx := context.Background()
	for _, o := range []alerting.Observation{obs(0, "sos"), obs(10*time.Second, "sos_cancel")} {
		if err := e.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	a, err := st.OpenAlert(ctx, place.Home, alerting.KindSOS)
	if err != nil || !a.Open() {
		t.Fatalf("the SOS after the cancel: %+v %v, want open", a, err)
	}
	trail, _ := st.Audit(ctx, a.ID)
	if last := trail[len(trail)-1]; last.What != "device_cancelled" || last.Actor != "hj-0002-fall" || !last.At.Equal(t0.Add(10*time.Second)) {
		t.Errorf("last audit row %+v, want device_cancelled by the device at +10s", last)
	}
	if len(told) != 1 || told[0] != "sos 10s" {
		t.Errorf("told %v, want one cancel of the sos at +10s", told)
	}
	if changes[len(changes)-1] != alerting.ChangeDeviceCancelled {
		t.Errorf("feed %v, want device_cancelled last", changes)
	}
}
