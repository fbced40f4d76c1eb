// Package nsga2 is the NSGA-II sampler (Deb, Pratap, Agarwal and Meyarivan 2002, "A fast
// and elitist multiobjective genetic algorithm: NSGA-II"), with, as an option for three or
// more objectives, the reference-point selection of NSGA-III (Deb and Jain 2014, "An
// evolutionary many-objective optimization algorithm using reference-point-based
// nondominated sorting approach, Part I").
//
// # Generations
//
// Generations are derived from the study's history, not stored: the COMPLETE trials in the
// order they finished, in blocks of PopulationSize. The first block, drawn uniformly
// (retune.SampleUniform), is the first population. Each later block joins the population
// and the best PopulationSize of the union survive: whole non-dominated fronts while they
// fit, then members of the front that does not fit by decreasing crowding distance
// (NSGA-II, Selection Crowding) or spread over Das–Dennis reference points (NSGA-III,
// Selection Reference, with three or more objectives). Every trial asked
// while a block is filling is a child of the current population.
//
// So a resumed study, in a new process and with a new Sampler, continues where it
// stopped, and a trial's params depend only on the finished trials and the trial's
// randomness (req.Rand, derived from the study seed and the trial number): workers asking
// at the same time get different children of the same population, and a seeded study
// proposes the same params whatever the number of workers, as far as trials finish in the
// same order. FAIL and PRUNED trials count neither towards a block nor as parents; running
// trials are not used. NSGA-III's ties are broken by a generator seeded with the
// generation's number, so every process derives the same population.
//
// # Breeding
//
// Each parent is the winner of a binary tournament: the lower front wins, then the larger
// crowding distance within the population. With Selection Reference and three or more
// objectives the parents are drawn uniformly, as in NSGA-III. With probability CrossoverProb a child
// is bred from two parents: each param, with probability SwappingProb, becomes a
// simulated-binary-crossover child of the two parents' values (SBX; Deb and Agrawal 1995)
// or, for categorical params and with Crossover Uniform, the second parent's value; the
// other params are the first parent's. Otherwise the child is a copy of the first parent.
// Then each param is mutated with probability MutationProb (default 1/n for n params):
// numeric params by Deb's bounded polynomial mutation (or, with Mutation Resample, a
// uniform draw), categorical ones by a uniform choice. A param left unchanged keeps its
// parent's value exactly.
//
// Numeric params are bred in [0, 1]: linear in the value, or in its logarithm when
// log-scaled, with ints and float steps mapped to the centres of equal cells (the inverse
// of retune.FromUnit), and the result is rounded back onto the grid. The joint space is
// req.Space (params every COMPLETE trial has); other params, such as conditional ones, are
// drawn uniformly by Independent. A parent without a usable value for a param (a value
// outside the current distribution, or drawn from one of another kind) contributes a
// uniform draw instead.
//
// # Constraints
//
// Infeasible trials (see retune.Constraint) are handled by Deb's constrained domination,
// as Optuna's NSGAIISampler does with constraints_func: a feasible trial beats an
// infeasible one, and of two infeasible trials the one with less total violation wins.
// Survival takes the feasible trials first, ranked as without constraints, and fills what
// places are left with infeasible ones by least violation; parent tournaments that involve
// an infeasible member pick the one with less violation.
//
// With a single objective the sampler is an elitist genetic algorithm: the population is
// the best PopulationSize trials by value (among the survivors of earlier generations), and
// tournaments pick the better value.
//
// # Defaults
//
// PopulationSize 50, CrossoverProb 0.9, SwappingProb 0.5 and MutationProb 1/n are those of
// Optuna 3.1's NSGAIISampler, and so is crowding for any number of objectives. Crossover
// is uniform, as Optuna's, but mutation is Deb's polynomial mutation (distribution index
// 20), which perturbs a good value rather than replacing it by a random one.
//
// Against Optuna 3.1's NSGAIISampler on the 35 problems of bench.MOProblems (ZDT1–2,
// MixedMO, DTLZ1–7 and WFG1–9 with three and four objectives) at 50, 120 and 300 trials,
// 30 seeds, one-sided Mann-Whitney with Holm's correction over the 105 cells
// (bench/results/mo-20261207T0*-nsga2-*.md):
//
//	selection  crossover  seeds   losses  wins  cells retune's median is below
//	reference  SBX        0–29         2     0    74   (the earlier defaults)
//	crowding   SBX        0–29         0     1    49
//	crowding   uniform    0–29         0     5    29   (chosen on these seeds)
//	crowding   SBX        30–59        1     4    48   (DTLZ2-4 at 300: 0.103 against 0.177)
//	crowding   uniform    30–59        0     9    34   (checked on fresh seeds)
//
// With uniform crossover, ZDT1 and ZDT2 at 300 trials reach 10.39 and 9.57 (seeds 30–59)
// against SBX's 10.26 and 9.42 and Optuna's 9.99 and 9.20. NSGA-III's reference points
// (Selection Reference) spread a population over the front, which the few generations of
// a tuning budget do not reward; they remain an option, and a stored spec without
// "selection" (from before the option) means Reference, so a resumed study keeps what it
// ran. Smaller populations give more generations within a budget: on ZDT1 and ZDT2,
// PopulationSize 20 reached 10.67 and 10.13 with SBX (median of 10 seeds), at the cost of
// a wider spread between seeds.
//
// # Cost
//
// A Sampler keeps the last population it derived and extends it as blocks complete.
// Survival takes O(P log P) time per generation of P trials with two objectives and
// O(m P²) with m of them; a proposal costs a pass over the history plus O(params).
package nsga2
