package falldetect

import (
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
)

// FileResult is the outcome of the detector on one labelled trace.
type FileResult struct {
	// Path is the file path relative to the evaluated folder.
	Path string
	// Fall is the label: true for F* files, false for D* files.
	Fall bool
	// Detected says whether the detector reported a fall.
	Detected bool
	// Detection is the reported fall when Detected.
	Detection Detection
}

// Report sums up an evaluation: the confusion counts, sensitivity
// TP/(TP+FN), specificity TN/(TN+FP) and their mean (each 0 when its
// denominator is 0), and the per-file results in path order.
type Report struct {
	TP, FN, TN, FP                 int
	Sensitivity, Specificity, Mean float64
	Files                          []FileResult
}

// Evaluate runs Detect with c over every *.txt trace under dir (recursive).
// The label comes from the file name, as in SisFall: names starting with F
// are falls, with D activities of daily living; other files are skipped. It
// returns c.Validate's error, or the first read or parse error naming the file.
func Evaluate(dir string, c Config) (Report, error) {
	if err := c.Validate(); err != nil {
		return Report{}, err
	}
	var r Report
	err := filepath.WalkDir(dir, func(path string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		fall, ok := label(e)
		if !ok {
			return nil
		}
		res, err := evaluateFile(path, fall, c)
		if err != nil {
			return err
		}
		res.Path, _ = filepath.Rel(dir, path)
		r.add(res)
		return nil
	})
	if err != nil {
		return Report{}, err
	}
	r.Sensitivity, r.Specificity = ratio(r.TP, r.TP+r.FN), ratio(r.TN, r.TN+r.FP)
	r.Mean = (r.Sensitivity + r.Specificity) / 2
	return r, nil
}

// label tells whether e is a trace file to evaluate and whether it is a fall.
func label(e fs.DirEntry) (fall, ok bool) {
	name := e.Name()
	if e.IsDir() || !strings.HasSuffix(name, ".txt") {
		return false, false
	}
	switch {
	case strings.HasPrefix(name, "F"):
		return true, true
	case strings.HasPrefix(name, "D"):
		return false, true
	}
	return false, false
}

// evaluateFile reads one trace and runs the detector on it.
func evaluateFile(path string, fall bool, c Config) (FileResult, error) {
	f, err := os.Open(path)
	if err != nil {
		return FileResult{}, err
	}
	defer f.Close()
	t, err := ReadSisFall(f)
	if err != nil {
		return FileResult{}, fmt.Errorf("%s: %w", path, err)
	}
	det, ok := Detect(t, c)
	return FileResult{Fall: fall, Detected: ok, Detection: det}, nil
}

// add counts one file result.
func (r *Report) add(res FileResult) {
	switch {
	case res.Fall && res.Detected:
		r.TP++
	case res.Fall:
		r.FN++
	case res.Detected:
		r.FP++
	default:
		r.TN++
	}
	r.Files = append(r.Files, res)
}

// ratio returns a/b, or 0 when b is 0.
func ratio(a, b int) float64 {
	if b == 0 {
		return 0
	}
	return float64(a) / float64(b)
}

// WriteText prints the figures, a confusion table and the misclassified
// files, for `firmware-sim falleval DIR`. It returns the first write error.
func (r Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "files:\t%d (%d falls, %d activities)\n", len(r.Files), r.TP+r.FN, r.TN+r.FP)
	fmt.Fprintf(tw, "sensitivity:\t%.3f (%d/%d)\n", r.Sensitivity, r.TP, r.TP+r.FN)
	fmt.Fprintf(tw, "specificity:\t%.3f (%d/%d)\n", r.Specificity, r.TN, r.TN+r.FP)
	fmt.Fprintf(tw, "mean:\t%.3f\n\n", r.Mean)
	fmt.Fprintf(tw, "\tdetected\tnot detected\n")
	fmt.Fprintf(tw, "fall\t%d\t%d\n", r.TP, r.FN)
	fmt.Fprintf(tw, "activity\t%d\t%d\n", r.FP, r.TN)
	if err := tw.Flush(); err != nil {
		return err
	}
	return r.writeMistakes(w)
}

// writeMistakes lists missed falls and false alarms.
func (r Report) writeMistakes(w io.Writer) error {
	for _, f := range r.Files {
		if f.Fall == f.Detected {
			continue
		}
		what := "missed fall"
		if f.Detected {
			what = "false alarm"
		}
		if _, err := fmt.Fprintf(w, "%s: %s\n", what, f.Path); err != nil {
			return err
		}
	}
	return nil
}
