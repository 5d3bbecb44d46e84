package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"carebed/firmware-sim/falldetect"
)

// writeTrace writes a synthetic trace of kind as dir/rel in SisFall's format.
func writeTrace(t *testing.T, dir, rel, kind string, seed int64) {
	t.Helper()
	var b bytes.Buffer
	if err := falldetect.WriteSisFall(&b, falldetect.Synthesize(kind, seed)); err != nil {
		t.Fatal(err)
	}
	writeText(t, dir, rel, b.String())
}

// writeText writes text as dir/rel, creating folders.
func writeText(t *testing.T, dir, rel, text string) {
	t.Helper()
	p := filepath.Join(dir, rel)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}

// corpus is a small SisFall-named folder: two young subjects' falls and
// activities and an elderly subject's activities, one unreadable file and
// one of a held-out subject.
func corpus(t *testing.T) string {
	dir := t.TempDir()
	for i, subj := range []string{"SA02", "SA03"} {
		writeTrace(t, dir, subj+"/F01_"+subj+"_R01.txt", "fall-forward", int64(i+1))
		writeTrace(t, dir, subj+"/F02_"+subj+"_R01.txt", "fall-backward", int64(i+1))
		writeTrace(t, dir, subj+"/D01_"+subj+"_R01.txt", "walk", int64(i+1))
	}
	writeTrace(t, dir, "SE03/D07_SE03_R01.txt", "lie-bed", 1)
	writeTrace(t, dir, "SA01/F01_SA01_R01.txt", "fall-forward", 1)
	writeText(t, dir, "SE03/D08_SE03_R01.txt", "0,0,0,0,0,0,0,0,0;\n1,2,x,0,0,0,0,0,0;\n")
	return dir
}

func TestFallEval(t *testing.T) {
	dir := corpus(t)
	empty := t.TempDir()
	writeText(t, empty, "notes.txt", "not a recording")
	tests := []struct {
		name      string
		args      []string
		env       string
		code      int
		stdout    []string
		stderr    []string
		notStdout []string
	}{
		{
			name: "shipped thresholds", args: []string{dir}, code: 0,
			stdout: []string{
				"recordings: 7 read, 1 unreadable (skipped), 0 not named like SisFall (ignored), 1 of held-out subjects (not read)",
				"young (SA)    4      100.00 % (4/4)  2           100.00 % (2/2)  100.00 %",
				"elderly (SE)  0      n/a (0 files)",
				"F01   young    2      2         sensitivity 100.0 %",
			},
			stderr:    []string{"skipped SE03/D08_SE03_R01.txt: sisfall line 2: column is not an integer: column 3 \"x\""},
			notStdout: []string{"0.000", "NaN", "SA01"},
		},
		{
			name: "folder from SISFALL_DIR", env: dir, code: 0,
			stdout: []string{"recordings: 7 read"},
		},
		{
			name: "cross-validation", args: []string{"-loso", dir}, code: 0,
			stdout: []string{"SA02      C8 >=", "cross-validated (each subject judged with thresholds chosen without it):", "thresholds chosen on all these subjects:"},
		},
		{
			name: "cross-validation of C8 alone", args: []string{"-loso", "-c8-only", dir}, code: 0,
			stdout: []string{"peak >= 1.0 g, upright >= 0°, after std <= 16.000 g"},
		},
		{
			name: "no folder", code: 1,
			stderr: []string{"falleval takes one folder of SisFall recordings (or SISFALL_DIR)"},
		},
		{
			name: "two folders", args: []string{dir, dir}, code: 1,
			stderr: []string{"falleval takes one folder"},
		},
		{
			name: "missing folder", args: []string{filepath.Join(dir, "nope")}, code: 1,
			stderr: []string{"no such file"},
		},
		{
			name: "no recordings", args: []string{empty}, code: 1,
			stderr: []string{"no SisFall recordings (files named like F05_SA03_R02.txt) under " + empty + " (1 other files, 0 unreadable, 0 of held-out subjects skipped)"},
		},
		{
			name: "synthetic fixtures are not recordings", args: []string{"../../falldetect/testdata/synthetic"}, code: 1,
			stderr: []string{"no SisFall recordings", "(12 other files"},
		},
		{
			name: "bad flag", args: []string{"-nope", dir}, code: 1,
			stderr: []string{"flag provided but not defined: -nope"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Setenv("SISFALL_DIR", tt.env)
			var out, errs bytes.Buffer
			code := run(context.Background(), append([]string{"falleval"}, tt.args...), &out, &errs)
			if code != tt.code {
				t.Errorf("exit %d, want %d; stderr %s", code, tt.code, errs.String())
			}
			for _, w := range tt.stdout {
				if !strings.Contains(out.String(), w) {
					t.Errorf("stdout lacks %q:\n%s", w, out.String())
				}
			}
			for _, w := range tt.stderr {
				if !strings.Contains(errs.String(), w) {
					t.Errorf("stderr lacks %q:\n%s", w, errs.String())
				}
			}
			for _, w := range tt.notStdout {
				if strings.Contains(out.String(), w) {
					t.Errorf("stdout has %q:\n%s", w, out.String())
				}
			}
		})
	}
}
