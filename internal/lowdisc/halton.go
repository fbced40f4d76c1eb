package lowdisc

import (
	"fmt"
	"math/bits"
)

// MaxHaltonDim is the largest dimension NewHalton accepts. It matches
// MaxSobolDim; its largest base is the 1111th prime, 8933.
const MaxHaltonDim = 1111

// Halton is a Halton sequence in [0,1)^d: coordinate j of point n is the
// radical inverse of n in base p_j, the (j+1)th prime (2, 3, 5, ...).
// Each coordinate keeps as many base-p_j digits as fit in a float64's 53-bit
// significand (53 for base 2, 33 for base 3, 4 for base 8933), so indices
// that agree in those low digits give the same coordinate. The unscrambled
// point 0 is the origin.
//
// A scrambled Halton replaces digit i of coordinate j (counting from the
// most significant, including the zero digits past the end of n) by
// π_{j,i}(digit), where each π_{j,i} is an independent pseudo-random
// permutation of [0, p_j) chosen by the seed. Unscrambled Halton points in
// neighbouring high dimensions lie on a few lines for long stretches of n;
// the permutations remove that correlation. They keep the stratification
// of the first p^k points of each coordinate into p^k equal intervals, and
// make every coordinate of every point uniformly distributed over seeds.
// For small bases the permutations are drawn by Fisher–Yates shuffles and
// stored (at most 8 KiB per coordinate); for larger bases, where tables
// would be big, each π_{j,i} is a swap-or-not shuffle (Hoang, Morris and
// Rogaway, 2012) evaluated on the fly, which makes such coordinates slower.
//
// A *Halton is immutable and safe for concurrent use.
type Halton struct {
	axes []haltonAxis
}

// haltonAxis is one coordinate of a Halton sequence.
type haltonAxis struct {
	base   uint64
	digits int      // number of base-`base` digits kept; base^digits <= 2^53
	denom  float64  // base^digits, exact
	pow    []uint64 // pow[k] = base^k, k = 0..digits
	keys   []uint64 // per digit position; nil when unscrambled
	tail   []uint64 // tail[k]: value of positions k..digits-1 when their digits are 0
	perm   []uint16 // perm[i*base+d] = π_i(d), for small bases only; else nil
	rounds int      // swap-or-not rounds
}

// haltonTableMax bounds the number of entries, base*digits, of a stored
// permutation table: bases up to 811 get tables.
const haltonTableMax = 1 << 12

// NewHalton returns a Halton sequence in dim dimensions, 1 <= dim <=
// MaxHaltonDim, using the first dim primes as bases. If scramble is true the
// digits are permuted under seed; otherwise seed is ignored.
func NewHalton(dim int, scramble bool, seed uint64) (*Halton, error) {
	if dim < 1 || dim > MaxHaltonDim {
		return nil, fmt.Errorf("lowdisc: Halton dimension %d out of range [1, %d]", dim, MaxHaltonDim)
	}
	h := &Halton{axes: make([]haltonAxis, dim)}
	state := seed
	for j, p := range firstPrimes(dim) {
		a := &h.axes[j]
		a.base = p
		a.pow = append(make([]uint64, 0, 54), 1)
		for a.pow[a.digits] <= (1<<53)/p {
			a.pow = append(a.pow, a.pow[a.digits]*p)
			a.digits++
		}
		a.denom = float64(a.pow[a.digits])
		if !scramble {
			continue
		}
		a.rounds = swapRounds(p)
		a.keys = make([]uint64, a.digits)
		for i := range a.keys {
			a.keys[i] = splitmix64(&state)
		}
		if p*uint64(a.digits) <= haltonTableMax {
			a.perm = make([]uint16, p*uint64(a.digits))
			for i := range a.digits {
				fisherYates(a.perm[uint64(i)*p:uint64(i+1)*p], a.keys[i])
			}
		}
		a.tail = make([]uint64, a.digits+1)
		for k := a.digits - 1; k >= 0; k-- {
			a.tail[k] = a.tail[k+1] + a.permute(k, 0)*a.pow[a.digits-1-k]
		}
	}
	return h, nil
}

// Dim returns the number of coordinates of each point.
func (h *Halton) Dim() int { return len(h.axes) }

// Point returns point n of the sequence, each coordinate in [0,1). If
// cap(dst) >= h.Dim(), the point is written to dst[:h.Dim()], which is
// returned, and Point does not allocate; otherwise a new slice is allocated.
func (h *Halton) Point(n uint64, dst []float64) []float64 {
	dst = fit(dst, len(h.axes))
	for j := range dst {
		dst[j] = h.axes[j].coord(n)
	}
	return dst
}

// coord returns the scrambled or plain radical inverse of n. Since
// a.fraction(n) < base^digits <= 2^53, the quotient rounds correctly and
// is below 1.
func (a *haltonAxis) coord(n uint64) float64 {
	return float64(a.fraction(n)) / a.denom
}

// fraction returns the coordinate of point n scaled by base^digits: the
// integer sum over positions i < digits of digit_i * base^(digits-1-i),
// where digit_i is the ith base-`base` digit of n, permuted if scrambled.
func (a *haltonAxis) fraction(n uint64) uint64 {
	var r uint64
	k := 0
	for m := n; m != 0 && k < a.digits; k++ {
		q := m / a.base
		d := m - q*a.base
		m = q
		if a.keys != nil {
			d = a.permute(k, d)
		}
		r = r*a.base + d
	}
	r *= a.pow[a.digits-k]
	if a.tail != nil {
		r += a.tail[k]
	}
	return r
}

// permute returns π_i(d) for digit position i.
func (a *haltonAxis) permute(i int, d uint64) uint64 {
	if a.perm != nil {
		return uint64(a.perm[uint64(i)*a.base+d])
	}
	return a.shuffle(i, d)
}

// fisherYates fills perm with a pseudo-random permutation of
// [0, len(perm)) drawn from key.
func fisherYates(perm []uint16, key uint64) {
	for i := range perm {
		perm[i] = uint16(i)
	}
	state := key
	for i := len(perm) - 1; i > 0; i-- {
		j, _ := bits.Mul64(splitmix64(&state), uint64(i+1))
		perm[i], perm[j] = perm[j], perm[i]
	}
}

// swapRounds returns the number of swap-or-not rounds used for base b.
func swapRounds(b uint64) int { return 3*bits.Len64(b) + 6 }

// shuffle evaluates π_i(d) with a swap-or-not shuffle of [0, base): each
// round draws an offset c and pairs d with c-d (mod base); a keyed hash of
// the pair decides whether both swap. Every round is an involution, so the
// result is a permutation.
func (a *haltonAxis) shuffle(i int, d uint64) uint64 {
	key := a.keys[i]
	for r := range a.rounds {
		h := mix64(key + uint64(r+1)*0x9e3779b97f4a7c15)
		c, _ := bits.Mul64(h, a.base)
		e := c + a.base - d
		if e >= a.base {
			e -= a.base
		}
		if mix64(h^max(d, e))>>63 == 1 {
			d = e
		}
	}
	return d
}

// firstPrimes returns the first n primes.
func firstPrimes(n int) []uint64 {
	ps := make([]uint64, 0, n)
	for c := uint64(2); len(ps) < n; c++ {
		prime := true
		for _, p := range ps {
			if p*p > c {
				break
			}
			if c%p == 0 {
				prime = false
				break
			}
		}
		if prime {
			ps = append(ps, c)
		}
	}
	return ps
}
