package falldetect

import "fmt"

// Config holds the tuned thresholds of the fall detector: a candidate event
// (see Features) is a fall when all four pass.
type Config struct {
	// HorizStdG is the smallest C8 (g): the standard deviation of the
	// low-passed horizontal acceleration over 1 s, the paper's best feature.
	HorizStdG float32 `json:"horiz_std_g" yaml:"horiz_std_g"`
	// PeakG is the smallest peak of the low-passed magnitude (g): the impact.
	PeakG float32 `json:"peak_g" yaml:"peak_g"`
	// UprightDeg is the smallest angle (degrees) between gravity after the
	// event and the sensor's upright axis: the wearer is no longer upright.
	UprightDeg float32 `json:"upright_deg" yaml:"upright_deg"`
	// PostStdG is the largest standard deviation (g) of the low-passed
	// magnitude over 1 s after the event: the wearer lies (nearly) still.
	PostStdG float32 `json:"post_std_g" yaml:"post_std_g"`
}

// DefaultConfig returns the thresholds the firmware ships with, chosen by
// leave-one-subject-out cross-validation on SisFall (docs/firmware-sim.md).
func DefaultConfig() Config {
	return Config{
		HorizStdG:  0.375,
		PeakG:      1.9,
		UprightDeg: 50,
		PostStdG:   0.075,
	}
}

// Fires reports whether the candidate f is a fall under c.
func (c Config) Fires(f Features) bool {
	return f.HorizStd >= c.HorizStdG && f.Peak >= c.PeakG &&
		f.Upright >= c.UprightDeg && f.PostStd <= c.PostStdG
}

// confidence scores how far f passed each threshold, 0.5 (just) to 1 (far),
// and averages them.
func (c Config) confidence(f Features) float64 {
	return (strength(f.HorizStd-c.HorizStdG, c.HorizStdG) +
		strength(f.Peak-c.PeakG, c.PeakG-1) +
		strength(f.Upright-c.UprightDeg, 90-c.UprightDeg) +
		strength(c.PostStdG-f.PostStd, c.PostStdG)) / 4
}

// strength maps a margin over a threshold to 0.5..1, full at margin >= full.
func strength(margin, full float32) float64 {
	if full <= 0 {
		return 1
	}
	return 0.5 + 0.5*float64(max(0, min(1, margin/full)))
}

// Validate returns an error naming the first field (by its snake_case name)
// that is out of range.
func (c Config) Validate() error {
	checks := []struct {
		name string
		bad  bool
		val  float32
		want string
	}{
		{"horiz_std_g", !(c.HorizStdG > openHorizStdG && c.HorizStdG < 4), c.HorizStdG, fmt.Sprintf("in (%v, 4)", openHorizStdG)},
		{"peak_g", !(c.PeakG >= 1 && c.PeakG < 16), c.PeakG, "in [1, 16)"},
		{"upright_deg", !(c.UprightDeg >= 0 && c.UprightDeg < 180), c.UprightDeg, "in [0, 180)"},
		{"post_std_g", !(c.PostStdG > 0), c.PostStdG, "> 0"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("falldetect config: %s must be %s, got %v", ch.name, ch.want, ch.val)
		}
	}
	return nil
}
