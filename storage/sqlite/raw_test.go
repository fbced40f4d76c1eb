package sqlite

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"reflect"
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

// TestScanValue: scanValue stores a driver value as sql.Rows.Scan would, or fails.
func TestScanValue(t *testing.T) {
	var (
		i   int64
		n   int
		st  retune.TrialState
		s   string
		b   []byte
		ni  sql.NullInt64
		n16 sql.NullInt16
		ns  sql.NullString
		nf  sql.NullFloat64
	)
	for _, tc := range []struct {
		dest any
		v    driver.Value
		want any // nil: an error
	}{
		{&i, int64(-3), int64(-3)},
		{&n, int64(7), 7},
		{&st, int64(2), retune.TrialState(2)},
		{&s, "x", "x"},
		{&b, "ab", []byte("ab")},
		{&b, nil, []byte(nil)},
		{&ni, int64(5), sql.NullInt64{Int64: 5, Valid: true}},
		{&ni, nil, sql.NullInt64{}},
		{&n16, int64(3), sql.NullInt16{Int16: 3, Valid: true}},
		{&n16, nil, sql.NullInt16{}},
		{&ns, "h", sql.NullString{String: "h", Valid: true}},
		{&ns, nil, sql.NullString{}},
		{&nf, 1.5, sql.NullFloat64{Float64: 1.5, Valid: true}},
		{&i, nil, nil},
		{&s, nil, nil},
		{&i, "1", nil},
		{&n16, int64(1 << 20), nil},
	} {
		err := scanValue(tc.dest, tc.v)
		switch got := reflect.ValueOf(tc.dest).Elem().Interface(); {
		case tc.want == nil && err == nil:
			t.Errorf("scanValue(%T, %#v) = nil error, want one", tc.dest, tc.v)
		case tc.want != nil && err != nil:
			t.Errorf("scanValue(%T, %#v) error: %v", tc.dest, tc.v, err)
		case tc.want != nil && !reflect.DeepEqual(got, tc.want):
			t.Errorf("scanValue(%T, %#v) stored %#v, want %#v", tc.dest, tc.v, got, tc.want)
		}
	}
}
