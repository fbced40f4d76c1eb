package postgres

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/codec"
	"github.com/jackc/pgx/v5"
)

// Validation and encoding of what a write carries. Everything is checked and encoded
// before a transaction starts (here, and by internal/dbenc for what SQLite writes too),
// so a rejected write changes nothing; the checks and their errors are those of the
// memory storage.

// encodeAttrs validates attributes (a nil value is kept, as a JSON null) and encodes them
// for a new row; it also returns them as they read back.
func encodeAttrs(m map[string]any) (string, map[string]any, error) {
	for k, v := range m {
		if v == nil {
			continue
		}
		if err := retune.ValidateAttr(k, v); err != nil {
			return "", nil, err
		}
	}
	b, err := codec.MarshalAttrs(m)
	if err != nil {
		return "", nil, err
	}
	dec, err := codec.UnmarshalAttrs(b)
	if err != nil {
		return "", nil, err
	}
	return string(b), dec, nil
}

// patch is a validated update of a stored JSON object: the encoded value of each key to
// set, or nil for a key to delete. It is merged in Go (apply) because PostgreSQL's JSON
// functions cannot read a string holding \u0000, which attributes may.
type patch map[string]json.RawMessage

// attrPatch validates an attribute update, where a nil value deletes the key.
func attrPatch(m map[string]any) (patch, error) {
	p, err := codec.EncodeAttrUpdate(m)
	return patch(p), err
}

// apply returns the stored JSON object old with p applied.
func (p patch) apply(old string) (string, error) {
	if len(p) == 0 {
		return old, nil
	}
	var cur map[string]json.RawMessage
	if err := json.Unmarshal([]byte(old), &cur); err != nil {
		return "", fmt.Errorf("postgres: stored object %.80q: %w", old, err)
	}
	if cur == nil {
		cur = make(map[string]json.RawMessage, len(p))
	}
	for k, v := range p {
		if v == nil {
			delete(cur, k)
		} else {
			cur[k] = v
		}
	}
	b, err := json.Marshal(cur)
	if err != nil {
		return "", fmt.Errorf("postgres: encode object: %w", err)
	}
	return string(b), nil
}

// micros is a duration in whole microseconds, PostgreSQL's time resolution.
func micros(d time.Duration) int64 { return d.Microseconds() }

// trialCols selects a trial row (alias t) with its intermediate values, in the order
// trialRow.scan reads them. It serves SELECT and RETURNING alike.
const trialCols = `t.number, t.kind, t.state, t.params, t.vals, t.metrics, t.user_attrs,
	t.system_attrs, t.fixed, t.retry_of, t.lease_holder, t.lease_epoch, t.lease_expires, t.reason,
	t.started_at, t.ended_at,
	(SELECT json_agg(json_build_array(i.step, i.vals::json) ORDER BY i.step)
	   FROM trial_intermediate i WHERE i.trial_id = t.id)`

// scanTrial reads one row of trialCols.
func scanTrial(row pgx.Row) (retune.FrozenTrial, error) {
	ft, _, err := scanTrialObjs(row)
	return ft, err
}

// scanTrialObjs is scanTrial that also returns the trial's stored objects as stored.
func scanTrialObjs(row pgx.Row) (retune.FrozenTrial, storedObjs, error) {
	var (
		number                      int32
		kind, state                 int16
		params, user, system, fixed string
		vals                        []float64
		metrics                     *string
		retryOf                     *int32
		holder                      string
		epoch                       int64
		expires, started, ended     *time.Time
		reason                      []byte
		inter                       []byte
	)
	if err := row.Scan(&number, &kind, &state, &params, &vals, &metrics, &user, &system, &fixed,
		&retryOf, &holder, &epoch, &expires, &reason, &started, &ended, &inter); err != nil {
		return retune.FrozenTrial{}, storedObjs{}, err
	}
	objs := storedObjs{params: params, user: user, system: system}
	ft, err := decodeTrial(number, kind, state, params, vals, metrics, user, system, fixed, retryOf, holder, epoch,
		expires, reason, started, ended, inter)
	return ft, objs, err
}

// decodeTrial builds a FrozenTrial from the columns of trialCols.
func decodeTrial(number int32, kind, state int16, params string, vals []float64, metrics *string, user, system, fixed string,
	retryOf *int32, holder string, epoch int64, expires *time.Time, reason []byte, started, ended *time.Time, inter []byte) (retune.FrozenTrial, error) {
	ft := retune.FrozenTrial{
		Number: int(number), Kind: retune.TrialKind(kind), State: retune.TrialState(state),
		Values: vals, RetryOf: -1, Reason: string(reason),
		Lease: retune.Lease{Holder: holder, Epoch: epoch, Expires: utc(expires)},
		Start: utc(started), End: utc(ended),
	}
	if retryOf != nil {
		ft.RetryOf = int(*retryOf)
	}
	var err error
	if params != "{}" {
		if ft.Params, ft.Distributions, err = retune.UnmarshalParams([]byte(params)); err != nil {
			return ft, fmt.Errorf("trial %d: %w", number, err)
		}
	}
	if metrics != nil {
		if ft.Metrics, err = codec.UnmarshalMetrics([]byte(*metrics)); err != nil {
			return ft, fmt.Errorf("trial %d: %w", number, err)
		}
	}
	if ft.UserAttrs, err = codec.UnmarshalAttrs([]byte(user)); err != nil {
		return ft, fmt.Errorf("trial %d: user attributes: %w", number, err)
	}
	if ft.SystemAttrs, err = codec.UnmarshalAttrs([]byte(system)); err != nil {
		return ft, fmt.Errorf("trial %d: system attributes: %w", number, err)
	}
	if ft.Fixed, err = codec.UnmarshalFixed([]byte(fixed)); err != nil {
		return ft, fmt.Errorf("trial %d: %w", number, err)
	}
	if inter != nil {
		var steps [][2]json.RawMessage
		if err := json.Unmarshal(inter, &steps); err != nil {
			return ft, fmt.Errorf("trial %d: intermediate values: %w", number, err)
		}
		ft.Intermediate = make(map[int64][]float64, len(steps))
		for _, s := range steps {
			var step int64
			if err := json.Unmarshal(s[0], &step); err != nil {
				return ft, fmt.Errorf("trial %d: intermediate step %s: %w", number, s[0], err)
			}
			v, err := codec.UnmarshalFloats(s[1])
			if err != nil {
				return ft, fmt.Errorf("trial %d: step %d: %w", number, step, err)
			}
			ft.Intermediate[step] = v
		}
	}
	return ft, nil
}

func utc(t *time.Time) time.Time {
	if t == nil {
		return time.Time{}
	}
	return t.UTC()
}
