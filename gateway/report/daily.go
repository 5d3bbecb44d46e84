package report

import "time"

// Day is one day of the month's charts.
type Day struct {
	Date time.Time
	// Alerts counts the alerts raised that day; Take is the median time to take
	// those of them taken.
	Alerts Cell
	Take   Cell
	// Online is the share of known device time online; Visits counts the visits
	// and rounds.
	Online Cell
	Visits Cell
}

// NotYet marks a day of a partial month that has not come.
const NotYet = "未到"

func daily(m Month, ds []detail, devs DeviceFigures, vs VisitFigures, loc *time.Location) []Day {
	out := make([]Day, m.Days())
	takes := make([][]time.Duration, m.Days())
	counts := make([]int, m.Days())
	for _, d := range ds {
		i := dayIndex(d.OpenedAt, m, loc)
		counts[i]++
		if t, ok := takeTime(d.Alert); ok {
			takes[i] = append(takes[i], t)
		}
	}
	for i := range out {
		date := m.Start.AddDate(0, 0, i)
		out[i] = Day{Date: date, Alerts: Int(counts[i]), Take: rank(takes[i], 0.5),
			Online: devs.DailyOnline[i], Visits: vs.DailyDone[i]}
		if !date.Before(m.Until) {
			out[i] = Day{Date: date, Alerts: Gone(Count, NotYet), Take: Gone(Duration, NotYet),
				Online: Gone(Share, NotYet), Visits: Gone(Count, NotYet)}
		}
	}
	return out
}
