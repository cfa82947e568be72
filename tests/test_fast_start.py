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


def test_predict_from_an_ensemble_with_robust_scaling_imports_neither(tmp_path):
    import numpy as np
    import pandas as pd

    from chainrule.cli import main
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=60), "shop": rng.choice(["x", "y"], 60)})
    frame["y"] = np.where(frame.a > 0, "up", "down")
    frame.to_csv(tmp_path / "t.csv", index=False)
    model = tmp_path / "m.safetensors"
    assert main(["train", str(tmp_path / "t.csv"), "--target", "y", "--hidden", "4", "--epochs",
                 "5", "--quiet", "--ensemble", "2", "--scale", "robust", "--out", str(model)]) == 0
    code, heavy, out = run("predict", model, tmp_path / "t.csv", "--proba")
    assert code == 0 and len(out.strip().splitlines()) == 61
    assert heavy == [], f"chainrule predict imported {heavy}"


def test_import_chainrule_leaves_the_explainers_and_the_converters_for_first_use():
    probe = ("import sys, chainrule as cr\n"
             "print(sorted(m for m in sys.modules if m.startswith(('chainrule.explain', "
             "'chainrule.files.interchange'))))")
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_every_lazy_name_is_the_object_its_module_holds():
    import importlib

    import chainrule as cr
    for name, (module, attribute) in cr.LAZY.items():
        held = importlib.import_module(module, "chainrule")
        assert getattr(cr, name) is (held if attribute is None else getattr(held, attribute))
        assert name in dir(cr)
        assert name in cr.__all__ or name == "explain"   # a subpackage, as nn, outside __all__
    star = {}
    exec("from chainrule import *", star)
    assert set(cr.__all__) <= set(star)


def test_predict_from_a_model_with_a_category_embedding_imports_neither(tmp_path):
    import numpy as np
    import pandas as pd

    from chainrule.cli import main
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"a": rng.normal(size=200),
                          "shop": [f"s{k}" for k in rng.integers(0, 30, 200)]})
    frame["y"] = frame.a + (frame.shop < "s2")
    frame.to_csv(tmp_path / "t.csv", index=False)
    model = tmp_path / "m.safetensors"
    assert main(["train", str(tmp_path / "t.csv"), "--target", "y", "--hidden", "4", "--epochs",
                 "5", "--quiet", "--category-embedding", "many", "--out", str(model)]) == 0
    code, heavy, out = run("predict", model, tmp_path / "t.csv")
    assert code == 0 and len(out.strip().splitlines()) == 201
    assert heavy == [], f"chainrule predict imported {heavy}"
