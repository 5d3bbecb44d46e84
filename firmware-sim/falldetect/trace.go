// Package falldetect is the on-device fall detector of the simulated wearable
// fall sensor: a float32 streaming detector after Sucerquia et al. 2017
// (SisFall; 5 Hz 4th-order low-pass, the paper's C8 feature over a 1 s
// window, then the impact, the posture and the stillness after the event). It
// reads SisFall recordings, evaluates and cross-validates the detector's
// thresholds on them (Load, Evaluate, CrossValidate), and synthesizes traces of
// falls and everyday movements for the simulated homes and the unit tests.
package falldetect

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
)

//go:generate go test -run TestGenerateFixtures -update

// SisFallHz is the sample rate of SisFall traces.
const SisFallHz = 200

// countsPerG is the ADXL345 scale used by SisFall: ±16 g over 13 bits is
// 32/8192 g per count, exactly 1/256 g (a still trace reads about 1 g).
const countsPerG = 256

// sisFallColumns is the number of columns of a SisFall line.
const sisFallColumns = 9

// Errors returned (wrapped in a *LineError) by ReadSisFall.
var (
	// ErrColumnCount means a line does not have 9 comma-separated columns.
	ErrColumnCount = errors.New("want 9 columns")
	// ErrNotInteger means a column is not a decimal integer.
	ErrNotInteger = errors.New("column is not an integer")
	// ErrTrailing means there is text after the terminating ';'.
	ErrTrailing = errors.New("text after ';'")
)

// ErrNoSamples is returned by ReadSisFall when the input holds no sample.
var ErrNoSamples = errors.New("falldetect: trace has no samples")

// Trace is a 3-axis accelerometer recording.
type Trace struct {
	// Hz is the sample rate.
	Hz float64
	// Samples are the x, y, z accelerations in g.
	Samples [][3]float64
}

// LineError is a parse error on one line of a SisFall trace.
type LineError struct {
	// Line is the 1-based line number.
	Line int
	// Err is the cause (ErrColumnCount, ErrNotInteger, ErrTrailing or a read error).
	Err error
}

// Error implements error.
func (e *LineError) Error() string {
	return fmt.Sprintf("sisfall line %d: %v", e.Line, e.Err)
}

// Unwrap returns the cause.
func (e *LineError) Unwrap() error { return e.Err }

// ReadSisFall reads a SisFall text trace: one sample per line, 9
// comma-separated integers ending in ';', spaces around values allowed, blank
// lines ignored. Columns 1-3 (the ADXL345, ±16 g over 13 bits: 32/8192 g, that
// is 1/256 g, per count) become the samples; the other columns are checked to
// be integers and dropped. The terminating ';' is optional (some copies of the
// data set lose it on the last line), but nothing may follow it. Errors are
// *LineError naming the line, or ErrNoSamples.
func ReadSisFall(r io.Reader) (Trace, error) {
	t := Trace{Hz: SisFallHz}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s, ok, err := parseLine(sc.Bytes())
		if err != nil {
			return Trace{}, &LineError{Line: line, Err: err}
		}
		if ok {
			t.Samples = append(t.Samples, s)
		}
	}
	if err := sc.Err(); err != nil {
		return Trace{}, &LineError{Line: line + 1, Err: err}
	}
	if len(t.Samples) == 0 {
		return Trace{}, ErrNoSamples
	}
	return t, nil
}

// parseLine decodes one line without allocating; ok is false for a blank line.
func parseLine(text []byte) (s [3]float64, ok bool, err error) {
	text = bytes.TrimSpace(text)
	if len(text) == 0 {
		return s, false, nil
	}
	if i := bytes.IndexByte(text, ';'); i >= 0 {
		if len(bytes.TrimSpace(text[i+1:])) != 0 {
			return s, false, ErrTrailing
		}
		text = text[:i]
	}
	if n := bytes.Count(text, []byte{','}) + 1; n != sisFallColumns {
		return s, false, fmt.Errorf("%w, got %d", ErrColumnCount, n)
	}
	for i := range sisFallColumns {
		col := text
		if j := bytes.IndexByte(text, ','); j >= 0 {
			col, text = text[:j], text[j+1:]
		}
		v, ok := atoi(bytes.TrimSpace(col))
		if !ok {
			return s, false, fmt.Errorf("%w: column %d %q", ErrNotInteger, i+1, bytes.TrimSpace(col))
		}
		if i < 3 {
			s[i] = float64(v) / countsPerG
		}
	}
	return s, true, nil
}

// atoi parses an optionally signed decimal integer of at most 9 digits.
func atoi(b []byte) (int, bool) {
	neg := false
	if len(b) > 0 && (b[0] == '-' || b[0] == '+') {
		neg, b = b[0] == '-', b[1:]
	}
	if len(b) == 0 || len(b) > 9 {
		return 0, false
	}
	v := 0
	for _, c := range b {
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int(c-'0')
	}
	if neg {
		v = -v
	}
	return v, true
}

// WriteSisFall writes t in the SisFall text format read by ReadSisFall:
// columns 1-3 hold the accelerations at 256 counts per g (rounded), the other
// six columns are zero. The sample rate is not stored; SisFall is 200 Hz.
func WriteSisFall(w io.Writer, t Trace) error {
	bw := bufio.NewWriter(w)
	for _, s := range t.Samples {
		_, err := fmt.Fprintf(bw, "%d,%d,%d,0,0,0,0,0,0;\n", toCount(s[0]), toCount(s[1]), toCount(s[2]))
		if err != nil {
			return err
		}
	}
	return bw.Flush()
}

// toCount converts g to ADXL345 counts.
func toCount(g float64) int {
	return int(math.Round(g * countsPerG))
}
