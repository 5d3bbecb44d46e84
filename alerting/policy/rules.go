package policy

import (
	"fmt"
	"time"
)

// Rules are the thresholds that turn readings and events into alerts. Every one can be
// set for the whole gateway, per township and per home (RulesFor merges them).
type Rules struct {
	// FallHoldOff is how long a fall may be cancelled from the device before it
	// becomes a critical alert.
	FallHoldOff time.Duration
	// NoVitalsAfter raises no_vitals when an occupied bed reports no heart rate this long.
	NoVitalsAfter time.Duration
	// BedExitNightAfter raises bed_exit_prolonged when a bed left during Night stays
	// empty this long.
	BedExitNightAfter time.Duration
	// HRAbnormalFor raises vitals_abnormal when the heart rate stays below HRLow or
	// above HRHigh this long.
	HRAbnormalFor time.Duration
	// InactivityAfter raises inactivity when no activity at all is seen this long
	// during Day.
	InactivityAfter time.Duration
	// Night bounds the bed-exit rule, Day the inactivity rule.
	Night, Day Window
	// HRLow and HRHigh bound the normal heart rate, in beats per minute.
	HRLow, HRHigh float64
	// OfflineHeartbeats raises device_offline after this many heartbeat intervals of
	// silence.
	OfflineHeartbeats int
	// LowBatteryPct raises low_battery at or below this battery level, in percent.
	LowBatteryPct float64
	// OutageDevices devices of one village going offline within OutageWithin make one
	// village_outage alert instead of one alert each.
	OutageDevices int
	// OutageWithin is the window for OutageDevices.
	OutageWithin time.Duration
}

// Window is a daily span of wall-clock time, from Start (inclusive) to End (exclusive),
// both measured from midnight. When End is before Start the window wraps past
// midnight; when they are equal it is empty.
type Window struct {
	Start, End time.Duration
	// loc is the time zone the window's times are in; nil means t's own zone.
	loc *time.Location
}

// In returns the window with its times read in loc: Contains then converts t to loc
// first. Windows from RulesFor are already in the policy's time zone.
func (w Window) In(loc *time.Location) Window {
	w.loc = loc
	return w
}

// Contains reports whether the wall-clock time of t falls in the window, reading t in
// the window's zone (see In), or in t's own zone for a Window without one.
func (w Window) Contains(t time.Time) bool {
	if w.loc != nil {
		t = t.In(w.loc)
	}
	h, m, s := t.Clock()
	c := time.Duration(h)*time.Hour + time.Duration(m)*time.Minute + time.Duration(s)*time.Second +
		time.Duration(t.Nanosecond())
	if w.Start <= w.End {
		return w.Start <= c && c < w.End
	}
	return c >= w.Start || c < w.End
}

// String writes the window as HH:MM-HH:MM.
func (w Window) String() string { return fmtClock(w.Start) + "-" + fmtClock(w.End) }

// defaultRules are the thresholds of ARCHITECTURE.md, section Alerts.
func defaultRules() Rules {
	return Rules{
		FallHoldOff: 15 * time.Second, NoVitalsAfter: 60 * time.Second,
		BedExitNightAfter: 20 * time.Minute, HRAbnormalFor: 5 * time.Minute,
		InactivityAfter: 12 * time.Hour,
		Night:           Window{Start: 21 * time.Hour, End: 6 * time.Hour},
		Day:             Window{Start: 7 * time.Hour, End: 21 * time.Hour},
		HRLow:           40, HRHigh: 130, OfflineHeartbeats: 3, LowBatteryPct: 15,
		OutageDevices: 5, OutageWithin: 2 * time.Minute,
	}
}

// rulesConfig is a rules block of the file; a nil field keeps the value beneath it.
type rulesConfig struct {
	FallHoldOff       *time.Duration `yaml:"fall_hold_off"`
	NoVitalsAfter     *time.Duration `yaml:"no_vitals_after"`
	BedExitNightAfter *time.Duration `yaml:"bed_exit_night_after"`
	Night             windowConfig   `yaml:"night"`
	HRLow             *float64       `yaml:"hr_low"`
	HRHigh            *float64       `yaml:"hr_high"`
	HRAbnormalFor     *time.Duration `yaml:"hr_abnormal_for"`
	InactivityAfter   *time.Duration `yaml:"inactivity_after"`
	Day               windowConfig   `yaml:"day"`
	OfflineHeartbeats *int           `yaml:"offline_heartbeats"`
	LowBatteryPct     *float64       `yaml:"low_battery_pct"`
	VillageOutage     outageConfig   `yaml:"village_outage"`
}

type windowConfig struct {
	Start *clock `yaml:"start"`
	End   *clock `yaml:"end"`
}

type outageConfig struct {
	Devices *int           `yaml:"devices"`
	Within  *time.Duration `yaml:"within"`
}

// onto returns r with the fields set in c replacing r's.
func (c rulesConfig) onto(r Rules) Rules {
	set(&r.FallHoldOff, c.FallHoldOff)
	set(&r.NoVitalsAfter, c.NoVitalsAfter)
	set(&r.BedExitNightAfter, c.BedExitNightAfter)
	set(&r.HRAbnormalFor, c.HRAbnormalFor)
	set(&r.InactivityAfter, c.InactivityAfter)
	r.Night, r.Day = c.Night.onto(r.Night), c.Day.onto(r.Day)
	set(&r.HRLow, c.HRLow)
	set(&r.HRHigh, c.HRHigh)
	set(&r.OfflineHeartbeats, c.OfflineHeartbeats)
	set(&r.LowBatteryPct, c.LowBatteryPct)
	set(&r.OutageDevices, c.VillageOutage.Devices)
	set(&r.OutageWithin, c.VillageOutage.Within)
	return r
}

func (c windowConfig) onto(w Window) Window {
	if c.Start != nil {
		w.Start = time.Duration(*c.Start)
	}
	if c.End != nil {
		w.End = time.Duration(*c.End)
	}
	return w
}

// set copies *v into *dst when v is set.
func set[T any](dst *T, v *T) {
	if v != nil {
		*dst = *v
	}
}

// check validates the fields set in a rules block; path names the block.
func (c rulesConfig) check(path string) error {
	checks := []struct {
		key string
		err error
	}{
		{"fall_hold_off", inRange(c.FallHoldOff, 0, 2*time.Minute)},
		{"no_vitals_after", inRange(c.NoVitalsAfter, 5*time.Second, 10*time.Minute)},
		{"bed_exit_night_after", positive(c.BedExitNightAfter)},
		{"hr_low", bpm(c.HRLow)},
		{"hr_high", bpm(c.HRHigh)},
		{"hr_abnormal_for", positive(c.HRAbnormalFor)},
		{"inactivity_after", positive(c.InactivityAfter)},
		{"offline_heartbeats", atLeast(c.OfflineHeartbeats, 1)},
		{"low_battery_pct", percent(c.LowBatteryPct)},
		{"village_outage.devices", atLeast(c.VillageOutage.Devices, 2)},
		{"village_outage.within", positive(c.VillageOutage.Within)},
	}
	for _, ch := range checks {
		if ch.err != nil {
			return fmt.Errorf("%s.%s: %w", path, ch.key, ch.err)
		}
	}
	return nil
}

// check validates merged rules, whose fields may come from different levels; path
// names the rules block that produced them.
func (r Rules) check(path string) error {
	if r.HRLow >= r.HRHigh {
		return fmt.Errorf("%s: hr_low (%g) must be below hr_high (%g)", path, r.HRLow, r.HRHigh)
	}
	for _, w := range []struct {
		key string
		w   Window
	}{{"night", r.Night}, {"day", r.Day}} {
		if w.w.Start == w.w.End {
			return fmt.Errorf("%s.%s: start and end are both %s", path, w.key, fmtClock(w.w.Start))
		}
	}
	return nil
}

func positive(d *time.Duration) error {
	if d != nil && *d <= 0 {
		return fmt.Errorf("%s is not positive", fmtDur(*d))
	}
	return nil
}

func inRange(d *time.Duration, lo, hi time.Duration) error {
	if d != nil && (*d < lo || *d > hi) {
		return fmt.Errorf("%s is outside %s..%s", fmtDur(*d), fmtDur(lo), fmtDur(hi))
	}
	return nil
}

func bpm(v *float64) error {
	if v != nil && !(*v > 0 && *v < 300) {
		return fmt.Errorf("%g is not a heart rate between 0 and 300", *v)
	}
	return nil
}

func percent(v *float64) error {
	if v != nil && !(*v > 0 && *v < 100) {
		return fmt.Errorf("%g is not a percentage between 0 and 100", *v)
	}
	return nil
}

func atLeast(v *int, lo int) error {
	if v != nil && *v < lo {
		return fmt.Errorf("%d is less than %d", *v, lo)
	}
	return nil
}
