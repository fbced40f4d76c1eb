// Package tpe is the Tree-structured Parzen Estimator sampler (Bergstra et al. 2011), with
// the components named as in Watanabe 2023, "Tree-structured Parzen estimator:
// understanding its algorithm components" (arXiv 2304.11127).
//
// After StartupTrials random trials, each proposal splits the usable trials into the γ(n)
// best and the rest, fits a Parzen estimator l to the params of the best and g to the
// others, draws Candidates points from l and returns the one with the largest
// log l(x) - log g(x): the density ratio orders points as expected improvement does.
//
// # Model
//
// Numeric params are modelled in value space, or in log space when log-scaled. Each
// observation is a Gaussian kernel truncated to the bounds. In a univariate estimator its
// bandwidth is the distance to its farther neighbour among the sorted observations and the
// prior's centre (the only one at either end; the bounds are not neighbours), clipped to
// [range/min(100, n+2), range] (the "magic clip", which keeps crowded kernels from
// collapsing into spikes). In a multivariate estimator of n observations over d params
// every kernel of a param has one bandwidth, by Scott's rule σ̂·n^(-1/(d+4)), clipped to
// [range/min(100, n+1), range]. For a continuous param σ̂ is the weighted standard
// deviation of the kernel centres, the prior's included, so the kernels narrow as the
// observations gather and l can close in on its best region (Optuna puts 0.2·range for
// σ̂, so its kernels narrow only by n^(-1/(d+4)) however close the observations are). For
// a discrete param, whose observations often share one grid point, σ̂ is 0.2·range as in
// Optuna (with the power rounded to steps of 1% so that truncation masses can be kept
// between proposals). Ints and floats with a step are grids: a grid point's probability is
// the mass its kernels put on its cell [v-step/2, v+step/2] ([v-1/2, v+1/2] in log space
// for log-scaled ints). Categorical params use weighted counts: an observation's kernel
// puts its weight on its choice plus α = PriorWeight/(n+1) on every choice, normalized (an
// Aitchison–Aitken kernel whose bandwidth shrinks as observations accrue). Every estimator
// has a prior kernel, centred, as wide as the range (uniform over choices), of weight
// PriorWeight: it keeps both densities positive everywhere, so the ratio is always defined.
//
// Candidates are drawn from l with the observations' weights. In the densities that score
// them, each numeric kernel's weight is also multiplied by its bandwidth (by the product of
// its bandwidths in a joint estimator; the prior's by the ranges), so that every kernel has
// the same height: a density then reflects where the observations lie rather than how
// densely the search has sampled there, and g does not push proposals away from a region
// merely because the search crowded it. Optuna 3.1's densities behave this way; in the
// benchmark problems it gives lower regret than kernels of equal mass.
//
// # Constraints
//
// A COMPLETE trial that is infeasible (retune.FrozenTrial.Feasible; see retune.Constraint)
// ranks after every feasible COMPLETE trial and before PRUNED ones; infeasible trials rank
// among themselves by total violation (retune.FrozenTrial.Violation), then by value. So l
// models the best feasible trials, and infeasible ones only while fewer than γ(n) trials
// are feasible, the least violating first. This is what Optuna's TPESampler does with
// constraints_func; it is not c-TPE (Watanabe and Hutter, IJCAI 2023), which models each
// constraint with densities of its own. With several objectives only feasible COMPLETE
// trials enter the non-domination ranking.
//
// # Defaults
//
// The defaults are the settings of Optuna 3, the implementation the paper dissects:
// γ(n) = min(ceil(0.1·n), 25), a linear split capped so that l keeps modelling only the
// very best trials of a long study; 24 candidates, enough to find the ratio's peak near
// l's modes without losing l's spread; 10 startup trials; prior weight 1; the magic clip;
// and observation weights that decay linearly with age beyond the newest 25 (1/n for the
// oldest), so that the densities follow the search as it moves. Multivariate is off, as
// in Optuna; with the bandwidths above the joint model did no worse than the independent
// one on the public benchmark problems and better on most, as the paper finds on most of
// its problems, so it is worth turning on. ConstantLiar is off so that proposals depend
// only on finished trials.
//
// # History
//
// Only finished search trials count, and FAIL trials not at all. COMPLETE trials rank
// first, by value (±Inf are ordinary extremes); PRUNED ones follow, the more steps reached
// the better, then by their last intermediate value (NaN last); PRUNED trials that reported
// nothing come after those, and running trials (with ConstantLiar) last, so they always
// land in g. Ties go to the trial that finished first. A past value is used only if the
// trial drew it from a distribution of the same kind (float, int or categorical) and it
// lies inside the current distribution: widening a range keeps the history, changing a
// param's kind drops it.
//
// With several objectives the COMPLETE trials are ranked by non-domination: whole Pareto
// fronts join l while they fit, and the front that does not fit is thinned by hypervolume,
// with the reference point a tenth of each objective's range beyond the front's worst
// values. With two objectives the point adding the least is dropped until the rest fit;
// with more, greedy hypervolume subset selection adds the point adding the most until l
// is full, as Optuna does. PRUNED and running trials follow as above. Observations are
// weighted as with one objective; with two, l's weights are also scaled by (1 + c)/2,
// where c is the trial's hypervolume contribution among l's trials divided by the largest.
//
// These choices were measured on bench.MOProblems. Thinning a front of three objectives by
// crowding distance, as an earlier version did, keeps its extremes: points that are best
// in one objective, which a poorly converged front has in plenty, far from the true front.
// l then modelled them, and TPE did little better than random search (DTLZ2 with 3
// objectives, 10 seeds, 120 trials: median hypervolume 0.036, random 0.029; by
// hypervolume selection 0.263, Optuna 0.279). Optuna weights l's trials by contribution
// alone; that helped at first and then stalled the search (30 seeds, 300 trials: ZDT1
// 10.46 against 10.95 by age, ZDT2 9.34 against 9.73). Half by contribution, as here, did
// better than by age at 120 trials (ZDT1 10.40 against 10.27, ZDT2 9.43 against 9.22,
// MixedMO 0.599 against 0.580) and about as well at 300 (10.85, 9.87, 0.619 against 10.95,
// 9.73, 0.615). With three and four objectives it lost at 300 trials (DTLZ2 0.529 against
// 0.560, DTLZ5 0.332 against 0.363), so there the weights are by age alone.
//
// In independent mode the split is over all usable trials, and each param then uses those
// that have it. The joint model uses the trials that have every param of the joint space;
// with Group, each group uses the trials that have all of the group.
//
// # Cost
//
// A Sampler keeps what each finished trial of its study contributes (its rank, and its
// params in model space with a sorted copy per param), extended as trials arrive, so a
// proposal does no map lookups, conversions or full sorts over the history. Densities skip
// kernels too far away to matter, and a univariate g sums its crowded kernels with a fast
// Gauss transform. A proposal costs time linear in the number of trials (tens of
// nanoseconds per trial and param) and reuses its scratch memory. Densities are exact to a
// relative 1e-8.
package tpe
