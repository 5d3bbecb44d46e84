package device

import (
	"math/rand/v2"
	"time"

	"carebed/firmware-sim/falldetect"
	"carebed/gateway/protocol"
)

// WearableConfig configures a wearable fall sensor.
type WearableConfig struct {
	// Detector holds the fall detector's thresholds (zero: falldetect.DefaultConfig).
	Detector falldetect.Config
	// ActivitiesPerHour is how often, while the wearer is up, the accelerometer
	// wakes the firmware for something the wearer does (default 4).
	ActivitiesPerHour float64
	// Awake says when the wearer is up and about (nil: always); in bed nothing moves.
	Awake func(time.Time) bool
	// Activities is what wakes the accelerometer, by weight (nil: DefaultActivities).
	Activities []Activity
	// FalseAlarmCancel is how long after the detector fires on an everyday movement
	// the unhurt wearer presses cancel (default 10 s; negative: never).
	FalseAlarmCancel time.Duration
}

// Activity is an everyday movement (a non-fall kind of falldetect.Kinds) and how
// often it happens relative to the others.
type Activity struct {
	Kind   string
	Weight float64
}

// DefaultActivities is what wakes the wearable: mostly walking and bending, now and
// then dropping hard onto a chair, which the detector sometimes takes for a fall.
func DefaultActivities() []Activity {
	return []Activity{{"walk", 40}, {"pick-floor", 20}, {"sit-fast", 15}, {"lie-bed", 10}, {"stumble", 10}, {"jump", 5}}
}

// falls are the kinds of fall Fall picks from when none is named: those the
// detector catches (a slow sink to the floor it often misses; name fall-slow).
var falls = []string{"fall-forward", "fall-backward", "fall-lateral", "fall-recovery"}

// Wearable is a wearable fall sensor (跌倒检测器). Its firmware sleeps until the
// accelerometer notices movement, then runs the on-device fall detector
// (package falldetect) over the movement sample by sample at 200 Hz; the movements
// are synthetic traces of daily activities at random times while the wearer is up,
// and a fall when Fall says so. It sends fall, with the detector's confidence, only
// when the detector fires, and fall_cancel when the wearer presses cancel.
type Wearable struct {
	*Firmware
	cfg      WearableConfig
	det      *falldetect.Detector
	pushed   int // samples pushed through det: its sample index
	act      *rand.Rand
	nextAct  time.Time
	fall     uint64    // the fall a cancel press cancels; 0: none
	cancelAt time.Time // the unhurt wearer's cancel press after a false alarm
	counts   WearableCounts
}

// WearableCounts is what a wearable's detector has seen.
type WearableCounts struct {
	Activities, FalseAlarms, Falls, Missed int
}

var _ Model = (*Wearable)(nil)

// NewWearable returns a wearable fall sensor. It fails when w.Detector is invalid.
func NewWearable(c Config, w WearableConfig) (*Wearable, error) {
	if w.Detector == (falldetect.Config{}) {
		w.Detector = falldetect.DefaultConfig()
	}
	if w.ActivitiesPerHour <= 0 {
		w.ActivitiesPerHour = 4
	}
	if len(w.Activities) == 0 {
		w.Activities = DefaultActivities()
	}
	if w.FalseAlarmCancel == 0 {
		w.FalseAlarmCancel = 10 * time.Second
	}
	det, err := falldetect.New(w.Detector, falldetect.SisFallHz)
	if err != nil {
		return nil, err
	}
	x := &Wearable{Firmware: newFirmware(c, true), cfg: w, det: det,
		act: rand.New(rand.NewPCG(c.Seed^0xfa11, hash(c.ID)))}
	x.nextAct = c.Start.Add(x.gap())
	return x, nil
}

// gap is the time to the next activity: exponential, ActivitiesPerHour on average.
func (w *Wearable) gap() time.Duration {
	return time.Duration(w.act.ExpFloat64() / w.cfg.ActivitiesPerHour * float64(time.Hour))
}

// Tick makes the reports, activities and cancel presses due by now, in time order.
func (w *Wearable) Tick(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(now)
}

func (w *Wearable) advance(now time.Time) {
	for {
		switch t := w.firstDue(); {
		case t.After(now):
			return
		case t.Equal(w.next):
			w.reports(t, nil)
		case t.Equal(w.cancelAt):
			w.cancelAt = time.Time{}
			w.cancel(t)
		default:
			w.activity(t)
			w.nextAct = t.Add(w.gap())
		}
	}
}

// firstDue is the earliest of the next report, the next activity and a pending
// cancel press.
func (w *Wearable) firstDue() time.Time {
	t := w.next
	if w.nextAct.Before(t) {
		t = w.nextAct
	}
	if !w.cancelAt.IsZero() && w.cancelAt.Before(t) {
		t = w.cancelAt
	}
	return t
}

// activity runs one everyday movement, ending at t, through the detector.
func (w *Wearable) activity(t time.Time) {
	if w.cfg.Awake != nil && !w.cfg.Awake(t) {
		return
	}
	w.counts.Activities++
	at, _, fired := w.detect(t, pickActivity(w.act, w.cfg.Activities), w.act.Int64())
	if !fired {
		return
	}
	w.counts.FalseAlarms++
	if w.cfg.FalseAlarmCancel > 0 {
		w.cancelAt = at.Add(w.cfg.FalseAlarmCancel)
	}
}

// pickActivity draws an activity by weight.
func pickActivity(r *rand.Rand, mix []Activity) string {
	total := 0.0
	for _, a := range mix {
		total += a.Weight
	}
	x := r.Float64() * total
	for _, a := range mix {
		if x -= a.Weight; x < 0 {
			return a.Kind
		}
	}
	return mix[0].Kind
}

// detect pushes a synthetic trace of kind, ending at end, through the detector
// and sends a fall when it fires; it returns when the fall was, the detector's
// confidence, and whether it fired.
func (w *Wearable) detect(end time.Time, kind string, seed int64) (time.Time, float64, bool) {
	tr := falldetect.Synthesize(kind, seed)
	first := w.pushed // the detector's index of the trace's first sample
	start := end.Add(-time.Duration(float64(len(tr.Samples)) / tr.Hz * float64(time.Second)))
	var det falldetect.Detection
	fired := false
	for _, s := range tr.Samples {
		if d, ok := w.det.Push([3]float32{float32(s[0]), float32(s[1]), float32(s[2])}); ok && !fired {
			det, fired = d, true
		}
		w.pushed++
	}
	if !fired {
		return time.Time{}, 0, false
	}
	at := start.Add(time.Duration(float64(det.AtSample-first) / tr.Hz * float64(time.Second)))
	w.fall = w.event(at, protocol.EventFall, &det.Confidence, 0)
	return at, det.Confidence, true
}

// Fall makes the wearer fall, the fall ending at now: kind is one of the fall
// kinds of falldetect.Kinds ("": one the detector catches, chosen by the seed).
// It returns the fall event's seq and confidence, and false when the detector
// missed the fall (then nothing is sent). It fails for an unknown kind.
func (w *Wearable) Fall(now time.Time, kind string) (uint64, float64, bool, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if kind == "" {
		kind = falls[w.act.IntN(len(falls))]
	}
	if !IsFallKind(kind) {
		return 0, 0, false, &UnknownFallError{Kind: kind}
	}
	w.advance(now)
	_, conf, fired := w.detect(now, kind, w.act.Int64())
	if !fired {
		w.counts.Missed++
		return 0, 0, false, nil
	}
	w.counts.Falls++
	w.cancelAt = time.Time{}
	return w.fall, conf, true, nil
}

// Cancel is the wearer pressing cancel at now: a fall_cancel for the last fall
// not yet cancelled. It returns the cancel's seq, or false when there was no fall
// to cancel (nothing is sent).
func (w *Wearable) Cancel(now time.Time) (uint64, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.advance(now)
	return w.cancel(now)
}

func (w *Wearable) cancel(t time.Time) (uint64, bool) {
	if w.fall == 0 {
		return 0, false
	}
	seq := w.event(t, protocol.EventFallCancel, nil, w.fall)
	w.fall = 0
	return seq, true
}

// Counts returns what the detector has seen so far.
func (w *Wearable) Counts() WearableCounts {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.counts
}

// IsFallKind reports whether kind is one of falldetect's fall kinds.
func IsFallKind(kind string) bool {
	for _, k := range falldetect.Kinds() {
		if k == kind && len(k) > 5 && k[:5] == "fall-" {
			return true
		}
	}
	return false
}

// UnknownFallError is returned by Fall for a kind that is not a fall.
type UnknownFallError struct{ Kind string }

// Error names the kind.
func (e *UnknownFallError) Error() string {
	return "device: " + e.Kind + " is not a fall kind of falldetect"
}
