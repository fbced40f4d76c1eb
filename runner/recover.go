package runner

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/a6b40afc/retune"
)

// RecoverOrphans finds the study's trials left RUNNING by a retune process on this host
// that no longer exists (a `retune run` killed with kill -9): it stops what is left of their
// trainers (StopOrphan, with grace between SIGTERM and SIGKILL), fails the trials as
// interrupted, so that they give their places in the budget back, and enqueues their params
// again. Trials held by live processes or by other hosts are left to their leases. It
// returns how many trials it recovered.
func RecoverOrphans(ctx context.Context, study *retune.Study, grace time.Duration) (int, error) {
	store, rec := study.Storage(), study.Record()
	running, err := store.Running(ctx, rec.ID)
	if err != nil {
		return 0, err
	}
	me, _ := os.Hostname()
	n := 0
	for _, t := range running {
		host, pid, ok := t.Lease.Process()
		if !ok || host != me || ProcessAlive(pid) {
			continue
		}
		if pg, ok := t.SystemAttrs["pgid"].(float64); ok {
			StopOrphan(int(pg), rec.Name, t.Number, grace)
		}
		_, err = store.Finish(ctx, retune.FinishRequest{
			Ref:         retune.TrialRef{StudyID: rec.ID, Number: t.Number, Epoch: t.Lease.Epoch},
			State:       retune.TrialFail,
			Reason:      fmt.Sprintf("interrupted: the retune process %d on %s that ran it died", pid, host),
			Interrupted: true,
		})
		if errors.Is(err, retune.ErrConflict) {
			continue // finished or recovered meanwhile
		}
		if err != nil {
			return n, err
		}
		if err := study.Enqueue(ctx, t.RetryParams()); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
