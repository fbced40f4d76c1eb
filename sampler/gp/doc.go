// Package gp is a Gaussian-process Bayesian optimization sampler: it models the objective
// over the joint search space with a GP and proposes the point of largest expected
// improvement.
//
// # Model
//
// Numeric params map to [0, 1] (log values for log-scaled ones); an int or a float with a
// step maps its grid values to the middles of equal cells, as uniform sampling weights
// them. Categorical params are compared by Hamming distance: in each categorical
// dimension two points differ by 1 or 0. The kernel is Matérn-5/2 with a lengthscale per
// dimension, a scale, and noise variance on the diagonal no smaller than 1e-6. Values are
// standardized (mean 0, variance 1) before fitting.
//
// The hyperparameters maximize the marginal likelihood times a prior, as in Optuna's
// GPSampler: exp(-0.1/w - 0.1w) on each inverse squared lengthscale w (peaked at a
// lengthscale of 1, the width of the space), Gamma(2, 1) on the scale and Gamma(1.1, 30)
// on the noise variance. They are fitted over their logs by gonum's L-BFGS (at most 60
// iterations, 30 from a warm start, and twice as many function evaluations; quadratic
// walls keep the logs where exp neither overflows nor underflows) at checkpoints: every
// number of observations up to 40, then every n/20-th up to 256 and every n/10-th beyond,
// and every power of two. Each fit starts from the one at the power of two before it, so
// the hyperparameters for n observations depend on those observations alone, not on how
// many asks came before. Between checkpoints the kernel matrix's Cholesky factor is extended
// row by row. A pivot that rounding makes tiny is raised to a floor, so repeated points
// never produce NaN.
//
// # Acquisition
//
// Each proposal maximizes log expected improvement over the best value observed, computed
// stably far into the tail (Ament et al. 2023, "Unexpected improvements to expected
// improvement"), so that it still ranks points where the improvement underflows.
// Options.Candidates points of a scrambled Sobol sequence (put on each param's grid) are scored; the best
// LocalSearches of them and the best observed point start local searches: a box-bounded
// L-BFGS of this package over the continuous params (gonum's has no bounds), and a line search over the values of each discrete or categorical
// param, alternated while the line searches improve.
//
// Running trials (req.Running) with every param of the space join the model as
// observations of the posterior mean (kriging believer), without refitting: the expected
// improvement drops near them, so parallel asks propose different points.
//
// # Trust region
//
// With Options.TrustRegion, each proposal stays inside a box around the best observation,
// as in TuRBO-1 (Eriksson et al., "Scalable global optimization via local Bayesian
// optimization", NeurIPS 2019): candidates are drawn in the box, and local searches are
// bounded by it. The box's side in each numeric dim is L times the dim's lengthscale over
// the geometric mean of the numeric dims' lengthscales, clipped to [0, 1]; categorical
// dims stay whole. L starts at 0.8 and follows the observations in the order they
// finished (after the first StartupTrials): one better than every earlier observation by
// more than 1e-3 of the best's magnitude is a success, any other a failure; 3 successes in
// a row double L (at most 1.6), max(4, d) failures in a row halve it (d: the modelled
// params), and below 1/128 it starts again at 0.8, around the same best observation. L is
// replayed from the history at every proposal, so proposals stay a function of the
// request. The GP itself is fitted to every observation, as without a trust region:
// TuRBO-1 drops the observations of a region when it restarts, this does not. In a small
// box the believed running trials (kriging believer, above) barely change which point is
// best, so parallel asks could all propose one point: while a proposal repeats a running
// trial (within a hundredth of the box's side in each numeric dim), the box doubles,
// until it spans the cube. Package auto uses it from its rules 5 on (rule 5's race, and
// with rules 6 rule 6's GP without constraints); its doc has the figures. With
// constraints whose feasible region falls apart, the box may hold the search in a part
// that is not the best.
//
// # Constraints
//
// When COMPLETE trials carry constraint values (retune.FrozenTrial.Constraints; see
// retune.Constraint), each constraint value gets a GP of its own, fitted like the
// objective's (same kernel, priors and checkpoints; an unknown value, NaN, counts as the
// largest observed). The acquisition is constrained expected improvement (Gardner et al.,
// "Bayesian optimization with inequality constraints", ICML 2014), in logs: log EI over the
// best feasible value plus, for each constraint, the log probability that it is <= 0 under
// its GP. Until a feasible trial exists, the probability of feasibility alone is maximized,
// from the least violating trial. A constraint whose observed values are all equal tells
// nothing and is left out. Running trials join the objective's GP only (kriging believer).
// Optuna's GPSampler does the same with constraints_func.
//
// # History and startup
//
// An observation is a COMPLETE trial with every param of the joint space, each drawn from
// a distribution of the same kind and inside the current one. FAIL and PRUNED trials are
// ignored, and so are NaN values; ±Inf are clipped to the largest and smallest finite
// values observed. Until StartupTrials observations exist, params come from the scrambled
// Sobol sequence of package qmc. Params outside the joint space (conditional ones) are
// drawn uniformly once the GP is in use. Maximized objectives are negated. The sampler
// models one objective: with several, it returns ErrMultiObjective.
//
// Proposals are deterministic: the same request (history, running trials, Rand) gives
// the same params whatever the sampler saw before.
//
// # Cost
//
// A proposal costs O(n²) for n observations plus, at a checkpoint, a fit of O(n³) per
// iteration. Candidates scored shrink beyond 128 observations (see Options.Candidates).
// On two cores a proposal takes a few milliseconds at 100 observations and tens of
// milliseconds at 500.
package gp
