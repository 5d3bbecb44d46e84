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
		{"c8 at the candidate level", func(c *Config) { c.HorizStdG = 0.12 }, "falldetect config: horiz_std_g must be in (0.12, 4), got 0.12"},
		{"peak below 1 g", func(c *Config) { c.PeakG = 0.5 }, "falldetect config: peak_g must be in [1, 16), got 0.5"},
		{"upright negative", func(c *Config) { c.UprightDeg = -1 }, "falldetect config: upright_deg must be in [0, 180), got -1"},
		{"post std zero", func(c *Config) { c.PostStdG = 0 }, "falldetect config: post_std_g must be > 0, got 0"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.modify(&c)
			got := ""
			if err := c.Validate(); err != nil {
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
	want := `{"horiz_std_g":0.375,"peak_g":1.9,"upright_deg":50,"post_std_g":0.075}`
	if string(b) != want {
		t.Errorf("got %s\nwant %s", b, want)
	}
}

func TestFires(t *testing.T) {
	c := DefaultConfig()
	fall := Features{HorizStd: 0.5, Peak: 2.5, Upright: 80, PostStd: 0.02}
	tests := []struct {
		name   string
		modify func(*Features)
		want   bool
	}{
		{"fall", func(*Features) {}, true},
		{"weak C8", func(f *Features) { f.HorizStd = 0.3 }, false},
		{"no impact", func(f *Features) { f.Peak = 1.5 }, false},
		{"still upright", func(f *Features) { f.Upright = 20 }, false},
		{"moving on", func(f *Features) { f.PostStd = 0.2 }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := fall
			tt.modify(&f)
			if got := c.Fires(f); got != tt.want {
				t.Errorf("Fires = %v, want %v", got, tt.want)
			}
		})
	}
}
