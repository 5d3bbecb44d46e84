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
