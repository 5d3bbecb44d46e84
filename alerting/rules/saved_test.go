package rules

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/sqlite"
)

// stateOf returns the state of the alert of kind in st ("" when there is none).
func stateOf(t *testing.T, st *sqlite.Store, kind alerting.Kind) alerting.State {
	t.Helper()
	all, err := st.List(context.Background(), alerting.Filter{})
	if err != nil {
		t.Fatal(err)
	}
	var got alerting.State
	for _, a := range all {
		if a.Kind == kind {
			got = a.State
		}
	}
	return got
}

func everyDevice(string) bool { return true }

func reading(at time.Duration, r alerting.Reading) alerting.Observation {
	return alerting.Observation{Device: "hj-0002-bed", Place: place, Seq: uint64(at / time.Second), At: t0.Add(at),
		Received: t0.Add(at), Reading: &r}
}

// TestRestartKeepsConditionTimers: an occupied bed without a heart rate since t0
// is critical after 60 s (NoVitalsAfter), even when the gateway restarted in between.
// Without the saved state the timer would start again at the first reading after
// the restart.
func TestRestartKeepsConditionTimers(t *testing.T) {
	occupied := true
	noHR := alerting.Reading{Occupied: &occupied}
	for _, restore := range []bool{true, false} {
		st := openStore(t)
		ctx := context.Background()
		before := New(Options{Store: st})
		if err := before.Observe(ctx, reading(0, noHR)); err != nil {
			t.Fatal(err)
		}
		if err := before.Save(ctx, st); err != nil {
			t.Fatal(err)
		}
		after := New(Options{Store: st}) // the restarted gateway
		if restore {
			if n, err := after.Restore(ctx, st, t0.Add(30*time.Second), everyDevice); err != nil || n != 1 {
				t.Fatalf("Restore = %d, %v; want 1 device", n, err)
			}
		}
		// Before the device speaks again nothing is judged on what it said before
		// the restart: its queued messages may tell otherwise.
		if err := after.Tick(ctx, t0.Add(65*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := stateOf(t, st, alerting.KindNoVitals); got != "" {
			t.Fatalf("restore=%v: no_vitals %q before the device spoke again", restore, got)
		}
		if err := after.Observe(ctx, reading(70*time.Second, noHR)); err != nil {
			t.Fatal(err)
		}
		want := alerting.StateOpen
		if !restore {
			want = ""
		}
		if got := stateOf(t, st, alerting.KindNoVitals); got != want {
			t.Errorf("restore=%v: no_vitals alert %q at +70 s, want %q", restore, got, want)
		}
	}
}

// TestRestoredDeviceFoundSilent: a device heard before the restart and never after
// is found silent after OfflineHeartbeats heartbeats counted from the restart; one
// that is no longer registered is not restored.
func TestRestoredDeviceFoundSilent(t *testing.T) {
	for _, registered := range []bool{true, false} {
		st := openStore(t)
		ctx := context.Background()
		before := New(Options{Store: st})
		hb := alerting.Observation{Device: "hj-0002-fall", Place: place, Received: t0, Status: &alerting.Status{Online: true, HeartbeatS: 60}}
		if err := before.Observe(ctx, hb); err != nil {
			t.Fatal(err)
		}
		if err := before.Save(ctx, st); err != nil {
			t.Fatal(err)
		}
		start := t0.Add(time.Hour) // the gateway was away for an hour
		after := New(Options{Store: st})
		if _, err := after.Restore(ctx, st, start, func(string) bool { return registered }); err != nil {
			t.Fatal(err)
		}
		if err := after.Tick(ctx, start.Add(170*time.Second)); err != nil {
			t.Fatal(err)
		}
		if got := stateOf(t, st, alerting.KindDeviceOffline); got != "" {
			t.Fatalf("registered=%v: offline %q after less than 3 heartbeats since the restart", registered, got)
		}
		if err := after.Tick(ctx, start.Add(181*time.Second)); err != nil {
			t.Fatal(err)
		}
		want := alerting.StatePending // held for the village outage window
		if !registered {
			want = ""
		}
		if got := stateOf(t, st, alerting.KindDeviceOffline); got != want {
			t.Errorf("registered=%v: offline alert %q 3 heartbeats after the restart, want %q", registered, got, want)
		}
	}
}

// flakyConditions is a ConditionStore whose next save can be made to fail.
type flakyConditions struct {
	saved   map[string][]byte
	fail    bool
	saves   int
	largest int // the most states one save wrote
}

func (f *flakyConditions) SaveConditions(_ context.Context, states map[string][]byte) error {
	f.saves++
	f.largest = max(f.largest, len(states))
	if f.fail {
		f.fail = false
		return errors.New("disk full")
	}
	for k, v := range states {
		f.saved[k] = v
	}
	return nil
}

func (f *flakyConditions) LoadConditions(context.Context) (map[string][]byte, error) {
	return f.saved, nil
}

func TestSaveWritesChangedDevicesAndRetriesFailures(t *testing.T) {
	ctx := context.Background()
	e := New(Options{Store: openStore(t)})
	f := &flakyConditions{saved: map[string][]byte{}, fail: true}
	if err := e.Observe(ctx, obs(0, "bed_exit")); err != nil {
		t.Fatal(err)
	}
	if err := e.Save(ctx, f); err == nil {
		t.Fatal("a failed save reported no error")
	}
	if err := e.Save(ctx, f); err != nil || len(f.saved) != 1 {
		t.Fatalf("after a failed save the next one wrote %d devices (err %v), want 1", len(f.saved), err)
	}
	saves := f.saves
	if err := e.Save(ctx, f); err != nil || f.saves != saves {
		t.Fatalf("nothing changed, yet Save wrote again (err %v)", err)
	}
}

// TestSaveInChunks: a township's devices are saved SaveChunk at a time, so that an
// SOS's alert never waits for all of them; each device once.
func TestSaveInChunks(t *testing.T) {
	ctx := context.Background()
	e := New(Options{Store: openStore(t)})
	hr := 62.0
	const devices = 2*SaveChunk + 123
	for i := range devices {
		o := alerting.Observation{Device: fmt.Sprintf("bed-%05d", i), Place: place, Received: t0, At: t0,
			Reading: &alerting.Reading{HR: &hr}}
		if err := e.Observe(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	f := &flakyConditions{saved: map[string][]byte{}}
	if err := e.Save(ctx, f); err != nil {
		t.Fatal(err)
	}
	if len(f.saved) != devices || f.saves != 3 || f.largest != SaveChunk {
		t.Fatalf("saved %d devices in %d saves of at most %d, want %d in 3 of at most %d",
			len(f.saved), f.saves, f.largest, devices, SaveChunk)
	}
}

// failOnce fails its first Raise.
type failOnce struct {
	*sqlite.Store
	failed bool
}

func (f *failOnce) Raise(ctx context.Context, r alerting.Raise) (alerting.Alert, bool, error) {
	if !f.failed {
		f.failed = true
		return alerting.Alert{}, false, errors.New("database is locked")
	}
	return f.Store.Raise(ctx, r)
}

// TestLowBatteryRaisedWhenRedelivered: when raising the alert fails, the message is
// not acknowledged and comes again; the low battery must then still be raised.
func TestLowBatteryRaisedWhenRedelivered(t *testing.T) {
	st := openStore(t)
	e := New(Options{Store: &failOnce{Store: st}})
	low := 9.0
	o := reading(0, alerting.Reading{Battery: &low})
	if err := e.Observe(context.Background(), o); err == nil {
		t.Fatal("the failed raise was not reported")
	}
	if err := e.Observe(context.Background(), o); err != nil {
		t.Fatal(err)
	}
	if got := stateOf(t, st, alerting.KindLowBattery); got != alerting.StateOpen {
		t.Fatalf("low battery alert %q after the redelivery, want open", got)
	}
}
