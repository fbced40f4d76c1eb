// Package retrain decides whether tuning found a configuration that truly beats the model
// in production (the champion), records that decision durably with the event that
// announces it, and promotes the new champion when the retraining system reports back.
//
// The best of many noisy trials is biased upward (the winner's curse), so comparing its
// value with the champion's promotes noise. With Policy.Repeats = k, the candidate and the
// champion's configuration are each run k more times as confirmation trials, repeat i of
// both with the same seed, and the decision rests on the differences: improved only if a
// one-sided lower confidence bound of the mean difference exceeds the margin. Without
// repeats the policy compares point values, and the decision's evidence says so.
//
// # The lower bound
//
// Sharing a seed makes repeat i of the candidate and of the champion correlated to a
// degree nobody knows in advance: strongly when the seed picks the data split, hardly when
// it only picks the initial weights. The paired bound (Student's t on the k differences,
// k−1 degrees of freedom) is valid whatever the correlation and gains the most from a
// strong one; the unpaired bound (pooled two-sample t, 2k−2 degrees of freedom) is valid
// when the correlation is not negative, and with few repeats and little correlation it is
// the tighter one, having twice the degrees of freedom. The default analysis, "both",
// computes each at level 1 − (1 − Level)/2 and takes the larger: by the union bound that
// is a lower bound at Level whenever the correlation is not negative, and it is nearly as
// tight as the better of the two. It is conservative by design. Simulated at Level 0.95
// with k = 5 (bench.SimulateDecisions, 20,000 studies each): with no true improvement it
// calls one in 3.4% of decisions when the pairs are uncorrelated and 2.3% when they are
// strongly correlated (0.9), where the paired bound alone calls one in 5%; a true
// improvement of 2σ it detects in 82% uncorrelated and 95% at correlation 0.5 (the paired
// bound alone: 83% and 98%; the unpaired alone: 89% and 94%). The unpaired bound also
// assumes similar spreads: when the candidate's standard deviation is twice the
// champion's, it alone calls 5.6% of null studies improved (6.2% at four times), the
// combined bound 3.8% (3.9%). Policy.Analysis selects one bound alone.
package retrain

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/a6b40afc/retune"
	"github.com/a6b40afc/retune/internal/stat"
)

// Policy says what counts as an improvement. The zero value compares point values with
// no margin.
type Policy struct {
	// MinImprovement is the absolute improvement required, in the objective's units.
	MinImprovement float64
	// MinRelativeImprovement is the improvement required as a fraction of the champion's
	// value (0.01 = 1%). With both set, the larger margin applies.
	MinRelativeImprovement float64
	// Guardrails are other metrics that must not regress beyond a tolerance.
	Guardrails []Guardrail
	// Repeats is the number of confirmation runs of the candidate and of the champion;
	// 0 compares point values. At least 2 are needed for a confidence bound.
	Repeats int
	// Level is the confidence level of the lower bound; default 0.95.
	Level float64
	// Analysis is how repeats are compared: AnalysisBoth (the default, ""),
	// AnalysisPaired or AnalysisUnpaired; see the package doc.
	Analysis string
	// Cooldown is the least time between two promotions of the model: a decision records
	// it, and Promote refuses to promote the decision's candidate sooner than Cooldown
	// after the current champion was made (unless forced), so a flapping model is not
	// promoted back and forth. 0 = no cooldown.
	Cooldown time.Duration
	// RepeatAfter is how long an improved decision's candidate stays announced: deciding
	// again for the same params against the same champion version within it records a
	// repeat of the first decision (Evidence.RepeatOf) and emits no new event, as an alert
	// manager would. 0 means DefaultRepeatAfter; negative announces every decision.
	RepeatAfter time.Duration
}

// DefaultRepeatAfter is Policy.RepeatAfter's default.
const DefaultRepeatAfter = 24 * time.Hour

// The analyses of confirmation repeats (Policy.Analysis, Evidence.Analysis).
const (
	// AnalysisBoth takes the larger of the paired and the unpaired bound, each computed at
	// level 1 − (1 − Level)/2.
	AnalysisBoth = "both"
	// AnalysisPaired bounds the mean of the paired differences (Student's t, k−1 degrees
	// of freedom): valid whatever the correlation within a pair.
	AnalysisPaired = "paired"
	// AnalysisUnpaired bounds the difference of the means with the pooled standard
	// deviation (Student's t, 2k−2 degrees of freedom): valid when the repeats of a pair
	// are not negatively correlated.
	AnalysisUnpaired = "unpaired"
)

// Guardrail bounds the regression of one metric from the trial's metrics map.
type Guardrail struct {
	Metric string
	// MaxRegression is the largest allowed change in the bad direction, relative to the
	// champion's value (0.10 = 10% worse).
	MaxRegression float64
	// Direction is the metric's good direction (latency: Minimize, the default).
	Direction retune.Direction
}

// Validate reports why the policy is unusable.
func (p Policy) Validate() error {
	switch {
	case p.MinImprovement < 0 || math.IsNaN(p.MinImprovement) || math.IsInf(p.MinImprovement, 0):
		return fmt.Errorf("%w: min_improvement %v: want a finite number >= 0", retune.ErrInvalid, p.MinImprovement)
	case p.MinRelativeImprovement < 0 || math.IsNaN(p.MinRelativeImprovement) || math.IsInf(p.MinRelativeImprovement, 0):
		return fmt.Errorf("%w: min_relative_improvement %v: want a finite fraction >= 0", retune.ErrInvalid, p.MinRelativeImprovement)
	case p.Repeats == 1 || p.Repeats < 0:
		return fmt.Errorf("%w: repeats %d: want 0 (compare point values) or at least 2", retune.ErrInvalid, p.Repeats)
	case p.Level != 0 && (p.Level <= 0.5 || p.Level >= 1 || math.IsNaN(p.Level)):
		return fmt.Errorf("%w: confidence level %v: want a level in (0.5, 1), e.g. 0.95", retune.ErrInvalid, p.Level)
	case p.Cooldown < 0:
		return fmt.Errorf("%w: cooldown %v: want a duration >= 0", retune.ErrInvalid, p.Cooldown)
	case p.Analysis != "" && p.Analysis != AnalysisBoth && p.Analysis != AnalysisPaired && p.Analysis != AnalysisUnpaired:
		return fmt.Errorf("%w: analysis %q: want %s (the default), %s or %s", retune.ErrInvalid, p.Analysis, AnalysisBoth, AnalysisPaired, AnalysisUnpaired)
	}
	seen := map[string]bool{}
	for _, g := range p.Guardrails {
		if err := retune.ValidateName("guardrail metric", g.Metric); err != nil {
			return err
		}
		if seen[g.Metric] {
			return fmt.Errorf("%w: guardrail %q given twice", retune.ErrInvalid, g.Metric)
		}
		seen[g.Metric] = true
		if g.MaxRegression < 0 || math.IsNaN(g.MaxRegression) || math.IsInf(g.MaxRegression, 0) {
			return fmt.Errorf("%w: guardrail %q max_regression %v: want a finite fraction >= 0", retune.ErrInvalid, g.Metric, g.MaxRegression)
		}
	}
	return nil
}

func (p Policy) analysis() string {
	if p.Analysis == "" {
		return AnalysisBoth
	}
	return p.Analysis
}

func (p Policy) level() float64 {
	if p.Level == 0 {
		return 0.95
	}
	return p.Level
}

// Margin is the improvement required over a champion whose value is champion.
func (p Policy) Margin(champion float64) float64 {
	return math.Max(p.MinImprovement, p.MinRelativeImprovement*math.Abs(champion))
}

// better signs a difference so that positive means the candidate is better.
func better(dir retune.Direction, candidate, champion float64) float64 {
	if dir == retune.Maximize {
		return candidate - champion
	}
	return champion - candidate
}

// errNoData is returned when values needed for a comparison are missing or not finite.
var errNoData = errors.New("retrain: not enough finite values to compare")

// ComparePoint compares a candidate's value with the champion's recorded value.
func (p Policy) ComparePoint(dir retune.Direction, candidate, champion float64) (retune.Evidence, error) {
	if !finite(candidate) || !finite(champion) {
		return retune.Evidence{}, fmt.Errorf("%w: candidate %v, champion %v", errNoData, candidate, champion)
	}
	return retune.Evidence{
		Method: "point", Direction: dir.String(),
		Candidate: []float64{candidate}, Champion: []float64{champion},
		Improvement: better(dir, candidate, champion), Margin: p.Margin(champion),
		MinImprovement: p.MinImprovement, MinRelative: p.MinRelativeImprovement,
	}, nil
}

// ComparePaired compares k repeats of the candidate with k repeats of the champion, pair
// i run with the same seed: the one-sided lower confidence bound of the mean difference,
// computed as Policy.Analysis says (see the package doc), must exceed the margin, which is
// taken relative to the champion's mean.
func (p Policy) ComparePaired(dir retune.Direction, candidate, champion []float64) (retune.Evidence, error) {
	k := len(candidate)
	if k < 2 || len(champion) != k {
		return retune.Evidence{}, fmt.Errorf("%w: %d candidate and %d champion repeats: want the same number, at least 2", errNoData, k, len(champion))
	}
	diffs := make([]float64, k)
	var mean, candMean, champMean float64
	for i := range candidate {
		if !finite(candidate[i]) || !finite(champion[i]) {
			return retune.Evidence{}, fmt.Errorf("%w: repeat %d: candidate %v, champion %v", errNoData, i, candidate[i], champion[i])
		}
		diffs[i] = better(dir, candidate[i], champion[i])
		mean += diffs[i]
		candMean += candidate[i]
		champMean += champion[i]
	}
	n := float64(k)
	mean /= n
	candMean /= n
	champMean /= n
	var ssDiff, ssCand, ssChamp float64
	for i, d := range diffs {
		ssDiff += (d - mean) * (d - mean)
		ssCand += (candidate[i] - candMean) * (candidate[i] - candMean)
		ssChamp += (champion[i] - champMean) * (champion[i] - champMean)
	}
	if math.IsInf(mean, 0) || math.IsNaN(ssDiff+ssCand+ssChamp) {
		return retune.Evidence{}, fmt.Errorf("%w: the repeats' values overflow float64 arithmetic: candidate %v, champion %v", errNoData, candidate, champion)
	}
	level := p.level()
	if p.analysis() == AnalysisBoth {
		level = 1 - (1-level)/2 // the union bound: each bound may miss with half the chance
	}
	e := retune.Evidence{
		Method: "paired", Analysis: p.analysis(), Direction: dir.String(),
		Candidate: append([]float64(nil), candidate...), Champion: append([]float64(nil), champion...),
		Repeats: k, Differences: diffs, Improvement: mean, Level: p.level(),
		Margin: p.Margin(champMean), MinImprovement: p.MinImprovement, MinRelative: p.MinRelativeImprovement,
	}
	if p.analysis() != AnalysisUnpaired {
		se := math.Sqrt(ssDiff/(n-1)) / math.Sqrt(n)
		b := mean - stat.StudentTQuantile(level, n-1)*se
		e.PairedBound = &b
	}
	if p.analysis() != AnalysisPaired {
		se := math.Sqrt((ssCand+ssChamp)/(2*n-2)) * math.Sqrt(2/n)
		b := mean - stat.StudentTQuantile(level, 2*n-2)*se
		e.UnpairedBound = &b
	}
	switch {
	case e.PairedBound == nil:
		e.LowerBound, e.Bound = e.UnpairedBound, AnalysisUnpaired
	case e.UnpairedBound == nil:
		e.LowerBound, e.Bound = e.PairedBound, AnalysisPaired
	case *e.UnpairedBound > *e.PairedBound:
		e.LowerBound, e.Bound = e.UnpairedBound, AnalysisUnpaired
	default:
		e.LowerBound, e.Bound = e.PairedBound, AnalysisPaired
	}
	return e, nil
}

// Guard checks the guardrails: candidate and champion metrics by name. A guardrail whose
// metric either side lacks fails.
func (p Policy) Guard(candidate, champion map[string]float64) []retune.GuardrailResult {
	out := make([]retune.GuardrailResult, 0, len(p.Guardrails))
	for _, g := range p.Guardrails {
		c, okC := candidate[g.Metric]
		ch, okCh := champion[g.Metric]
		r := retune.GuardrailResult{Metric: g.Metric, Candidate: c, Champion: ch, MaxRegression: g.MaxRegression}
		if okC && okCh && finite(c) && finite(ch) {
			worse := -better(g.Direction, c, ch) // > 0 when the candidate is worse
			if ch != 0 {
				r.Regression = worse / math.Abs(ch)
			} else if worse > 0 {
				r.Regression = math.Inf(1)
			}
			r.OK = r.Regression <= g.MaxRegression
		}
		out = append(out, r)
	}
	return out
}

// Verdict turns evidence into a decision: improved, and the reason either way.
func Verdict(e retune.Evidence) (bool, string) {
	for _, g := range e.Guardrails {
		if !g.OK {
			return false, fmt.Sprintf("guardrail %s regressed by %.3g (allowed %.3g): candidate %v, champion %v", g.Metric, g.Regression, g.MaxRegression, g.Candidate, g.Champion)
		}
	}
	switch e.Method {
	case "paired":
		how := ""
		if e.PairedBound != nil && e.UnpairedBound != nil {
			how = fmt.Sprintf(" (the larger of the paired bound %.4g and the unpaired bound %.4g)", *e.PairedBound, *e.UnpairedBound)
		} else if e.Analysis == AnalysisUnpaired {
			how = " (unpaired)"
		}
		if *e.LowerBound > e.Margin {
			return true, fmt.Sprintf("confirmed: the %s%% lower bound of the mean improvement over %d repeats is %.4g%s, above the margin %.4g", pct(e.Level), e.Repeats, *e.LowerBound, how, e.Margin)
		}
		return false, fmt.Sprintf("not confirmed: the %s%% lower bound of the mean improvement over %d repeats is %.4g%s, not above the margin %.4g (mean %.4g)", pct(e.Level), e.Repeats, *e.LowerBound, how, e.Margin, e.Improvement)
	}
	if e.Improvement > e.Margin {
		return true, fmt.Sprintf("point comparison (no confirmation repeats): improvement %.4g above the margin %.4g", e.Improvement, e.Margin)
	}
	return false, fmt.Sprintf("point comparison (no confirmation repeats): improvement %.4g not above the margin %.4g", e.Improvement, e.Margin)
}

// pct formats a level as a percentage: 0.95 → "95", 0.975 → "97.5".
func pct(level float64) string { return strconv.FormatFloat(100*level, 'g', 4, 64) }

func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }
