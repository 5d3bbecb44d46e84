package falldetect

import (
	"fmt"
	"math"
)

// Detection is a detected fall.
type Detection struct {
	// AtSample is the index of the impact sample of the fall.
	AtSample int
	// Confidence in 0..1 says how strongly each stage was met: 0.5 when every
	// stage just passed its threshold, 1 when every stage was met fully.
	Confidence float64
}

// stage is where the detector is in the fall sequence.
type stage int

const (
	idle stage = iota
	freeFall
	awaitImpact
	awaitStill
)

// smoothN is the moving-average length of the free-fall magnitude (25 ms at 200 Hz).
const smoothN = 5

// beforeMs is the window (ms) before the free fall that gives the upright gravity direction.
const beforeMs = 500

// impactPeakMs is how long (ms) after the first impact sample the peak is tracked.
const impactPeakMs = 100

// event is the fall candidate being followed.
type event struct {
	ffStart, ffEnd, impactAt int
	ffMin, peak              float64
	before                   [3]float64
}

// Detector is the streaming fall detector run by the firmware: push one
// sample at a time; a fall is reported once, when the stillness after the
// impact is confirmed.
type Detector struct {
	c                                Config
	ffN, impactN, stillAfterN, peakN int
	idx                              int
	stage                            stage
	ev                               event
	smooth, before, still            *window
}

// New returns a detector for samples at hz. It returns an error if c is
// invalid (see Config.Validate) or hz is not positive.
func New(c Config, hz float64) (*Detector, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	if !(hz > 0) {
		return nil, fmt.Errorf("falldetect: sample rate must be > 0, got %v", hz)
	}
	return &Detector{
		c:           c,
		ffN:         samples(c.FreeFallMs, hz),
		impactN:     samples(c.ImpactWithinMs, hz),
		stillAfterN: samples(c.StillAfterMs, hz),
		peakN:       samples(impactPeakMs, hz),
		smooth:      newWindow(smoothN),
		before:      newWindow(samples(beforeMs, hz)),
		still:       newWindow(samples(c.StillWindowMs, hz)),
	}, nil
}

// samples converts ms to a sample count of at least 1.
func samples(ms int, hz float64) int {
	return max(1, int(math.Round(float64(ms)*hz/1000)))
}

// Push feeds the next sample (in g) and reports a fall the moment it is
// confirmed; each fall is reported once.
func (d *Detector) Push(s [3]float64) (Detection, bool) {
	m := norm(s)
	d.smooth.push([3]float64{m})
	sm := d.smooth.mean()[0]
	d.still.push(s)
	det, ok := d.step(m, sm)
	d.before.push(s)
	d.idx++
	return det, ok
}

// step advances the stage machine by one sample.
func (d *Detector) step(m, sm float64) (Detection, bool) {
	switch d.stage {
	case idle:
		d.startFreeFall(sm)
	case freeFall:
		d.followFreeFall(m, sm)
	case awaitImpact:
		d.followImpact(m, sm)
	case awaitStill:
		return d.followStill(m)
	}
	return Detection{}, false
}

// startFreeFall opens a candidate when the smoothed magnitude drops low.
func (d *Detector) startFreeFall(sm float64) {
	if sm >= d.c.FreeFallG {
		return
	}
	d.ev = event{ffStart: d.idx, ffMin: sm, before: d.before.mean()}
	d.stage = freeFall
}

// followFreeFall extends the free fall or, when it ends, judges its length.
func (d *Detector) followFreeFall(m, sm float64) {
	if sm < d.c.FreeFallG {
		d.ev.ffMin = min(d.ev.ffMin, sm)
		return
	}
	if d.idx-d.ev.ffStart < d.ffN {
		d.stage = idle
		return
	}
	d.ev.ffEnd = d.idx
	d.stage = awaitImpact
	d.followImpact(m, sm)
}

// followImpact waits for an impact within ImpactWithinMs of the free fall.
func (d *Detector) followImpact(m, sm float64) {
	switch {
	case m > d.c.ImpactG:
		d.ev.impactAt, d.ev.peak = d.idx, m
		d.stage = awaitStill
	case d.idx-d.ev.ffEnd > d.impactN:
		d.stage = idle
		d.startFreeFall(sm)
	}
}

// followStill waits for a still window starting within StillAfterMs of the
// impact and then checks the orientation change.
func (d *Detector) followStill(m float64) (Detection, bool) {
	if d.idx-d.ev.impactAt < d.peakN {
		d.ev.peak = max(d.ev.peak, m)
	}
	start := d.idx - len(d.still.vecs) + 1
	if start <= d.ev.impactAt {
		return Detection{}, false
	}
	if start-d.ev.impactAt > d.stillAfterN {
		d.stage = idle
		return Detection{}, false
	}
	std := d.still.std()
	if std >= d.c.StillStdG {
		return Detection{}, false
	}
	d.stage = idle
	turn := angleDeg(d.ev.before, d.still.mean())
	if turn <= d.c.OrientationDeg {
		return Detection{}, false
	}
	return Detection{AtSample: d.ev.impactAt, Confidence: d.confidence(std, turn)}, true
}

// confidence scores each stage 0.5 (threshold just met) to 1 (fully met)
// and averages them.
func (d *Detector) confidence(std, turn float64) float64 {
	c := d.c
	return (strength(c.FreeFallG-d.ev.ffMin, c.FreeFallG) +
		strength(d.ev.peak-c.ImpactG, c.ImpactG) +
		strength(c.StillStdG-std, c.StillStdG) +
		strength(turn-c.OrientationDeg, 90-c.OrientationDeg)) / 4
}

// strength maps a margin over a threshold to 0.5..1, full at margin >= full.
func strength(margin, full float64) float64 {
	if full <= 0 {
		return 1
	}
	return 0.5 + 0.5*math.Max(0, math.Min(1, margin/full))
}

// Detect runs a streaming Detector over t and returns the first fall. It
// returns false when there is no fall, or when c or t.Hz is invalid (check
// with Config.Validate first).
func Detect(t Trace, c Config) (Detection, bool) {
	d, err := New(c, t.Hz)
	if err != nil {
		return Detection{}, false
	}
	for _, s := range t.Samples {
		if det, ok := d.Push(s); ok {
			return det, true
		}
	}
	return Detection{}, false
}
