package main

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/a6b40afc/retune"
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
	pos, err := parse(fs, args, 1)
	if err != nil {
		return err
	}
	fixed := map[string]any{}
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
	nums, err := s.Enqueue(ctx, retune.EnqueueRequest{StudyID: rec.ID, Params: []map[string]any{fixed}})
	if err != nil {
		return err
	}
	fmt.Fprintf(m.Stdout, "enqueued trial %d of %s\n", nums[0], rec.Name)
	return nil
}
