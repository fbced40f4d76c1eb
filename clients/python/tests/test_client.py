"""The client against a real server: create and resume, ask/tell, define-by-run,
pruning, optimize with threads and an exact budget, errors, retries and idempotency."""

import http.server
import math
import threading
import urllib.request

import pytest

import retune
from retune import _http


def test_create_resume_and_errors(client, name, url, run_token):
    st = client.study(name, direction="maximize", sampler={"name": "tpe", "startup_trials": 3}, seed=5, budget=4)
    assert st.directions == ["maximize"]
    assert st.sampler["name"] == "tpe" and st.sampler["options"]["startup_trials"] == 3
    again = retune.connect(url, token=run_token).study(name)  # resuming needs no admin token
    assert again.name == name
    with pytest.raises(retune.ConflictError, match="startup_trials=3"):
        client.study(name, sampler={"name": "tpe", "startup_trials": 7})
    with pytest.raises(retune.ConflictError, match="directions"):
        client.study(name, direction="minimize")
    with pytest.raises(retune.ConflictError, match="budget of 4"):
        client.study(name, budget=5)
    with pytest.raises(retune.ConflictError, match="seed 5"):
        client.study(name, seed=6)
    assert client.study(name, seed=5, budget=4).name == name
    with pytest.raises(retune.NotFoundError) as e:
        client.load_study(name + "-missing")
    assert e.value.status == 404 and name + "-missing" in e.value.detail
    with pytest.raises(retune.AuthError):
        retune.connect(url, token=run_token).study(name + "-new", direction="minimize")
    with pytest.raises(retune.AuthError):
        retune.connect(url, token="rt_not_a_token").studies()
    with pytest.raises(retune.InvalidRequestError) as e:
        client.study(name + "-bad", sampler={"name": "tpe", "startup_trails": 3})
    assert e.value.status == 422 and "startup_trails" in e.value.detail and e.value.field
    assert any(s["name"] == name for s in client.studies())


def test_ask_tell_define_by_run(client, name):
    st = client.study(name, sampler="random", seed=3, budget=5)
    t = st.ask(space={"lr": retune.float_dist(1e-4, 1e-1, log=True), "opt": retune.categorical_dist(["adam", "sgd"])})
    assert 1e-4 <= t.params["lr"] <= 1e-1 and t.params["opt"] in ("adam", "sgd")
    assert t.suggest_float("lr", 1e-4, 1e-1, log=True) == t.params["lr"]  # from the ask: no request
    with pytest.raises(ValueError, match="suggested as"):
        t.suggest_float("lr", 0, 1)
    layers = t.suggest_int("layers", 1, 4)
    assert 1 <= layers <= 4
    with pytest.raises(retune.InvalidRequestError):
        t.suggest_int("bad", 3, 1)
    t.set_user_attr("fold", 2)
    t.set_metric("acc", 0.9)
    ft = st.tell(t, 0.25)
    assert ft.state == "COMPLETE" and ft.values == [0.25] and ft.user_attrs == {"fold": 2} and ft.metrics["acc"] == 0.9
    assert set(ft.params) == {"lr", "opt", "layers"}
    with pytest.raises(retune.LeaseLostError):
        st.tell(t, 0.5)  # the trial is finished: this client no longer holds it
    t2 = st.ask()
    assert st.tell(t2, math.nan).state == "FAIL"  # NaN fails the trial, as Optuna does
    t3 = st.ask()
    assert st.tell(t3, state="FAIL", reason="diverged").reason == "diverged"
    n = st.enqueue({"lr": 0.01, "opt": "sgd"})
    t4 = st.ask()
    assert t4.number == n and t4.suggest_float("lr", 1e-4, 1e-1, log=True) == 0.01
    st.tell(t4, 0.1)
    assert st.best_trial.number == n
    states = [t.state for t in st.trials]
    assert states == ["COMPLETE", "FAIL", "FAIL", "COMPLETE"]
    st.ask()  # the fifth and last of the budget
    with pytest.raises(retune.BudgetExhaustedError):
        st.ask()


def test_default_sampler_define_by_run(client, name):
    # A study created without a sampler gets the server's default, auto, which records its
    # pick on each trial; define-by-run params (a float, an int, a categorical) work with it.
    st = client.study(name, seed=4, budget=14)
    assert st.sampler["name"] == "auto"

    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        n = trial.suggest_int("n", 1, 4)
        c = trial.suggest_categorical("c", ["a", "b"])
        return (x - 1) ** 2 + n + (0 if c == "a" else 1)

    st.optimize(objective, n_trials=14)
    trials = st.trials
    assert len(trials) == 14 and all(t.state == "COMPLETE" for t in trials)
    picks = [t.system_attrs.get("auto.sampler") for t in trials]
    # 3 params, 1 categorical: the GP until 200 trials, quasi-random for the first and in a
    # trust region after it.
    assert picks == ["gp"] + ["gp-trust"] * 13, picks
    assert all(-3 <= t.params["x"] <= 3 and 1 <= t.params["n"] <= 4 and t.params["c"] in ("a", "b") for t in trials)


def test_report_prune_and_optimize(client, name):
    st = client.study(name, sampler={"name": "tpe", "startup_trials": 4}, pruner={"name": "threshold", "upper": 1.0}, seed=9, budget=20)

    def objective(trial):
        x = trial.suggest_float("x", -3, 3)
        for step in range(4):
            if trial.report(x * x, step):
                raise retune.TrialPruned()
        return (x - 1) ** 2

    seen = []
    done = st.optimize(objective, n_trials=50, n_jobs=3, callbacks=[lambda s, ft: seen.append(ft.number)])
    trials = st.trials
    assert len(done) == 20 and len(trials) == 20 and sorted(seen) == list(range(20))  # the budget, exactly
    pruned = [t for t in trials if t.state == "PRUNED"]
    assert pruned and all(abs(t.params["x"]) > 1 for t in pruned)
    assert all(t.state == "COMPLETE" for t in trials if abs(t.params["x"]) < 1)
    best = min((t for t in trials if t.state == "COMPLETE"), key=lambda t: t.value)
    assert st.best_trial.number == best.number
    rows = st.to_dataframe()
    assert len(rows) == 20 and "params_x" in rows.columns


def test_optimize_catch_and_raise(client, name):
    st = client.study(name, sampler="random", seed=1)

    def objective(trial):
        x = trial.suggest_int("x", 0, 9)
        if x % 2:
            raise KeyError("odd")
        return x

    with pytest.raises(KeyError):
        st.optimize(objective, n_trials=30)
    assert st.trials[-1].state == "FAIL" and "KeyError" in st.trials[-1].reason
    before = len(st.trials)
    st.optimize(objective, n_trials=10, catch=(KeyError,))
    assert len(st.trials) == before + 10


def test_heartbeats_keep_a_slow_trial(client, name):
    st = client.study(name, sampler="random")
    t = st.ask(lease_seconds=0.3)
    t.start_heartbeats()
    threading.Event().wait(1.2)  # four leases: only the heartbeats keep it
    ft = st.trials[0]
    assert ft.state == "RUNNING"
    assert st.tell(t, 1.0).state == "COMPLETE"


def test_multi_objective_front(client, name):
    st = client.study(name, directions=["minimize", "maximize"], sampler="random", seed=2)
    st.optimize(lambda t: (t.suggest_float("a", 0, 1), t.suggest_float("b", 0, 1)), n_trials=25)
    pts = [(t.values[0], t.values[1]) for t in st.trials]
    front = {p for p in pts if not any(q != p and q[0] <= p[0] and q[1] >= p[1] for q in pts)}
    assert {tuple(t.values) for t in st.best_trials} == front
    with pytest.raises(RuntimeError):
        st.best_trial


class _Flaky(http.server.BaseHTTPRequestHandler):
    """Answers 503 to the first `fail` requests, then forwards to the real server."""

    fail = 2
    target = ""
    keys = []

    def _handle(self):
        cls = type(self)
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)) or None
        if self.headers.get("Idempotency-Key"):
            cls.keys.append(self.headers["Idempotency-Key"])
        if cls.fail > 0:
            cls.fail -= 1
            self.send_response(503)
            self.send_header("Content-Type", "application/problem+json")
            self.end_headers()
            self.wfile.write(b'{"title":"Service Unavailable","status":503,"detail":"restarting"}')
            return
        req = urllib.request.Request(cls.target + self.path, data=body, method=self.command,
                                     headers={k: v for k, v in self.headers.items() if k.lower() not in ("host", "content-length")})
        try:
            with urllib.request.urlopen(req) as r:
                status, data = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, data = e.code, e.read()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(data)

    do_GET = do_POST = _handle

    def log_message(self, *args):
        pass


def test_retries_keep_one_trial(client, name, url, admin_token):
    st = client.study(name, sampler="random", budget=3)
    _Flaky.target, _Flaky.fail, _Flaky.keys = url, 2, []
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Flaky)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    try:
        flaky = retune.connect(f"http://127.0.0.1:{srv.server_address[1]}", token=admin_token, retry_for=10).load_study(name)
        _Flaky.fail = 2
        t = flaky.ask()  # two 503s, then the ask: one trial
        assert len(set(_Flaky.keys)) == 1 and len(_Flaky.keys) == 3  # the same key on every try
        assert [x.number for x in st.trials] == [t.number]
    finally:
        srv.shutdown()
    # The API's idempotency: the same key twice is one ask.
    tr = _http.Transport(url, admin_token)
    key = "py-test-" + name
    a = tr.request("POST", f"/studies/{name}/trials", {}, key=key)
    b = tr.request("POST", f"/studies/{name}/trials", {}, key=key)
    assert a["number"] == b["number"] and len(st.trials) == 2
    with pytest.raises(retune.ServerUnavailableError):
        retune.connect("http://127.0.0.1:9", token=admin_token, retry_for=0.3).studies()


def test_retraining_side(client, name):
    st = client.study(name, sampler="random")
    assert st.champion() is None
    assert st.decisions() == []
