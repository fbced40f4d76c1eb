package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/debug"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/specopt"
	"github.com/a6b40afc/retune/pruner"
	"github.com/a6b40afc/retune/retrain"
	"github.com/a6b40afc/retune/sampler"
	"github.com/a6b40afc/retune/storage"
)

// Exit codes.
const (
	ExitOK        = 0   // done
	ExitError     = 1   // a runtime failure: storage, I/O, a trainer that cannot start
	ExitUsage     = 2   // bad usage, an invalid study file or argument
	ExitAllFailed = 3   // every trial of the run failed
	ExitNotFound  = 4   // the study (or trial, model, decision) does not exist
	ExitConflict  = 5   // a champion promotion lost its compare-and-set
	ExitCooldown  = 6   // a champion promotion came within the cooldown of the previous one
	ExitInterrupt = 130 // stopped by SIGINT or SIGTERM
)

// Main is the CLI: its I/O and environment are fields so tests run it in-process.
type Main struct {
	Stdin          io.Reader
	Stdout, Stderr io.Writer
	Getenv         func(string) string
	// IsTerminal reports whether Stderr is a terminal (live progress line) or not (plain
	// log lines).
	IsTerminal bool

	retrySchedule []time.Duration // the event dispatchers' retry delays; nil: notify.DefaultSchedule
	helpAsked     bool            // -h or help COMMAND: usage goes to stdout
}

// NewMain returns a Main on the process's standard streams and environment.
func NewMain() *Main {
	return &Main{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv, IsTerminal: isTerminal(os.Stderr)}
}

func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// command is one subcommand.
type command struct {
	name, args, summary string
	run                 func(ctx context.Context, m *Main, args []string) error
}

func commands() []command {
	return []command{
		{"run", "STUDY.yaml", "run trials of the training command a study file describes (creates or resumes the study), once or on a schedule", runRun},
		{"studies", "", "list the studies in the database with their trial counts and best values", runStudies},
		{"trials", "STUDY", "list a study's trials", runTrials},
		{"best", "STUDY", "show a study's best trial (or its Pareto front)", runBest},
		{"importance", "STUDY", "show which params matter, by fANOVA or PED-ANOVA", runImportance},
		{"export", "STUDY", "write a study's trials as CSV or JSON", runExport},
		{"enqueue", "STUDY", "add a trial with fixed params; the next run claims it", runEnqueue},
		{"delete", "STUDY", "delete a study with its trials and logs", runDelete},
		{"champion", "set|show|history|promote MODEL", "manage a model's champion: the configuration in production", runChampion},
		{"decisions", "list [MODEL] | show ID", "list or show retraining decisions", runDecisions},
		{"events", "list | show ID | redeliver ID", "list the event outbox with each event's deliveries, show one with its attempts, or send one again", runEvents},
		{"notifiers", "[list | enable ID | disable ID | secret]", "show notifiers' health, enable or disable one, or make a webhook signing secret", runNotifiers},
		{"dispatch", "--config FILE", "deliver events to the notifiers the files define, retrying on schedule, until stopped", runDispatch},
		{"trigger", "MODEL", "ask the scheduler of a model (retune run --every) to re-tune it now", runTrigger},
		{"dashboard", "", "open the dashboard of a database in a browser: prints a one-time login link", runDashboard},
		{"serve", "", "serve the HTTP API (/api/v1) on the database: studies, asks and tells for any language", runServe},
		{"agent", "--server URL STUDY.yaml", "run a study's trials from a retune serve on this machine (token in RETUNE_TOKEN)", runAgent},
		{"agents", "", "list the agents the servers have seen, with their slots and running trials", runAgents},
		{"tokens", "create|list|revoke NAME", "manage the API's bearer tokens (shown once; only a hash is stored)", runTokens},
		{"migrate", "", "apply pending database migrations (run once before starting many workers)", runMigrate},
		{"version", "", "print retune's version", runVersion},
	}
}

// isHelp reports whether arg asks for help.
func isHelp(arg string) bool {
	return arg == "-h" || arg == "-help" || arg == "--help" || arg == "help"
}

// usageError marks errors that are the caller's: exit code 2.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// notFound is a not-found error whose message says it all (exit 4): the storage's wrapped
// "retune: not found" would only repeat it.
type notFound struct{ msg string }

func (e notFound) Error() string { return e.msg }
func (e notFound) Unwrap() error { return retune.ErrNotFound }

// errAllFailed is returned by run when every trial failed.
var errAllFailed = errors.New("every trial failed")

// Run runs the CLI with args (without the program name) and returns the exit code.
func (m *Main) Run(ctx context.Context, args []string) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" || args[0] == "-help" {
		if len(args) > 1 {
			switch args[1] {
			case "samplers":
				fmt.Fprint(m.Stdout, "Samplers (sampler: {name: NAME, OPTION: VALUE, …} in a study file):\n\n")
				specopt.Help(m.Stdout, sampler.Plugins())
				return ExitOK
			case "pruners":
				fmt.Fprint(m.Stdout, "Pruners (pruner: {name: NAME, OPTION: VALUE, …} in a study file):\n\n")
				specopt.Help(m.Stdout, pruner.Plugins())
				return ExitOK
			}
			return m.Run(ctx, []string{args[1], "-h"})
		}
		m.usage(m.Stdout)
		return ExitOK
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		m.helpAsked = slices.ContainsFunc(args[1:], func(a string) bool { return a == "-h" || a == "-help" || a == "--help" })
		if len(args) == 2 && isHelp(args[1]) {
			m.helpAsked = true
			if strings.Contains(c.args, "|") { // a command with subcommands
				fmt.Fprintf(m.Stdout, "Usage: retune %s %s\n\n%s.\n\nRun 'retune %s SUBCOMMAND -h' for a subcommand's flags.\n", c.name, c.args, capitalize(c.summary), c.name)
				return ExitOK
			}
		}
		err := c.run(ctx, m, args[1:])
		return m.exit(ctx, err)
	}
	fmt.Fprintf(m.Stderr, "retune: unknown command %q\n\n", args[0])
	m.usage(m.Stderr)
	return ExitUsage
}

func (m *Main) exit(ctx context.Context, err error) int {
	var ue usageError
	switch {
	case err == nil:
		return ExitOK
	case errors.Is(err, flag.ErrHelp):
		return ExitOK
	case errors.Is(err, errInterrupted):
		fmt.Fprintln(m.Stderr, "retune: interrupted")
		return ExitInterrupt
	case errors.As(err, &ue) || errors.Is(err, retune.ErrInvalid):
		fmt.Fprintln(m.Stderr, "retune:", errText(err))
		return ExitUsage
	case errors.As(err, new(versionConflict)):
		fmt.Fprintln(m.Stderr, "retune:", errText(err))
		return ExitConflict
	case errors.Is(err, retrain.ErrCooldown):
		fmt.Fprintln(m.Stderr, "retune:", errText(err), "(--force promotes anyway)")
		return ExitCooldown
	case errors.Is(err, errAllFailed):
		fmt.Fprintln(m.Stderr, "retune:", errText(err))
		return ExitAllFailed
	case errors.Is(err, retune.ErrNotFound):
		fmt.Fprintln(m.Stderr, "retune:", errText(err))
		return ExitNotFound
	case ctx.Err() != nil:
		fmt.Fprintln(m.Stderr, "retune: interrupted:", errText(err))
		return ExitInterrupt
	}
	fmt.Fprintln(m.Stderr, "retune:", errText(err))
	return ExitError
}

// errText is err's message for a line that starts with "retune: ": without the "retune: "
// that errors wrapping a retune sentinel first (retune.ErrInvalid: "retune: invalid: …")
// begin with.
func errText(err error) string {
	return strings.TrimPrefix(err.Error(), "retune: ")
}

var errInterrupted = errors.New("interrupted")

func (m *Main) usage(w io.Writer) {
	fmt.Fprint(w, `retune tunes hyperparameters of any training command and keeps its studies in a database.

Usage:
  retune COMMAND [flags] [args]

Commands:
`)
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-9s %s\n", c.name, c.summary)
	}
	fmt.Fprint(w, `
Every command takes --db DSN: a SQLite file (default retune.db), sqlite:///path.db,
postgres://user@host/db or memory. Environment: RETUNE_DB, RETUNE_LOG_DIR; flags win over the
environment, which wins over the study file.

Exit codes: 0 done, 1 runtime error, 2 bad usage or study file, 3 every trial failed,
4 no such study, model or decision, 5 a promotion lost to another, 6 a promotion within
the cooldown of the previous one, 130 interrupted.

Run 'retune help COMMAND' for a command's flags, 'retune help samplers' and
'retune help pruners' for the samplers and pruners a study file can name, with their options.
`)
}

// flagSet returns a FlagSet for a command whose usage prints the summary and flags.
func (m *Main) flagSet(name string) *flag.FlagSet {
	var c command
	for _, x := range commands() {
		if x.name == name {
			c = x
		}
	}
	fs := flag.NewFlagSet("retune "+name, flag.ContinueOnError)
	fs.SetOutput(m.Stderr)
	if m.helpAsked {
		fs.SetOutput(m.Stdout)
	}
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "Usage: retune %s [flags] %s\n\n%s.\n\nFlags:\n", name, c.args, capitalize(c.summary))
		fs.PrintDefaults()
	}
	return fs
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// parse parses flags; arguments may come before or after them. want is the number of
// positional arguments.
func parse(fs *flag.FlagSet, args []string, want int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, usageError{err}
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if len(pos) != want {
		fs.Usage()
		return nil, usagef("%s: want %d argument(s), got %d", fs.Name(), want, len(pos))
	}
	return pos, nil
}

// dbFlag registers --db; resolve it with m.dsn.
func dbFlag(fs *flag.FlagSet) *string {
	return fs.String("db", "", "database: SQLite path, sqlite:///path.db, postgres://… or memory (default $RETUNE_DB, else retune.db)")
}

// dsn applies the precedence flag > RETUNE_DB > study file > default.
func (m *Main) dsn(flagValue, fileValue string) string {
	switch {
	case flagValue != "":
		return flagValue
	case m.Getenv("RETUNE_DB") != "":
		return m.Getenv("RETUNE_DB")
	case fileValue != "":
		return fileValue
	}
	return storage.DefaultDSN
}

// open opens the database dsn names, creating a SQLite file that does not exist yet.
func (m *Main) open(ctx context.Context, dsn string) (retune.Storage, error) {
	return m.openOptions(ctx, dsn, storage.Options{})
}

func (m *Main) openOptions(ctx context.Context, dsn string, o storage.Options) (retune.Storage, error) {
	s, err := storage.OpenOptions(ctx, dsn, o)
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", storage.Redact(dsn), err)
	}
	return s, nil
}

// openExisting opens the database dsn names for a command that reads or changes what is
// there: a SQLite file that does not exist is an error (exit 4), not a new empty database.
func (m *Main) openExisting(ctx context.Context, dsn string) (retune.Storage, error) {
	s, err := storage.OpenExisting(ctx, dsn)
	if errors.Is(err, retune.ErrNotFound) {
		return nil, fmt.Errorf("%w (check --db or RETUNE_DB; retune run creates the database)", err)
	}
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", storage.Redact(dsn), err)
	}
	return s, nil
}

// studyRecord finds a study by name.
func studyRecord(ctx context.Context, s retune.Storage, name string) (retune.StudyRecord, error) {
	rec, err := s.Study(ctx, name)
	if errors.Is(err, retune.ErrNotFound) {
		sums, _ := s.Studies(ctx)
		var names []string
		for _, x := range sums {
			names = append(names, x.Name)
		}
		sort.Strings(names)
		if len(names) == 0 {
			return rec, fmt.Errorf("no study %q: the database has no studies: %w", name, retune.ErrNotFound)
		}
		return rec, fmt.Errorf("no study %q: the database has %s: %w", name, strings.Join(names, ", "), retune.ErrNotFound)
	}
	return rec, err
}

func runVersion(_ context.Context, m *Main, args []string) error {
	fs := m.flagSet("version")
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	v := "(devel)"
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Version != "" {
		v = bi.Main.Version
	}
	fmt.Fprintln(m.Stdout, "retune", v)
	return nil
}

func runMigrate(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("migrate")
	db := dbFlag(fs)
	if _, err := parse(fs, args, 0); err != nil {
		return err
	}
	dsn := m.dsn(*db, "")
	if err := storage.Migrate(ctx, dsn); err != nil {
		return fmt.Errorf("migrate %s: %w", storage.Redact(dsn), err)
	}
	fmt.Fprintf(m.Stdout, "%s is up to date\n", storage.Redact(dsn))
	return nil
}

// logDir applies the precedence flag > RETUNE_LOG_DIR > study file > default: retune-logs
// beside a SQLite file, or in the working directory otherwise.
func (m *Main) logDir(flagValue, fileValue, dsn string) string {
	switch {
	case flagValue != "":
		return flagValue
	case m.Getenv("RETUNE_LOG_DIR") != "":
		return m.Getenv("RETUNE_LOG_DIR")
	case fileValue != "":
		return fileValue
	}
	if kind, path, err := storage.Kind(dsn); err == nil && kind == "sqlite" {
		return filepath.Join(filepath.Dir(path), "retune-logs")
	}
	return "retune-logs"
}
