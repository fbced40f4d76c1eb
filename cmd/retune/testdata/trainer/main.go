// Command trainer is a stand-in training process for the CLI's tests. Its flags choose what
// it does: it reports -steps intermediate losses, -delay apart, then the final metrics:
//
//	loss=<(x-0.3)²+0.01> x_echo=<x> trial_env=<$RETUNE_TRIAL> params_x=<x from $RETUNE_PARAMS>
//
// Step lines go to stdout, or with -metrics-file to $RETUNE_METRICS_FILE, which keeps a
// trainer alive after retune itself is killed (no writes to a closed pipe).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

func main() {
	begin := time.Now()
	x := flag.Float64("x", 0, "the param echoed back as x_echo")
	steps := flag.Int("steps", 3, "intermediate values to report")
	delay := flag.Duration("delay", 0, "pause before each step")
	quick := flag.String("quick", "", "comma-separated trial numbers that ignore -delay")
	fail := flag.Bool("fail", false, "exit 1 after the steps, with a message on stderr")
	toFile := flag.Bool("metrics-file", false, "write step lines to $RETUNE_METRICS_FILE instead of stdout")
	times := flag.String("times", "", "append this process's start and end (Unix ns) to this file")
	flag.Parse()

	trial := os.Getenv("RETUNE_TRIAL")
	for _, q := range strings.Split(*quick, ",") {
		if q != "" && q == trial {
			*delay = 0
		}
	}
	var params map[string]any
	if err := json.Unmarshal([]byte(os.Getenv("RETUNE_PARAMS")), &params); err != nil {
		fmt.Fprintln(os.Stderr, "RETUNE_PARAMS:", err)
		os.Exit(2)
	}
	var steplines io.Writer = os.Stdout
	if *toFile {
		f, err := os.OpenFile(os.Getenv("RETUNE_METRICS_FILE"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		defer f.Close()
		steplines = f
	}
	loss := (*x-0.3)*(*x-0.3) + 0.01
	for i := 1; i <= *steps; i++ {
		time.Sleep(*delay)
		fmt.Fprintf(steplines, "epoch %d: step=%d loss=%s\n", i, i, fmtFloat(loss+1/float64(i)))
	}
	if *fail {
		fmt.Fprintln(os.Stderr, "trainer: diverged")
		os.Exit(1)
	}
	fmt.Printf("loss=%s x_echo=%s trial_env=%s params_x=%v\n", fmtFloat(loss), fmtFloat(*x), trial, params["x"])
	if *times != "" {
		f, err := os.OpenFile(*times, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(f, "%d %d\n", begin.UnixNano(), time.Now().UnixNano())
		f.Close()
	}
}

func fmtFloat(v float64) string { return strconv.FormatFloat(v, 'g', -1, 64) }
