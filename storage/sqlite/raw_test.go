package sqlite

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/a6b40afc/retune"
)

// TestWriteRawCanceled: a write on the driver connection whose context has ended changes
// nothing, and the connection goes on serving writes.
func TestWriteRawCanceled(t *testing.T) {
	ctx := t.Context()
	s := openT(t, newDB(t), Options{})
	openBenchStudy(ctx, t, s)
	rec, err := s.Study(ctx, benchStudy)
	if err != nil {
		t.Fatal(err)
	}
	id := rec.ID
	done, cancel := context.WithCancel(ctx)
	cancel()
	_, err = s.CreateTrial(done, retune.CreateTrialRequest{StudyID: id, Kind: retune.KindSearch, Holder: "h", LeaseTTL: time.Minute})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("CreateTrial(canceled) error = %v, want context.Canceled", err)
	}
	// A transaction that begins and then sees its context end is rolled back.
	inside, cancel2 := context.WithCancel(ctx)
	err = s.writeRaw(inside, func(tx *rawTx) error {
		if _, err := tx.exec(`UPDATE studies SET next_number = next_number + 7 WHERE id = ?`, id); err != nil {
			return err
		}
		cancel2()
		return nil
	})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("writeRaw(context ended inside) error = %v, want context.Canceled", err)
	}
	ft, err := s.CreateTrial(ctx, retune.CreateTrialRequest{StudyID: id, Kind: retune.KindSearch, Holder: "h", LeaseTTL: time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if ft.Number != 0 {
		t.Errorf("first trial after the canceled writes is number %d, want 0", ft.Number)
	}
}
