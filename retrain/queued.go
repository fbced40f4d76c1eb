package retrain

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/a6b40afc/retune"
)

// Confirmation repeats run by others. A decider that runs no trainer — `retune serve`'s
// leader — enqueues the repeats as WAITING trials of kind confirm, with the fixed params
// of the candidate or the champion and system attributes saying which ("confirm":
// candidate or champion, "repeat": i, "seed": the repeat's seed as a decimal string,
// "run", and "batch", which names this set of repeats). Whoever runs the study's trials
// claims them (retune.Study.AskConfirm; the API's ask with kind confirm), runs the trainer
// with RETUNE_REPEAT and RETUNE_SEED, and tells them. DecideQueued looks again on every
// call and records the decision once all have finished.

// DecideQueued decides as Decide does, with the confirmation repeats run by others (see
// above). It reports pending while repeats wait or run; call it again later. The set of
// repeats is enqueued once per run, champion version and candidate (a once key), so any
// process may call it, after a failover too. A repeat that does not complete makes the
// decision "no decision possible", as a failed repeat does in Decide. Without repeats in
// the policy, or without a champion with params to re-run, it is Decide with point values.
func (c *Coordinator) DecideQueued(ctx context.Context, s *retune.Study, runID string) (out Outcome, pending bool, err error) {
	if err := c.Policy.Validate(); err != nil {
		return Outcome{}, false, err
	}
	dirs := s.Directions()
	if len(dirs) != 1 {
		return Outcome{}, false, fmt.Errorf("%w: retraining decisions need a single objective; study %q has %d", retune.ErrInvalid, s.Name(), len(dirs))
	}
	best, err := s.Best(ctx)
	if err != nil {
		return Outcome{}, false, fmt.Errorf("decide: %w", err)
	}
	model := s.Record().Model
	champ, err := c.Store.Champion(ctx, model)
	switch {
	case errors.Is(err, retune.ErrNotFound):
		champ = retune.Champion{}
	case err != nil:
		return Outcome{}, false, fmt.Errorf("decide: %w", err)
	}
	if c.Policy.Repeats == 0 || champ.Version == 0 || len(champ.Params) == 0 {
		out, err := c.Decide(ctx, s, runID, nil)
		return out, false, err
	}
	batch := fmt.Sprintf("%s/v%d/c%d", runID, champ.Version, best.Number)
	ts, err := s.Trials(ctx)
	if err != nil {
		return Outcome{}, false, err
	}
	var mine []retune.FrozenTrial
	for _, t := range ts {
		if t.Kind == retune.KindConfirm && t.SystemAttrs["batch"] == batch {
			mine = append(mine, t)
		}
	}
	k := c.Policy.Repeats
	if len(mine) == 0 {
		params := make([]map[string]any, 0, 2*k)
		sys := make([]map[string]any, 0, 2*k)
		for i := range k {
			seed := strconv.FormatUint(repeatSeed(s.Seed(), runID, i), 10)
			for side, p := range []map[string]any{best.Params, champ.Params} {
				params = append(params, p)
				sys = append(sys, map[string]any{"confirm": []string{"candidate", "champion"}[side], "repeat": i, "seed": seed, "run": runID, "batch": batch})
			}
		}
		_, err := s.Storage().Enqueue(ctx, retune.EnqueueRequest{StudyID: s.Record().ID, Kind: retune.KindConfirm, Params: params, System: sys, OnceKey: "confirm/" + batch})
		return Outcome{}, true, err
	}
	cand, chv := make([]float64, k), make([]float64, k)
	candM, champM := map[string]float64{}, map[string]float64{}
	var failed error
	seen := 0
	for _, t := range mine {
		if !t.State.Finished() {
			return Outcome{}, true, nil
		}
		role, _ := t.SystemAttrs["confirm"].(string)
		rf, _ := t.SystemAttrs["repeat"].(float64)
		i := int(rf)
		if i < 0 || i >= k || (role != "candidate" && role != "champion") {
			continue
		}
		seen++
		if t.State != retune.TrialComplete || len(t.Values) != 1 {
			if failed == nil {
				failed = fmt.Errorf("confirmation repeat %d of the %s (trial %d) ended %v: %s", i, role, t.Number, t.State, t.Reason)
			}
			continue
		}
		into := candM
		if role == "candidate" {
			cand[i] = t.Values[0]
		} else {
			chv[i] = t.Values[0]
			into = champM
		}
		for m, v := range t.Metrics {
			into[m] += v / float64(k)
		}
	}
	if seen < 2*k && failed == nil {
		failed = fmt.Errorf("%d of the %d confirmation repeats of batch %s are in the study", seen, 2*k, batch)
	}
	d := retune.Decision{Model: model, Study: s.Name(), RunID: runID, Candidate: best.Number, ChampionVersion: champ.Version}
	e, err := retune.Evidence{}, failed
	if err == nil {
		e, err = c.Policy.ComparePaired(dirs[0], cand, chv)
		if err == nil {
			e.Guardrails = c.Policy.Guard(candM, champM)
		}
	}
	stored, best, err := c.record(ctx, s, d, best, e, err)
	if err != nil || !stored.Improved || stored.Evidence.RepeatOf != 0 {
		return Outcome{Decision: stored}, false, err
	}
	errs, _ := s.Notify(ctx, best, c.ObserverTimeout)
	return Outcome{Decision: stored, ObserverErrors: errs}, false, nil
}
