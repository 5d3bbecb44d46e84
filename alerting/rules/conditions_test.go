package rules

import (
	"context"
	"testing"
	"time"

	"carebed/alerting"
)

// step is an observation (or, with none set, a tick) at an offset from t0.
type step struct {
	at      time.Duration
	reading *alerting.Reading
	event   string
	tick    bool
}

func bed(occupied bool, hr float64) *alerting.Reading {
	return &alerting.Reading{Occupied: &occupied, HR: &hr}
}

func TestDerivedConditions(t *testing.T) {
	m := 0.5
	moving := &alerting.Reading{Motion: &m}
	cases := []struct {
		name  string
		steps []step
		kind  alerting.Kind
		want  bool
	}{
		{"no heart rate in an occupied bed for 60 s", []step{{0, bed(true, 0), "", false}, {61 * time.Second, bed(true, 0), "", false}}, alerting.KindNoVitals, true},
		{"no heart rate for 30 s only", []step{{0, bed(true, 0), "", false}, {30 * time.Second, bed(true, 62), "", false}, {90 * time.Second, nil, "", true}}, alerting.KindNoVitals, false},
		{"empty bed has no heart rate", []step{{0, bed(false, 0), "", false}, {5 * time.Minute, nil, "", true}}, alerting.KindNoVitals, false},
		{"no heart rate raised by the tick", []step{{0, bed(true, 0), "", false}, {70 * time.Second, nil, "", true}}, alerting.KindNoVitals, true},
		{"heart rate 150 for 5 min", []step{{0, bed(true, 150), "", false}, {5 * time.Minute, bed(true, 151), "", false}}, alerting.KindVitalsAbnormal, true},
		{"heart rate 150 then normal", []step{{0, bed(true, 150), "", false}, {2 * time.Minute, bed(true, 70), "", false}, {6 * time.Minute, nil, "", true}}, alerting.KindVitalsAbnormal, false},
		{"left the bed and not back in 20 min", []step{{0, bed(true, 60), "", false}, {time.Minute, bed(false, 0), "", false}, {22 * time.Minute, nil, "", true}}, alerting.KindBedExitProlonged, true},
		{"back in bed after 10 min", []step{{0, bed(true, 60), "", false}, {time.Minute, bed(false, 0), "", false}, {11 * time.Minute, bed(true, 58), "", false}, {40 * time.Minute, nil, "", true}}, alerting.KindBedExitProlonged, false},
		{"bed_exit event without return", []step{{0, nil, "bed_exit", false}, {21 * time.Minute, nil, "", true}}, alerting.KindBedExitProlonged, true},
		{"no activity for 12 h", []step{{0, moving, "", false}, {12*time.Hour + time.Minute, nil, "", true}}, alerting.KindInactivity, true},
		{"activity inside 12 h", []step{{0, moving, "", false}, {11 * time.Hour, moving, "", false}, {12*time.Hour + time.Minute, nil, "", true}}, alerting.KindInactivity, false},
		{"a pendant without motion sensing is never inactive", []step{{0, &alerting.Reading{}, "", false}, {13 * time.Hour, nil, "", true}}, alerting.KindInactivity, false},
		{"silent for 3 heartbeats", []step{{0, bed(false, 0), "", false}, {16 * time.Minute, nil, "", true}}, alerting.KindDeviceOffline, true},
		{"heard within 3 heartbeats", []step{{0, bed(false, 0), "", false}, {14 * time.Minute, nil, "", true}}, alerting.KindDeviceOffline, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			e := New(Options{Store: st})
			ctx := context.Background()
			var err error
			for _, s := range c.steps {
				now := t0.Add(s.at)
				if s.tick {
					err = e.Tick(ctx, now)
				} else {
					o := alerting.Observation{Device: "hj-0002-bed", Place: place, At: now, Received: now, Reading: s.reading}
					if s.event != "" {
						o.Reading, o.Event = nil, &alerting.Event{Type: s.event}
					}
					err = e.Observe(ctx, o)
				}
				if err != nil {
					t.Fatal(err)
				}
			}
			_, err = st.OpenAlert(ctx, place.Home, c.kind)
			if got := err == nil; got != c.want {
				t.Errorf("open %s alert: %v, want %v", c.kind, got, c.want)
			}
		})
	}
}

// An elder's own phone sends no heartbeats: after its SOS by SMS it stays silent and
// must never be declared offline, while a device of the same home still is.
func TestNoHeartbeatDeviceNeverOffline(t *testing.T) {
	for _, c := range []struct {
		device      string
		wantOffline bool
	}{{"hj-0002-phone", false}, {"hj-0002-bed", true}} {
		st := openStore(t)
		e := New(Options{Store: st, NoHeartbeat: func(d string) bool { return d == "hj-0002-phone" }})
		ctx := context.Background()
		if err := e.Observe(ctx, alerting.Observation{Device: c.device, Place: place, At: t0, Received: t0,
			Reading: bed(false, 0)}); err != nil {
			t.Fatal(err)
		}
		if err := e.Tick(ctx, t0.Add(16*time.Minute)); err != nil {
			t.Fatal(err)
		}
		_, err := st.OpenAlert(ctx, place.Home, alerting.KindDeviceOffline)
		if got := err == nil; got != c.wantOffline {
			t.Errorf("%s: offline alert open = %v, want %v", c.device, got, c.wantOffline)
		}
	}
}

// A home newly marked mobile gets its longer offline threshold at the next registry
// refresh (ThresholdsChanged), not only after a restart: the device's cached
// thresholds are looked up again.
func TestThresholdsChangedTakesEffect(t *testing.T) {
	for _, c := range []struct {
		changed     bool
		wantOffline bool
	}{{false, true}, {true, false}} {
		st := openStore(t)
		heartbeats := 3
		e := New(Options{Store: st, Thresholds: func(string, string) Thresholds {
			th := DefaultThresholds
			th.OfflineHeartbeats = heartbeats
			return th
		}})
		ctx := context.Background()
		if err := e.Observe(ctx, alerting.Observation{Device: "hj-0002-bed", Place: place, At: t0, Received: t0,
			Reading: bed(false, 0)}); err != nil {
			t.Fatal(err)
		}
		heartbeats = 48 // the ledger now marks the home mobile
		if c.changed {
			e.ThresholdsChanged()
		}
		if err := e.Tick(ctx, t0.Add(16*time.Minute)); err != nil {
			t.Fatal(err)
		}
		_, err := st.OpenAlert(ctx, place.Home, alerting.KindDeviceOffline)
		if got := err == nil; got != c.wantOffline {
			t.Errorf("changed %v: offline alert open = %v, want %v", c.changed, got, c.wantOffline)
		}
	}
}

// The ingest takes events on a lane of their own, so a bed sensor's reading from
// before its bed_return (or bed_exit) may be observed after it. That older occupancy
// must neither start a night bed exit after the elder is back nor end one the
// bed_exit started. And a bed event from a clock running ahead must not make the
// readings after it old news.
func TestOlderReadingAfterBedEventIsOldNews(t *testing.T) {
	cases := []struct {
		name    string
		first   bool          // the bed's occupancy at 0
		event   string        // observed at 3 min
		eventAt time.Duration // its device time
		then    bool          // occupancy of the reading observed at 3 min 1 s
		thenAt  time.Duration // its device time
		want    bool          // bed exit prolonged open at 30 min
	}{
		{"left at 1 min, back at 3 min, the 1 min reading comes last", true, "bed_return", 3 * time.Minute, false, time.Minute, false},
		{"in bed at 1 min, left at 3 min, the 1 min reading comes last", false, "bed_exit", 3 * time.Minute, true, time.Minute, true},
		{"back in bed by a clock a day ahead, then left", true, "bed_return", 24 * time.Hour, false, 3*time.Minute + time.Second, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t)
			e := New(Options{Store: st})
			ctx := context.Background()
			obs := func(at, received time.Duration, r *alerting.Reading, event string) {
				o := alerting.Observation{Device: "hj-0002-bed", Place: place, At: t0.Add(at), Received: t0.Add(received), Reading: r}
				if event != "" {
					o.Reading, o.Event = nil, &alerting.Event{Type: event}
				}
				if err := e.Observe(ctx, o); err != nil {
					t.Fatal(err)
				}
			}
			obs(0, 0, bed(c.first, 60), "")
			obs(c.eventAt, 3*time.Minute, nil, c.event)
			obs(c.thenAt, 3*time.Minute+time.Second, bed(c.then, 60), "")
			if err := e.Tick(ctx, t0.Add(30*time.Minute)); err != nil {
				t.Fatal(err)
			}
			_, err := st.OpenAlert(ctx, place.Home, alerting.KindBedExitProlonged)
			if got := err == nil; got != c.want {
				t.Errorf("bed exit prolonged open = %v, want %v", got, c.want)
			}
		})
	}
}

// A Last Will (offline status) of a mobile home's device is held as long as its
// silence would be (OfflineHeartbeats of its heartbeats), not the village outage's
// two minutes, and takes no part in the village's outage; a settled home's is held
// the outage window.
func TestMobileLastWillHeldAsLongAsSilence(t *testing.T) {
	for _, c := range []struct {
		mobile   bool
		wantHold time.Duration
	}{{false, 2 * time.Minute}, {true, 48 * 5 * time.Minute}} {
		st := openStore(t)
		e := New(Options{Store: st, Thresholds: func(string, string) Thresholds {
			th := DefaultThresholds
			th.OutageDevices = 1 // one device offline would open an outage
			if c.mobile {
				th.Mobile, th.OfflineHeartbeats = true, 48
			}
			return th
		}})
		ctx := context.Background()
		status := func(online bool, at time.Duration) {
			if err := e.Observe(ctx, alerting.Observation{Device: "hj-0002-sos", Place: place, At: t0.Add(at),
				Received: t0.Add(at), Status: &alerting.Status{Online: online, HeartbeatS: 300}}); err != nil {
				t.Fatal(err)
			}
		}
		status(true, 0)
		status(false, time.Minute)
		_, err := st.OpenAlert(ctx, alerting.VillagePlace(place).Home, alerting.KindVillageOutage)
		if outage := err == nil; outage == c.mobile {
			t.Errorf("mobile %v: village outage open = %v", c.mobile, outage)
		}
		if c.mobile {
			a, err := st.OpenAlert(ctx, place.Home, alerting.KindDeviceOffline)
			if err != nil {
				t.Fatalf("no held offline alert: %v", err)
			}
			next, err := st.NextDue(ctx)
			if err != nil || a.State != alerting.StatePending || !next.Equal(t0.Add(time.Minute+c.wantHold)) {
				t.Errorf("mobile: offline alert %s, first step due %v (%v), want pending until %v", a.State, next, err, t0.Add(time.Minute+c.wantHold))
			}
		}
	}
}
