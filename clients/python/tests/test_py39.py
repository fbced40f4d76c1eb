"""Every module of the package parses as Python 3.9 (only a newer Python runs here)."""

import ast
import pathlib

import retune

ROOT = pathlib.Path(retune.__file__).parent


def test_parses_as_python39():
    files = sorted(ROOT.rglob("*.py"))
    assert len(files) >= 8
    for f in files:
        ast.parse(f.read_text(), filename=str(f), feature_version=(3, 9))
