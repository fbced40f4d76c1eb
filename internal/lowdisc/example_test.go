package lowdisc_test

import (
	"fmt"
	"slices"

	"github.com/a6b40afc/retune/internal/lowdisc"
)

func ExampleNewSobol() {
	s, err := lowdisc.NewSobol(2, false, 0)
	if err != nil {
		panic(err)
	}
	p := make([]float64, s.Dim())
	for n := range uint64(8) {
		fmt.Println(s.Point(n, p))
	}
	// Output:
	// [0 0]
	// [0.5 0.5]
	// [0.75 0.25]
	// [0.25 0.75]
	// [0.375 0.375]
	// [0.875 0.875]
	// [0.625 0.125]
	// [0.125 0.625]
}

func ExampleNewSobol_scrambled() {
	// Trial n gets point n, whichever worker computes it and in any order.
	a, _ := lowdisc.NewSobol(4, true, 2024)
	b, _ := lowdisc.NewSobol(4, true, 2024)
	fmt.Println(slices.Equal(a.Point(1000, nil), b.Point(1000, nil)))

	// Each aligned block of 2^m points still puts exactly one point in
	// each interval [i/2^m, (i+1)/2^m) of every coordinate.
	var hits [8]int
	for n := range uint64(8) {
		hits[int(a.Point(n, nil)[3]*8)]++
	}
	fmt.Println(hits)
	// Output:
	// true
	// [1 1 1 1 1 1 1 1]
}

func ExampleNewHalton() {
	h, err := lowdisc.NewHalton(2, false, 0)
	if err != nil {
		panic(err)
	}
	for n := range uint64(5) {
		p := h.Point(n, nil)
		fmt.Printf("%.4f %.4f\n", p[0], p[1])
	}
	// Output:
	// 0.0000 0.0000
	// 0.5000 0.3333
	// 0.2500 0.6667
	// 0.7500 0.1111
	// 0.1250 0.4444
}

func ExampleNewHalton_error() {
	_, err := lowdisc.NewHalton(0, true, 1)
	fmt.Println(err)
	// Output:
	// lowdisc: Halton dimension 0 out of range [1, 1111]
}
