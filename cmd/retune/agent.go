package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/a6b40afc/retune/agent"
	"github.com/a6b40afc/retune/config"
	"github.com/a6b40afc/retune/runner"
)

// runAgent runs a study's trials from a retune serve on this machine (package agent).
func runAgent(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("agent")
	serverURL := fs.String("server", "", "the retune serve to work for, e.g. http://10.0.0.5:8080 (default $RETUNE_SERVER); the token comes from $RETUNE_TOKEN")
	slots := fs.Int("slots", 0, "trials at once (default 1, or one per --gpus-per-trial devices of --gpus)")
	gpus := fs.String("gpus", "", "devices to share among the slots, e.g. 0,1,2,3: each trial gets its own through CUDA_VISIBLE_DEVICES")
	perTrial := fs.Int("gpus-per-trial", 1, "devices of --gpus per trial")
	maxTrials := fs.Int("max-trials", 0, "stop after this many trials (default: no limit)")
	idleExit := fs.Duration("idle-exit", 0, "exit once there has been nothing to run for this long, e.g. 5m (default: keep waiting)")
	poll := fs.Duration("poll", time.Second, "how often an idle slot asks again")
	logDir := fs.String("log-dir", "", "where trial logs go (default $RETUNE_LOG_DIR, the study file's log_dir, else retune-logs)")
	grace := fs.Duration("kill-grace", runner.DefaultKillGrace, "time between SIGTERM and SIGKILL when a trainer is stopped")
	lease := fs.Duration("lease", 0, "lease asked for each trial, within the server's --lease-min and --lease-max (default: the server's --lease-ttl); an outage longer than it makes results late tells")
	spool := fs.String("spool", "", "where finished results wait until the server has them (default: spool in the log folder); \"none\" keeps none")
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	if *serverURL == "" {
		*serverURL = m.Getenv("RETUNE_SERVER")
	}
	token := m.Getenv("RETUNE_TOKEN")
	switch {
	case *serverURL == "":
		return usagef("agent: want --server URL (or RETUNE_SERVER)")
	case token == "":
		return usagef("agent: want a run token in RETUNE_TOKEN (retune tokens create --scope run)")
	case *slots < 0 || *maxTrials < 0 || *idleExit < 0 || *poll <= 0 || *perTrial < 1 || *grace <= 0 || *lease < 0:
		return usagef("agent: --slots, --max-trials, --idle-exit and --lease must be >= 0, --poll and --kill-grace > 0, --gpus-per-trial >= 1")
	}
	cfg, err := config.Load(pos[0])
	if err != nil {
		return err
	}
	var devices []string
	if *gpus != "" {
		for _, d := range strings.Split(*gpus, ",") {
			if d = strings.TrimSpace(d); d != "" {
				devices = append(devices, d)
			}
		}
		if *slots == 0 {
			*slots = len(devices) / *perTrial
		}
		if *slots == 0 || *slots**perTrial > len(devices) {
			return usagef("agent: %d slots of %d devices need %d devices; --gpus gives %d", max(*slots, 1), *perTrial, max(*slots, 1)**perTrial, len(devices))
		}
	}
	logs := m.logDir(*logDir, cfg.LogDir, "")
	switch *spool {
	case "":
		*spool = filepath.Join(logs, "spool")
	case "none":
		*spool = ""
	}
	cmd := &runner.Command{
		Args: cfg.Command, Dir: cfg.Dir, Objectives: cfg.Metrics(), Study: cfg.Name,
		LogDir: logs, Secrets: append(cfg.Secrets(), "RETUNE_TOKEN", "RETUNE_SERVER"), KillGrace: *grace,
		StepKeys: cfg.StepKeys, Absent: cfg.Absent(),
		ExpectSteps: cfg.PrunerSpec.Name != "" && cfg.PrunerSpec.Name != "none",
		WarnFunc:    func(msg string) { fmt.Fprintln(m.Stderr, "retune agent: warning:", msg) },
	}
	keys := make([]string, 0, len(cfg.Env))
	for k := range cfg.Env {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		cmd.Env = append(cmd.Env, k+"="+cfg.Env[k])
	}
	if err := cmd.Check(); err != nil {
		return usagef("%s: %v", cfg.Path, err)
	}
	o := agent.Options{Server: *serverURL, Token: token, Study: cfg, Command: cmd, Slots: *slots, MaxTrials: *maxTrials,
		IdleExit: *idleExit, Poll: *poll, Spool: *spool, Lease: *lease,
		Logf: func(format string, args ...any) { fmt.Fprintf(m.Stderr, "retune agent: "+format+"\n", args...) }}
	if devices != nil {
		o.SlotEnv = func(slot int) []string {
			return []string{"CUDA_VISIBLE_DEVICES=" + strings.Join(devices[slot**perTrial:(slot+1)**perTrial], ",")}
		}
	}
	fmt.Fprintf(m.Stderr, "retune agent: running study %s from %s with %d slot(s) (pid %d)\n", cfg.Name, *serverURL, max(o.Slots, 1), os.Getpid())
	st, err := agent.Run(ctx, o)
	fmt.Fprintf(m.Stderr, "retune agent: ran %d trials (%d complete, %d pruned, %d failed, %d confirmation repeats)\n", st.Trials, st.Complete, st.Pruned, st.Failed, st.Confirm)
	if ctx.Err() != nil {
		return errInterrupted
	}
	return err
}
