package device

import (
	"math"
	"math/rand/v2"
	"slices"
	"sync"
	"time"
)

// Korla is where routines take their dawn from unless told otherwise: the seat of
// Bayingolin prefecture (库尔勒), latitude and longitude in degrees.
var Korla = [2]float64{41.76, 86.15}

// Zone loads a time zone by name; Asia/Urumqi (Xinjiang time, UTC+6) is known even
// without the system's zone database.
func Zone(name string) (*time.Location, error) {
	loc, err := time.LoadLocation(name)
	if err != nil && name == "Asia/Urumqi" {
		return time.FixedZone("+06", 6*3600), nil
	}
	return loc, err
}

// Routine is an elder's days in their local time: up at dawn (not before 05:30),
// a nap after lunch on most days, in bed from between 21:30 and 23:00, and up to two
// trips to the bathroom at night. Each day is drawn from the seed, the elder and
// the date, so the same seed gives the same days whatever else happens.
type Routine struct {
	zone     *time.Location
	lat, lon float64
	seed     uint64

	mu   sync.Mutex
	days map[int64]Day
}

// Day is one day of a routine.
type Day struct {
	Wake time.Time
	// NapFrom and NapTo bound the nap after lunch; zero on a day without one.
	NapFrom, NapTo time.Time
	// Bed is when the elder goes to bed for the night.
	Bed time.Time
	// Trips are the times out of bed during the night that starts at Bed.
	Trips []Span
}

// Span is a stretch of time.
type Span struct{ From, To time.Time }

// Contains reports whether t is in [From, To).
func (s Span) Contains(t time.Time) bool { return !t.Before(s.From) && t.Before(s.To) }

// NewRoutine returns the routine of elder (a home id will do) in zone, with dawn
// at Korla.
func NewRoutine(seed uint64, elder string, zone *time.Location) *Routine {
	return &Routine{zone: zone, lat: Korla[0], lon: Korla[1], seed: seed ^ hash(elder), days: map[int64]Day{}}
}

// At reports whether the elder is in bed at t, and whether asleep (at night or
// napping).
func (r *Routine) At(t time.Time) (inBed, asleep bool) {
	today := r.Day(t)
	switch {
	case t.Before(today.Wake): // the night that began yesterday
		return !anyContains(r.Day(t.AddDate(0, 0, -1)).Trips, t), true
	case !t.Before(today.Bed):
		return !anyContains(today.Trips, t), true
	}
	nap := Span{today.NapFrom, today.NapTo}
	return nap.Contains(t), nap.Contains(t)
}

// Awake reports whether the elder is out of bed at t.
func (r *Routine) Awake(t time.Time) bool {
	in, _ := r.At(t)
	return !in
}

func anyContains(spans []Span, t time.Time) bool {
	for _, s := range spans {
		if s.Contains(t) {
			return true
		}
	}
	return false
}

// Day returns the day of t's local date.
func (r *Routine) Day(t time.Time) Day {
	y, m, d := t.In(r.zone).Date()
	key := time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Unix() / 86400
	r.mu.Lock()
	defer r.mu.Unlock()
	day, ok := r.days[key]
	if !ok {
		day = r.draw(time.Date(y, m, d, 0, 0, 0, 0, r.zone), uint64(key))
		r.days[key] = day
	}
	return day
}

// draw makes the day starting at midnight.
func (r *Routine) draw(midnight time.Time, key uint64) Day {
	rng := rand.New(rand.NewPCG(r.seed, key))
	minutes := func(lo, hi float64) time.Duration {
		return time.Duration((lo + (hi-lo)*rng.Float64()) * float64(time.Minute))
	}
	wake := later(civilDawn(midnight, r.lat, r.lon), midnight.Add(5*time.Hour+30*time.Minute)).Add(minutes(-10, 40))
	var day Day
	day.Wake = wake
	if rng.Float64() < 0.75 {
		day.NapFrom = midnight.Add(13*time.Hour + 30*time.Minute + minutes(0, 60))
		day.NapTo = day.NapFrom.Add(minutes(40, 100))
	}
	day.Bed = midnight.Add(21*time.Hour + 30*time.Minute + minutes(0, 90))
	day.Trips = trips(rng, day.Bed, midnight.Add(29*time.Hour))
	return day
}

// trips draws none, one or two bathroom trips between an hour after bed and last.
func trips(rng *rand.Rand, bed, last time.Time) []Span {
	n := 0
	switch x := rng.Float64(); {
	case x >= 0.8:
		n = 2
	case x >= 0.3:
		n = 1
	}
	from := bed.Add(time.Hour)
	var out []Span
	for range n {
		start := from.Add(time.Duration(rng.Float64() * float64(last.Sub(from))))
		out = append(out, Span{start, start.Add(time.Duration((4 + 8*rng.Float64()) * float64(time.Minute)))})
	}
	slices.SortFunc(out, func(a, b Span) int { return a.From.Compare(b.From) })
	if len(out) == 2 && out[1].From.Before(out[0].To) {
		out = out[:1]
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// civilDawn is when the sun is 6° below the horizon in the morning of the date of
// midnight, at latitude lat and longitude lon (a few minutes' accuracy).
func civilDawn(midnight time.Time, lat, lon float64) time.Time {
	rad := math.Pi / 180
	decl := -23.44 * math.Cos(2*math.Pi/365*float64(midnight.YearDay()+10))
	cosH := (math.Sin(-6*rad) - math.Sin(lat*rad)*math.Sin(decl*rad)) / (math.Cos(lat*rad) * math.Cos(decl*rad))
	h := math.Acos(max(-1, min(1, cosH))) / rad
	noonUTC := 12 - lon/15
	y, m, d := midnight.Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC).Add(time.Duration((noonUTC - h/15) * float64(time.Hour)))
}
