package retrain

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/a6b40afc/retune"
)

// RecordCompleted records the study-completed event of a run of s (its result res) in the
// outbox, for the notifiers notify names: what ran, how it ended, and the best trial (one
// objective). It does nothing when the storage keeps no events.
func RecordCompleted(ctx context.Context, s *retune.Study, res retune.Result, notify []string) error {
	ds, ok := s.Storage().(retune.DeliveryStore)
	if !ok {
		return nil
	}
	data := map[string]any{
		"study": s.Name(), "model": s.Record().Model, "trials": res.Started, "complete": res.Completed,
		"pruned": res.Pruned, "failed": res.Failed, "interrupted": res.Interrupted, "stopped": res.Stop.String(),
	}
	if best, err := s.Best(ctx); err == nil && len(s.Directions()) == 1 {
		data["best"] = map[string]any{"trial": best.Number, "values": retune.Floats(best.Values), "params": best.Params}
	}
	b, err := json.Marshal(data)
	if err != nil {
		return fmt.Errorf("study-completed event: %w", err)
	}
	ev := retune.Event{ID: NewEventID(), Type: retune.TypeStudyCompleted, Source: "/retune/studies/" + s.Name(),
		Subject: "studies/" + s.Name(), Data: b, Notify: notify}
	if err := ds.AppendEvents(ctx, []retune.Event{ev}); err != nil {
		return fmt.Errorf("record study-completed event: %w", err)
	}
	return nil
}
