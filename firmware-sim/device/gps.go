package device

import (
	"math"
	"math/rand/v2"
	"time"

	"carebed/gateway/protocol"
)

// GPS is a pendant's satellite receiver. It tries for a fix every FixEvery (on a
// grid from the Unix epoch, so the fixes do not depend on when the device is
// ticked); an attempt finds the sky in nine of ten cases (drawn from the seed and
// the attempt's time), with an accuracy of 4 to 25 m, now and then 50 to 150 m.
type GPS struct {
	// Herd is where the wearer is.
	Herd Herd
	// FixEvery is how often the receiver tries for a fix (default 1 min).
	FixEvery time.Duration
}

// DefaultFixEvery is how often a receiver tries for a fix.
const DefaultFixEvery = time.Minute

// maxLookBack bounds how far back LastFix looks for a fix (protocol.MaxFixAge).
const maxLookBack = protocol.MaxFixAge

// Sample is one fix of the receiver, in true time.
type Sample struct {
	At   time.Time
	Pos  LatLon
	AccM float64
}

func (g GPS) every() time.Duration {
	if g.FixEvery <= 0 {
		return DefaultFixEvery
	}
	return g.FixEvery
}

// attempt is the receiver's try for a fix at at (a point of the grid).
func (g GPS) attempt(at time.Time) (Sample, bool) {
	r := rand.New(rand.NewPCG(g.Herd.Seed^0x677073, uint64(at.Unix())))
	if r.Float64() < 0.1 {
		return Sample{}, false // no sky view
	}
	acc := 4 + 21*r.Float64()
	if r.Float64() < 0.1 {
		acc = 50 + 100*r.Float64()
	}
	p := g.Herd.Where(at).Offset(acc/2*r.NormFloat64(), acc/2*r.NormFloat64())
	return Sample{At: at, Pos: LatLon{Lat: round6(p.Lat), Lon: round6(p.Lon)}, AccM: math.Round(acc)}, true
}

// LastFix returns the latest fix the receiver has at t: the last successful
// attempt at or before t, at most a week old.
func (g GPS) LastFix(t time.Time) (Sample, bool) {
	e := g.every()
	at := t.Truncate(e)
	for end := t.Add(-maxLookBack); !at.Before(end); at = at.Add(-e) {
		if s, ok := g.attempt(at); ok {
			return s, true
		}
	}
	return Sample{}, false
}

// Fresh returns the fix of the attempt just before t when that attempt found the
// sky: what a reading carries (a reading never repeats an old fix).
func (g GPS) Fresh(t time.Time) (Sample, bool) { return g.attempt(t.Truncate(g.every())) }

func round6(x float64) float64 { return math.Round(x*1e6) / 1e6 }

// fix turns a sample into the protocol's fix, fix_ts on the device clock.
func (f *Firmware) fix(s Sample) *protocol.Fix {
	return &protocol.Fix{Lat: s.Pos.Lat, Lon: s.Pos.Lon, AccM: s.AccM, TS: f.ts(s.At)}
}

// freshFix is the fix a reading taken at t carries: none without a receiver or
// without sky view at the last attempt.
func (f *Firmware) freshFix(t time.Time) *protocol.Fix {
	if f.gps == nil {
		return nil
	}
	if s, ok := f.gps.Fresh(t); ok {
		return f.fix(s)
	}
	return nil
}

// lastFix is the fix an SOS, a fall or a status made at t carries: the last the
// receiver has, however old (up to a week).
func (f *Firmware) lastFix(t time.Time) *protocol.Fix {
	if f.gps == nil {
		return nil
	}
	if s, ok := f.gps.LastFix(t); ok {
		return f.fix(s)
	}
	return nil
}

// Covered reports whether the device has mobile coverage at t: always, but for a
// herder's device away from its winter quarters (Herd.Covered).
func (f *Firmware) Covered(t time.Time) bool { return f.gps == nil || f.gps.Herd.Covered(t) }

// Herd returns the herd a herder's device moves with, and false for others.
func (f *Firmware) Herd() (Herd, bool) {
	if f.gps == nil {
		return Herd{}, false
	}
	return f.gps.Herd, true
}
