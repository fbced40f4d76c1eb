package server

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strings"
	"sync"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/importance"
)

// importanceCache keeps each study's last importance per method and objective, in this
// replica: it is recomputed only when the study has grown by 10% since (fANOVA on 10,000
// trials takes a second or two).
type importanceCache struct {
	mu sync.Mutex
	m  map[string]importanceEntry
}

type importanceEntry struct {
	trials int // the study's trials when it was computed
	res    importanceResponse
}

// importanceResponse is the answer of GET …/importance.
type importanceResponse struct {
	Study         string `json:"study"`
	ObjectiveName string `json:"objective_name"`
	Seed          uint64 `json:"seed,omitempty"` // fANOVA's forest seed: the study's
	// ComputedAt is the number of the study's trials when this was computed; it is
	// recomputed once the study has 10% more.
	ComputedAt int `json:"computed_at_trials"`
	importance.Result
}

// importanceOf answers which params matter (package importance): method fanova (the
// default) or ped-anova, for one objective.
func (s *Server) importanceOf(c *call) (int, any, error) {
	q, err := query(c.r, "method", "objective")
	if err != nil {
		return 0, nil, err
	}
	method := q["method"]
	if method == "" {
		method = "fanova"
	}
	if method != "fanova" && method != "ped-anova" {
		return 0, nil, &fieldError{Field: "method", Msg: fmt.Sprintf("%q is no method", method), Valid: "fanova or ped-anova", Status: 400}
	}
	rec, err := s.store.Study(c.r.Context(), c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	res, err := s.importanceFor(c.r.Context(), rec, method, q["objective"])
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, res, nil
}

// importanceFor computes (or takes from the cache) the importance of rec's params by
// method (fanova or ped-anova) for the objective named by objective (index or metric
// name; "" for the only one).
func (s *Server) importanceFor(ctx context.Context, rec retune.StudyRecord, method, objective string) (importanceResponse, error) {
	idx, name, err := importance.Objective(rec, objective)
	if err != nil {
		return importanceResponse{}, &fieldError{Field: "objective", Msg: strings.TrimPrefix(err.Error(), retune.ErrInvalid.Error()+": "), Status: 400}
	}
	// The study's size from its counts (one query), so that a cached answer costs no read
	// of its trials.
	sum, err := s.summary(ctx, rec.Name)
	if err != nil {
		return importanceResponse{}, err
	}
	size := sum.Waiting + sum.Running + sum.Complete + sum.Pruned + sum.Failed
	key := fmt.Sprintf("%d/%s/%d", rec.ID, method, idx)
	s.importance.mu.Lock()
	e, ok := s.importance.m[key]
	s.importance.mu.Unlock()
	if ok && size < int(math.Ceil(1.1*float64(e.trials))) {
		return e.res, nil
	}
	ts, err := s.store.Trials(ctx, rec.ID)
	if err != nil {
		return importanceResponse{}, err
	}
	res := importanceResponse{Study: rec.Name, ObjectiveName: name, ComputedAt: len(ts)}
	if method == "fanova" {
		res.Seed = rec.Seed
		res.Result, err = importance.FANOVA(ctx, ts, importance.FANOVAOptions{Objective: idx, Seed: rec.Seed})
	} else {
		res.Result, err = importance.PEDANOVA(ts, importance.PEDANOVAOptions{Objective: idx, Direction: rec.Directions[idx]})
	}
	if errors.Is(err, importance.ErrTooFewTrials) {
		return importanceResponse{}, fmt.Errorf("study %q has %d usable COMPLETE trial(s): importance needs at least 2: %w", rec.Name, res.Used, retune.ErrNotFound)
	}
	if err != nil {
		return importanceResponse{}, err
	}
	s.importance.mu.Lock()
	if s.importance.m == nil {
		s.importance.m = map[string]importanceEntry{}
	}
	s.importance.m[key] = importanceEntry{trials: len(ts), res: res}
	s.importance.mu.Unlock()
	return res, nil
}
