package policy

import (
	"strings"
	"testing"
	"time"
)

func TestVisitsDefaultsAndOverrides(t *testing.T) {
	p, err := Parse([]byte(`
visits:
  due_list_at: "07:30"
  grace_days: 3
  groups:
    aged: {visit_days: 10}
    subsidised: {round_days: 60}
`))
	if err != nil {
		t.Fatal(err)
	}
	v := p.Visits()
	if v.DueListAt != 7*time.Hour+30*time.Minute || v.GraceDays != 3 || v.AlertDays != 3 {
		t.Errorf("visits = %+v", v)
	}
	if got := v.Groups[GroupAged]; got != (Intervals{VisitDays: 10}) {
		t.Errorf("aged = %+v, want visit_days 10", got)
	}
	if got := v.Groups[GroupSubsidised]; got != (Intervals{VisitDays: 30, RoundDays: 60}) {
		t.Errorf("subsidised = %+v, want the default visit_days kept", got)
	}
	tests := []struct {
		groups []CareGroup
		own    Intervals
		want   Intervals
	}{
		{nil, Intervals{}, Intervals{}},
		{[]CareGroup{GroupAged}, Intervals{}, Intervals{VisitDays: 10}},
		{[]CareGroup{GroupAged, GroupDisabled}, Intervals{}, Intervals{VisitDays: 7, RoundDays: 30}},
		{[]CareGroup{GroupDisabled}, Intervals{VisitDays: 3}, Intervals{VisitDays: 3, RoundDays: 30}},
		{nil, Intervals{RoundDays: 14}, Intervals{RoundDays: 14}},
	}
	for _, tt := range tests {
		if got := v.IntervalsFor(tt.groups, tt.own); got != tt.want {
			t.Errorf("IntervalsFor(%v, %+v) = %+v, want %+v", tt.groups, tt.own, got, tt.want)
		}
	}
	if d := Default().Visits(); d.Groups[GroupAlone].VisitDays != 7 || d.Groups[GroupSevere].RoundDays != 30 || d.DueListAt != 8*time.Hour {
		t.Errorf("default visits = %+v", d)
	}
}

func TestVisitsErrorsNameTheKey(t *testing.T) {
	tests := []struct{ yml, key string }{
		{"visits:\n  groups:\n    elderly: {visit_days: 7}\n", "alerting.visits.groups.elderly"},
		{"visits:\n  groups:\n    aged: {visit_days: -1}\n", "alerting.visits.groups.aged.visit_days"},
		{"visits:\n  groups:\n    aged: {round_days: 400}\n", "alerting.visits.groups.aged.round_days"},
		{"visits:\n  grace_days: -2\n", "alerting.visits.grace_days"},
		{"visits:\n  due_list_at: \"25:00\"\n", "alerting.visits.due_list_at"},
		{"visits:\n  groups:\n    aged: {visits: 7}\n", "alerting.visits.groups.aged"},
	}
	for _, tt := range tests {
		_, err := Parse([]byte(tt.yml))
		if err == nil || !strings.Contains(err.Error(), tt.key) {
			t.Errorf("Parse(%q) = %v, want an error naming %s", tt.yml, err, tt.key)
		}
	}
}
