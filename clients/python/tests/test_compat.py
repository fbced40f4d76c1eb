"""Typical Optuna scripts (tests/scripts) run unchanged but for the import: once with
Debian's Optuna 3.1 in memory, once with retune.optuna against the server. Beyond running,
the study stored on the server must have the sampler and pruner the script asked for,
pruning scripts must prune, best_value must be the best stored value, a multi-objective
front the Pareto front of the stored values, and on the simple problems both must reach
comparable quality."""

import json
import os
import pathlib
import subprocess
import sys
import uuid

import pytest

import retune

SCRIPTS = pathlib.Path(__file__).parent / "scripts"

# script → (sampler name, options it must have, pruner name or "", pruner options)
EXPECT = {
    "s01_quadratic": ("tpe", {"startup_trials": 10, "candidates": 24}, "", {}),
    "s02_conditional": ("random", {}, "", {}),
    "s03_pruning": ("tpe", {}, "median", {"startup_trials": 3, "warmup_steps": 2}),
    "s04_multiobjective": ("nsga2", {"population_size": 10}, "", {}),
    "s05_ask_tell": ("tpe", {"startup_trials": 5}, "", {}),
    "s06_enqueue": ("random", {}, "", {}),
    "s07_callbacks": ("tpe", {}, "", {}),
    "s08_dataframe": ("random", {}, "", {}),
    "s09_deprecated": ("cmaes", {"margin": -1}, "", {}),
    "s10_hyperband": ("tpe", {}, "hyperband", {"min_resource": 1, "max_resource": 9, "reduction_factor": 3}),
    "s11_attrs_catch": ("random", {}, "", {}),
    "s12_grid_qmc": ("grid", {}, "", {}),
}


def run(script, env):
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, cwd=SCRIPTS, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    line = [x for x in out.stdout.splitlines() if x.startswith("RESULT ")][-1]
    return json.loads(line[len("RESULT "):])


def with_optuna(name):
    try:
        import optuna  # noqa: F401
    except ImportError:
        pytest.skip("Optuna is not installed (Debian: python3-optuna)")
    env = {**os.environ, "STUDY_NAME": "optuna-" + name}
    env.pop("OPTUNA_STORAGE", None)
    return run(f"import runpy; runpy.run_path({name + '.py'!r}, run_name='__main__')", env)


def with_retune(name, url, token, study):
    env = {**os.environ, "STUDY_NAME": study, "OPTUNA_STORAGE": url, "RETUNE_TOKEN": token}
    return run(f"import runpy, retune.optuna as o; o.install(); runpy.run_path({name + '.py'!r}, run_name='__main__')", env)


def pareto(points, dirs):
    sign = [1 if d == "minimize" else -1 for d in dirs]
    pts = [tuple(s * v for s, v in zip(sign, p)) for p in points]
    keep = [p for p, q in zip(points, pts) if not any(all(a <= b for a, b in zip(o, q)) and o != q for o in pts)]
    return sorted(map(list, keep))


@pytest.mark.parametrize("name", sorted(EXPECT))
def test_script(name, url, admin_token):
    study = f"compat-{name}-{uuid.uuid4().hex[:6]}"
    theirs = with_optuna(name)
    ours = with_retune(name, url, admin_token, study)
    assert ours["n"] == theirs["n"], (ours, theirs)
    st = retune.connect(url, token=admin_token).load_study(study)
    smp, smp_opts, prn, prn_opts = EXPECT[name]
    assert st.sampler["name"] == smp
    for k, v in smp_opts.items():
        assert st.sampler["options"][k] == v, (k, st.sampler)
    assert st.pruner.get("name", "") == prn, st.pruner
    for k, v in prn_opts.items():
        assert st.pruner["options"][k] == v, (k, st.pruner)
    stored = [t for t in st.trials if t.kind == "search"]
    assert len(stored) == ours["n"]
    done = [t for t in stored if t.state == "COMPLETE"]
    if prn:
        assert ours["count"]["PRUNED"] > 0, "a pruning script pruned nothing"
        assert theirs["count"]["PRUNED"] > 0
    if len(st.directions) == 1:
        best = (min if st.directions[0] == "minimize" else max)(t.value for t in done)
        assert ours["best_value"] == best
    else:
        assert ours["front"] == pareto([t.values for t in done], st.directions)
    if name == "s01_quadratic":  # a fixed simple problem: comparable quality
        assert ours["best_value"] < 1.5 and theirs["best_value"] < 1.5, (ours["best_value"], theirs["best_value"])
    if name == "s02_conditional":
        assert ours["conditional"] and theirs["conditional"]
    if name == "s06_enqueue":
        assert ours["first_params"] == theirs["first_params"] == {"x": 2.0, "y": -1.0}
        assert ours["best_value"] == 0.0
    if name == "s07_callbacks":
        assert ours["callbacks"] == theirs["callbacks"] == 15 and ours["n"] == 15
    if name == "s08_dataframe":
        assert ours["columns"] == theirs["columns"] and ours["rows"] == theirs["rows"] == 12
    if name == "s11_attrs_catch":
        assert ours["count"]["FAIL"] > 0 and ours["best_attrs"] == theirs["best_attrs"] == {"parity": "odd"}
    if name == "s12_grid_qmc":
        assert ours["grid_points"] == theirs["grid_points"] and ours["best_value"] == 0.0


def test_unsupported_arguments_are_named():
    import retune.optuna as optuna

    with pytest.raises(optuna.UnsupportedArgumentError, match="gamma"):
        optuna.samplers.TPESampler(gamma=lambda n: 5)
    with pytest.raises(optuna.UnsupportedArgumentError, match="sigma0"):
        optuna.samplers.CmaEsSampler(sigma0=0.3)
    with pytest.raises(optuna.UnsupportedArgumentError, match="bootstrap_count"):
        optuna.pruners.SuccessiveHalvingPruner(bootstrap_count=2)
    optuna.samplers.TPESampler(consider_endpoints=False, n_startup_trials=3)  # Optuna's default: fine


def test_duplicate_and_load(url, admin_token, run_token):
    import retune.optuna as optuna

    os.environ["RETUNE_TOKEN"] = admin_token
    try:
        name = "compat-dup-" + uuid.uuid4().hex[:6]
        s = optuna.create_study(storage=url, study_name=name, direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0))
        assert s.direction == optuna.study.StudyDirection.MAXIMIZE
        with pytest.raises(optuna.exceptions.DuplicatedStudyError):
            optuna.create_study(storage=url, study_name=name)
        os.environ["RETUNE_TOKEN"] = run_token
        loaded = optuna.load_study(study_name=name, storage=url)
        loaded.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
        assert len(s.trials) == 3 and s.best_value == max(t.value for t in s.trials)
        with pytest.raises(retune.ConflictError, match="random"):
            optuna.load_study(study_name=name, storage=url, sampler=optuna.samplers.TPESampler())
        assert retune.connect(url, token=run_token).load_study(name)._info["seed"] == str(2**64 - 1)
    finally:
        os.environ.pop("RETUNE_TOKEN", None)
