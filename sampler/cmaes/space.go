package cmaes

import (
	"math"
	"slices"

	"github.com/a6b40afc/retune"
)

// dim maps one numeric param to a coordinate of the unit interval: continuous params
// linearly in value (or log value), grid params (ints, floats with a step) so that every
// grid value owns a cell of equal width (equal log width for log ints, as in
// retune.FromUnit).
type dim struct {
	name   string
	dist   retune.Distribution
	log    bool
	lo, hi float64 // continuous: the range in value or log value
	grid   Grid    // Count 0 for continuous params
}

// dims returns the modelled params of space sorted by name, and the params that have a
// single possible value (left out of the model, proposed as is).
func dims(space map[string]retune.Distribution) ([]dim, map[string]any) {
	names := make([]string, 0, len(space))
	for name := range space {
		names = append(names, name)
	}
	slices.Sort(names)
	var out []dim
	var fixed map[string]any
	single := func(name string, v any) {
		if fixed == nil {
			fixed = map[string]any{}
		}
		fixed[name] = v
	}
	for _, name := range names {
		d := dim{name: name, dist: space[name]}
		switch ds := space[name].(type) {
		case retune.FloatDistribution:
			if ds.Low == ds.High {
				single(name, ds.Low)
				continue
			}
			switch {
			case ds.Step > 0:
				count := int(math.Round((ds.High-ds.Low)/ds.Step)) + 1
				d.grid = linearCells(ds.Low, ds.Step, count)
			case ds.Log:
				d.log, d.lo, d.hi = true, math.Log(ds.Low), math.Log(ds.High)
			default:
				d.lo, d.hi = ds.Low, ds.High
			}
		case retune.IntDistribution:
			if ds.Low == ds.High {
				single(name, ds.Low)
				continue
			}
			step := max(ds.Step, 1)
			count := int((ds.High-ds.Low)/step) + 1
			if ds.Log {
				lo := math.Log(math.Max(float64(ds.Low)-0.5, 0.5))
				hi := math.Log(float64(ds.High) + 0.5)
				d.grid = Grid{Count: count, Origin: float64(ds.Low), Step: 1, Log: true, Offset: -lo / (hi - lo), Scale: 1 / (hi - lo)}
			} else {
				d.grid = linearCells(float64(ds.Low), float64(step), count)
			}
		default:
			continue // categorical: sampled independently
		}
		out = append(out, d)
	}
	return out, fixed
}

// linearCells is the grid low + k·step in unit coordinates, each value in the middle of a
// cell of width 1/count.
func linearCells(low, step float64, count int) Grid {
	w := float64(count) * step
	return Grid{Count: count, Origin: low, Step: step, Offset: -(low - step/2) / w, Scale: 1 / w}
}

// unit returns the coordinate of an external value v, or false if v is not in the
// distribution.
func (d *dim) unit(v any) (float64, bool) {
	x, ok := d.dist.ToInternal(v)
	if !ok {
		return 0, false
	}
	if d.grid.Count > 0 {
		k := int(math.Round((x - d.grid.Origin) / d.grid.Step))
		return d.grid.Value(max(0, min(d.grid.Count-1, k))), true
	}
	if d.log {
		x = math.Log(x)
	}
	return (x - d.lo) / (d.hi - d.lo), true
}

// external returns the param value of coordinate u.
func (d *dim) external(u float64) any {
	if d.grid.Count > 0 {
		k := d.grid.Nearest(u)
		return d.dist.ToExternal(d.grid.Origin + float64(k)*d.grid.Step)
	}
	x := d.lo + math.Max(0, math.Min(1, u))*(d.hi-d.lo)
	if d.log {
		x = math.Exp(x)
	}
	return d.dist.ToExternal(x)
}

// same reports whether two external values of the param are the same value.
func (d *dim) same(a, b any) bool {
	x, ok1 := d.dist.ToInternal(a)
	y, ok2 := d.dist.ToInternal(b)
	return ok1 && ok2 && math.Abs(x-y) <= 1e-12*math.Max(1, math.Max(math.Abs(x), math.Abs(y)))
}
