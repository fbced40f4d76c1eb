package main

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

func fmtValue(v float64) string {
	if v == float64(int64(v)) && v < 1e15 && v > -1e15 {
		return strconv.FormatInt(int64(v), 10)
	}
	return strconv.FormatFloat(v, 'g', 6, 64)
}

func fmtValues(vs []float64) string {
	if len(vs) == 0 {
		return "-"
	}
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = fmtValue(v)
	}
	return strings.Join(parts, ",")
}

func fmtParams(p map[string]any) string {
	keys := make([]string, 0, len(p))
	for k := range p {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		v := p[k]
		if f, ok := v.(float64); ok {
			parts[i] = k + "=" + strconv.FormatFloat(f, 'g', 6, 64)
		} else {
			parts[i] = fmt.Sprintf("%s=%v", k, v)
		}
	}
	return strings.Join(parts, " ")
}

func duration(t retune.FrozenTrial) string {
	if t.Start.IsZero() {
		return "-"
	}
	end := t.End
	if end.IsZero() {
		end = time.Now()
	}
	return end.Sub(t.Start).Round(time.Millisecond).String()
}
