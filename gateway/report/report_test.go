package report

import (
	"math"
	"slices"
	"testing"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
)

// cellIs checks a figure: a number (within 1e-6) or the reason there is none.
func cellIs(t *testing.T, name string, got Cell, want any) {
	t.Helper()
	switch w := want.(type) {
	case string:
		if got.Missing != w {
			t.Errorf("%s = %s, want %s", name, got, w)
		}
	case time.Duration:
		if !got.OK() || got.Unit != Duration || got.V != w.Seconds() {
			t.Errorf("%s = %s, want %s", name, got, w)
		}
	case float64:
		if !got.OK() || math.Abs(got.V-w) > 1e-6 {
			t.Errorf("%s = %s (%v), want %v", name, got, got.V, w)
		}
	default:
		t.Fatalf("%s: want %T", name, want)
	}
}

// partOf returns the report's part of township town ("" for the county).
func partOf(t *testing.T, r Report, town string) Part {
	t.Helper()
	for _, p := range r.Parts {
		if p.Township == town {
			return p
		}
	}
	t.Fatalf("no part %q", town)
	return Part{}
}

func kindOf(t *testing.T, p Part, k alerting.Kind) KindRow {
	t.Helper()
	if k == "" {
		return p.Alerts.All
	}
	for _, r := range p.Alerts.Kinds {
		if r.Kind == k {
			return r
		}
	}
	t.Fatalf("%s: no kind %s", p.Name(), k)
	return KindRow{}
}

// TestFixtureMonth checks every figure of November's report, built from a real
// alert store and a real InfluxDB, against the figures worked out by hand in
// fixture_test.go.
func TestFixtureMonth(t *testing.T) {
	r := buildFixture(t, startFixtureInflux(t))
	if r.InfluxError != "" || r.Month.Partial {
		t.Fatalf("influx error %q, partial %v", r.InfluxError, r.Month.Partial)
	}
	if names := []string{r.Parts[0].Township, r.Parts[1].Township, r.Parts[2].Township}; !slices.Equal(names, []string{townB, townA, ""}) {
		t.Fatalf("parts %v, want B, A (name order), county", names)
	}
	checkAlerts(t, r)
	checkDevices(t, r)
	checkVisits(t, r)
	checkSMS(t, r)
}

func checkAlerts(t *testing.T, r Report) {
	m := time.Minute
	tests := []struct {
		town                  string
		kind                  alerting.Kind
		total, paged, taken   int
		p50, p90, max, inTime any
	}{
		{townA, alerting.KindSOS, 2, 2, 2, 3 * m, 8 * m, 8 * m, 0.5},
		{townA, alerting.KindFall, 1, 1, 1, 4 * m, 4 * m, 4 * m, 1.0},
		{townA, alerting.KindLowBattery, 1, 0, 0, NoData, NoData, NoData, NoData}, // target 24h, never paged
		{townA, "", 4, 3, 3, 4 * m, 8 * m, 8 * m, 2.0 / 3},
		{townB, alerting.KindSOS, 2, 1, 0, NoData, NoData, NoData, 0.0},
		{"", "", 6, 4, 3, 4 * m, 8 * m, 8 * m, 0.5},
	}
	for _, tt := range tests {
		k := kindOf(t, partOf(t, r, tt.town), tt.kind)
		name := tt.town + "/" + string(tt.kind)
		if k.Total != tt.total || k.Paged != tt.paged || k.Taken != tt.taken {
			t.Errorf("%s: total %d paged %d taken %d, want %d %d %d", name, k.Total, k.Paged, k.Taken, tt.total, tt.paged, tt.taken)
		}
		cellIs(t, name+" p50", k.P50, tt.p50)
		cellIs(t, name+" p90", k.P90, tt.p90)
		cellIs(t, name+" max", k.Max, tt.max)
		cellIs(t, name+" in time", k.InTime, tt.inTime)
	}
	a := partOf(t, r, townA).Alerts
	if a.Escalated != 1 || a.Open != 0 || a.Outcomes[alerting.OutcomeHandledAtHome] != 1 || a.Outcomes[alerting.OutcomeReferred] != 1 ||
		a.Outcomes[alerting.OutcomeHospital] != 1 || a.Outcomes[alerting.OutcomeAutoResolved] != 1 {
		t.Errorf("township A: escalated %d open %d outcomes %v", a.Escalated, a.Open, a.Outcomes)
	}
	var slow []time.Duration
	for _, s := range a.Slowest {
		slow = append(slow, s.Take)
		if len(s.Audit) < 3 || s.Audit[0].What != "raised" {
			t.Errorf("slow %s: audit %+v, want raised ... acknowledged ... resolved", s.Alert.Code, s.Audit)
		}
	}
	if !slices.Equal(slow, []time.Duration{8 * m, 4 * m, 3 * m}) {
		t.Errorf("slowest %v", slow)
	}
	b := partOf(t, r, townB).Alerts
	if b.Open != 1 || b.Outcomes[alerting.OutcomeCancelled] != 1 || b.Escalated != 0 {
		t.Errorf("township B: open %d outcomes %v escalated %d", b.Open, b.Outcomes, b.Escalated)
	}
	if sos := kindOf(t, partOf(t, r, ""), alerting.KindSOS); sos.BySev[alerting.Critical] != 4 {
		t.Errorf("county sos by severity %v", sos.BySev)
	}
}

func homeOf(t *testing.T, p Part, home string) HomeDevices {
	t.Helper()
	for _, h := range p.Devs.Homes {
		if h.Home == home {
			return h
		}
	}
	t.Fatalf("no home %s", home)
	return HomeDevices{}
}

func checkDevices(t *testing.T, r Report) {
	h := time.Hour
	tests := []struct {
		town, home       string
		online           any
		episodes         int
		offline, longest any
		lowBattery       int
		daysToChange     any
		silent           bool
	}{
		{townA, "H-1", 702.0 / 720, 2, 18 * h, 12 * h, 0, NoLowBattery, false},
		{townA, "H-2", 432.0 / 696, 1, 264 * h, 264 * h, 1, 2.5, true},
		{townB, "H-3", NoData, 0, NoData, NoData, 0, NoLowBattery, false},
		{townB, "H-4", 1.0, 0, 0 * h, 0 * h, 0, NoLowBattery, false},
	}
	for _, tt := range tests {
		d := homeOf(t, partOf(t, r, tt.town), tt.home)
		cellIs(t, tt.home+" online", d.Online, tt.online)
		cellIs(t, tt.home+" offline", d.OfflineTime, tt.offline)
		cellIs(t, tt.home+" longest", d.Longest, tt.longest)
		cellIs(t, tt.home+" days to change", d.DaysToChange, tt.daysToChange)
		if d.Offline != tt.episodes || d.LowBattery != tt.lowBattery || d.Silent != tt.silent {
			t.Errorf("%s: episodes %d low battery %d silent %v, want %d %d %v", tt.home, d.Offline, d.LowBattery, d.Silent,
				tt.episodes, tt.lowBattery, tt.silent)
		}
	}
	for _, tt := range []struct {
		town   string
		online float64
	}{{townA, 1134.0 / 1416}, {"", 1854.0 / 2136}} {
		town, d := tt.town, partOf(t, r, tt.town).Devs
		cellIs(t, town+" online", d.Online, tt.online)
		cellIs(t, town+" offline", d.OfflineTime, 282*h)
		cellIs(t, town+" days to change", d.DaysToChange, 2.5)
		if d.Offline != 3 || d.LowBattery != 1 || !slices.Equal(d.Silent, []string{"H-2"}) {
			t.Errorf("%s: episodes %d low battery %d silent %v", town, d.Offline, d.LowBattery, d.Silent)
		}
	}
	b := partOf(t, r, townB).Devs
	cellIs(t, "B online", b.Online, 1.0) // d4 only: d3 has no state
	// By day: 5 November, d1 offline 6 of 24 hours, d2 online all day.
	cellIs(t, "A online on 5 Nov", partOf(t, r, townA).Daily[4].Online, 42.0/48)
	cellIs(t, "A online on 1 Nov", partOf(t, r, townA).Daily[0].Online, 1.0) // d2 unknown yet
}

func checkVisits(t *testing.T, r Report) {
	tests := []struct {
		town                string
		group               policy.CareGroup
		kind                string
		homes, due          int
		done, rate, overdue any
		confirmed           any
	}{
		{townA, policy.GroupAlone, "visit", 1, 4, 4.0, 1.0, 0.0, 0.75},
		{townA, policy.GroupDisabled, "visit", 1, 4, 2.0, 0.5, 1.0, 0.5},
		{townA, policy.GroupDisabled, "round", 1, 1, 1.0, 1.0, 0.0, 1.0},
		{townB, policy.GroupAged, "visit", 1, 2, 0.0, 0.0, 1.0, NoData},
	}
	for _, tt := range tests {
		var row *VisitRow
		for _, v := range partOf(t, r, tt.town).Visits.Rows {
			if v.Group == tt.group && v.Kind == tt.kind {
				row = &v
			}
		}
		name := tt.town + "/" + string(tt.group) + "/" + tt.kind
		if row == nil {
			t.Errorf("%s: no row", name)
			continue
		}
		if row.Homes != tt.homes || row.Due != tt.due {
			t.Errorf("%s: homes %d due %d, want %d %d", name, row.Homes, row.Due, tt.homes, tt.due)
		}
		cellIs(t, name+" done", row.Done, tt.done)
		cellIs(t, name+" rate", row.Rate, tt.rate)
		cellIs(t, name+" overdue", row.Overdue, tt.overdue)
		cellIs(t, name+" confirmed", row.Confirmed, tt.confirmed)
	}
	if got := partOf(t, r, "").Visits.Overdue; !slices.Equal(got, []string{"H-2", "H-3"}) {
		t.Errorf("overdue homes %v", got)
	}
	cellIs(t, "A check-ins on 3 Nov", partOf(t, r, townA).Daily[2].Visits, 1.0)
}

func checkSMS(t *testing.T, r Report) {
	tests := []struct {
		town string
		want []string // 用途 | 已发 | 失败 | 其他 | 段数 | 费用
	}{
		{townA, []string{"警报 | 4 | 1 | 0 | 4 | ¥0.20", "探访提醒 | 3 | 1 | — | 4 | ¥0.20", "家属周报 | 1 | 0 | — | 2 | ¥0.10",
			"合计 | 8 | 2 | 0 | 10 | ¥0.50"}},
		{townB, []string{"警报 | 1 | 0 | 0 | 1 | ¥0.05", "探访提醒 | 2 | 0 | — | 2 | ¥0.10", "家属周报 | 1 | 1 | — | 1 | ¥0.05",
			"合计 | 4 | 1 | 0 | 4 | ¥0.20"}},
		{"", []string{"警报 | 5 | 1 | 0 | 5 | ¥0.25", "探访提醒 | 5 | 1 | — | 6 | ¥0.30", "家属周报 | 2 | 1 | — | 3 | ¥0.15",
			"合计 | 12 | 3 | 0 | 14 | ¥0.70"}},
	}
	for _, tt := range tests {
		p := partOf(t, r, tt.town)
		if got := rowsOf(p.smsTable()); !slices.Equal(got, tt.want) {
			t.Errorf("%s: sms\n got %q\nwant %q", tt.town, got, tt.want)
		}
		cellIs(t, tt.town+" total cost", p.SMS.Total().Cost, p.SMS.Total().Segments.V*0.05)
	}
}
