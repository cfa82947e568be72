"""The regression target's transform in ``chainrule train``: chosen on the training rows,
undone in predict, kept in the model file; files from before it still predict the same."""
from __future__ import annotations

import contextlib
import io
from pathlib import Path

import numpy as np
import pytest

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")

from chainrule.cli import main

BEFORE = Path(__file__).parent / "data" / "tabular_before_transforms"


def predict(model, data, *extra):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["predict", str(model), str(data), *map(str, extra)])
    assert code == 0
    return pd.read_csv(io.StringIO(out.getvalue()))


@pytest.mark.parametrize("target", ["price", "kind"])
def test_models_written_before_target_transforms_predict_the_same(target):
    """price.safetensors and kind.safetensors were written by ``chainrule train`` (hidden 8,
    30 epochs, seed 0) before target transforms existed, with the predictions beside them."""
    extra = ["--proba"] if target == "kind" else []
    got = predict(BEFORE / f"{target}.safetensors", BEFORE / "features.csv", *extra)
    expected = pd.read_csv(BEFORE / f"{target}_predictions.csv")
    assert list(got.columns) == list(expected.columns) and len(got) == len(expected) == 48
    if target == "price":   # 7 significant digits were written; float32 BLAS may move the 7th
        np.testing.assert_allclose(got["prediction"], expected["prediction"], rtol=1e-5)
        return
    np.testing.assert_allclose(got[["proba_cheap", "proba_dear"]],
                               expected[["proba_cheap", "proba_dear"]], rtol=0, atol=1e-5)
    clear = (expected["proba_dear"] - 0.5).abs() > 1e-4
    assert (got["prediction"][clear] == expected["prediction"][clear]).all()
