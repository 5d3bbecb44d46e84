// Package rules turns observations into alert decisions: which alert to raise (and
// whether to hold it for a cancel), which to cancel or resolve. Decisions are
// committed to the alert store before Observe returns, so the MQTT message that
// caused them is acknowledged only after.
package rules

import (
	"context"
	"errors"
	"log/slog"
	"strconv"
	"time"

	"carebed/alerting"
)

// Store is the part of the alert store the rules write to.
type Store interface {
	Raise(ctx context.Context, r alerting.Raise) (alerting.Alert, bool, error)
	CancelPending(ctx context.Context, home string, kind alerting.Kind, now time.Time, device, detail string) (bool, error)
	OpenAlert(ctx context.Context, home string, kind alerting.Kind) (alerting.Alert, error)
	Resolve(ctx context.Context, id int64, by, channel string, outcome alerting.Outcome, note string, now time.Time) (alerting.Alert, error)
	CancelPendingInVillage(ctx context.Context, p alerting.Place, kind alerting.Kind, now time.Time, detail string) (int, error)
	DeviceCancelled(ctx context.Context, id int64, now time.Time, device, detail string) error
}

// Thresholds are the rule settings for one home.
type Thresholds struct {
	FallHoldOff   time.Duration
	LowBatteryPct float64
	// OutageDevices devices of one village offline within OutageWithin are one
	// village outage alert.
	OutageDevices int
	OutageWithin  time.Duration
	// NoVitalsAfter: an occupied bed reporting no heart rate this long is critical.
	NoVitalsAfter time.Duration
	// HRLow, HRHigh and HRAbnormalFor: a heart rate outside HRLow..HRHigh this long.
	HRLow, HRHigh float64
	HRAbnormalFor time.Duration
	// BedExitNightAfter: a bed left at night and not returned to this long.
	BedExitNightAfter time.Duration
	// InactivityAfter: no activity at all this long in the daytime.
	InactivityAfter time.Duration
	// OfflineHeartbeats: silence for this many heartbeat intervals is offline.
	OfflineHeartbeats int
	// Mobile: the home moves (a herder's, 流动): its devices lose coverage on the way,
	// so a Last Will is held as long as silence would be, and they are never part of
	// a village outage (they are not in the village).
	Mobile bool
	// Night and Day say when the bed-exit and inactivity rules apply.
	Night, Day interface{ Contains(time.Time) bool }
}

// always is a window that contains every time.
type always struct{}

func (always) Contains(time.Time) bool { return true }

// DefaultThresholds are the design's defaults (Night and Day: always, for callers that
// give no windows; the gateway gives the policy's).
var DefaultThresholds = Thresholds{FallHoldOff: 15 * time.Second, LowBatteryPct: 15,
	OutageDevices: 5, OutageWithin: 2 * time.Minute, NoVitalsAfter: 60 * time.Second,
	HRLow: 40, HRHigh: 130, HRAbnormalFor: 5 * time.Minute, BedExitNightAfter: 20 * time.Minute,
	InactivityAfter: 12 * time.Hour, OfflineHeartbeats: 3, Night: always{}, Day: always{}}

// Options configure an Engine.
type Options struct {
	Store Store
	// Thresholds returns the settings for a home (township and home overrides); the
	// defaults when nil.
	Thresholds func(township, home string) Thresholds
	// Raised is told about every alert opened, so escalation can wake up.
	Raised func(alerting.Alert)
	// CancelledAfterPaging is told about a device cancel that came after the pages
	// went out (recorded; the alert stays open), so those paged can be told.
	CancelledAfterPaging func(a alerting.Alert, at time.Time)
	// NoHeartbeat, when set, names the devices that send no heartbeats (an elder's
	// own phone, which only sends SMS): they are never declared offline.
	NoHeartbeat func(device string) bool
	Logger      *slog.Logger
}

// Engine applies the rules.
type Engine struct {
	o       Options
	log     *slog.Logger
	outages outages
	conds   conditions
}

// New returns an Engine.
func New(o Options) *Engine {
	if o.Thresholds == nil {
		o.Thresholds = func(string, string) Thresholds { return DefaultThresholds }
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Raised == nil {
		o.Raised = func(alerting.Alert) {}
	}
	if o.NoHeartbeat == nil {
		o.NoHeartbeat = func(string) bool { return false }
	}
	return &Engine{o: o, log: o.Logger.With("component", "rules")}
}

// immediate maps event types to the alert they raise at once.
var immediate = map[string]struct {
	kind alerting.Kind
	sev  alerting.Severity
}{
	"sos":         {alerting.KindSOS, alerting.Critical},
	"smoke":       {alerting.KindSmoke, alerting.Critical},
	"gas":         {alerting.KindGas, alerting.Critical},
	"water_leak":  {alerting.KindWaterLeak, alerting.High},
	"tamper":      {alerting.KindTamper, alerting.Warning},
	"low_battery": {alerting.KindLowBattery, alerting.Warning},
}

// Observe applies the rules to o and commits what they decide.
func (e *Engine) Observe(ctx context.Context, o alerting.Observation) error {
	t, lowBattery, err := e.track(ctx, o)
	if err != nil {
		return err
	}
	switch {
	case o.Event != nil:
		return e.event(ctx, o, t)
	case o.Status != nil:
		return e.status(ctx, o)
	case lowBattery:
		return e.lowBattery(ctx, o)
	}
	return nil
}

func (e *Engine) event(ctx context.Context, o alerting.Observation, t Thresholds) error {
	switch typ := o.Event.Type; typ {
	case "fall":
		return e.raise(ctx, o, alerting.KindFall, alerting.Critical, o.Received.Add(t.FallHoldOff))
	case "fall_cancel", "sos_cancel":
		return e.cancel(ctx, o, typ)
	default:
		if r, ok := immediate[typ]; ok {
			return e.raise(ctx, o, r.kind, r.sev, time.Time{})
		}
	}
	return nil // bed_exit, bed_return feed the derived conditions (track)
}

// cancel closes a held fall (or SOS) before anyone is paged. A cancel that comes
// after paging leaves the alert open (someone should still look in), but it is
// recorded (audit row device_cancelled, a feed change) and those paged are told.
func (e *Engine) cancel(ctx context.Context, o alerting.Observation, typ string) error {
	for _, kind := range []alerting.Kind{alerting.KindFall, alerting.KindSOS} {
		ok, err := e.o.Store.CancelPending(ctx, o.Place.Home, kind, o.Received, o.Device, typ)
		if err != nil {
			return err
		}
		if ok {
			e.log.Info("held alert cancelled by the device", "home", o.Place.Home, "kind", kind, "device", o.Device)
			return nil
		}
	}
	for _, kind := range []alerting.Kind{alerting.KindFall, alerting.KindSOS} {
		a, err := e.o.Store.OpenAlert(ctx, o.Place.Home, kind)
		if errors.Is(err, alerting.ErrNotFound) {
			continue
		}
		if err != nil {
			return err
		}
		if a.State == alerting.StatePending { // cancelled above or not this device's kind
			continue
		}
		if err := e.o.Store.DeviceCancelled(ctx, a.ID, o.Received, o.Device, typ); err != nil {
			return err
		}
		e.log.Info("device cancelled after paging; the alert stays open", "alert", a.Code, "device", o.Device)
		if e.o.CancelledAfterPaging != nil {
			e.o.CancelledAfterPaging(a, o.Received)
		}
		return nil
	}
	return nil
}

func (e *Engine) status(ctx context.Context, o alerting.Observation) error {
	if !o.Status.Online {
		return e.lastWill(ctx, o)
	}
	return e.deviceOnline(ctx, o)
}

// lastWill takes a device's offline status (its Last Will: the connection was lost).
// A mobile home's device is held as long as its silence would be (OfflineHeartbeats
// of its heartbeats) before anyone is told: back within that, nobody is.
func (e *Engine) lastWill(ctx context.Context, o alerting.Observation) error {
	t := e.o.Thresholds(o.Place.Township, o.Place.Home)
	if !t.Mobile {
		return e.deviceOffline(ctx, o)
	}
	wait := max(t.OutageWithin, time.Duration(t.OfflineHeartbeats)*e.conds.heartbeatOf(o.Device))
	return e.raise(ctx, o, alerting.KindDeviceOffline, alerting.Warning, o.Received.Add(wait))
}

// lowBattery raises the alert of a battery that has just become low: when it
// becomes low, not with every reading.
func (e *Engine) lowBattery(ctx context.Context, o alerting.Observation) error {
	err := e.raise(ctx, o, alerting.KindLowBattery, alerting.Warning, time.Time{})
	if err != nil {
		e.conds.forgetLowBattery(o.Device) // so that the redelivered reading raises it
	}
	return err
}

func (e *Engine) raise(ctx context.Context, o alerting.Observation, kind alerting.Kind, sev alerting.Severity, hold time.Time) error {
	return e.store(ctx, raiseOf(o, kind, sev, hold))
}

// raiseOf is the raise of an alert of kind for o, held until hold (zero: not held).
func raiseOf(o alerting.Observation, kind alerting.Kind, sev alerting.Severity, hold time.Time) alerting.Raise {
	return alerting.Raise{Kind: kind, Sev: sev, Place: o.Place, Device: o.Device,
		EventAt: o.At, LateBy: o.LateBy, Now: o.Received, HoldUntil: hold, Detail: detail(o)}
}

// store raises r and tells escalation of an alert it opened.
func (e *Engine) store(ctx context.Context, r alerting.Raise) error {
	a, created, err := e.o.Store.Raise(ctx, r)
	if err != nil {
		return err
	}
	if created {
		e.log.Info("alert raised", "alert", a.Code, "kind", r.Kind, "severity", r.Sev, "home", r.Place.Home,
			"device", r.Device, "held", !r.HoldUntil.IsZero(), "late", r.LateBy, "received", r.Now)
		e.o.Raised(a)
	}
	return nil
}

func detail(o alerting.Observation) string {
	s := "seq " + itoa(o.Seq)
	if o.LateBy > 0 {
		s += ", arrived " + o.LateBy.Round(time.Second).String() + " late"
	}
	return s
}

func itoa(v uint64) string { return strconv.FormatUint(v, 10) }

func ignoreNotFound(err error) error {
	if errors.Is(err, alerting.ErrNotFound) {
		return nil
	}
	return err
}
