"""examples/python runs: the notebook-style client script and the Optuna script against
the server, and the scikit-learn trainer under `retune run`."""

import json
import os
import pathlib
import subprocess
import sys

import pytest

# RETUNE_TEST_EXAMPLES: the checkout's examples/python (the Go test runs a copy of
# clients/python); else found from this file in a checkout.
EXAMPLES = pathlib.Path(os.environ.get("RETUNE_TEST_EXAMPLES") or pathlib.Path(__file__).resolve().parents[3] / "examples" / "python")


def test_client_and_optuna_examples(url, admin_token):
    if not EXAMPLES.is_dir():
        pytest.skip(f"{EXAMPLES} is not here (the tests run from a copy of the checkout's clients/python)")
    env = {**os.environ, "RETUNE_TOKEN": admin_token, "EXAMPLE_TRIALS": "12"}
    out = subprocess.run([sys.executable, "client_notebook.py", url], cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "best trial" in out.stdout, out.stderr[-2000:]
    out = subprocess.run([sys.executable, "optuna_script.py", url], cwd=EXAMPLES, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and "best:" in out.stdout, out.stderr[-2000:]


def test_sklearn_trainer_example(tmp_path, retune_bin):
    if not EXAMPLES.is_dir():
        pytest.skip(f"{EXAMPLES} is not here")
    try:
        subprocess.run(["/usr/bin/python3", "-c", "import sklearn"], check=True, capture_output=True)
    except subprocess.CalledProcessError:
        pytest.skip("scikit-learn is not installed (Debian: python3-sklearn)")
    db = tmp_path / "r.db"
    out = subprocess.run([retune_bin, "run", str(EXAMPLES / "study.yaml"), "--db", str(db), "--trials", "3"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    out = subprocess.run([retune_bin, "export", "digits-python", "--db", str(db), "--format", "json"], capture_output=True, text=True, check=True)
    data = json.loads(out.stdout)
    trials = data["trials"] if isinstance(data, dict) else data
    assert len(trials) == 3
    for t in trials:
        assert t["state"] in ("COMPLETE", "PRUNED"), t
        if t["state"] == "COMPLETE":
            assert 0.5 < t["values"][0] <= 1 and t["metrics"]["fit_seconds"] > 0
