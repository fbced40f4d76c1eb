// Package agent runs a study's trials, served by `retune serve`, on this machine: the
// command of `retune agent --server URL study.yaml`. The machine needs the server's URL
// and a run token (RETUNE_TOKEN, which trainers never see), not the database. The command
// comes from the local study file, next to the trainer's code; the server's stored
// definition must agree with the file's objectives and search space, or the agent refuses
// to start and shows the difference.
//
// Each of Options.Slots loops: ask a trial (or, once the study's budget is spent, a
// confirmation repeat the server's leader enqueued), run the trainer with the same runner
// as `retune run` (process group, log, metric lines and file, timeouts), send its
// intermediate values in batches — the prune decision comes back with each batch's answer
// — renew the lease every third of its term while it runs (a stop request comes back on a
// heartbeat), upload the head and tail of its log, and tell the outcome. With nothing to
// ask, a slot waits and asks again every Options.Poll, and the agent exits once all slots
// have waited Options.IdleExit. Interrupted (ctx ends), an agent tells nothing for its
// running trials: their leases expire and the server re-runs them.
//
// The server out of reach stops no trainer: heartbeats and reports are retried, steps
// wait for the next batch, and results wait in the spool. An outage longer than the lease
// (Options.Lease) makes the server expire the trials; their results then arrive as late
// tells, which revive a trial whose re-run has not started or are kept as late records.
package agent

import (
	"bytes"
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/runner"
)

// Options configure an agent.
type Options struct {
	Server string        // the server's base URL: http://host:port
	Token  string        // a run token
	Study  *config.Study // the local study file
	// Command runs the trainer (built from Study by the caller, as `retune run` builds it).
	Command *runner.Command
	Slots   int // trials at once; default 1
	// MaxTrials stops the agent after it has run this many trials (0: no limit).
	MaxTrials int
	// IdleExit ends the agent once every slot has found nothing to run for this long
	// (0: never).
	IdleExit time.Duration
	// Poll is how often an idle slot asks again; default 1s.
	Poll time.Duration
	// SlotEnv gives slot i's trainers more environment (CUDA_VISIBLE_DEVICES=…); nil: none.
	SlotEnv func(slot int) []string
	// Spool is the folder that keeps finished results until the server has them (see
	// spool.go); "" keeps none (a result the server cannot take within a minute is lost).
	Spool string
	// Lease is the lease asked for each trial (within the server's bounds); 0: the
	// server's default. Heartbeats renew it every third of its term, so a trial survives
	// a server or network outage of up to about two thirds of it; a longer one fails the
	// trial on the server, and its result arrives as a late tell (see retune's late.go).
	Lease time.Duration
	HTTP  *http.Client
	Logf  func(format string, args ...any) // nil: silent
}

// Stats say what an agent did.
type Stats struct {
	Trials, Complete, Pruned, Failed, Confirm int
}

// errIdle says a slot found nothing to ask.
var errIdle = errors.New("nothing to run")

// Run runs the agent until the work ends (IdleExit, MaxTrials) or ctx does.
func Run(ctx context.Context, o Options) (Stats, error) {
	if o.Slots <= 0 {
		o.Slots = 1
	}
	if o.Poll <= 0 {
		o.Poll = time.Second
	}
	if o.HTTP == nil {
		o.HTTP = &http.Client{Timeout: 60 * time.Second}
	}
	a := &agent{o: o, base: strings.TrimSuffix(o.Server, "/") + "/api/v1/studies/" + url.PathEscape(o.Study.Name)}
	host, _ := os.Hostname()
	a.id = fmt.Sprintf("%s/%d/%s", host, os.Getpid(), newKey()[len("agent-"):][:8])
	if err := a.checkDefinition(ctx); err != nil {
		return Stats{}, err
	}
	if o.Spool != "" {
		a.stopOrphans(o.Command.KillGrace)
		if err := a.flushSpool(ctx); err != nil { // results an earlier agent could not deliver
			return Stats{}, err
		}
	}
	var wg sync.WaitGroup
	rctx, stopReports := context.WithCancel(ctx)
	reported := make(chan struct{})
	go func() {
		defer close(reported)
		a.report(rctx)
	}()
	defer func() { stopReports(); <-reported }()
	errs := make(chan error, o.Slots)
	for slot := range o.Slots {
		wg.Go(func() {
			if err := a.slot(ctx, slot); err != nil && ctx.Err() == nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	a.mu.Lock()
	st := a.stats
	a.mu.Unlock()
	return st, <-errs
}

type agent struct {
	o       Options
	base    string
	id      string
	running atomic.Int64 // trials running now
	started atomic.Int64 // trials this agent has asked
	mu      sync.Mutex
	stats   Stats
}

func (a *agent) logf(format string, args ...any) {
	if a.o.Logf != nil {
		a.o.Logf(format, args...)
	}
}

// checkDefinition refuses a study whose stored definition means other trials than the
// local file's.
func (a *agent) checkDefinition(ctx context.Context) error {
	var st struct {
		Definition json.RawMessage `json:"definition"`
	}
	if err := a.call(ctx, "GET", "", nil, &st); err != nil {
		return fmt.Errorf("agent: study %q on %s: %w", a.o.Study.Name, a.o.Server, err)
	}
	if len(st.Definition) == 0 {
		return fmt.Errorf("%w: study %q on %s has no stored definition: create it from its study file (retune run, or POST /api/v1/studies)", retune.ErrConflict, a.o.Study.Name, a.o.Server)
	}
	stored, err := config.ParseDefinition("the server's definition of "+a.o.Study.Name, st.Definition)
	if err != nil {
		return err
	}
	if d := config.DefinitionDiff(stored, a.o.Study); d != "" {
		return fmt.Errorf("%w: %s differs from the server's study %q: %s", retune.ErrConflict, a.o.Study.Path, a.o.Study.Name, d)
	}
	return nil
}

// slot runs trials one after another until the work ends.
func (a *agent) slot(ctx context.Context, slot int) error {
	idleSince := time.Time{}
	for ctx.Err() == nil {
		if a.o.MaxTrials > 0 && a.started.Add(1) > int64(a.o.MaxTrials) {
			return nil
		}
		err := a.runOne(ctx, slot)
		switch {
		case errors.Is(err, errIdle):
			if a.o.MaxTrials > 0 {
				a.started.Add(-1)
			}
			if idleSince.IsZero() {
				idleSince = time.Now()
			}
			if a.o.IdleExit > 0 && time.Since(idleSince) >= a.o.IdleExit {
				return nil
			}
			select {
			case <-ctx.Done():
			case <-time.After(a.o.Poll):
			}
		case err != nil:
			return err
		default:
			idleSince = time.Time{}
		}
	}
	return nil
}

// report tells the server about this agent (retune agents lists it) at once and every
// 15 s until ctx ends; a report not taken within 10 s is left for the next one.
func (a *agent) report(ctx context.Context) {
	host, _ := os.Hostname()
	for {
		body := map[string]any{"id": a.id, "host": host, "pid": os.Getpid(), "study": a.o.Study.Name,
			"slots": a.o.Slots, "running": a.running.Load()}
		_ = a.callURL(ctx, "POST", strings.TrimSuffix(a.o.Server, "/")+"/api/v1/agents", body, nil, newKey(), 10*time.Second)
		select {
		case <-ctx.Done():
			return
		case <-time.After(15 * time.Second):
		}
	}
}

// withLease adds the lease the agent asks for to the body of an ask or heartbeat.
func (a *agent) withLease(body map[string]any) map[string]any {
	if a.o.Lease > 0 {
		body["lease_seconds"] = a.o.Lease.Seconds()
	}
	return body
}

// askAnswer is the API's answer to an ask.
type askAnswer struct {
	Number       int            `json:"number"`
	Epoch        int64          `json:"epoch"`
	Params       map[string]any `json:"params"`
	LeaseSeconds float64        `json:"lease_seconds"`
	Kind         string         `json:"kind"`
	Repeat       *int           `json:"repeat"`
	Seed         string         `json:"seed"`
}

// runOne asks a trial (or a confirmation repeat) and runs it; errIdle when there is none.
func (a *agent) runOne(ctx context.Context, slot int) error {
	var q askAnswer
	err := a.call(ctx, "POST", "/trials", a.withLease(map[string]any{}), &q)
	var pe *problemError
	if errors.As(err, &pe) && pe.Status == http.StatusConflict && (strings.HasSuffix(pe.Type, "budget-exhausted") || strings.HasSuffix(pe.Type, "grid-exhausted")) {
		err = a.call(ctx, "POST", "/trials", a.withLease(map[string]any{"kind": "confirm"}), &q)
		if errors.As(err, &pe) && pe.Status == http.StatusNotFound {
			return errIdle
		}
	}
	if err != nil {
		return err
	}
	env := []string{}
	if a.o.SlotEnv != nil {
		env = append(env, a.o.SlotEnv(slot)...)
	}
	if q.Kind == "confirm" && q.Repeat != nil {
		env = append(env, "RETUNE_REPEAT="+strconv.Itoa(*q.Repeat), "RETUNE_SEED="+q.Seed)
	}
	t := &remoteTrial{a: a, number: q.Number, epoch: q.Epoch, stopped: make(chan struct{}), metrics: map[string]float64{}}
	hctx, stopBeats := context.WithCancel(ctx)
	beats := make(chan struct{})
	go func() {
		defer close(beats)
		t.heartbeat(hctx, time.Duration(q.LeaseSeconds*float64(time.Second))/3)
	}()
	a.running.Add(1)
	values, runErr := a.o.Command.Run(ctx, t, q.Params, env...)
	a.running.Add(-1)
	a.doneRunning(q.Number)
	stopBeats()
	<-beats
	if ctx.Err() != nil {
		return nil // interrupted: the lease expires and the server re-runs the trial
	}
	t.flushPending(ctx)
	body := map[string]any{"epoch": q.Epoch, "metrics": floatsMap(t.metricsCopy())}
	switch {
	case runErr == nil:
		body["values"] = encodeFloats(values)
	case errors.Is(runErr, retune.ErrPruned):
		body["state"] = "PRUNED"
	default:
		body["state"], body["reason"] = "FAIL", cutReason(runErr.Error())
	}
	if err := a.tell(ctx, q.Number, q.Epoch, body); err != nil {
		return fmt.Errorf("agent: tell trial %d: %w", q.Number, err)
	}
	a.mu.Lock()
	a.stats.Trials++
	switch {
	case q.Kind == "confirm":
		a.stats.Confirm++
	case runErr == nil:
		a.stats.Complete++
	case errors.Is(runErr, retune.ErrPruned):
		a.stats.Pruned++
	default:
		a.stats.Failed++
	}
	a.mu.Unlock()
	a.logf("trial %d %s", q.Number, outcome(runErr))
	return nil
}

func outcome(err error) string {
	switch {
	case err == nil:
		return "COMPLETE"
	case errors.Is(err, retune.ErrPruned):
		return "PRUNED"
	}
	first, _, _ := strings.Cut(err.Error(), "\n")
	return "FAIL: " + first
}

// remoteTrial is a trial of the server, as the runner sees it.
type remoteTrial struct {
	a        *agent
	number   int
	epoch    int64
	stopped  chan struct{}
	stopOnce sync.Once
	mu       sync.Mutex
	metrics  map[string]float64
	pending  []retune.StepValues // steps not yet delivered (ReportMany)
	// leaseLost: the server answered that the trial is no longer RUNNING under this
	// lease; reports stop, the trainer runs on.
	leaseLost bool
}

func (t *remoteTrial) Number() int { return t.number }

// ReportMany sends the batch in one request (with any steps an earlier batch could not
// deliver); the answer carries the prune decision. The server being out of reach does
// not stop the trainer: the steps wait for the next batch (at most maxPending of them are
// kept), for the trial's result is worth more than its curve. Once the server says the
// lease is gone (the outage outlasted it), steps are no longer sent and the trainer
// runs on: its result will be a late tell.
func (t *remoteTrial) ReportMany(ctx context.Context, steps []retune.StepValues) error {
	t.mu.Lock()
	if t.leaseLost {
		t.mu.Unlock()
		return nil
	}
	t.pending = append(t.pending, steps...)
	if over := len(t.pending) - maxPending; over > 0 {
		t.pending = slices.Delete(t.pending, 0, over)
	}
	send := slices.Clone(t.pending)
	t.mu.Unlock()
	batch := make([]map[string]any, len(send))
	for i, sv := range send {
		batch[i] = map[string]any{"step": sv.Step, "values": encodeFloats(sv.Values)}
	}
	var ans struct {
		Prune bool `json:"prune"`
	}
	err := t.a.callKey(ctx, "POST", fmt.Sprintf("/trials/%d/report", t.number), map[string]any{"epoch": t.epoch, "steps": batch}, &ans, newKey(), reportRetry)
	var pe *problemError
	switch {
	case errors.As(err, &pe) && pe.Status == http.StatusConflict:
		t.mu.Lock()
		t.leaseLost, t.pending = true, nil
		t.mu.Unlock()
		t.a.logf("trial %d: the server no longer holds its lease (%s): running on, the result will be told late", t.number, pe.Detail)
		return nil
	case errors.As(err, &pe):
		return fmt.Errorf("trial %d: report: %w", t.number, err)
	case err != nil:
		if ctx.Err() == nil {
			t.a.logf("trial %d: report: %v (the steps wait for the next batch)", t.number, err)
		}
		return nil
	}
	t.mu.Lock()
	t.pending = t.pending[len(send):]
	t.mu.Unlock()
	if ans.Prune {
		return fmt.Errorf("trial %d pruned at step %d: %w", t.number, steps[len(steps)-1].Step, retune.ErrPruned)
	}
	return nil
}

// flushPending sends the steps that still wait (the server was out of reach for the
// last batches), once, before the outcome is told; the prune answer no longer matters.
func (t *remoteTrial) flushPending(ctx context.Context) {
	t.mu.Lock()
	send := t.pending
	t.pending = nil
	lost := t.leaseLost
	t.mu.Unlock()
	if len(send) == 0 || lost {
		return
	}
	batch := make([]map[string]any, len(send))
	for i, sv := range send {
		batch[i] = map[string]any{"step": sv.Step, "values": encodeFloats(sv.Values)}
	}
	if err := t.a.callKey(ctx, "POST", fmt.Sprintf("/trials/%d/report", t.number), map[string]any{"epoch": t.epoch, "steps": batch}, nil, newKey(), reportRetry); err != nil {
		t.a.logf("trial %d: %d steps not delivered: %v", t.number, len(send), err)
	}
}

// A report the server cannot take is retried this long before its steps wait for the
// next batch; at most maxPending steps wait.
const (
	reportRetry = 5 * time.Second
	maxPending  = 10000
)

func (t *remoteTrial) SetMetric(name string, value float64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.metrics[name] = value
}

func (t *remoteTrial) metricsCopy() map[string]float64 {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make(map[string]float64, len(t.metrics))
	for k, v := range t.metrics {
		out[k] = v
	}
	return out
}

// SetSystemAttr keeps the trainer's process group in the spool folder (so that the next
// agent stops it if this one dies: stopOrphans); the host and log path stay on this
// machine.
func (t *remoteTrial) SetSystemAttr(key string, value any) {
	if pgid, ok := value.(int); ok && key == "pgid" {
		t.a.recordRunning(t.number, pgid)
	}
}

func (t *remoteTrial) Flush(context.Context) error { return nil }

func (t *remoteTrial) Stopped() <-chan struct{} { return t.stopped }

// PutLog uploads the head and tail of the trial's log.
func (t *remoteTrial) PutLog(ctx context.Context, l retune.TrialLog) error {
	return t.a.call(ctx, "PUT", fmt.Sprintf("/trials/%d/log", t.number),
		map[string]any{"epoch": t.epoch, "head": string(l.Head), "tail": string(l.Tail), "size": l.Size}, nil)
}

// heartbeat renews the lease every interval until ctx ends; a stop request closes stopped.
func (t *remoteTrial) heartbeat(ctx context.Context, every time.Duration) {
	if every <= 0 {
		every = 10 * time.Second
	}
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		var ans struct {
			Stop bool `json:"stop"`
		}
		err := t.a.call(ctx, "POST", fmt.Sprintf("/trials/%d/heartbeat", t.number), t.a.withLease(map[string]any{"epoch": t.epoch}), &ans)
		var pe *problemError
		switch {
		case errors.As(err, &pe) && pe.Status == http.StatusConflict:
			t.a.logf("trial %d: heartbeat: the server no longer holds its lease (%s): running on, the result will be told late", t.number, pe.Detail)
			return
		case err != nil:
			if ctx.Err() == nil {
				t.a.logf("trial %d: heartbeat: %v", t.number, err)
			}
			continue
		}
		if ans.Stop {
			t.stopOnce.Do(func() { close(t.stopped) })
		}
	}
}

// problemError is an API error answer (RFC 9457).
type problemError struct {
	Status int
	Type   string `json:"type"`
	Title  string `json:"title"`
	Detail string `json:"detail"`
}

func (e *problemError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Title, e.Detail)
}

// call sends a request to the study's routes (path after the study) and decodes the
// answer into out; transient failures (no connection, 5xx) are retried with backoff for
// up to a minute, with an idempotency key so a retried write takes effect once.
func (a *agent) call(ctx context.Context, method, path string, body, out any) error {
	return a.callKey(ctx, method, path, body, out, newKey(), time.Minute)
}

// callKey is call with the idempotency key of a POST and how long to retry.
func (a *agent) callKey(ctx context.Context, method, path string, body, out any, key string, retryFor time.Duration) error {
	return a.callURL(ctx, method, a.base+path, body, out, key, retryFor)
}

// callURL is callKey for any URL of the server.
func (a *agent) callURL(ctx context.Context, method, target string, body, out any, key string, retryFor time.Duration) error {
	var raw []byte
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			return err
		}
	}
	backoff := 100 * time.Millisecond
	deadline := time.Now().Add(retryFor)
	for {
		req, err := http.NewRequestWithContext(ctx, method, target, bytes.NewReader(raw))
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+a.o.Token)
		if body != nil {
			req.Header.Set("Content-Type", "application/json")
			if method == "POST" {
				req.Header.Set("Idempotency-Key", key)
			}
		}
		resp, err := a.o.HTTP.Do(req)
		var rb []byte
		if err == nil {
			rb, err = io.ReadAll(io.LimitReader(resp.Body, 16<<20))
			resp.Body.Close()
		}
		switch {
		case err == nil && resp.StatusCode < 300:
			if out != nil && len(rb) > 0 {
				return json.Unmarshal(rb, out)
			}
			return nil
		case err == nil && resp.StatusCode < 500 && !(resp.StatusCode == http.StatusConflict && bytes.Contains(rb, []byte("request-in-progress"))):
			pe := &problemError{Status: resp.StatusCode}
			_ = json.Unmarshal(rb, pe)
			return pe
		case ctx.Err() != nil:
			return ctx.Err()
		case time.Now().After(deadline):
			if err == nil {
				err = fmt.Errorf("%s %s: %d %s", method, target, resp.StatusCode, bytes.TrimSpace(rb))
			}
			return err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// newKey is a fresh idempotency key.
func newKey() string {
	var b [16]byte
	_, _ = crand.Read(b[:])
	return "agent-" + hex.EncodeToString(b[:])
}

func encodeFloats(vs []float64) []any {
	out := make([]any, len(vs))
	for i, v := range vs {
		out[i] = jsonFloat(v)
	}
	return out
}

func floatsMap(m map[string]float64) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = jsonFloat(v)
	}
	return out
}

// jsonFloat is v as the API takes it: a number, or "inf", "-inf", "nan".
func jsonFloat(v float64) any {
	switch {
	case math.IsNaN(v):
		return "nan"
	case math.IsInf(v, 1):
		return "inf"
	case math.IsInf(v, -1):
		return "-inf"
	}
	return v
}

func cutReason(s string) string {
	if len(s) > 4000 {
		return s[:4000]
	}
	return s
}
