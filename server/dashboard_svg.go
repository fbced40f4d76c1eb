package server

import (
	"cmp"
	"fmt"
	"html/template"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/pareto"
)

// Charts the server draws as SVG, for the shapes uPlot has no form for: parallel
// coordinates, a binned contour of two params and the timeline of trials per worker. They
// need no JavaScript; each bounds what it draws (parallelLines lines, contourBins² cells,
// timelineTrials bars) whatever the study's size, and says how many marks it drew in
// data-points.

const (
	parallelLines  = 300
	contourBins    = 24
	timelineTrials = 400
)

// ramp maps t in [0, 1] to a colour of a perceptually ordered, colour-blind-safe ramp
// (viridis' end and middle points): dark for 0, light for 1.
func ramp(t float64) string {
	stops := [][3]float64{{68, 1, 84}, {33, 145, 140}, {253, 231, 37}}
	t = math.Max(0, math.Min(1, t))
	i := 0
	if t > 0.5 {
		i, t = 1, t-0.5
	}
	t *= 2
	c := [3]int{}
	for k := range 3 {
		c[k] = int(math.Round(stops[i][k] + t*(stops[i+1][k]-stops[i][k])))
	}
	return fmt.Sprintf("#%02x%02x%02x", c[0], c[1], c[2])
}

// axisOf is a param's axis: its range in plotting space (log for log params, the index
// for a categorical) and how to read a value onto it.
type axisOf struct {
	name   string
	log    bool
	labels []string // a categorical's choices
	ints   int      // an int param of at most contourBins values (not log): one bin each
	lo, hi float64
}

func (a axisOf) pos(x float64) float64 {
	if a.log && x > 0 {
		x = math.Log(x)
	}
	if a.hi <= a.lo {
		return 0.5
	}
	return (x - a.lo) / (a.hi - a.lo)
}

func (cs *chartStudy) axis(name string) axisOf {
	a := axisOf{name: name}
	switch d := cs.dists[name].(type) {
	case retune.FloatDistribution:
		a.log, a.lo, a.hi = d.Log, d.Low, d.High
	case retune.IntDistribution:
		a.log, a.lo, a.hi = d.Log, float64(d.Low), float64(d.High)
		if n := (d.High-d.Low)/max(d.Step, 1) + 1; !d.Log && n <= contourBins {
			a.ints = int(n)
		}
	case retune.CategoricalDistribution:
		for _, c := range d.Choices {
			a.labels = append(a.labels, formatChoice(c))
		}
		a.lo, a.hi = 0, float64(max(1, len(d.Choices)-1))
	}
	if a.log && a.lo > 0 {
		a.lo, a.hi = math.Log(a.lo), math.Log(a.hi)
	}
	return a
}

// ranked is the complete search trials with a finite value of objective obj, best first.
func (cs *chartStudy) ranked(obj int, dir retune.Direction) []chartTrial {
	var out []chartTrial
	for _, t := range cs.trials {
		if t.state == retune.TrialComplete && t.kind == retune.KindSearch && obj < len(t.values) && !math.IsNaN(t.values[obj]) && !math.IsInf(t.values[obj], 0) {
			out = append(out, t)
		}
	}
	slices.SortStableFunc(out, func(a, b chartTrial) int {
		c := cmp.Compare(a.values[obj], b.values[obj])
		if dir == retune.Maximize {
			c = -c
		}
		return c
	})
	return out
}

// svgCharts are the server-drawn charts of a study page.
type svgCharts struct {
	Parallel, Contour, Timeline template.HTML
	Params                      []string
	X, Y                        string // the contour's params
}

// contourPair is the contour's two params: x and y if they are two params of the study,
// else the first ones. len(cs.params) >= 2.
func (cs *chartStudy) contourPair(x, y string) (string, string) {
	if !slices.Contains(cs.params, x) {
		x = cs.params[0]
	}
	if !slices.Contains(cs.params, y) || y == x {
		y = cs.params[1]
		if y == x {
			y = cs.params[0]
		}
	}
	return x, y
}

// svgCached is svg, built again only when trials were added; keyed by what is drawn, so
// the cache holds at most one entry per objective and pair of params. cs.mu is held.
func (cs *chartStudy) svgCached(rec retune.StudyRecord, obj int, x, y string) svgCharts {
	if len(cs.params) >= 2 {
		x, y = cs.contourPair(x, y)
	} else {
		x, y = "", ""
	}
	return cs.cached(fmt.Sprintf("svg/%d/%q/%q", obj, x, y), func() any { return cs.svg(rec, obj, x, y) }).(svgCharts)
}

func (cs *chartStudy) svg(rec retune.StudyRecord, obj int, x, y string) svgCharts {
	out := svgCharts{Params: cs.params}
	dir := rec.Directions[obj]
	ranked := cs.ranked(obj, dir)
	out.Parallel = cs.parallel(ranked, obj)
	if len(cs.params) >= 2 {
		x, y = cs.contourPair(x, y)
		out.X, out.Y = x, y
		out.Contour = cs.contour(ranked, obj, dir, x, y)
	}
	out.Timeline = cs.timeline()
	return out
}

// parallel draws one line per trial across the params' axes and the objective, coloured
// by rank (the best light, on top): the best parallelLines/5 and an even sample of the
// rest.
func (cs *chartStudy) parallel(ranked []chartTrial, obj int) template.HTML {
	if len(ranked) == 0 || len(cs.params) == 0 {
		return `<p class="hint">No complete trials yet.</p>`
	}
	keep := ranked
	if len(ranked) > parallelLines {
		best := parallelLines / 5
		keep = slices.Clone(ranked[:best])
		for _, i := range evenIndices(len(ranked)-best, parallelLines-best) {
			keep = append(keep, ranked[best+i])
		}
	}
	axes := make([]axisOf, len(cs.params))
	for i, p := range cs.params {
		axes[i] = cs.axis(p)
	}
	vlo, vhi := math.Inf(1), math.Inf(-1)
	for _, t := range keep {
		vlo, vhi = math.Min(vlo, t.values[obj]), math.Max(vhi, t.values[obj])
	}
	n := len(axes) + 1
	const W, H, top, bottom = 760.0, 260.0, 18.0, 34.0
	xOf := func(i int) float64 { return 40 + (W-80)*float64(i)/float64(n-1) }
	yOf := func(p float64) float64 { return top + (H-top-bottom)*(1-p) }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="svgchart" id="chart-parallel" viewBox="0 0 %g %g" role="img" aria-label="parallel coordinates of %d trials" data-points="%d">`, W, H, len(keep), len(keep))
	for i := len(keep) - 1; i >= 0; i-- { // worst first: the best are drawn on top
		t := keep[i]
		rank := 1 - float64(i)/float64(max(1, len(keep)-1))
		var pts []string
		for k, a := range axes {
			x, ok := t.params[a.name]
			if !ok {
				continue
			}
			pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(k), yOf(a.pos(x))))
		}
		pv := 0.5
		if vhi > vlo {
			pv = (t.values[obj] - vlo) / (vhi - vlo)
		}
		pts = append(pts, fmt.Sprintf("%.1f,%.1f", xOf(n-1), yOf(pv)))
		fmt.Fprintf(&b, `<polyline points="%s" fill="none" stroke="%s" stroke-opacity="0.55" stroke-width="1"/>`, strings.Join(pts, " "), ramp(rank))
	}
	for k := range n {
		name, lo, hi := "value", formatNum(vlo), formatNum(vhi)
		if k < len(axes) {
			a := axes[k]
			name, lo, hi = a.name, axisLabel(a, a.lo), axisLabel(a, a.hi)
		}
		fmt.Fprintf(&b, `<line x1="%.1f" x2="%.1f" y1="%g" y2="%g" stroke="#4a5561"/>`, xOf(k), xOf(k), top, H-bottom)
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="11" text-anchor="middle" fill="#1b1f24">%s</text>`, xOf(k), H-bottom+14, template.HTMLEscapeString(name))
		fmt.Fprintf(&b, `<text x="%.1f" y="%g" font-size="9" text-anchor="middle" fill="#4a5561">%s</text>`, xOf(k), H-bottom+26, template.HTMLEscapeString(lo+" – "+hi))
	}
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func axisLabel(a axisOf, x float64) string {
	if a.labels != nil {
		i := int(math.Round(x))
		if i >= 0 && i < len(a.labels) {
			return a.labels[i]
		}
		return ""
	}
	if a.log {
		x = math.Exp(x)
	}
	return formatNum(x)
}

// contour bins two params into a grid (contourBins per numeric axis, one bin per choice of
// a categorical) and colours each cell by the mean value of its trials; empty cells stay
// blank. The study's best trial is marked.
func (cs *chartStudy) contour(ranked []chartTrial, obj int, dir retune.Direction, xName, yName string) template.HTML {
	ax, ay := cs.axis(xName), cs.axis(yName)
	bins := func(a axisOf) int {
		switch {
		case a.labels != nil:
			return len(a.labels)
		case a.ints > 0:
			return a.ints
		}
		return contourBins
	}
	nx, ny := bins(ax), bins(ay)
	sum, cnt := make([]float64, nx*ny), make([]int, nx*ny)
	binOf := func(a axisOf, n int, x float64) int {
		switch {
		case a.labels != nil:
			return int(math.Round(x))
		case a.ints > 0:
			return min(n-1, max(0, int(math.Round(a.pos(x)*float64(n-1)))))
		}
		return min(n-1, max(0, int(a.pos(x)*float64(n))))
	}
	used := 0
	for _, t := range ranked {
		x, okx := t.params[xName]
		y, oky := t.params[yName]
		if !okx || !oky {
			continue
		}
		i, j := binOf(ax, nx, x), binOf(ay, ny, y)
		if i < 0 || i >= nx || j < 0 || j >= ny {
			continue
		}
		sum[j*nx+i] += t.values[obj]
		cnt[j*nx+i]++
		used++
	}
	if used == 0 {
		return `<p class="hint">No complete trials with both params yet.</p>`
	}
	lo, hi := math.Inf(1), math.Inf(-1)
	for k := range sum {
		if cnt[k] > 0 {
			m := sum[k] / float64(cnt[k])
			lo, hi = math.Min(lo, m), math.Max(hi, m)
		}
	}
	const W, H, left, bottom = 420.0, 320.0, 56.0, 40.0
	cw, ch := (W-left-10)/float64(nx), (H-bottom-10)/float64(ny)
	var b strings.Builder
	cells := 0
	for k := range sum {
		if cnt[k] > 0 {
			cells++
		}
	}
	fmt.Fprintf(&b, `<svg class="svgchart" id="chart-contour" viewBox="0 0 %g %g" role="img" aria-label="mean value by %s and %s" data-points="%d">`,
		W, H, template.HTMLEscapeString(xName), template.HTMLEscapeString(yName), cells)
	for j := range ny {
		for i := range nx {
			k := j*nx + i
			if cnt[k] == 0 {
				continue
			}
			t := 0.5
			if hi > lo {
				t = (sum[k]/float64(cnt[k]) - lo) / (hi - lo)
			}
			if dir == retune.Minimize { // light is good either way
				t = 1 - t
			}
			fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f" fill="%s"><title>%s trials, mean %s</title></rect>`,
				left+float64(i)*cw, 10+float64(ny-1-j)*ch, cw+0.3, ch+0.3, ramp(t), formatInt(int64(cnt[k])), formatNum(sum[k]/float64(cnt[k])))
		}
	}
	best := ranked[0]
	if x, ok := best.params[xName]; ok {
		if y, ok := best.params[yName]; ok {
			px := left + (W-left-10)*math.Max(0, math.Min(1, ax.pos(x)))
			py := 10 + (H-bottom-10)*(1-math.Max(0, math.Min(1, ay.pos(y))))
			if ax.labels != nil || ax.ints > 0 {
				px = left + (float64(binOf(ax, nx, x))+0.5)*cw
			}
			if ay.labels != nil || ay.ints > 0 {
				py = 10 + (float64(ny-1-binOf(ay, ny, y))+0.5)*ch
			}
			fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="5" fill="none" stroke="#D55E00" stroke-width="2"><title>best: trial %d</title></circle>`, px, py, best.number)
		}
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="11" text-anchor="middle" fill="#1b1f24">%s (%s – %s)</text>`, left+(W-left)/2, H-12,
		template.HTMLEscapeString(xName), template.HTMLEscapeString(axisLabel(ax, ax.lo)), template.HTMLEscapeString(axisLabel(ax, ax.hi)))
	fmt.Fprintf(&b, `<text x="12" y="%g" font-size="11" text-anchor="middle" fill="#1b1f24" transform="rotate(-90 12 %g)">%s (%s – %s)</text>`, (H-bottom)/2, (H-bottom)/2,
		template.HTMLEscapeString(yName), template.HTMLEscapeString(axisLabel(ay, ay.lo)), template.HTMLEscapeString(axisLabel(ay, ay.hi)))
	b.WriteString(`</svg>`)
	fmt.Fprintf(&b, `<p class="hint">Mean value per cell: light is better; from %s to %s. The ring is the best trial.</p>`, formatNum(lo), formatNum(hi))
	return template.HTML(b.String())
}

// timeline draws the last timelineTrials finished trials as bars on one row per worker.
func (cs *chartStudy) timeline() template.HTML {
	var ts []chartTrial
	for _, t := range cs.trials {
		if !t.start.IsZero() && !t.end.IsZero() {
			ts = append(ts, t)
		}
	}
	slices.SortStableFunc(ts, func(a, b chartTrial) int { return a.end.Compare(b.end) })
	if len(ts) > timelineTrials {
		ts = ts[len(ts)-timelineTrials:]
	}
	if len(ts) == 0 {
		return `<p class="hint">No finished trials yet.</p>`
	}
	workers := []string{}
	t0, t1 := ts[0].start, ts[0].end
	for _, t := range ts {
		w := t.worker
		if w == "" {
			w = "—"
		}
		if !slices.Contains(workers, w) {
			workers = append(workers, w)
		}
		if t.start.Before(t0) {
			t0 = t.start
		}
		if t.end.After(t1) {
			t1 = t.end
		}
	}
	slices.Sort(workers)
	span := max(t1.Sub(t0), time.Millisecond)
	const W, left, row = 760.0, 150.0, 16.0
	H := float64(len(workers))*row + 30
	var b strings.Builder
	fmt.Fprintf(&b, `<svg class="svgchart" id="chart-timeline" viewBox="0 0 %g %g" role="img" aria-label="the last %d finished trials by worker over time" data-points="%d">`, W, H, len(ts), len(ts))
	for i, w := range workers {
		fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" text-anchor="end" fill="#1b1f24">%s</text>`, left-6, float64(i)*row+12, template.HTMLEscapeString(cutLabel(w, 24)))
	}
	colors := map[retune.TrialState]string{retune.TrialComplete: "#009E73", retune.TrialPruned: "#E69F00", retune.TrialFail: "#D55E00"}
	for _, t := range ts {
		w := t.worker
		if w == "" {
			w = "—"
		}
		i := slices.Index(workers, w)
		x := left + (W-left-10)*float64(t.start.Sub(t0))/float64(span)
		wd := math.Max(1, (W-left-10)*float64(t.end.Sub(t.start))/float64(span))
		fmt.Fprintf(&b, `<rect x="%.1f" y="%.1f" width="%.1f" height="%g" fill="%s"><title>trial %d, %s, %s</title></rect>`,
			x, float64(i)*row+3, wd, row-4, colors[t.state], t.number, t.state, formatDur(t.end.Sub(t.start)))
	}
	fmt.Fprintf(&b, `<text x="%g" y="%g" font-size="10" fill="#4a5561">%s</text><text x="%g" y="%g" font-size="10" text-anchor="end" fill="#4a5561">%s later</text>`,
		left, H-6, t0.UTC().Format("2006-01-02 15:04:05 UTC"), W-10, H-6, formatDur(span))
	b.WriteString(`</svg>`)
	return template.HTML(b.String())
}

func cutLabel(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n-1] + "…"
}

// paretoJSON is the Pareto front of a study of 2–3 objectives, as pairs of objectives.
type paretoJSON struct {
	Pairs []paretoPair `json:"pairs"`
}

type paretoPair struct {
	Names  [2]string  `json:"names"`
	Front  seriesJSON `json:"front"`  // non-dominated trials (all objectives), by x
	Others seriesJSON `json:"others"` // the rest, at most maxChartPoints, by x
}

// paretoOf computes the front over every objective and projects it onto each pair.
func (cs *chartStudy) paretoOf(rec retune.StudyRecord, names []string) *paretoJSON {
	k := len(rec.Directions)
	if k < 2 || k > 3 {
		return nil
	}
	var pts [][]float64
	for _, t := range cs.trials {
		if t.state != retune.TrialComplete || t.kind != retune.KindSearch || len(t.values) != k {
			continue
		}
		ok := true
		for _, v := range t.values {
			ok = ok && !math.IsNaN(v) && !math.IsInf(v, 0)
		}
		if ok {
			pts = append(pts, t.values)
		}
	}
	front := map[int]bool{}
	for _, i := range pareto.NonDominated(rec.Directions, pts) {
		front[i] = true
	}
	out := &paretoJSON{}
	for a := range k {
		for b := a + 1; b < k; b++ {
			var fi, oi []int
			for i := range pts {
				if front[i] {
					fi = append(fi, i)
				} else {
					oi = append(oi, i)
				}
			}
			series := func(idx []int) seriesJSON {
				slices.SortStableFunc(idx, func(p, q int) int { return cmp.Compare(pts[p][a], pts[q][a]) })
				s := seriesJSON{X: []float64{}, Y: []float64{}}
				for _, j := range evenIndices(len(idx), maxChartPoints) {
					s.X, s.Y = append(s.X, pts[idx[j]][a]), append(s.Y, pts[idx[j]][b])
				}
				return s
			}
			out.Pairs = append(out.Pairs, paretoPair{Names: [2]string{names[a], names[b]}, Front: series(fi), Others: series(oi)})
		}
	}
	return out
}

// svgFragment is the server-drawn charts alone, which the study page fetches again when
// the study changes.
func (s *Server) svgFragment(w http.ResponseWriter, r *http.Request, v *viewer) error {
	rec, err := s.store.Study(r.Context(), r.PathValue("study"))
	if err != nil {
		return err
	}
	obj, err := objectiveIndex(rec, r.URL.Query().Get("objective"))
	if err != nil {
		return err
	}
	cs, err := s.chartsOf(r.Context(), rec)
	if err != nil {
		return err
	}
	svg := cs.svgCached(rec, obj, r.URL.Query().Get("x"), r.URL.Query().Get("y"))
	cs.mu.Unlock()
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	return s.dash.pages["study"].ExecuteTemplate(w, "svg-charts", map[string]any{"SVG": svg, "Study": rec.Name, "Objective": obj})
}
