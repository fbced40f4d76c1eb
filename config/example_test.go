package config_test

import (
	"fmt"

	"github.com/a6b40afc/retune/config"
)

// Parse reads a study file's contents; every error names the file, the line and the field.
func ExampleParse() {
	s, err := config.Parse("study.yaml", []byte(`
name: digits
command: ["python3", "train.py", "--lr={lr}", "--depth={depth}"]
objective: {metric: accuracy, direction: maximize}
params:
  lr:    {type: float, low: 1.0e-3, high: 0.5, log: true}
  depth: {type: int, low: 2, high: 12}
budget: {trials: 50, parallel: 2}
`))
	if err != nil {
		panic(err)
	}
	fmt.Println(s.Name, s.Metrics(), s.Directions(), s.Budget.Trials, s.Budget.Parallel)
	for _, p := range s.Params {
		fmt.Println(p.Name, p.Dist)
	}
	_, err = config.Parse("study.yaml", []byte("name: digits\ncommand: [t]\nobjective: {metric: accuracy, direction: up}\nparams: {x: {type: float, low: 0, high: 1}}\n"))
	fmt.Println(err)
	// Output:
	// digits [accuracy] [maximize] 50 2
	// lr float[0.001, 0.5] log
	// depth int[2, 12]
	// study.yaml:3: objective.direction: "up": want minimize or maximize
}
