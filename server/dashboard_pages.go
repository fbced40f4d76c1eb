package server

import (
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
)

// The dashboard's pages (dashboard.go has their plumbing).

// studyRow is a line of the studies page.
type studyRow struct {
	retune.StudySummary
	Directions string
	Trials     int
	Progress   float64 // finished search trials over the budget; -1 without a budget
	Activity   time.Time
}

func (s *Server) studiesPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	q := r.URL.Query()
	sums, err := s.store.Studies(ctx)
	if err != nil {
		return err
	}
	search := strings.TrimSpace(q.Get("q"))
	rows := []studyRow{}
	for _, sum := range sums {
		if !v.who.reaches(sum.Name) || search != "" && !strings.Contains(strings.ToLower(sum.Name), strings.ToLower(search)) {
			continue
		}
		row := studyRow{StudySummary: sum, Trials: sum.Waiting + sum.Running + sum.Complete + sum.Pruned + sum.Failed, Progress: -1}
		dirs := make([]string, len(sum.Directions))
		for i, d := range sum.Directions {
			dirs[i] = d.String()
		}
		row.Directions = strings.Join(dirs, ", ")
		if sum.Budget.Trials > 0 {
			row.Progress = min(1, float64(sum.Complete+sum.Pruned+sum.Failed)/float64(sum.Budget.Trials))
		}
		row.Activity = sum.Created
		if cs, head, err := s.changes.Changes(ctx, sum.ID, 0, 1); err == nil && head > 0 {
			if head > 1 {
				cs, _, err = s.changes.Changes(ctx, sum.ID, head-1, 1)
			}
			if err == nil && len(cs) > 0 {
				row.Activity = cs[len(cs)-1].Time
			}
		}
		rows = append(rows, row)
	}
	sortKey, desc := q.Get("sort"), q.Get("desc") == "1"
	slices.SortStableFunc(rows, func(a, b studyRow) int {
		var c int
		switch sortKey {
		case "trials":
			c = cmp.Compare(a.Trials, b.Trials)
		case "activity":
			c = a.Activity.Compare(b.Activity)
		case "progress":
			c = cmp.Compare(a.Progress, b.Progress)
		case "best":
			c = cmp.Compare(bestOr(a.Best), bestOr(b.Best))
		default:
			c = strings.Compare(a.Name, b.Name)
		}
		if desc {
			c = -c
		}
		return c
	})
	s.render(w, r, http.StatusOK, "studies", v, map[string]any{"Title": "Studies", "Rows": rows, "Q": search, "Sort": sortKey, "Desc": desc, "Query": q})
	return nil
}

func bestOr(b *float64) float64 {
	if b == nil {
		return math.Inf(1)
	}
	return *b
}

// studyPage shows a study: its settings, counts and charts, and its latest trials.
func (s *Server) studyPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	sum, err := s.summary(r.Context(), r.PathValue("study"))
	if err != nil {
		return err
	}
	obj, err := objectiveIndex(sum.StudyRecord, r.URL.Query().Get("objective"))
	if err != nil {
		return err
	}
	recent, err := s.recentTrials(r, sum, 15)
	if err != nil {
		return err
	}
	objectives := objectiveNames(sum.StudyRecord)
	for i, d := range sum.Directions {
		objectives[i] += " (" + d.String() + ")"
	}
	cs, err := s.chartsOf(r.Context(), sum.StudyRecord)
	if err != nil {
		return err
	}
	svg := cs.svgCached(sum.StudyRecord, obj, r.URL.Query().Get("x"), r.URL.Query().Get("y"))
	cs.mu.Unlock()
	s.render(w, r, http.StatusOK, "study", v, map[string]any{
		"Title": sum.Name, "S": sum, "Objectives": objectives, "Objective": obj, "Recent": recent, "SVG": svg, "Study": sum.Name,
		"Finished": sum.Complete + sum.Pruned + sum.Failed,
		"Sampler":  specText(sum.Sampler), "Pruner": specText(sum.Pruner), "Seed": strconv.FormatUint(sum.Seed, 10),
	})
	return nil
}

// recentFragment is the study page's table of latest trials alone, which the page
// fetches again when the study changes.
func (s *Server) recentFragment(w http.ResponseWriter, r *http.Request, v *viewer) error {
	sum, err := s.summary(r.Context(), r.PathValue("study"))
	if err != nil {
		return err
	}
	recent, err := s.recentTrials(r, sum, 15)
	if err != nil {
		return err
	}
	t := s.dash.pages["study"]
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return t.ExecuteTemplate(w, "counts-and-recent", map[string]any{"S": sum, "Recent": recent, "Finished": sum.Complete + sum.Pruned + sum.Failed})
}

// trialRow is a trial as the tables show it.
type trialRow struct {
	retune.FrozenTrial
	Value    string
	Params   string
	Duration time.Duration
}

func rowOf(ft retune.FrozenTrial) trialRow {
	if len(ft.Params) == 0 && len(ft.Fixed) > 0 { // WAITING: the params it was enqueued with
		ft.Params = ft.Fixed
	}
	row := trialRow{FrozenTrial: ft}
	vals := make([]string, len(ft.Values))
	for i, x := range ft.Values {
		vals[i] = formatNum(x)
	}
	row.Value = strings.Join(vals, ", ")
	names := slices.Sorted(func(yield func(string) bool) {
		for k := range ft.Params {
			if !yield(k) {
				return
			}
		}
	})
	parts := make([]string, len(names))
	for i, k := range names {
		parts[i] = k + "=" + formatValue(ft.Params[k])
	}
	row.Params = strings.Join(parts, " ")
	if !ft.Start.IsZero() && !ft.End.IsZero() {
		row.Duration = ft.End.Sub(ft.Start)
	}
	return row
}

// recentTrials returns the study's last n trials by number, newest first. Numbers are
// dense (0 … trials-1), so it reads n trials by number, whatever the study's size.
func (s *Server) recentTrials(r *http.Request, sum retune.StudySummary, n int) ([]trialRow, error) {
	total := sum.Waiting + sum.Running + sum.Complete + sum.Pruned + sum.Failed
	out := make([]trialRow, 0, n)
	for num := total - 1; num >= 0 && len(out) < n; num-- {
		ft, err := s.store.Trial(r.Context(), sum.ID, num)
		if errors.Is(err, retune.ErrNotFound) {
			continue
		}
		if err != nil {
			return nil, err
		}
		out = append(out, rowOf(ft))
	}
	return out, nil
}

const trialsPageSize = 50

// trialsPage is the study's trials, filtered, sorted and paged on the server.
func (s *Server) trialsPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	q := r.URL.Query()
	rec, err := s.store.Study(ctx, r.PathValue("study"))
	if err != nil {
		return err
	}
	// The fields a range may filter and the table may sort by: value(s), and the params
	// and metrics of the finished trials (the chart cache knows them).
	cs, err := s.chartsOf(ctx, rec)
	if err != nil {
		return err
	}
	fields := []string{}
	for i := range rec.Directions {
		fields = append(fields, "value:"+strconv.Itoa(i))
	}
	for _, p := range cs.params {
		fields = append(fields, "param:"+p)
	}
	for _, m := range cs.metrics {
		fields = append(fields, "metric:"+m)
	}
	cs.mu.Unlock()
	var state *retune.TrialState
	if v := q.Get("state"); v != "" {
		st, err := retune.ParseTrialState(v)
		if err != nil {
			return &fieldError{Field: "state", Msg: strconv.Quote(v), Valid: "WAITING, RUNNING, COMPLETE, PRUNED or FAIL", Status: 400}
		}
		state = &st
	}
	var kind *retune.TrialKind
	if v := q.Get("kind"); v != "" {
		k, err := retune.ParseTrialKind(v)
		if err != nil {
			return &fieldError{Field: "kind", Msg: strconv.Quote(v), Valid: "search, confirm or late", Status: 400}
		}
		kind = &k
	}
	field := q.Get("field")
	if field != "" && !slices.Contains(fields, field) {
		return &fieldError{Field: "field", Msg: strconv.Quote(field) + " is no field of these trials", Valid: "one of " + strings.Join(fields, ", "), Status: 400}
	}
	lo, hi, err := rangeParam(q, "min"), rangeParam(q, "max"), error(nil)
	if math.IsNaN(lo) || math.IsNaN(hi) {
		err = &fieldError{Field: "min/max", Msg: "not a number", Valid: "numbers, or empty for no bound", Status: 400}
	}
	if err != nil {
		return err
	}
	sortBy, desc := q.Get("sort"), q.Get("desc") == "1"
	if sortBy != "" && sortBy != "number" && sortBy != "duration" && !slices.Contains(fields, sortBy) {
		return &fieldError{Field: "sort", Msg: strconv.Quote(sortBy), Valid: "number, duration or one of " + strings.Join(fields, ", "), Status: 400}
	}
	page, _ := strconv.Atoi(q.Get("page"))
	var rows []trialRow
	var total, all int
	if state == nil && kind == nil && field == "" && (sortBy == "" || sortBy == "number") {
		// By number, unfiltered: numbers are dense, so read only the page's trials.
		sum, err := s.summary(r.Context(), rec.Name)
		if err != nil {
			return err
		}
		all = sum.Waiting + sum.Running + sum.Complete + sum.Pruned + sum.Failed
		total = all
		page = min(max(page, 1), max(1, (total+trialsPageSize-1)/trialsPageSize))
		for i := (page - 1) * trialsPageSize; i < min(total, page*trialsPageSize); i++ {
			num := i
			if desc {
				num = total - 1 - i
			}
			ft, err := s.store.Trial(ctx, rec.ID, num)
			if errors.Is(err, retune.ErrNotFound) {
				continue
			}
			if err != nil {
				return err
			}
			rows = append(rows, rowOf(ft))
		}
	} else {
		fts, err := s.store.Trials(ctx, rec.ID)
		if err != nil {
			return err
		}
		all = len(fts)
		kept := fts[:0:0]
		for _, ft := range fts {
			if state != nil && ft.State != *state || kind != nil && ft.Kind != *kind {
				continue
			}
			if field != "" {
				x, ok := fieldOf(ft, field)
				if !ok || x < lo || x > hi {
					continue
				}
			}
			kept = append(kept, ft)
		}
		slices.SortStableFunc(kept, func(a, b retune.FrozenTrial) int {
			var c int
			switch sortBy {
			case "", "number":
				c = cmp.Compare(a.Number, b.Number)
			case "duration":
				c = cmp.Compare(durationOf(a), durationOf(b))
			default:
				x, okA := fieldOf(a, sortBy)
				y, okB := fieldOf(b, sortBy)
				if okA != okB { // trials without the field last, either way
					if okA {
						return -1
					}
					return 1
				}
				c = cmp.Compare(x, y)
			}
			if desc {
				c = -c
			}
			return c
		})
		total = len(kept)
		page = min(max(page, 1), max(1, (total+trialsPageSize-1)/trialsPageSize))
		for _, ft := range kept[(page-1)*trialsPageSize : min(total, page*trialsPageSize)] {
			rows = append(rows, rowOf(ft))
		}
	}
	pages := max(1, (total+trialsPageSize-1)/trialsPageSize)
	if rows == nil {
		rows = []trialRow{}
	}
	s.render(w, r, http.StatusOK, "trials", v, map[string]any{
		"Title": rec.Name + ": trials", "Study": rec.Name, "Rows": rows, "Total": total, "All": all,
		"Page": page, "Pages": pages, "Query": q, "Fields": fields, "Field": field, "Min": q.Get("min"), "Max": q.Get("max"),
		"State": q.Get("state"), "Kind": q.Get("kind"), "Sort": sortBy, "Desc": desc,
		"States": []string{"WAITING", "RUNNING", "COMPLETE", "PRUNED", "FAIL"}, "Kinds": []string{"search", "confirm", "late"},
	})
	return nil
}

// rangeParam reads a bound: empty is no bound (±Inf), garbage is NaN.
func rangeParam(q url.Values, name string) float64 {
	v := strings.TrimSpace(q.Get(name))
	if v == "" {
		if name == "min" {
			return math.Inf(-1)
		}
		return math.Inf(1)
	}
	x, err := strconv.ParseFloat(v, 64)
	if err != nil {
		return math.NaN()
	}
	return x
}

// fieldOf reads "value:I", "param:NAME" or "metric:NAME" of a trial as a number.
func fieldOf(ft retune.FrozenTrial, field string) (float64, bool) {
	kind, name, _ := strings.Cut(field, ":")
	switch kind {
	case "value":
		i, err := strconv.Atoi(name)
		if err != nil || i >= len(ft.Values) {
			return 0, false
		}
		return ft.Values[i], true
	case "metric":
		x, ok := ft.Metrics[name]
		return x, ok
	case "param":
		v, ok := ft.Params[name]
		if !ok {
			return 0, false
		}
		if d, ok := ft.Distributions[name]; ok {
			if _, cat := d.(retune.CategoricalDistribution); !cat {
				return d.ToInternal(v)
			}
		}
		switch x := v.(type) {
		case float64:
			return x, true
		case int64:
			return float64(x), true
		}
	}
	return 0, false
}

func durationOf(ft retune.FrozenTrial) time.Duration {
	if ft.Start.IsZero() || ft.End.IsZero() {
		return -1
	}
	return ft.End.Sub(ft.Start)
}

// trialPage shows one trial with its curve, attributes, lineage and log.
func (s *Server) trialPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	ctx := r.Context()
	rec, err := s.store.Study(ctx, r.PathValue("study"))
	if err != nil {
		return err
	}
	n, err := number(r)
	if err != nil {
		return err
	}
	ft, err := s.store.Trial(ctx, rec.ID, n)
	if err != nil {
		return err
	}
	// Lineage: the trials it retries, back to the first, and those that retry it.
	var before []int
	for prev := ft.RetryOf; prev >= 0 && len(before) < 100; {
		before = append(before, prev)
		p, err := s.store.Trial(ctx, rec.ID, prev)
		if err != nil {
			break
		}
		prev = p.RetryOf
	}
	after, err := s.retriesOf(r, rec, n)
	if err != nil {
		return err
	}
	var logHead, logTail string
	var logTime time.Time
	if ls, ok := s.store.(retune.LogStore); ok {
		if l, err := ls.TrialLog(ctx, rec.ID, n); err == nil {
			logHead, logTail, logTime = string(l.Head), string(l.Tail), l.Time
		} else if !errors.Is(err, retune.ErrNotFound) {
			return err
		}
	}
	curve := curveOf(ft.Intermediate)
	cx, cy := make([]float64, len(curve)), make([]float64, len(curve))
	for i, p := range curve {
		cx[i], cy[i] = p[0], p[1]
	}
	curveData, _ := json.Marshal(seriesJSON{X: cx, Y: cy})
	params := []kv{}
	if len(ft.Params) == 0 && len(ft.Fixed) > 0 {
		ft.Params = ft.Fixed
	}
	for _, k := range slices.Sorted(mapKeys(ft.Params)) {
		d := ""
		if dist, ok := ft.Distributions[k]; ok {
			d = dist.String()
		}
		params = append(params, kv{k, formatValue(ft.Params[k]), d})
	}
	metrics := []kv{}
	for _, k := range slices.Sorted(mapKeys(ft.Metrics)) {
		metrics = append(metrics, kv{k, formatNum(ft.Metrics[k]), ""})
	}
	attrs := func(m map[string]any) []kv {
		out := []kv{}
		for _, k := range slices.Sorted(mapKeys(m)) {
			b, _ := json.Marshal(m[k])
			out = append(out, kv{k, string(b), ""})
		}
		return out
	}
	s.render(w, r, http.StatusOK, "trial", v, map[string]any{
		"Title": fmt.Sprintf("%s: trial %d", rec.Name, n), "Study": rec.Name, "T": rowOf(ft), "Params": params, "Metrics": metrics,
		"UserAttrs": attrs(ft.UserAttrs), "SystemAttrs": attrs(ft.SystemAttrs), "Before": before, "After": after,
		"LogHead": logHead, "LogTail": logTail, "LogTime": logTime, "Curve": string(curveData), "Steps": len(ft.Intermediate),
		"CanStop": ft.State == retune.TrialRunning, "CanRetry": ft.State == retune.TrialFail && ft.Kind == retune.KindSearch,
	})
	return nil
}

// lineageScan is the size up to which a trial page reads every trial of its study to find
// the trials that re-run it; above it, it looks among the finished trials (the chart
// cache) and the running ones, and a waiting re-run shows its lineage on its own page.
var lineageScan = 10_000

// retriesOf returns the numbers of the trials that re-run trial n.
func (s *Server) retriesOf(r *http.Request, rec retune.StudyRecord, n int) ([]int, error) {
	ctx := r.Context()
	sum, err := s.summary(r.Context(), rec.Name)
	if err != nil {
		return nil, err
	}
	var out []int
	if sum.Waiting+sum.Running+sum.Complete+sum.Pruned+sum.Failed <= lineageScan {
		all, err := s.store.Trials(ctx, rec.ID)
		if err != nil {
			return nil, err
		}
		for _, t := range all {
			if t.RetryOf == n {
				out = append(out, t.Number)
			}
		}
		return out, nil
	}
	cs, err := s.chartsOf(ctx, rec)
	if err != nil {
		return nil, err
	}
	for _, t := range cs.trials {
		if t.retryOf == n {
			out = append(out, t.number)
		}
	}
	cs.mu.Unlock()
	running, err := s.store.Running(ctx, rec.ID)
	if err != nil {
		return nil, err
	}
	for _, t := range running {
		if t.RetryOf == n {
			out = append(out, t.Number)
		}
	}
	slices.Sort(out)
	return out, nil
}

type kv struct{ Key, Value, Note string }

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// dashEvents is the study's change stream for its pages (the API's, authenticated by the
// session cookie).
func (s *Server) dashEvents(w http.ResponseWriter, r *http.Request, v *viewer) error {
	c := &call{w: w, r: r, who: v.who}
	status, _, err := s.events(c)
	if err != nil {
		return err
	}
	if status != 0 {
		return fmt.Errorf("event stream answered %d", status)
	}
	return nil
}

// dashImportance is the API's importance for the study page.
func (s *Server) dashImportance(w http.ResponseWriter, r *http.Request, v *viewer) error {
	out, err := s.act(w, r, v, http.MethodGet, "/studies/{study}/importance", nil, "method", "objective")
	if err != nil {
		return err
	}
	return writeJSONPage(w, out)
}

// act runs the API operation method pattern for the viewer, with the same authorization
// as the API, and the JSON body body. Of the page's query it passes on only the keys in
// keep (the page's own, such as done=…, are no parameters of the API's).
func (s *Server) act(w http.ResponseWriter, r *http.Request, v *viewer, method, pattern string, body any, keep ...string) (any, error) {
	q := url.Values{}
	for _, k := range keep {
		if x := r.URL.Query().Get(k); x != "" {
			q.Set(k, x)
		}
	}
	r = r.Clone(r.Context())
	r.URL.RawQuery = q.Encode()
	for _, rt := range s.routes() {
		if rt.method != method || rt.pattern != "/api/v1"+pattern {
			continue
		}
		if err := authorize(v.who, rt, r); err != nil {
			return nil, err
		}
		c := &call{w: w, r: r, who: v.who}
		if method != http.MethodGet {
			b, err := json.Marshal(body)
			if err != nil {
				return nil, err
			}
			c.body = b
		}
		_, out, err := rt.handle(c)
		if err != nil {
			return nil, err
		}
		if method != http.MethodGet {
			s.kickName(r.PathValue("study"))
		}
		return out, nil
	}
	return nil, fmt.Errorf("dashboard: no API route %s %s", method, pattern)
}

// The controls on a trial: each shows a confirmation page, then posts.
var trialActions = map[string]string{
	"stop":  "Stop this running trial? Whoever runs it learns of it at its next heartbeat or report, and it ends PRUNED.",
	"retry": "Enqueue a new trial with this failed trial's params? It runs when a worker next asks.",
}

func (s *Server) confirmPage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	action := r.PathValue("action")
	text, ok := trialActions[action]
	if !ok {
		return errorf(http.StatusNotFound, "not-found", "no page %s", r.URL.Path)
	}
	n, err := number(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "confirm", v, map[string]any{
		"Title": fmt.Sprintf("%s trial %d?", action, n), "Text": text, "Action": r.URL.Path, "Button": action,
		"Back": fmt.Sprintf("/studies/%s/trials/%d", url.PathEscape(r.PathValue("study")), n),
	})
	return nil
}

func (s *Server) trialAction(w http.ResponseWriter, r *http.Request, v *viewer) error {
	n, err := number(r)
	if err != nil {
		return err
	}
	study := r.PathValue("study")
	back := fmt.Sprintf("/studies/%s/trials/%d", url.PathEscape(study), n)
	switch r.PathValue("action") {
	case "stop":
		if _, err := s.act(w, r, v, "POST", "/studies/{study}/trials/{number}/stop", struct{}{}); err != nil {
			return err
		}
		http.Redirect(w, r, back+"?done=stop", http.StatusSeeOther)
	case "retry":
		rec, err := s.store.Study(r.Context(), study)
		if err != nil {
			return err
		}
		ft, err := s.store.Trial(r.Context(), rec.ID, n)
		if err != nil {
			return err
		}
		if ft.State != retune.TrialFail {
			return errorf(http.StatusConflict, "conflict", "trial %d is %v: only a failed trial is retried", n, ft.State)
		}
		out, err := s.act(w, r, v, "POST", "/studies/{study}/trials/enqueue", enqueueRequest{Params: ft.RetryParams()})
		if err != nil {
			return err
		}
		if res, ok := out.(enqueueResponse); ok && len(res.Numbers) == 1 {
			back = fmt.Sprintf("/studies/%s/trials/%d", url.PathEscape(study), res.Numbers[0])
		}
		http.Redirect(w, r, back+"?done=retry", http.StatusSeeOther)
	default:
		return errorf(http.StatusNotFound, "not-found", "no control %q", r.PathValue("action"))
	}
	return nil
}

// paramField is an input of the enqueue form.
type paramField struct {
	Name, Kind, Min, Max, Step, Value, Dist string
	Choices                                 []string
}

// enqueueFields builds the enqueue form from the study's declared search space.
func (s *Server) enqueueFields(r *http.Request) ([]paramField, error) {
	b, err := s.open(r.Context(), r.PathValue("study"))
	if err != nil {
		return nil, err
	}
	if b.def == nil {
		return nil, errNoDefinition
	}
	out := []paramField{}
	for _, p := range b.def.Params {
		d := p.Distribution()
		f := paramField{Name: p.Name, Dist: d.String(), Value: r.PostFormValue("p." + p.Name)}
		switch d := d.(type) {
		case retune.FloatDistribution:
			f.Kind, f.Min, f.Max, f.Step = "float", formatNumRaw(d.Low), formatNumRaw(d.High), "any"
			if d.Step > 0 {
				f.Step = formatNumRaw(d.Step)
			}
		case retune.IntDistribution:
			f.Kind, f.Min, f.Max, f.Step = "int", strconv.FormatInt(d.Low, 10), strconv.FormatInt(d.High, 10), strconv.FormatInt(max(d.Step, 1), 10)
		case retune.CategoricalDistribution:
			f.Kind = "categorical"
			for _, c := range d.Choices {
				f.Choices = append(f.Choices, formatChoice(c))
			}
		}
		out = append(out, f)
	}
	return out, nil
}

func (s *Server) enqueuePage(w http.ResponseWriter, r *http.Request, v *viewer) error {
	fields, err := s.enqueueFields(r)
	if err != nil {
		return err
	}
	s.render(w, r, http.StatusOK, "enqueue", v, map[string]any{"Title": "Enqueue a trial in " + r.PathValue("study"), "Study": r.PathValue("study"), "Fields": fields})
	return nil
}

// enqueueAction enqueues the form's params (empty ones are sampled when the trial is
// asked); an invalid value shows the form again with the API's error.
func (s *Server) enqueueAction(w http.ResponseWriter, r *http.Request, v *viewer) error {
	fields, err := s.enqueueFields(r)
	if err != nil {
		return err
	}
	params := map[string]any{}
	var bad error
	for _, f := range fields {
		raw := strings.TrimSpace(r.PostFormValue("p." + f.Name))
		if raw == "" {
			continue
		}
		switch f.Kind {
		case "float":
			x, err := strconv.ParseFloat(raw, 64)
			if err != nil {
				bad = &fieldError{Field: f.Name, Msg: strconv.Quote(raw) + " is not a number", Valid: f.Dist}
			}
			params[f.Name] = x
		case "int":
			x, err := strconv.ParseInt(raw, 10, 64)
			if err != nil {
				bad = &fieldError{Field: f.Name, Msg: strconv.Quote(raw) + " is not an integer", Valid: f.Dist}
			}
			params[f.Name] = x
		default:
			var choice any = raw
			if err := json.Unmarshal([]byte(raw), &choice); err != nil {
				choice = raw
			}
			params[f.Name] = choice
		}
	}
	if bad == nil && r.PostFormValue("confirmed") != "1" {
		fixed := []kv{}
		for _, f := range fields {
			if v, ok := params[f.Name]; ok {
				fixed = append(fixed, kv{f.Name, formatValue(v), strings.TrimSpace(r.PostFormValue("p." + f.Name))})
			}
		}
		s.render(w, r, http.StatusOK, "enqueue", v, map[string]any{"Title": "Enqueue a trial in " + r.PathValue("study"), "Study": r.PathValue("study"),
			"Fields": fields, "Confirm": true, "Fixed": fixed})
		return nil
	}
	var out any
	if bad == nil {
		out, bad = s.act(w, r, v, "POST", "/studies/{study}/trials/enqueue", enqueueRequest{Params: params})
	}
	if bad != nil {
		var fe *fieldError
		var he *httpError
		if !errors.As(bad, &fe) && !errors.As(bad, &he) && !errors.Is(bad, retune.ErrInvalid) {
			return bad
		}
		p, _ := toProblem(bad)
		s.render(w, r, p.Status, "enqueue", v, map[string]any{"Title": "Enqueue a trial in " + r.PathValue("study"), "Study": r.PathValue("study"),
			"Fields": fields, "Error": p.Detail})
		return nil
	}
	res, _ := out.(enqueueResponse)
	dest := "/studies/" + url.PathEscape(r.PathValue("study"))
	if len(res.Numbers) == 1 {
		dest = fmt.Sprintf("%s/trials/%d?done=enqueue", dest, res.Numbers[0])
	}
	http.Redirect(w, r, dest, http.StatusSeeOther)
	return nil
}

func specText(sp retune.Spec) string {
	if sp.Name == "" {
		return "none"
	}
	if len(sp.Options) == 0 {
		return sp.Name
	}
	b, _ := json.Marshal(sp.Options)
	return sp.Name + " " + string(b)
}

func writeJSONPage(w http.ResponseWriter, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	_, err = w.Write(b)
	return err
}

// Formatting for people.

// formatNum writes x with up to 6 significant digits, thousands separated.
func formatNum(x float64) string {
	switch {
	case math.IsNaN(x):
		return "NaN"
	case math.IsInf(x, 1):
		return "∞"
	case math.IsInf(x, -1):
		return "−∞"
	case x == math.Trunc(x) && math.Abs(x) < 1e15:
		return formatInt(int64(x))
	case math.Abs(x) >= 1e6 || math.Abs(x) < 1e-4:
		return strings.Replace(strconv.FormatFloat(x, 'e', 4, 64), "-", "−", 1)
	}
	s := strconv.FormatFloat(x, 'g', 6, 64)
	if i := strings.IndexByte(s, '.'); i > 0 {
		return groupDigits(s[:i]) + s[i:]
	}
	return groupDigits(s)
}

func formatNumRaw(x float64) string { return strconv.FormatFloat(x, 'g', -1, 64) }

// formatInt writes n with thousands separated by commas.
func formatInt(n int64) string { return groupDigits(strconv.FormatInt(n, 10)) }

func groupDigits(s string) string {
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "−" + b.String()
	}
	return b.String()
}

func formatPct(x float64) string { return strconv.FormatFloat(100*x, 'f', 0, 64) + "%" }

// formatWhen writes a time relative to now ("3 min ago"), or "—" for none.
func formatWhen(t time.Time) string {
	if t.IsZero() {
		return "—"
	}
	d := time.Since(t)
	switch {
	case d < 0:
		return t.UTC().Format("2006-01-02 15:04:05 UTC")
	case d < time.Minute:
		return strconv.Itoa(int(d.Seconds())) + " s ago"
	case d < time.Hour:
		return strconv.Itoa(int(d.Minutes())) + " min ago"
	case d < 48*time.Hour:
		return strconv.Itoa(int(d.Hours())) + " h ago"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

func formatDur(d time.Duration) string {
	switch {
	case d < 0:
		return "—"
	case d < time.Second:
		return strconv.FormatInt(d.Milliseconds(), 10) + " ms"
	case d < time.Minute:
		return strconv.FormatFloat(d.Seconds(), 'f', 1, 64) + " s"
	}
	return d.Round(time.Second).String()
}

func formatValue(v any) string {
	switch x := v.(type) {
	case float64:
		return formatNum(x)
	case int64:
		return formatInt(x)
	case int:
		return formatInt(int64(x))
	}
	return formatChoice(v)
}

// formatChoice writes a categorical choice: a string as itself, others as JSON.
func formatChoice(c any) string {
	if s, ok := c.(string); ok {
		return s
	}
	b, err := json.Marshal(c)
	if err != nil {
		return fmt.Sprint(c)
	}
	return string(b)
}

// withQuery is "?" + base with the pairs kv set (an empty value deletes the key).
func withQuery(base url.Values, kv ...string) string {
	q := url.Values{}
	for k, v := range base {
		q[k] = slices.Clone(v)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			q.Del(kv[i])
		} else {
			q.Set(kv[i], kv[i+1])
		}
	}
	if len(q) == 0 {
		return "?"
	}
	return "?" + q.Encode()
}
