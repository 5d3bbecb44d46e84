package falldetect

import (
	"fmt"
	"math"
)

// Fixed timing of the detector (not tuned: changing one changes the
// features every tuned threshold was chosen on).
const (
	// cutoffHz is the low-pass cutoff of the SisFall paper's preprocessing.
	cutoffHz = 5
	// windowMs is the sliding window of the features (the paper's 1 s).
	windowMs = 1000
	// hopMs is how often the window's features are computed.
	hopMs = 50
	// postMs is how long after the candidate's largest C8 its posture and
	// stillness are judged over the last window (the wearer on the floor); a
	// larger C8 before then moves the judgement on.
	postMs = 3000
	// preMs is how far back the gravity direction before the event is taken
	// (the window ending this long before the candidate opened).
	preMs = 1000
	// openHorizStdG is the C8 value (g) that opens a candidate; far below any
	// tuned threshold, so every fall and every hard activity is a candidate.
	openHorizStdG = 0.12
)

// Features describe one candidate event: what the Config's thresholds judge.
type Features struct {
	// AtSample is the sample index of the largest filtered magnitude in the
	// peak phase: the impact.
	AtSample int
	// HorizStd is the paper's C8, the largest sqrt(σx²+σz²) of the filtered
	// horizontal components over a 1 s window in the peak phase (g).
	HorizStd float32
	// Std is the paper's C9, the same over all three axes (g).
	Std float32
	// Peak is the largest filtered magnitude in the peak phase (g).
	Peak float32
	// Turn is the angle (degrees) between the gravity direction before the
	// event and after it.
	Turn float32
	// PostStd is the standard deviation of the filtered magnitude over the
	// last window after the event (g): small when the wearer lies still.
	PostStd float32
	// Upright is the angle (degrees) between gravity after the event and
	// the sensor's upright axis (y, as worn at the waist in SisFall).
	Upright float32
}

// Detection is a detected fall.
type Detection struct {
	// AtSample is the index of the impact sample of the fall.
	AtSample int
	// Confidence in 0.5..1 says by how much the features passed the
	// thresholds: 0.5 when each just passed, 1 when each passed by far.
	Confidence float64
	// Features are what was judged.
	Features Features
}

// Detector is the streaming fall detector run by the firmware: push one
// sample at a time (in g); a fall is reported once, postMs after the
// candidate opened. Its memory is fixed at New: two 1 s rings of filtered
// samples and magnitudes and a 1 s history of window means (about 3.5 KB at
// 200 Hz), nothing grows per sample.
type Detector struct {
	c               Config
	lp              [3]lowPass4
	started         bool
	win, hop, postN int
	ring            [][3]float32 // filtered samples, win long
	mag             []float32    // their magnitudes
	pos             int          // next slot of ring
	filled          int
	means           [][3]float32 // window means at past hops, ring
	meansPos        int
	idx             int // samples pushed so far
	cand            candidate
	// OnCandidate, when set, is called with every candidate's features as
	// it closes, whether or not it fires (for evaluation and tuning).
	OnCandidate func(Features)
}

// candidate is the event being followed.
type candidate struct {
	open   bool
	anchor int // the hop of the largest C8 so far
	pre    [3]float32
	f      Features
}

// New returns a detector for samples at hz. It returns an error if c is
// invalid (see Config.Validate) or hz is below 50.
func New(c Config, hz float64) (*Detector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !(hz >= 50) {
		return nil, fmt.Errorf("falldetect: sample rate must be at least 50 Hz, got %v", hz)
	}
	d := &Detector{
		c:     c,
		win:   samples(windowMs, hz),
		hop:   samples(hopMs, hz),
		postN: samples(postMs, hz),
	}
	lp := newLowPass4(cutoffHz, hz)
	d.lp = [3]lowPass4{lp, lp, lp}
	d.ring = make([][3]float32, d.win)
	d.mag = make([]float32, d.win)
	d.means = make([][3]float32, samples(preMs, hz)/d.hop+1)
	return d, nil
}

// samples converts ms to a sample count of at least 1.
func samples(ms int, hz float64) int {
	return max(1, int(math.Round(float64(ms)*hz/1000)))
}

// Push feeds the next sample (in g) and reports a fall the moment it is
// confirmed; each candidate event is reported at most once.
func (d *Detector) Push(s [3]float32) (Detection, bool) {
	if !d.started {
		for i := range d.lp {
			d.lp[i].settle(s[i])
		}
		d.started = true
	}
	var y [3]float32
	for i := range y {
		y[i] = d.lp[i].step(s[i])
	}
	d.ring[d.pos] = y
	d.mag[d.pos] = sqrt32(y[0]*y[0] + y[1]*y[1] + y[2]*y[2])
	d.pos = (d.pos + 1) % d.win
	d.filled = min(d.filled+1, d.win)
	d.idx++
	if d.filled < d.win || d.idx%d.hop != 0 {
		return Detection{}, false
	}
	return d.atHop()
}

// Flush closes a candidate still open at the end of a recording (the
// firmware never needs this: its stream does not end) and judges it on the
// samples so far.
func (d *Detector) Flush() (Detection, bool) {
	if !d.cand.open || d.filled < d.win {
		return Detection{}, false
	}
	return d.close(d.windowStats())
}

// stats are one window's features.
type stats struct {
	mean          [3]float32
	horizStd, std float32
	magStd, peak  float32
	peakAt        int
}

// windowStats computes the current window's features (two passes).
func (d *Detector) windowStats() stats {
	var st stats
	var sum [3]float32
	var msum float32
	for i, y := range d.ring {
		sum[0], sum[1], sum[2] = sum[0]+y[0], sum[1]+y[1], sum[2]+y[2]
		m := d.mag[i]
		msum += m
		if m > st.peak {
			st.peak, st.peakAt = m, i
		}
	}
	n := float32(d.win)
	st.mean = [3]float32{sum[0] / n, sum[1] / n, sum[2] / n}
	mmean := msum / n
	var v [3]float32
	var mv float32
	for i, y := range d.ring {
		for k := range v {
			e := y[k] - st.mean[k]
			v[k] += e * e
		}
		e := d.mag[i] - mmean
		mv += e * e
	}
	st.horizStd = sqrt32((v[0] + v[2]) / n)
	st.std = sqrt32((v[0] + v[1] + v[2]) / n)
	st.magStd = sqrt32(mv / n)
	// ring index of the peak -> sample index: slot pos-1 is sample idx-1.
	back := (d.pos - 1 - st.peakAt + d.win) % d.win
	st.peakAt = d.idx - 1 - back
	return st
}

// atHop updates the candidate with the current window's features.
func (d *Detector) atHop() (Detection, bool) {
	st := d.windowStats()
	pre := d.means[d.meansPos] // the oldest: the window that ended preMs ago
	d.means[d.meansPos] = st.mean
	d.meansPos = (d.meansPos + 1) % len(d.means)
	c := &d.cand
	if !c.open {
		if st.horizStd < openHorizStdG {
			return Detection{}, false
		}
		*c = candidate{open: true, pre: pre}
	}
	f := &c.f
	if st.horizStd > f.HorizStd {
		f.HorizStd, c.anchor = st.horizStd, d.idx
	}
	f.Std = max(f.Std, st.std)
	if st.peak > f.Peak {
		f.Peak, f.AtSample = st.peak, st.peakAt
	}
	if d.idx-c.anchor < d.postN {
		return Detection{}, false
	}
	return d.close(st)
}

// close judges the candidate on the window st after the event.
func (d *Detector) close(st stats) (Detection, bool) {
	c := &d.cand
	c.open = false
	f := c.f
	f.Turn = angleDeg32(c.pre, st.mean)
	f.PostStd = st.magStd
	f.Upright = angleDeg32([3]float32{0, 1, 0}, [3]float32{-st.mean[0], -st.mean[1], -st.mean[2]})
	if d.OnCandidate != nil {
		d.OnCandidate(f)
	}
	if !d.c.Fires(f) {
		return Detection{}, false
	}
	return Detection{AtSample: f.AtSample, Confidence: d.c.confidence(f), Features: f}, true
}

// sqrt32 is a float32 square root (one instruction on a Cortex-M4F).
func sqrt32(x float32) float32 {
	return float32(math.Sqrt(float64(x)))
}

// angleDeg32 returns the angle between a and b in degrees (0 if either is zero).
func angleDeg32(a, b [3]float32) float32 {
	na := sqrt32(a[0]*a[0] + a[1]*a[1] + a[2]*a[2])
	nb := sqrt32(b[0]*b[0] + b[1]*b[1] + b[2]*b[2])
	if na == 0 || nb == 0 {
		return 0
	}
	c := (a[0]*b[0] + a[1]*b[1] + a[2]*b[2]) / (na * nb)
	return float32(math.Acos(float64(max(-1, min(1, c)))) * 180 / math.Pi)
}

// Detect runs a streaming Detector over t (flushing it at the end) and
// returns the first fall. It returns false when there is no fall, or when c
// or t.Hz is invalid (check with Config.Validate first).
func Detect(t Trace, c Config) (Detection, bool) {
	d, err := New(c, t.Hz)
	if err != nil {
		return Detection{}, false
	}
	for _, s := range t.Samples {
		if det, ok := d.Push(f32(s)); ok {
			return det, true
		}
	}
	return d.Flush()
}

// f32 converts a sample to float32.
func f32(s [3]float64) [3]float32 {
	return [3]float32{float32(s[0]), float32(s[1]), float32(s[2])}
}
