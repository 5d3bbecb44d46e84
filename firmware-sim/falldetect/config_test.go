package falldetect

import (
	"encoding/json"
	"testing"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Config)
		want   string
	}{
		{"default", func(*Config) {}, ""},
		{"free fall zero", func(c *Config) { c.FreeFallG = 0 }, "falldetect config: free_fall_g must be in (0, 1), got 0"},
		{"free fall above 1 g", func(c *Config) { c.FreeFallG = 1.2 }, "falldetect config: free_fall_g must be in (0, 1), got 1.2"},
		{"free fall ms", func(c *Config) { c.FreeFallMs = 0 }, "falldetect config: free_fall_ms must be > 0, got 0"},
		{"impact within", func(c *Config) { c.ImpactWithinMs = -5 }, "falldetect config: impact_within_ms must be > 0, got -5"},
		{"impact g", func(c *Config) { c.ImpactG = 1 }, "falldetect config: impact_g must be > 1, got 1"},
		{"still window", func(c *Config) { c.StillWindowMs = 0 }, "falldetect config: still_window_ms must be > 0, got 0"},
		{"still std", func(c *Config) { c.StillStdG = 0 }, "falldetect config: still_std_g must be > 0, got 0"},
		{"still after", func(c *Config) { c.StillAfterMs = -1 }, "falldetect config: still_after_ms must be >= 0, got -1"},
		{"orientation", func(c *Config) { c.OrientationDeg = 180 }, "falldetect config: orientation_deg must be in (0, 180), got 180"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			err := c.Validate()
			got := ""
			if err != nil {
				got = err.Error()
			}
			if got != tt.want {
				t.Errorf("Validate() = %q, want %q", got, tt.want)
			}
		})
	}
}

func TestConfigJSONNames(t *testing.T) {
	b, err := json.Marshal(DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	want := `{"free_fall_g":0.6,"free_fall_ms":100,"impact_within_ms":300,"impact_g":3,"still_window_ms":500,"still_std_g":0.05,"still_after_ms":2000,"orientation_deg":45}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}
