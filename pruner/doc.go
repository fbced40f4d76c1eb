// Package pruner stops unpromising trials early. Every pruner implements retune.Pruner and
// retune.Specer, is built from an options struct whose zero value is the documented
// default, and is immutable and safe for concurrent use:
//
//   - NewMedian, NewPercentile: prune a trial whose best value so far is worse than a
//     percentile of the completed trials' values at the same step.
//   - NewSuccessiveHalving: asynchronous successive halving (ASHA, Li et al. 2018).
//   - NewHyperband: several successive halving brackets (Li et al. 2017).
//   - NewThreshold: prune values outside fixed bounds, and NaN.
//   - NewPatience: prune only trials that stopped improving, optionally asking another
//     pruner as well.
//   - NewWilcoxon: a paired signed-rank test against the best completed trial.
//   - NewExtrapolate: prune a trial whose optimistic extrapolated final value cannot beat
//     the best completed one.
//
// Pruners are pure: each decision is a function of the retune.PruneRequest alone (the
// trial, the step, the finished trials in finish order and the running ones), so the same
// history gives the same decision and nothing is stored beyond the reported values. Which
// trials a pruner compares with: median and percentile use COMPLETE trials; successive
// halving and Hyperband use every finished trial (COMPLETE, PRUNED or FAIL) and every
// running one; Wilcoxon uses the best COMPLETE trial; Extrapolate uses COMPLETE trials and
// the PRUNED ones whose curves had turned down.
//
// # Extrapolating learning curves
//
// The rules that compare current values (median, percentile, successive halving,
// Hyperband) stop a trial for being behind now, so they lose the late bloomers: the
// configurations that start slowly and end best, and those whose curves cross the others
// late in training. Extrapolate instead compares what the trial could still reach with
// the best final value so far, as the extrapolation of learning curves of Domhan,
// Springenberg and Hutter ("Speeding up automatic hyperparameter optimization of deep
// neural networks by extrapolation of learning curves", IJCAI 2015) and freeze-thaw
// Bayesian optimization (Swersky, Snoek and Adams, 2014) do with parametric curve models
// and their uncertainty. Rather than assuming a shape for the curve, it borrows the shape
// of the completed trials nearest to the trial in curve and in params (a nearest-neighbour
// curve model), takes the largest gain they made from the judged step to their end as an
// optimistic extrapolation, and adds optimism for distance, since a trial unlike any
// completed one is one the model knows little about. A trial is stopped when even that
// optimistic final does not beat the best completed final by a margin: the runs that go
// to the end are then mostly those that may set a new best, and the sampler learns from
// them which configurations end well.
//
// # Special values
//
// NaN is worse than any number, ±Inf included, so a trial reporting NaN ranks below every
// trial that reports a number; ±Inf rank as the extreme values they are. The pruners that
// compare trials never prune before a comparison is possible: with too few completed
// trials, no completed value at the step, or no other trial at the rung, a trial
// continues. Every pruner also lists its options as the Spec it returns, and FromSpec
// builds a pruner back from such a Spec (as a study file or a stored study gives it).
//
// # Several objectives
//
// When the study has several objectives, the percentile, successive halving and
// Hyperband pruners rank vectors instead of values. The trial's vector (its intermediate
// vector at the step for percentile, its rung vector for successive halving) and the
// vectors of the trials it is compared with form a pool. The pool is sorted into
// non-dominated fronts (front 0 holds the vectors no other vector dominates, front 1 those
// only front 0 dominates, …) and each front's vectors get their crowding distance within
// that front, as in NSGA-II. Another trial ranks ahead of the judged trial when it is in an
// earlier front, or in the same front with a strictly larger crowding distance; ties
// favour the judged trial. The rules then keep the same share as with one objective:
//
//   - successive halving and Hyperband keep the trial when fewer than max(1, ⌊n/η⌋) of
//     the n trials at the rung rank ahead of it: the top 1/η, filling fronts in order and
//     breaking the last front considered by crowding distance;
//   - percentile keeps the trial when at most ⌊(n−1)·P/100⌋ of the n compared trials rank
//     ahead of it (the single-objective rule, without interpolation).
//
// Patience counts an improvement in any objective. Threshold checks one chosen objective
// and prunes on NaN in any. Wilcoxon needs a single objective and returns an error
// wrapping retune.ErrInvalid otherwise.
package pruner
