package falldetect

import (
	"math"
	"math/rand/v2"
)

// Gravity directions in the sensor frame as SisFall's waist-worn ADXL345
// reads them: standing, y reads -1 g.
var (
	upright = [3]float64{0, -1, 0}
	prone   = [3]float64{0, 0, 1}
	supine  = [3]float64{0, 0, -1}
	leftUp  = [3]float64{1, 0, 0}
)

// kindSpec describes one synthetic activity: its SisFall-style code and generator.
type kindSpec struct {
	name, code string
	fall       bool
	gen        func(b *builder)
}

// kinds lists the synthetic activities; codes follow SisFall (D = activity, F = fall).
var kinds = []kindSpec{
	{"walk", "D01", false, genWalk},
	{"sit-fast", "D02", false, genSitFast},
	{"lie-bed", "D03", false, genLieBed},
	{"jump", "D04", false, genJump},
	{"stumble", "D05", false, genStumble},
	{"pick-floor", "D06", false, genPickFloor},
	{"fall-forward", "F01", true, genFallDir(prone)},
	{"fall-backward", "F02", true, genFallDir(supine)},
	{"fall-lateral", "F03", true, genFallDir(leftUp)},
	{"fall-from-bed", "F04", true, genFallFromBed},
	{"fall-recovery", "F05", true, genFallRecovery},
	{"fall-slow", "F06", true, genFallSlow},
}

// Kinds returns the activity names Synthesize accepts; those starting with
// "fall-" are falls.
func Kinds() []string {
	out := make([]string, len(kinds))
	for i, k := range kinds {
		out[i] = k.name
	}
	return out
}

// traceSec is the length of a synthetic trace: long enough for the detector
// to judge the posture 3 s after the event.
const traceSec = 8

// Synthesize returns a 200 Hz trace (traceSec long, in g) of the named activity
// (see Kinds), varied by seed: the same kind and seed give the same trace.
// An unknown kind gives a trace with no samples.
func Synthesize(kind string, seed int64) Trace {
	b := newBuilder(seed)
	for _, k := range kinds {
		if k.name == kind {
			k.gen(b)
		}
	}
	return Trace{Hz: SisFallHz, Samples: b.out}
}

// builder appends synthetic samples.
type builder struct {
	rng *rand.Rand
	out [][3]float64
}

// newBuilder returns an empty builder whose randomness comes from seed.
func newBuilder(seed int64) *builder {
	return &builder{rng: rand.New(rand.NewPCG(uint64(seed), 0x9e3779b97f4a7c15))}
}

// uniform returns a random value in [lo, hi).
func (b *builder) uniform(lo, hi float64) float64 {
	return lo + (hi-lo)*b.rng.Float64()
}

// n converts seconds to a sample count.
func n(sec float64) int {
	return int(math.Round(sec * SisFallHz))
}

// emit appends dir*mag plus sensor noise of the given standard deviation.
func (b *builder) emit(dir [3]float64, mag, noise float64) {
	s := scale(unit(dir), mag)
	for i := range s {
		s[i] += noise * b.rng.NormFloat64()
	}
	b.out = append(b.out, s)
}

// hold appends sec seconds of a still posture.
func (b *builder) hold(dir [3]float64, sec float64) {
	for range n(sec) {
		b.emit(dir, 1, 0.008)
	}
}

// walk appends sec seconds of gait: vertical bounce, fore-aft and sway.
func (b *builder) walk(sec float64) {
	f, amp := b.uniform(1.7, 2.2), b.uniform(0.2, 0.35)
	for i := range n(sec) {
		t := float64(i) / SisFallHz
		ph := 2 * math.Pi * f * t
		s := [3]float64{0.3 * amp * math.Sin(ph/2), 1 + amp*math.Sin(ph) + 0.3*amp*math.Sin(2*ph), 0.5 * amp * math.Cos(ph)}
		b.emit(s, norm(s), 0.03)
	}
}

// move appends a smooth posture change from one direction to another with a
// magnitude bump (positive or negative) in the middle.
func (b *builder) move(from, to [3]float64, sec, bump float64) {
	k := n(sec)
	for i := range k {
		x := float64(i) / float64(k)
		w := 0.5 - 0.5*math.Cos(math.Pi*x)
		b.emit(add(scale(from, 1-w), scale(to, w)), 1+bump*math.Sin(math.Pi*x), 0.02)
	}
}

// drop appends a free fall at level g for sec seconds, turning from one
// direction toward another, entered and left over 40 ms.
func (b *builder) drop(from, to [3]float64, level, sec float64) {
	k, ramp := n(sec), n(0.04)
	for i := range k + 2*ramp {
		w := float64(i) / float64(k+2*ramp)
		mag := level
		if i < ramp {
			mag = 1 - (1-level)*float64(i)/float64(ramp)
		}
		b.emit(add(scale(from, 1-w), scale(to, w)), mag, 0.02)
	}
}

// impact appends an impact peaking at peak g followed by damped ringing
// that settles at 1 g in direction dir.
func (b *builder) impact(dir [3]float64, peak float64) {
	width := b.uniform(0.03, 0.06)
	for i := range n(0.4) {
		t := float64(i)/SisFallHz - 0.03
		spike := (peak - 1) * math.Exp(-t*t/(width*width))
		ring := 0.4 * math.Exp(-math.Max(0, t)/0.08) * math.Sin(2*math.Pi*9*math.Max(0, t))
		b.emit(dir, math.Max(0.05, 1+spike+ring), 0.03)
	}
}

// fill holds dir until the trace is traceSec long.
func (b *builder) fill(dir [3]float64) {
	if rest := n(traceSec) - len(b.out); rest > 0 {
		b.hold(dir, float64(rest)/SisFallHz)
	}
}

// tilt returns upright turned by deg degrees toward dir.
func tilt(deg float64, dir [3]float64) [3]float64 {
	r := deg * math.Pi / 180
	return add(scale(upright, math.Cos(r)), scale(dir, math.Sin(r)))
}

// slump appends the body's turn from one direction toward another while the
// magnitude sags to level and back (a short dip, no true free fall unless
// level is low).
func (b *builder) slump(from, to [3]float64, level, sec float64) {
	k := n(sec)
	for i := range k {
		x := float64(i) / float64(k)
		w := 0.5 - 0.5*math.Cos(math.Pi*x)
		b.emit(add(scale(from, 1-w), scale(to, w)), 1-(1-level)*math.Sin(math.Pi*x), 0.03)
	}
}

// lie fills the trace lying in direction dir: breathing and small shifts,
// nearly still.
func (b *builder) lie(dir [3]float64) {
	for len(b.out) < n(traceSec) {
		b.emit(dir, 1, 0.015)
	}
}
