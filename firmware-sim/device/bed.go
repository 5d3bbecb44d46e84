package device

import (
	"fmt"
	"math"
	"time"

	"carebed/gateway/protocol"
)

// AnomalyKind is something going wrong that a bed sensor sees.
type AnomalyKind string

// Anomalies a bed sensor can be made to see. All but LongBedExit keep the elder
// in bed while they last (someone unwell lies down).
const (
	HighHR      AnomalyKind = "high_hr"       // heart rate 135–150 /min
	LowHR       AnomalyKind = "low_hr"        // heart rate 33–38 /min
	NoHeartRate AnomalyKind = "no_heart_rate" // in bed, no heart rate, no breathing, no movement
	NoMovement  AnomalyKind = "no_movement"   // in bed, heart and breathing slow, not moving at all
	LongBedExit AnomalyKind = "long_bed_exit" // out of bed (bed_exit) until the anomaly ends
)

// AnomalyKinds lists every AnomalyKind.
func AnomalyKinds() []AnomalyKind {
	return []AnomalyKind{HighHR, LowHR, NoHeartRate, NoMovement, LongBedExit}
}

// Anomaly is an AnomalyKind over a span of time.
type Anomaly struct {
	Kind AnomalyKind
	Span
}

// BedConfig configures a bed sensor.
type BedConfig struct {
	// Routine is the elder's day (nil: one drawn from the seed and the device id, in
	// Xinjiang time).
	Routine *Routine
	// Sample is how often the sensor checks whether the bed is occupied (default
	// 10 s, at most Config.Every): bed_exit and bed_return are sent at those times.
	Sample time.Duration
}

// Bed is a bed sensor (床垫传感器, 睡眠监测带): every Config.Every it reports
// occupancy and, while the bed is occupied, heart rate, respiration rate and
// movement; it sends bed_exit and bed_return as the elder follows the routine (and
// the anomalies injected with Anomaly).
type Bed struct {
	*Firmware
	routine   *Routine
	sample    time.Duration
	at        time.Time // the next occupancy check
	occupied  bool
	rest      float64 // the elder's heart rate at rest
	anomalies []Anomaly
}

var _ Model = (*Bed)(nil)

// NewBed returns a bed sensor.
func NewBed(c Config, b BedConfig) *Bed {
	f := newFirmware(c, false)
	if b.Routine == nil {
		zone, _ := Zone("Asia/Urumqi")
		b.Routine = NewRoutine(c.Seed, c.ID, zone)
	}
	if b.Sample <= 0 {
		b.Sample = 10 * time.Second
	}
	bed := &Bed{Firmware: f, routine: b.Routine, sample: min(b.Sample, f.c.Every), at: c.Start, rest: 56 + 12*f.rng.Float64()}
	bed.occupied, _, _ = bed.state(c.Start)
	return bed
}

// Tick checks occupancy and makes the reports due by now.
func (b *Bed) Tick(now time.Time) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
}

func (b *Bed) advance(now time.Time) {
	for ; !b.at.After(now); b.at = b.at.Add(b.sample) {
		t := b.at
		if in, _, _ := b.state(t); in != b.occupied {
			b.occupied = in
			typ := protocol.EventBedExit
			if in {
				typ = protocol.EventBedReturn
			}
			b.event(t, typ, nil, 0)
		}
		if !b.next.After(t) {
			b.reading(t, b.fill)
			b.next = b.next.Add(b.c.Every)
		}
	}
}

// Anomaly makes a from now on for d (it ends at now+d).
func (b *Bed) Anomaly(now time.Time, kind AnomalyKind, d time.Duration) error {
	if !validAnomaly(kind) {
		return fmt.Errorf("device: %q is not an anomaly (%v)", kind, AnomalyKinds())
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	b.advance(now)
	b.anomalies = append(b.anomalies, Anomaly{kind, Span{now, now.Add(d)}})
	return nil
}

func validAnomaly(k AnomalyKind) bool {
	for _, a := range AnomalyKinds() {
		if a == k {
			return true
		}
	}
	return false
}

// Occupied reports whether the sensor last found the bed occupied.
func (b *Bed) Occupied() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.occupied
}

// state is whether the elder is in bed at t, asleep, and the anomaly then ("" none).
func (b *Bed) state(t time.Time) (inBed, asleep bool, a AnomalyKind) {
	for i := len(b.anomalies) - 1; i >= 0; i-- {
		if b.anomalies[i].Contains(t) {
			return b.anomalies[i].Kind != LongBedExit, false, b.anomalies[i].Kind
		}
	}
	inBed, asleep = b.routine.At(t)
	return inBed, asleep, ""
}

// fill adds occupancy and, in bed, the vital signs at t.
func (b *Bed) fill(r *protocol.Reading, t time.Time) {
	in, asleep, a := b.state(t)
	r.Occupied = &in
	if !in {
		return
	}
	hr, rr, motion := b.vitals(asleep, a)
	r.HR, r.RR, r.Motion = &hr, &rr, &motion
}

// vitals draws heart rate, respiration rate and movement.
func (b *Bed) vitals(asleep bool, a AnomalyKind) (hr, rr, motion float64) {
	n := b.rng.NormFloat64
	switch {
	case a == HighHR:
		hr, rr, motion = 142+4*n(), 22+1.5*n(), 0.3+0.1*n()
	case a == LowHR:
		hr, rr, motion = 35.5+1*n(), 11+1*n(), 0.05+0.02*n()
	case a == NoHeartRate:
		return 0, 0, 0
	case a == NoMovement:
		hr, rr, motion = b.rest-4+1.5*n(), 11+1*n(), 0
	case asleep:
		hr, rr, motion = b.rest+1.5*n(), 13+1*n(), b.sleepMotion()
	default:
		hr, rr, motion = b.rest+8+2*n(), 16+1.5*n(), 0.25+0.08*n()
	}
	return round1(min(max(hr, 30), 200)), round1(min(max(rr, 6), 40)), round2(min(max(motion, 0), 1))
}

// sleepMotion is a sleeper's movement: small, with a turn now and then.
func (b *Bed) sleepMotion() float64 {
	if b.rng.Float64() < 0.08 {
		return 0.4 + 0.3*b.rng.Float64()
	}
	return 0.03 + 0.06*b.rng.Float64()
}

func round1(x float64) float64 { return math.Round(x*10) / 10 }
func round2(x float64) float64 { return math.Round(x*100) / 100 }
