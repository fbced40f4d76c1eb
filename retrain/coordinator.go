package retrain

import (
	"context"
	crand "crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"time"

	"github.com/a6b40afc/retune"
)

// RepeatFunc runs one confirmation repeat of params as trial t (kind confirm) and returns
// its objective values. repeat counts from 0; seed is the repeat's seed, the same for the
// candidate's and the champion's repeat i (a trainer process gets both as RETUNE_REPEAT
// and RETUNE_SEED). The caller tells nothing: Decide finishes the trial.
type RepeatFunc func(ctx context.Context, t *retune.Trial, params map[string]any, repeat int, seed uint64) ([]float64, error)

// Coordinator decides, for one model, whether a study's best trial beats the champion.
type Coordinator struct {
	Store  retune.RetrainStore
	Policy Policy
	// Baseline is compared with when the model has no champion yet (point comparison);
	// with neither, the first best trial counts as an improvement.
	Baseline *float64
	// ObserverTimeout bounds each observer call after an improved decision; default 30s.
	ObserverTimeout time.Duration
	// Notify names the notifiers (by ID) that the events of decisions are for: a
	// dispatcher delivers each event to each (see retrain/notify).
	Notify []string
	// NowFunc is the clock Policy.RepeatAfter is measured with; nil = time.Now.
	NowFunc func() time.Time
}

// Decide compares study's best search trial with the model's champion under the policy,
// running confirmation repeats through run when the policy asks for them and the
// champion's params are known, and records the decision — with a retraining-required
// event when it says improved — in one transaction. runID names this run: deciding again
// for the same run, champion version and candidate returns the decision already stored.
// A study with several objectives is an error for now.
func (c *Coordinator) Decide(ctx context.Context, s *retune.Study, runID string, run RepeatFunc) (Outcome, error) {
	d, best, err := c.decide(ctx, s, runID, run)
	if err != nil || !d.Improved || d.Evidence.RepeatOf != 0 {
		return Outcome{Decision: d}, err
	}
	errs, _ := s.Notify(ctx, best, c.ObserverTimeout)
	return Outcome{Decision: d, ObserverErrors: errs}, nil
}

// Outcome is a decision and what telling the study's observers about it returned.
type Outcome struct {
	retune.Decision
	// ObserverErrors are the errors of the study's observers (retune.Observer), called
	// in-process when the decision says improved; the decision stands either way.
	ObserverErrors []error
}

func (c *Coordinator) decide(ctx context.Context, s *retune.Study, runID string, run RepeatFunc) (retune.Decision, retune.FrozenTrial, error) {
	if err := c.Policy.Validate(); err != nil {
		return retune.Decision{}, retune.FrozenTrial{}, err
	}
	dirs := s.Directions()
	if len(dirs) != 1 {
		return retune.Decision{}, retune.FrozenTrial{}, fmt.Errorf("%w: retraining decisions need a single objective; study %q has %d", retune.ErrInvalid, s.Name(), len(dirs))
	}
	best, err := s.Best(ctx)
	if err != nil {
		return retune.Decision{}, retune.FrozenTrial{}, fmt.Errorf("decide: %w", err)
	}
	model := s.Record().Model
	d := retune.Decision{Model: model, Study: s.Name(), RunID: runID, Candidate: best.Number}
	champ, err := c.Store.Champion(ctx, model)
	switch {
	case errors.Is(err, retune.ErrNotFound):
		champ, err = retune.Champion{}, nil
	case err != nil:
		return retune.Decision{}, retune.FrozenTrial{}, fmt.Errorf("decide: %w", err)
	}
	d.ChampionVersion = champ.Version
	var e retune.Evidence
	switch {
	case champ.Version == 0 && c.Baseline == nil:
		d.Improved = true
		d.Reason = fmt.Sprintf("model %q has no champion and no baseline: trial %d is the first candidate", model, best.Number)
		e = retune.Evidence{Method: "point", Direction: dirs[0].String(), Candidate: []float64{best.Value()}, Improvement: 0}
	case champ.Version == 0:
		e, err = c.Policy.ComparePoint(dirs[0], best.Value(), *c.Baseline)
		if err == nil {
			e.Guardrails = c.Policy.Guard(best.Metrics, nil)
		}
	case c.Policy.Repeats > 0 && len(champ.Params) > 0 && run != nil:
		e, err = c.confirm(ctx, s, runID, best, champ, run)
	default:
		if len(champ.Values) == 0 {
			return retune.Decision{}, retune.FrozenTrial{}, fmt.Errorf("%w: champion %d of model %q has no values to compare with", retune.ErrInvalid, champ.Version, model)
		}
		e, err = c.Policy.ComparePoint(dirs[0], best.Value(), champ.Values[0])
		if err == nil {
			e.Guardrails = c.Policy.Guard(best.Metrics, champ.Metrics)
		}
	}
	return c.record(ctx, s, d, best, e, err)
}

// record finishes decision d about best with evidence e (or the error that kept it from
// being complete), and stores it with its event.
func (c *Coordinator) record(ctx context.Context, s *retune.Study, d retune.Decision, best retune.FrozenTrial, e retune.Evidence, err error) (retune.Decision, retune.FrozenTrial, error) {
	if err != nil {
		// Missing or non-finite values, a failed repeat: a decision that could not confirm.
		d.Improved, d.Reason = false, "no decision possible: "+err.Error()
	} else if d.Reason == "" {
		d.Improved, d.Reason = Verdict(e)
	}
	e.Cooldown = c.Policy.Cooldown
	e.Notify = c.Notify
	d.Evidence = e
	if d.Improved {
		if prev, ago, ok := c.announced(ctx, s, d, best); ok {
			d.Evidence.RepeatOf = prev
			d.Reason += fmt.Sprintf(" (the candidate's params are those of decision %d, announced %v ago against the same champion version: no new event; retrain.repeat_after re-announces)", prev, ago.Round(time.Second))
		}
	}
	var events []retune.Event
	if d.Improved && d.Evidence.RepeatOf == 0 {
		ev, err := retrainingEvent(d, best)
		if err != nil {
			return retune.Decision{}, retune.FrozenTrial{}, err
		}
		ev.Notify = c.Notify
		events = append(events, ev)
	}
	stored, err := c.Store.RecordDecision(ctx, d, events)
	if errors.Is(err, retune.ErrConflict) && stored.ID != 0 {
		return stored, best, nil // decided before for this run: the first decision stands
	}
	return stored, best, err
}

// announced finds the model's latest announcement (an improved decision that is no repeat)
// against d's champion version and reports whether best has its candidate's params and it
// was made less than Policy.RepeatAfter ago; a promotion makes a new champion version and a
// newer announcement with other params supersedes it, so neither counts.
func (c *Coordinator) announced(ctx context.Context, s *retune.Study, d retune.Decision, best retune.FrozenTrial) (id int64, ago time.Duration, ok bool) {
	after := c.Policy.RepeatAfter
	if after == 0 {
		after = DefaultRepeatAfter
	}
	if after < 0 {
		return 0, 0, false
	}
	ds, err := c.Store.Decisions(ctx, d.Model)
	if err != nil {
		return 0, 0, false // no coalescing is the safe side: announce
	}
	for _, prev := range ds { // newest first
		if !prev.Improved || prev.Evidence.RepeatOf != 0 || prev.ChampionVersion != d.ChampionVersion {
			continue
		}
		now := time.Now()
		if c.NowFunc != nil {
			now = c.NowFunc()
		}
		if ago = now.Sub(prev.Created); ago >= after {
			return 0, 0, false
		}
		params, err := candidateParams(ctx, s.Storage(), prev)
		if err != nil || !sameParams(params, best.Params) {
			return 0, 0, false
		}
		return prev.ID, ago, true
	}
	return 0, 0, false
}

// candidateParams reads the params of a decision's candidate trial.
func candidateParams(ctx context.Context, store retune.Storage, d retune.Decision) (map[string]any, error) {
	rec, err := store.Study(ctx, d.Study)
	if err != nil {
		return nil, err
	}
	t, err := store.Trial(ctx, rec.ID, d.Candidate)
	if err != nil {
		return nil, err
	}
	return t.Params, nil
}

// sameParams compares params as their JSON (3 and 3.0 alike).
func sameParams(a, b map[string]any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)
	return errA == nil && errB == nil && string(ja) == string(jb)
}

// confirm runs the paired repeats and compares them.
func (c *Coordinator) confirm(ctx context.Context, s *retune.Study, runID string, best retune.FrozenTrial, champ retune.Champion, run RepeatFunc) (retune.Evidence, error) {
	k := c.Policy.Repeats
	cand, chv := make([]float64, k), make([]float64, k)
	candM, champM := map[string]float64{}, map[string]float64{}
	for i := range k {
		seed := repeatSeed(s.Seed(), runID, i)
		for side, params := range []map[string]any{best.Params, champ.Params} {
			role := []string{"candidate", "champion"}[side]
			t, err := s.AskFixed(ctx, retune.KindConfirm, params)
			if err != nil {
				return retune.Evidence{}, fmt.Errorf("confirmation repeat %d of the %s: %w", i, role, err)
			}
			t.SetSystemAttr("confirm", role)
			t.SetSystemAttr("repeat", i)
			t.SetSystemAttr("run", runID)
			vals, rerr := run(ctx, t, params, i, seed)
			if rerr != nil {
				_ = s.TellState(context.WithoutCancel(ctx), t, retune.TrialFail, rerr)
				return retune.Evidence{}, fmt.Errorf("confirmation repeat %d of the %s failed: %w", i, role, rerr)
			}
			if len(vals) != 1 {
				_ = s.TellState(context.WithoutCancel(ctx), t, retune.TrialFail, fmt.Errorf("%d values for 1 objective", len(vals)))
				return retune.Evidence{}, fmt.Errorf("confirmation repeat %d of the %s returned %d values for 1 objective", i, role, len(vals))
			}
			if err := s.Tell(ctx, t, vals[0]); err != nil {
				return retune.Evidence{}, fmt.Errorf("confirmation repeat %d of the %s: %w", i, role, err)
			}
			ft, err := s.Storage().Trial(ctx, s.Record().ID, t.Number())
			if err != nil {
				return retune.Evidence{}, err
			}
			into := candM
			if side == 0 {
				cand[i] = vals[0]
			} else {
				chv[i] = vals[0]
				into = champM
			}
			for m, v := range ft.Metrics {
				into[m] += v / float64(k)
			}
		}
	}
	e, err := c.Policy.ComparePaired(s.Directions()[0], cand, chv)
	if err != nil {
		return e, err
	}
	e.Guardrails = c.Policy.Guard(candM, champM)
	return e, nil
}

// repeatSeed derives the seed of confirmation repeat i of a run.
func repeatSeed(studySeed uint64, runID string, i int) uint64 {
	h := fnv.New64a()
	fmt.Fprintf(h, "%d/%s/%d", studySeed, runID, i)
	return h.Sum64()
}

// retrainingEvent announces an improved decision. Its data is thin: what to retrain with,
// and the ids to fetch the full decision.
func retrainingEvent(d retune.Decision, best retune.FrozenTrial) (retune.Event, error) {
	data, err := json.Marshal(map[string]any{
		"model": d.Model, "study": d.Study, "run": d.RunID, "candidate_trial": d.Candidate,
		"champion_version": d.ChampionVersion, "params": best.Params, "values": retune.Floats(best.Values),
		"improvement": retune.Float(d.Evidence.Improvement), "method": d.Evidence.Method, "reason": d.Reason,
		"analysis": d.Evidence.Analysis, "bound": d.Evidence.Bound,
	})
	if err != nil {
		return retune.Event{}, fmt.Errorf("%w: event data: %v", retune.ErrInvalid, err)
	}
	return retune.Event{ID: NewEventID(), Type: retune.TypeRetrainingRequired, Source: "/retune/models/" + d.Model,
		Subject: fmt.Sprintf("studies/%s/trials/%d", d.Study, d.Candidate), Data: data}, nil
}

// NewEventID returns a random UUID (version 4): an event's id for ever.
func NewEventID() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}
