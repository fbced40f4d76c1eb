package retune

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/a6b40afc/retune/internal/codec"
)

// NewMemoryStorage returns a Storage that keeps everything in this process's memory: the
// default of Config.Storage, also available as storage/memory.New. It stores trial data in
// the same encoded form as the databases do, so a trial reads back the same from any
// storage. It lives in the root package because Config needs it as a default and the root
// imports nothing else from this module.
func NewMemoryStorage() Storage {
	return &memStore{studies: make(map[int64]*memStudy), byName: make(map[string]int64)}
}

type memStore struct {
	mu      sync.Mutex
	lastID  int64
	studies map[int64]*memStudy
	byName  map[string]int64
	retrain memRetrain // champions, decisions and events (memstore_retrain.go)
	service memService // API tokens and idempotency keys (memstore_service.go)
	leaders map[string]memLeader
	agents  map[string]AgentInfo
}

type memStudy struct {
	rec      StudyRecord
	trials   []*memTrial // by number
	started  int         // search trials ever started
	finished []int       // trial numbers in finish order; the cursor is an index into it
	running  map[int]struct{}
	waiting  [2][]int // WAITING numbers per kind, ascending
	once     map[string]bool
	changes  []Change // the change log, by seq (pruned from the front)
	headSeq  int64
}

// change appends to the study's change log, with the trial's state after it and, for a
// finish, its finish sequence number (as the databases' triggers do).
func (st *memStudy) change(kind string, trial int, step, ref int64) {
	st.headSeq++
	c := Change{Seq: st.headSeq, Time: memNow(), Kind: kind, Trial: trial, Step: step, Ref: ref}
	if kind != ChangeDecision && trial >= 0 && trial < len(st.trials) {
		c.State = st.trials[trial].ft.State
		if kind == ChangeTrialFinished {
			c.Ref = int64(len(st.finished)) // finish appends before it tells
		}
	}
	st.changes = append(st.changes, c)
}

type memTrial struct {
	ft    FrozenTrial
	depth int // how many lease-expiry retries led to this trial
	log   *TrialLog
}

func memNow() time.Time { return time.Now().UTC() }

func (m *memStore) study(id int64) (*memStudy, error) {
	st, ok := m.studies[id]
	if !ok {
		return nil, fmt.Errorf("study id %d: %w", id, ErrNotFound)
	}
	return st, nil
}

// CreateStudy implements StudyStore.
func (m *memStore) CreateStudy(_ context.Context, rec StudyRecord) (StudyRecord, error) {
	if err := ValidateName("study", rec.Name); err != nil {
		return StudyRecord{}, err
	}
	user, err := roundTripAttrs(rec.UserAttrs)
	if err != nil {
		return StudyRecord{}, err
	}
	sys, err := roundTripAttrs(rec.SystemAttrs)
	if err != nil {
		return StudyRecord{}, err
	}
	if err := rec.Validate(); err != nil { // the name again, and the definition
		return StudyRecord{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.byName[rec.Name]; ok {
		return StudyRecord{}, fmt.Errorf("study %q exists: %w", rec.Name, ErrConflict)
	}
	m.lastID++
	rec.ID, rec.Created = m.lastID, memNow()
	rec.UserAttrs, rec.SystemAttrs = user, sys
	rec.Directions = slices.Clone(rec.Directions)
	rec.Metrics = slices.Clone(rec.Metrics)
	rec.Definition = slices.Clone(rec.Definition)
	m.studies[rec.ID] = &memStudy{rec: rec, running: map[int]struct{}{}, once: map[string]bool{}}
	m.byName[rec.Name] = rec.ID
	return rec, nil
}

// Study implements StudyStore.
func (m *memStore) Study(_ context.Context, name string) (StudyRecord, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	id, ok := m.byName[name]
	if !ok {
		return StudyRecord{}, fmt.Errorf("study %q: %w", name, ErrNotFound)
	}
	return m.studies[id].rec, nil
}

// Studies implements StudyStore.
func (m *memStore) Studies(_ context.Context) ([]StudySummary, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := make([]StudySummary, 0, len(m.studies))
	for _, st := range m.studies {
		sum := StudySummary{StudyRecord: st.rec}
		for _, t := range st.trials {
			switch t.ft.State {
			case TrialWaiting:
				sum.Waiting++
			case TrialRunning:
				sum.Running++
			case TrialComplete:
				sum.Complete++
				if t.ft.Kind == KindSearch && len(st.rec.Directions) == 1 && t.ft.Feasible() {
					v := t.ft.Values[0]
					if sum.Best == nil || st.rec.Directions[0].Better(v, *sum.Best) {
						sum.Best = &v
					}
				}
			case TrialPruned:
				sum.Pruned++
			case TrialFail:
				sum.Failed++
			}
		}
		out = append(out, sum)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// UpdateStudy implements StudyStore.
func (m *memStore) UpdateStudy(_ context.Context, id int64, upd StudyUpdate) error {
	if err := upd.Validate(); err != nil {
		return err
	}
	user, err := roundTripAttrs(upd.UserAttrs)
	if err != nil {
		return err
	}
	sys, err := roundTripAttrs(upd.SystemAttrs)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(id)
	if err != nil {
		return err
	}
	rec := st.rec
	if upd.Sampler != nil {
		rec.Sampler = *upd.Sampler
	}
	if upd.Pruner != nil {
		rec.Pruner = *upd.Pruner
	}
	if upd.Budget != nil {
		rec.Budget = *upd.Budget
	}
	if upd.Definition != nil {
		rec.Definition = slices.Clone(upd.Definition)
	}
	rec.UserAttrs = mergeAttrs(rec.UserAttrs, user, upd.UserAttrs)
	rec.SystemAttrs = mergeAttrs(rec.SystemAttrs, sys, upd.SystemAttrs)
	st.rec = rec
	return nil
}

// DeleteStudy implements StudyStore.
func (m *memStore) DeleteStudy(_ context.Context, id int64) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(id)
	if err != nil {
		return err
	}
	delete(m.byName, st.rec.Name)
	delete(m.studies, id)
	return nil
}

// CreateTrial implements TrialStore.
func (m *memStore) CreateTrial(_ context.Context, req CreateTrialRequest) (FrozenTrial, error) {
	if err := CheckAskKind(req.Kind); err != nil {
		return FrozenTrial{}, err
	}
	fixed, err := roundTripFixed(req.Fixed)
	if err != nil {
		return FrozenTrial{}, err
	}
	sys, err := roundTripAttrs(req.System)
	if err != nil {
		return FrozenTrial{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(req.StudyID)
	if err != nil {
		return FrozenTrial{}, err
	}
	if req.Kind == KindSearch && st.rec.Budget.Trials > 0 && st.started >= st.rec.Budget.Trials {
		return FrozenTrial{}, fmt.Errorf("study %q started %d of %d trials: %w", st.rec.Name, st.started, st.rec.Budget.Trials, ErrBudgetExhausted)
	}
	var t *memTrial
	kind := ChangeTrialCreated
	if q := st.waiting[req.Kind]; len(q) > 0 {
		t = st.trials[q[0]]
		st.waiting[req.Kind] = q[1:]
		kind = ChangeTrialStarted
	} else if req.ClaimOnly {
		return FrozenTrial{}, fmt.Errorf("study %q has no waiting %v trial: %w", st.rec.Name, req.Kind, ErrNotFound)
	} else {
		t = &memTrial{ft: FrozenTrial{Number: len(st.trials), Kind: req.Kind, Fixed: fixed, RetryOf: -1}}
		st.trials = append(st.trials, t)
	}

	now := memNow()
	ft := t.ft
	ft.State, ft.Start = TrialRunning, now
	ft.Lease = Lease{Holder: req.Holder, Epoch: ft.Lease.Epoch + 1, Expires: now.Add(req.LeaseTTL)}
	ft.SystemAttrs = mergeAttrs(ft.SystemAttrs, sys, req.System)
	t.ft = ft
	st.change(kind, ft.Number, 0, 0)
	st.running[ft.Number] = struct{}{}
	if req.Kind == KindSearch {
		st.started++
	}
	return ft, nil
}

// Enqueue implements TrialStore.
func (m *memStore) Enqueue(_ context.Context, req EnqueueRequest) ([]int, error) {
	if err := CheckAskKind(req.Kind); err != nil {
		return nil, err
	}
	fixed := make([]map[string]any, len(req.Params))
	for i, p := range req.Params {
		f, err := roundTripFixed(p)
		if err != nil {
			return nil, fmt.Errorf("enqueue trial %d: %w", i, err)
		}
		fixed[i] = f
	}
	if err := req.ValidateSystem(); err != nil {
		return nil, err
	}
	sysEnc := make([]map[string]any, len(req.System))
	for i, m := range req.System {
		rt, err := roundTripAttrs(m)
		if err != nil {
			return nil, fmt.Errorf("enqueue trial %d: %w", i, err)
		}
		sysEnc[i] = rt
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(req.StudyID)
	if err != nil {
		return nil, err
	}
	if req.OnceKey != "" {
		if st.once[req.OnceKey] {
			return nil, nil
		}
		st.once[req.OnceKey] = true
	}
	nums := make([]int, len(fixed))
	for i, f := range fixed {
		nums[i] = st.addWaiting(req.Kind, f, -1, 0)
		if req.System != nil {
			st.trials[nums[i]].ft.SystemAttrs = sysEnc[i]
		}
	}
	return nums, nil
}

func (st *memStudy) addWaiting(kind TrialKind, fixed map[string]any, retryOf, depth int) int {
	n := len(st.trials)
	st.trials = append(st.trials, &memTrial{ft: FrozenTrial{Number: n, Kind: kind, State: TrialWaiting, Fixed: fixed, RetryOf: retryOf}, depth: depth})
	st.waiting[kind] = append(st.waiting[kind], n)
	st.change(ChangeTrialCreated, n, 0, 0)
	return n
}

// running returns the trial ref points at if ref's lease is current.
func (m *memStore) running(ref TrialRef) (*memStudy, *memTrial, error) {
	st, err := m.study(ref.StudyID)
	if err != nil {
		return nil, nil, err
	}
	if ref.Number < 0 || ref.Number >= len(st.trials) {
		return nil, nil, fmt.Errorf("trial %d of study %q: %w", ref.Number, st.rec.Name, ErrNotFound)
	}
	t := st.trials[ref.Number]
	return st, t, ref.Fence(st.rec.Name, t.ft.State, t.ft.Lease.Epoch)
}

// Update implements TrialStore.
func (m *memStore) Update(_ context.Context, upd TrialUpdate) error {
	params, dists, err := roundTripParams(upd.Params, upd.Distributions)
	if err != nil {
		return err
	}
	user, err := roundTripAttrs(upd.UserAttrs)
	if err != nil {
		return err
	}
	sys, err := roundTripAttrs(upd.SystemAttrs)
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, t, err := m.running(upd.Ref)
	if err != nil {
		return err
	}
	if len(params) > 0 || len(upd.UserAttrs) > 0 || len(upd.SystemAttrs) > 0 {
		st.change(ChangeTrialUpdated, upd.Ref.Number, 0, 0)
	}
	ft := t.ft
	ft.Params = mergeAny(ft.Params, params)
	ft.Distributions = mergeAny(ft.Distributions, dists)
	ft.UserAttrs = mergeAttrs(ft.UserAttrs, user, upd.UserAttrs)
	ft.SystemAttrs = mergeAttrs(ft.SystemAttrs, sys, upd.SystemAttrs)
	t.ft = ft
	return nil
}

// Report implements TrialStore.
func (m *memStore) Report(_ context.Context, ref TrialRef, step int64, values []float64) error {
	if step < 0 {
		return fmt.Errorf("%w: step %d: want >= 0", ErrInvalid, step)
	}
	vals, err := codec.UnmarshalFloats(codec.MarshalFloats(values))
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, t, err := m.running(ref)
	if err != nil {
		return err
	}
	inter := make(map[int64][]float64, len(t.ft.Intermediate)+1)
	for k, v := range t.ft.Intermediate {
		inter[k] = v
	}
	inter[step] = vals
	st.change(ChangeTrialReported, ref.Number, step, 0)
	t.ft.Intermediate = inter
	return nil
}

// ReportMany implements BatchReporter.
func (m *memStore) ReportMany(_ context.Context, ref TrialRef, steps []StepValues) error {
	vals := make([][]float64, len(steps))
	for i, sv := range steps {
		if sv.Step < 0 {
			return fmt.Errorf("%w: step %d: want >= 0", ErrInvalid, sv.Step)
		}
		v, err := codec.UnmarshalFloats(codec.MarshalFloats(sv.Values))
		if err != nil {
			return err
		}
		vals[i] = v
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, t, err := m.running(ref)
	if err != nil {
		return err
	}
	inter := make(map[int64][]float64, len(t.ft.Intermediate)+len(steps))
	for k, v := range t.ft.Intermediate {
		inter[k] = v
	}
	for i, sv := range steps {
		inter[sv.Step] = vals[i]
	}
	for _, step := range slices.Sorted(maps.Keys(stepSet(steps))) {
		st.change(ChangeTrialReported, ref.Number, step, 0)
	}
	t.ft.Intermediate = inter
	return nil
}

// Heartbeat implements TrialStore.
func (m *memStore) Heartbeat(_ context.Context, ref TrialRef, ttl time.Duration) (time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	_, t, err := m.running(ref)
	if err != nil {
		return time.Time{}, err
	}
	t.ft.Lease.Expires = memNow().Add(ttl)
	if t.ft.StopRequested() {
		return t.ft.Lease.Expires, fmt.Errorf("trial %d: %w", ref.Number, ErrStopRequested)
	}
	return t.ft.Lease.Expires, nil
}

// PutLog implements LogStore.
func (m *memStore) PutLog(_ context.Context, ref TrialRef, log TrialLog) error {
	if err := log.Validate(); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	_, t, err := m.running(ref)
	if err != nil {
		return err
	}
	log.Head, log.Tail, log.Time = slices.Clone(log.Head), slices.Clone(log.Tail), memNow()
	t.log = &log
	return nil
}

// TrialLog implements LogStore.
func (m *memStore) TrialLog(_ context.Context, studyID int64, number int) (TrialLog, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(studyID)
	if err != nil {
		return TrialLog{}, err
	}
	if number < 0 || number >= len(st.trials) {
		return TrialLog{}, fmt.Errorf("trial %d of study %q: %w", number, st.rec.Name, ErrNotFound)
	}
	l := st.trials[number].log
	if l == nil {
		return TrialLog{}, fmt.Errorf("trial %d of study %q has no stored log: %w", number, st.rec.Name, ErrNotFound)
	}
	out := *l
	out.Head, out.Tail = slices.Clone(l.Head), slices.Clone(l.Tail)
	return out, nil
}

// RequestStop implements StopStore.
func (m *memStore) RequestStop(_ context.Context, studyID int64, number int) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(studyID)
	if err != nil {
		return err
	}
	if number < 0 || number >= len(st.trials) {
		return fmt.Errorf("trial %d of study %q: %w", number, st.rec.Name, ErrNotFound)
	}
	t := st.trials[number]
	if t.ft.State != TrialRunning {
		return fmt.Errorf("%w: trial %d of study %q is %v: only a RUNNING trial can be stopped", ErrConflict, number, st.rec.Name, t.ft.State)
	}
	if !t.ft.StopRequested() {
		mark := map[string]any{attrStopRequested: true}
		t.ft.SystemAttrs = mergeAttrs(t.ft.SystemAttrs, mark, mark)
		st.change(ChangeTrialUpdated, number, 0, 0)
	}
	return nil
}

// memFinish is a FinishRequest in the form a database would read it back.
type memFinish struct {
	params  map[string]any
	dists   map[string]Distribution
	user    map[string]any
	sys     map[string]any
	sysUpd  map[string]any // the request's system attributes, with "interrupted" if it is one
	vals    []float64
	metrics map[string]float64
}

func decodeFinish(req FinishRequest) (f memFinish, err error) {
	var ok bool
	if err := req.Validate(); err != nil {
		return f, err
	}
	if f.params, f.dists, err = roundTripParams(req.Params, req.Distributions); err != nil {
		return f, err
	}
	if f.user, err = roundTripAttrs(req.UserAttrs); err != nil {
		return f, err
	}
	if req.Interrupted {
		req.SystemAttrs = maps.Clone(req.SystemAttrs)
		if req.SystemAttrs == nil {
			req.SystemAttrs = map[string]any{}
		}
		req.SystemAttrs[attrInterrupted] = true
	}
	f.sysUpd = req.SystemAttrs
	if f.sys, err = roundTripAttrs(req.SystemAttrs); err != nil {
		return f, err
	}
	// Values and metrics read back from a database exactly as given (floats are stored in
	// their shortest exact form, ±Inf and NaN as strings): copy them, but for metric names
	// that are not valid UTF-8, which the stored form changes.
	f.vals = make([]float64, len(req.Values))
	copy(f.vals, req.Values)
	if f.metrics, ok = nativeMetrics(req.Metrics); !ok {
		f.metrics, err = codec.UnmarshalMetrics(codec.MarshalMetrics(req.Metrics))
	}
	return f, err
}

// nativeMetrics copies m as a database reads it back (nil when empty); ok is false when a
// name is not valid UTF-8 and must go through the stored form.
func nativeMetrics(m map[string]float64) (out map[string]float64, ok bool) {
	if len(m) == 0 {
		return nil, true
	}
	out = make(map[string]float64, len(m))
	for k, v := range m {
		if !utf8.ValidString(k) {
			return nil, false
		}
		out[k] = v
	}
	return out, true
}

// apply sets the outcome req (decoded as f) on ft.
func (f memFinish) apply(ft *FrozenTrial, req FinishRequest) {
	ft.State, ft.Values, ft.Metrics, ft.Reason, ft.End = req.State, f.vals, f.metrics, req.Reason, memNow()
	ft.Params = mergeAny(ft.Params, f.params)
	ft.Distributions = mergeAny(ft.Distributions, f.dists)
	ft.UserAttrs = mergeAttrs(ft.UserAttrs, f.user, req.UserAttrs)
	ft.SystemAttrs = mergeAttrs(ft.SystemAttrs, f.sys, f.sysUpd)
}

// Finish implements TrialStore.
func (m *memStore) Finish(_ context.Context, req FinishRequest) (FrozenTrial, error) {
	f, err := decodeFinish(req)
	if err != nil {
		return FrozenTrial{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, t, err := m.running(req.Ref)
	if err != nil {
		return FrozenTrial{}, err
	}
	ft := t.ft
	f.apply(&ft, req)
	t.ft = ft
	st.finish(ft.Number)
	if req.Interrupted && ft.Kind == KindSearch {
		st.started--
	}
	return ft, nil
}

// FinishLate implements LateFinisher (see late.go).
func (m *memStore) FinishLate(_ context.Context, req FinishRequest) (FrozenTrial, error) {
	f, err := decodeFinish(req)
	if err != nil {
		return FrozenTrial{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(req.Ref.StudyID)
	if err != nil {
		return FrozenTrial{}, err
	}
	n := req.Ref.Number
	if n < 0 || n >= len(st.trials) {
		return FrozenTrial{}, fmt.Errorf("trial %d of study %q: %w", n, st.rec.Name, ErrNotFound)
	}
	t := st.trials[n]
	if keep, err := req.LateVerdict(st.rec.Name, t.ft); keep || err != nil {
		return t.ft, err
	}
	if rec := st.lateRecord(n); rec != nil {
		return rec.ft, nil // told again
	}
	if req.State == TrialPruned && len(f.vals) == 0 {
		if _, last, ok := t.ft.LastStep(); ok {
			f.vals = slices.Clone(last)
		}
	}
	var retry *memTrial
	for _, r := range st.trials[n+1:] {
		if r.ft.RetryOf == n {
			retry = r
			break
		}
	}
	full := t.ft.Kind == KindSearch && st.rec.Budget.Trials > 0 && st.started >= st.rec.Budget.Trials
	if (retry == nil || retry.ft.State == TrialWaiting) && !full {
		ft := t.ft
		f.apply(&ft, req)
		ft.SystemAttrs = mergeAny(ft.SystemAttrs, map[string]any{attrLate: true})
		t.ft = ft
		st.refinish(n)
		if ft.Kind == KindSearch {
			st.started++
		}
		if retry != nil {
			k := retry.ft.Kind
			st.waiting[k] = slices.DeleteFunc(st.waiting[k], func(w int) bool { return w == retry.ft.Number })
			retry.ft.State, retry.ft.Reason, retry.ft.End = TrialFail, LateCancelReason(n), memNow()
			retry.ft.SystemAttrs = mergeAny(retry.ft.SystemAttrs, map[string]any{attrInterrupted: true})
			st.finish(retry.ft.Number)
		}
		return ft, nil
	}
	rec := &memTrial{ft: FrozenTrial{
		Number: len(st.trials), Kind: KindLate, State: TrialRunning, Fixed: t.ft.Fixed, RetryOf: -1,
		Params: maps.Clone(t.ft.Params), Distributions: maps.Clone(t.ft.Distributions),
		SystemAttrs: map[string]any{attrLateOf: float64(n)}, Start: t.ft.Start,
	}}
	st.trials = append(st.trials, rec)
	st.change(ChangeTrialCreated, rec.ft.Number, 0, 0)
	f.apply(&rec.ft, req)
	st.finish(rec.ft.Number)
	return rec.ft, nil
}

// lateRecord returns the KindLate record of trial n, or nil.
func (st *memStudy) lateRecord(n int) *memTrial {
	for _, r := range st.trials[n+1:] {
		if of, ok := r.ft.LateOf(); ok && of == n {
			return r
		}
	}
	return nil
}

// refinish moves finished trial n to the end of the finish order (a late tell revived it):
// its old place is left empty (-1), so that cursors into the order stay valid.
func (st *memStudy) refinish(n int) {
	if i := slices.Index(st.finished, n); i >= 0 {
		st.finished[i] = -1
	}
	st.finished = append(st.finished, n)
	st.change(ChangeTrialFinished, n, 0, 0)
}

func (st *memStudy) finish(n int) {
	delete(st.running, n)
	st.finished = append(st.finished, n)
	st.change(ChangeTrialFinished, n, 0, 0)
}

// stepSet is the distinct steps of a batch.
func stepSet(steps []StepValues) map[int64]struct{} {
	out := make(map[int64]struct{}, len(steps))
	for _, sv := range steps {
		out[sv.Step] = struct{}{}
	}
	return out
}

// Changes implements ChangeStore.
func (m *memStore) Changes(_ context.Context, studyID int64, after int64, limit int) ([]Change, int64, error) {
	if err := CheckChangesQuery(after, limit); err != nil {
		return nil, 0, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(studyID)
	if err != nil {
		return nil, 0, err
	}
	i := sort.Search(len(st.changes), func(i int) bool { return st.changes[i].Seq > after })
	out := slices.Clone(st.changes[i:min(len(st.changes), i+limit)])
	return out, st.headSeq, nil
}

// PruneChanges implements ChangeStore.
func (m *memStore) PruneChanges(_ context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for _, st := range m.studies {
		i := sort.Search(len(st.changes), func(i int) bool { return !st.changes[i].Time.Before(before) })
		n += int64(i)
		st.changes = slices.Clone(st.changes[i:])
	}
	return n, nil
}

// FinishedSince implements TrialStore.
func (m *memStore) FinishedSince(_ context.Context, studyID int64, cursor int64) ([]FrozenTrial, int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(studyID)
	if err != nil {
		return nil, cursor, err
	}
	if cursor < 0 || cursor > int64(len(st.finished)) {
		return nil, cursor, fmt.Errorf("%w: cursor %d: want 0 to %d", ErrInvalid, cursor, len(st.finished))
	}
	nums := st.finished[cursor:]
	out := make([]FrozenTrial, 0, len(nums))
	for _, n := range nums {
		if n >= 0 { // -1: a trial a late tell finished again later (refinish)
			out = append(out, st.trials[n].ft)
		}
	}
	return out, int64(len(st.finished)), nil
}

// Running implements TrialStore.
func (m *memStore) Running(ctx context.Context, studyID int64) ([]FrozenTrial, error) {
	return m.RunningExcept(ctx, studyID, nil)
}

// RunningExcept implements RunningExcepter.
func (m *memStore) RunningExcept(_ context.Context, studyID int64, except []int) ([]FrozenTrial, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(studyID)
	if err != nil {
		return nil, err
	}
	out := make([]FrozenTrial, 0, len(st.running))
	for n := range st.running {
		if !slices.Contains(except, n) {
			out = append(out, st.trials[n].ft)
		}
	}
	sortByNumber(out)
	return out, nil
}

// Trials implements TrialStore.
func (m *memStore) Trials(_ context.Context, studyID int64) ([]FrozenTrial, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(studyID)
	if err != nil {
		return nil, err
	}
	out := make([]FrozenTrial, len(st.trials))
	for i, t := range st.trials {
		out[i] = t.ft
	}
	return out, nil
}

// Trial implements TrialStore.
func (m *memStore) Trial(_ context.Context, studyID int64, number int) (FrozenTrial, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(studyID)
	if err != nil {
		return FrozenTrial{}, err
	}
	if number < 0 || number >= len(st.trials) {
		return FrozenTrial{}, fmt.Errorf("trial %d of study %q: %w", number, st.rec.Name, ErrNotFound)
	}
	return st.trials[number].ft, nil
}

// ExpireLeases implements TrialStore.
func (m *memStore) ExpireLeases(_ context.Context, studyID int64) (int, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	st, err := m.study(studyID)
	if err != nil {
		return 0, err
	}
	now := memNow()
	var expired []int
	for n := range st.running {
		if st.trials[n].ft.Lease.Expires.Before(now) {
			expired = append(expired, n)
		}
	}
	sort.Ints(expired)
	for _, n := range expired {
		t := st.trials[n]
		t.ft.State, t.ft.Reason, t.ft.End = TrialFail, ReasonLeaseExpired, now
		st.finish(n)
		if t.ft.Kind == KindSearch {
			st.started--
		}
		if t.depth < st.rec.Budget.Retries {
			fixed, err := roundTripFixed(t.ft.RetryParams())
			if err != nil {
				return 0, fmt.Errorf("retry of trial %d: %w", n, err)
			}
			st.addWaiting(t.ft.Kind, fixed, n, t.depth+1)
		}
	}
	return len(expired), nil
}

// Close implements Storage. The memory storage has nothing to release.
func (m *memStore) Close() error { return nil }

// roundTripParams returns params and distributions as they read back from a database.
// Floats, ints and categoricals of JSON-native choices (string, float64, bool, nil) are
// already in that form and are only validated and copied; anything else goes through the
// stored encoding.
func roundTripParams(p map[string]any, d map[string]Distribution) (map[string]any, map[string]Distribution, error) {
	if len(p) == 0 {
		return nil, nil, nil
	}
	if params, dists, ok, err := nativeParams(p, d); ok || err != nil {
		return params, dists, err
	}
	b, err := MarshalParams(p, d)
	if err != nil {
		return nil, nil, err
	}
	return UnmarshalParams(b)
}

func roundTripAttrs(m map[string]any) (map[string]any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	for k, v := range m {
		if v == nil {
			continue // a deletion in an update
		}
		if err := ValidateAttr(k, v); err != nil {
			return nil, err
		}
	}
	b, err := codec.MarshalAttrs(m)
	if err != nil {
		return nil, err
	}
	return codec.UnmarshalAttrs(b)
}

func roundTripFixed(m map[string]any) (map[string]any, error) {
	if len(m) == 0 {
		return nil, nil
	}
	for k := range m {
		if err := ValidateName("param", k); err != nil {
			return nil, err
		}
	}
	b, err := codec.MarshalAttrs(m)
	if err != nil {
		return nil, err
	}
	return codec.UnmarshalFixed(b)
}

// mergeAttrs returns a new map: old with the keys of upd set (decoded values from dec) or,
// where upd's value is nil, deleted.
func mergeAttrs(old, dec, upd map[string]any) map[string]any {
	if len(upd) == 0 {
		return old
	}
	out := make(map[string]any, len(old)+len(upd))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range upd {
		if v == nil {
			delete(out, k)
		} else {
			out[k] = dec[k]
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

func mergeAny[V any](old, upd map[string]V) map[string]V {
	if len(upd) == 0 {
		return old
	}
	out := make(map[string]V, len(old)+len(upd))
	for k, v := range old {
		out[k] = v
	}
	for k, v := range upd {
		out[k] = v
	}
	return out
}

// nativeParams is roundTripParams' fast path; ok is false when a value needs encoding.
func nativeParams(p map[string]any, d map[string]Distribution) (map[string]any, map[string]Distribution, bool, error) {
	params := make(map[string]any, len(p))
	dists := make(map[string]Distribution, len(p))
	for name, v := range p {
		dist, ok := d[name]
		if !ok {
			return nil, nil, false, fmt.Errorf("%w: param %q has no distribution", ErrInvalid, name)
		}
		if err := dist.Validate(); err != nil {
			return nil, nil, false, fmt.Errorf("param %q: %w", name, err)
		}
		x, ok := dist.ToInternal(v)
		if !ok {
			return nil, nil, false, fmt.Errorf("%w: param %q value %v is outside %v", ErrInvalid, name, v, dist)
		}
		switch dd := dist.(type) {
		case FloatDistribution:
			params[name] = x
		case IntDistribution:
			n, _ := toInt(v)
			params[name] = n
		case CategoricalDistribution:
			for _, c := range dd.Choices {
				switch c.(type) {
				case string, float64, bool, nil:
				default:
					return nil, nil, false, nil
				}
			}
			params[name] = dd.Choices[int(x)]
		}
		dists[name] = dist
	}
	return params, dists, true, nil
}
