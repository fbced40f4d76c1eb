// Package cmaes is the covariance matrix adaptation evolution strategy (CMA-ES), as an
// ask/tell Optimizer usable on its own and as a retune Sampler.
//
// # Optimizer
//
// The Optimizer follows Hansen, "The CMA Evolution Strategy: A Tutorial" (arXiv
// 1604.00772): default population 4+floor(3 ln n), recombination weights with negative
// weights for the worse half (active CMA), cumulative step-size adaptation, rank-one and
// rank-μ covariance updates, and an eigendecomposition of C only every
// 1/(10·n·(c1+cμ)) generations. Candidate k of a generation is drawn from a random stream
// keyed by (seed, generation, k), so it depends only on the state: a restored optimizer,
// or several workers evaluating one generation, see the same candidates. Options add
// bounds (resampling, then clipping), a diagonal covariance (Separable), IPOP and BIPOP
// restarts on Hansen's stopping criteria, and discrete coordinates with a margin (see
// Grid and the margin correction below).
//
// # Sampler
//
// The Sampler models the float and int params of the study's joint space (req.Space:
// the params every COMPLETE trial has), sorted by name, each mapped to [0, 1]: linearly,
// or in log space for log params; ints and floats with a step as a grid whose values own
// cells of equal width. The initial mean is the centre and σ0 = 1/6. Categorical params,
// and params not yet in the joint space, are drawn uniformly. The first trial of a study
// therefore is uniform (the joint space is empty until a trial completes).
//
// The sampler keeps its state in the study (retune.StatefulSampler): the space it models,
// the optimizer, and Start, the first trial number of the current generation. Trial n
// proposes candidate n of the generation's random stream, so parallel workers get
// distinct candidates of one generation even when their asks raced to advance the state. When a request's finished trials hold PopSize usable COMPLETE trials
// numbered Start or later, the first PopSize of them in finish order are told as one
// generation and Start moves past the highest of their numbers. A trial whose params are
// its candidate's is told as the continuous candidate; any other (an enqueued trial, or
// one proposed from an earlier generation that finished late) is told as an injected
// solution at its own params. FAIL and PRUNED trials are ignored: the generation waits for
// later trials, which draw further candidates. ±Inf values are ordinary extremes.
// Proposals are thus a function of the stored state and the finished trials in the order
// they finished: a resumed study (a new Study on the same storage) continues the same
// search. Without a stored state (or an unreadable one), or when the modelled space
// changed, a new search starts with the next trial, from the centre, or from the study's
// history with WarmStart; earlier trials are not told. A study with several objectives is an error:
// CMA-ES needs one.
//
// # Margin
//
// CMA-ES with margin (Hamano et al. 2022) keeps discrete coordinates from freezing on a
// value: after each update, for each Grid coordinate with marginal N(m, s²), the mean and
// a per-coordinate scale A (candidates are m + σ·A·y, y ~ N(0, C)) are adjusted so that
// the probability of leaving the cell of the value nearest m is at least α on the side of
// each neighbour (α/2 per side between two neighbours, α toward the only neighbour at an
// end of the grid). α defaults to 1/(n·λ). σ and C are not changed. When every
// coordinate is discrete the same correction applies, without the special treatment the
// paper gives that case.
//
// # Cost
//
// An ask decodes the stored state only when it changed (decoded states are cached by
// their JSON), scans the finished trials once for the current generation's members, and
// draws one candidate in O(n²). A generation's tell costs O(λn²) plus the
// eigendecomposition.
package cmaes
