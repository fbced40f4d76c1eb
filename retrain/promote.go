package retrain

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/a6b40afc/retune"
)

// Store is the storage promotion needs: studies and trials (the candidate's params) and
// the retraining records.
type Store interface {
	retune.Storage
	retune.RetrainStore
}

// ErrCooldown is returned (wrapping retune.ErrConflict) when a promotion comes sooner
// after the model's current champion was made than the decision's policy cooldown.
var ErrCooldown = errors.New("retrain: promotion within the cooldown")

// PromoteOptions are what the retraining system reports back with a promotion.
type PromoteOptions struct {
	// Values are the retrained model's measured objective values; default: the candidate
	// trial's values.
	Values []float64
	// Metrics are its other measured metrics (guardrails).
	Metrics map[string]float64
	// Force promotes even within the cooldown the decision recorded.
	Force bool
	// Notify names the notifiers the champion-promoted event is for; nil means those the
	// decision's event was for, an empty list none.
	Notify []string
}

// Promote makes the candidate of decision id the model's champion, with the values (and
// metrics) the retraining system measured: a compare-and-set on the champion version the
// decision was made against, written with a champion-promoted event in one transaction.
// When another promotion came first the error wraps retune.ErrVersionConflict. Unless
// o.Force, a promotion sooner than the decision's cooldown (Policy.Cooldown) after the
// current champion was made is refused with an error wrapping ErrCooldown and
// retune.ErrConflict; a model without a champion has no cooldown.
func Promote(ctx context.Context, st Store, id int64, o PromoteOptions) (retune.Champion, error) {
	d, err := st.Decision(ctx, id)
	if err != nil {
		return retune.Champion{}, err
	}
	if !d.Improved {
		return retune.Champion{}, fmt.Errorf("%w: decision %d did not find an improvement (%s): promote only what a decision confirmed", retune.ErrInvalid, id, d.Reason)
	}
	if cd := d.Evidence.Cooldown; cd > 0 && !o.Force {
		cur, err := st.Champion(ctx, d.Model)
		switch {
		case errors.Is(err, retune.ErrNotFound):
		case err != nil:
			return retune.Champion{}, fmt.Errorf("decision %d: %w", id, err)
		case cur.Version == d.ChampionVersion && time.Since(cur.Created) < cd:
			// Another version than the decision's fails the compare-and-set below.
			return retune.Champion{}, fmt.Errorf("promote decision %d: champion version %d of model %q was made %s ago, within the cooldown of %s; promotions are allowed again from %s: %w: %w",
				id, cur.Version, d.Model, time.Since(cur.Created).Round(time.Second), cd, cur.Created.Add(cd).UTC().Format(time.RFC3339), ErrCooldown, retune.ErrConflict)
		}
	}
	rec, err := st.Study(ctx, d.Study)
	if err != nil {
		return retune.Champion{}, fmt.Errorf("decision %d: study %q: %w", id, d.Study, err)
	}
	t, err := st.Trial(ctx, rec.ID, d.Candidate)
	if err != nil {
		return retune.Champion{}, fmt.Errorf("decision %d: candidate trial %d: %w", id, d.Candidate, err)
	}
	values := o.Values
	if len(values) == 0 {
		values = t.Values
	}
	c := retune.Champion{Model: d.Model, Params: t.Params, Values: values, Metrics: o.Metrics, Source: "trial",
		Study: d.Study, Trial: d.Candidate, Decision: id}
	notify := o.Notify
	if notify == nil {
		notify = d.Evidence.Notify
	}
	return promote(ctx, st, c, d.ChampionVersion, notify)
}

// SetChampion records a champion by hand (the model in production before retune, say):
// the next version after the current one. It is not subject to a cooldown.
func SetChampion(ctx context.Context, st retune.RetrainStore, model string, params map[string]any, values []float64, metrics map[string]float64) (retune.Champion, error) {
	var expect int64
	cur, err := st.Champion(ctx, model)
	if err == nil {
		expect = cur.Version
	}
	c := retune.Champion{Model: model, Params: params, Values: values, Metrics: metrics, Source: "manual", Trial: -1}
	return promote(ctx, st, c, expect, nil)
}

func promote(ctx context.Context, st retune.RetrainStore, c retune.Champion, expect int64, notify []string) (retune.Champion, error) {
	data, err := json.Marshal(map[string]any{
		"model": c.Model, "version": expect + 1, "previous_version": expect, "source": c.Source,
		"study": c.Study, "trial": c.Trial, "decision": c.Decision, "params": c.Params, "values": retune.Floats(c.Values),
	})
	if err != nil {
		return retune.Champion{}, fmt.Errorf("%w: champion: %v", retune.ErrInvalid, err)
	}
	ev := retune.Event{ID: NewEventID(), Type: retune.TypeChampionPromoted, Source: "/retune/models/" + c.Model,
		Subject: fmt.Sprintf("champions/%d", expect+1), Data: data, Notify: notify}
	return st.PromoteChampion(ctx, c, expect, []retune.Event{ev})
}
