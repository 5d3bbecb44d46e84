package rules

import (
	"sync"

	"carebed/alerting/policy"
)

// PolicyThresholds maps the policy's rules for a home (its township's and its own
// overrides) to the engine's Thresholds, remembering each home's: the policy does not
// change while the gateway runs. Pass it as Options.Thresholds.
func PolicyThresholds(pol policy.Policy) func(township, home string) Thresholds {
	var mu sync.RWMutex
	cache := map[[2]string]Thresholds{} // a map without boxing its keys, not a sync.Map
	return func(township, home string) Thresholds {
		key := [2]string{township, home}
		mu.RLock()
		t, ok := cache[key]
		mu.RUnlock()
		if ok {
			return t
		}
		r := pol.RulesFor(township, home)
		t = Thresholds{FallHoldOff: r.FallHoldOff, LowBatteryPct: r.LowBatteryPct,
			OutageDevices: r.OutageDevices, OutageWithin: r.OutageWithin, NoVitalsAfter: r.NoVitalsAfter,
			HRLow: r.HRLow, HRHigh: r.HRHigh, HRAbnormalFor: r.HRAbnormalFor,
			BedExitNightAfter: r.BedExitNightAfter, InactivityAfter: r.InactivityAfter,
			OfflineHeartbeats: r.OfflineHeartbeats, Night: r.Night, Day: r.Day}
		mu.Lock()
		cache[key] = t
		mu.Unlock()
		return t
	}
}
