package retune

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"time"

	"github.com/a6b40afc/retune/internal/check"
)

// Storage keeps studies and trials. Implementations live in storage/memory, storage/sqlite
// and storage/postgres; storage/storagetest is the conformance suite all of them pass.
// A Storage is safe for concurrent use, and the persistent ones coordinate any number of
// processes sharing one database.
type Storage interface {
	StudyStore
	TrialStore
	Close() error
}

// Retrier is an optional interface of a Storage that tries an operation again when it
// fails for a transient reason (a database restart), for up to RetryFor. The library
// gives the write that records a finished trial that much time beyond its own 30s, and
// keeps renewing the trial's lease meanwhile.
type Retrier interface {
	RetryFor() time.Duration
}

// StudyStore creates, reads and changes study records.
type StudyStore interface {
	// CreateStudy stores a new study and returns it with its ID and creation time set.
	// A name that exists already is an error wrapping ErrConflict.
	CreateStudy(ctx context.Context, rec StudyRecord) (StudyRecord, error)
	// Study returns the study with that name, or an error wrapping ErrNotFound.
	Study(ctx context.Context, name string) (StudyRecord, error)
	// Studies lists every study with its trial counts, ordered by name.
	Studies(ctx context.Context) ([]StudySummary, error)
	// UpdateStudy applies the non-nil fields of upd.
	UpdateStudy(ctx context.Context, studyID int64, upd StudyUpdate) error
	// DeleteStudy removes a study and all its trials.
	DeleteStudy(ctx context.Context, studyID int64) error
}

// TrialStore is the trial lifecycle. Every write that comes from a trial's holder carries a
// TrialRef and is fenced by its lease epoch: once the trial has finished, or was claimed
// again, the write is rejected with an error wrapping ErrConflict and changes nothing.
type TrialStore interface {
	// CreateTrial starts a trial, atomically: for KindSearch it checks the study's
	// Budget.Trials (ErrBudgetExhausted when every allowed search trial has started); it
	// claims the lowest-numbered WAITING trial of req.Kind if there is one, and otherwise
	// (unless req.ClaimOnly, which returns ErrNotFound) creates a new trial with the next
	// number and req.Fixed. The trial is returned RUNNING with a fresh lease.
	CreateTrial(ctx context.Context, req CreateTrialRequest) (FrozenTrial, error)
	// Enqueue adds WAITING trials with fixed params and returns their numbers. With a
	// non-empty req.OnceKey it does nothing (and returns no numbers) if the study already
	// enqueued under that key; the key is recorded in the same transaction.
	Enqueue(ctx context.Context, req EnqueueRequest) ([]int, error)
	// Update merges params, distributions and attributes into a running trial.
	Update(ctx context.Context, upd TrialUpdate) error
	// Report records an intermediate value vector at a step; a step reported again is replaced.
	Report(ctx context.Context, ref TrialRef, step int64, values []float64) error
	// Heartbeat renews the lease for ttl and returns the new expiry; for a trial marked for
	// stopping (StopStore) it returns the new expiry and an error wrapping ErrStopRequested.
	Heartbeat(ctx context.Context, ref TrialRef, ttl time.Duration) (time.Time, error)
	// Finish moves a running trial to COMPLETE, PRUNED or FAIL with everything in req, in
	// one transaction, and returns the stored trial; an interrupted search trial
	// (req.Interrupted) gives its place in Budget.Trials back in the same transaction. A COMPLETE trial needs one value per
	// objective and none may be NaN.
	Finish(ctx context.Context, req FinishRequest) (FrozenTrial, error)
	// FinishedSince returns the trials (all kinds) that finished after cursor, in the order
	// they finished, and the cursor to pass next time (0 starts from the beginning). It
	// never skips a trial whose finish committed after a later one's.
	FinishedSince(ctx context.Context, studyID int64, cursor int64) ([]FrozenTrial, int64, error)
	// Running returns the RUNNING trials with their params and intermediate values.
	Running(ctx context.Context, studyID int64) ([]FrozenTrial, error)
	// Trials returns every trial of the study, ordered by number.
	Trials(ctx context.Context, studyID int64) ([]FrozenTrial, error)
	// Trial returns one trial by number, or an error wrapping ErrNotFound.
	Trial(ctx context.Context, studyID int64, number int) (FrozenTrial, error)
	// ExpireLeases fails every RUNNING trial whose lease has expired with reason
	// "lease expired" (an interruption: the trial's place in Budget.Trials is given back) and, while the study's Budget.Retries allows, enqueues a WAITING copy
	// with the same params (RetryOf set). It returns how many trials it failed.
	ExpireLeases(ctx context.Context, studyID int64) (int, error)
}

// StepValues is the intermediate value vector reported at a step.
type StepValues struct {
	Step   int64
	Values []float64
}

// BatchReporter is a TrialStore that records the values of many steps in one write, for
// trainers that report every batch (Trial.ReportMany); a storage without it gets one
// Report per step.
type BatchReporter interface {
	// ReportMany records steps in one transaction, in order, as Report records one: a step
	// given twice, or reported before, keeps the last values given. If a step is invalid
	// or the write is fenced off, nothing is recorded.
	ReportMany(ctx context.Context, ref TrialRef, steps []StepValues) error
}

// RunningExcepter is a TrialStore that reads the running trials but some. A study leaves
// out the trials it runs itself, whose values it holds: a trainer that reports every batch
// may have stored many thousands, and the pruner is asked after each batch.
type RunningExcepter interface {
	// RunningExcept is Running without the trials whose numbers are in except.
	RunningExcept(ctx context.Context, studyID int64, except []int) ([]FrozenTrial, error)
}

// Budget holds study-wide caps, enforced atomically in storage.
type Budget struct {
	// Trials caps the search trials of the study that have an outcome or are running,
	// across all processes: a trial counts from its start, whatever its end (COMPLETE,
	// PRUNED, FAIL, retries too), unless it was interrupted (FrozenTrial.Interrupted: its
	// lease expired, or its runner stopped it before it had an outcome), which gives its
	// place back to the trial that runs next, usually its re-run. So a budget of N yields
	// N outcomes however often the runs are stopped. 0 = unlimited.
	Trials int `json:"trials,omitempty"`
	// Retries is how many times a trial whose lease expired is re-run with the same params
	// (a chain of copies, each linked to the one it retries). 0 = never.
	Retries int `json:"retries,omitempty"`
}

// StudyRecord is a study as storage keeps it: everything a resume needs.
type StudyRecord struct {
	ID          int64
	Name        string
	Directions  []Direction
	Metrics     []string
	Model       string
	Seed        uint64
	Sampler     Spec
	Pruner      Spec
	Budget      Budget
	UserAttrs   map[string]any
	SystemAttrs map[string]any
	Created     time.Time
	// Definition is the study's full definition as its creator stored it: a JSON object,
	// opaque to storage (config.Study.Definition writes a study file's form, with its
	// version), so that a process without the study file can rebuild the study. Nil if
	// none was stored. At most MaxDefinitionLen bytes.
	Definition json.RawMessage
}

// MaxDefinitionLen bounds a stored study definition.
const MaxDefinitionLen = 1 << 20

// Validate checks rec as every storage does before creating it: its name (ValidateName)
// and its definition, empty or a JSON object of at most MaxDefinitionLen bytes.
// Attributes are checked as they are encoded.
func (rec StudyRecord) Validate() error {
	if err := ValidateName("study", rec.Name); err != nil {
		return err
	}
	return checkDefinition(rec.Definition)
}

// checkDefinition validates a study definition for storage: empty, or a JSON object of at
// most MaxDefinitionLen bytes.
func checkDefinition(def json.RawMessage) error {
	if len(def) == 0 {
		return nil
	}
	if len(def) > MaxDefinitionLen {
		return fmt.Errorf("%w: study definition of %d bytes: want at most %d", ErrInvalid, len(def), MaxDefinitionLen)
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(def, &obj); err != nil {
		return fmt.Errorf("%w: study definition is not a JSON object: %v", ErrInvalid, err)
	}
	return nil
}

// StudySummary is a study with its trial counts and, for a single objective, its best value.
type StudySummary struct {
	StudyRecord
	Waiting, Running, Complete, Pruned, Failed int
	// Best is the best feasible COMPLETE search trial's value (single objective); nil if
	// none.
	Best *float64
}

// StudyUpdate lists changes to a study; nil fields are left alone. Attribute maps are
// merged key by key; a nil value deletes the key.
type StudyUpdate struct {
	Sampler     *Spec
	Pruner      *Spec
	Budget      *Budget
	Definition  json.RawMessage // replaces the stored definition when not nil
	UserAttrs   map[string]any
	SystemAttrs map[string]any
}

// Validate checks upd as every storage does before applying it: a definition, if given,
// is a JSON object of at most MaxDefinitionLen bytes. Attributes are checked as they are
// encoded.
func (upd StudyUpdate) Validate() error { return checkDefinition(upd.Definition) }

// Lease is a running trial's claim: who holds it, which claim it is, and until when.
type Lease struct {
	Holder  string
	Epoch   int64
	Expires time.Time
}

// TrialRef identifies a running trial and the lease a write is made under.
type TrialRef struct {
	StudyID int64
	Number  int
	Epoch   int64
}

// Fence is the lease check every storage makes before a holder's write: the trial ref
// points at, of the named study, found in state with lease epoch, must be RUNNING under
// ref's epoch. It returns nil if it is, else an error wrapping ErrConflict.
func (ref TrialRef) Fence(study string, state TrialState, epoch int64) error {
	switch {
	case state != TrialRunning:
		return fmt.Errorf("trial %d of study %q is %v, not RUNNING: %w", ref.Number, study, state, ErrConflict)
	case epoch != ref.Epoch:
		return fmt.Errorf("trial %d of study %q: stale lease epoch %d (current %d): %w", ref.Number, study, ref.Epoch, epoch, ErrConflict)
	}
	return nil
}

// CreateTrialRequest asks TrialStore.CreateTrial for a running trial.
type CreateTrialRequest struct {
	StudyID   int64
	Kind      TrialKind
	Holder    string
	LeaseTTL  time.Duration
	ClaimOnly bool           // only claim a WAITING trial; ErrNotFound if there is none
	Fixed     map[string]any // fixed params of a new trial (not of a claimed one)
	System    map[string]any // system attributes to set on the trial
}

// EnqueueRequest asks TrialStore.Enqueue for WAITING trials.
type EnqueueRequest struct {
	StudyID int64
	Kind    TrialKind
	Params  []map[string]any
	// System optionally gives each trial system attributes (one map per Params entry, nil
	// for none): a confirmation repeat's role, repeat and seed, for whoever claims it.
	System  []map[string]any
	OnceKey string
}

// ValidateSystem checks System as every storage does: none, or one set of valid attributes
// per trial.
func (r EnqueueRequest) ValidateSystem() error {
	if r.System == nil {
		return nil
	}
	if len(r.System) != len(r.Params) {
		return fmt.Errorf("%w: enqueue: %d system attribute sets for %d trials: want one per trial", ErrInvalid, len(r.System), len(r.Params))
	}
	for i, m := range r.System {
		for k, v := range m {
			if err := ValidateAttr(k, v); err != nil {
				return fmt.Errorf("enqueue trial %d: %w", i, err)
			}
		}
	}
	return nil
}

// TrialUpdate carries params and attributes of a running trial to storage.
type TrialUpdate struct {
	Ref           TrialRef
	Params        map[string]any
	Distributions map[string]Distribution
	UserAttrs     map[string]any
	SystemAttrs   map[string]any
}

// FinishRequest ends a running trial.
type FinishRequest struct {
	Ref           TrialRef
	State         TrialState // TrialComplete, TrialPruned or TrialFail
	Values        []float64
	Metrics       map[string]float64
	Params        map[string]any
	Distributions map[string]Distribution
	UserAttrs     map[string]any
	SystemAttrs   map[string]any
	Reason        string
	// Interrupted marks a FAIL that is no outcome of the trial: its runner stopped it
	// (see ErrInterrupted). Storage records it as the system attribute "interrupted"
	// (see FrozenTrial.Interrupted), and a search trial finished so no longer counts
	// against Budget.Trials.
	Interrupted bool
}

// Validate checks req as every storage does before writing it: a finished state, values
// for COMPLETE with no NaN, a reason within MaxReasonLen, and an interruption only of a
// FAIL. Params and attributes are checked as they are encoded.
func (req FinishRequest) Validate() error {
	switch req.State {
	case TrialComplete:
		if len(req.Values) == 0 {
			return fmt.Errorf("%w: finishing trial %d COMPLETE without values", ErrInvalid, req.Ref.Number)
		}
		if err := checkValues(req.Values, len(req.Values)); err != nil {
			return fmt.Errorf("finish trial %d: %w", req.Ref.Number, err)
		}
	case TrialPruned, TrialFail:
	default:
		return fmt.Errorf("%w: finishing trial %d as %v: want COMPLETE, PRUNED or FAIL", ErrInvalid, req.Ref.Number, req.State)
	}
	if req.Interrupted && req.State != TrialFail {
		return fmt.Errorf("%w: finishing trial %d as an interrupted %v: an interruption ends FAIL", ErrInvalid, req.Ref.Number, req.State)
	}
	if len(req.Reason) > MaxReasonLen {
		return fmt.Errorf("%w: reason of %d bytes: want at most %d (see CutReason)", ErrInvalid, len(req.Reason), MaxReasonLen)
	}
	return nil
}

// Limits on names and attributes, checked by the library and by every storage.
const (
	MaxNameLen      = check.MaxNameLen      // 256
	MaxAttrKeyLen   = check.MaxAttrKeyLen   // 256
	MaxAttrValueLen = check.MaxAttrValueLen // bytes of JSON: 64 KiB
	MaxReasonLen    = check.MaxReasonLen    // bytes: 8 KiB; longer fail reasons are cut, keeping head and tail
)

// ValidateName checks a study, param or metric name: 1 to MaxNameLen bytes of printable
// UTF-8 with no leading or trailing space.
func ValidateName(kind, name string) error { return check.Name(kind, name) }

// ValidateAttr checks an attribute: the key as ValidateName, the value JSON-encodable,
// at most MaxAttrValueLen bytes of JSON.
func ValidateAttr(key string, value any) error { return check.Attr(key, value) }

// checkValues validates a COMPLETE trial's values against the number of objectives.
func checkValues(values []float64, objectives int) error {
	if len(values) != objectives {
		return fmt.Errorf("%w: %d values for %d objectives", ErrInvalid, len(values), objectives)
	}
	for i, v := range values {
		if math.IsNaN(v) {
			return fmt.Errorf("%w: objective %d is NaN", ErrInvalid, i)
		}
	}
	return nil
}
