package falldetect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// writeFile writes content at dir/rel, creating folders.
func writeFile(t *testing.T, dir, rel, content string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

// fixtureText is the SisFall text of a synthetic trace of kind.
func fixtureText(t *testing.T, kind string, seed int64) string {
	t.Helper()
	var b strings.Builder
	if err := WriteSisFall(&b, Synthesize(kind, seed)); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func TestLoad(t *testing.T) {
	fall, walk := fixtureText(t, "fall-forward", 1), fixtureText(t, "walk", 1)
	tests := []struct {
		name    string
		files   map[string]string
		links   map[string]string // link name -> target, relative to the folder
		wantErr error
		paths   []string // recordings read
		bad     []string // "path: message"
		ignored int
		heldOut int
	}{
		{
			name:  "sisfall names only",
			files: map[string]string{"SA02/F01_SA02_R01.txt": fall, "SA02/D01_SA02_R01.txt": walk, "F01.txt": fall, "f01_sa02_r01.txt": fall, "F01_SA02_R01.csv": fall, "F01_SX02_R01.txt": fall, "synth-fall-forward.trace": fall, "Readme.txt": "x"},
			paths: []string{"SA02/D01_SA02_R01.txt", "SA02/F01_SA02_R01.txt"}, ignored: 6,
		},
		{
			name:  "bad file named by line, the rest go on",
			files: map[string]string{"F01_SA02_R01.txt": fall, "D01_SA02_R01.txt": "0,0,0,0,0,0,0,0,0;\n1,2,3;\n", "D02_SA02_R01.txt": ""},
			paths: []string{"F01_SA02_R01.txt"},
			bad:   []string{"D01_SA02_R01.txt: sisfall line 2: want 9 columns, got 3", "D02_SA02_R01.txt: falldetect: trace has no samples"},
		},
		{
			// each real folder once: the recording is not counted twice
			name:  "symlinked folder followed, loop walked once",
			files: map[string]string{"real/F01_SA03_R01.txt": fall, "real/sub/D01_SA03_R01.txt": walk},
			links: map[string]string{"data/SA03": "../real", "real/sub/loop": ".."},
			paths: []string{"data/SA03/F01_SA03_R01.txt", "data/SA03/sub/D01_SA03_R01.txt"},
		},
		{
			name:    "held-out subjects not read",
			files:   map[string]string{"F01_SA01_R01.txt": fall, "D01_SE06_R01.txt": walk, "D01_SE03_R01.txt": walk},
			paths:   []string{"D01_SE03_R01.txt"},
			heldOut: 2,
		},
		{
			name:    "no recordings",
			files:   map[string]string{"notes.txt": "x", "F01_SA01_R01.txt": fall},
			wantErr: ErrNoTraces, ignored: 1, heldOut: 1,
		},
		{
			name:    "only bad recordings",
			files:   map[string]string{"F01_SA02_R01.txt": "x;\n"},
			wantErr: ErrNoTraces,
			bad:     []string{"F01_SA02_R01.txt: sisfall line 1: want 9 columns, got 1"},
		},
		{name: "empty folder", wantErr: ErrNoTraces},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			for rel, content := range tt.files {
				writeFile(t, dir, rel, content)
			}
			for name, target := range tt.links {
				p := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.Symlink(target, p); err != nil {
					t.Fatal(err)
				}
			}
			c, err := Load(dir, LoadOptions{Workers: 2})
			if !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
			var paths, bad []string
			for _, r := range c.Recordings {
				paths = append(paths, filepath.ToSlash(r.Path))
			}
			for _, b := range c.Bad {
				bad = append(bad, filepath.ToSlash(b.Path)+": "+b.Err.Error())
			}
			if strings.Join(paths, ",") != strings.Join(tt.paths, ",") {
				t.Errorf("read %q, want %q", paths, tt.paths)
			}
			if strings.Join(bad, ",") != strings.Join(tt.bad, ",") {
				t.Errorf("bad %q, want %q", bad, tt.bad)
			}
			if c.Ignored != tt.ignored || c.HeldOut != tt.heldOut {
				t.Errorf("ignored %d held out %d, want %d %d", c.Ignored, c.HeldOut, tt.ignored, tt.heldOut)
			}
		})
	}
}

func TestLoadMissingFolder(t *testing.T) {
	if _, err := Load(filepath.Join(t.TempDir(), "nope"), LoadOptions{}); err == nil || errors.Is(err, ErrNoTraces) {
		t.Errorf("err = %v, want a missing-folder error", err)
	}
}

func TestLoadIncludeHeldOut(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir, "F01_SA01_R01.txt", fixtureText(t, "fall-forward", 1))
	c, err := Load(dir, LoadOptions{IncludeHeldOut: true})
	if err != nil || len(c.Recordings) != 1 || !c.Recordings[0].Fall || c.Recordings[0].Subject != "SA01" || c.Recordings[0].Code != "F01" {
		t.Fatalf("got %+v, %v", c, err)
	}
	if !c.Recordings[0].Detected(DefaultConfig()) {
		t.Error("the synthetic forward fall was not detected from its candidates")
	}
}

// TestCandidatesMatchDetect: judging cached candidates gives what the
// streaming detector gives, for any thresholds (so the cross-validation
// judges the detector the firmware runs).
func TestCandidatesMatchDetect(t *testing.T) {
	cfgs := []Config{DefaultConfig(), {HorizStdG: 0.2, PeakG: 1, UprightDeg: 0, PostStdG: 16}, {HorizStdG: 0.8, PeakG: 3, UprightDeg: 70, PostStdG: 0.03}}
	for _, kind := range Kinds() {
		for seed := int64(1); seed <= 5; seed++ {
			tr := Synthesize(kind, seed)
			r := Recording{Candidates: Candidates(tr)}
			for _, c := range cfgs {
				_, want := Detect(tr, c)
				if got := r.Detected(c); got != want {
					t.Errorf("%s seed %d %+v: candidates say %v, Detect %v", kind, seed, c, got, want)
				}
			}
		}
	}
}
