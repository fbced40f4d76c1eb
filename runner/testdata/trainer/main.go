// Command trainer is a stand-in training process for the runner's tests. -mode selects
// its behaviour; see the cases below.
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	mode := flag.String("mode", "ok", "behaviour")
	x := flag.Float64("x", 0, "a param")
	steps := flag.Int("steps", 5, "steps to report")
	delay := flag.Duration("delay", 0, "pause between steps")
	pidfile := flag.String("pidfile", "", "where spawn writes its child's pid")
	mark := flag.Int("mark", 0, "flood: the step whose write time is recorded")
	times := flag.String("times", "", "flood: on SIGTERM, write the mark's and the signal's times (Unix ns) here and exit")
	done := flag.String("done", "", "flood: a file to create once every line is written")
	rate := flag.Int("rate", 0, "flood: step lines per second, in bursts of 100 (0: as fast as the pipe takes them)")
	flag.Parse()
	switch *mode {
	case "ok": // steps, then final metrics on stdout
		for i := 1; i <= *steps; i++ {
			fmt.Printf("epoch %d: step=%d loss=%g\n", i, i, *x+1/float64(i))
			time.Sleep(*delay)
		}
		fmt.Printf("loss=%g latency_ms=12.5\n", *x)
	case "file": // JSON lines in the metrics file, nothing on stdout
		f, err := os.OpenFile(os.Getenv("RETUNE_METRICS_FILE"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		for i := 1; i <= *steps; i++ {
			fmt.Fprintf(f, "{\"step\": %d, \"loss\": %g}\n", i, *x+1/float64(i))
			time.Sleep(*delay)
		}
		fmt.Fprintf(f, "{\"loss\": %g, \"note\": \"done\"}", *x) // no final newline
		f.Close()
	case "fail":
		fmt.Fprintln(os.Stderr, "Traceback: CUDA out of memory")
		os.Exit(3)
	case "crash":
		fmt.Fprintln(os.Stderr, "segfault incoming")
		_ = syscall.Kill(os.Getpid(), syscall.SIGKILL)
	case "nan":
		fmt.Println("loss=nan")
	case "no newline": // the final metrics end without a newline
		fmt.Printf("step=1 loss=1\nloss=%g", *x)
	case "overflow": // a final objective too large for a float64
		fmt.Println("loss=1e999")
	case "long lines": // the objective only on lines over 1 MiB, on stdout and in the metrics file
		fmt.Println("accuracy=0.5")
		fmt.Println(strings.Repeat("x", 2<<20) + " loss=0.1")
		f, err := os.OpenFile(os.Getenv("RETUNE_METRICS_FILE"), os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(2)
		}
		fmt.Fprintf(f, "{\"pad\": %q, \"loss\": 0.1}\n", strings.Repeat("y", 2<<20))
		f.Close()
	case "missing":
		fmt.Println("accuracy=0.5")
	case "sleep": // until killed; -ignore-term via mode sleep-stubborn
		fmt.Println("step=1 loss=1")
		time.Sleep(time.Hour)
	case "stubborn": // ignores SIGTERM: only SIGKILL stops it
		signal.Ignore(syscall.SIGTERM)
		fmt.Println("step=1 loss=1")
		time.Sleep(time.Hour)
	case "spawn": // a grandchild in the same group, then slow steps
		c := exec.Command("sleep", "3600")
		if err := c.Start(); err != nil {
			os.Exit(2)
		}
		_ = os.WriteFile(*pidfile, []byte(strconv.Itoa(c.Process.Pid)), 0o600)
		for i := 1; i <= *steps; i++ {
			fmt.Printf("step=%d loss=%g\n", i, *x+float64(i))
			time.Sleep(*delay)
		}
		fmt.Printf("loss=%g\n", *x)
	case "garbage":
		os.Stdout.Write([]byte{0, 1, 2, 0xff, 0xfe, '\n'})
		fmt.Println("loss=abc =5 step=-1 loss=2 {not json")
		fmt.Println(strings.Repeat("x", 3<<20) + " loss=100")
		fmt.Println(`{"loss": "nan-ish", "other": [1,2]}`)
		fmt.Println("loss=0.25")
	case "endless": // a lot of output, then the final metric
		line := strings.Repeat("y", 1000) + "\n"
		for range 20000 {
			os.Stdout.WriteString(line)
			os.Stderr.WriteString(line)
		}
		fmt.Println("loss=1.5")
	case "env":
		var params map[string]any
		_ = json.Unmarshal([]byte(os.Getenv("RETUNE_PARAMS")), &params)
		secret := 0
		if os.Getenv("RETUNE_DB") != "" || os.Getenv("RETUNE_WEBHOOK_SECRET") != "" || os.Getenv("MY_SECRET") != "" {
			secret = 1
		}
		fmt.Printf("trial=%s secret=%d params=%d repeat=%s loss=%g\n", os.Getenv("RETUNE_TRIAL"), secret, len(params), os.Getenv("RETUNE_REPEAT"), params["x"])
	case "flood": // step lines at -rate or as fast as the pipe takes them, one write each
		var marked atomic.Int64
		if *times != "" {
			term := make(chan os.Signal, 1)
			signal.Notify(term, syscall.SIGTERM)
			go func() {
				<-term
				got := time.Now().UnixNano()
				_ = os.WriteFile(*times, fmt.Appendf(nil, "%d %d\n", marked.Load(), got), 0o600)
				os.Exit(0)
			}()
		}
		begin := time.Now()
		for i := 1; i <= *steps; i++ {
			if *rate > 0 && i%100 == 0 {
				time.Sleep(time.Until(begin.Add(time.Duration(i) * time.Second / time.Duration(*rate))))
			}
			if i == *mark {
				marked.Store(time.Now().UnixNano())
			}
			fmt.Printf("step=%d loss=%g\n", i, *x+1/float64(i))
		}
		fmt.Printf("loss=%g\n", *x)
		if *done != "" {
			_ = os.WriteFile(*done, nil, 0o600)
		}
	default:
		fmt.Fprintln(os.Stderr, "unknown mode", *mode)
		os.Exit(2)
	}
}
