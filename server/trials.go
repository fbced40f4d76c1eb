package server

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

// number parses the {number} of the path.
func number(r *http.Request) (int, error) {
	v := r.PathValue("number")
	n, err := strconv.Atoi(v)
	if err != nil || n < 0 {
		return 0, &fieldError{Field: "number", Msg: strconv.Quote(v), Valid: "a trial number (an integer >= 0)", Status: 400}
	}
	return n, nil
}

var errNoDefinition = errorf(http.StatusConflict, "no-definition",
	"the study has no stored definition, so the server does not know its params: create it through POST /api/v1/studies (or retune run)")

// ask starts a trial and samples every param of the study's declared space (none for a
// study without a definition: its client suggests params one by one).
func (s *Server) ask(c *call) (int, any, error) {
	body := c.body
	if len(bytes.TrimSpace(body)) == 0 {
		body = []byte("{}")
	}
	var req askRequest
	if err := decode(body, &req); err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	b, err := s.open(ctx, c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	ttl, err := s.leaseFor(req.LeaseSeconds)
	if err != nil {
		return 0, nil, err
	}
	if req.Kind == "confirm" {
		return s.askConfirm(ctx, b, ttl)
	}
	t, err := b.study.AskLease(ctx, retune.KindSearch, ttl)
	if err != nil {
		return 0, nil, err
	}
	params := map[string]any{} // define-by-run: the client suggests each param
	if b.def != nil {
		params = b.def.Suggest(t)
	}
	for _, name := range slices.Sorted(maps.Keys(req.Space)) {
		d, _ := req.Space[name].distribution() // validated
		if v := t.Suggest(name, d); t.Err() == nil {
			params[name] = v
		}
	}
	if err := t.Err(); err != nil {
		if ferr := b.study.TellState(ctx, t, retune.TrialFail, err); ferr != nil {
			return 0, nil, ferr
		}
		return 0, nil, err
	}
	lease := t.Lease()
	if err := t.Detach(ctx); err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, askResponse{
		Number: t.Number(), Epoch: lease.Epoch, Params: params,
		LeaseExpires: lease.Expires, LeaseSeconds: ttl.Seconds(),
	}, nil
}

// leaseFor is the lease a request asks for in seconds (nil: the default), checked
// against the server's bounds.
func (s *Server) leaseFor(secs *float64) (time.Duration, error) {
	if secs == nil {
		return s.opts.LeaseTTL, nil
	}
	d := time.Duration(*secs * float64(time.Second))
	if *secs != *secs || d < s.opts.MinLeaseTTL || d > s.opts.MaxLeaseTTL {
		return 0, invalid("lease_seconds", fmt.Sprintf("%g to %g seconds (the server's bounds)", s.opts.MinLeaseTTL.Seconds(), s.opts.MaxLeaseTTL.Seconds()), "%g", *secs)
	}
	return d, nil
}

// askConfirm claims a confirmation repeat: its params are fixed, and the answer says its
// role, repeat and seed.
func (s *Server) askConfirm(ctx context.Context, b *builtStudy, ttl time.Duration) (int, any, error) {
	t, err := b.study.AskLease(ctx, retune.KindConfirm, ttl)
	if err != nil {
		return 0, nil, err
	}
	lease := t.Lease()
	if err := t.Detach(ctx); err != nil {
		return 0, nil, err
	}
	resp := askResponse{Number: t.Number(), Epoch: lease.Epoch, Params: t.Fixed(), LeaseExpires: lease.Expires,
		LeaseSeconds: ttl.Seconds(), Kind: "confirm"}
	if resp.Params == nil {
		resp.Params = map[string]any{}
	}
	resp.Confirm, _ = t.SystemAttr("confirm").(string)
	resp.Seed, _ = t.SystemAttr("seed").(string)
	if r, ok := t.SystemAttr("repeat").(float64); ok {
		i := int(r)
		resp.Repeat = &i
	}
	return http.StatusCreated, resp, nil
}

// onTrial reads what every write to one trial starts with: the trial's number from the
// path, the request body as T, and the study the path names.
func onTrial[T any, PT interface {
	*T
	validator
}](s *Server, c *call) (n int, req T, b *builtStudy, err error) {
	if n, err = number(c.r); err != nil {
		return 0, req, nil, err
	}
	if err = decode(c.body, PT(&req)); err != nil {
		return 0, req, nil, err
	}
	b, err = s.open(c.r.Context(), c.r.PathValue("study"))
	return n, req, b, err
}

// tell finishes a trial. A tell repeated after its answer was lost (the trial already
// finished under the same epoch, with the same outcome) gets the finished trial again.
func (s *Server) tell(c *call) (int, any, error) {
	n, req, b, err := onTrial[tellRequest](s, c)
	if err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	dirs := b.study.Directions()
	if req.State == "COMPLETE" && len(req.Values) != len(dirs) {
		return 0, nil, invalid("values", valuesWanted(len(dirs)), "%d values", len(req.Values))
	}
	metrics := make(map[string]float64, len(req.Metrics))
	for k, v := range req.Metrics {
		metrics[k] = float64(v)
	}
	out := retune.Outcome{Metrics: metrics, UserAttrs: req.UserAttrs}
	var ft retune.FrozenTrial
	switch req.State {
	case "COMPLETE":
		out.State, out.Values = retune.TrialComplete, floats(req.Values)
		ft, err = b.study.TellOutcome(ctx, n, req.Epoch, out)
	case "PRUNED": // with its last intermediate values, which the stored trial has
		var old retune.FrozenTrial
		if old, err = s.store.Trial(ctx, b.study.Record().ID, n); err == nil {
			_, out.Values, _ = old.LastStep()
			out.State = retune.TrialPruned
			ft, err = b.study.TellOutcome(ctx, n, req.Epoch, out)
		}
	default:
		reason := req.Reason
		if reason == "" {
			reason = "failed"
		}
		out.State, out.Reason = retune.TrialFail, errors.New(reason)
		ft, err = b.study.TellOutcome(ctx, n, req.Epoch, out)
	}
	if err == nil {
		return http.StatusOK, trialOf(ft), nil
	}
	ft, rerr := s.store.Trial(ctx, b.study.Record().ID, n)
	switch {
	case errors.Is(err, retune.ErrConflict) && rerr == nil && told(ft, &req):
		return http.StatusOK, trialOf(ft), nil // a repeated tell
	case err != nil:
		return 0, nil, err
	case rerr != nil:
		return 0, nil, rerr
	}
	return http.StatusOK, trialOf(ft), nil
}

// told reports whether ft is the outcome of req: finished under its epoch, as it asked.
func told(ft retune.FrozenTrial, req *tellRequest) bool {
	if !ft.State.Finished() || ft.Lease.Epoch != req.Epoch {
		return false
	}
	if req.State != "COMPLETE" {
		return ft.State.String() == req.State
	}
	if slices.ContainsFunc(req.Values, func(v Float) bool { return v != v }) {
		return ft.State == retune.TrialFail // NaN fails the trial
	}
	return ft.State == retune.TrialComplete && slices.Equal(ft.Values, floats(req.Values))
}

// report records an intermediate value and answers whether to prune.
func (s *Server) report(c *call) (int, any, error) {
	n, req, b, err := onTrial[reportRequest](s, c)
	if err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	dirs := b.study.Directions()
	steps := []retune.StepValues{}
	if len(req.Steps) == 0 {
		req.Steps = []stepJSON{{Step: *req.Step, Values: req.Values}}
	}
	for i, sv := range req.Steps {
		if len(sv.Values) != len(dirs) {
			field := "values"
			if len(req.Steps) > 1 || req.Step == nil {
				field = fmt.Sprintf("steps[%d].values", i)
			}
			return 0, nil, invalid(field, valuesWanted(len(dirs)), "%d values", len(sv.Values))
		}
		steps = append(steps, retune.StepValues{Step: sv.Step, Values: floats(sv.Values)})
	}
	t, err := b.study.Reopen(ctx, n, req.Epoch)
	if err != nil {
		return 0, nil, err
	}
	err = t.ReportMany(ctx, steps)
	if errors.Is(err, retune.ErrPruned) {
		return http.StatusOK, reportResponse{Prune: true}, nil
	}
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, reportResponse{}, nil
}

func (s *Server) heartbeat(c *call) (int, any, error) {
	n, req, b, err := onTrial[heartbeatRequest](s, c)
	if err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	ttl, err := s.leaseFor(req.LeaseSeconds)
	if err != nil {
		return 0, nil, err
	}
	lease, err := b.study.HeartbeatLease(ctx, n, req.Epoch, ttl)
	stop := errors.Is(err, retune.ErrStopRequested)
	if err != nil && !stop {
		return 0, nil, err
	}
	return http.StatusOK, leaseJSON{Epoch: lease.Epoch, Expires: lease.Expires, Stop: stop}, nil
}

// stop marks a running trial for stopping: its runner learns of it at its next
// heartbeat (stop: true) or report (prune: true).
func (s *Server) stop(c *call) (int, any, error) {
	n, err := number(c.r)
	if err != nil {
		return 0, nil, err
	}
	if len(bytes.TrimSpace(c.body)) > 0 && string(bytes.TrimSpace(c.body)) != "{}" {
		return 0, nil, &fieldError{Field: "body", Msg: "not empty", Valid: "no body, or {}", Status: 400}
	}
	ctx := c.r.Context()
	b, err := s.open(ctx, c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	if err := b.study.RequestStop(ctx, n); err != nil {
		return 0, nil, err
	}
	ft, err := s.store.Trial(ctx, b.study.Record().ID, n)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusAccepted, trialOf(ft), nil
}

type enqueueResponse struct {
	Numbers []int `json:"numbers"`
}

// enqueue adds a WAITING trial with fixed params, each a param of the stored definition
// and inside its distribution (a definition that declares none takes any param, checked
// when the trial suggests it); params not given are sampled when the trial is asked.
func (s *Server) enqueue(c *call) (int, any, error) {
	var req enqueueRequest
	if err := decode(c.body, &req); err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	b, err := s.open(ctx, c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	if b.def == nil {
		return 0, nil, errNoDefinition
	}
	names := make([]string, len(b.def.Params))
	for i, p := range b.def.Params {
		names[i] = p.Name
	}
	params := make(map[string]any, len(req.Params))
	for _, k := range slices.Sorted(maps.Keys(req.Params)) {
		if len(names) == 0 { // define-by-run: each value is checked when the trial suggests it
			if err := retune.ValidateName("param", k); err != nil {
				return 0, nil, invalid("params", "param names of 1 to 256 printable characters", "invalid param name")
			}
			params[k] = req.Params[k]
			continue
		}
		i := slices.Index(names, k)
		if i < 0 {
			return 0, nil, invalid("params."+k, "one of the study's params: "+strings.Join(names, ", "), "not a param of the study")
		}
		d := b.def.Params[i].Distribution()
		x, ok := d.ToInternal(req.Params[k])
		if !ok {
			return 0, nil, invalid("params."+k, d.String(), "%v is outside the param's distribution", req.Params[k])
		}
		params[k] = d.ToExternal(x)
	}
	nums, err := s.store.Enqueue(ctx, retune.EnqueueRequest{StudyID: b.study.Record().ID, Params: []map[string]any{params}})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, enqueueResponse{Numbers: nums}, nil
}

type trialList struct {
	Trials []trialJSON `json:"trials"`
	// Next is the "after" of the next page (by number); absent on the last page.
	Next *int `json:"next,omitempty"`
	// Cursor is the "cursor" of the next call (finish order), when the call gave one.
	Cursor *int64 `json:"cursor,omitempty"`
}

// listTrials lists trials by number (limit, after) or, given a cursor, the trials that
// finished since it, in finish order; state and kind filter both.
func (s *Server) listTrials(c *call) (int, any, error) {
	q, err := query(c.r, "state", "kind", "limit", "after", "cursor")
	if err != nil {
		return 0, nil, err
	}
	limit, err := limitParam(q)
	if err != nil {
		return 0, nil, err
	}
	keep := func(retune.FrozenTrial) bool { return true }
	if v, ok := q["state"]; ok {
		st, err := retune.ParseTrialState(v)
		if err != nil {
			return 0, nil, &fieldError{Field: "state", Msg: strconv.Quote(v), Valid: "WAITING, RUNNING, COMPLETE, PRUNED or FAIL", Status: 400}
		}
		keep = func(ft retune.FrozenTrial) bool { return ft.State == st }
	}
	if v, ok := q["kind"]; ok {
		k, err := retune.ParseTrialKind(v)
		if err != nil {
			return 0, nil, &fieldError{Field: "kind", Msg: strconv.Quote(v), Valid: "search or confirm", Status: 400}
		}
		prev := keep
		keep = func(ft retune.FrozenTrial) bool { return prev(ft) && ft.Kind == k }
	}
	ctx := c.r.Context()
	rec, err := s.store.Study(ctx, c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	out := trialList{Trials: []trialJSON{}}
	if v, ok := q["cursor"]; ok {
		if _, ok := q["after"]; ok {
			return 0, nil, &fieldError{Field: "after", Msg: "given with cursor", Valid: "either after (pages by number) or cursor (finish order)", Status: 400}
		}
		cur, err := strconv.ParseInt(v, 10, 64)
		if err != nil || cur < 0 {
			return 0, nil, &fieldError{Field: "cursor", Msg: strconv.Quote(v), Valid: "0, or the cursor of the previous answer", Status: 400}
		}
		fts, next, err := s.store.FinishedSince(ctx, rec.ID, cur)
		if err != nil {
			return 0, nil, err
		}
		for _, ft := range fts {
			if keep(ft) {
				out.Trials = append(out.Trials, trialOf(ft))
			}
		}
		out.Cursor = &next
		return http.StatusOK, out, nil
	}
	after := -1
	if v, ok := q["after"]; ok {
		if after, err = strconv.Atoi(v); err != nil || after < 0 {
			return 0, nil, &fieldError{Field: "after", Msg: strconv.Quote(v), Valid: "a trial number (the next of the previous page)", Status: 400}
		}
	}
	fts, err := s.store.Trials(ctx, rec.ID)
	if err != nil {
		return 0, nil, err
	}
	for _, ft := range fts {
		if ft.Number <= after || !keep(ft) {
			continue
		}
		if len(out.Trials) == limit {
			last := out.Trials[limit-1].Number
			out.Next = &last
			break
		}
		out.Trials = append(out.Trials, trialOf(ft))
	}
	return http.StatusOK, out, nil
}

func (s *Server) getTrial(c *call) (int, any, error) {
	n, err := number(c.r)
	if err != nil {
		return 0, nil, err
	}
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	rec, err := s.store.Study(ctx, c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	ft, err := s.store.Trial(ctx, rec.ID, n)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, trialOf(ft), nil
}

type bestResponse struct {
	Trials []trialJSON `json:"trials"`
}

// best returns the best trial (one objective) or the Pareto front (several).
func (s *Server) best(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	b, err := s.open(ctx, c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	fts, err := b.study.BestTrials(ctx)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, bestResponse{Trials: trialsOf(fts)}, nil
}

type suggestRequest struct {
	Epoch        int64        `json:"epoch"`
	Name         string       `json:"name"`
	Distribution *distRequest `json:"distribution"`
}

// distRequest is a distribution as a request gives it.
type distRequest struct {
	Type    string   `json:"type"`
	Low     *float64 `json:"low,omitempty"`
	High    *float64 `json:"high,omitempty"`
	Log     bool     `json:"log,omitempty"`
	Step    *float64 `json:"step,omitempty"`
	Choices []any    `json:"choices,omitempty"`
}

func (r *suggestRequest) Validate() error {
	if r.Epoch < 1 {
		return invalid("epoch", "the lease epoch the ask returned (>= 1)", "missing or %d", r.Epoch)
	}
	if err := retune.ValidateName("param", r.Name); err != nil {
		return invalid("name", "1 to 256 printable characters", "invalid param name")
	}
	if r.Distribution == nil {
		return invalid("distribution", `{"type":"float"|"int"|"categorical", …}`, "missing")
	}
	_, err := r.Distribution.distribution()
	return err
}

// distribution builds the distribution and validates it.
func (d *distRequest) distribution() (retune.Distribution, error) {
	var out retune.Distribution
	switch d.Type {
	case "float", "int":
		if d.Low == nil || d.High == nil || d.Choices != nil {
			return nil, invalid("distribution", "low and high (and optionally log, step)", "a %s distribution without low or high", d.Type)
		}
		if d.Type == "float" {
			f := retune.FloatDistribution{Low: *d.Low, High: *d.High, Log: d.Log}
			if d.Step != nil {
				f.Step = *d.Step
			}
			out = f
			break
		}
		lo, hi, step := *d.Low, *d.High, 1.0
		if d.Step != nil {
			step = *d.Step
		}
		if lo != math.Trunc(lo) || hi != math.Trunc(hi) || step != math.Trunc(step) || math.Abs(lo) > 1<<53 || math.Abs(hi) > 1<<53 || step < 1 || step > 1<<53 {
			return nil, invalid("distribution", "whole numbers low, high and step (step >= 1) for an int", "low %v, high %v, step %v", lo, hi, step)
		}
		out = retune.IntDistribution{Low: int64(lo), High: int64(hi), Log: d.Log, Step: int64(step)}
	case "categorical":
		if len(d.Choices) == 0 || d.Low != nil || d.High != nil || d.Step != nil || d.Log {
			return nil, invalid("distribution", "choices only, at least one", "a categorical distribution without choices")
		}
		out = retune.CategoricalDistribution{Choices: d.Choices}
	default:
		return nil, invalid("distribution.type", "float, int or categorical", "%q", d.Type)
	}
	if err := out.Validate(); err != nil {
		return nil, invalid("distribution", "a valid distribution", "%s", cut(err))
	}
	return out, nil
}

type suggestResponse struct {
	Name  string `json:"name"`
	Value any    `json:"value"`
}

// suggest draws one param of a running trial (define-by-run): the value the trial has
// for it, an enqueued value, or the sampler's. It is stored at once, fenced by the epoch.
func (s *Server) suggest(c *call) (int, any, error) {
	n, req, b, err := onTrial[suggestRequest](s, c)
	if err != nil {
		return 0, nil, err
	}
	d, _ := req.Distribution.distribution()
	ctx := c.r.Context()
	t, err := b.study.Reopen(ctx, n, req.Epoch)
	if err != nil {
		return 0, nil, err
	}
	v := t.Suggest(req.Name, d)
	if err := t.Err(); err != nil {
		if errors.Is(err, retune.ErrInvalid) {
			return 0, nil, invalid("distribution", "the distribution the trial has for "+strconv.Quote(req.Name), "%s", cut(err))
		}
		return 0, nil, err
	}
	if err := t.Flush(ctx); err != nil {
		return 0, nil, err
	}
	return http.StatusOK, suggestResponse{Name: req.Name, Value: v}, nil
}

type trialLogJSON struct {
	Head    string    `json:"head"`
	Tail    string    `json:"tail"`
	Size    int64     `json:"size"`
	Omitted int64     `json:"omitted"`
	Time    time.Time `json:"time"`
}

// trialLog serves the stored head and tail of a trial's log.
func (s *Server) trialLog(c *call) (int, any, error) {
	if _, err := query(c.r); err != nil {
		return 0, nil, err
	}
	n, err := number(c.r)
	if err != nil {
		return 0, nil, err
	}
	ctx := c.r.Context()
	rec, err := s.store.Study(ctx, c.r.PathValue("study"))
	if err != nil {
		return 0, nil, err
	}
	ls, ok := s.store.(retune.LogStore)
	if !ok {
		return 0, nil, fmt.Errorf("%w: storage %T keeps no trial logs", retune.ErrInvalid, s.store)
	}
	l, err := ls.TrialLog(ctx, rec.ID, n)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, trialLogJSON{Head: string(l.Head), Tail: string(l.Tail), Size: l.Size,
		Omitted: l.Size - int64(len(l.Head)+len(l.Tail)), Time: l.Time}, nil
}

// putTrialLog stores the head and tail of a running trial's log, fenced by its lease.
func (s *Server) putTrialLog(c *call) (int, any, error) {
	n, req, b, err := onTrial[logRequest](s, c)
	if err != nil {
		return 0, nil, err
	}
	ls, ok := s.store.(retune.LogStore)
	if !ok {
		return 0, nil, fmt.Errorf("%w: storage %T keeps no trial logs", retune.ErrInvalid, s.store)
	}
	ref := retune.TrialRef{StudyID: b.study.Record().ID, Number: n, Epoch: req.Epoch}
	if err := ls.PutLog(c.r.Context(), ref, retune.TrialLog{Head: []byte(req.Head), Tail: []byte(req.Tail), Size: req.Size}); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

// valuesWanted says how many values a study with n objectives takes.
func valuesWanted(n int) string {
	if n == 1 {
		return "1 value, for the study's one objective"
	}
	return fmt.Sprintf("%d values, one per objective", n)
}
