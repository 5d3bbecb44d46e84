package device

import (
	"math"
	"math/rand/v2"
	"time"
)

// LatLon is a WGS-84 position in degrees.
type LatLon struct{ Lat, Lon float64 }

// earthRadiusM is the mean Earth radius, in metres.
const earthRadiusM = 6_371_000

// DistanceM is the great-circle distance from a to b in metres (haversine).
func DistanceM(a, b LatLon) float64 {
	la1, la2 := a.Lat*math.Pi/180, b.Lat*math.Pi/180
	dla, dlo := la2-la1, (b.Lon-a.Lon)*math.Pi/180
	h := math.Sin(dla/2)*math.Sin(dla/2) + math.Cos(la1)*math.Cos(la2)*math.Sin(dlo/2)*math.Sin(dlo/2)
	return 2 * earthRadiusM * math.Asin(math.Sqrt(h))
}

// Offset returns p moved north by dn and east by de metres (flat-earth: fine over
// the tens of kilometres a herd moves).
func (p LatLon) Offset(dn, de float64) LatLon {
	return LatLon{Lat: p.Lat + dn/earthRadiusM*180/math.Pi,
		Lon: p.Lon + de/(earthRadiusM*math.Cos(p.Lat*math.Pi/180))*180/math.Pi}
}

// Seasons of a herd.
const (
	SeasonWinter = "winter" // at the winter quarters, near the home village
	SeasonSummer = "summer" // on the summer pasture
)

// Herd is where a herding household is: the winter quarters by its home village
// from autumn to spring, the summer pasture tens of kilometres away from early
// summer, and on the way between them (the trek, a few days each way). Where is a
// pure function of the time: the same Herd gives the same track whatever the tick.
type Herd struct {
	// Winter is the winter quarters (the home's coordinates in the ledger); Summer the
	// summer pasture (e.g. Bayanbulak grassland, about 42.9 N 84.1 E).
	Winter, Summer LatLon
	// Up and Down are the days of the year (local time) the herd sets off to the
	// summer pasture and back (defaults 1 June, day 152, and 20 September, day 263);
	// each trek takes Trek (default 3 days).
	Up, Down int
	Trek     time.Duration
	// Season, when set, keeps the herd in one place whatever the date (a scenario
	// that wants the elder on the pasture in December).
	Season string
	// Zone is the household's local time, for the calendar (default UTC+6).
	Zone *time.Location
	// NoGaps gives the device coverage everywhere (a demo scripts its gaps with
	// offline events instead).
	NoGaps bool
	// Seed varies the grazing wander and the coverage gaps.
	Seed uint64
}

// Defaults of a Herd.
const (
	DefaultUpDay   = 152
	DefaultDownDay = 263
	DefaultTrek    = 72 * time.Hour
	// grazeSummerM and grazeWinterM are how far the herd wanders from its camp.
	grazeSummerM = 3000
	grazeWinterM = 300
)

func (h *Herd) defaults() {
	if h.Up == 0 {
		h.Up = DefaultUpDay
	}
	if h.Down == 0 {
		h.Down = DefaultDownDay
	}
	if h.Trek <= 0 {
		h.Trek = DefaultTrek
	}
	if h.Zone == nil {
		h.Zone = time.FixedZone("UTC+6", 6*3600)
	}
}

// Camp returns where the herd's camp is at t (winter quarters, summer pasture, or
// a point on the way) and the season ("winter", "summer", or "trek").
func (h Herd) Camp(t time.Time) (LatLon, string) {
	h.defaults()
	switch h.Season {
	case SeasonSummer:
		return h.Summer, SeasonSummer
	case SeasonWinter:
		return h.Winter, SeasonWinter
	}
	y := t.In(h.Zone).Year()
	up := time.Date(y, 1, h.Up, 6, 0, 0, 0, h.Zone)
	down := time.Date(y, 1, h.Down, 6, 0, 0, 0, h.Zone)
	switch {
	case t.Before(up) || !t.Before(down.Add(h.Trek)):
		return h.Winter, SeasonWinter
	case t.Before(up.Add(h.Trek)):
		return between(h.Winter, h.Summer, float64(t.Sub(up))/float64(h.Trek)), "trek"
	case t.Before(down):
		return h.Summer, SeasonSummer
	}
	return between(h.Summer, h.Winter, float64(t.Sub(down))/float64(h.Trek)), "trek"
}

func between(a, b LatLon, f float64) LatLon {
	return LatLon{Lat: a.Lat + (b.Lat-a.Lat)*f, Lon: a.Lon + (b.Lon-a.Lon)*f}
}

// Where returns where the elder is at t: around the camp, wandering with the herd
// (up to 3 km on the pasture, 300 m at the winter quarters) along a smooth path.
func (h Herd) Where(t time.Time) LatLon {
	camp, season := h.Camp(t)
	r := float64(grazeWinterM)
	if season != SeasonWinter {
		r = grazeSummerM
	}
	ph := rand.New(rand.NewPCG(h.Seed, 0x6865726421))
	p1, p2 := ph.Float64()*2*math.Pi, ph.Float64()*2*math.Pi
	hours := float64(t.Unix()) / 3600
	return camp.Offset(r*math.Sin(2*math.Pi*hours/7+p1), r*math.Cos(2*math.Pi*hours/11+p2))
}

// Away reports whether the herd is more than 5 km from its winter quarters at t.
func (h Herd) Away(t time.Time) bool { return DistanceM(h.Winter, h.Where(t)) > 5000 }

// Coverage gaps away from home: each gapSlot of time (from the Unix epoch) holds
// one gap of gapMin to gapMax at a place in it drawn from the seed and the slot.
const (
	gapSlot = 6 * time.Hour
	gapMin  = time.Hour
	gapMax  = 4 * time.Hour
)

// Covered reports whether the elder's device has mobile coverage at t: always
// at the winter quarters, and away from them (on the pasture, on the trek) except
// for one gap of one to four hours in every six (valleys, no mast in sight).
func (h Herd) Covered(t time.Time) bool {
	if h.NoGaps || !h.Away(t) {
		return true
	}
	slot := t.Unix() / int64(gapSlot/time.Second)
	r := rand.New(rand.NewPCG(h.Seed, uint64(slot)))
	length := gapMin + time.Duration(r.Int64N(int64(gapMax-gapMin)))
	start := time.Unix(slot*int64(gapSlot/time.Second), 0).Add(time.Duration(r.Int64N(int64(gapSlot - length))))
	return t.Before(start) || !t.Before(start.Add(length))
}
