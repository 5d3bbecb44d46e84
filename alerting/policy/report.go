package policy

import (
	"fmt"
	"maps"
	"slices"
	"time"

	"carebed/alerting"
)

// Report holds the numbers the monthly supervision report (服务监管月报) measures
// against: how soon each kind of alert should be taken, and what an SMS segment costs.
type Report struct {
	// Targets is, per alert kind, the time within which it should be taken
	// (acknowledged) after it was raised; a kind without a target has no share
	// "taken in time" in the report.
	Targets map[alerting.Kind]time.Duration
	// SMSSegmentPrice is what one SMS segment costs, in yuan, for the report's estimate.
	SMSSegmentPrice float64
}

// Report returns the report's targets and prices.
func (p Policy) Report() Report {
	r := p.report
	r.Targets = maps.Clone(r.Targets)
	return r
}

// defaultReport: SOS, fall, smoke and gas taken within 5 minutes, the other urgent
// kinds within 15, device problems within a day; 0.05 yuan a segment (a typical
// Chinese bulk SMS price).
func defaultReport() Report {
	return Report{Targets: map[alerting.Kind]time.Duration{
		alerting.KindSOS: 5 * time.Minute, alerting.KindFall: 5 * time.Minute,
		alerting.KindSmoke: 5 * time.Minute, alerting.KindGas: 5 * time.Minute,
		alerting.KindNoVitals: 5 * time.Minute, alerting.KindWaterLeak: 15 * time.Minute,
		alerting.KindBedExitProlonged: 15 * time.Minute, alerting.KindVitalsAbnormal: 15 * time.Minute,
		alerting.KindInactivity: 30 * time.Minute, alerting.KindDeviceOffline: 24 * time.Hour,
		alerting.KindLowBattery: 24 * time.Hour, alerting.KindTamper: time.Hour,
		alerting.KindVillageOutage: time.Hour,
	}, SMSSegmentPrice: 0.05}
}

// reportConfig is the report key of the alerting section.
type reportConfig struct {
	Targets         map[string]time.Duration `yaml:"targets"`
	SMSSegmentPrice *float64                 `yaml:"sms_segment_price"`
}

// maxTarget bounds a target: a week.
const maxTarget = 7 * 24 * time.Hour

// buildReport checks the report block over the defaults.
func buildReport(c reportConfig) (Report, error) {
	r := defaultReport()
	const path = "alerting.report"
	for _, key := range slices.Sorted(maps.Keys(c.Targets)) {
		k := alerting.Kind(key)
		if _, ok := kindsZH[k]; !ok {
			return Report{}, fmt.Errorf("%s.targets.%s: unknown alert kind", path, key)
		}
		if d := c.Targets[key]; d <= 0 || d > maxTarget {
			return Report{}, fmt.Errorf("%s.targets.%s: %s is not above 0 and at most %s", path, key, fmtDur(d), fmtDur(maxTarget))
		}
		r.Targets[k] = c.Targets[key]
	}
	if c.SMSSegmentPrice != nil {
		if v := *c.SMSSegmentPrice; v < 0 || v > 10 {
			return Report{}, fmt.Errorf("%s.sms_segment_price: %g is not 0 to 10 (yuan a segment)", path, v)
		}
		r.SMSSegmentPrice = *c.SMSSegmentPrice
	}
	return r, nil
}
