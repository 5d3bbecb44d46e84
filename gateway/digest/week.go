package digest

import (
	"slices"
	"time"

	"carebed/alerting"
	"carebed/alerting/policy"
	"carebed/gateway/visits"
)

// Reading is one occupancy reading of a bed sensor: at its time, someone was in bed
// or not.
type Reading struct {
	At       time.Time
	Occupied bool
}

// The nights, as the digest reckons them in the policy's zone: a night runs from
// NightStart on one day to NightEnd on the next; the elder gets up (rising) at the
// first time after RiseFrom that the bed is left and stays empty for RiseEmpty.
const (
	NightStart = 20 * time.Hour
	NightEnd   = 10 * time.Hour
	RiseFrom   = 4 * time.Hour
	RiseEmpty  = 30 * time.Minute
	// MaxGap is the longest gap between two readings that still counts as measured
	// (a bed sensor reports every minute); a longer gap is missing data.
	MaxGap = 15 * time.Minute
	// MinCover is the share of a night that readings must cover for the night to
	// count as measured.
	MinCover = 0.5
	// MinNights is how many measured nights the sleep figures need; fewer, and the
	// digest says the data is thin instead.
	MinNights = 3
)

// Night is what the bed sensor showed of one night.
type Night struct {
	// Start is the night's start (NightStart on its first day).
	Start time.Time
	// Measured: the readings covered at least MinCover of the night.
	Measured bool
	// InBed is the time the bed was occupied between measured readings.
	InBed time.Duration
	// Rose is when the elder got up; zero when no rising was seen.
	Rose time.Time
}

// Week is what one digest reports about one home.
type Week struct {
	// Elder is how the digest names the elder (the ledger's name, else 您的家人).
	Elder string
	// From and To bound the week: the seven days before the digest's day.
	From, To time.Time
	// Nights are the seven nights ending on the week's mornings.
	Nights []Night
	// BedExits counts the bed_exit events in the policy's night window.
	BedExits int
	// Visits are the week's visits and rounds, oldest first.
	Visits []visits.Visit
	// Alerts are the week's alerts of the home, oldest first (cancelled ones left out).
	Alerts []alerting.Alert
	// Loc is the zone days and times are written in.
	Loc *time.Location
}

// MeasuredNights counts the nights with enough readings.
func (w Week) MeasuredNights() int {
	n := 0
	for _, nt := range w.Nights {
		if nt.Measured {
			n++
		}
	}
	return n
}

// weekBounds are the seven days before the day of t (in loc): [day-7 00:00, day 00:00).
func weekBounds(t time.Time, loc *time.Location) (from, to time.Time) {
	y, m, d := t.In(loc).Date()
	to = time.Date(y, m, d, 0, 0, 0, 0, loc)
	return to.AddDate(0, 0, -7), to
}

// nightStarts are the starts of the seven nights that end on the mornings of the week
// [from, to): the evenings of from-1 … to-2.
func nightStarts(from time.Time) []time.Time {
	out := make([]time.Time, 7)
	for i := range out {
		y, m, d := from.AddDate(0, 0, i-1).Date()
		out[i] = time.Date(y, m, d, 0, 0, 0, 0, from.Location()).Add(NightStart)
	}
	return out
}

// nightEnd is the end of the night that starts at start.
func nightEnd(start time.Time) time.Time {
	y, m, d := start.Date()
	return time.Date(y, m, d+1, 0, 0, 0, 0, start.Location()).Add(NightEnd)
}

// nights computes each night from the readings (in time order) of one bed sensor.
func nights(starts []time.Time, rs []Reading) []Night {
	out := make([]Night, len(starts))
	for i, s := range starts {
		out[i] = night(s, nightEnd(s), rs)
	}
	return out
}

// night computes one night [start, end) from the readings.
func night(start, end time.Time, rs []Reading) Night {
	n := Night{Start: start}
	lo, _ := slices.BinarySearchFunc(rs, start, func(r Reading, t time.Time) int { return r.At.Compare(t) })
	hi, _ := slices.BinarySearchFunc(rs, end, func(r Reading, t time.Time) int { return r.At.Compare(t) })
	in := rs[lo:hi]
	var covered time.Duration
	for i := 0; i+1 < len(in); i++ {
		gap := in[i+1].At.Sub(in[i].At)
		if gap > MaxGap {
			continue
		}
		covered += gap
		if in[i].Occupied {
			n.InBed += gap
		}
	}
	n.Measured = covered.Seconds() >= MinCover*end.Sub(start).Seconds()
	if n.Measured {
		n.Rose = rising(start, end, in)
	}
	return n
}

// rising is the first time after RiseFrom (on the night's morning) that the bed was
// left (the first empty reading after an occupied one) and stayed empty for RiseEmpty
// with readings to show it; zero when there is none.
func rising(start, end time.Time, in []Reading) time.Time {
	y, m, d := end.Date()
	from := time.Date(y, m, d, 0, 0, 0, 0, end.Location()).Add(RiseFrom)
	for i := 1; i < len(in); i++ {
		r := in[i]
		if r.Occupied || !in[i-1].Occupied || r.At.Before(from) {
			continue
		}
		if stayedEmpty(in[i:], r.At) {
			return r.At
		}
	}
	return time.Time{}
}

// stayedEmpty reports whether the readings from left on show an empty bed, without
// a gap over MaxGap, until RiseEmpty after left.
func stayedEmpty(rs []Reading, left time.Time) bool {
	last := left
	for _, r := range rs {
		if r.At.Sub(last) > MaxGap {
			return false
		}
		if !r.At.Before(left.Add(RiseEmpty)) {
			return true
		}
		if r.Occupied {
			return false
		}
		last = r.At
	}
	return false
}

// AverageInBed is the mean time in bed of the measured nights (0 when none).
func (w Week) AverageInBed() time.Duration {
	var sum time.Duration
	n := 0
	for _, nt := range w.Nights {
		if nt.Measured {
			sum += nt.InBed
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / time.Duration(n)
}

// UsualRising is the median time of day (in Loc) the elder got up on the measured
// nights with a rising, and whether at least MinNights such nights were seen.
func (w Week) UsualRising() (time.Duration, bool) {
	var ts []time.Duration
	for _, nt := range w.Nights {
		if nt.Measured && !nt.Rose.IsZero() {
			l := nt.Rose.In(w.Loc)
			ts = append(ts, time.Duration(l.Hour())*time.Hour+time.Duration(l.Minute())*time.Minute)
		}
	}
	if len(ts) < MinNights {
		return 0, false
	}
	slices.Sort(ts)
	if len(ts)%2 == 1 {
		return ts[len(ts)/2], true
	}
	return (ts[len(ts)/2-1] + ts[len(ts)/2]) / 2, true
}

// countBedExits counts the exits that fall in the night window.
func countBedExits(exits []time.Time, night policy.Window) int {
	n := 0
	for _, t := range exits {
		if night.Contains(t) {
			n++
		}
	}
	return n
}
