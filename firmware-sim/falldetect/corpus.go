package falldetect

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sync"
)

// sisFallName is the name of a SisFall recording: activity (D) or fall (F)
// code, subject (SA young, SE elderly), trial.
var sisFallName = regexp.MustCompile(`^([DF]\d\d)_(S[AE]\d\d)_R\d\d\.txt$`)

// HeldOut are the SisFall subjects kept out of all tuning and reporting for an
// independent check of the detector: Load skips their files unless asked.
var HeldOut = []string{"SA01", "SA07", "SA18", "SA21", "SE01", "SE02", "SE06", "SE13"}

// ErrNoTraces is returned by Load when a folder holds no SisFall recording.
var ErrNoTraces = errors.New("falldetect: no SisFall recordings (files named like F05_SA03_R02.txt)")

// Recording is one labelled SisFall recording reduced to the detector's
// candidate events: what every threshold is judged on.
type Recording struct {
	// Path is the file path relative to the loaded folder.
	Path string
	// Code is the activity (D01..D19) or fall (F01..F15) code.
	Code string
	// Subject is the subject id (SA02, SE10, ...).
	Subject string
	// Fall is the label: the code starts with F.
	Fall bool
	// Candidates are the features of every candidate event, in order.
	Candidates []Features
}

// Elderly reports whether the subject is one of SisFall's elderly (SE).
func (r Recording) Elderly() bool { return r.Subject[1] == 'E' }

// Detected reports whether c fires on any candidate of r (what Detect with c
// returns on the recording).
func (r Recording) Detected(c Config) bool {
	for _, f := range r.Candidates {
		if c.Fires(f) {
			return true
		}
	}
	return false
}

// BadFile is a recording that could not be read.
type BadFile struct {
	// Path is the file path relative to the loaded folder.
	Path string
	// Err names the line when it is a parse error (*LineError).
	Err error
}

// Corpus is what Load found.
type Corpus struct {
	// Recordings are the readable recordings, in path order.
	Recordings []Recording
	// Bad are the recordings that could not be read, in path order.
	Bad []BadFile
	// Ignored counts files not named like a SisFall recording; HeldOut counts
	// those of held-out subjects, skipped unread.
	Ignored, HeldOut int
}

// LoadOptions change what Load reads.
type LoadOptions struct {
	// IncludeHeldOut reads the held-out subjects too (the independent check).
	IncludeHeldOut bool
	// Workers is how many files are read at once (0: GOMAXPROCS).
	Workers int
}

// Load reads every SisFall recording under dir, following symbolic links to
// folders (each real folder once), and runs the detector's feature stage over
// each. Files not named like SisFall recordings are counted and ignored; a
// file that cannot be read is listed in Corpus.Bad and the rest go on. It
// returns an error when dir cannot be walked, and ErrNoTraces when no
// recording was read.
func Load(dir string, opt LoadOptions) (Corpus, error) {
	var c Corpus
	var paths []string
	err := walk(dir, dir, map[string]bool{}, func(rel string, name string) {
		m := sisFallName.FindStringSubmatch(name)
		switch {
		case m == nil:
			c.Ignored++
		case !opt.IncludeHeldOut && slices.Contains(HeldOut, m[2]):
			c.HeldOut++
		default:
			paths = append(paths, rel)
		}
	})
	if err != nil {
		return Corpus{}, err
	}
	slices.Sort(paths)
	recs := make([]Recording, len(paths))
	errs := make([]error, len(paths))
	workers := opt.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range workers {
		wg.Go(func() {
			for i := range next {
				recs[i], errs[i] = loadRecording(dir, paths[i])
			}
		})
	}
	for i := range paths {
		next <- i
	}
	close(next)
	wg.Wait()
	for i, r := range recs {
		if errs[i] != nil {
			c.Bad = append(c.Bad, BadFile{Path: paths[i], Err: errs[i]})
			continue
		}
		c.Recordings = append(c.Recordings, r)
	}
	if len(c.Recordings) == 0 {
		return c, fmt.Errorf("%w under %s (%d other files, %d unreadable, %d of held-out subjects skipped)",
			ErrNoTraces, dir, c.Ignored, len(c.Bad), c.HeldOut)
	}
	return c, nil
}

// walk calls fn for every regular file under path (relative name and base
// name), following symbolic links; seen holds the real folders visited so a
// link loop is walked once.
func walk(root, path string, seen map[string]bool, fn func(rel, name string)) error {
	real, err := filepath.EvalSymlinks(path)
	if err != nil {
		return err
	}
	if seen[real] {
		return nil
	}
	seen[real] = true
	entries, err := os.ReadDir(path)
	if err != nil {
		return err
	}
	for _, e := range entries {
		p := filepath.Join(path, e.Name())
		info, err := os.Stat(p) // follows links
		if err != nil {
			continue // a dangling link: nothing to read
		}
		if info.IsDir() {
			if err := walk(root, p, seen, fn); err != nil {
				return err
			}
			continue
		}
		if info.Mode().IsRegular() {
			rel, _ := filepath.Rel(root, p)
			fn(rel, e.Name())
		}
	}
	return nil
}

// loadRecording reads one recording and collects its candidates.
func loadRecording(dir, rel string) (Recording, error) {
	f, err := os.Open(filepath.Join(dir, rel))
	if err != nil {
		return Recording{}, err
	}
	defer f.Close()
	t, err := ReadSisFall(f)
	if err != nil {
		return Recording{}, err
	}
	m := sisFallName.FindStringSubmatch(filepath.Base(rel))
	r := Recording{Path: rel, Code: m[1], Subject: m[2], Fall: m[1][0] == 'F'}
	r.Candidates = Candidates(t)
	return r, nil
}

// Candidates returns the features of every candidate event of t (flushing
// at the end), whatever the thresholds.
func Candidates(t Trace) []Features {
	d, err := New(DefaultConfig(), t.Hz)
	if err != nil {
		return nil
	}
	var out []Features
	d.OnCandidate = func(f Features) { out = append(out, f) }
	for _, s := range t.Samples {
		d.Push(f32(s))
	}
	d.Flush()
	return out
}
