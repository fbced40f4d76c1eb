package auto

import (
	"fmt"
	"math"
)

// Shape is what a study declares before its first trial, as Plan reads it.
type Shape struct {
	Objectives  int
	Params      int  // declared params, conditional ones included
	Categorical int  // of them, categorical
	Conditional bool // some params belong to some trials only
	Constrained bool // trials report constraint values
}

// Plan says which samplers s will choose for a study of shape sh, and when: the package
// doc's rules applied to trials that have the declared params. It is what a user reads
// before the first trial; the choice itself is made for each trial from the study's
// trials, and recorded on it ("auto.sampler", "auto.reason").
func (s *Sampler) Plan(sh Shape) string {
	if sh.Objectives > 1 {
		tpe := "TPE"
		switch {
		case sh.Objectives >= 3 && s.rules >= 7:
			tpe = fmt.Sprintf("independent TPE with %d candidates", MOCandidates)
		case sh.Objectives >= 3 && s.rules >= 2:
			tpe = "independent TPE"
		}
		if s.nsga2Trials < 0 {
			return fmt.Sprintf("%d objectives: %s throughout", sh.Objectives, tpe)
		}
		return fmt.Sprintf("%d objectives: %s until %d complete trials, then NSGA-II", sh.Objectives, tpe, s.nsga2Trials)
	}
	switch {
	case sh.Params == 0:
		return "no params to choose"
	case sh.Conditional:
		if s.rules >= 6 && !sh.Constrained {
			return "conditional params: TPE with group decomposition once complete trials differ in their params, GP in a trust region before"
		}
		return "conditional params: TPE with group decomposition once complete trials differ in their params, GP before"
	case sh.Categorical > 0 && 2*sh.Categorical >= sh.Params:
		return fmt.Sprintf("%d of %d params categorical: TPE with group decomposition, after a quasi-random first trial", sh.Categorical, sh.Params)
	case s.rules >= 5 && sh.Categorical == 0 && !sh.Constrained && sh.Params >= RaceParams:
		gp := "the GP throughout"
		if s.gpTrials >= 0 {
			gp = fmt.Sprintf("the GP until %d complete trials and CMA-ES after", s.gpTrials)
		}
		return fmt.Sprintf("%d numeric params: independent TPE, CMA-ES and the GP in a trust region race over the first %d complete trials, then the best one proposes every trial (%s)", sh.Params, RaceTrials, gp)
	case s.rules >= 3 && sh.Categorical == 0 && !sh.Constrained && sh.Params >= RaceParams:
		return fmt.Sprintf("%d numeric params: TPE and CMA-ES race over the first %d complete trials, then the better one proposes every trial", sh.Params, RaceTrials)
	}
	constrained := 0
	if sh.Constrained {
		constrained = 1
	}
	gp := fmt.Sprintf("%d numeric params: GP", sh.Params)
	if sh.Categorical > 0 {
		gp = fmt.Sprintf("%d params, %d categorical: GP", sh.Params, sh.Categorical)
	}
	if s.rules >= 6 && !sh.Constrained {
		gp += " in a trust region"
	}
	n := s.gpLimit(sh.Categorical, constrained)
	switch {
	case n == math.MaxInt:
		return gp + " throughout"
	case sh.Categorical > 0:
		return fmt.Sprintf("%s until %d complete trials, then TPE (CMA-ES cannot model categorical params)", gp, n)
	case sh.Constrained:
		return fmt.Sprintf("%s until %d complete trials, then TPE (CMA-ES does not model constraints)", gp, n)
	case s.rules >= 4:
		return fmt.Sprintf("%s until %d complete trials, then CMA-ES from the best trial", gp, n)
	}
	return fmt.Sprintf("%s until %d complete trials, then CMA-ES warm-started from the history", gp, n)
}
