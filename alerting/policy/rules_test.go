package policy

import (
	"testing"
	"time"
)

func TestWindowContains(t *testing.T) {
	night := Window{Start: 21 * time.Hour, End: 6 * time.Hour}
	day := Window{Start: 7 * time.Hour, End: 21 * time.Hour}
	at := func(h, m int) time.Time { return time.Date(2025, 3, 1, h, m, 0, 0, time.UTC) }
	cases := []struct {
		name string
		w    Window
		t    time.Time
		want bool
	}{
		{"night before start", night, at(20, 59), false},
		{"night at start", night, at(21, 0), true},
		{"night before midnight", night, at(23, 59), true},
		{"night at midnight", night, at(0, 0), true},
		{"night early morning", night, at(5, 59), true},
		{"night at end", night, at(6, 0), false},
		{"night at noon", night, at(12, 0), false},
		{"day at start", day, at(7, 0), true},
		{"day afternoon", day, at(15, 30), true},
		{"day last second", day, at(20, 59).Add(59*time.Second + 999*time.Millisecond), true},
		{"day at end", day, at(21, 0), false},
		{"day at midnight", day, at(0, 0), false},
		{"empty window", Window{Start: 6 * time.Hour, End: 6 * time.Hour}, at(6, 0), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := c.w.Contains(c.t); got != c.want {
				t.Errorf("%s.Contains(%s) = %v, want %v", c.w, c.t.Format("15:04:05.000"), got, c.want)
			}
		})
	}
}

// TestWindowZone: a window from RulesFor reads times in the policy's zone, whatever
// the zone of the time given.
func TestWindowZone(t *testing.T) {
	night := Default().RulesFor("", "").Night
	utc := time.Date(2025, 3, 1, 14, 0, 0, 0, time.UTC) // 22:00 in Beijing
	if !night.Contains(utc) {
		t.Error("14:00 UTC (22:00 Beijing) is not night")
	}
	if (Window{Start: night.Start, End: night.End}).Contains(utc) {
		t.Error("a window without a zone reads 14:00 UTC as night")
	}
	kashgar := time.FixedZone("UTC+6", 6*3600)
	if Default().WithLocation(kashgar).RulesFor("", "").Night.Contains(utc) {
		t.Error("14:00 UTC is 20:00 at UTC+6, not night")
	}
}

func TestRulesFor(t *testing.T) {
	doc := `
rules: {fall_hold_off: 10s, hr_high: 125}
townships:
  巴伦台镇:
    rules: {fall_hold_off: 20s, night: {end: "07:00"}, village_outage: {devices: 3}}
homes:
  H-0012: {rules: {hr_high: 140, inactivity_after: 16h}}
  H-0031: {rules: {fall_hold_off: 5s, night: {start: "20:00"}}}
`
	p, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	base := defaultRules()
	with := func(f func(*Rules)) Rules { r := base; f(&r); return r }
	cases := []struct {
		name, township, home string
		want                 Rules
	}{
		{"global", "", "", with(func(r *Rules) { r.FallHoldOff, r.HRHigh = 10*time.Second, 125 })},
		{"unknown township and home", "和静镇", "H-9999", with(func(r *Rules) { r.FallHoldOff, r.HRHigh = 10*time.Second, 125 })},
		{"township over global", "巴伦台镇", "", with(func(r *Rules) {
			r.FallHoldOff, r.HRHigh, r.Night.End, r.OutageDevices = 20*time.Second, 125, 7*time.Hour, 3
		})},
		{"home over global", "", "H-0012", with(func(r *Rules) {
			r.FallHoldOff, r.HRHigh, r.InactivityAfter = 10*time.Second, 140, 16*time.Hour
		})},
		{"home over township", "巴伦台镇", "H-0031", with(func(r *Rules) {
			r.FallHoldOff, r.HRHigh, r.Night, r.OutageDevices = 5*time.Second, 125,
				Window{Start: 20 * time.Hour, End: 7 * time.Hour}, 3
		})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := p.RulesFor(c.township, c.home)
			got.Night, got.Day = got.Night.In(nil), got.Day.In(nil)
			if got != c.want {
				t.Errorf("RulesFor(%q, %q)\n got: %+v\nwant: %+v", c.township, c.home, got, c.want)
			}
		})
	}
}
