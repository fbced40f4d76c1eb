package retune

import (
	"context"
	"errors"
	"fmt"
	"math"
	"sync"
	"time"
)

// FrozenTrial is a trial as stored: a snapshot, safe to keep and share (treat it as
// read-only; its maps may be shared with the study's cache).
type FrozenTrial struct {
	Number int
	Kind   TrialKind
	State  TrialState
	// Params holds float64 for floats, int64 for ints and the choice for categoricals (a
	// choice read back from storage is what JSON decodes: string, float64, bool, …).
	Params        map[string]any
	Distributions map[string]Distribution
	// Values has one value per objective for COMPLETE trials; a PRUNED trial carries its
	// last intermediate values.
	Values []float64
	// Metrics are other final measurements (guardrails), by name.
	Metrics map[string]float64
	// Intermediate maps a step to the vector reported at it (one entry per objective).
	Intermediate map[int64][]float64
	UserAttrs    map[string]any
	SystemAttrs  map[string]any
	// Fixed are the params this trial was enqueued with, if any.
	Fixed map[string]any
	// RetryOf is the number of the trial this one re-runs after its lease expired, or -1.
	RetryOf int
	Lease   Lease
	Reason  string
	Start   time.Time // zero while WAITING
	End     time.Time // zero until finished
}

// Interrupted reports whether the trial ended FAIL without an outcome of its own: its
// runner stopped it (see ErrInterrupted) or its lease expired. Such trials do not count
// against Budget.Trials.
func (t FrozenTrial) Interrupted() bool {
	return t.State == TrialFail && (t.Reason == ReasonLeaseExpired || t.SystemAttrs[attrInterrupted] == true)
}

// ReasonLeaseExpired is the fail reason of a trial whose holder stopped renewing its lease.
const ReasonLeaseExpired = "lease expired"

// RetryParams are the fixed params of a retry of t: its enqueued params and every param it
// had drawn.
func (t FrozenTrial) RetryParams() map[string]any {
	out := make(map[string]any, len(t.Fixed)+len(t.Params))
	for k, v := range t.Fixed {
		out[k] = v
	}
	for k, v := range t.Params {
		out[k] = v
	}
	return out
}

// attrInterrupted is the system attribute with which every storage marks an interrupted
// finish (FinishRequest.Interrupted).
const attrInterrupted = "interrupted"

// Value returns the first objective value, or NaN if there is none.
func (t FrozenTrial) Value() float64 {
	if len(t.Values) == 0 {
		return math.NaN()
	}
	return t.Values[0]
}

// LastStep returns the last reported step and its values; ok is false if none was reported.
func (t FrozenTrial) LastStep() (step int64, values []float64, ok bool) {
	for s, v := range t.Intermediate {
		if !ok || s > step {
			step, values, ok = s, v, true
		}
	}
	return step, values, ok
}

// ParamOption modifies a Float or Int parameter: Log or Step(x).
type ParamOption struct {
	log  bool
	step float64
}

// Log draws the parameter on a log scale.
var Log = ParamOption{log: true}

// Step restricts the parameter to low + k*x.
func Step(x float64) ParamOption { return ParamOption{step: x} }

// Trial is a live trial, handed to an objective or returned by Ask. Its suggest methods
// are define-by-run: the first call for a name draws the value, later calls with the same
// distribution return it. Suggest methods return no error: an invalid distribution, a
// conflicting redefinition or a sampler failure is kept (Err), the method returns the zero
// value, and the trial ends FAIL with that reason. A Trial is safe for concurrent use.
type Trial struct {
	study   *Study
	ref     TrialRef
	kind    TrialKind
	fixed   map[string]any
	req     *SampleRequest // snapshot taken when the trial started
	scratch *SampleRequest // reused for each param's Independent call (see suggest)
	rel     map[string]any // Relative's proposals
	start   time.Time
	holder  string
	lease   Lease // as the trial was claimed (or reopened)

	mu          sync.Mutex
	params      map[string]any
	dists       map[string]Distribution
	user        map[string]any
	sys         map[string]any
	metrics     map[string]float64
	inter       map[int64][]float64
	constraints []float64 // SetConstraints'
	unflushed   bool
	err         error
	done        bool
	prune       bool // the pruner said stop at a reported step (or a stop was requested)
	stopped     bool // a stop was requested (Study.RequestStop)
	stopc       chan struct{}
}

// ShouldPrune reports whether the pruner said, at a step Report or ReportMany gave it,
// that the trial should stop. It lets an objective tell the pruner's verdict from a
// storage failure without errors.Is:
//
//	if err := t.Report(ctx, epoch, loss); t.ShouldPrune() {
//		return 0, retune.ErrPruned // the trial ends PRUNED
//	} else if err != nil {
//		return 0, err // storage failed: the trial ends FAIL
//	}
func (t *Trial) ShouldPrune() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.prune
}

// Fixed returns the params the trial was enqueued with (a confirmation repeat's are the
// candidate's or the champion's), nil if none.
func (t *Trial) Fixed() map[string]any { return copyMap(t.fixed) }

// SystemAttr returns a system attribute of the trial: one set on it, or one it was
// enqueued or stored with (nil if it has none of that key).
func (t *Trial) SystemAttr(key string) any {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.sys[key]
}

// Number returns the trial's number in its study (0, 1, 2, …).
func (t *Trial) Number() int { return t.ref.Number }

// Err returns the first error the trial recorded (invalid distribution, conflicting
// redefinition, sampler or storage failure), or nil.
func (t *Trial) Err() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.err
}

// Params returns a copy of the params drawn so far.
func (t *Trial) Params() map[string]any {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]any, len(t.params))
	for k, v := range t.params {
		out[k] = v
	}
	return out
}

func (t *Trial) failLocked(err error) {
	if t.err == nil {
		t.err = err
	}
}

// Float suggests a float in [low, high]; options Log and Step(x).
func (t *Trial) Float(name string, low, high float64, opts ...ParamOption) float64 {
	d := FloatDistribution{Low: low, High: high}
	for _, o := range opts {
		d.Log = d.Log || o.log
		if o.step != 0 {
			d.Step = o.step
		}
	}
	v, ok := t.suggest(name, d)
	if !ok {
		return 0
	}
	return v.(float64)
}

// Int suggests an integer in [low, high]; options Log and Step(x) (x a whole number).
func (t *Trial) Int(name string, low, high int64, opts ...ParamOption) int64 {
	d := IntDistribution{Low: low, High: high}
	for _, o := range opts {
		d.Log = d.Log || o.log
		if o.step != 0 {
			if o.step != math.Trunc(o.step) || o.step < 1 || o.step > math.MaxInt64/2 {
				t.mu.Lock()
				t.failLocked(fmt.Errorf("param %q: %w: step %v for an int: want a whole number >= 1", name, ErrInvalid, o.step))
				t.mu.Unlock()
				return 0
			}
			d.Step = int64(o.step)
		}
	}
	v, ok := t.suggest(name, d)
	if !ok {
		return 0
	}
	return v.(int64)
}

// Categorical suggests one of the string choices.
func (t *Trial) Categorical(name string, choices ...string) string {
	return Choice(t, name, choices...)
}

// Choice suggests one of the choices, of any comparable JSON-encodable type.
func Choice[T comparable](t *Trial, name string, choices ...T) T {
	cs := make([]any, len(choices))
	for i, c := range choices {
		cs[i] = c
	}
	var zero T
	v, ok := t.suggest(name, CategoricalDistribution{Choices: cs})
	if !ok {
		return zero
	}
	if tv, ok := v.(T); ok {
		return tv
	}
	// The value came from storage in JSON form: return the matching choice.
	if i := (CategoricalDistribution{Choices: cs}).Index(v); i >= 0 {
		return choices[i]
	}
	return zero
}

// Suggest suggests name from d, as Float, Int or Choice would for the same
// distribution: for callers that hold the search space as data (a study file, the
// API's define-by-run). It returns nil once the trial has an error (see Err).
func (t *Trial) Suggest(name string, d Distribution) any {
	if d == nil {
		t.mu.Lock()
		t.failLocked(fmt.Errorf("param %q: %w: no distribution: want a float, int or categorical distribution", name, ErrInvalid))
		t.mu.Unlock()
		return nil
	}
	v, _ := t.suggest(name, d)
	return v
}

func (t *Trial) suggest(name string, d Distribution) (any, bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return nil, false
	}
	if t.done {
		t.failLocked(fmt.Errorf("%w: param %q asked after the trial finished", ErrConflict, name))
		return nil, false
	}
	if err := ValidateName("param", name); err != nil {
		t.failLocked(err)
		return nil, false
	}
	if err := d.Validate(); err != nil {
		t.failLocked(fmt.Errorf("param %q: %w", name, err))
		return nil, false
	}
	if old, ok := t.dists[name]; ok {
		if !old.Equal(d) {
			t.failLocked(fmt.Errorf("%w: param %q asked as %v, but this trial already has it as %v: a param keeps one distribution within a trial", ErrInvalid, name, d, old))
			return nil, false
		}
		return t.params[name], true
	}
	var v any
	if fv, ok := t.fixed[name]; ok {
		x, ok := d.ToInternal(fv)
		if !ok {
			t.failLocked(fmt.Errorf("%w: param %q: enqueued value %v is outside %v", ErrInvalid, name, fv, d))
			return nil, false
		}
		v = d.ToExternal(x)
	} else if rv, ok := t.rel[name]; ok && t.req.Space[name] != nil && t.req.Space[name].Equal(d) && d.Contains(rv) {
		x, _ := d.ToInternal(rv)
		v = d.ToExternal(x)
	} else {
		if t.req == nil { // a reopened trial (Study.Reopen): snapshot the study now
			sreq, err := t.study.reopenedRequest(context.Background(), t.ref.Number)
			if err != nil {
				t.failLocked(fmt.Errorf("sample param %q: %w", name, err))
				return nil, false
			}
			t.req = sreq
		}
		if t.scratch == nil { // one request per trial, refilled for each param: no copy escapes per call
			t.scratch = new(SampleRequest)
		}
		req := t.scratch
		*req = *t.req
		req.Trial = FrozenTrial{Number: t.ref.Number, Kind: t.kind, State: TrialRunning, Params: t.params, Distributions: t.dists, RetryOf: -1}
		req.Rand = paramRand(t.study.rec.Seed, t.ref.Number, name)
		sv, err := t.study.sampler.Independent(context.Background(), req, name, d)
		if err != nil {
			t.failLocked(fmt.Errorf("sample param %q: %w", name, err))
			return nil, false
		}
		x, ok := d.ToInternal(sv)
		if !ok {
			t.failLocked(fmt.Errorf("sample param %q: sampler returned %v, outside %v", name, sv, d))
			return nil, false
		}
		v = d.ToExternal(x)
	}
	t.params[name] = v
	t.dists[name] = d
	t.unflushed = true
	return v, true
}

// SetUserAttr sets a user attribute, stored with the trial. An invalid key or a value that
// is not JSON-encodable (or too large) is kept as the trial's error.
func (t *Trial) SetUserAttr(key string, value any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := ValidateAttr(key, value); err != nil {
		t.failLocked(err)
		return
	}
	if t.user == nil {
		t.user = make(map[string]any)
	}
	t.user[key] = value
	t.unflushed = true
}

// SetMetric records a final measurement other than the objectives (latency, model size…),
// stored in the trial's Metrics for guardrails. NaN and ±Inf are stored as they are.
func (t *Trial) SetMetric(name string, value float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := ValidateName("metric", name); err != nil {
		t.failLocked(err)
		return
	}
	if t.metrics == nil {
		t.metrics = make(map[string]float64)
	}
	t.metrics[name] = value
}

// SetSystemAttr sets a system attribute: data about how the trial ran, for tools built on
// retune (the runner records the host and process group of a trainer here). Validation
// errors are kept as the trial's error, as with SetUserAttr.
func (t *Trial) SetSystemAttr(key string, value any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if err := ValidateAttr(key, value); err != nil {
		t.failLocked(err)
		return
	}
	if t.sys == nil {
		t.sys = make(map[string]any)
	}
	t.sys[key] = value
	t.unflushed = true
}

// Flush writes the params and attributes set so far to storage now, instead of at the
// next report, lease renewal or finish.
func (t *Trial) Flush(ctx context.Context) error {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return fmt.Errorf("%w: trial %d is finished", ErrConflict, t.ref.Number)
	}
	upd, flush := t.updateLocked()
	t.mu.Unlock()
	if !flush {
		return nil
	}
	if err := t.study.store.Update(ctx, upd); err != nil {
		return fmt.Errorf("trial %d: %w", t.ref.Number, err)
	}
	return nil
}

// Report records the objective values at a step (one value per objective; NaN and ±Inf are
// stored as they are) and asks the study's pruner whether to stop. It returns an error
// wrapping ErrPruned when the trial should stop (ShouldPrune then reports true); the
// objective should then return that error (or ErrPruned), and the trial ends PRUNED with
// its last intermediate values. Any other error is a storage failure or invalid input.
func (t *Trial) Report(ctx context.Context, step int64, values ...float64) error {
	return t.ReportMany(ctx, []StepValues{{Step: step, Values: values}})
}

// ReportMany is Report for several steps, in order, in one storage write (for trainers
// that report every batch): every step is stored, then the pruner is asked about each
// step in turn, as if it had been reported alone — it sees the trial's values up to that
// step — until it says stop. Nothing is stored if a step is invalid.
func (t *Trial) ReportMany(ctx context.Context, steps []StepValues) error {
	s := t.study
	batch := make([]StepValues, len(steps))
	for i, sv := range steps {
		if len(sv.Values) != len(s.rec.Directions) {
			return fmt.Errorf("%w: trial %d: reported %d values at step %d for %d objectives", ErrInvalid, t.ref.Number, len(sv.Values), sv.Step, len(s.rec.Directions))
		}
		if sv.Step < 0 {
			return fmt.Errorf("%w: trial %d: step %d: want a step >= 0", ErrInvalid, t.ref.Number, sv.Step)
		}
		batch[i] = StepValues{Step: sv.Step, Values: append([]float64(nil), sv.Values...)}
	}
	if len(batch) == 0 {
		return nil
	}
	pruning := s.pruner != nil && t.kind == KindSearch
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return fmt.Errorf("%w: trial %d reported after it finished", ErrConflict, t.ref.Number)
	}
	if t.stopped {
		t.mu.Unlock()
		return fmt.Errorf("trial %d: %w: %w", t.ref.Number, ErrStopRequested, ErrPruned)
	}
	var before FrozenTrial // the trial as the pruner sees it before the first step
	if pruning {
		before = t.frozenLocked()
	}
	if t.inter == nil {
		t.inter = make(map[int64][]float64)
	}
	for _, sv := range batch {
		t.inter[sv.Step] = sv.Values
	}
	upd, flush := t.updateLocked()
	t.mu.Unlock()
	if flush {
		if err := s.store.Update(ctx, upd); err != nil {
			return fmt.Errorf("trial %d: %w", t.ref.Number, err)
		}
	}
	if err := t.store(ctx, batch); err != nil {
		return err
	}
	if !pruning {
		return nil
	}
	step, prune, err := s.prune(ctx, t, before, batch)
	if err != nil {
		return fmt.Errorf("trial %d: prune at step %d: %w", t.ref.Number, step, err)
	}
	if prune {
		t.mu.Lock()
		t.prune = true
		t.mu.Unlock()
		return fmt.Errorf("trial %d pruned at step %d: %w", t.ref.Number, step, ErrPruned)
	}
	return nil
}

// store writes a batch of intermediate values: in one write if the storage can.
func (t *Trial) store(ctx context.Context, batch []StepValues) error {
	if br, ok := t.study.store.(BatchReporter); ok && len(batch) > 1 {
		if err := br.ReportMany(ctx, t.ref, batch); err != nil {
			return fmt.Errorf("trial %d: report steps %d to %d: %w", t.ref.Number, batch[0].Step, batch[len(batch)-1].Step, err)
		}
		return nil
	}
	for _, sv := range batch {
		if err := t.study.store.Report(ctx, t.ref, sv.Step, sv.Values); err != nil {
			return fmt.Errorf("trial %d: report step %d: %w", t.ref.Number, sv.Step, err)
		}
	}
	return nil
}

// updateLocked returns the unflushed params and attributes as a TrialUpdate.
func (t *Trial) updateLocked() (TrialUpdate, bool) {
	if !t.unflushed {
		return TrialUpdate{}, false
	}
	t.unflushed = false
	return TrialUpdate{
		Ref:           t.ref,
		Params:        copyMap(t.params),
		Distributions: copyMap(t.dists),
		UserAttrs:     copyMap(t.user),
		SystemAttrs:   copyMap(t.sys),
	}, true
}

// frozenLocked is the live trial as a FrozenTrial for pruners and samplers.
func (t *Trial) frozenLocked() FrozenTrial {
	inter := make(map[int64][]float64, len(t.inter))
	for k, v := range t.inter {
		inter[k] = v
	}
	return FrozenTrial{
		Number: t.ref.Number, Kind: t.kind, State: TrialRunning,
		Params: copyMap(t.params), Distributions: copyMap(t.dists),
		Intermediate: inter, UserAttrs: copyMap(t.user), SystemAttrs: copyMap(t.sys),
		Metrics: copyMap(t.metrics), Fixed: t.fixed,
		RetryOf: -1, Start: t.start,
	}
}

func copyMap[K comparable, V any](m map[K]V) map[K]V {
	if m == nil {
		return nil
	}
	out := make(map[K]V, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// errNaN is the reason of a trial whose objective returned NaN.
var errNaN = errors.New("objective returned NaN")
