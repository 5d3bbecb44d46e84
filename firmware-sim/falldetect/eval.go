package falldetect

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
)

// Outcome is the detector's verdict on one recording.
type Outcome struct {
	// Path, Code, Subject and Fall are the recording's.
	Path, Code, Subject string
	Fall                bool
	// Detected says whether the detector fired.
	Detected bool
}

// Evaluate judges every recording of c with one configuration.
func Evaluate(c Corpus, cfg Config) []Outcome {
	out := make([]Outcome, len(c.Recordings))
	for i, r := range c.Recordings {
		out[i] = outcome(r, r.Detected(cfg))
	}
	return out
}

// outcome pairs a recording with the verdict.
func outcome(r Recording, detected bool) Outcome {
	return Outcome{Path: r.Path, Code: r.Code, Subject: r.Subject, Fall: r.Fall, Detected: detected}
}

// Tally counts verdicts.
type Tally struct{ TP, FN, TN, FP int }

// add counts one verdict.
func (t *Tally) add(o Outcome) {
	switch {
	case o.Fall && o.Detected:
		t.TP++
	case o.Fall:
		t.FN++
	case o.Detected:
		t.FP++
	default:
		t.TN++
	}
}

// Falls and ADLs are the numbers of fall and activity recordings.
func (t Tally) Falls() int { return t.TP + t.FN }

// ADLs is the number of activity recordings.
func (t Tally) ADLs() int { return t.TN + t.FP }

// Sensitivity is TP/(TP+FN); ok is false when there were no falls.
func (t Tally) Sensitivity() (v float64, ok bool) { return ratio(t.TP, t.Falls()) }

// Specificity is TN/(TN+FP); ok is false when there were no activities.
func (t Tally) Specificity() (v float64, ok bool) { return ratio(t.TN, t.ADLs()) }

// ratio returns a/b, or false when b is 0 (never 0/0 as 0).
func ratio(a, b int) (float64, bool) {
	if b == 0 {
		return 0, false
	}
	return float64(a) / float64(b), true
}

// pct formats a ratio as a percentage with its counts, or "n/a" without any.
func pct(a, b int) string {
	v, ok := ratio(a, b)
	if !ok {
		return "n/a (0 files)"
	}
	return fmt.Sprintf("%.2f %% (%d/%d)", 100*v, a, b)
}

// groupName names a subject's SisFall group.
func groupName(subject string) string {
	if subject[1] == 'E' {
		return "elderly (SE)"
	}
	return "young (SA)"
}

// WriteReport prints, for the outcomes, the figures per group (sensitivity,
// specificity and their mean, "n/a" where a group has no falls or no
// activities), per activity and fall code, and every missed fall and false
// alarm. It returns the first write error.
func WriteReport(w io.Writer, outs []Outcome) error {
	groups := map[string]*Tally{}
	codes := map[string]*Tally{}
	for _, o := range outs {
		for _, k := range []struct {
			m   map[string]*Tally
			key string
		}{{groups, groupName(o.Subject)}, {codes, o.Code + " " + strings.Fields(groupName(o.Subject))[0]}} {
			if k.m[k.key] == nil {
				k.m[k.key] = &Tally{}
			}
			k.m[k.key].add(o)
		}
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "group\tfalls\tsensitivity\tactivities\tspecificity\tmean\n")
	for _, g := range sortedKeys(groups) {
		t := groups[g]
		fmt.Fprintf(tw, "%s\t%d\t%s\t%d\t%s\t%s\n", g, t.Falls(), pct(t.TP, t.Falls()), t.ADLs(), pct(t.TN, t.ADLs()), mean(*t))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	tw = tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "\ncode\tgroup\tfiles\tdetected\t\n")
	for _, k := range sortedKeys(codes) {
		t := codes[k]
		figure := "specificity"
		v, _ := t.Specificity()
		if t.Falls() > 0 {
			figure = "sensitivity"
			v, _ = t.Sensitivity()
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s %.1f %%\n", k[:3], k[4:], t.Falls()+t.ADLs(), t.TP+t.FP, figure, 100*v)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	return writeMistakes(w, outs)
}

// mean is the mean of sensitivity and specificity, or n/a when either is.
func mean(t Tally) string {
	se, ok1 := t.Sensitivity()
	sp, ok2 := t.Specificity()
	if !ok1 || !ok2 {
		return "n/a"
	}
	return fmt.Sprintf("%.2f %%", 50*(se+sp))
}

// sortedKeys returns m's keys in order.
func sortedKeys(m map[string]*Tally) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// writeMistakes lists missed falls and false alarms.
func writeMistakes(w io.Writer, outs []Outcome) error {
	for _, what := range []struct {
		name string
		fall bool
	}{{"missed fall", true}, {"false alarm", false}} {
		for _, o := range outs {
			if o.Fall == what.fall && o.Detected != o.Fall {
				if _, err := fmt.Fprintf(w, "%s: %s\n", what.name, o.Path); err != nil {
					return err
				}
			}
		}
	}
	return nil
}
