package falldetect

import "math"

// biquad is one second-order section of an IIR filter in transposed direct
// form II, in float32 as a microcontroller's FPU runs it.
type biquad struct {
	b0, b1, b2, a1, a2 float32
	z1, z2             float32
}

// step filters one sample.
func (q *biquad) step(x float32) float32 {
	y := q.b0*x + q.z1
	q.z1 = q.b1*x - q.a1*y + q.z2
	q.z2 = q.b2*x - q.a2*y
	return y
}

// settle sets the state to the steady state for a constant input x, so a
// filter started on a still sensor does not ring.
func (q *biquad) settle(x float32) {
	// With y = x at steady state: z2 = b2*x - a2*x, z1 = b1*x - a1*x + z2.
	q.z2 = q.b2*x - q.a2*x
	q.z1 = q.b1*x - q.a1*x + q.z2
}

// lowPass4 is the 4th-order Butterworth low-pass of the SisFall paper (two
// biquads), one per axis.
type lowPass4 [2]biquad

// newLowPass4 designs a 4th-order Butterworth low-pass at fc Hz for samples
// at fs Hz (bilinear transform, cutoff prewarped; design in float64, run in
// float32).
func newLowPass4(fc, fs float64) lowPass4 {
	var f lowPass4
	w0 := 2 * math.Pi * fc / fs
	cw, sw := math.Cos(w0), math.Sin(w0)
	for i, q := range []float64{1 / (2 * math.Cos(math.Pi/8)), 1 / (2 * math.Cos(3*math.Pi/8))} {
		alpha := sw / (2 * q)
		a0 := 1 + alpha
		f[i] = biquad{
			b0: float32((1 - cw) / 2 / a0),
			b1: float32((1 - cw) / a0),
			b2: float32((1 - cw) / 2 / a0),
			a1: float32(-2 * cw / a0),
			a2: float32((1 - alpha) / a0),
		}
	}
	return f
}

// step filters one sample through both sections.
func (f *lowPass4) step(x float32) float32 {
	return f[1].step(f[0].step(x))
}

// settle starts the filter at rest on the constant input x.
func (f *lowPass4) settle(x float32) {
	f[0].settle(x)
	f[1].settle(x)
}
