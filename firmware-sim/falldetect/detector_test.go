package falldetect

import (
	"strings"
	"testing"
)

func TestDetectSynthetic(t *testing.T) {
	tests := []struct {
		kind string
		want bool
	}{
		{"walk", false},
		{"lie-bed", false},
		{"jump", false},
		{"stumble", false},
		{"pick-floor", false},
		{"fall-forward", true},
		{"fall-backward", true},
		{"fall-lateral", true},
		{"fall-from-bed", true},
		{"fall-recovery", true},
	}
	for _, tt := range tests {
		t.Run(tt.kind, func(t *testing.T) {
			for seed := int64(1); seed <= 10; seed++ {
				d, got := Detect(Synthesize(tt.kind, seed), DefaultConfig())
				if got != tt.want {
					t.Errorf("seed %d: detected %v, want %v", seed, got, tt.want)
				}
				if got && (d.Confidence < 0.5 || d.Confidence > 1 || d.AtSample < 200) {
					t.Errorf("seed %d: implausible detection %+v", seed, d)
				}
			}
		})
	}
}

func TestDetectorReportsOncePerFall(t *testing.T) {
	tests := []struct {
		name  string
		kinds []string
		want  int
	}{
		{"one fall", []string{"fall-forward"}, 1},
		{"fall then lying on", []string{"fall-lateral", "fall-none"}, 1},
		{"two falls", []string{"fall-forward", "walk", "fall-backward"}, 2},
		{"activities only", []string{"walk", "jump", "pick-floor"}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(DefaultConfig(), SisFallHz)
			if err != nil {
				t.Fatal(err)
			}
			got := 0
			for i, s := range concat(tt.kinds) {
				if det, ok := d.Push(s); ok {
					got++
					if det.AtSample > i {
						t.Errorf("reported impact at %d before it happened (%d)", det.AtSample, i)
					}
				}
			}
			if got != tt.want {
				t.Errorf("%d reports, want %d", got, tt.want)
			}
		})
	}
}

// concat joins synthetic traces; "fall-none" is 5 s of lying still.
func concat(kinds []string) [][3]float64 {
	var out [][3]float64
	for i, k := range kinds {
		if k == "fall-none" {
			b := newBuilder(99)
			b.hold(leftUp, 5)
			out = append(out, b.out...)
			continue
		}
		out = append(out, Synthesize(k, int64(i+1)).Samples...)
	}
	return out
}

func TestNewErrors(t *testing.T) {
	bad := DefaultConfig()
	bad.ImpactG = 0
	tests := []struct {
		name string
		c    Config
		hz   float64
		want string
	}{
		{"bad config", bad, 200, "impact_g"},
		{"zero rate", DefaultConfig(), 0, "sample rate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.c, tt.hz)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want mention of %q", err, tt.want)
			}
			if _, ok := Detect(Synthesize("fall-forward", 1), tt.c); ok && tt.hz > 0 {
				t.Error("Detect with an invalid config reported a fall")
			}
		})
	}
}
