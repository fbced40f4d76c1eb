package retune

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math"
	"math/rand/v2"
	"os"
	"reflect"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/a6b40afc/retune/internal/check"
	"github.com/a6b40afc/retune/internal/codec"
)

// Config describes a study. Zero values are the documented defaults.
type Config struct {
	// Name identifies the study in its storage; NewStudy with an existing name resumes it.
	// Required with persistent storage; with memory storage it defaults to "study".
	Name string
	// Direction of a single objective (default Minimize) …
	Direction Direction
	// … or Directions of several objectives. Setting both is an error.
	Directions []Direction
	// Metrics optionally names the objectives, one name per direction.
	Metrics []string
	// Model is the champion lineage the study belongs to; default: Name.
	Model string
	// Sampler proposes params; default: uniform random sampling (Spec name "random").
	Sampler Sampler
	// Pruner stops hopeless trials at Report; default: none.
	Pruner Pruner
	// Storage keeps the study; default: a new memory storage.
	Storage Storage
	// Seed drives every random choice; 0 = choose one and record it.
	Seed uint64
	// Budget holds study-wide caps; zero = unlimited trials, no retries.
	Budget Budget
	// Baseline is the value to beat: observers fire when a run's best beats it
	// (direction-aware). Nil = any completed best counts.
	Baseline *float64
	// Replace allows a resumed study to change its stored sampler or pruner; without it a
	// difference is an error. Each change is recorded in the study's system attribute
	// "changes". A study's seed and model never change (they are part of what its trials
	// mean): a different one is an error even with Replace.
	Replace bool
	// LeaseTTL is how long a running trial's lease lasts between renewals; the library
	// renews open trials every LeaseTTL/3. Default 30s.
	LeaseTTL time.Duration
	// Constraints bound metrics of a COMPLETE trial: one that breaks one is infeasible,
	// and Best, BestTrials and decisions skip it (see Constraint). They are stored with
	// the study: nil on resume keeps the stored ones; different ones need Replace (the
	// change is recorded, and trials told before it keep the values they were told with).
	Constraints []Constraint
}

// Study is a handle on a stored study. It is safe for concurrent use.
type Study struct {
	rec         StudyRecord
	store       Storage
	sampler     Sampler
	pruner      Pruner
	baseline    *float64
	leaseTTL    time.Duration
	holder      string
	constraints []Constraint // the study's own; constant after NewStudy
	exclusive   bool         // the sampler runs only enqueued trials (grid)
	stateful    StatefulSampler
	spacer      SpaceSampler
	annotator   Annotator
	historyFree bool // the sampler ignores history: Ask reads none

	mu       sync.Mutex // guards the cache below
	cursor   int64
	finished []FrozenTrial // finished search trials, in finish order (append-only)
	space    map[string]Distribution
	best     int   // index into finished of the best COMPLETE trial (single objective), -1 if none
	front    []int // indexes into finished of the Pareto front (several objectives)
	lastReap time.Time

	openMu sync.Mutex
	open   map[int]*Trial
	hbStop chan struct{}
	hbPins int // holds of the renewer (pinRenewer): it keeps running while none is open

	defMu sync.Mutex
	def   json.RawMessage // the stored definition (rec.Definition, kept current)

	obsMu     sync.Mutex
	observers []Observer

	subMu   sync.Mutex
	subs    map[*subscriber]struct{}
	dropped uint64
}

const defaultLeaseTTL = 30 * time.Second

// directions validates what cfg says of the study itself (directions, metrics, budget,
// lease, baseline) and returns the objectives' directions.
func (cfg Config) directions() ([]Direction, error) {
	dirs := cfg.Directions
	switch {
	case len(dirs) > 0 && cfg.Direction != Minimize:
		return nil, fmt.Errorf("%w: config sets both Direction and Directions: set one", ErrInvalid)
	case len(dirs) == 0:
		dirs = []Direction{cfg.Direction}
	}
	for i, d := range dirs {
		if d != Minimize && d != Maximize {
			return nil, fmt.Errorf("%w: direction %d is %v: want Minimize or Maximize", ErrInvalid, i, d)
		}
	}
	if len(cfg.Metrics) > 0 {
		if len(cfg.Metrics) != len(dirs) {
			return nil, fmt.Errorf("%w: %d metric names for %d objectives: want one name per objective", ErrInvalid, len(cfg.Metrics), len(dirs))
		}
		seen := map[string]bool{}
		for _, m := range cfg.Metrics {
			if err := ValidateName("metric", m); err != nil {
				return nil, err
			}
			if seen[m] {
				return nil, fmt.Errorf("%w: metric name %q given twice", ErrInvalid, m)
			}
			seen[m] = true
		}
	}
	if cfg.Budget.Trials < 0 || cfg.Budget.Retries < 0 {
		return nil, fmt.Errorf("%w: budget %+v: want trials and retries >= 0", ErrInvalid, cfg.Budget)
	}
	if cfg.LeaseTTL < 0 {
		return nil, fmt.Errorf("%w: lease TTL %v: want > 0 (or 0 for %v)", ErrInvalid, cfg.LeaseTTL, defaultLeaseTTL)
	}
	if cfg.Baseline != nil && math.IsNaN(*cfg.Baseline) {
		return nil, fmt.Errorf("%w: baseline is NaN", ErrInvalid)
	}
	for i, c := range cfg.Constraints {
		if err := c.Validate(); err != nil {
			return nil, fmt.Errorf("constraint %d: %w", i, err)
		}
	}
	return dirs, nil
}

// NewStudy creates the study cfg describes, or resumes the stored one with the same name.
// A resumed study must have the same directions, metrics, seed and model; a different
// sampler or pruner is an error unless cfg.Replace. The budget is taken from cfg.
func NewStudy(ctx context.Context, cfg Config) (*Study, error) {
	dirs, err := cfg.directions()
	if err != nil {
		return nil, err
	}
	store := cfg.Storage
	if store == nil {
		store = NewMemoryStorage()
	}
	name := cfg.Name
	if name == "" {
		if _, ok := store.(*memStore); !ok {
			return nil, fmt.Errorf("%w: config has no Name: a study in persistent storage needs one", ErrInvalid)
		}
		name = "study"
	}
	if err := ValidateName("study", name); err != nil {
		return nil, err
	}
	sampler := cfg.Sampler
	if sampler == nil {
		sampler = uniformSampler{}
	}
	model := cfg.Model
	if model == "" {
		model = name
	}
	s := &Study{
		store: store, sampler: sampler, pruner: cfg.Pruner, baseline: cfg.Baseline,
		leaseTTL: cfg.LeaseTTL, holder: newHolder(), best: -1,
		open: make(map[int]*Trial),
	}
	if s.leaseTTL == 0 {
		s.leaseTTL = defaultLeaseTTL
	}
	s.stateful, _ = sampler.(StatefulSampler)
	s.spacer, _ = sampler.(SpaceSampler)
	s.annotator, _ = sampler.(Annotator)
	_, s.historyFree = sampler.(HistoryFree)
	want := StudyRecord{
		Name: name, Directions: dirs, Metrics: cfg.Metrics, Model: model, Seed: cfg.Seed,
		Sampler: SpecOf(sampler), Pruner: SpecOf(cfg.Pruner), Budget: cfg.Budget,
	}
	if cfg.Constraints != nil {
		want.SystemAttrs = map[string]any{attrConstraints: constraintsAttr(cfg.Constraints)}
	}
	rec, err := createOrResume(ctx, store, want, cfg.Replace)
	if err != nil {
		return nil, fmt.Errorf("open study %q: %w", name, err)
	}
	s.rec, s.def = rec, rec.Definition
	if s.constraints, err = storedConstraints(rec.SystemAttrs); err != nil {
		return nil, fmt.Errorf("open study %q: %w", name, err)
	}
	if err := s.startup(ctx); err != nil {
		return nil, fmt.Errorf("open study %q: %w", name, err)
	}
	return s, nil
}

// createOrResume creates the study want describes, or resumes the stored one of its name
// (see resume). A seed of 0 is picked at random for a new study.
func createOrResume(ctx context.Context, store Storage, want StudyRecord, replace bool) (StudyRecord, error) {
	rec, err := store.Study(ctx, want.Name)
	switch {
	case errors.Is(err, ErrNotFound):
		given := want.Seed
		if want.Seed == 0 {
			want.Seed = randomSeed()
		}
		rec, err = store.CreateStudy(ctx, want)
		if errors.Is(err, ErrConflict) { // created concurrently: resume it
			want.Seed = given // the seed we picked lost; keep the winner's unless one was given
			if rec, err = store.Study(ctx, want.Name); err == nil {
				rec, err = resume(ctx, store, rec, want, replace)
			}
		}
	case err == nil:
		rec, err = resume(ctx, store, rec, want, replace)
	}
	return rec, err
}

// startup enqueues the trials a StartupSampler plans (grid points, say), once per study.
func (s *Study) startup(ctx context.Context) error {
	st, ok := s.sampler.(StartupSampler)
	if !ok {
		return nil
	}
	plan, err := st.Startup(ctx)
	if err != nil {
		return fmt.Errorf("sampler startup: %w", err)
	}
	s.exclusive = plan.Exclusive
	if len(plan.Params) == 0 {
		return nil
	}
	for i, p := range plan.Params {
		if _, err := codec.MarshalAttrs(p); err != nil {
			return fmt.Errorf("startup trial %d: %w", i, err)
		}
	}
	if _, err := s.store.Enqueue(ctx, EnqueueRequest{StudyID: s.rec.ID, Params: plan.Params, OnceKey: plan.Key}); err != nil {
		return fmt.Errorf("enqueue startup trials: %w", err)
	}
	return nil
}

// resume checks want against the stored study and records allowed changes.
func resume(ctx context.Context, store Storage, rec, want StudyRecord, replace bool) (StudyRecord, error) {
	if !reflect.DeepEqual(rec.Directions, want.Directions) {
		return rec, fmt.Errorf("%w: study has directions %v, config has %v: directions cannot change", ErrConflict, rec.Directions, want.Directions)
	}
	if len(want.Metrics) > 0 && len(rec.Metrics) > 0 && !reflect.DeepEqual(rec.Metrics, want.Metrics) {
		return rec, fmt.Errorf("%w: study has metrics %q, config has %q: metric names cannot change", ErrConflict, rec.Metrics, want.Metrics)
	}
	var upd StudyUpdate
	var changes []map[string]any
	change := func(what string, from, to any) error {
		if !replace {
			return fmt.Errorf("%w: study has %s %v, config has %v: keep it, or replace it explicitly (Config.Replace, --replace)", ErrConflict, what, from, to)
		}
		changes = append(changes, map[string]any{"what": what, "from": from, "to": to, "time": time.Now().UTC().Format(time.RFC3339Nano)})
		return nil
	}
	if !specEqual(rec.Sampler, want.Sampler) {
		if err := change("sampler", rec.Sampler, want.Sampler); err != nil {
			return rec, fmt.Errorf("%w%s", err, optionsDiff(rec.Sampler, want.Sampler))
		}
		upd.Sampler = &want.Sampler
	}
	if !specEqual(rec.Pruner, want.Pruner) {
		if err := change("pruner", rec.Pruner, want.Pruner); err != nil {
			return rec, fmt.Errorf("%w%s", err, optionsDiff(rec.Pruner, want.Pruner))
		}
		upd.Pruner = &want.Pruner
	}
	if want.Seed != 0 && want.Seed != rec.Seed {
		return rec, fmt.Errorf("%w: study has seed %d, config has %d: a study keeps its seed, even with Replace (--replace); use the stored seed, 0, or a new study name", ErrConflict, rec.Seed, want.Seed)
	}
	if want.Model != rec.Model {
		return rec, fmt.Errorf("%w: study belongs to model %q, config says %q: a study keeps its model, even with Replace (--replace); use a new study name", ErrConflict, rec.Model, want.Model)
	}
	if want.Budget != rec.Budget {
		upd.Budget = &want.Budget
		changes = append(changes, map[string]any{"what": "budget", "from": rec.Budget, "to": want.Budget, "time": time.Now().UTC().Format(time.RFC3339Nano)})
	}
	var newConstraints []any
	if wc, ok := want.SystemAttrs[attrConstraints]; ok {
		have, err := storedConstraints(rec.SystemAttrs)
		if err != nil {
			return rec, err
		}
		given, _ := storedConstraints(want.SystemAttrs)
		if !constraintsEqual(have, given) {
			if err := change("constraints", constraintStrings(have), constraintStrings(given)); err != nil {
				return rec, err
			}
			newConstraints = wc.([]any)
		}
	}
	if upd.Sampler == nil && upd.Pruner == nil && upd.Budget == nil && newConstraints == nil {
		return rec, nil
	}
	if len(changes) > 0 {
		var old []any
		if prev, ok := rec.SystemAttrs["changes"].([]any); ok {
			old = prev
		}
		for _, c := range changes {
			old = append(old, c)
		}
		upd.SystemAttrs = map[string]any{"changes": old}
	}
	if newConstraints != nil {
		upd.SystemAttrs[attrConstraints] = newConstraints
	}
	if err := store.UpdateStudy(ctx, rec.ID, upd); err != nil {
		return rec, err
	}
	return store.Study(ctx, rec.Name)
}

// SpecOf describes a sampler or pruner: its Spec if it is a Specer, else its type name.
// A nil value is the empty Spec.
func SpecOf(v any) Spec {
	if v == nil || (reflect.ValueOf(v).Kind() == reflect.Pointer && reflect.ValueOf(v).IsNil()) {
		return Spec{}
	}
	if sp, ok := v.(Specer); ok {
		return sp.Spec()
	}
	return Spec{Name: reflect.TypeOf(v).String()}
}

// optionsDiff names, for two specs of the same name, the options whose values differ, with
// the stored one (stored) and the wanted one, as "; options that differ: rules (study: none,
// config: 2)"; "" if the names differ.
func optionsDiff(stored, want Spec) string {
	if stored.Name != want.Name {
		return ""
	}
	show := func(m map[string]any, k string) string {
		v, ok := m[k]
		if !ok {
			return "none"
		}
		b, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprint(v)
		}
		return string(b)
	}
	var diffs []string
	for _, k := range slices.Sorted(maps.Keys(stored.Options)) {
		if a, b := show(stored.Options, k), show(want.Options, k); a != b {
			diffs = append(diffs, fmt.Sprintf("%s (study: %s, config: %s)", k, a, b))
		}
	}
	for _, k := range slices.Sorted(maps.Keys(want.Options)) {
		if _, ok := stored.Options[k]; !ok {
			diffs = append(diffs, fmt.Sprintf("%s (study: none, config: %s)", k, show(want.Options, k)))
		}
	}
	if len(diffs) == 0 {
		return ""
	}
	return "; options that differ: " + strings.Join(diffs, ", ")
}

func specEqual(a, b Spec) bool {
	ja, err1 := json.Marshal(a)
	jb, err2 := json.Marshal(b)
	return err1 == nil && err2 == nil && string(ja) == string(jb)
}

// Definition returns the study's stored definition (see StudyRecord.Definition): nil for a
// study defined by the code that asks its params, the JSON that config.Study.Definition
// writes for one created from a study file.
func (s *Study) Definition() json.RawMessage {
	s.defMu.Lock()
	defer s.defMu.Unlock()
	return slices.Clone(s.def)
}

// SetDefinition stores def as the study's definition, with attrs merged into its system
// attributes in the same write (for a record of the change).
func (s *Study) SetDefinition(ctx context.Context, def json.RawMessage, attrs map[string]any) error {
	if err := s.store.UpdateStudy(ctx, s.rec.ID, StudyUpdate{Definition: def, SystemAttrs: attrs}); err != nil {
		return err
	}
	s.defMu.Lock()
	s.def = slices.Clone(def)
	s.defMu.Unlock()
	return nil
}

// Name returns the study name.
func (s *Study) Name() string { return s.rec.Name }

// Record returns the study record as it was when the study was opened (with the sampler
// state this handle stored since).
func (s *Study) Record() StudyRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rec
}

// Directions returns the objectives' directions.
func (s *Study) Directions() []Direction { return append([]Direction(nil), s.rec.Directions...) }

// Constraints returns the study's constraints (Config.Constraints, as stored).
func (s *Study) Constraints() []Constraint { return slices.Clone(s.constraints) }

// Seed returns the study seed.
func (s *Study) Seed() uint64 { return s.rec.Seed }

// Storage returns the study's storage.
func (s *Study) Storage() Storage { return s.store }

// Ask starts a new search trial: it claims an enqueued trial if there is one, or creates
// one, and samples its joint params. It returns ErrBudgetExhausted when the study budget
// is used up and ErrGridExhausted when an exhaustive sampler has no point left. The trial
// must be finished with Tell or TellState; until then its lease is renewed.
func (s *Study) Ask(ctx context.Context) (*Trial, error) {
	return s.AskLease(ctx, KindSearch, 0)
}

// AskFixed starts a trial of the given kind with fixed params, claiming a WAITING trial of
// that kind first. Confirmation runs use it with KindConfirm.
func (s *Study) AskFixed(ctx context.Context, kind TrialKind, params map[string]any) (*Trial, error) {
	if _, err := codec.MarshalAttrs(params); err != nil {
		return nil, err
	}
	return s.ask(ctx, CreateTrialRequest{Kind: kind, Fixed: params})
}

// AskConfirm claims a WAITING confirmation repeat (kind confirm) that a decider enqueued
// for others to run (retrain.Coordinator.DecideQueued): its Fixed params are the
// candidate's or the champion's, and its system attributes say which, the repeat and its
// seed. It returns an error wrapping ErrNotFound when none waits.
func (s *Study) AskConfirm(ctx context.Context) (*Trial, error) {
	return s.AskLease(ctx, KindConfirm, 0)
}

// AskLease is Ask (kind search) or AskConfirm (kind confirm) with a lease of ttl instead
// of the study's LeaseTTL (0: the study's): for a trial handed to another process with
// Detach, whose holder renews it (HeartbeatLease) at its own pace. While the trial is open
// in this process, its renewals use the study's LeaseTTL.
func (s *Study) AskLease(ctx context.Context, kind TrialKind, ttl time.Duration) (*Trial, error) {
	if ttl < 0 {
		return nil, fmt.Errorf("%w: lease TTL %v: want > 0 (or 0 for the study's %v)", ErrInvalid, ttl, s.leaseTTL)
	}
	if kind == KindSearch {
		return s.ask(ctx, CreateTrialRequest{Kind: KindSearch, ClaimOnly: s.exclusive, LeaseTTL: ttl})
	}
	if kind != KindConfirm {
		return nil, fmt.Errorf("%w: AskLease of kind %v: want search or confirm", ErrInvalid, kind)
	}
	t, err := s.ask(ctx, CreateTrialRequest{Kind: KindConfirm, ClaimOnly: true, LeaseTTL: ttl})
	if errors.Is(err, ErrGridExhausted) {
		return nil, fmt.Errorf("study %q has no confirmation repeat waiting: %w", s.rec.Name, ErrNotFound)
	}
	return t, err
}

func (s *Study) ask(ctx context.Context, req CreateTrialRequest) (*Trial, error) {
	s.maybeReap(ctx)
	req.StudyID, req.Holder = s.rec.ID, s.holder
	if req.LeaseTTL == 0 {
		req.LeaseTTL = s.leaseTTL
	}
	ft, err := s.store.CreateTrial(ctx, req)
	if err != nil {
		if req.ClaimOnly && errors.Is(err, ErrNotFound) {
			return nil, ErrGridExhausted
		}
		return nil, err
	}
	t := &Trial{
		study: s, kind: ft.Kind, fixed: ft.Fixed, start: ft.Start, holder: s.holder, lease: ft.Lease,
		ref:    TrialRef{StudyID: s.rec.ID, Number: ft.Number, Epoch: ft.Lease.Epoch},
		params: make(map[string]any), dists: make(map[string]Distribution),
		sys: copyMap(ft.SystemAttrs), // what it was enqueued with (a confirmation repeat's role)
	}
	s.addOpen(t)
	var sreq *SampleRequest
	if s.historyFree {
		sreq = &SampleRequest{Directions: s.rec.Directions, Trial: FrozenTrial{Number: ft.Number, State: TrialRunning, RetryOf: -1}, Seed: s.rec.Seed}
	} else {
		sreq, err = s.sampleRequest(ctx, ft.Number)
	}
	if err == nil && t.kind == KindSearch {
		t.rel, err = s.relative(ctx, sreq)
		if s.annotator != nil && err == nil {
			for k, v := range s.annotator.Annotate(sreq) {
				t.SetSystemAttr(k, v)
			}
		}
	}
	if err != nil {
		s.settle(ctx, t, TrialFail, nil, err)
		return nil, fmt.Errorf("trial %d: %w", ft.Number, err)
	}
	t.req = sreq
	return t, nil
}

func (s *Study) relative(ctx context.Context, req *SampleRequest) (map[string]any, error) {
	if s.spacer != nil {
		space, err := s.spacer.Space(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("sampler space: %w", err)
		}
		req.Space = space
	}
	if len(req.Space) == 0 && s.stateful == nil {
		return nil, nil
	}
	req.Rand = trialRand(s.rec.Seed, req.Trial.Number)
	rel, err := s.sampler.Relative(ctx, req)
	if err != nil {
		return nil, fmt.Errorf("sample relative: %w", err)
	}
	if s.stateful != nil {
		next, err := s.stateful.NextState(ctx, req)
		if err != nil {
			return nil, fmt.Errorf("sampler state: %w", err)
		}
		if next != nil {
			var v any
			if err := json.Unmarshal(next, &v); err != nil {
				return nil, fmt.Errorf("sampler state is not JSON: %w", err)
			}
			if err := s.store.UpdateStudy(ctx, s.rec.ID, StudyUpdate{SystemAttrs: map[string]any{"sampler.state": v}}); err != nil {
				return nil, fmt.Errorf("store sampler state: %w", err)
			}
			s.mu.Lock()
			s.rec.SystemAttrs = copyMap(s.rec.SystemAttrs)
			if s.rec.SystemAttrs == nil {
				s.rec.SystemAttrs = map[string]any{}
			}
			s.rec.SystemAttrs["sampler.state"] = v
			s.mu.Unlock()
		}
	}
	return rel, nil
}

// sampleRequest brings the cache up to date and snapshots it for trial number.
func (s *Study) sampleRequest(ctx context.Context, number int) (*SampleRequest, error) {
	finished, space, err := s.sync(ctx)
	if err != nil {
		return nil, err
	}
	running, err := s.running(ctx, number)
	if err != nil {
		return nil, err
	}
	req := &SampleRequest{
		Directions: s.rec.Directions, Space: space, Trials: finished, Running: running,
		Trial: FrozenTrial{Number: number, State: TrialRunning, RetryOf: -1}, Seed: s.rec.Seed,
	}
	if s.stateful != nil {
		s.mu.Lock()
		if st, ok := s.rec.SystemAttrs["sampler.state"]; ok {
			req.State, _ = json.Marshal(st)
		}
		s.mu.Unlock()
	}
	return req, nil
}

// running lists the other running search trials: this process's own with their live
// params, others' as stored.
func (s *Study) running(ctx context.Context, except int) ([]FrozenTrial, error) {
	s.openMu.Lock()
	mine := make(map[int]*Trial, len(s.open))
	for n, t := range s.open {
		mine[n] = t
	}
	s.openMu.Unlock()
	var stored []FrozenTrial
	var err error
	if rx, ok := s.store.(RunningExcepter); ok { // storage need not read what is in memory
		skip := append(make([]int, 0, len(mine)+1), except)
		for n := range mine {
			skip = append(skip, n)
		}
		stored, err = rx.RunningExcept(ctx, s.rec.ID, skip)
	} else {
		stored, err = s.store.Running(ctx, s.rec.ID)
	}
	if err != nil {
		return nil, fmt.Errorf("read running trials: %w", err)
	}
	out := make([]FrozenTrial, 0, len(stored)+len(mine))
	for _, ft := range stored {
		if _, ok := mine[ft.Number]; !ok && ft.Kind == KindSearch && ft.Number != except {
			out = append(out, ft)
		}
	}
	for n, t := range mine {
		if n == except || t.kind != KindSearch {
			continue
		}
		t.mu.Lock()
		out = append(out, t.frozenLocked())
		t.mu.Unlock()
	}
	return out, nil
}

// sync reads the trials finished since the cursor into the cache and returns the cached
// finished search trials and joint space. The returned slice is never modified.
func (s *Study) sync(ctx context.Context) ([]FrozenTrial, map[string]Distribution, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	news, cursor, err := s.store.FinishedSince(ctx, s.rec.ID, s.cursor)
	if err != nil {
		return nil, nil, fmt.Errorf("read finished trials: %w", err)
	}
	s.cursor = cursor
	copied := false
	for _, ft := range news {
		if ft.Kind != KindSearch {
			continue
		}
		i := len(s.finished)
		if ft.Late() {
			// A late tell revived a trial this study may have read as expired: it
			// takes that one's place (copied: handed-out slices keep what they got).
			if j := slices.IndexFunc(s.finished, func(old FrozenTrial) bool { return old.Number == ft.Number }); j >= 0 {
				s.finished = slices.Clone(s.finished)
				s.finished[j], i = ft, j
			}
		}
		if i == len(s.finished) {
			s.finished = append(s.finished, ft)
		}
		if ft.State != TrialComplete {
			continue
		}
		if !copied {
			// Copy on write: requests already handed out keep the map they got.
			s.space, copied = copyMap(s.space), true
		}
		s.addToSpace(ft)
		s.addToBest(i)
	}
	return s.finished[:len(s.finished):len(s.finished)], s.space, nil
}

// addToSpace intersects the joint space with a new COMPLETE trial's params, taking the
// newer distribution where both have a param.
func (s *Study) addToSpace(ft FrozenTrial) {
	if s.space == nil {
		s.space = copyMap(ft.Distributions)
		if s.space == nil {
			s.space = map[string]Distribution{}
		}
		return
	}
	for name := range s.space {
		d, ok := ft.Distributions[name]
		if !ok {
			delete(s.space, name)
			continue
		}
		s.space[name] = d
	}
}

// addToBest updates the best trial or the front with COMPLETE trial i, if it is feasible.
func (s *Study) addToBest(i int) {
	ft := s.finished[i]
	if !ft.Feasible() {
		return
	}
	if len(s.rec.Directions) == 1 {
		if s.best < 0 || s.rec.Directions[0].Better(ft.Values[0], s.finished[s.best].Values[0]) {
			s.best = i
		}
		return
	}
	for _, j := range s.front {
		if dominates(s.rec.Directions, s.finished[j].Values, ft.Values) || equalValues(s.finished[j].Values, ft.Values) {
			return
		}
	}
	kept := s.front[:0:0]
	for _, j := range s.front {
		if !dominates(s.rec.Directions, ft.Values, s.finished[j].Values) {
			kept = append(kept, j)
		}
	}
	s.front = append(kept, i)
}

// Tell finishes a trial with its objective values (one per objective). A NaN value makes
// the trial FAIL ("objective returned NaN"); ±Inf is stored as it is. If the trial recorded
// an error (Err), it ends FAIL with that reason and Tell returns the error.
func (s *Study) Tell(ctx context.Context, t *Trial, values ...float64) error {
	if err := t.Err(); err != nil {
		if _, serr := s.settle(ctx, t, TrialFail, nil, err); serr != nil {
			return serr
		}
		return err
	}
	if len(values) != len(s.rec.Directions) {
		err := fmt.Errorf("%w: %d values told for %d objectives", ErrInvalid, len(values), len(s.rec.Directions))
		if _, serr := s.settle(ctx, t, TrialFail, nil, err); serr != nil {
			return serr
		}
		return err
	}
	for _, v := range values {
		if math.IsNaN(v) {
			_, err := s.settle(ctx, t, TrialFail, nil, errNaN)
			return err
		}
	}
	_, err := s.settle(ctx, t, TrialComplete, values, nil)
	return err
}

// TellState finishes a trial as PRUNED (with its last intermediate values) or FAIL (with
// reason). Use Tell for COMPLETE.
func (s *Study) TellState(ctx context.Context, t *Trial, state TrialState, reason error) error {
	switch state {
	case TrialPruned, TrialFail:
	default:
		return fmt.Errorf("%w: TellState with %v: want PRUNED or FAIL (use Tell to complete)", ErrInvalid, state)
	}
	if state == TrialFail && reason == nil {
		reason = errors.New("failed")
	}
	_, err := s.settle(ctx, t, state, nil, reason)
	return err
}

// settle finishes t in storage. It works even when ctx is already cancelled (an
// interrupted trial must still be recorded), within a deadline of its own: 30s, plus the
// time a Retrier storage may spend retrying. The trial's lease is renewed until then.
func (s *Study) settle(ctx context.Context, t *Trial, state TrialState, values []float64, reason error) (FrozenTrial, error) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return FrozenTrial{}, fmt.Errorf("%w: trial %d is already finished", ErrConflict, t.ref.Number)
	}
	t.done, t.unflushed = true, false // everything goes with the finish
	req := FinishRequest{
		Ref: t.ref, State: state, Values: values,
		Params: copyMap(t.params), Distributions: copyMap(t.dists), UserAttrs: copyMap(t.user),
		SystemAttrs: copyMap(t.sys), Metrics: copyMap(t.metrics),
	}
	if state == TrialPruned {
		if _, last, ok := t.frozenLocked().LastStep(); ok {
			req.Values = last
		}
	}
	if reason != nil {
		req.Reason = check.CutReason(reason.Error())
	}
	if cv := constraintValues(t.constraints, s.constraints, req.Metrics); state == TrialComplete && cv != nil {
		if req.SystemAttrs == nil {
			req.SystemAttrs = map[string]any{}
		}
		req.SystemAttrs[attrConstraints] = cv
	}
	req.Interrupted = state == TrialFail && errors.Is(reason, ErrInterrupted)
	t.mu.Unlock()
	defer s.removeOpen(t)

	timeout := 30 * time.Second
	if r, ok := s.store.(Retrier); ok {
		timeout += r.RetryFor()
	}
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
	defer cancel()
	ft, err := s.store.Finish(fctx, req)
	if lf, ok := s.store.(LateFinisher); ok && errors.Is(err, ErrConflict) {
		// Perhaps the lease expired while the trial ran on: a late tell (late.go).
		lft, lerr := lf.FinishLate(fctx, req)
		switch {
		case lerr == nil:
			ft, err = lft, nil
		case !errors.Is(lerr, ErrConflict):
			err = lerr
		}
	}
	if err != nil {
		return FrozenTrial{}, fmt.Errorf("finish trial %d: %w", t.ref.Number, err)
	}
	s.publish(ft)
	return ft, nil
}

// Enqueue adds a WAITING search trial with fixed params; the next Ask claims it. Params
// not given are sampled as usual.
func (s *Study) Enqueue(ctx context.Context, params map[string]any) error {
	for k := range params {
		if err := ValidateName("param", k); err != nil {
			return err
		}
	}
	if _, err := codec.MarshalAttrs(params); err != nil {
		return err
	}
	_, err := s.store.Enqueue(ctx, EnqueueRequest{StudyID: s.rec.ID, Params: []map[string]any{params}})
	return err
}

// Best returns the best feasible COMPLETE search trial of a single-objective study, or an
// error wrapping ErrNotFound if there is none.
func (s *Study) Best(ctx context.Context) (FrozenTrial, error) {
	if len(s.rec.Directions) != 1 {
		return FrozenTrial{}, fmt.Errorf("%w: Best needs a single objective; this study has %d (use BestTrials)", ErrInvalid, len(s.rec.Directions))
	}
	if _, _, err := s.sync(ctx); err != nil {
		return FrozenTrial{}, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.best < 0 {
		if len(s.constraints) > 0 && slices.ContainsFunc(s.finished, func(ft FrozenTrial) bool { return ft.State == TrialComplete }) {
			return FrozenTrial{}, fmt.Errorf("study %q has no feasible completed trial (constraints: %s): %w", s.rec.Name, strings.Join(constraintStrings(s.constraints), ", "), ErrNotFound)
		}
		return FrozenTrial{}, fmt.Errorf("study %q has no completed trial: %w", s.rec.Name, ErrNotFound)
	}
	return s.finished[s.best], nil
}

// BestTrials returns the Pareto front of the feasible COMPLETE search trials, ordered by number
// (for a single objective, the best trial alone). Trials with identical values keep only
// the first.
func (s *Study) BestTrials(ctx context.Context) ([]FrozenTrial, error) {
	if _, _, err := s.sync(ctx); err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.rec.Directions) == 1 {
		if s.best < 0 {
			return nil, nil
		}
		return []FrozenTrial{s.finished[s.best]}, nil
	}
	out := make([]FrozenTrial, 0, len(s.front))
	for _, i := range s.front {
		out = append(out, s.finished[i])
	}
	sortByNumber(out)
	return out, nil
}

// Trials returns every trial of the study (all states and kinds), ordered by number.
func (s *Study) Trials(ctx context.Context) ([]FrozenTrial, error) {
	return s.store.Trials(ctx, s.rec.ID)
}

// SetUserAttr sets a user attribute on the study.
func (s *Study) SetUserAttr(ctx context.Context, key string, value any) error {
	return s.SetUserAttrs(ctx, map[string]any{key: value})
}

// SetUserAttrs sets several user attributes on the study in one write, so a reader sees
// all of them or none. Nothing is written if one is invalid.
func (s *Study) SetUserAttrs(ctx context.Context, attrs map[string]any) error {
	for k, v := range attrs {
		if err := ValidateAttr(k, v); err != nil {
			return err
		}
	}
	return s.store.UpdateStudy(ctx, s.rec.ID, StudyUpdate{UserAttrs: attrs})
}

// prune asks the pruner about each step of batch in turn, the finished and running trials
// read once: the trial it judges at a step is before with the batch's values up to that
// step. It returns the step it judged last and whether to prune there.
func (s *Study) prune(ctx context.Context, t *Trial, before FrozenTrial, batch []StepValues) (int64, bool, error) {
	first := batch[0].Step
	finished, _, err := s.sync(ctx)
	if err != nil {
		return first, false, err
	}
	running, err := s.running(ctx, t.ref.Number)
	if err != nil {
		return first, false, err
	}
	cur := before // its maps are copies: the pruner is done with one step before the next
	if cur.Intermediate == nil {
		cur.Intermediate = make(map[int64][]float64, len(batch))
	}
	for _, sv := range batch {
		cur.Intermediate[sv.Step] = sv.Values
		prune, err := s.pruner.Prune(ctx, &PruneRequest{
			Directions: s.rec.Directions, Trial: cur, Step: sv.Step, Trials: finished, Running: running, Seed: s.rec.Seed,
		})
		if err != nil || prune {
			return sv.Step, prune, err
		}
	}
	return batch[len(batch)-1].Step, false, nil
}

// maybeReap expires stale leases at most once per half lease TTL, after renewing this
// study's own: after a database outage longer than the lease TTL, the trials still
// running here are not failed as expired. Errors are left for the next call: reaping is
// housekeeping, and Ask's own storage call reports real failures.
func (s *Study) maybeReap(ctx context.Context) {
	s.mu.Lock()
	now := time.Now()
	due := now.Sub(s.lastReap) >= s.leaseTTL/2
	if due {
		s.lastReap = now
	}
	s.mu.Unlock()
	if due {
		s.renewOpen(ctx)
		_, _ = s.store.ExpireLeases(ctx, s.rec.ID)
	}
}

// addOpen registers a live trial for lease renewal, starting the renewer if needed.
func (s *Study) addOpen(t *Trial) {
	s.openMu.Lock()
	defer s.openMu.Unlock()
	s.open[t.ref.Number] = t
	if s.hbStop == nil {
		s.hbStop = make(chan struct{})
		go s.renew(s.hbStop)
	}
}

func (s *Study) removeOpen(t *Trial) {
	s.openMu.Lock()
	defer s.openMu.Unlock()
	if s.open[t.ref.Number] == t { // a reopened trial (Reopen) is not registered
		delete(s.open, t.ref.Number)
	}
	s.stopIdleRenewerLocked()
}

// stopIdleRenewerLocked stops the renewer when no trial is open and nothing pins it. The
// caller holds openMu.
func (s *Study) stopIdleRenewerLocked() {
	if len(s.open) == 0 && s.hbPins == 0 && s.hbStop != nil {
		close(s.hbStop)
		s.hbStop = nil
	}
}

// pinRenewer keeps the renewer running between trials until unpin is called, so that a
// loop of trials (Optimize) does not start and stop a goroutine and a ticker for each.
func (s *Study) pinRenewer() (unpin func()) {
	s.openMu.Lock()
	s.hbPins++
	s.openMu.Unlock()
	return func() {
		s.openMu.Lock()
		defer s.openMu.Unlock()
		s.hbPins--
		s.stopIdleRenewerLocked()
	}
}

// renew keeps the leases of open trials alive until stop is closed (when no trial is
// open and nothing pins it).
func (s *Study) renew(stop chan struct{}) {
	tick := time.NewTicker(s.leaseTTL / 3)
	defer tick.Stop()
	for {
		select {
		case <-stop:
			return
		case <-tick.C:
		}
		s.renewOpen(context.Background())
	}
}

// renewOpen renews the leases of the open trials, each within a third of the lease TTL,
// after writing their unsaved params. A trial whose lease was lost gets that as its
// error, so its finish fails cleanly; other errors are left for the next renewal.
func (s *Study) renewOpen(ctx context.Context) {
	s.openMu.Lock()
	trials := make([]*Trial, 0, len(s.open))
	for _, t := range s.open {
		trials = append(trials, t)
	}
	s.openMu.Unlock()
	for _, t := range trials {
		hctx, cancel := context.WithTimeout(ctx, s.leaseTTL/3)
		t.mu.Lock()
		upd, flush := t.updateLocked()
		t.mu.Unlock()
		var err error
		if flush {
			err = s.store.Update(hctx, upd)
		}
		if err == nil {
			_, err = s.store.Heartbeat(hctx, t.ref, s.leaseTTL)
		}
		cancel()
		switch {
		case errors.Is(err, ErrStopRequested):
			t.requestStop()
		case errors.Is(err, ErrConflict):
			t.mu.Lock()
			t.failLocked(fmt.Errorf("trial %d lost its lease: %w", t.ref.Number, err))
			t.mu.Unlock()
		}
	}
}

// dominates reports whether a Pareto-dominates b: no worse in every objective, better in one.
func dominates(dirs []Direction, a, b []float64) bool {
	better := false
	for i, d := range dirs {
		if d.Better(b[i], a[i]) {
			return false
		}
		if d.Better(a[i], b[i]) {
			better = true
		}
	}
	return better
}

func equalValues(a, b []float64) bool {
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func sortByNumber(ts []FrozenTrial) {
	for i := 1; i < len(ts); i++ {
		for j := i; j > 0 && ts[j].Number < ts[j-1].Number; j-- {
			ts[j], ts[j-1] = ts[j-1], ts[j]
		}
	}
}

func randomSeed() uint64 {
	var b [8]byte
	for {
		_, _ = crand.Read(b[:])
		if s := binary.LittleEndian.Uint64(b[:]); s != 0 {
			return s
		}
	}
}

func newHolder() string {
	host, _ := os.Hostname()
	var b [4]byte
	_, _ = crand.Read(b[:])
	return fmt.Sprintf("%s/%d/%x", host, os.Getpid(), b)
}

// mix is the SplitMix64 finalizer.
func mix(x uint64) uint64 {
	x += 0x9e3779b97f4a7c15
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9
	x = (x ^ (x >> 27)) * 0x94d049bb133111eb
	return x ^ (x >> 31)
}

// trialRand is the rng of trial n's relative phase.
func trialRand(seed uint64, n int) *rand.Rand {
	return rand.New(rand.NewPCG(mix(seed), mix(uint64(n)^0x5851f42d4c957f2d)))
}

// paramRand is the rng of param name's independent draw in trial n.
func paramRand(seed uint64, n int, name string) *rand.Rand {
	h := fnv.New64a()
	h.Write([]byte(name))
	hn := h.Sum64()
	return rand.New(rand.NewPCG(mix(seed^hn), mix(uint64(n))^mix(hn)))
}

// BestOf returns the best of trials as Study.BestTrials does: for one direction the best
// feasible COMPLETE search trial (the first of equals), for several the Pareto front of the
// feasible ones by number.
func BestOf(dirs []Direction, trials []FrozenTrial) []FrozenTrial {
	s := &Study{rec: StudyRecord{Directions: dirs}, best: -1}
	for _, t := range trials {
		if t.Kind == KindSearch && t.State.Finished() {
			s.finished = append(s.finished, t)
			if t.State == TrialComplete && len(t.Values) == len(dirs) {
				s.addToBest(len(s.finished) - 1)
			}
		}
	}
	if len(dirs) == 1 {
		if s.best < 0 {
			return nil
		}
		return []FrozenTrial{s.finished[s.best]}
	}
	out := make([]FrozenTrial, 0, len(s.front))
	for _, i := range s.front {
		out = append(out, s.finished[i])
	}
	sortByNumber(out)
	return out
}
