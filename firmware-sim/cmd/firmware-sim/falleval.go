package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"text/tabwriter"

	"carebed/firmware-sim/falldetect"
)

// fallEval runs `firmware-sim falleval [-loso [-c8-only]] [-include-held-out] [DIR]`.
func fallEval(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("falleval", flag.ContinueOnError)
	fs.SetOutput(stderr)
	loso := fs.Bool("loso", false, "leave-one-subject-out cross-validation of the thresholds instead of the shipped ones")
	c8Only := fs.Bool("c8-only", false, "with -loso: tune only the C8 threshold (the paper's C8 detector, for comparison)")
	heldOut := fs.Bool("include-held-out", false, "also read the held-out subjects (the project's independent check only)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	dir := os.Getenv("SISFALL_DIR")
	switch {
	case fs.NArg() == 1:
		dir = fs.Arg(0)
	case fs.NArg() > 1 || dir == "":
		return errors.New("falleval takes one folder of SisFall recordings (or SISFALL_DIR)")
	}
	c, err := falldetect.Load(dir, falldetect.LoadOptions{IncludeHeldOut: *heldOut})
	for _, b := range c.Bad {
		fmt.Fprintf(stderr, "firmware-sim: falleval: skipped %s: %v\n", b.Path, b.Err)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "recordings: %d read, %d unreadable (skipped), %d not named like SisFall (ignored), %d of held-out subjects (not read)\n\n",
		len(c.Recordings), len(c.Bad), c.Ignored, c.HeldOut)
	if !*loso {
		cfg := falldetect.DefaultConfig()
		fmt.Fprintf(stdout, "thresholds (shipped): %s\n\n", describe(cfg))
		return falldetect.WriteReport(stdout, falldetect.Evaluate(c, cfg))
	}
	g := falldetect.DefaultGrid()
	if *c8Only {
		g.Peak, g.Upright, g.PostStd = []float32{1}, []float32{0}, []float32{16}
	}
	folds, all := falldetect.CrossValidate(c, g)
	return writeLOSO(stdout, folds, all)
}

// writeLOSO prints each fold's thresholds, the pooled report and the
// thresholds chosen on every subject.
func writeLOSO(w io.Writer, folds []falldetect.Fold, all falldetect.Config) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintf(tw, "left out\tthresholds chosen on the others\tfalls missed\tfalse alarms\n")
	var outs []falldetect.Outcome
	for _, f := range folds {
		missed, alarms := 0, 0
		for _, o := range f.Outcomes {
			switch {
			case o.Fall && !o.Detected:
				missed++
			case !o.Fall && o.Detected:
				alarms++
			}
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\n", f.Subject, describe(f.Config), missed, alarms)
		outs = append(outs, f.Outcomes...)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ncross-validated (each subject judged with thresholds chosen without it):\n\n")
	if err := falldetect.WriteReport(w, outs); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "\nthresholds chosen on all these subjects: %s\nshipped (DefaultConfig):                 %s\n",
		describe(all), describe(falldetect.DefaultConfig()))
	return err
}

// describe prints a configuration's thresholds.
func describe(c falldetect.Config) string {
	return fmt.Sprintf("C8 >= %.3f g, peak >= %.1f g, upright >= %.0f°, after std <= %.3f g",
		c.HorizStdG, c.PeakG, c.UprightDeg, c.PostStdG)
}
