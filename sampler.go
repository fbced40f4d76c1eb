package retune

import (
	"context"
	"encoding/json"
	"math/rand/v2"
)

// Sampler proposes parameter values. Samplers are pure: everything they may use arrives in
// the SampleRequest (history, search space, randomness); they never see storage. A Sampler
// must be safe for concurrent use and must not modify the request.
//
// A trial is sampled in two phases. When the trial starts, Relative proposes values for the
// joint space req.Space (inferred from finished trials, or declared by a SpaceSampler); it
// may return fewer params than asked, or none. Then, as the objective asks for each param,
// the relative value is used if it exists and lies in the requested distribution, and
// otherwise Independent proposes that one param alone.
//
// Optional capabilities, found by type assertion: SpaceSampler, StatefulSampler,
// StartupSampler, HistoryFree, Annotator, and Specer (for the resume check).
type Sampler interface {
	Relative(ctx context.Context, req *SampleRequest) (map[string]any, error)
	Independent(ctx context.Context, req *SampleRequest, name string, d Distribution) (any, error)
}

// SampleRequest is what a sampler may know when proposing values for one trial.
// Everything in it is read-only to the sampler; slices may be shared with other requests.
type SampleRequest struct {
	// Directions of the study's objectives (one for a single objective).
	Directions []Direction
	// Space is the joint search space for Relative: params that every finished COMPLETE
	// search trial has, with the distribution the most recent one used. Past values outside
	// a distribution of Space must be ignored (the space may have changed between runs).
	Space map[string]Distribution
	// Trials are the finished search trials in the order they finished. A later request of
	// the same study holds the same trials as a prefix, in the same order, and may share the
	// backing array: samplers may cache per-trial work keyed on that (never modify it).
	Trials []FrozenTrial
	// Running are the search trials being evaluated now, other than this one, with the
	// params they have so far (for constant-liar style spreading of parallel asks).
	Running []FrozenTrial
	// Trial is the trial being sampled: its number and the params it has so far.
	Trial FrozenTrial
	// Rand is derived from (study seed, trial number) for Relative and from (study seed,
	// trial number, param name) for each Independent call, so a seeded study proposes the
	// same values for trial n whatever the number of workers. Not safe for concurrent use.
	Rand *rand.Rand
	// Seed is the study seed, for samplers that need a sequence-wide seed (quasi-random).
	Seed uint64
	// State is the state a StatefulSampler stored last, or nil.
	State json.RawMessage
}

// HistoryFree is implemented by samplers whose proposals never depend on other trials
// (random, grid). Ask then skips reading the study's history: their SampleRequest has no
// Trials, Running or Space.
type HistoryFree interface {
	Sampler
	HistoryFree()
}

// SpaceSampler is a Sampler that defines its own joint search space instead of the
// intersection of past trials' spaces (for example by grouping conditional params).
type SpaceSampler interface {
	Sampler
	Space(ctx context.Context, req *SampleRequest) (map[string]Distribution, error)
}

// StatefulSampler is a Sampler that keeps state between asks. The study stores the state as
// its system attribute "sampler.state", so a resumed study continues where it stopped;
// req.State holds the stored state. After Relative, NextState returns the state to store
// (nil to keep the stored one). Two processes may race; the last write wins.
type StatefulSampler interface {
	Sampler
	NextState(ctx context.Context, req *SampleRequest) (json.RawMessage, error)
}

// StartupSampler is a Sampler that enqueues trials with fixed params when a study starts,
// as a grid does. The study enqueues the plan once per Plan.Key (atomically in storage, so
// several processes starting the same study enqueue it once).
type StartupSampler interface {
	Sampler
	Startup(ctx context.Context) (StartupPlan, error)
}

// StartupPlan is what a StartupSampler enqueues.
type StartupPlan struct {
	// Key identifies the plan; a plan with a key already used by the study is not enqueued again.
	Key string
	// Params are the trials to enqueue, in order.
	Params []map[string]any
	// Exclusive means the sampler proposes nothing beyond the plan: once no enqueued trial
	// is left, Ask returns ErrGridExhausted.
	Exclusive bool
}

// Annotator is a Sampler that describes how it sampled each trial, as an automatic choice
// records which sampler it used: after a search trial's relative sampling, the study
// stores Annotate's result among the trial's system attributes. Keys should be namespaced
// by the sampler ("auto.sampler").
type Annotator interface {
	Sampler
	Annotate(req *SampleRequest) map[string]any
}

// Pruner decides whether a running trial should stop early. Pruners are pure, safe for
// concurrent use, and must neither modify the request nor keep it after Prune returns.
type Pruner interface {
	Prune(ctx context.Context, req *PruneRequest) (bool, error)
}

// PruneRequest is what a pruner may know when judging one trial after a Report.
type PruneRequest struct {
	Directions []Direction
	// Trial is the trial being judged, with all its intermediate values.
	Trial FrozenTrial
	// Step is the step just reported.
	Step int64
	// Trials are the finished search trials, in the order they finished.
	Trials []FrozenTrial
	// Running are the other running search trials with their intermediate values.
	Running []FrozenTrial
	// Seed is the study seed, for pruners that split trials into groups (Hyperband).
	Seed uint64
}

// Spec names a sampler or pruner and its options, so a resumed study can tell whether it
// is being run with the same one.
type Spec struct {
	Name    string         `json:"name"`
	Options map[string]any `json:"options,omitempty"`
}

// Specer is implemented by samplers and pruners that describe themselves. One that does not
// is described by its Go type name.
type Specer interface {
	Spec() Spec
}
