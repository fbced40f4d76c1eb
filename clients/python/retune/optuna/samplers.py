"""Optuna's samplers, mapped to retune's (which run on the server).

| Optuna | retune | mapped arguments |
| --- | --- | --- |
| TPESampler | tpe | n_startup_trials→startup_trials, n_ei_candidates→candidates, multivariate, group, constant_liar, prior_weight, seed |
| RandomSampler | random | seed |
| CmaEsSampler | cmaes | popsize, restart_strategy→restart, inc_popsize→popsize_factor, use_separable_cma→separable, with_margin (False: plain rounding), seed |
| NSGAIISampler | nsga2 | population_size, mutation_prob, crossover_prob, swapping_prob, seed |
| QMCSampler | qmc | qmc_type→type, scramble, seed |
| GridSampler | grid | search_space→values, seed |

Every other argument raises UnsupportedArgumentError naming it, unless it holds Optuna's
default (callables such as gamma, weights or constraints_func never map: the sampler runs
on the server). The seed is the study's seed.
"""

from __future__ import annotations

from typing import Any, Dict, Mapping, Optional, Sequence

from ._args import refuse, spec


class BaseSampler:
    """A sampler as retune stores it: ``spec`` (name and options) and the study ``seed``."""

    spec: Dict[str, Any]
    seed: Optional[int] = None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.spec})"


class TPESampler(BaseSampler):
    def __init__(
        self,
        consider_prior: bool = True,
        prior_weight: float = 1.0,
        consider_magic_clip: bool = True,
        consider_endpoints: bool = False,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        gamma: Any = None,
        weights: Any = None,
        seed: Optional[int] = None,
        *,
        multivariate: bool = False,
        group: bool = False,
        warn_independent_sampling: bool = True,
        constant_liar: bool = False,
        constraints_func: Any = None,
    ) -> None:
        refuse(
            "TPESampler",
            {"consider_prior": consider_prior, "consider_magic_clip": consider_magic_clip, "consider_endpoints": consider_endpoints,
             "gamma": gamma, "weights": weights, "constraints_func": constraints_func},
            {"consider_prior": True, "consider_magic_clip": True, "consider_endpoints": False, "gamma": None, "weights": None, "constraints_func": None},
            {"gamma": "a Python callable cannot run on the server (retune's TPE uses Optuna's default gamma)",
             "weights": "a Python callable cannot run on the server (retune's TPE uses Optuna's default weights)",
             "constraints_func": "declare constraints on metrics in the study (constraints:) instead"},
        )
        self.seed = seed
        self.spec = spec("tpe", startup_trials=n_startup_trials, candidates=n_ei_candidates, multivariate=multivariate,
                         group=group, constant_liar=constant_liar, prior_weight=float(prior_weight))


class RandomSampler(BaseSampler):
    def __init__(self, seed: Optional[int] = None) -> None:
        self.seed = seed
        self.spec = spec("random")


class CmaEsSampler(BaseSampler):
    def __init__(
        self,
        x0: Optional[Mapping[str, Any]] = None,
        sigma0: Optional[float] = None,
        n_startup_trials: int = 1,
        independent_sampler: Any = None,
        warn_independent_sampling: bool = True,
        seed: Optional[int] = None,
        *,
        consider_pruned_trials: bool = False,
        restart_strategy: Optional[str] = None,
        popsize: Optional[int] = None,
        inc_popsize: int = 2,
        use_separable_cma: bool = False,
        with_margin: bool = False,
        source_trials: Any = None,
    ) -> None:
        refuse(
            "CmaEsSampler",
            {"x0": x0, "sigma0": sigma0, "n_startup_trials": n_startup_trials, "independent_sampler": independent_sampler,
             "consider_pruned_trials": consider_pruned_trials, "source_trials": source_trials},
            {"x0": None, "sigma0": None, "n_startup_trials": 1, "independent_sampler": None, "consider_pruned_trials": False, "source_trials": None},
            {"x0": "retune's CMA-ES starts at the centre of the space (or warm-starts from the study's best trials: cmaes warm_start)",
             "sigma0": "retune's sigma0 is in the unit cube, Optuna's in the params' scale: give it in the study's sampler options",
             "n_startup_trials": "retune's CMA-ES has no startup trials",
             "independent_sampler": "retune samples params outside the joint space at random",
             "consider_pruned_trials": "retune's CMA-ES learns from COMPLETE trials only",
             "source_trials": "use cmaes warm_start in the study's sampler options"},
        )
        if restart_strategy not in (None, "ipop", "bipop"):
            raise ValueError(f"CmaEsSampler: restart_strategy {restart_strategy!r}: want None, 'ipop' or 'bipop'")
        self.seed = seed
        self.spec = spec("cmaes", popsize=popsize, restart=restart_strategy or "none", popsize_factor=float(inc_popsize),
                         separable=use_separable_cma, margin=None if with_margin else -1)


class NSGAIISampler(BaseSampler):
    def __init__(
        self,
        *,
        population_size: int = 50,
        mutation_prob: Optional[float] = None,
        crossover: Any = None,
        crossover_prob: float = 0.9,
        swapping_prob: float = 0.5,
        seed: Optional[int] = None,
        constraints_func: Any = None,
    ) -> None:
        refuse("NSGAIISampler", {"crossover": crossover, "constraints_func": constraints_func}, {"crossover": None, "constraints_func": None},
               {"crossover": "give retune's crossover (sbx or uniform) in the study's sampler options",
                "constraints_func": "declare constraints on metrics in the study (constraints:) instead"})
        self.seed = seed
        self.spec = spec("nsga2", population_size=population_size, mutation_prob=mutation_prob,
                         crossover_prob=crossover_prob, swapping_prob=swapping_prob)


class QMCSampler(BaseSampler):
    def __init__(
        self,
        *,
        qmc_type: str = "sobol",
        scramble: bool = False,
        seed: Optional[int] = None,
        independent_sampler: Any = None,
        warn_asynchronous_seeding: bool = True,
        warn_independent_sampling: bool = True,
    ) -> None:
        refuse("QMCSampler", {"independent_sampler": independent_sampler}, {"independent_sampler": None},
               {"independent_sampler": "retune samples params outside the joint space at random"})
        if qmc_type not in ("sobol", "halton"):
            raise ValueError(f"QMCSampler: qmc_type {qmc_type!r}: retune has 'sobol' and 'halton'")
        self.seed = seed
        self.spec = spec("qmc", type=qmc_type, scramble=scramble)


class GridSampler(BaseSampler):
    """retune's grid takes its points from the study's declared params: create_study
    declares each of ``search_space`` with its values."""

    def __init__(self, search_space: Mapping[str, Sequence[Any]], seed: Optional[int] = None) -> None:
        self.seed = seed
        self.search_space = {k: list(v) for k, v in search_space.items()}
        self.spec = spec("grid")

    def params(self) -> Dict[str, Dict[str, Any]]:
        """The declared params of the grid: int, float or categorical by their values."""
        out: Dict[str, Dict[str, Any]] = {}
        for k, vals in self.search_space.items():
            if all(isinstance(v, int) and not isinstance(v, bool) for v in vals):
                kind = "int"
            elif all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in vals):
                kind = "float"
            else:
                kind = "categorical"
            out[k] = {"type": kind, "values": vals}
        return out


__all__ = ["BaseSampler", "CmaEsSampler", "GridSampler", "NSGAIISampler", "QMCSampler", "RandomSampler", "TPESampler"]
