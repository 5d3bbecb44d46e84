package device

import (
	"errors"
	"testing"
	"time"

	"carebed/firmware-sim/falldetect"
	"carebed/gateway/protocol"
)

func wearable(t *testing.T, w WearableConfig) *Wearable {
	t.Helper()
	x, err := NewWearable(cfg("fall-0001", "fall_sensor"), w)
	if err != nil {
		t.Fatal(err)
	}
	connected(t, x)
	return x
}

// calm is the everyday mix without dropping hard onto a chair, the one activity
// the detector sometimes takes for a fall.
var calm = []Activity{{"walk", 4}, {"pick-floor", 2}, {"lie-bed", 1}, {"stumble", 1}, {"jump", 1}}

func TestWearableQuietOnDailyActivities(t *testing.T) {
	w := wearable(t, WearableConfig{ActivitiesPerHour: 30, Activities: calm})
	w.Tick(t0.Add(48 * time.Hour))
	for _, e := range events(decodeAll(t, w.Take())) {
		t.Errorf("two days of daily activities sent %s (seq %d)", e.Type, e.Seq)
	}
	if c := w.Counts(); c.Activities < 1000 {
		t.Errorf("only %d activities in two days at 30 an hour", c.Activities)
	}
}

func TestWearableFalseAlarmsAreCancelled(t *testing.T) {
	w := wearable(t, WearableConfig{ActivitiesPerHour: 30})
	w.Tick(t0.Add(24 * time.Hour))
	ev := events(decodeAll(t, w.Take()))
	c := w.Counts()
	if c.FalseAlarms == 0 || len(ev) != 2*c.FalseAlarms {
		t.Fatalf("%d false alarms, events %+v", c.FalseAlarms, ev)
	}
	for i := 0; i < len(ev); i += 2 {
		fall, cancel := ev[i], ev[i+1]
		if fall.Type != protocol.EventFall || cancel.Type != protocol.EventFallCancel || cancel.Cancels != fall.Seq ||
			cancel.TS-fall.TS != 10000 {
			t.Errorf("false alarm %+v then %+v; want a fall cancelled 10 s later", fall, cancel)
		}
	}
}

func TestWearableAwakeOnly(t *testing.T) {
	w := wearable(t, WearableConfig{ActivitiesPerHour: 30, Awake: func(time.Time) bool { return false }})
	w.Tick(t0.Add(24 * time.Hour))
	if c := w.Counts(); c.Activities != 0 {
		t.Errorf("a wearer in bed all day did %d activities", c.Activities)
	}
}

func TestWearableFalls(t *testing.T) {
	cases := []struct {
		kind     string
		detected bool
	}{
		{"fall-forward", true}, {"fall-backward", true}, {"fall-lateral", true}, {"fall-from-bed", true},
		{"fall-recovery", true}, {"", true},
	}
	for _, c := range cases {
		t.Run(c.kind, func(t *testing.T) {
			w := wearable(t, WearableConfig{Activities: calm})
			at := t0.Add(90 * time.Minute)
			seq, conf, ok, err := w.Fall(at, c.kind)
			if err != nil || ok != c.detected {
				t.Fatalf("Fall: seq %d ok %v err %v", seq, ok, err)
			}
			cancel, cancelled := w.Cancel(at.Add(5 * time.Second))
			ev := events(decodeAll(t, w.Take()))
			if !cancelled || len(ev) != 2 || ev[0].Seq != seq || ev[1].Seq != cancel || ev[1].Cancels != seq {
				t.Fatalf("events %+v; want the fall then its cancel", ev)
			}
			if ev[0].Confidence == nil || *ev[0].Confidence != conf || conf < 0.5 || conf > 1 {
				t.Errorf("confidence %v, returned %v", ev[0].Confidence, conf)
			}
			if ev[0].TS > at.Add(-3*time.Second).UnixMilli() || ev[0].TS < at.Add(-8*time.Second).UnixMilli() {
				t.Errorf("the fall's ts %d is not within the 8 s trace ending at %d, 3 s before the judgement", ev[0].TS, at.UnixMilli())
			}
		})
	}
}

func TestWearableMatchesTheDetector(t *testing.T) {
	// A slow sink to the floor: the detector misses some; the wearable sends a fall
	// exactly when the detector, run alone over the same trace, fires.
	sent, fired := 0, 0
	for seed := range uint64(20) {
		c := cfg("fall-0001", "fall_sensor")
		c.Seed = seed
		w, err := NewWearable(c, WearableConfig{Activities: calm})
		if err != nil {
			t.Fatal(err)
		}
		if _, _, ok, _ := w.Fall(t0, "fall-slow"); ok {
			sent++
		}
		if w.Counts().Missed == 0 {
			fired++
		}
	}
	if sent != fired || sent == 0 || sent == 20 {
		t.Errorf("sent %d falls, detector fired %d times of 20 slow falls", sent, fired)
	}
}

func TestWearableCancelWithoutFall(t *testing.T) {
	w := wearable(t, WearableConfig{Activities: calm})
	if _, ok := w.Cancel(t0.Add(time.Minute)); ok {
		t.Error("a cancel press without a fall sent fall_cancel")
	}
	var unknown *UnknownFallError
	if _, _, _, err := w.Fall(t0.Add(time.Minute), "walk"); !errors.As(err, &unknown) {
		t.Errorf("Fall(walk): %v", err)
	}
	if _, err := NewWearable(cfg("fall-0001", "fall_sensor"), WearableConfig{Detector: falldetect.Config{PeakG: 0.5}}); err == nil {
		t.Error("an invalid detector configuration was accepted")
	}
}
