#!/usr/bin/python3
"""Optuna's storage throughput with several worker processes on one study.

optuna_ref.py's storage mode (PROTOCOL.md §2) runs one worker. This runs W processes,
each with its own storage connection, sharing one study through Optuna 3.1's RDB storage,
as Optuna's documentation has distributed workers do: the same random sampler and space A
(five floats in [-5, 5], the sum of squares), n ask+tell rounds in all (a shared counter
hands them out), timed from the moment every worker is ready to the last tell. Needs
Debian's python3-optuna and, for PostgreSQL, python3-psycopg2; run with /usr/bin/python3:

  optuna_storage.py --store postgres --db postgresql+psycopg2://postgres@127.0.0.1:5432/optuna_bench \
                    --n 5000 --workers 8

It prints one JSON object as bench.StorageResult reads it.
"""
import argparse
import json
import multiprocessing as mp
import os
import time


def space_a(trial):
    return sum(trial.suggest_float(f"x{i}", -5, 5) ** 2 for i in range(5))


def worker(url, name, seed, left, ready, go):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(study_name=name, storage=url,
                              sampler=optuna.samplers.RandomSampler(seed=seed))
    ready.wait()
    go.wait()
    while True:
        with left.get_lock():
            if left.value <= 0:
                return
            left.value -= 1
        trial = study.ask()
        study.tell(trial, space_a(trial))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--store", choices=["sqlite", "postgres"], required=True)
    p.add_argument("--db", required=True, help="a SQLite file (removed first) or a SQLAlchemy URL")
    p.add_argument("--n", type=int, default=500)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    a = p.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    url = a.db
    if a.store == "sqlite":
        if os.path.exists(a.db):
            os.remove(a.db)
        url = f"sqlite:///{a.db}"
    name = f"ref-{os.getpid()}-{time.time_ns()}"
    optuna.create_study(storage=url, study_name=name)
    ctx = mp.get_context("spawn")
    left = ctx.Value("i", a.n)
    ready = ctx.Barrier(a.workers + 1)
    go = ctx.Barrier(a.workers + 1)
    procs = [ctx.Process(target=worker, args=(url, name, a.seed + w, left, ready, go)) for w in range(a.workers)]
    for pr in procs:
        pr.start()
    ready.wait()
    start = time.perf_counter()
    go.wait()
    for pr in procs:
        pr.join()
        if pr.exitcode != 0:
            raise SystemExit(f"a worker exited with status {pr.exitcode}")
    el = time.perf_counter() - start
    n_read = len(optuna.load_study(study_name=name, storage=url).trials)
    print(json.dumps({"lib": "optuna", "mode": "storage", "store": a.store, "n": a.n, "workers": a.workers,
                      "loop_s": el, "trials_per_s": a.n / el, "n_trials_read_back": n_read}))


if __name__ == "__main__":
    main()
