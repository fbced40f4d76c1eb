package retrain

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/a6b40afc/retune"
)

// Store is the storage promotion needs: studies and trials (the candidate's params) and
// the retraining records.
type Store interface {
	retune.Storage
	retune.RetrainStore
}

// Promote makes the candidate of decision id the model's champion, with values (and
// metrics) the retraining system measured: a compare-and-set on the champion version the
// decision was made against, written with a champion-promoted event in one transaction.
// When another promotion came first the error wraps retune.ErrVersionConflict.
func Promote(ctx context.Context, st Store, id int64, values []float64, metrics map[string]float64) (retune.Champion, error) {
	d, err := st.Decision(ctx, id)
	if err != nil {
		return retune.Champion{}, err
	}
	if !d.Improved {
		return retune.Champion{}, fmt.Errorf("%w: decision %d did not find an improvement (%s): promote only what a decision confirmed", retune.ErrInvalid, id, d.Reason)
	}
	rec, err := st.Study(ctx, d.Study)
	if err != nil {
		return retune.Champion{}, fmt.Errorf("decision %d: study %q: %w", id, d.Study, err)
	}
	t, err := st.Trial(ctx, rec.ID, d.Candidate)
	if err != nil {
		return retune.Champion{}, fmt.Errorf("decision %d: candidate trial %d: %w", id, d.Candidate, err)
	}
	if len(values) == 0 {
		values = t.Values
	}
	c := retune.Champion{Model: d.Model, Params: t.Params, Values: values, Metrics: metrics, Source: "trial",
		Study: d.Study, Trial: d.Candidate, Decision: id}
	return promote(ctx, st, c, d.ChampionVersion)
}

// SetChampion records a champion by hand (the model in production before retune, say):
// the next version after the current one.
func SetChampion(ctx context.Context, st retune.RetrainStore, model string, params map[string]any, values []float64, metrics map[string]float64) (retune.Champion, error) {
	var expect int64
	cur, err := st.Champion(ctx, model)
	if err == nil {
		expect = cur.Version
	}
	c := retune.Champion{Model: model, Params: params, Values: values, Metrics: metrics, Source: "manual", Trial: -1}
	return promote(ctx, st, c, expect)
}

func promote(ctx context.Context, st retune.RetrainStore, c retune.Champion, expect int64) (retune.Champion, error) {
	data, err := json.Marshal(map[string]any{
		"model": c.Model, "version": expect + 1, "previous_version": expect, "source": c.Source,
		"study": c.Study, "trial": c.Trial, "decision": c.Decision, "params": c.Params, "values": floats(c.Values),
	})
	if err != nil {
		return retune.Champion{}, fmt.Errorf("%w: champion: %v", retune.ErrInvalid, err)
	}
	ev := retune.Event{ID: NewEventID(), Type: retune.TypeChampionPromoted, Source: "/retune/models/" + c.Model,
		Subject: fmt.Sprintf("champions/%d", expect+1), Data: data}
	return st.PromoteChampion(ctx, c, expect, []retune.Event{ev})
}
