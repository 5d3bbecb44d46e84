package report

import (
	"time"

	"carebed/alerting"
)

// SilentAfter is how long a device must stay offline for its home to be listed as
// silent (more than a week).
const SilentAfter = 7 * 24 * time.Hour

// NoLowBattery is written for days-until-changed of a home without low battery.
const NoLowBattery = "无低电量"

// HomeDevices is one home's line of the devices section.
type HomeDevices struct {
	Home, Village string
	// Online is the share of its devices' known time they were online.
	Online Cell
	// Offline counts offline episodes (starting in the month, or going on at its
	// start); OfflineTime is their time within the month, Longest the longest.
	Offline     int
	OfflineTime Cell
	Longest     Cell
	// LowBattery counts low-battery alerts raised in the month; DaysToChange is
	// the mean days from the alert to the battery being changed (the alert
	// resolving itself), NotChanged (未更换) when none was.
	LowBattery   int
	DaysToChange Cell
	// Silent: a device of the home stayed offline longer than SilentAfter.
	Silent bool
}

// DeviceFigures is the devices section of a part.
type DeviceFigures struct {
	Homes        []HomeDevices
	Online       Cell
	Offline      int
	OfflineTime  Cell
	LowBattery   int
	DaysToChange Cell
	// Silent lists the homes with a device silent longer than SilentAfter.
	Silent []string
	// DailyOnline is the share of known device time online, day by day.
	DailyOnline []Cell
}

// timeline adds up one device's month from its online changes.
type timeline struct {
	online, known time.Duration
	dayOn, dayAll []time.Duration
	episodes      int
	offline       time.Duration
	longest       time.Duration
	silent        bool
}

// deviceTimeline walks a device's changes (oldest first) over the month. The state
// before the first change is unknown: that time is not counted at all.
func deviceTimeline(cs []change, m Month, loc *time.Location) timeline {
	days := m.Days()
	tl := timeline{dayOn: make([]time.Duration, days), dayAll: make([]time.Duration, days)}
	known, online := false, false
	var since, downSince time.Time // since: start of the current state within the month
	flush := func(to time.Time) {
		if !known || !to.After(since) {
			return
		}
		tl.add(since, to, online, m, loc)
		if !online {
			d := to.Sub(since)
			tl.episodes++
			tl.offline += d
			tl.longest = max(tl.longest, d)
			tl.silent = tl.silent || to.Sub(downSince) > SilentAfter
		}
	}
	for _, c := range cs {
		at := maxTime(c.at, m.Start)
		if at.After(m.Until) || at.Equal(m.Until) {
			break
		}
		if known && c.online == online {
			continue
		}
		flush(at)
		if !c.online {
			downSince = c.at
		}
		known, online, since = true, c.online, at
	}
	flush(m.Until)
	return tl
}

// add counts [from, to) as online or not, in total and by day.
func (tl *timeline) add(from, to time.Time, online bool, m Month, loc *time.Location) {
	for from.Before(to) {
		day := dayIndex(from, m, loc)
		end := minTime(to, m.Start.AddDate(0, 0, day+1))
		d := end.Sub(from)
		tl.known += d
		tl.dayAll[day] += d
		if online {
			tl.online += d
			tl.dayOn[day] += d
		}
		from = end
	}
}

// dayIndex is the day of the month (0-based) of t in loc.
func dayIndex(t time.Time, m Month, loc *time.Location) int {
	return t.In(loc).Day() - 1
}

func deviceFigures(hs []Home, ds []detail, infl influxData, m Month, loc *time.Location) DeviceFigures {
	f := DeviceFigures{DailyOnline: make([]Cell, m.Days())}
	var all timeline
	all.dayOn, all.dayAll = make([]time.Duration, m.Days()), make([]time.Duration, m.Days())
	var changed []float64
	for _, h := range hs {
		hd := HomeDevices{Home: h.Place.Home, Village: h.Place.Village}
		var ht timeline
		for _, dev := range h.Devices {
			tl := deviceTimeline(infl.states[dev], m, loc)
			ht.online, ht.known = ht.online+tl.online, ht.known+tl.known
			ht.episodes, ht.offline = ht.episodes+tl.episodes, ht.offline+tl.offline
			ht.longest, ht.silent = max(ht.longest, tl.longest), ht.silent || tl.silent
			for i := range tl.dayOn {
				all.dayOn[i] += tl.dayOn[i]
				all.dayAll[i] += tl.dayAll[i]
			}
		}
		hd.Online, hd.Offline, hd.Silent = share(ht.online, ht.known, infl.err), ht.episodes, ht.silent
		hd.OfflineTime, hd.Longest = durOr(ht.offline, ht.known, infl.err), durOr(ht.longest, ht.known, infl.err)
		hd.LowBattery, hd.DaysToChange = lowBattery(h.Place.Home, ds, &changed)
		all.online, all.known = all.online+ht.online, all.known+ht.known
		all.offline += ht.offline
		f.Offline += ht.episodes
		f.LowBattery += hd.LowBattery
		if hd.Silent {
			f.Silent = append(f.Silent, hd.Home)
		}
		f.Homes = append(f.Homes, hd)
	}
	f.Online, f.OfflineTime = share(all.online, all.known, infl.err), durOr(all.offline, all.known, infl.err)
	f.DaysToChange = meanDays(changed, f.LowBattery)
	for i := range f.DailyOnline {
		f.DailyOnline[i] = share(all.dayOn[i], all.dayAll[i], infl.err)
	}
	return f
}

// lowBattery counts the home's low-battery alerts and the mean days until the
// battery was changed; the days of each changed one are appended to all.
func lowBattery(home string, ds []detail, all *[]float64) (int, Cell) {
	n := 0
	var days []float64
	for _, d := range ds {
		if d.Place.Home != home || d.Kind != alerting.KindLowBattery {
			continue
		}
		n++
		if d.State == alerting.StateResolved && d.Outcome == alerting.OutcomeAutoResolved {
			days = append(days, d.ResolvedAt.Sub(d.OpenedAt).Hours()/24)
		}
	}
	*all = append(*all, days...)
	return n, meanDays(days, n)
}

func meanDays(days []float64, episodes int) Cell {
	switch {
	case episodes == 0:
		return Gone(Days, NoLowBattery)
	case len(days) == 0:
		return Gone(Days, NotChanged)
	}
	sum := 0.0
	for _, d := range days {
		sum += d
	}
	return Num(Days, sum/float64(len(days)))
}

// share is part/whole, or why there is none.
func share(part, whole time.Duration, err error) Cell {
	switch {
	case err != nil:
		return Gone(Share, InfluxDown)
	case whole <= 0:
		return Gone(Share, NoData)
	}
	return Num(Share, float64(part)/float64(whole))
}

// durOr is d, or why there is none (nothing known of the devices).
func durOr(d, known time.Duration, err error) Cell {
	switch {
	case err != nil:
		return Gone(Duration, InfluxDown)
	case known <= 0:
		return Gone(Duration, NoData)
	}
	return Dur(d)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
