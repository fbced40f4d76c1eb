package auto

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"sync"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/sampler/cmaes"
	"github.com/a6b40afc/retune/sampler/gp"
	"github.com/a6b40afc/retune/sampler/nsga2"
	"github.com/a6b40afc/retune/sampler/tpe"
)

// Options configures a Sampler. Zero values are the documented defaults.
type Options struct {
	// GPTrials is how many COMPLETE trials a single-objective study of numeric params has
	// before the GP gives way to CMA-ES (or to TPE if a param is categorical or there are
	// constraints); from rules 5 on, also when the GP in a trust region won rule 5's race.
	// 0 means 200; a negative value means never.
	GPTrials int
	// NumericGPTrials (rules 4 and later) is GPTrials for a study whose params are all
	// floats and ints, without constraints: the GP gives way to CMA-ES after that many
	// COMPLETE trials. 0 means NumericGPTrials (100) when GPTrials is 0, GPTrials otherwise;
	// a negative value means never. With earlier rules it must be 0.
	NumericGPTrials int
	// NSGA2Trials is how many COMPLETE trials a study with several objectives has before
	// TPE gives way to NSGA-II. 0 means 250; a negative value means never.
	NSGA2Trials int
	// Rules is the version of the rules (see the package doc), so that a study keeps the
	// rules it started with when they change: 0 means the latest, LatestRules.
	Rules int
}

// LatestRules is the latest version of the rules. Version 1 is the first; version 2 models
// three or more objectives with independent TPE instead of TPE with group decomposition;
// version 3 races TPE against CMA-ES, instead of running the GP, on a single objective
// with RaceParams or more numeric params (rule 5 of the package doc); version 4 hands a
// single objective of numeric, unconstrained params from the GP to CMA-ES after
// NumericGPTrials COMPLETE trials, and starts CMA-ES at the best trial (rule 7); version 5
// adds the GP in a trust region to rule 5's race; version 6 runs rule 6's GP in a trust
// region too, without constraints; version 7 gives the independent TPE of three or more
// objectives MOCandidates candidates and a prior of weight MOPriorWeight.
const LatestRules = 7

// NumericGPTrials is the default of Options.NumericGPTrials. WarmStartGamma and
// WarmStartAlpha are the warm start of rules 4's CMA-ES (cmaes.SamplerOptions): centred on
// the best trial alone (a fraction of the trials that rounds up to one), with a prior
// spread of 0.01 of each param's range.
const (
	NumericGPTrials = 100
	WarmStartGamma  = 1e-9
	WarmStartAlpha  = 0.01
)

// MOCandidates and MOPriorWeight are the TPE options (tpe.Options.Candidates and
// PriorWeight) of rules 7 and later for three or more objectives: eight times Optuna's
// candidates, to find the peak of the density ratio, and twice its prior, to keep l from
// closing on the few trials of a front still far from the true one (see the package doc).
const (
	MOCandidates  = 192
	MOPriorWeight = 2
)

// RaceParams is the fewest numeric params for which rules 3 and later race TPE against
// CMA-ES (and rules 5 the GP in a trust region) instead of running the GP, and RaceTrials
// how many COMPLETE trials the race lasts.
const (
	RaceParams = 10
	RaceTrials = 30
)

// Names of the samplers a Sampler chooses from, as recorded in "auto.sampler".
const (
	GP    = "gp"
	CMAES = "cmaes"
	TPE   = "tpe"
	NSGA2 = "nsga2"
	// TrustGP is the GP restricted to a trust region (gp.Options.TrustRegion), rules 5's
	// third entrant in the race.
	TrustGP = "gp-trust"
)

// Sampler chooses a sampler for each trial by the study's shape (see the package doc). It
// is safe for concurrent use; one Sampler may serve several studies, fastest one at a time.
type Sampler struct {
	gpTrials, numericGPTrials, nsga2Trials, rules int

	gp    *gp.Sampler
	gpTR  *gp.Sampler  // with a trust region
	tpe   *tpe.Sampler // with group decomposition
	tpe1  *tpe.Sampler // independent: each param by itself
	tpeMO *tpe.Sampler // independent, with rules 7's options for three or more objectives
	cmaes *cmaes.Sampler
	nsga2 *nsga2.Sampler

	mu    sync.Mutex // guards cache
	cache *summary
}

var (
	_ retune.Sampler         = (*Sampler)(nil)
	_ retune.SpaceSampler    = (*Sampler)(nil)
	_ retune.StatefulSampler = (*Sampler)(nil)
	_ retune.Annotator       = (*Sampler)(nil)
	_ retune.Specer          = (*Sampler)(nil)
)

// New returns an automatic sampler. It panics if o.Rules is not 0 and not a version from 1
// to LatestRules, or if o.NumericGPTrials is set with rules before 4.
func New(o Options) *Sampler {
	if o.Rules < 0 || o.Rules > LatestRules {
		panic(fmt.Sprintf("auto: Rules %d: want 1 to %d, or 0 for the latest", o.Rules, LatestRules))
	}
	if o.NumericGPTrials != 0 && o.Rules != 0 && o.Rules < 4 {
		panic(fmt.Sprintf("auto: NumericGPTrials %d needs rules 4 or later, not %d", o.NumericGPTrials, o.Rules))
	}
	rules := cmp.Or(o.Rules, LatestRules)
	warm := cmaes.SamplerOptions{WarmStart: true}
	if rules >= 4 {
		// The warm start's defaults (the mean and covariance of the best tenth, plus 0.1 of
		// each range) are made for another task's history. Here the history is this
		// study's, and the GP left its best trial where CMA-ES should refine: the mean of
		// the best tenth may lie between two optima, and 0.1 re-explores.
		warm.WarmStartGamma, warm.WarmStartAlpha = WarmStartGamma, WarmStartAlpha
	}
	s := &Sampler{
		gpTrials: o.GPTrials, nsga2Trials: o.NSGA2Trials, rules: rules,
		gp:    gp.New(gp.Options{}),
		gpTR:  gp.New(gp.Options{TrustRegion: true}),
		tpe:   tpe.New(tpe.Options{Group: true}),
		tpe1:  tpe.New(tpe.Options{}),
		tpeMO: tpe.New(tpe.Options{Candidates: MOCandidates, PriorWeight: MOPriorWeight}),
		cmaes: cmaes.New(warm),
		// The NSGA-II auto has always run: SBX, and NSGA-III's reference points with three
		// or more objectives, which after TPE ended ahead of crowding by 1000 trials (see
		// the package doc). nsga2's own defaults changed since.
		nsga2: nsga2.New(nsga2.Options{Crossover: nsga2.SBX, Selection: nsga2.Reference}),
	}
	switch {
	case s.gpTrials == 0:
		s.gpTrials = 200
	case s.gpTrials < 0:
		s.gpTrials = -1
	}
	s.numericGPTrials = s.gpTrials
	if s.rules >= 4 {
		switch {
		case o.NumericGPTrials > 0:
			s.numericGPTrials = o.NumericGPTrials
		case o.NumericGPTrials < 0:
			s.numericGPTrials = -1
		case o.GPTrials == 0:
			s.numericGPTrials = NumericGPTrials
		}
	}
	switch {
	case s.nsga2Trials == 0:
		s.nsga2Trials = 250
	case s.nsga2Trials < 0:
		s.nsga2Trials = -1
	}
	return s
}

// Spec implements retune.Specer: name "auto", the thresholds in effect (-1 for never;
// numeric_gp_trials from rules 4 on) and the rules' version, left out for version 1 so
// that the spec of a study stored before the rules had versions is that of rules 1.
func (s *Sampler) Spec() retune.Spec {
	o := map[string]any{"gp_trials": s.gpTrials, "nsga2_trials": s.nsga2Trials}
	if s.rules != 1 {
		o["rules"] = s.rules
	}
	if s.rules >= 4 {
		o["numeric_gp_trials"] = s.numericGPTrials
	}
	return retune.Spec{Name: "auto", Options: o}
}

// choice is the sampler chosen for a request and why.
type choice struct {
	name, reason string
	tpe          tpeVariant // which TPE, when name is TPE (the race's is independent)
}

// tpeVariant is the form of TPE a choice names.
type tpeVariant int

const (
	tpeGrouped     tpeVariant = iota // with group decomposition
	tpeIndependent                   // each param by itself
	tpeManyObj                       // independent, with rules 7's options for three or more objectives
)

// choose applies the rules of the package doc to req. It reads only req.Directions and
// req.Trials.
func (s *Sampler) choose(req *retune.SampleRequest) choice {
	sm := s.summarize(req.Trials)
	if m := len(req.Directions); m > 1 {
		if s.nsga2Trials < 0 || sm.complete < s.nsga2Trials {
			if m >= 3 && s.rules >= 7 {
				return choice{name: TPE, reason: fmt.Sprintf("%d objectives, %d complete trials: independent TPE with %d candidates before NSGA-II", m, sm.complete, MOCandidates), tpe: tpeManyObj}
			}
			if m >= 3 && s.rules >= 2 {
				return choice{name: TPE, reason: fmt.Sprintf("%d objectives, %d complete trials: independent TPE before NSGA-II", m, sm.complete), tpe: tpeIndependent}
			}
			return choice{name: TPE, reason: fmt.Sprintf("%d objectives, %d complete trials: TPE before NSGA-II", m, sm.complete)}
		}
		return choice{name: NSGA2, reason: fmt.Sprintf("%d objectives, %d complete trials: NSGA-II", m, sm.complete)}
	}
	if sm.complete == 0 {
		return choice{name: GP, reason: "no complete trial yet: quasi-random start"}
	}
	params, cond, cat := sm.shape()
	switch {
	case cond > 0:
		return choice{name: TPE, reason: fmt.Sprintf("conditional space: %d of %d params not in every complete trial", cond, params)}
	case cat > 0 && 2*cat >= params:
		return choice{name: TPE, reason: fmt.Sprintf("categorical-heavy space: %d of %d params categorical", cat, params)}
	case s.rules >= 3 && cat == 0 && sm.constrained == 0 && params >= RaceParams:
		return s.race(req, params, sm.complete)
	case sm.complete < s.gpLimit(cat, sm.constrained):
		if s.rules >= 6 && sm.constrained == 0 {
			return choice{name: TrustGP, reason: fmt.Sprintf("%d params, %d categorical, %d complete trials: GP in a trust region", params, cat, sm.complete)}
		}
		return choice{name: GP, reason: fmt.Sprintf("%d params, %d categorical, %d complete trials: GP", params, cat, sm.complete)}
	case cat > 0:
		return choice{name: TPE, reason: fmt.Sprintf("%d complete trials, %d of %d params categorical: TPE after GP (CMA-ES cannot model categorical params)", sm.complete, cat, params)}
	case sm.constrained > 0:
		return choice{name: TPE, reason: fmt.Sprintf("%d complete trials with constraints: TPE after GP (CMA-ES does not model feasibility)", sm.complete)}
	}
	if s.rules >= 4 {
		return choice{name: CMAES, reason: fmt.Sprintf("%d numeric params, %d complete trials: CMA-ES from the best trial", params, sm.complete)}
	}
	return choice{name: CMAES, reason: fmt.Sprintf("%d numeric params, %d complete trials: CMA-ES warm-started from the history", params, sm.complete)}
}

// gpLimit is how many COMPLETE trials the GP proposes for (rules 6 and 7): NumericGPTrials
// on numeric, unconstrained params (GPTrials before rules 4), GPTrials otherwise;
// MaxInt for never.
func (s *Sampler) gpLimit(cat, constrained int) int {
	n := s.gpTrials
	if cat == 0 && constrained == 0 {
		n = s.numericGPTrials
	}
	if n < 0 {
		return math.MaxInt
	}
	return n
}

// race is rule 5 of rules 3: until RaceTrials trials are COMPLETE, the entrants propose in
// turn by trial number (rules 3 and 4: independent TPE the even-numbered trials, CMA-ES the
// odd ones; rules 5 adds the GP in a trust region, each taking the trials whose number
// modulo 3 is its place in that order); then the one whose own trials among the first
// RaceTrials COMPLETE ones (in finish order, which later requests keep) reached the best
// value proposes every trial, but for the GP, which hands over to CMA-ES once total, the
// study's COMPLETE trials, reaches GPTrials. A trial's proposer is its "auto.sampler"
// attribute, so trials auto did not propose (enqueued ones) count for none; a tie goes to
// the earlier entrant.
func (s *Sampler) race(req *retune.SampleRequest, params, total int) choice {
	arms := []string{TPE, CMAES}
	if s.rules >= 5 {
		arms = append(arms, TrustGP)
	}
	sign := 1.0
	if req.Directions[0] == retune.Minimize {
		sign = -1
	}
	best := make([]float64, len(arms))
	for k := range best {
		best[k] = math.Inf(-1)
	}
	complete := 0
	for i := range req.Trials {
		t := &req.Trials[i]
		if t.State != retune.TrialComplete {
			continue
		}
		complete++
		if arm, _ := t.SystemAttrs["auto.sampler"].(string); len(t.Values) == 1 && !math.IsNaN(t.Values[0]) {
			if k := slices.Index(arms, arm); k >= 0 {
				best[k] = math.Max(best[k], sign*t.Values[0])
			}
		}
		if complete < RaceTrials {
			continue
		}
		w := 0
		for k := range arms {
			if best[k] > best[w] {
				w = k
			}
		}
		if s.rules < 5 {
			if w == 1 {
				return choice{name: CMAES, reason: fmt.Sprintf("%d numeric params: CMA-ES, which won the race against TPE over the first %d complete trials", params, RaceTrials)}
			}
			return choice{name: TPE, tpe: tpeIndependent, reason: fmt.Sprintf("%d numeric params: independent TPE, which won the race against CMA-ES over the first %d complete trials", params, RaceTrials)}
		}
		if arms[w] == TrustGP && s.gpTrials >= 0 && total >= s.gpTrials {
			return choice{name: CMAES, reason: fmt.Sprintf("%d numeric params, %d complete trials: CMA-ES after the GP in a trust region, which won the race over the first %d complete trials", params, total, RaceTrials)}
		}
		return choice{name: arms[w], tpe: tpeIndependent, reason: fmt.Sprintf("%d numeric params: %s, which won the race of independent TPE, CMA-ES and the GP in a trust region over the first %d complete trials", params, armLabel[arms[w]], RaceTrials)}
	}
	if s.rules < 5 {
		if req.Trial.Number%2 == 1 {
			return choice{name: CMAES, reason: fmt.Sprintf("%d numeric params, %d complete trials: racing TPE and CMA-ES, an odd trial for CMA-ES", params, complete)}
		}
		return choice{name: TPE, tpe: tpeIndependent, reason: fmt.Sprintf("%d numeric params, %d complete trials: racing TPE and CMA-ES, an even trial for TPE", params, complete)}
	}
	k := req.Trial.Number % len(arms)
	return choice{name: arms[k], tpe: tpeIndependent, reason: fmt.Sprintf("%d numeric params, %d complete trials: racing independent TPE, CMA-ES and the GP in a trust region, trial %d (%d modulo 3) for %s", params, complete, req.Trial.Number, k, armLabel[arms[k]])}
}

// armLabel names the race's entrants in reasons.
var armLabel = map[string]string{TPE: "independent TPE", CMAES: "CMA-ES", TrustGP: "the GP in a trust region"}

// sampler returns the sampler named by c.
func (s *Sampler) sampler(c choice) retune.Sampler {
	switch c.name {
	case TPE:
		switch c.tpe {
		case tpeManyObj:
			return s.tpeMO
		case tpeIndependent:
			return s.tpe1
		}
		return s.tpe
	case CMAES:
		return s.cmaes
	case NSGA2:
		return s.nsga2
	case TrustGP:
		return s.gpTR
	}
	return s.gp
}

// Space implements retune.SpaceSampler: TPE's joint space when TPE is chosen (with group
// decomposition, every param of the COMPLETE and PRUNED trials), otherwise req.Space.
func (s *Sampler) Space(ctx context.Context, req *retune.SampleRequest) (map[string]retune.Distribution, error) {
	if c := s.choose(req); c.name == TPE {
		return s.sampler(c).(*tpe.Sampler).Space(ctx, req)
	}
	return req.Space, nil
}

// Relative implements retune.Sampler: the chosen sampler's relative proposal.
func (s *Sampler) Relative(ctx context.Context, req *retune.SampleRequest) (map[string]any, error) {
	if len(req.Space) == 0 {
		return nil, nil
	}
	return s.sampler(s.choose(req)).Relative(ctx, req)
}

// Independent implements retune.Sampler: the chosen sampler's proposal for one param.
func (s *Sampler) Independent(ctx context.Context, req *retune.SampleRequest, name string, d retune.Distribution) (any, error) {
	return s.sampler(s.choose(req)).Independent(ctx, req, name, d)
}

// NextState implements retune.StatefulSampler: CMA-ES's state after a Relative call with
// req that chose it, or nil (keep the stored state).
func (s *Sampler) NextState(ctx context.Context, req *retune.SampleRequest) (json.RawMessage, error) {
	// CMA-ES has a new state only for requests it proposed for.
	return s.cmaes.NextState(ctx, req)
}

// Annotate implements retune.Annotator: "auto.sampler" and "auto.reason".
func (s *Sampler) Annotate(req *retune.SampleRequest) map[string]any {
	c := s.choose(req)
	return map[string]any{"auto.sampler": c.name, "auto.reason": c.reason}
}
