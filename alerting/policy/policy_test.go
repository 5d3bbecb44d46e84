package policy

import (
	"testing"
	"time"

	"carebed/alerting"
)

func TestReleaseAt(t *testing.T) {
	p, err := Parse([]byte(`
townships:
  巴伦台镇: {quiet_hours: {start: "23:00", end: "06:30"}}
  和静镇: {quiet_hours: {severities: []}}
  和硕县城: {quiet_hours: {start: "12:00", end: "14:00", severities: [warning]}}
`))
	if err != nil {
		t.Fatal(err)
	}
	bj := p.Location()
	at := func(d, h, m int) time.Time { return time.Date(2025, 1, d, h, m, 0, 0, bj) }
	cases := []struct {
		name     string
		township string
		sev      alerting.Severity
		t, want  time.Time
	}{
		{"critical never held", "", alerting.Critical, at(10, 23, 0), at(10, 23, 0)},
		{"before quiet hours", "", alerting.High, at(10, 21, 59), at(10, 21, 59)},
		{"at the start", "", alerting.High, at(10, 22, 0), at(11, 7, 0)},
		{"before midnight, released next morning", "", alerting.Warning, at(10, 23, 30), at(11, 7, 0)},
		{"after midnight, released this morning", "", alerting.High, at(11, 3, 0), at(11, 7, 0)},
		{"at the end", "", alerting.High, at(11, 7, 0), at(11, 7, 0)},
		{"month end", "", alerting.High, at(31, 23, 0), time.Date(2025, 2, 1, 7, 0, 0, 0, bj)},
		{"township window: not yet", "巴伦台镇", alerting.High, at(10, 22, 30), at(10, 22, 30)},
		{"township window", "巴伦台镇", alerting.High, at(10, 23, 30), at(11, 6, 30)},
		{"township holds nothing", "和静镇", alerting.Warning, at(10, 23, 30), at(10, 23, 30)},
		{"township daytime window", "和硕县城", alerting.Warning, at(10, 12, 15), at(10, 14, 0)},
		{"township daytime window, high not held", "和硕县城", alerting.High, at(10, 12, 15), at(10, 12, 15)},
		{"unknown township uses global", "nowhere", alerting.High, at(10, 22, 0), at(11, 7, 0)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := p.ReleaseAt(c.township, c.sev, c.t); !got.Equal(c.want) {
				t.Errorf("ReleaseAt(%s %s) = %s, want %s", c.sev, c.t.Format("01-02 15:04"), got, c.want)
			}
		})
	}
}

// TestReleaseAtZones: quiet hours are in the policy's zone; the result keeps t's.
func TestReleaseAtZones(t *testing.T) {
	p := Default()
	utc := time.Date(2025, 1, 10, 15, 0, 0, 0, time.UTC) // 23:00 in Beijing
	got := p.ReleaseAt("", alerting.Warning, utc)
	if want := time.Date(2025, 1, 10, 23, 0, 0, 0, time.UTC); !got.Equal(want) || got.Location() != time.UTC {
		t.Errorf("ReleaseAt = %s, want %s (07:00 Beijing, in UTC)", got, want)
	}
	if got := p.ReleaseAt("", alerting.Warning, time.Date(2025, 1, 10, 3, 0, 0, 0, time.UTC)); got.Hour() != 3 {
		t.Errorf("03:00 UTC is 11:00 in Beijing, not quiet: released at %s", got)
	}
}

func TestLocation(t *testing.T) {
	p := Default()
	if _, off := time.Date(2025, 6, 1, 0, 0, 0, 0, p.Location()).Zone(); off != 8*3600 {
		t.Errorf("default zone offset = %d, want +08:00", off)
	}
	if got := p.WithLocation(time.UTC).Location(); got != time.UTC {
		t.Errorf("WithLocation(UTC) = %s", got)
	}
	if got := p.WithLocation(time.UTC).WithLocation(nil).Location(); got != p.Location() {
		t.Errorf("WithLocation(nil) = %s, want the default", got)
	}
	if got := (Policy{}).Location(); got != p.Location() {
		t.Errorf("zero policy location = %s", got)
	}
}

func TestDefaults(t *testing.T) {
	p := Default()
	if got, want := p.Limits(), (Limits{PerPerson: 20, Per: time.Hour, SMSPerDay: 5000}); got != want {
		t.Errorf("limits = %+v, want %+v", got, want)
	}
	if got := p.CountyCentre(); len(got) != 0 {
		t.Errorf("county centre = %v", got)
	}
	if _, _, ok := p.Person("dr-li"); ok {
		t.Error("default policy knows dr-li")
	}
	r := p.RulesFor("", "")
	if r.FallHoldOff != 15*time.Second || r.NoVitalsAfter != time.Minute || r.InactivityAfter != 12*time.Hour ||
		r.HRLow != 40 || r.HRHigh != 130 || r.OfflineHeartbeats != 3 || r.OutageDevices != 5 {
		t.Errorf("default rules = %+v", r)
	}
}

// TestZeroPolicy: the zero Policy answers without panicking.
func TestZeroPolicy(t *testing.T) {
	var p Policy
	now := time.Now()
	if len(p.Ladder("", alerting.Critical).Steps) != 0 || !p.ReleaseAt("", alerting.High, now).Equal(now) {
		t.Error("zero policy has ladders or quiet hours")
	}
	if _, err := p.Render(PurposePage, Message{}); err == nil {
		t.Error("zero policy renders")
	}
	_ = p.RulesFor("x", "y")
}
