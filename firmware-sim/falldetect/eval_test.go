package falldetect

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestEvaluateShippedTraces(t *testing.T) {
	r, err := Evaluate(filepath.Join("testdata", "traces"), DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if r.TP != 11 || r.FN != 1 || r.TN != 11 || r.FP != 1 {
		t.Errorf("TP/FN/TN/FP = %d/%d/%d/%d, want 11/1/11/1", r.TP, r.FN, r.TN, r.FP)
	}
	if r.Sensitivity < 0.8 || r.Specificity < 0.8 || len(r.Files) != 24 {
		t.Errorf("sensitivity %.3f specificity %.3f over %d files", r.Sensitivity, r.Specificity, len(r.Files))
	}
	var out strings.Builder
	if err := r.WriteText(&out); err != nil {
		t.Fatal(err)
	}
	checkGolden(t, filepath.Join("testdata", "eval.golden"), []byte(out.String()))
}

func TestEvaluateLabels(t *testing.T) {
	dir := t.TempDir()
	fall := Synthesize("fall-forward", 1)
	write(t, filepath.Join(dir, "sub", "F01_SA01_R01.txt"), fall)
	write(t, filepath.Join(dir, "D01_SA01_R01.txt"), Synthesize("walk", 1))
	write(t, filepath.Join(dir, "X01.txt"), fall)
	write(t, filepath.Join(dir, "F02.csv"), fall)
	r, err := Evaluate(dir, DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	if len(r.Files) != 2 || r.Files[1].Path != filepath.Join("sub", "F01_SA01_R01.txt") || r.TP != 1 || r.TN != 1 {
		t.Errorf("got %+v", r)
	}
	if r.Mean != 1 {
		t.Errorf("mean = %v, want 1", r.Mean)
	}
}

func TestEvaluateErrors(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "F01_bad.txt"), []byte("1,2;\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		dir  string
		c    Config
		want string
	}{
		{"bad file", dir, DefaultConfig(), "F01_bad.txt: sisfall line 1: want 9 columns, got 2"},
		{"missing dir", filepath.Join(dir, "nope"), DefaultConfig(), "no such file"},
		{"bad config", dir, Config{}, "free_fall_g"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Evaluate(tt.dir, tt.c)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, err := Evaluate(dir, DefaultConfig()); !errors.Is(err, ErrColumnCount) {
		t.Errorf("err = %v, want ErrColumnCount", err)
	}
}

// write stores tr as a SisFall file at path, creating folders.
func write(t *testing.T, path string, tr Trace) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := WriteSisFall(f, tr); err != nil {
		t.Fatal(err)
	}
}
