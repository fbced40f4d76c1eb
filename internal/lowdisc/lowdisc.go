// Package lowdisc generates quasi-random (low-discrepancy) point sequences in
// the unit cube [0,1)^d: Sobol and Halton sequences, each optionally
// scrambled under a uint64 seed.
//
// Points are addressed by index. Point(n, dst) computes point n directly from
// n, with no iteration state, so a given (dim, scramble, seed, n) always
// yields the same point, whichever goroutine or process asks and in whatever
// order. The first k coordinates of a sequence do not depend on its
// dimension: a 3-dimensional sequence is the projection of a 10-dimensional
// one built with the same scramble flag and seed.
//
// Values of type *Sobol and *Halton are immutable after construction and safe
// for concurrent use by multiple goroutines.
package lowdisc

// Sequence is a low-discrepancy sequence in [0,1)^Dim() with random access.
// *Sobol and *Halton implement it.
type Sequence interface {
	// Dim returns the number of coordinates of each point.
	Dim() int
	// Point returns point n. If cap(dst) >= Dim(), the point is written to
	// dst[:Dim()], which is returned; otherwise a new slice is allocated.
	Point(n uint64, dst []float64) []float64
}

var (
	_ Sequence = (*Sobol)(nil)
	_ Sequence = (*Halton)(nil)
)

// fit returns dst resliced to length n, allocating only if its capacity is
// too small.
func fit(dst []float64, n int) []float64 {
	if cap(dst) < n {
		return make([]float64, n)
	}
	return dst[:n]
}

// splitmix64 advances *state and returns the next output of the SplitMix64
// generator. It derives all scrambling parameters from a seed, so they are
// fixed by the seed on every platform and Go release.
func splitmix64(state *uint64) uint64 {
	*state += 0x9e3779b97f4a7c15
	return mix64(*state)
}

// mix64 is the SplitMix64 output function, a bijective 64-bit mixer.
func mix64(z uint64) uint64 {
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9
	z = (z ^ (z >> 27)) * 0x94d049bb133111eb
	return z ^ (z >> 31)
}
