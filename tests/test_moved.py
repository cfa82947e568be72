"""The package move broke no import and no pickle.

Every module path that existed before the move still imports, as the very module
that lives at its new path; an estimator and a network pickled by the code before
the move unpickle and predict as they did; every import the README, the docs and
the examples write still runs.
"""
import ast
import importlib
import pathlib
import pickle
import re
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule._moved import MOVED

from conftest import blas_tolerance, sums_length

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("old", sorted(MOVED))
def test_an_old_module_path_is_the_new_module(old):
    module = importlib.import_module("chainrule." + old)
    assert module is importlib.import_module("chainrule." + MOVED[old])
    assert getattr(cr, old) is module
    # the module keeps its own name and spec, so reloading and resources still work
    assert module.__spec__.name == "chainrule." + MOVED[old] == module.__name__


def test_old_paths_import_in_a_fresh_process_in_any_order():
    # pickle's own path: a fresh interpreter, the old name first, before anything else
    code = ("import chainrule.training as t, chainrule.io as io, chainrule.optimizers as o\n"
            "import chainrule.train.loop, chainrule.files.model\n"
            "assert t is chainrule.train.loop and io is chainrule.files.model\n"
            "from chainrule.network import Sequential, mlp\n"
            "from chainrule.trace import trace\n"
            "print(o.Adam.__module__)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "chainrule.optim.optimizers"


def test_objects_pickled_before_the_move_unpickle_and_predict_the_same():
    with open(ROOT / "tests" / "data" / "before_the_move.pkl", "rb") as f:
        blob = pickle.load(f)  # the project's own file, written by the code before the move
    X = blob["X"]
    assert isinstance(blob["network"], cr.Sequential)
    assert isinstance(blob["optimizer"], cr.Adam)
    # the same weights; the estimator (float32) now sums its float64 predictions in float64
    estimator = blob["estimator"]
    tol = blas_tolerance(np.float32, sums_length(estimator.network_))
    np.testing.assert_allclose(estimator.predict_proba(X), blob["proba"], rtol=tol, atol=tol)
    tol = blas_tolerance(blob["network"].dtype, sums_length(blob["network"]))
    np.testing.assert_allclose(blob["network"].predict(X), blob["net_out"], rtol=tol, atol=tol)
    # and they go on training with the optimizer they were pickled with
    before = blob["network"].layers[0].W.copy()
    blob["network"].fit(X, (X[:, 0] > 0).astype(int), loss=cr.BinaryCrossEntropy(),
                        optimizer=blob["optimizer"], epochs=1, verbose=0)
    assert not np.array_equal(before, blob["network"].layers[0].W)


def _imports_in(text):
    """The import statements of a Python source."""
    tree = ast.parse(text)
    return [ast.unparse(node) for node in ast.walk(tree)
            if (isinstance(node, (ast.Import, ast.ImportFrom))
            and (getattr(node, "module", None) or "").startswith("chainrule"))
            or (isinstance(node, ast.Import) and any(a.name.startswith("chainrule") for a in node.names))]


def _documented_imports():
    found = []
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]:
        for block in re.findall(r"```python\n(.*?)```", page.read_text(encoding="utf-8"), re.S):
            try:
                found += [(page.name, line) for line in _imports_in(block)]
            except SyntaxError:  # a fragment shown for reading; its imports are on lines too
                found += [(page.name, line.strip()) for line in block.splitlines()
                          if re.match(r"\s*(from chainrule|import chainrule)", line)]
    for example in sorted((ROOT / "examples").glob("*.py")):
        found += [(example.name, line) for line in _imports_in(example.read_text(encoding="utf-8"))]
    return sorted(set(found))


DOCUMENTED = _documented_imports()


def test_the_docs_import_chainrule_somewhere():
    assert len(DOCUMENTED) >= 5, DOCUMENTED  # the collector itself works


@pytest.mark.parametrize("where, statement", DOCUMENTED, ids=[f"{w}: {s}" for w, s in DOCUMENTED])
def test_every_import_the_docs_write_runs(where, statement):
    exec(compile(statement, where, "exec"), {})
