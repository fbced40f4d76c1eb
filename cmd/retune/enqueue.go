package main

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/config"
)

func runEnqueue(ctx context.Context, m *Main, args []string) error {
	fs := m.flagSet("enqueue")
	db := dbFlag(fs)
	var params []string
	fs.Func("param", "a fixed param as name=value (repeatable); numbers are numbers, anything else a string", func(s string) error {
		params = append(params, s)
		return nil
	})
	asJSON := fs.String("json", "", `the fixed params as one JSON object, e.g. '{"lr": 0.01, "depth": 6}'`)
	file := fs.String("config", "", "the study file whose params to check against (default: the space the study's trials recorded)")
	usage := fs.Usage
	fs.Usage = func() {
		usage()
		fmt.Fprint(fs.Output(), "\nEvery param given must be in the study's search space, with a value it allows;\nparams not given are sampled when the trial runs.\n")
	}
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	fixed := map[string]any{}
	raw := map[string]string{} // --param values as typed, for categorical choices that look like numbers
	if *asJSON != "" {
		if err := json.Unmarshal([]byte(*asJSON), &fixed); err != nil {
			return usagef("--json: %v: want a JSON object of param values", err)
		}
	}
	for _, p := range params {
		k, v, ok := strings.Cut(p, "=")
		if !ok || k == "" {
			return usagef("--param %q: want name=value", p)
		}
		raw[k] = v
		if f, err := strconv.ParseFloat(v, 64); err == nil {
			if n, err := strconv.ParseInt(v, 10, 64); err == nil {
				fixed[k] = n
			} else {
				fixed[k] = f
			}
		} else {
			fixed[k] = v
		}
	}
	if len(fixed) == 0 {
		return usagef("enqueue: no params: give --param name=value or --json '{…}'")
	}
	s, rec, err := m.openStudy(ctx, *db, pos[0])
	if err != nil {
		return err
	}
	defer s.Close()
	space, err := enqueueSpace(ctx, s, rec, *file)
	if err != nil {
		return err
	}
	if err := checkEnqueued(rec.Name, space, fixed, raw); err != nil {
		return err
	}
	nums, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: rec.ID, Params: []map[string]any{fixed}})
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("enqueued trial %d of %s", nums[0], rec.Name)
	var sampled []string
	for _, k := range slices.Sorted(maps.Keys(space)) {
		if _, ok := fixed[k]; !ok {
			sampled = append(sampled, k)
		}
	}
	if len(sampled) > 0 {
		msg += " (" + strings.Join(sampled, ", ") + " sampled when it runs)"
	}
	fmt.Fprintln(m.Stdout, msg)
	return nil
}

// enqueueSpace returns the search space enqueued params are checked against: the study
// file's params with --config, else those of the study's stored definition, else (a study
// whose definition was never stored) the distributions its trials recorded, each param's
// latest. A grid param is a categorical of its values.
func enqueueSpace(ctx context.Context, s retune.Storage, rec retune.StudyRecord, file string) (map[string]retune.Distribution, error) {
	space := map[string]retune.Distribution{}
	var cfg *config.Study
	var err error
	switch {
	case file != "":
		if cfg, err = config.Load(file); err != nil {
			return nil, err
		}
		if cfg.Name != rec.Name {
			return nil, usagef("--config %s is study %q, not %q", file, cfg.Name, rec.Name)
		}
	case len(rec.Definition) > 0:
		if cfg, err = config.ParseDefinition("the stored definition of study "+strconv.Quote(rec.Name), rec.Definition); err != nil {
			return nil, err
		}
	}
	if cfg != nil {
		for _, p := range cfg.Params {
			if p.Dist != nil {
				space[p.Name] = p.Dist
			} else {
				space[p.Name] = retune.CategoricalDistribution{Choices: p.Values}
			}
		}
		return space, nil
	}
	ts, err := s.Trials(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range ts {
		maps.Copy(space, t.Distributions)
	}
	if len(space) == 0 {
		return nil, usagef("study %q has no stored search space yet (no definition, no trial): pass its study file with --config FILE to check the params against it", rec.Name)
	}
	return space, nil
}

// checkEnqueued checks every fixed param against space, converting values that the space
// reads otherwise (an int for a float param, "5" typed for the choice "5") in place.
func checkEnqueued(study string, space map[string]retune.Distribution, fixed map[string]any, raw map[string]string) error {
	names := slices.Sorted(maps.Keys(space))
	for _, k := range slices.Sorted(maps.Keys(fixed)) {
		d, ok := space[k]
		if !ok {
			return usagef("enqueue: %q is not a param of study %q: its params are %s", k, study, strings.Join(names, ", "))
		}
		v, ok := coerce(d, fixed[k], raw[k])
		if !ok {
			return usagef("enqueue: param %s = %v is outside its space %v", k, fixed[k], d)
		}
		fixed[k] = v
	}
	return nil
}

// coerce returns v in the form d holds its values, and whether d contains it.
func coerce(d retune.Distribution, v any, typed string) (any, bool) {
	switch d := d.(type) {
	case retune.FloatDistribution:
		switch x := v.(type) {
		case int64:
			v = float64(x)
		case int:
			v = float64(x)
		}
	case retune.IntDistribution:
		if f, ok := v.(float64); ok && f == math.Trunc(f) && math.Abs(f) < 1<<53 {
			v = int64(f)
		}
	case retune.CategoricalDistribution:
		if i := d.Index(v); i >= 0 {
			return d.Choices[i], true
		}
		if typed != "" {
			if i := d.Index(typed); i >= 0 {
				return d.Choices[i], true
			}
		}
		return v, false
	}
	return v, d.Contains(v)
}
