// Package falldetect is the on-device fall detector of the simulated wearable
// fall sensor: it reads accelerometer traces in the SisFall text format,
// synthesizes traces of falls and activities of daily living, detects falls
// with a threshold detector (free fall, impact, stillness, orientation change)
// and evaluates the detector over a folder of labelled traces.
package falldetect

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
)

//go:generate go test -run TestGenerateTraces -update

// SisFallHz is the sample rate of SisFall traces.
const SisFallHz = 200

// countsPerG is the ADXL345 scale used by SisFall (±16 g, 13 bit).
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
// lines ignored. Columns 1-3 (the ADXL345 at 256 counts per g) become the
// samples; the other columns are checked to be integers and dropped. The
// terminating ';' is optional (some copies of the data set lose it on the last
// line), but nothing may follow it. Errors are *LineError naming the line, or
// ErrNoSamples.
func ReadSisFall(r io.Reader) (Trace, error) {
	t := Trace{Hz: SisFallHz}
	sc := bufio.NewScanner(r)
	line := 0
	for sc.Scan() {
		line++
		s, ok, err := parseLine(sc.Text())
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

// parseLine decodes one line; ok is false for a blank line.
func parseLine(text string) (s [3]float64, ok bool, err error) {
	text = strings.TrimSpace(text)
	if text == "" {
		return s, false, nil
	}
	if i := strings.IndexByte(text, ';'); i >= 0 {
		if strings.TrimSpace(text[i+1:]) != "" {
			return s, false, ErrTrailing
		}
		text = text[:i]
	}
	cols := strings.Split(text, ",")
	if len(cols) != sisFallColumns {
		return s, false, fmt.Errorf("%w, got %d", ErrColumnCount, len(cols))
	}
	for i, c := range cols {
		v, err := strconv.Atoi(strings.TrimSpace(c))
		if err != nil {
			return s, false, fmt.Errorf("%w: column %d %q", ErrNotInteger, i+1, strings.TrimSpace(c))
		}
		if i < 3 {
			s[i] = float64(v) / countsPerG
		}
	}
	return s, true, nil
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
