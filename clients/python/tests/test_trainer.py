"""retune.trainer: a Python trainer that `retune run` starts reads its params and reports
through the helper; the run records its steps and result."""

import json
import os
import subprocess
import sys
import textwrap

HERE = os.path.dirname(os.path.abspath(__file__))


def test_trainer_outside_retune():
    out = subprocess.run([sys.executable, "-c", "from retune import trainer; print(trainer.params()); trainer.report(step=2, loss=0.5, acc=float('inf')); trainer.result(loss=1e-07)"],
                         capture_output=True, text=True, check=True, env={**os.environ, "RETUNE_PARAMS": '{"lr": 0.1}'})
    assert out.stdout.splitlines() == ["{'lr': 0.1}", "step=2 loss=0.5 acc=inf", "loss=1e-07"]
    bad = subprocess.run([sys.executable, "-c", "from retune import trainer; trainer.report(step=-1, loss=1)"], capture_output=True, text=True)
    assert bad.returncode != 0 and "step -1" in bad.stderr


def test_trainer_under_retune_run(tmp_path, retune_bin):
    trainer = tmp_path / "train.py"
    trainer.write_text(textwrap.dedent("""
        from retune import trainer
        p = trainer.params()
        loss = (p["x"] - 0.3) ** 2
        for step in range(3):
            trainer.report(step=step, loss=loss + 1.0 / (step + 1))
        trainer.result(loss=loss, width=p["width"])
    """))
    study = tmp_path / "study.yaml"
    study.write_text(textwrap.dedent(f"""
        name: pytrainer
        command: [{json.dumps(sys.executable)}, {json.dumps(str(trainer))}]
        objective: {{metric: loss, direction: minimize}}
        params:
          x: {{type: float, low: 0, high: 1}}
          width: {{type: int, low: 1, high: 4}}
        sampler: {{name: random}}
        seed: 3
        budget: {{trials: 4}}
    """))
    db = tmp_path / "r.db"
    subprocess.run([retune_bin, "run", str(study), "--db", str(db)], check=True, capture_output=True, env={**os.environ, "PYTHONPATH": os.path.dirname(HERE)})
    out = subprocess.run([retune_bin, "export", "pytrainer", "--db", str(db), "--format", "json"], check=True, capture_output=True, text=True)
    trials = json.loads(out.stdout)
    trials = trials["trials"] if isinstance(trials, dict) else trials
    assert len(trials) == 4
    for t in trials:
        assert t["state"] == "COMPLETE"
        x = t["params"]["x"]
        assert abs(t["values"][0] - (x - 0.3) ** 2) < 1e-12
        assert t["metrics"]["width"] == t["params"]["width"]
