package rules

import (
	"context"
	"sync"
	"time"

	"carebed/alerting"
)

// defaultHeartbeat is assumed for a device that has not said its heartbeat interval.
const defaultHeartbeat = 5 * time.Minute

// conditions keeps, per device, what the derived conditions need: since when a bed is
// occupied without a heart rate, since when the heart rate is out of range, when the
// bed was left at night, when there was activity, when the device was last heard.
// It lives in memory and is saved to the alert store (saved.go), so that a restart
// does not restart the timers.
type conditions struct {
	mu      sync.Mutex
	devices map[string]*devState
}

type devState struct {
	obs          alerting.Observation // the latest, for place and device
	heartbeat    time.Duration
	lastSeen     time.Time
	occupied     bool
	noHRSince    time.Time
	abnormalFrom time.Time
	exitAt       time.Time
	bedAt        time.Time // device time of the latest bed_exit or bed_return event
	lastActivity time.Time
	silent       bool
	senses       bool                   // reports motion or occupancy: the inactivity rule applies
	lowBattery   bool                   // last reading at or below the threshold, alert raised
	raised       map[alerting.Kind]bool // raised in this episode: not again until it clears
	t            Thresholds             // for tPlace, when hasT
	tPlace       alerting.Place
	hasT         bool
	// dirty: changed since the last Save. stale: restored from the store and not heard
	// from since, so its timed conditions wait for its first message (what it did
	// while the gateway was away is still queued at the broker).
	dirty, stale bool
}

// heartbeatOf returns the device's heartbeat interval (the default until it says).
func (c *conditions) heartbeatOf(device string) time.Duration {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.devices[device]; d != nil {
		return d.heartbeat
	}
	return defaultHeartbeat
}

func (c *conditions) state(o alerting.Observation) *devState {
	if c.devices == nil {
		c.devices = map[string]*devState{}
	}
	d := c.devices[o.Device]
	if d == nil {
		d = &devState{heartbeat: defaultHeartbeat, lastActivity: o.Received, raised: map[alerting.Kind]bool{}}
		c.devices[o.Device] = d
	}
	return d
}

// track updates the device's state from o and raises what is due. It returns the
// device's thresholds and whether a reading's battery has just become low.
func (e *Engine) track(ctx context.Context, o alerting.Observation) (t Thresholds, lowBattery bool, err error) {
	e.conds.mu.Lock()
	d := e.conds.state(o)
	t = e.thresholdsOf(d, o.Place)
	wasSilent := d.silent
	d.obs, d.lastSeen, d.silent, d.dirty, d.stale = o, o.Received, false, true, false
	switch {
	case o.Status != nil && o.Status.HeartbeatS > 0:
		d.heartbeat = time.Duration(o.Status.HeartbeatS) * time.Second
	case o.Event != nil:
		d.event(o, t)
	case o.Reading != nil:
		lowBattery = d.reading(o, t)
	}
	due := d.due(o.Received, t)
	e.conds.mu.Unlock()
	if wasSilent && (o.Status == nil || o.Status.Online) {
		if err := e.deviceOnline(ctx, o); err != nil {
			return t, false, err
		}
	}
	return t, lowBattery, e.raiseDue(ctx, o, due)
}

// thresholdsOf returns the settings for the device's home, asked of
// Options.Thresholds once per device rather than with every message (again when the
// device moves to another home). Callers hold e.conds.mu.
func (e *Engine) thresholdsOf(d *devState, p alerting.Place) Thresholds {
	if !d.hasT || d.tPlace != p {
		d.t, d.tPlace, d.hasT = e.o.Thresholds(p.Township, p.Home), p, true
	}
	return d.t
}

// ThresholdsChanged makes every device look its thresholds up again at its next
// message or tick: the registry changed what they depend on (a home newly marked
// mobile gets its longer offline threshold without a restart).
func (e *Engine) ThresholdsChanged() {
	e.conds.mu.Lock()
	defer e.conds.mu.Unlock()
	for _, d := range e.conds.devices {
		d.hasT = false
	}
}

// forgetLowBattery makes the device's next low reading raise the alert again.
func (c *conditions) forgetLowBattery(device string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if d := c.devices[device]; d != nil {
		d.lowBattery = false
	}
}

func (d *devState) event(o alerting.Observation, t Thresholds) {
	d.lastActivity = o.Received
	switch o.Event.Type {
	case "bed_exit":
		d.bedAt = later(d.bedAt, bedEventAt(o))
		if t.Night.Contains(o.Received) {
			d.exitAt = o.Received
		}
	case "bed_return":
		d.bedAt = later(d.bedAt, bedEventAt(o))
		d.exitAt = time.Time{}
		d.clear(alerting.KindBedExitProlonged)
	}
}

// reading updates the state from a reading and reports whether its battery has just
// become low.
func (d *devState) reading(o alerting.Observation, t Thresholds) (lowBattery bool) {
	r, now := o.Reading, o.Received
	if r.Battery != nil {
		low := *r.Battery <= t.LowBatteryPct
		lowBattery = low && !d.lowBattery
		d.lowBattery = low
	}
	d.senses = d.senses || r.Occupied != nil || r.Motion != nil
	// Events are taken on a lane of their own (gateway/ingest), so a reading from
	// before the latest bed event may come after it: its occupancy is older news.
	if r.Occupied != nil && !o.At.Before(d.bedAt) {
		if *r.Occupied != d.occupied {
			d.lastActivity = now
			if !*r.Occupied && t.Night.Contains(now) {
				d.exitAt = now
			}
			if *r.Occupied {
				d.exitAt = time.Time{}
				d.clear(alerting.KindBedExitProlonged)
			}
		}
		d.occupied = *r.Occupied
	}
	if r.Motion != nil && *r.Motion >= 0.05 {
		d.lastActivity = now
	}
	hr := 0.0
	if r.HR != nil {
		hr = *r.HR
	}
	d.noHRSince = since(d.noHRSince, d.occupied && hr == 0, now)
	if !d.occupied || hr > 0 {
		d.clearIf(d.noHRSince.IsZero(), alerting.KindNoVitals)
	}
	abnormal := hr > 0 && (hr < t.HRLow || hr > t.HRHigh)
	d.abnormalFrom = since(d.abnormalFrom, abnormal, now)
	d.clearIf(!abnormal && r.HR != nil, alerting.KindVitalsAbnormal)
	return lowBattery
}

// since keeps the start of a condition while it holds, and forgets it when it stops.
func since(start time.Time, holds bool, now time.Time) time.Time {
	switch {
	case !holds:
		return time.Time{}
	case start.IsZero():
		return now
	}
	return start
}

func (d *devState) clear(k alerting.Kind) { delete(d.raised, k) }
func (d *devState) clearIf(cond bool, k alerting.Kind) {
	if cond {
		d.clear(k)
	}
}

type dueAlert struct {
	kind alerting.Kind
	sev  alerting.Severity
}

// due lists the conditions that have lasted long enough at now and were not raised
// in this episode yet, and marks them raised.
func (d *devState) due(now time.Time, t Thresholds) []dueAlert {
	var out []dueAlert
	check := func(start time.Time, after time.Duration, k alerting.Kind, sev alerting.Severity) {
		if !start.IsZero() && after > 0 && now.Sub(start) >= after && !d.raised[k] {
			d.raised[k] = true
			out = append(out, dueAlert{k, sev})
		}
	}
	check(d.noHRSince, t.NoVitalsAfter, alerting.KindNoVitals, alerting.Critical)
	check(d.abnormalFrom, t.HRAbnormalFor, alerting.KindVitalsAbnormal, alerting.High)
	check(d.exitAt, t.BedExitNightAfter, alerting.KindBedExitProlonged, alerting.High)
	if d.senses && t.Day.Contains(now) {
		check(d.lastActivity, t.InactivityAfter, alerting.KindInactivity, alerting.High)
	}
	if now.Sub(d.lastActivity) < t.InactivityAfter {
		d.clear(alerting.KindInactivity)
	}
	return out
}

func (e *Engine) raiseDue(ctx context.Context, o alerting.Observation, due []dueAlert) error {
	for _, a := range due {
		if err := e.raise(ctx, o, a.kind, a.sev, time.Time{}); err != nil {
			return err
		}
	}
	return nil
}

// Tick evaluates the conditions that time alone makes due: no heart rate, heart rate
// out of range, a night bed exit, daytime inactivity, and devices silent for
// OfflineHeartbeats heartbeat intervals (offline without a Last Will); and it writes
// the village outages' folded joins (FoldJoinsFor). The gateway calls it every few
// seconds.
func (e *Engine) Tick(ctx context.Context, now time.Time) error {
	type work struct {
		o      alerting.Observation
		due    []dueAlert
		silent bool
	}
	var todo []work
	e.conds.mu.Lock()
	for _, d := range e.conds.devices {
		t := e.thresholdsOf(d, d.obs.Place)
		w := work{o: d.obs}
		if !d.stale {
			w.due = d.due(now, t)
		}
		if !d.silent && t.OfflineHeartbeats > 0 && now.Sub(d.lastSeen) > time.Duration(t.OfflineHeartbeats)*d.heartbeat &&
			!e.o.NoHeartbeat(d.obs.Device) {
			d.silent, w.silent = true, true
		}
		if len(w.due) > 0 || w.silent {
			d.dirty = true
			w.o.Received, w.o.At = now, now
			todo = append(todo, w)
		}
	}
	e.conds.mu.Unlock()
	for _, w := range todo {
		if err := e.raiseDue(ctx, w.o, w.due); err != nil {
			return err
		}
		if w.silent {
			w.o.Event, w.o.Reading, w.o.Status = nil, nil, &alerting.Status{Online: false}
			if err := e.deviceOffline(ctx, w.o); err != nil {
				return err
			}
		}
	}
	return e.writeFolded(ctx)
}

// bedEventAt is a bed event's device time, but never after its arrival: a device
// clock running ahead would otherwise make every reading after it old news.
func bedEventAt(o alerting.Observation) time.Time {
	if o.At.After(o.Received) {
		return o.Received
	}
	return o.At
}

// later returns the later of a and b.
func later(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}
