package falldetect

import (
	"math"
	"slices"
)

// Grid is the thresholds cross-validation tries: every combination.
type Grid struct {
	HorizStd, Peak, Upright, PostStd []float32
}

// DefaultGrid is the grid of docs/firmware-sim.md.
func DefaultGrid() Grid {
	return Grid{
		HorizStd: steps(0.20, 1.00, 0.025),
		Peak:     steps(1.0, 3.0, 0.1),
		Upright:  steps(0, 80, 5),
		PostStd:  []float32{0.03, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 16},
	}
}

// steps returns lo, lo+step, ... up to hi.
func steps(lo, hi, step float64) []float32 {
	var out []float32
	for i := 0; lo+float64(i)*step <= hi+1e-9; i++ {
		out = append(out, float32(math.Round((lo+float64(i)*step)*1000)/1000))
	}
	return out
}

// Fold is one subject left out: the thresholds chosen on the others and
// the verdicts on the subject's recordings.
type Fold struct {
	Subject  string
	Config   Config
	Outcomes []Outcome
}

// Objective is what the thresholds are chosen to maximise on the training
// subjects: the mean of the young subjects' sensitivity and specificity and
// the elderly subjects' specificity (SisFall's training subjects hold no
// elderly falls); a figure without files is left out of the mean.
func Objective(young, elderly Tally) float64 {
	var sum float64
	var n int
	for _, v := range []struct {
		a, b int
	}{{young.TP, young.Falls()}, {young.TN, young.ADLs()}, {elderly.TP, elderly.Falls()}, {elderly.TN, elderly.ADLs()}} {
		if r, ok := ratio(v.a, v.b); ok {
			sum += r
			n++
		}
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// counts are, per subject and per HorizStd threshold, the recordings fired.
type counts struct {
	falls, adls [][]int32 // [subject][horiz index]
}

// CrossValidate runs leave-one-subject-out cross-validation: for each
// subject, the thresholds of g that maximise Objective on the other subjects,
// then the verdicts with them on that subject. It also returns the thresholds
// chosen on all subjects. The candidates are computed once (Load); each fold
// only counts.
func CrossValidate(c Corpus, g Grid) ([]Fold, Config) {
	subjects, of := subjectsOf(c.Recordings)
	nFalls := make([]int32, len(subjects))
	nADLs := make([]int32, len(subjects))
	for i, r := range c.Recordings {
		if r.Fall {
			nFalls[of[i]]++
		} else {
			nADLs[of[i]]++
		}
	}
	type best struct {
		score float64
		cfg   Config
	}
	bests := make([]best, len(subjects)+1) // the last: no subject left out
	for i := range bests {
		bests[i].score = -1
	}
	cnt := counts{falls: grid2(len(subjects), len(g.HorizStd)), adls: grid2(len(subjects), len(g.HorizStd))}
	for _, pk := range g.Peak {
		for _, up := range g.Upright {
			for _, ps := range g.PostStd {
				cnt.fill(c.Recordings, of, g.HorizStd, pk, up, ps)
				for h, hs := range g.HorizStd {
					cfg := Config{HorizStdG: hs, PeakG: pk, UprightDeg: up, PostStdG: ps}
					for out := range bests {
						score := cnt.objective(subjects, nFalls, nADLs, h, out)
						if score > bests[out].score {
							bests[out] = best{score, cfg}
						}
					}
				}
			}
		}
	}
	folds := make([]Fold, len(subjects))
	for s, subj := range subjects {
		folds[s] = Fold{Subject: subj, Config: bests[s].cfg}
	}
	for i, r := range c.Recordings {
		f := &folds[of[i]]
		f.Outcomes = append(f.Outcomes, outcome(r, r.Detected(f.Config)))
	}
	return folds, bests[len(subjects)].cfg
}

// subjectsOf returns the sorted subjects and each recording's subject index.
func subjectsOf(recs []Recording) ([]string, []int) {
	var subjects []string
	for _, r := range recs {
		if !slices.Contains(subjects, r.Subject) {
			subjects = append(subjects, r.Subject)
		}
	}
	slices.Sort(subjects)
	of := make([]int, len(recs))
	for i, r := range recs {
		of[i], _ = slices.BinarySearch(subjects, r.Subject)
	}
	return subjects, of
}

// grid2 returns an n×m zeroed table.
func grid2(n, m int) [][]int32 {
	t := make([][]int32, n)
	for i := range t {
		t[i] = make([]int32, m)
	}
	return t
}

// fill counts, for the other thresholds fixed, the recordings each HorizStd
// threshold fires on: a recording fires at threshold h when a candidate
// passing the other three has HorizStd >= h.
func (cnt *counts) fill(recs []Recording, of []int, hs []float32, pk, up, ps float32) {
	for s := range cnt.falls {
		clear(cnt.falls[s])
		clear(cnt.adls[s])
	}
	for i, r := range recs {
		v := float32(-1)
		for _, f := range r.Candidates {
			if f.Peak >= pk && f.Upright >= up && f.PostStd <= ps {
				v = max(v, f.HorizStd)
			}
		}
		if v < hs[0] {
			continue
		}
		top, _ := slices.BinarySearch(hs, v) // hs[top-1] < v <= hs[top], or v == hs[top]
		if top == len(hs) || hs[top] > v {
			top--
		}
		row := cnt.adls[of[i]]
		if r.Fall {
			row = cnt.falls[of[i]]
		}
		row[top]++ // fires for every threshold index <= top
	}
	for s := range cnt.falls {
		for _, row := range [][]int32{cnt.falls[s], cnt.adls[s]} {
			for h := len(row) - 2; h >= 0; h-- {
				row[h] += row[h+1]
			}
		}
	}
}

// objective is Objective over every subject but out at HorizStd index h.
func (cnt *counts) objective(subjects []string, nFalls, nADLs []int32, h, out int) float64 {
	var young, elderly Tally
	for s, subj := range subjects {
		if s == out {
			continue
		}
		t := &young
		if subj[1] == 'E' {
			t = &elderly
		}
		tp, fp := int(cnt.falls[s][h]), int(cnt.adls[s][h])
		t.TP += tp
		t.FN += int(nFalls[s]) - tp
		t.FP += fp
		t.TN += int(nADLs[s]) - fp
	}
	return Objective(young, elderly)
}
