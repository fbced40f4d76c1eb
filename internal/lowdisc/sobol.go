package lowdisc

import (
	"fmt"
	"math/bits"
)

// MaxSobolDim is the largest dimension NewSobol accepts: the number of
// dimensions covered by the embedded Joe–Kuo table (every primitive
// polynomial of degree 13 or less).
const MaxSobolDim = 1111

// Sobol is a Sobol sequence in [0,1)^d built from the Joe–Kuo
// new-joe-kuo-6.21201 direction numbers. Direction numbers have 64 bits, so
// every uint64 index is valid; coordinates have 53-bit resolution (a
// float64 significand).
//
// Points are in Gray-code order: point n is the XOR of the direction
// numbers selected by the set bits of n^(n>>1). This is the order of Joe and
// Kuo's reference generator and of SciPy, and for every m, points 0..2^m-1
// are the same set as in the natural order. The unscrambled point 0 is the
// origin; whether to skip it is up to the caller.
//
// A scrambled Sobol applies hash-based Owen scrambling (Burley, "Practical
// Hash-based Owen Scrambling", JCGT 2020): each coordinate's binary digits
// are bit-reversed, passed through a Laine–Karras style hash made of
// additions, multiplications by odd constants and x ^= x*even steps, and
// reversed back. Each step changes a digit only as a function of the digits
// before it, so the map is a nested (Owen-type) scramble whose digit flips
// are chosen by the hash: it keeps the (t,m,s)-net properties of the
// unscrambled points, makes each point uniformly distributed over seeds
// (point 0 is no longer the origin), and costs O(1) time and no tables per
// coordinate. It is preferred to a random linear matrix scramble plus
// digital shift, which randomizes less (each scrambled digit is an affine
// function of the original digits) and needs a 64×64 bit matrix per
// dimension. The hash constants are drawn per dimension from the seed, so
// each seed gives a different, reproducible scramble.
//
// A *Sobol is immutable and safe for concurrent use.
type Sobol struct {
	dirs []sobolDirs     // dirs[j][b] is the direction number of bit b in dimension j
	keys []owenScrambler // per dimension; nil when unscrambled
}

// sobolDirs holds one dimension's direction numbers as 64-bit binary
// fractions: bit 63 is the first digit after the binary point.
type sobolDirs [64]uint64

// NewSobol returns a Sobol sequence in dim dimensions, 1 <= dim <=
// MaxSobolDim. If scramble is true the sequence is Owen-scrambled under seed;
// otherwise seed is ignored.
func NewSobol(dim int, scramble bool, seed uint64) (*Sobol, error) {
	if dim < 1 || dim > MaxSobolDim {
		return nil, fmt.Errorf("lowdisc: Sobol dimension %d out of range [1, %d]", dim, MaxSobolDim)
	}
	s := &Sobol{dirs: make([]sobolDirs, dim)}
	for b := range 64 {
		s.dirs[0][b] = 1 << (63 - b) // van der Corput: v_k = 2^-k
	}
	row := 0
	for j := 1; j < dim; j++ {
		row = sobolInit(&s.dirs[j], row)
	}
	if scramble {
		s.keys = make([]owenScrambler, dim)
		state := seed
		for j := range s.keys {
			s.keys[j] = newOwenScrambler(&state)
		}
	}
	return s, nil
}

// sobolInit fills d from the sobolTable row starting at index row and
// returns the index of the next row.
//
// With s the degree of the polynomial and a_i its coefficient of x^(s-i)
// (bit s-i of the encoded polynomial), the direction numbers v_k = m_k/2^k
// satisfy, for k > s,
//
//	v_k = a_1 v_{k-1} ^ ... ^ a_{s-1} v_{k-s+1} ^ v_{k-s} ^ v_{k-s}/2^s.
//
// v_k has k binary digits, so 64-bit fractions hold v_1..v_64 exactly.
func sobolInit(d *sobolDirs, row int) int {
	poly := uint64(sobolTable[row])
	deg := bits.Len64(poly) - 1
	for k := range deg {
		d[k] = uint64(sobolTable[row+1+k]) << (63 - k)
	}
	for k := deg; k < 64; k++ {
		v := d[k-deg] ^ d[k-deg]>>deg
		for i := 1; i < deg; i++ {
			if poly>>(deg-i)&1 == 1 {
				v ^= d[k-i]
			}
		}
		d[k] = v
	}
	return row + 1 + deg
}

// Dim returns the number of coordinates of each point.
func (s *Sobol) Dim() int { return len(s.dirs) }

// Point returns point n of the sequence, each coordinate in [0,1). If
// cap(dst) >= s.Dim(), the point is written to dst[:s.Dim()], which is
// returned, and Point does not allocate; otherwise a new slice is allocated.
func (s *Sobol) Point(n uint64, dst []float64) []float64 {
	dst = fit(dst, len(s.dirs))
	g := n ^ n>>1
	for j := range dst {
		d := &s.dirs[j]
		var x uint64
		for b := g; b != 0; b &= b - 1 {
			x ^= d[bits.TrailingZeros64(b)&63]
		}
		if s.keys != nil {
			x = s.keys[j].scramble(x)
		}
		dst[j] = float64(x>>11) * 0x1p-53
	}
	return dst
}

// owenScrambler holds the per-dimension constants of the scrambling hash.
type owenScrambler struct {
	add0, even0, odd0 uint64
	add1, even1, odd1 uint64
}

// newOwenScrambler draws one dimension's hash constants from state.
func newOwenScrambler(state *uint64) owenScrambler {
	// Even multipliers are 2 mod 4, so each digit's flip depends on the
	// digit right before it, not only on earlier ones.
	return owenScrambler{
		add0:  splitmix64(state),
		even0: splitmix64(state)&^3 | 2,
		odd0:  splitmix64(state) | 1,
		add1:  splitmix64(state),
		even1: splitmix64(state)&^3 | 2,
		odd1:  splitmix64(state) | 1,
	}
}

// scramble applies the Owen-type scramble to the 64-bit binary fraction
// x. After bit reversal, digit i of x is bit i, and every step below maps bit
// i to itself XOR a function of bits 0..i-1: adding a constant (the carry
// into bit i depends on lower bits only), x ^= x*even (bit i of x*even
// depends on lower bits only) and x *= odd (which is x + x*(odd-1)).
func (k *owenScrambler) scramble(x uint64) uint64 {
	x = bits.Reverse64(x)
	x += k.add0
	x ^= x * k.even0
	x *= k.odd0
	x += k.add1
	x ^= x * k.even1
	x *= k.odd1
	return bits.Reverse64(x)
}
