package report

import (
	"slices"
	"time"

	"carebed/alerting/policy"
)

// VisitRow is one care group's visits (Kind "visit", 探访) or rounds ("round", 巡诊).
type VisitRow struct {
	// Group is the care group; "" for homes in none, on the ledger's own interval.
	Group policy.CareGroup
	Kind  string
	// Homes on the schedule; Due is the visits they were due in the month (each
	// home: the days covered divided by its interval, rounded down, at least 1).
	Homes, Due int
	// Done counts the check-ins of the month; Rate is Done/Due; Overdue the homes
	// past interval and grace at the month's end; Confirmed the share of Done the
	// home's sensors confirmed.
	Done, Overdue   Cell
	Rate, Confirmed Cell
}

// VisitFigures is the visits and rounds section of a part.
type VisitFigures struct {
	Rows []VisitRow
	// Overdue lists the homes overdue for a visit or a round at the month's end.
	Overdue []string
	// DailyDone counts the visits and rounds of each day.
	DailyDone []Cell
}

var visitKinds = []string{"visit", "round"}

func visitFigures(hs []Home, infl influxData, sch policy.Visits, m Month) VisitFigures {
	f := VisitFigures{DailyDone: make([]Cell, m.Days())}
	days := int(m.Until.Sub(m.Start) / (24 * time.Hour))
	type acc struct{ homes, due, done, confirmed, overdue int }
	rows := map[policy.CareGroup]map[string]*acc{}
	for _, h := range hs {
		iv := sch.IntervalsFor(h.Groups, h.Own)
		groups := h.Groups
		if len(groups) == 0 {
			groups = []policy.CareGroup{""}
		}
		for _, kind := range visitKinds {
			every := iv.VisitDays
			if kind == "round" {
				every = iv.RoundDays
			}
			if every == 0 {
				continue
			}
			done, confirmed := countCheckins(infl.checkins[h.Place.Home], kind)
			last, seen := infl.last[h.Place.Home][kind]
			late := !seen || m.Until.Sub(last) > time.Duration(every+sch.GraceDays)*24*time.Hour
			if late && !slices.Contains(f.Overdue, h.Place.Home) {
				f.Overdue = append(f.Overdue, h.Place.Home)
			}
			for _, g := range groups {
				if rows[g] == nil {
					rows[g] = map[string]*acc{}
				}
				a := rows[g][kind]
				if a == nil {
					a = &acc{}
					rows[g][kind] = a
				}
				a.homes++
				a.due += max(1, days/every)
				a.done += done
				a.confirmed += confirmed
				if late {
					a.overdue++
				}
			}
		}
	}
	for _, g := range append(policy.CareGroups(), "") {
		for _, kind := range visitKinds {
			if a := rows[g][kind]; a != nil {
				f.Rows = append(f.Rows, visitRow(g, kind, a.homes, a.due, a.done, a.confirmed, a.overdue, infl.err))
			}
		}
	}
	for i := range f.DailyDone {
		f.DailyDone[i] = Gone(Count, InfluxDown)
	}
	if infl.err != nil {
		f.Overdue = nil
		return f
	}
	for i := range f.DailyDone {
		f.DailyDone[i] = Int(0)
	}
	for _, h := range hs {
		for _, c := range infl.checkins[h.Place.Home] {
			if !c.at.Before(m.Start) && c.at.Before(m.Until) {
				f.DailyDone[dayIndex(c.at, m, m.Start.Location())].V++
			}
		}
	}
	return f
}

func countCheckins(cs []checkin, kind string) (done, confirmed int) {
	for _, c := range cs {
		if c.kind == kind {
			done++
			if c.confirmed {
				confirmed++
			}
		}
	}
	return done, confirmed
}

func visitRow(g policy.CareGroup, kind string, homes, due, done, confirmed, overdue int, err error) VisitRow {
	r := VisitRow{Group: g, Kind: kind, Homes: homes, Due: due}
	if err != nil {
		r.Done, r.Overdue = Gone(Count, InfluxDown), Gone(Count, InfluxDown)
		r.Rate, r.Confirmed = Gone(Share, InfluxDown), Gone(Share, InfluxDown)
		return r
	}
	r.Done, r.Overdue = Int(done), Int(overdue)
	r.Rate = Num(Share, float64(done)/float64(due))
	r.Confirmed = Gone(Share, NoData)
	if done > 0 {
		r.Confirmed = Num(Share, float64(confirmed)/float64(done))
	}
	return r
}
