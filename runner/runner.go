// Package runner runs trials as processes: any training command, in any language.
//
// For each trial, Command.Run starts the command in its own process group, with {name} in
// any argument replaced by the param's value and these variables in its environment:
//
//	RETUNE_STUDY          the study name
//	RETUNE_TRIAL          the trial number
//	RETUNE_PARAMS         the params as a JSON object
//	RETUNE_METRICS_FILE   a file the process may append metric lines to instead of stdout
//	                      (an absolute path, as is the log path recorded on the trial)
//
// plus the caller's extra variables (RETUNE_REPEAT and RETUNE_SEED for confirmation
// repeats). The child inherits retune's environment minus its secrets (see Command.Secrets).
//
// Metric lines (see ParseLine) come from stdout and the metrics file. A line with a step is
// an intermediate value: it is reported to the study, whose pruner may stop the trial.
// Stdout is read as fast as the trainer writes, whether or not storage keeps up: the steps
// of the lines that arrived while earlier ones were being stored are stored in one write
// and the pruner is asked about each in turn (Trial.ReportMany), so a trainer that reports
// every batch is not slowed down, and only when more than 4,096 lines wait does reading
// wait for storage (a prune decision stays that close to the trainer). When the process
// exits 0, the trial's values are the last values of the objective metrics and every other
// metric is recorded on the trial. Everything else on stdout is ignored, lines longer than
// MaxLineBytes included (a trial whose objective is missing says how many it skipped). A
// last line without a newline counts.
//
// A trial fails — with the reason and the tail of stderr — when the process exits non-zero
// or by a signal, when an objective metric is missing or not finite, or when its context
// ends (trial timeout, run timeout, interruption). Stopping a process, for pruning or
// cancellation, sends SIGTERM to its process group and SIGKILL after KillGrace. When the
// process exits, anything left in its group is killed at once, so no trainer is orphaned
// and the trial's outcome is the process's own: a background helper still holding stdout
// neither delays nor fails a trial that exited 0 with its objectives.
// Linux and macOS are supported; elsewhere Run returns ErrUnsupported.
package runner

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"

	"github.com/a6b40afc/retune"
)

// ErrUnsupported is returned on platforms where trials cannot run as process groups.
var ErrUnsupported = errors.New("runner: trials as processes are supported on Linux and macOS only")

// Defaults of Command's zero fields.
const (
	DefaultKillGrace    = 10 * time.Second
	DefaultLogHead      = 1 << 20
	DefaultLogTail      = 1 << 20
	DefaultMaxLineBytes = 1 << 20
	stderrTail          = 2 << 10
	metricsPoll         = 100 * time.Millisecond
)

// Command describes how to run a trial. Zero values of the optional fields are the
// documented defaults. A Command is safe for concurrent use by several trials.
type Command struct {
	// Args is the command line; "{name}" in any argument becomes the value of param name
	// (floats in shortest round-trip form). Args[0] is looked up in PATH.
	Args []string
	// Dir is the working directory; "" = the current one.
	Dir string
	// Env holds extra KEY=VALUE variables for every trial.
	Env []string
	// Objectives are the metric names of the study's objectives, in direction order.
	Objectives []string
	// Study is the study name, for RETUNE_STUDY and the log path.
	Study string
	// LogDir, if set, keeps each trial's output in LogDir/<study>/<number>.log (mode 0600),
	// where <study> is PathName(Study), so no study name can point outside LogDir:
	// the first LogHead and last LogTail bytes of stdout and stderr together.
	LogDir           string
	LogHead, LogTail int
	// Secrets are environment variables the child must not see, besides RETUNE_DB and any
	// RETUNE_* variable whose name contains SECRET, PASSWORD or TOKEN.
	Secrets []string
	// KillGrace is the time between SIGTERM and SIGKILL; default 10s.
	KillGrace time.Duration
	// Absent gives the value a placeholder of a param takes when the trial does not have
	// the param (conditional params); without one, its argument is left out (see Expand).
	Absent map[string]string
	// StepKeys name a metric line's step, first found first (see ParseLineSteps);
	// nil: DefaultStepKeys ("step").
	StepKeys []string
	// ExpectSteps says a pruner waits for intermediate values: a trial that exits without
	// reporting any is warned about (WarnFunc).
	ExpectSteps bool
	// WarnFunc, if set, gets advice about the trainer's output, each kind once per
	// Command: no intermediate values while ExpectSteps, or an objective metric that never
	// appears while a similar name does.
	WarnFunc func(msg string)
	// LogErrorFunc, if set, is told the first time a trial's log cannot be written (a full
	// disk, say), once per Command: the trials go on, their logs cut short.
	LogErrorFunc func(error)
	// MaxLineBytes bounds a metric line; longer lines are skipped (and counted in the
	// reason of a trial whose objective is missing). Default 1 MiB.
	MaxLineBytes int

	wg                  sync.WaitGroup // processes started and not yet reaped
	logOnce             sync.Once      // LogErrorFunc is told once
	noStepOnce, simOnce sync.Once      // each WarnFunc advice once
}

// logErrorOnce tells LogErrorFunc of a log write error, the first time only.
func (c *Command) logErrorOnce(err error) {
	c.logOnce.Do(func() {
		if c.LogErrorFunc != nil {
			c.LogErrorFunc(err)
		}
	})
}

// Wait blocks until every process this Command started has exited and been reaped.
// A caller stopping (after Ctrl-C, say) calls it so that no trainer outlives it.
func (c *Command) Wait() { c.wg.Wait() }

var placeholder = regexp.MustCompile(`\{([A-Za-z_][A-Za-z0-9_.\-]*)\}`)

// Expand replaces {name} in each argument with the value of params[name]. A param absent
// from params (a conditional param its trial does not use) takes its value in absent if
// it has one there; otherwise the whole argument that names it is left out, so a flag
// written as one argument ("--svm_c={svm_c}") goes away with its param.
func Expand(args []string, params map[string]any, absent map[string]string) []string {
	out := make([]string, 0, len(args))
	for _, a := range args {
		drop := false
		x := placeholder.ReplaceAllStringFunc(a, func(m string) string {
			name := m[1 : len(m)-1]
			if v, ok := params[name]; ok {
				return FormatValue(v)
			}
			if v, ok := absent[name]; ok {
				return v
			}
			drop = true
			return ""
		})
		if !drop {
			out = append(out, x)
		}
	}
	return out
}

// Placeholders returns the param names args refer to, sorted.
func Placeholders(args []string) []string {
	set := map[string]bool{}
	for _, a := range args {
		for _, m := range placeholder.FindAllStringSubmatch(a, -1) {
			set[m[1]] = true
		}
	}
	out := make([]string, 0, len(set))
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// FormatValue formats a param value for a command line: floats in shortest round-trip
// form, ints in decimal, strings as they are, anything else as JSON.
func FormatValue(v any) string {
	switch v := v.(type) {
	case string:
		return v
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64)
	case int64:
		return strconv.FormatInt(v, 10)
	case int:
		return strconv.Itoa(v)
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// childEnv is env without retune's secrets.
func childEnv(env []string, secrets []string) []string {
	drop := map[string]bool{"RETUNE_DB": true}
	for _, s := range secrets {
		drop[s] = true
	}
	out := make([]string, 0, len(env))
	for _, kv := range env {
		k, _, _ := strings.Cut(kv, "=")
		if drop[k] || strings.HasPrefix(k, "RETUNE_") && (strings.Contains(k, "SECRET") || strings.Contains(k, "PASSWORD") || strings.Contains(k, "TOKEN")) {
			continue
		}
		out = append(out, kv)
	}
	return out
}

// LogPath returns where trial number's log is kept, as an absolute path (a relative LogDir
// is taken from the working directory), or "" without a LogDir.
func (c *Command) LogPath(number int) string {
	if c.LogDir == "" {
		return ""
	}
	return absPath(filepath.Join(StudyLogDir(c.LogDir, c.Study), strconv.Itoa(number)+".log"))
}

// absPath returns p as an absolute path: the trainer runs in Dir, so a path it is given
// must not be relative to ours. p is returned as it is if the working directory is unknown.
func absPath(p string) string {
	if abs, err := filepath.Abs(p); err == nil {
		return abs
	}
	return p
}

// Run runs the command for trial t with params and returns the objective values. env adds
// variables for this trial only. The error wraps retune.ErrPruned when the study's pruner
// stopped the trial.
func (c *Command) Run(ctx context.Context, t Trial, params map[string]any, env ...string) ([]float64, error) {
	if runtime.GOOS != "linux" && runtime.GOOS != "darwin" {
		return nil, ErrUnsupported
	}
	if len(c.Args) == 0 {
		return nil, fmt.Errorf("%w: command is empty", retune.ErrInvalid)
	}
	pj, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("encode params: %w", err)
	}
	f, err := c.openFiles(t.Number())
	if err != nil {
		return nil, err
	}
	defer f.close()
	args := Expand(c.Args, params, c.Absent)
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Dir = c.Dir
	cmd.Env = append(childEnv(os.Environ(), c.Secrets),
		"RETUNE_STUDY="+c.Study,
		"RETUNE_TRIAL="+strconv.Itoa(t.Number()),
		"RETUNE_PARAMS="+string(pj),
		"RETUNE_METRICS_FILE="+f.metrics,
	)
	cmd.Env = append(append(cmd.Env, c.Env...), env...)
	p, err := c.start(cmd, f.log)
	if err != nil {
		return nil, fmt.Errorf("start %q: %w", args[0], err)
	}
	host, _ := os.Hostname()
	t.SetSystemAttr("host", host)
	t.SetSystemAttr("pgid", p.pgid)
	if f.logPath != "" {
		t.SetSystemAttr("log", f.logPath)
	}
	var flushErr error
	if err := t.Flush(ctx); err != nil {
		flushErr = fmt.Errorf("record trial process: %w", err)
	}
	pa := &parser{objectives: c.Objectives, last: map[string]float64{}}
	maxLine := def(c.MaxLineBytes, DefaultMaxLineBytes)
	mf := &fileTail{path: f.metrics, max: maxLine, steps: c.StepKeys}
	stopErr := c.watch(ctx, t, p, pa, mf, flushErr)
	c.storeLog(ctx, t, f)

	stderr := strings.TrimSpace(p.tail.String())
	withTail := func(err error) error {
		if stderr == "" {
			return err
		}
		return fmt.Errorf("%w\nstderr tail:\n%s", err, stderr)
	}
	switch {
	case stopErr != nil && errors.Is(stopErr, retune.ErrPruned):
		return nil, stopErr
	case stopErr != nil:
		return nil, withTail(stopErr)
	case p.err != nil:
		return nil, withTail(exitError(p.err))
	}
	values, err := pa.result(t, p.lines.skippedLines()+mf.skippedLines(), maxLine)
	c.advise(t.Number(), pa)
	if err != nil {
		return nil, withTail(err)
	}
	return values, nil
}

// advise tells WarnFunc, once each, of a trial that reported no step while a pruner
// waits for them, and of an objective that never appeared while a similar name did.
func (c *Command) advise(number int, pa *parser) {
	if c.WarnFunc == nil {
		return
	}
	keys := c.StepKeys
	if keys == nil {
		keys = DefaultStepKeys
	}
	reported := true
	for _, o := range c.Objectives {
		_, ok := pa.last[o]
		reported = reported && ok
	}
	if c.ExpectSteps && !pa.stepped && reported {
		c.noStepOnce.Do(func() {
			c.WarnFunc(fmt.Sprintf("trial %d reported no intermediate values, so the pruner has nothing to act on: no metric line had a step key (%s) with every objective; its lines had %s. Name the trainer's step with step_key: in the study file (e.g. step_key: epoch)",
				number, strings.Join(keys, ", "), pa.seen()))
		})
	}
	for _, o := range c.Objectives {
		if _, ok := pa.last[o]; ok {
			continue
		}
		if like := pa.similar(o); like != "" {
			c.simOnce.Do(func() {
				c.WarnFunc(fmt.Sprintf("trial %d never reported the objective metric %q, but reported %q: is the objective's metric: misspelt in the study file?", number, o, like))
			})
		}
	}
}

// trialFiles are a trial's log and metrics file.
type trialFiles struct {
	logPath   string    // "" without a LogDir
	log       io.Writer // the log, or io.Discard
	metrics   string    // the metrics file's absolute path
	finishLog func()    // closes the log file (once)
	close     func()    // closes the log and removes the metrics file
}

// openFiles creates a trial's log and metrics file. The metrics file sits beside the log
// (deleted with the study's logs, even if retune is killed before removing it), or in a
// temporary directory without a LogDir.
func (c *Command) openFiles(number int) (*trialFiles, error) {
	f := &trialFiles{logPath: c.LogPath(number), log: io.Discard, close: func() {}}
	var tmp string
	if f.logPath != "" {
		if err := os.MkdirAll(filepath.Dir(f.logPath), 0o700); err != nil {
			return nil, fmt.Errorf("log dir: %w", err)
		}
		f.metrics = strings.TrimSuffix(f.logPath, ".log") + ".metrics.jsonl"
	} else {
		var err error
		if tmp, err = os.MkdirTemp("", "retune-trial-"); err != nil {
			return nil, err
		}
		f.metrics = absPath(filepath.Join(tmp, "metrics.jsonl")) // TMPDIR may be relative
	}
	removeMetrics := func() {
		os.Remove(f.metrics)
		if tmp != "" {
			os.RemoveAll(tmp)
		}
	}
	if err := os.WriteFile(f.metrics, nil, 0o600); err != nil {
		removeMetrics()
		return nil, fmt.Errorf("metrics file: %w", err)
	}
	f.close = removeMetrics
	if f.logPath != "" {
		lf, err := newHeadTail(f.logPath, def(c.LogHead, DefaultLogHead), def(c.LogTail, DefaultLogTail), c.logErrorOnce)
		if err != nil {
			removeMetrics()
			return nil, fmt.Errorf("log file: %w", err)
		}
		f.log = lf
		var once sync.Once
		f.finishLog = func() { once.Do(func() { lf.Close() }) }
		f.close = func() { f.finishLog(); removeMetrics() }
	}
	return f, nil
}

// storeLog closes the trial's log file and stores its head and tail with the trial
// (retune.TrialLog), so that a service can show them; a failure is only warned about.
func (c *Command) storeLog(ctx context.Context, t Trial, f *trialFiles) {
	if f.logPath == "" {
		return
	}
	f.finishLog()
	log, err := readLogParts(f.logPath)
	if err == nil {
		sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		err = t.PutLog(sctx, log)
		cancel()
	}
	if err != nil && c.WarnFunc != nil {
		c.WarnFunc(fmt.Sprintf("trial %d: its log stays in %s only: %v", t.Number(), f.logPath, err))
	}
}

// readLogParts reads the first and last retune.MaxLogPart bytes of the file at path.
func readLogParts(path string) (retune.TrialLog, error) {
	fh, err := os.Open(path)
	if err != nil {
		return retune.TrialLog{}, err
	}
	defer fh.Close()
	st, err := fh.Stat()
	if err != nil {
		return retune.TrialLog{}, err
	}
	size := st.Size()
	head := make([]byte, min(size, retune.MaxLogPart))
	if _, err := io.ReadFull(fh, head); err != nil {
		return retune.TrialLog{}, err
	}
	var tail []byte
	if rest := size - int64(len(head)); rest > 0 {
		tail = make([]byte, min(rest, retune.MaxLogPart))
		if _, err := fh.ReadAt(tail, size-int64(len(tail))); err != nil {
			return retune.TrialLog{}, err
		}
	}
	return retune.TrialLog{Head: head, Tail: tail, Size: size}, nil
}

// proc is a started trainer, its output read by goroutines of its own.
type proc struct {
	pgid  int
	lines *lineQueue  // metric lines from stdout
	tail  *tailBuffer // the end of stderr
	done  chan struct{}
	err   error // Wait's error, set when done is closed: the trainer exited and its output was read
}

// start starts cmd in a process group of its own, its stdout and stderr copied to log.
// The child writes to pipes the runner reads itself: exec's pipes would make Wait wait for
// every process holding them, a background helper of the trainer included.
func (c *Command) start(cmd *exec.Cmd, log io.Writer) (*proc, error) {
	setGroup(cmd)
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd.Stdout, cmd.Stderr = outW, errW
	err = cmd.Start()
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	c.wg.Add(1)
	p := &proc{pgid: cmd.Process.Pid, lines: newLineQueue(), tail: &tailBuffer{n: stderrTail}, done: make(chan struct{})}
	var readers sync.WaitGroup
	readers.Go(func() { p.lines.readFrom(outR, log, def(c.MaxLineBytes, DefaultMaxLineBytes), c.StepKeys) })
	readers.Go(func() { _, _ = io.Copy(io.MultiWriter(log, p.tail), errR) })
	go func() {
		p.err = cmd.Wait() // the trainer exited
		// Whatever it left in its group goes, closing its ends of the pipes; what is still
		// in them is read, for at most the kill grace in case a process outside the group
		// holds them.
		killGroup(p.pgid)
		c.wg.Done()
		drain := time.Now().Add(c.grace())
		_ = outR.SetReadDeadline(drain)
		_ = errR.SetReadDeadline(drain)
		readers.Wait()
		outR.Close()
		errR.Close()
		close(p.done)
	}()
	return p, nil
}

func (c *Command) grace() time.Duration {
	if c.KillGrace <= 0 {
		return DefaultKillGrace
	}
	return c.KillGrace
}

// watch handles the trainer's metric lines until it has exited and its output is read. It
// stops the trainer — SIGTERM to its group, SIGKILL after the kill grace — when ctx ends,
// when the pruner says so or a stop was requested (Study.RequestStop), when storage fails,
// or at once if stopErr is not nil, and
// returns why it stopped it (nil if it did not).
//
// The lines that arrived while the previous ones were handled are handled together: their
// steps are stored in one write and the pruner is asked about each (Trial.ReportMany).
func (c *Command) watch(ctx context.Context, t Trial, p *proc, pa *parser, mf *fileTail, stopErr error) error {
	var killTimer *time.Timer
	stop := func(why error) {
		if killTimer != nil {
			return
		}
		if stopErr == nil {
			stopErr = why
		}
		termGroup(p.pgid)
		killTimer = time.AfterFunc(c.grace(), func() { killGroup(p.pgid) })
	}
	if stopErr != nil {
		stop(stopErr)
	}
	handle := func(lines []Line) {
		if steps := pa.add(lines); len(steps) > 0 {
			if err := t.ReportMany(ctx, steps); err != nil {
				stop(err)
			}
		}
	}
	tick := time.NewTicker(metricsPoll)
	defer tick.Stop()
	ctxDone, stopped := ctx.Done(), t.Stopped()
loop:
	for {
		select {
		case <-stopped: // Study.RequestStop: stopped as a prune
			stopped = nil
			stop(fmt.Errorf("trial %d: %w: %w", t.Number(), retune.ErrStopRequested, retune.ErrPruned))
		case <-p.lines.kick:
			handle(p.lines.take())
		case <-tick.C:
			handle(mf.read())
		case <-ctxDone:
			ctxDone = nil
			stop(fmt.Errorf("trainer stopped: %w", context.Cause(ctx)))
		case <-p.done:
			break loop
		}
	}
	if killTimer != nil {
		killTimer.Stop()
	}
	handle(p.lines.take())
	handle(mf.read())
	handle(mf.flush())
	return stopErr
}

// Trial is what Run needs of the trial it runs: *retune.Trial (a study in this process's
// storage), or an agent's handle on a trial of a remote server.
type Trial interface {
	Number() int
	// ReportMany stores intermediate values; an error wrapping retune.ErrPruned stops the
	// trainer as a prune.
	ReportMany(ctx context.Context, steps []retune.StepValues) error
	SetMetric(name string, value float64)
	SetSystemAttr(key string, value any)
	Flush(ctx context.Context) error
	// Stopped is closed when the trial was asked to stop (it ends as a prune).
	Stopped() <-chan struct{}
	PutLog(ctx context.Context, log retune.TrialLog) error
}

var _ Trial = (*retune.Trial)(nil)

// byteSize formats n bytes as MiB or KiB when it is a whole number of them.
func byteSize(n int) string {
	switch {
	case n%(1<<20) == 0:
		return strconv.Itoa(n>>20) + " MiB"
	case n%(1<<10) == 0:
		return strconv.Itoa(n>>10) + " KiB"
	}
	return strconv.Itoa(n) + " bytes"
}

func def(v, d int) int {
	if v <= 0 {
		return d
	}
	return v
}

func exitError(err error) error {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if sig := signalOf(ee); sig != "" {
			return fmt.Errorf("trainer killed by signal %s", sig)
		}
		return fmt.Errorf("trainer exited with status %d", ee.ExitCode())
	}
	return fmt.Errorf("trainer: %w", err)
}

// parser keeps the last value of every metric and turns step lines into reports.
type parser struct {
	objectives []string
	last       map[string]float64
	stepped    bool // a step with every objective was reported
}

// similar returns a metric seen whose name is like name (the same but for case and
// separators, or one edit away; two for names over 4 bytes), "" if none.
func (p *parser) similar(name string) string {
	norm := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r == '_' || r == '-' || r == '.' || r == '/' {
				return -1
			}
			return unicode.ToLower(r)
		}, s)
	}
	for _, k := range slices.Sorted(maps.Keys(p.last)) {
		d := editDistance(k, name)
		if norm(k) == norm(name) || d == 1 && len(name) > 1 || d == 2 && len(name) > 4 {
			return k
		}
	}
	return ""
}

// editDistance is the Levenshtein distance of a and b.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func (p *parser) isObjective(name string) bool {
	for _, o := range p.objectives {
		if o == name {
			return true
		}
	}
	return false
}

func (p *parser) seen() string {
	if len(p.last) == 0 {
		return "no metric"
	}
	names := make([]string, 0, len(p.last))
	for k := range p.last {
		names = append(names, k)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

// add records lines and returns the intermediate values they report: those of each line
// with a step and every objective.
func (p *parser) add(lines []Line) []retune.StepValues {
	var steps []retune.StepValues
next:
	for _, l := range lines {
		for k, v := range l.Values {
			p.last[k] = v
		}
		if !l.HasStep {
			continue
		}
		vals := make([]float64, len(p.objectives))
		for i, o := range p.objectives {
			v, ok := l.Values[o]
			if !ok {
				continue next
			}
			vals[i] = v
		}
		steps = append(steps, retune.StepValues{Step: l.Step, Values: vals})
		p.stepped = true
	}
	return steps
}

// result records the metrics that are not objectives on t and returns the objectives'
// values, or why the trial fails; skipped lines longer than maxLine were not read, which
// may be why an objective is missing.
func (p *parser) result(t Trial, skipped, maxLine int) ([]float64, error) {
	for name, v := range p.last {
		if !p.isObjective(name) {
			t.SetMetric(name, v)
		}
	}
	values := make([]float64, len(p.objectives))
	for i, name := range p.objectives {
		v, ok := p.last[name]
		switch {
		case !ok && skipped > 0:
			lines, were := strconv.Itoa(skipped)+" lines", "were"
			if skipped == 1 {
				lines, were = "1 line", "was"
			}
			return nil, fmt.Errorf("objective metric %q was never reported (saw %s; %s over %s %s skipped)", name, p.seen(),
				lines, byteSize(maxLine), were)
		case !ok:
			return nil, fmt.Errorf("objective metric %q was never reported (saw %s)", name, p.seen())
		case math.IsNaN(v) || math.IsInf(v, 0):
			return nil, fmt.Errorf("objective metric %q is %v: a trainer's final objective must be finite", name, v)
		}
		values[i] = v
	}
	return values, nil
}
