package importance

import (
	"context"
	"math"
	"math/rand/v2"
	"strconv"
	"testing"
)

// benchData draws n uniform trials of 10 float params on [0, 1] of a 10-D g-function with
// a = (0, 1, 4.5, 9, 99, …): a few params matter, most do not.
func benchData(n int) (x [][]float64, y []float64) {
	a := []float64{0, 1, 4.5, 9, 99, 99, 99, 99, 99, 99}
	r := rand.New(rand.NewPCG(1, 10))
	for range n {
		row := make([]float64, len(a))
		p := 1.0
		for i := range row {
			row[i] = r.Float64()
			p *= (math.Abs(4*row[i]-2) + a[i]) / (1 + a[i])
		}
		x = append(x, row)
		y = append(y, p)
	}
	return x, y
}

// BenchmarkFANOVA times FANOVA with Optuna's forest (64 trees, depth 64, all params at each
// split) on 10 params, over GOMAXPROCS workers.
func BenchmarkFANOVA(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run("trials="+strconv.Itoa(n), func(b *testing.B) {
			x, y := benchData(n)
			ts := frozen(x, y, 0, 1)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := FANOVA(context.Background(), ts, FANOVAOptions{Seed: 1}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkFANOVAInteractions adds the 45 pairs' interactions at 1,000 trials.
func BenchmarkFANOVAInteractions(b *testing.B) {
	x, y := benchData(1000)
	ts := frozen(x, y, 0, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := FANOVA(context.Background(), ts, FANOVAOptions{Seed: 1, Interactions: true}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPEDANOVA times PEDANOVA with its defaults on the same trials.
func BenchmarkPEDANOVA(b *testing.B) {
	x, y := benchData(10000)
	ts := frozen(x, y, 0, 1)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := PEDANOVA(ts, PEDANOVAOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}
