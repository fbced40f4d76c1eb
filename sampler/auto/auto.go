package auto

import (
	"context"
	"encoding/json"
	"fmt"
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
	// before the GP gives way to CMA-ES (or to TPE if a param is categorical). 0 means 200;
	// a negative value means never.
	GPTrials int
	// NSGA2Trials is how many COMPLETE trials a study with several objectives has before
	// TPE gives way to NSGA-II. 0 means 250; a negative value means never.
	NSGA2Trials int
}

// Names of the samplers a Sampler chooses from, as recorded in "auto.sampler".
const (
	GP    = "gp"
	CMAES = "cmaes"
	TPE   = "tpe"
	NSGA2 = "nsga2"
)

// Sampler chooses a sampler for each trial by the study's shape (see the package doc). It
// is safe for concurrent use; one Sampler may serve several studies, fastest one at a time.
type Sampler struct {
	gpTrials, nsga2Trials int

	gp    *gp.Sampler
	tpe   *tpe.Sampler
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

// New returns an automatic sampler.
func New(o Options) *Sampler {
	s := &Sampler{
		gpTrials: o.GPTrials, nsga2Trials: o.NSGA2Trials,
		gp:    gp.New(gp.Options{}),
		tpe:   tpe.New(tpe.Options{Group: true}),
		cmaes: cmaes.New(cmaes.SamplerOptions{WarmStart: true}),
		nsga2: nsga2.New(nsga2.Options{}),
	}
	switch {
	case s.gpTrials == 0:
		s.gpTrials = 200
	case s.gpTrials < 0:
		s.gpTrials = -1
	}
	switch {
	case s.nsga2Trials == 0:
		s.nsga2Trials = 250
	case s.nsga2Trials < 0:
		s.nsga2Trials = -1
	}
	return s
}

// Spec implements retune.Specer: name "auto" and the thresholds in effect (-1 for never).
func (s *Sampler) Spec() retune.Spec {
	return retune.Spec{Name: "auto", Options: map[string]any{
		"gp_trials": s.gpTrials, "nsga2_trials": s.nsga2Trials,
	}}
}

// choice is the sampler chosen for a request and why.
type choice struct {
	name, reason string
}

// choose applies the rules of the package doc to req. It reads only req.Directions and
// req.Trials.
func (s *Sampler) choose(req *retune.SampleRequest) choice {
	sm := s.summarize(req.Trials)
	if m := len(req.Directions); m > 1 {
		if s.nsga2Trials < 0 || sm.complete < s.nsga2Trials {
			return choice{TPE, fmt.Sprintf("%d objectives, %d complete trials: TPE before NSGA-II", m, sm.complete)}
		}
		return choice{NSGA2, fmt.Sprintf("%d objectives, %d complete trials: NSGA-II", m, sm.complete)}
	}
	if sm.complete == 0 {
		return choice{GP, "no complete trial yet: quasi-random start"}
	}
	params, cond, cat := sm.shape()
	switch {
	case cond > 0:
		return choice{TPE, fmt.Sprintf("conditional space: %d of %d params not in every complete trial", cond, params)}
	case cat > 0 && 2*cat >= params:
		return choice{TPE, fmt.Sprintf("categorical-heavy space: %d of %d params categorical", cat, params)}
	case s.gpTrials < 0 || sm.complete < s.gpTrials:
		return choice{GP, fmt.Sprintf("%d params, %d categorical, %d complete trials: GP", params, cat, sm.complete)}
	case cat > 0:
		return choice{TPE, fmt.Sprintf("%d complete trials, %d of %d params categorical: TPE after GP (CMA-ES cannot model categorical params)", sm.complete, cat, params)}
	case sm.constrained > 0:
		return choice{TPE, fmt.Sprintf("%d complete trials with constraints: TPE after GP (CMA-ES does not model feasibility)", sm.complete)}
	}
	return choice{CMAES, fmt.Sprintf("%d numeric params, %d complete trials: CMA-ES warm-started from the history", params, sm.complete)}
}

// sampler returns the sampler named by c.
func (s *Sampler) sampler(c choice) retune.Sampler {
	switch c.name {
	case TPE:
		return s.tpe
	case CMAES:
		return s.cmaes
	case NSGA2:
		return s.nsga2
	}
	return s.gp
}

// Space implements retune.SpaceSampler: TPE's joint space when TPE is chosen (with group
// decomposition, every param of the COMPLETE and PRUNED trials), otherwise req.Space.
func (s *Sampler) Space(ctx context.Context, req *retune.SampleRequest) (map[string]retune.Distribution, error) {
	if s.choose(req).name == TPE {
		return s.tpe.Space(ctx, req)
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
