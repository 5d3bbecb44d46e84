package falldetect

import "fmt"

// Config holds the thresholds of the fall detector.
type Config struct {
	// FreeFallG is the magnitude (g) below which the wearer is in free fall.
	FreeFallG float64 `json:"free_fall_g" yaml:"free_fall_g"`
	// FreeFallMs is the shortest free fall (ms) that starts a fall.
	FreeFallMs int `json:"free_fall_ms" yaml:"free_fall_ms"`
	// ImpactWithinMs is how long (ms) after the free fall the impact may come.
	ImpactWithinMs int `json:"impact_within_ms" yaml:"impact_within_ms"`
	// ImpactG is the magnitude (g) above which a sample is an impact.
	ImpactG float64 `json:"impact_g" yaml:"impact_g"`
	// StillWindowMs is the window (ms) over which stillness is judged.
	StillWindowMs int `json:"still_window_ms" yaml:"still_window_ms"`
	// StillStdG is the standard deviation of the magnitude (g) below which the wearer is still.
	StillStdG float64 `json:"still_std_g" yaml:"still_std_g"`
	// StillAfterMs is how long (ms) after the impact the still window may start.
	StillAfterMs int `json:"still_after_ms" yaml:"still_after_ms"`
	// OrientationDeg is the smallest change of the gravity direction (degrees) that counts as a fall.
	OrientationDeg float64 `json:"orientation_deg" yaml:"orientation_deg"`
}

// DefaultConfig returns the thresholds the firmware ships with.
func DefaultConfig() Config {
	return Config{
		FreeFallG:      0.6,
		FreeFallMs:     100,
		ImpactWithinMs: 300,
		ImpactG:        3.0,
		StillWindowMs:  500,
		StillStdG:      0.05,
		StillAfterMs:   2000,
		OrientationDeg: 45,
	}
}

// Validate returns an error naming the first field (by its snake_case name)
// that is out of range.
func (c Config) Validate() error {
	checks := []struct {
		name string
		bad  bool
		val  any
		want string
	}{
		{"free_fall_g", !(c.FreeFallG > 0 && c.FreeFallG < 1), c.FreeFallG, "in (0, 1)"},
		{"free_fall_ms", c.FreeFallMs <= 0, c.FreeFallMs, "> 0"},
		{"impact_within_ms", c.ImpactWithinMs <= 0, c.ImpactWithinMs, "> 0"},
		{"impact_g", !(c.ImpactG > 1), c.ImpactG, "> 1"},
		{"still_window_ms", c.StillWindowMs <= 0, c.StillWindowMs, "> 0"},
		{"still_std_g", !(c.StillStdG > 0), c.StillStdG, "> 0"},
		{"still_after_ms", c.StillAfterMs < 0, c.StillAfterMs, ">= 0"},
		{"orientation_deg", !(c.OrientationDeg > 0 && c.OrientationDeg < 180), c.OrientationDeg, "in (0, 180)"},
	}
	for _, ch := range checks {
		if ch.bad {
			return fmt.Errorf("falldetect config: %s must be %s, got %v", ch.name, ch.want, ch.val)
		}
	}
	return nil
}
