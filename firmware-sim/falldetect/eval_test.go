package falldetect

import (
	"strings"
	"testing"
)

func TestWriteReport(t *testing.T) {
	tests := []struct {
		name string
		outs []Outcome
		want []string
		not  []string
	}{
		{
			name: "young and elderly",
			outs: []Outcome{
				{Path: "SA02/F01_SA02_R01.txt", Code: "F01", Subject: "SA02", Fall: true, Detected: true},
				{Path: "SA02/F01_SA02_R02.txt", Code: "F01", Subject: "SA02", Fall: true},
				{Path: "SA02/D01_SA02_R01.txt", Code: "D01", Subject: "SA02"},
				{Path: "SE03/D01_SE03_R01.txt", Code: "D01", Subject: "SE03", Detected: true},
				{Path: "SE03/D01_SE03_R02.txt", Code: "D01", Subject: "SE03"},
			},
			want: []string{
				"elderly (SE)  0      n/a (0 files)  2           50.00 % (1/2)   n/a",
				"young (SA)    2      50.00 % (1/2)  1           100.00 % (1/1)  75.00 %",
				"F01   young    2      1         sensitivity 50.0 %",
				"D01   elderly  2      1         specificity 50.0 %",
				"D01   young    1      0         specificity 100.0 %",
				"missed fall: SA02/F01_SA02_R02.txt\nfalse alarm: SE03/D01_SE03_R01.txt\n",
			},
			not: []string{"0.000", "NaN"},
		},
		{
			name: "no activities",
			outs: []Outcome{{Path: "F01_SA02_R01.txt", Code: "F01", Subject: "SA02", Fall: true, Detected: true}},
			want: []string{"young (SA)  1      100.00 % (1/1)  0           n/a (0 files)  n/a"},
			not:  []string{"missed", "false alarm", "NaN"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			if err := WriteReport(&b, tt.outs); err != nil {
				t.Fatal(err)
			}
			for _, w := range tt.want {
				if !strings.Contains(b.String(), w) {
					t.Errorf("report lacks %q:\n%s", w, b.String())
				}
			}
			for _, w := range tt.not {
				if strings.Contains(b.String(), w) {
					t.Errorf("report has %q:\n%s", w, b.String())
				}
			}
		})
	}
}

func TestObjective(t *testing.T) {
	tests := []struct {
		name           string
		young, elderly Tally
		want           float64
	}{
		{"all four", Tally{TP: 9, FN: 1, TN: 10}, Tally{TP: 1, FN: 1, TN: 3, FP: 1}, (0.9 + 1 + 0.5 + 0.75) / 4},
		{"no elderly falls", Tally{TP: 9, FN: 1, TN: 10}, Tally{TN: 3, FP: 1}, (0.9 + 1 + 0.75) / 3},
		{"nothing", Tally{}, Tally{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Objective(tt.young, tt.elderly); got != tt.want {
				t.Errorf("Objective = %v, want %v", got, tt.want)
			}
		})
	}
}

// cvCorpus is a small corpus of hand-made candidates: young falls with C8
// 0.6 (one subject's at 0.33), activities at 0.3 (an elderly one at 0.34).
func cvCorpus() Corpus {
	fallF := func(hs float32) []Features {
		return []Features{{HorizStd: hs, Peak: 2.5, Upright: 80, PostStd: 0.02}}
	}
	adl := func(hs float32) []Features {
		return []Features{{HorizStd: hs, Peak: 2.5, Upright: 80, PostStd: 0.02}, {HorizStd: 0.9, Peak: 3, Upright: 10, PostStd: 0.3}}
	}
	var c Corpus
	add := func(subj, code string, cands []Features) {
		c.Recordings = append(c.Recordings, Recording{Path: code + "_" + subj, Code: code, Subject: subj, Fall: code[0] == 'F', Candidates: cands})
	}
	for _, s := range []string{"SA02", "SA03", "SA04"} {
		hs := float32(0.6)
		if s == "SA04" {
			hs = 0.33
		}
		add(s, "F01", fallF(hs))
		add(s, "D01", adl(0.3))
	}
	add("SE03", "D01", adl(0.34))
	add("SE04", "D01", adl(0.2))
	return c
}

func TestCrossValidate(t *testing.T) {
	g := Grid{HorizStd: []float32{0.25, 0.32, 0.35, 0.5}, Peak: []float32{1, 2}, Upright: []float32{0, 45}, PostStd: []float32{0.1, 16}}
	c := cvCorpus()
	folds, all := CrossValidate(c, g)
	if len(folds) != 5 {
		t.Fatalf("%d folds, want 5", len(folds))
	}
	for _, f := range folds {
		// The fold's thresholds are those chosen on the corpus without the subject.
		var rest Corpus
		for _, r := range c.Recordings {
			if r.Subject != f.Subject {
				rest.Recordings = append(rest.Recordings, r)
			}
		}
		_, want := CrossValidate(rest, g)
		if f.Config != want {
			t.Errorf("fold %s chose %+v, want %+v (chosen without it)", f.Subject, f.Config, want)
		}
		for _, o := range f.Outcomes {
			if o.Subject != f.Subject {
				t.Errorf("fold %s judged %s", f.Subject, o.Path)
			}
		}
	}
	// Without SA04, 0.35 separates the falls (0.6) from every activity; SA04's
	// fall at 0.33 is then missed: the price of not tuning on it.
	sa04 := folds[2]
	if sa04.Subject != "SA04" || sa04.Config.HorizStdG != 0.35 {
		t.Fatalf("fold %s chose %+v, want C8 0.35", sa04.Subject, sa04.Config)
	}
	for _, o := range sa04.Outcomes {
		if o.Fall && o.Detected {
			t.Errorf("SA04's fall at C8 0.33 detected with C8 0.35")
		}
	}
	// With every subject, 0.32 would catch SA04's fall but also the elderly
	// activity at 0.34: 0.35 still scores better.
	if all.HorizStdG != 0.35 {
		t.Errorf("all subjects chose %+v, want C8 0.35", all)
	}
}
