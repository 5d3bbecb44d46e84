package falldetect

import "math"

// norm returns the length of v.
func norm(v [3]float64) float64 {
	return math.Sqrt(v[0]*v[0] + v[1]*v[1] + v[2]*v[2])
}

// add returns a+b.
func add(a, b [3]float64) [3]float64 {
	return [3]float64{a[0] + b[0], a[1] + b[1], a[2] + b[2]}
}

// scale returns k*v.
func scale(v [3]float64, k float64) [3]float64 {
	return [3]float64{k * v[0], k * v[1], k * v[2]}
}

// unit returns v scaled to length 1 (or v when it is zero).
func unit(v [3]float64) [3]float64 {
	n := norm(v)
	if n == 0 {
		return v
	}
	return scale(v, 1/n)
}

// angleDeg returns the angle between a and b in degrees (0 if either is zero).
func angleDeg(a, b [3]float64) float64 {
	na, nb := norm(a), norm(b)
	if na == 0 || nb == 0 {
		return 0
	}
	c := (a[0]*b[0] + a[1]*b[1] + a[2]*b[2]) / (na * nb)
	return math.Acos(math.Max(-1, math.Min(1, c))) * 180 / math.Pi
}

// window is a sliding window of samples with running sums.
type window struct {
	vecs   [][3]float64
	next   int
	full   bool
	sum    [3]float64
	sumM   float64
	sumMM  float64
	sumCnt int
}

// newWindow returns a window of n samples.
func newWindow(n int) *window {
	return &window{vecs: make([][3]float64, n)}
}

// push adds v, dropping the oldest sample once the window is full.
func (w *window) push(v [3]float64) {
	if w.full {
		old := w.vecs[w.next]
		m := norm(old)
		w.sum, w.sumM, w.sumMM = add(w.sum, scale(old, -1)), w.sumM-m, w.sumMM-m*m
	} else {
		w.sumCnt++
	}
	m := norm(v)
	w.vecs[w.next] = v
	w.sum, w.sumM, w.sumMM = add(w.sum, v), w.sumM+m, w.sumMM+m*m
	w.next = (w.next + 1) % len(w.vecs)
	if w.next == 0 {
		w.full = true
		w.resum()
	}
}

// resum recomputes the running sums from the buffer so rounding errors do
// not build up over a long stream.
func (w *window) resum() {
	w.sum, w.sumM, w.sumMM = [3]float64{}, 0, 0
	for _, v := range w.vecs {
		m := norm(v)
		w.sum, w.sumM, w.sumMM = add(w.sum, v), w.sumM+m, w.sumMM+m*m
	}
}

// mean returns the mean vector of the window.
func (w *window) mean() [3]float64 {
	if w.sumCnt == 0 {
		return [3]float64{}
	}
	return scale(w.sum, 1/float64(w.sumCnt))
}

// std returns the standard deviation of the magnitudes in the window.
func (w *window) std() float64 {
	if w.sumCnt == 0 {
		return 0
	}
	n := float64(w.sumCnt)
	mu := w.sumM / n
	return math.Sqrt(math.Max(0, w.sumMM/n-mu*mu))
}
