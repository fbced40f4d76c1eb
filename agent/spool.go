package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune/runner"
)

// The spool keeps every finished result until the server has it. Before its tell is sent,
// a result is written to Options.Spool (one file per trial, fsynced, renamed into place);
// the file goes when the server has taken the tell — or has definitively refused it, and
// then it moves to Spool/refused with the server's answer, so that no result disappears
// unseen. A tell the server cannot be reached for stays and is sent again with backoff and
// jitter while the agent runs, and by the next agent started on the spool. Each file keeps
// the tell's idempotency key, so a tell whose answer was lost takes effect once.

// spooled is one spooled tell.
type spooled struct {
	Server string         `json:"server"`
	Study  string         `json:"study"`
	Trial  int            `json:"trial"`
	Epoch  int64          `json:"epoch"`
	Key    string         `json:"key"`
	Body   map[string]any `json:"body"`
	Since  time.Time      `json:"since"`
}

// tell tells a finished trial, through the spool when there is one.
func (a *agent) tell(ctx context.Context, number int, epoch int64, body map[string]any) error {
	path := fmt.Sprintf("/trials/%d/tell", number)
	if a.o.Spool == "" {
		return a.call(context.WithoutCancel(ctx), "POST", path, body, nil)
	}
	sp := spooled{Server: a.o.Server, Study: a.o.Study.Name, Trial: number, Epoch: epoch, Key: newKey(), Body: body, Since: time.Now().UTC()}
	file, err := a.writeSpool(sp)
	if err != nil {
		return fmt.Errorf("spool the result: %w", err)
	}
	if err := a.send(context.WithoutCancel(ctx), file, sp, 30*time.Second); err != nil {
		a.logf("trial %d: the server did not take the result (%v); it stays in %s and is sent again", number, err, file)
		go a.resend(ctx, file, sp)
	}
	return nil
}

// send tells a spooled result and removes its file once the server has answered for good.
func (a *agent) send(ctx context.Context, file string, sp spooled, retryFor time.Duration) error {
	var told struct {
		Number      int            `json:"number"`
		Kind        string         `json:"kind"`
		SystemAttrs map[string]any `json:"system_attrs"`
	}
	err := a.callKey(ctx, "POST", fmt.Sprintf("/trials/%d/tell", sp.Trial), sp.Body, &told, sp.Key, retryFor)
	var pe *problemError
	switch {
	case err == nil:
		switch {
		case told.Kind == "late":
			a.logf("trial %d: told late (its lease had expired and its re-run started): kept as late trial %d, outside the budget", sp.Trial, told.Number)
		case told.SystemAttrs["late"] == true:
			a.logf("trial %d: told late (its lease had expired): the trial is revived with this result", sp.Trial)
		}
		return os.Remove(file)
	case errors.As(err, &pe) && pe.Status != http.StatusTooManyRequests:
		// Refused for good (a study that is gone, a trial another holder took): keep it visible.
		a.logf("trial %d: the server refused the result: %v; kept in %s", sp.Trial, pe, filepath.Join(a.o.Spool, "refused"))
		return a.refuse(file, pe)
	}
	return err
}

// resend keeps sending a spooled result, with backoff and jitter, until the server has
// answered or ctx ends (the next agent on the spool sends it then).
func (a *agent) resend(ctx context.Context, file string, sp spooled) {
	wait := time.Second
	for ctx.Err() == nil {
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait/2 + rand.N(wait)):
		}
		if err := a.send(ctx, file, sp, 30*time.Second); err == nil || ctx.Err() != nil {
			return
		}
		wait = min(2*wait, time.Minute)
	}
}

// flushSpool sends the results an earlier agent left in the spool for this study and
// server, before this agent asks for work.
func (a *agent) flushSpool(ctx context.Context) error {
	if err := os.MkdirAll(a.o.Spool, 0o700); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	entries, err := os.ReadDir(a.o.Spool)
	if err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".tell.json") {
			continue
		}
		file := filepath.Join(a.o.Spool, e.Name())
		raw, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("spool: %w", err)
		}
		var sp spooled
		if err := json.Unmarshal(raw, &sp); err != nil {
			a.logf("spool: %s is not a spooled result (%v): left alone", file, err)
			continue
		}
		if sp.Server != a.o.Server || sp.Study != a.o.Study.Name {
			continue // another study's: its agent sends it
		}
		if err := a.send(ctx, file, sp, time.Minute); err != nil {
			a.logf("trial %d: the spooled result is not taken yet (%v); sent again later", sp.Trial, err)
			go a.resend(ctx, file, sp)
			continue
		}
		a.logf("trial %d: spooled result delivered", sp.Trial)
	}
	return nil
}

// writeSpool writes sp durably: a temporary file, fsynced, renamed into place, and the
// folder fsynced.
func (a *agent) writeSpool(sp spooled) (string, error) {
	if err := os.MkdirAll(a.o.Spool, 0o700); err != nil {
		return "", err
	}
	raw, err := json.Marshal(sp)
	if err != nil {
		return "", err
	}
	name := fmt.Sprintf("%s-%d-%d.tell.json", runner.PathName(sp.Study), sp.Trial, sp.Epoch)
	file := filepath.Join(a.o.Spool, name)
	tmp, err := os.CreateTemp(a.o.Spool, ".tmp-*")
	if err != nil {
		return "", err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(raw)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return "", err
	}
	if err := os.Rename(tmp.Name(), file); err != nil {
		return "", err
	}
	if d, err := os.Open(a.o.Spool); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return file, nil
}

// refuse moves a refused result to Spool/refused, with the server's answer beside it.
func (a *agent) refuse(file string, pe *problemError) error {
	dir := filepath.Join(a.o.Spool, "refused")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	dst := filepath.Join(dir, filepath.Base(file))
	if err := os.WriteFile(strings.TrimSuffix(dst, ".json")+".answer.txt", []byte(pe.Error()+"\n"), 0o600); err != nil {
		return err
	}
	return os.Rename(file, dst)
}

// A running trainer's process group is recorded in Spool/running (one file per trial of
// this study) while it runs; an agent killed with SIGKILL leaves the files behind, and
// the next agent started on the spool stops those groups (runner.StopOrphan: only groups
// whose processes name this study and trial in their environment) before it asks for work.

func (a *agent) runningFile(number int) string {
	return filepath.Join(a.o.Spool, "running", fmt.Sprintf("%s-%d.pgid", runner.PathName(a.o.Study.Name), number))
}

func (a *agent) recordRunning(number, pgid int) {
	if a.o.Spool == "" {
		return
	}
	if err := os.MkdirAll(filepath.Join(a.o.Spool, "running"), 0o700); err == nil {
		_ = os.WriteFile(a.runningFile(number), []byte(strconv.Itoa(pgid)+"\n"), 0o600)
	}
}

func (a *agent) doneRunning(number int) {
	if a.o.Spool != "" {
		_ = os.Remove(a.runningFile(number))
	}
}

// stopOrphans stops the trainers an earlier agent on this spool left running.
func (a *agent) stopOrphans(grace time.Duration) {
	if grace <= 0 {
		grace = runner.DefaultKillGrace
	}
	prefix := runner.PathName(a.o.Study.Name) + "-"
	files, _ := filepath.Glob(filepath.Join(a.o.Spool, "running", "*.pgid"))
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".pgid")
		if !strings.HasPrefix(name, prefix) {
			continue // another study's
		}
		number, err1 := strconv.Atoi(strings.TrimPrefix(name, prefix))
		raw, err2 := os.ReadFile(f)
		pgid, err3 := strconv.Atoi(strings.TrimSpace(string(raw)))
		if err1 == nil && err2 == nil && err3 == nil && runner.StopOrphan(pgid, a.o.Study.Name, number, grace) {
			a.logf("trial %d: stopped the trainer an earlier agent left running (process group %d)", number, pgid)
		}
		_ = os.Remove(f)
	}
}
