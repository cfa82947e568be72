"""Commands import what they need when they need it: predicting from a saved model needs
neither scikit-learn nor SciPy, and --version does not import numba (no timing asserted)."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("pandas")

ROOT = Path(__file__).resolve().parent.parent
BEFORE = ROOT / "tests" / "data" / "tabular_before_transforms"

#: Runs the command in a fresh interpreter and prints which heavy packages it imported.
PROBE = """
import contextlib, io, sys
from chainrule.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        code = main(sys.argv[1:])
    except SystemExit as stop:
        code = stop.code
heavy = sorted({m.split('.')[0] for m in sys.modules} & {'sklearn', 'scipy', 'numba', 'matplotlib'})
print(code, ','.join(heavy) or '-')
print(out.getvalue())
"""


def run(*argv):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", PROBE, *map(str, argv)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    first, _, rest = done.stdout.partition("\n")
    code, heavy = first.split()
    return int(code), heavy.split(",") if heavy != "-" else [], rest


@pytest.mark.parametrize("model, extra", [("price", []), ("kind", ["--proba"])])
def test_predict_imports_neither_sklearn_nor_scipy(model, extra):
    code, heavy, out = run("predict", BEFORE / f"{model}.safetensors", BEFORE / "features.csv", *extra)
    assert code == 0 and len(out.strip().splitlines()) == 49
    assert heavy == [], f"chainrule predict imported {heavy}"


def test_version_does_not_import_numba():
    code, heavy, out = run("--version")
    assert code == 0 and out.startswith("chainrule ")
    assert heavy == [], f"chainrule --version imported {heavy}"
