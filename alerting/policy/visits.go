package policy

import (
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// CareGroup is a care group of an elder (照护类别), the key of the visits schedule:
// the bed ledger's 照护类别 column names one or more of them. Visits are not alerts,
// but their schedule lives in the same configuration section, so the words that the
// section's keys use are defined here, beside it.
type CareGroup string

// The care groups of the visiting-care plan (探访关爱).
const (
	GroupAlone      CareGroup = "alone"             // 独居/留守: living alone or left behind
	GroupAged       CareGroup = "aged"              // 高龄: very old
	GroupDisabled   CareGroup = "disabled"          // 失能: unable to care for themselves
	GroupSevere     CareGroup = "severe_disability" // 重残: severely disabled
	GroupSubsidised CareGroup = "subsidised"        // 特困/低保: in extreme poverty or on minimum living allowance
)

var careGroups = []CareGroup{GroupAlone, GroupAged, GroupDisabled, GroupSevere, GroupSubsidised}

// careGroupNames are what people write for each group, in Chinese and English.
var careGroupNames = map[string]CareGroup{
	"独居/留守": GroupAlone, "独居": GroupAlone, "留守": GroupAlone, "空巢": GroupAlone, "alone": GroupAlone,
	"高龄": GroupAged, "aged": GroupAged,
	"失能": GroupDisabled, "半失能": GroupDisabled, "disabled": GroupDisabled,
	"重残": GroupSevere, "重度残疾": GroupSevere, "severe_disability": GroupSevere,
	"特困/低保": GroupSubsidised, "特困": GroupSubsidised, "低保": GroupSubsidised, "subsidised": GroupSubsidised,
}

// CareGroups lists every care group. The caller may modify the returned slice.
func CareGroups() []CareGroup { return slices.Clone(careGroups) }

// ParseCareGroup returns the group a name means: its Chinese name (独居/留守, 独居,
// 留守, 高龄, 失能, 重残, 特困/低保, 特困, 低保) or its key (alone, aged, ...).
func ParseCareGroup(name string) (CareGroup, bool) {
	g, ok := careGroupNames[strings.ToLower(strings.TrimSpace(name))]
	return g, ok
}

// Chinese returns the group's Chinese name.
func (g CareGroup) Chinese() string {
	switch g {
	case GroupAlone:
		return "独居/留守"
	case GroupAged:
		return "高龄"
	case GroupDisabled:
		return "失能"
	case GroupSevere:
		return "重残"
	case GroupSubsidised:
		return "特困/低保"
	}
	return string(g)
}

// Intervals are how often a home is visited and gets a doctor's round, in days; 0:
// no schedule.
type Intervals struct {
	VisitDays, RoundDays int
}

// Visits is the schedule of visits and rounds (探访关爱, 巡诊).
type Visits struct {
	// Groups are the intervals of each care group. A home in several groups gets the
	// shortest interval any of them sets; a home in none has no schedule unless the
	// ledger gives it its own.
	Groups map[CareGroup]Intervals
	// DueListAt is when, each morning in the policy's zone, visitors and doctors get
	// the list of homes due, and township clinics the list of homes overdue.
	DueListAt time.Duration
	// GraceDays is how long past its interval a home is due before it is overdue.
	GraceDays int
	// AlertDays: a home whose elder raised an alert in the last AlertDays days is put
	// first in the lists.
	AlertDays int
}

// IntervalsFor returns the intervals of a home in groups, with the ledger's own
// intervals (0: not given) taking precedence.
func (v Visits) IntervalsFor(groups []CareGroup, own Intervals) Intervals {
	out := own
	for _, g := range groups {
		gi := v.Groups[g]
		if own.VisitDays == 0 {
			out.VisitDays = shortest(out.VisitDays, gi.VisitDays)
		}
		if own.RoundDays == 0 {
			out.RoundDays = shortest(out.RoundDays, gi.RoundDays)
		}
	}
	return out
}

// shortest returns the smaller of two intervals, 0 meaning none.
func shortest(a, b int) int {
	switch {
	case a == 0:
		return b
	case b == 0:
		return a
	}
	return min(a, b)
}

// Visits returns the visits schedule.
func (p Policy) Visits() Visits {
	v := p.visits
	v.Groups = maps.Clone(v.Groups)
	return v
}

// defaultVisits: 独居/留守 and 失能 weekly, 高龄 every two weeks, others monthly;
// doctors' rounds monthly for 失能 and 重残; lists at 08:00; 2 days' grace; alerts
// of the last 3 days move a home up.
func defaultVisits() Visits {
	return Visits{Groups: map[CareGroup]Intervals{
		GroupAlone: {VisitDays: 7}, GroupAged: {VisitDays: 14}, GroupDisabled: {VisitDays: 7, RoundDays: 30},
		GroupSevere: {VisitDays: 30, RoundDays: 30}, GroupSubsidised: {VisitDays: 30},
	}, DueListAt: 8 * time.Hour, GraceDays: 2, AlertDays: 3}
}

// visitsConfig is the visits key of the alerting section.
type visitsConfig struct {
	DueListAt *clock                     `yaml:"due_list_at"`
	GraceDays *int                       `yaml:"grace_days"`
	AlertDays *int                       `yaml:"alert_days"`
	Groups    map[string]intervalsConfig `yaml:"groups"`
}

type intervalsConfig struct {
	VisitDays *int `yaml:"visit_days"`
	RoundDays *int `yaml:"round_days"`
}

// maxIntervalDays bounds an interval: a year.
const maxIntervalDays = 366

// buildVisits checks the visits block over the defaults.
func buildVisits(c visitsConfig) (Visits, error) {
	v := defaultVisits()
	const path = "alerting.visits"
	if c.DueListAt != nil {
		v.DueListAt = time.Duration(*c.DueListAt)
	}
	set(&v.GraceDays, c.GraceDays)
	set(&v.AlertDays, c.AlertDays)
	switch {
	case v.GraceDays < 0 || v.GraceDays > maxIntervalDays:
		return Visits{}, fmt.Errorf("%s.grace_days: %d is not 0 to %d", path, v.GraceDays, maxIntervalDays)
	case v.AlertDays < 0 || v.AlertDays > maxIntervalDays:
		return Visits{}, fmt.Errorf("%s.alert_days: %d is not 0 to %d", path, v.AlertDays, maxIntervalDays)
	}
	for _, key := range slices.Sorted(maps.Keys(c.Groups)) {
		g, ok := ParseCareGroup(key)
		if !ok || string(g) != key {
			return Visits{}, fmt.Errorf("%s.groups.%s: unknown care group; want alone (独居/留守), aged (高龄), "+
				"disabled (失能), severe_disability (重残) or subsidised (特困/低保)", path, key)
		}
		gi, gc := v.Groups[g], c.Groups[key]
		set(&gi.VisitDays, gc.VisitDays)
		set(&gi.RoundDays, gc.RoundDays)
		for _, f := range []struct {
			name string
			v    int
		}{{"visit_days", gi.VisitDays}, {"round_days", gi.RoundDays}} {
			if f.v < 0 || f.v > maxIntervalDays {
				return Visits{}, fmt.Errorf("%s.groups.%s.%s: %d is not 0 (none) to %d days", path, key, f.name, f.v, maxIntervalDays)
			}
		}
		v.Groups[g] = gi
	}
	return v, nil
}
