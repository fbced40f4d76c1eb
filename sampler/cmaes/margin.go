package cmaes

import (
	"errors"
	"math"
)

// Grid is the increasing set of values a discrete coordinate may take: value k, for
// k = 0 … Count-1, is Offset + Scale·f(Origin + k·Step), where f is the identity, or the
// natural logarithm when Log. A zero Grid (Count 0) means a continuous coordinate. The
// boundary between the cells of two neighbouring values is their midpoint.
type Grid struct {
	Count  int     `json:"count"`
	Origin float64 `json:"origin"`
	Step   float64 `json:"step"`
	Log    bool    `json:"log,omitempty"`
	Offset float64 `json:"offset"`
	Scale  float64 `json:"scale"`
}

// LinearGrid returns the grid of the count values low, low+step, ….
func LinearGrid(low, step float64, count int) Grid {
	return Grid{Count: count, Origin: low, Step: step, Scale: 1}
}

func (g Grid) validate() error {
	switch {
	case g.Count == 0:
		return nil
	case g.Count < 0:
		return errors.New("negative count")
	case !(g.Step > 0) || !(g.Scale > 0) || math.IsInf(g.Step, 0) || math.IsInf(g.Scale, 0):
		return errors.New("want step > 0 and scale > 0")
	case math.IsNaN(g.Origin) || math.IsInf(g.Origin, 0) || math.IsNaN(g.Offset) || math.IsInf(g.Offset, 0):
		return errors.New("want a finite origin and offset")
	case g.Log && !(g.Origin > 0):
		return errors.New("log grid: want origin > 0")
	}
	return nil
}

// Value returns value k of the grid.
func (g Grid) Value(k int) float64 {
	v := g.Origin + float64(k)*g.Step
	if g.Log {
		v = math.Log(v)
	}
	return g.Offset + g.Scale*v
}

// Nearest returns the index of the grid value nearest to x.
func (g Grid) Nearest(x float64) int {
	u := (x - g.Offset) / g.Scale
	if g.Log {
		u = math.Exp(math.Min(u, 700))
	}
	t := (u - g.Origin) / g.Step
	if !(t > 0) {
		return 0
	}
	if t >= float64(g.Count-1) {
		return g.Count - 1
	}
	k := int(math.Floor(t))
	if math.Abs(x-g.Value(k+1)) < math.Abs(x-g.Value(k)) {
		k++
	}
	return k
}

// boundary returns the cell boundary between values k and k+1.
func (g Grid) boundary(k int) float64 { return (g.Value(k) + g.Value(k+1)) / 2 }

// normalCDF is Φ.
func normalCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

// upperQuantile returns q with P(Z > q) = p for a standard normal Z.
func upperQuantile(p float64) float64 { return math.Sqrt2 * math.Erfcinv(2*p) }

// applyMargin is the margin correction of CMA-ES with margin (Hamano et al. 2022), applied
// after each update. For a discrete coordinate i the marginal of the search distribution
// is N(m_i, s²), s = σ·A_i·sqrt(C_ii). Let k be the grid value nearest m_i and l, u the
// boundaries of its cell. If k is the lowest or highest value (one neighbour), the mean is
// moved towards that neighbour until the probability of crossing the boundary is α.
// Otherwise the tail probabilities below l and above u are raised to at least α/2 each,
// the mass taken from the three parts in proportion to how far each exceeds α/2, and
// m_i and A_i are set to the unique pair giving exactly those tails (σ and C unchanged).
// A coordinate whose tails are already large enough is left alone.
func (o *Optimizer) applyMargin() {
	st := &o.st
	alpha := o.p.margin
	for i, g := range st.Grids {
		if g.Count < 2 {
			continue
		}
		sc := st.Sigma * math.Sqrt(o.cii(i))
		s := sc * st.A[i]
		m := st.Mean[i]
		k := g.Nearest(m)
		switch {
		case k == 0 || k == g.Count-1:
			dir := 1.0 // towards the upper neighbour
			var b float64
			if k == 0 {
				b = g.boundary(0)
			} else {
				b, dir = g.boundary(k-1), -1
			}
			cross := normalCDF(-dir * (b - m) / s)
			if cross < alpha {
				st.Mean[i] = b - dir*s*upperQuantile(alpha)
			}
		default:
			l, u := g.boundary(k-1), g.boundary(k)
			pl := normalCDF((l - m) / s)
			pu := normalCDF((m - u) / s)
			half := alpha / 2
			if pl >= half && pu >= half {
				continue
			}
			pm := 1 - pl - pu
			pl, pu = math.Max(pl, half), math.Max(pu, half)
			excess := pl + pm + pu - 1 // mass added to the tails
			den := pl + pm + pu - 3*half
			pl -= excess * (pl - half) / den
			pu -= excess * (pu - half) / den
			pl = math.Min(math.Max(pl, 1e-10), 0.5-1e-10)
			pu = math.Min(math.Max(pu, 1e-10), 0.5-1e-10)
			ql, qu := upperQuantile(pl), upperQuantile(pu)
			st.A[i] = (u - l) / ((ql + qu) * sc)
			st.Mean[i] = (l*qu + u*ql) / (ql + qu)
		}
	}
}
