package server

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/importance"
)

// The charts' data. Each replica keeps, per study it has drawn, a compact copy of the
// finished trials (chartStudy), brought up to date through TrialStore.FinishedSince from
// where it stopped, so a warm page reads only what finished since. Every series sent to a
// browser is downsampled here to at most maxChartPoints points, keeping each bucket's
// extremes, and the best-so-far line keeps every point where the best improved: no answer
// grows with the study beyond what is drawn.

// maxChartPoints bounds the points of one series sent to a browser.
const maxChartPoints = 2000

// curveTrials is how many recently finished trials keep their learning curves.
const curveTrials = 60

type chartCache struct {
	mu sync.Mutex
	m  map[int64]*chartStudy
}

// chartStudy is the finished trials of one study, as the charts need them.
type chartStudy struct {
	mu      sync.Mutex
	cursor  int64
	trials  []chartTrial // by number
	params  []string     // every param seen, sorted
	metrics []string     // every metric seen, sorted
	dists   map[string]retune.Distribution
	curves  map[int][][2]float64 // number → (step, value of the first objective), for the last curveTrials
	order   []int                // numbers with curves, oldest first
	changed time.Time            // when a trial last finished
	// version counts the trials added; the built answers below are reused until it moves.
	version int
	built   map[string]builtChart
}

// builtChart is an answer built at a version of the chart data.
type builtChart struct {
	version int
	v       any
}

// cached returns what build makes for key, built again only when trials were added since.
// cs.mu is held.
func (cs *chartStudy) cached(key string, build func() any) any {
	if b, ok := cs.built[key]; ok && b.version == cs.version {
		return b.v
	}
	if cs.built == nil {
		cs.built = map[string]builtChart{}
	}
	v := build()
	cs.built[key] = builtChart{cs.version, v}
	return v
}

type chartTrial struct {
	number  int
	retryOf int
	kind    retune.TrialKind
	state   retune.TrialState
	values  []float64
	params  map[string]float64 // the internal representation (a categorical's index)
	start   time.Time
	end     time.Time
	worker  string
}

// chartsOf brings the study's chart data up to date and returns it locked; the caller
// unlocks it.
func (s *Server) chartsOf(ctx context.Context, rec retune.StudyRecord) (*chartStudy, error) {
	c := &s.dash.charts
	c.mu.Lock()
	cs, ok := c.m[rec.ID]
	if !ok {
		cs = &chartStudy{dists: map[string]retune.Distribution{}, curves: map[int][][2]float64{}}
		c.m[rec.ID] = cs
	}
	c.mu.Unlock()
	cs.mu.Lock()
	fts, next, err := s.store.FinishedSince(ctx, rec.ID, cs.cursor)
	if err != nil {
		cs.mu.Unlock()
		return nil, err
	}
	cs.cursor = next
	for _, ft := range fts {
		cs.add(ft)
	}
	return cs, nil
}

// add records a finished trial (again, if a late tell revived it).
func (cs *chartStudy) add(ft retune.FrozenTrial) {
	cs.version++
	t := chartTrial{number: ft.Number, retryOf: ft.RetryOf, kind: ft.Kind, state: ft.State, values: ft.Values, start: ft.Start, end: ft.End,
		worker: ft.Lease.Holder, params: make(map[string]float64, len(ft.Params))}
	for name, v := range ft.Params {
		d, ok := ft.Distributions[name]
		if !ok {
			continue
		}
		x, ok := d.ToInternal(v)
		if !ok {
			continue
		}
		if _, seen := cs.dists[name]; !seen {
			cs.dists[name] = d
			cs.params = append(cs.params, name)
			slices.Sort(cs.params)
		}
		t.params[name] = x
	}
	for name := range ft.Metrics {
		if !slices.Contains(cs.metrics, name) {
			cs.metrics = append(cs.metrics, name)
			slices.Sort(cs.metrics)
		}
	}
	i, found := slices.BinarySearchFunc(cs.trials, ft.Number, func(a chartTrial, n int) int { return cmp.Compare(a.number, n) })
	if found {
		cs.trials[i] = t
	} else {
		cs.trials = slices.Insert(cs.trials, i, t)
	}
	if ft.End.After(cs.changed) {
		cs.changed = ft.End
	}
	if len(ft.Intermediate) > 0 {
		if _, had := cs.curves[ft.Number]; !had {
			cs.order = append(cs.order, ft.Number)
		}
		cs.curves[ft.Number] = curveOf(ft.Intermediate)
		for len(cs.order) > curveTrials {
			delete(cs.curves, cs.order[0])
			cs.order = cs.order[1:]
		}
	}
}

// curveOf is a trial's learning curve (first objective, finite values), at most
// maxChartPoints/4 steps (evenly spaced, the last one kept).
func curveOf(im map[int64][]float64) [][2]float64 {
	steps := make([]int64, 0, len(im))
	for st, v := range im {
		if len(v) > 0 && !math.IsNaN(v[0]) && !math.IsInf(v[0], 0) { // a chart draws numbers; JSON has no NaN
			steps = append(steps, st)
		}
	}
	slices.Sort(steps)
	limit := maxChartPoints / 4
	out := make([][2]float64, 0, min(len(steps), limit))
	for i, st := range steps {
		if len(steps) > limit && i != len(steps)-1 && i%((len(steps)+limit-1)/limit) != 0 {
			continue
		}
		out = append(out, [2]float64{float64(st), im[st][0]})
	}
	return out
}

// chartsJSON is what a study page draws. Series are columns: xs and ys of equal length.
type chartsJSON struct {
	Study       string      `json:"study"`
	Objective   string      `json:"objective"`
	Direction   string      `json:"direction"`
	Finished    int         `json:"finished"`
	Complete    int         `json:"complete"`
	History     seriesJSON  `json:"history"` // value by trial number
	Best        seriesJSON  `json:"best"`    // best so far, at every improvement
	ECDF        seriesJSON  `json:"ecdf"`    // value → fraction of trials at or below
	Slices      []sliceJSON `json:"slices"`
	Curves      []curveJSON `json:"curves"`
	Downsampled bool        `json:"downsampled"`
	Objectives  []string    `json:"objectives"`
	Pareto      *paretoJSON `json:"pareto,omitempty"` // 2 or 3 objectives
}

type seriesJSON struct {
	X []float64 `json:"x"`
	Y []float64 `json:"y"`
}

type sliceJSON struct {
	Param  string   `json:"param"`
	Log    bool     `json:"log"`
	Labels []string `json:"labels,omitempty"` // a categorical's choices, by index
	seriesJSON
}

type curveJSON struct {
	Number int        `json:"number"`
	State  string     `json:"state"`
	Steps  seriesJSON `json:"steps"`
}

// chartsData answers the data of a study page's charts, for objective ?objective= (an
// index or metric name; default the first).
func (s *Server) chartsData(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	rec, err := s.store.Study(ctx, r.PathValue("study"))
	if err != nil {
		return err
	}
	obj, err := objectiveIndex(rec, r.URL.Query().Get("objective"))
	if err != nil {
		return err
	}
	cs, err := s.chartsOf(ctx, rec)
	if err != nil {
		return err
	}
	body := cs.cached(fmt.Sprintf("json/%d", obj), func() any {
		b, err := json.Marshal(cs.charts(rec, obj))
		if err != nil {
			return err
		}
		return b
	})
	cs.mu.Unlock()
	if err, ok := body.(error); ok {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(body.([]byte))
	return err
}

// objectiveIndex reads ?objective= as the API's importance route does (importance.Objective:
// a metric name or an index); "" is the first objective.
func objectiveIndex(rec retune.StudyRecord, q string) (int, error) {
	if q == "" {
		return 0, nil
	}
	i, _, err := importance.Objective(rec, q)
	if err != nil {
		return 0, &fieldError{Field: "objective", Msg: strings.TrimPrefix(err.Error(), retune.ErrInvalid.Error()+": "), Status: 400}
	}
	return i, nil
}

// objectiveNames are the study's objectives as the pages name them.
func objectiveNames(rec retune.StudyRecord) []string {
	out := make([]string, len(rec.Directions))
	for i := range out {
		_, out[i], _ = importance.Objective(rec, strconv.Itoa(i))
	}
	return out
}

// charts builds the downsampled series for objective obj. cs.mu is held.
func (cs *chartStudy) charts(rec retune.StudyRecord, obj int) chartsJSON {
	dir := rec.Directions[obj]
	out := chartsJSON{Study: rec.Name, Direction: dir.String(), Finished: len(cs.trials), Objectives: objectiveNames(rec)}
	out.Objective = out.Objectives[obj]
	out.Pareto = cs.paretoOf(rec, out.Objectives)
	var xs, ys []float64
	var done []chartTrial
	for _, t := range cs.trials {
		if t.state != retune.TrialComplete || t.kind != retune.KindSearch || obj >= len(t.values) || math.IsNaN(t.values[obj]) || math.IsInf(t.values[obj], 0) {
			continue
		}
		done = append(done, t)
		xs, ys = append(xs, float64(t.number)), append(ys, t.values[obj])
	}
	out.Complete = len(done)
	better := func(a, b float64) bool {
		if dir == retune.Maximize {
			return a > b
		}
		return a < b
	}
	var bx, by []float64
	for i, y := range ys {
		if len(by) == 0 || better(y, by[len(by)-1]) {
			bx, by = append(bx, xs[i]), append(by, y)
		}
	}
	if len(xs) > 0 && bx[len(bx)-1] != xs[len(xs)-1] { // the line runs to the last trial
		bx, by = append(bx, xs[len(xs)-1]), append(by, by[len(by)-1])
	}
	out.Best = seriesJSON{X: noNil(bx), Y: noNil(by)}
	out.History, out.Downsampled = downsample(xs, ys, maxChartPoints)

	sorted := slices.Clone(ys)
	slices.Sort(sorted)
	ex, ey := make([]float64, 0, min(len(sorted), maxChartPoints)), make([]float64, 0, min(len(sorted), maxChartPoints))
	for _, k := range evenIndices(len(sorted), maxChartPoints) {
		ex, ey = append(ex, sorted[k]), append(ey, float64(k+1)/float64(len(sorted)))
	}
	out.ECDF = seriesJSON{X: ex, Y: ey}

	out.Slices = []sliceJSON{}
	for _, name := range cs.params {
		d := cs.dists[name]
		var px, py []float64
		for _, t := range done {
			if x, ok := t.params[name]; ok {
				px, py = append(px, x), append(py, t.values[obj])
			}
		}
		idx := make([]int, len(px))
		for i := range idx {
			idx[i] = i
		}
		slices.SortStableFunc(idx, func(a, b int) int { return cmp.Compare(px[a], px[b]) })
		sx, sy := make([]float64, len(idx)), make([]float64, len(idx))
		for i, k := range idx {
			sx[i], sy[i] = px[k], py[k]
		}
		sl := sliceJSON{Param: name, seriesJSON: seriesJSON{}}
		sl.seriesJSON, _ = downsample(sx, sy, maxChartPoints)
		switch d := d.(type) {
		case retune.FloatDistribution:
			sl.Log = d.Log
		case retune.IntDistribution:
			sl.Log = d.Log
		case retune.CategoricalDistribution:
			for _, c := range d.Choices {
				sl.Labels = append(sl.Labels, formatChoice(c))
			}
		}
		out.Slices = append(out.Slices, sl)
	}

	out.Curves = []curveJSON{}
	for _, n := range cs.order {
		i, ok := slices.BinarySearchFunc(cs.trials, n, func(a chartTrial, n int) int { return cmp.Compare(a.number, n) })
		if !ok {
			continue
		}
		c := curveJSON{Number: n, State: cs.trials[i].state.String()}
		for _, p := range cs.curves[n] {
			c.Steps.X, c.Steps.Y = append(c.Steps.X, p[0]), append(c.Steps.Y, p[1])
		}
		out.Curves = append(out.Curves, c)
	}
	return out
}

func noNil(x []float64) []float64 {
	if x == nil {
		return []float64{}
	}
	return x
}

// evenIndices picks at most limit indices of 0..n-1, evenly spaced, first and last
// included.
func evenIndices(n, limit int) []int {
	if n <= limit {
		out := make([]int, n)
		for i := range out {
			out[i] = i
		}
		return out
	}
	out := make([]int, 0, limit)
	for i := range limit {
		out = append(out, int(math.Round(float64(i)*float64(n-1)/float64(limit-1))))
	}
	return out
}

// downsample keeps at most limit points of a series ordered by x: it cuts the series into
// limit/2 buckets of consecutive points and keeps, in order, the lowest and the highest y
// of each, so every extreme survives. It reports whether it dropped any.
func downsample(xs, ys []float64, limit int) (seriesJSON, bool) {
	if len(xs) <= limit {
		return seriesJSON{X: noNil(slices.Clone(xs)), Y: noNil(slices.Clone(ys))}, false
	}
	buckets := limit / 2
	out := seriesJSON{X: make([]float64, 0, limit), Y: make([]float64, 0, limit)}
	for b := range buckets {
		lo, hi := b*len(xs)/buckets, (b+1)*len(xs)/buckets
		iMin, iMax := lo, lo
		for i := lo; i < hi; i++ {
			if ys[i] < ys[iMin] {
				iMin = i
			}
			if ys[i] > ys[iMax] {
				iMax = i
			}
		}
		first, second := min(iMin, iMax), max(iMin, iMax)
		out.X, out.Y = append(out.X, xs[first]), append(out.Y, ys[first])
		if second != first {
			out.X, out.Y = append(out.X, xs[second]), append(out.Y, ys[second])
		}
	}
	return out, true
}
