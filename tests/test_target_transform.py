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


# -- the transforms themselves ------------------------------------------------------------

from chainrule.tabular.target import TargetTransform, choose, skewness


@pytest.mark.parametrize("kind", ["standard", "log", "poisson"])
def test_each_transform_round_trips(kind):
    rng = np.random.default_rng(5)
    y = rng.poisson(2.0, 200).astype(float) if kind == "poisson" else rng.lognormal(9, 1, 200)
    t = TargetTransform.fit(y, kind)
    z = t.forward(y)
    np.testing.assert_allclose(t.inverse(z), y, rtol=1e-12, atol=1e-12 * np.abs(y).max())
    if kind != "poisson":   # the network fits mean 0, std 1
        assert abs(z.mean()) < 1e-9 and abs(z.std() - 1) < 1e-9
    else:                   # the rate fits mean 1
        assert abs(z.mean() - 1) < 1e-12
    again = TargetTransform.from_json(t.to_json())
    np.testing.assert_array_equal(again.inverse(z), t.inverse(z))


def test_choose_looks_at_skew_and_whole_numbers():
    rng = np.random.default_rng(6)
    assert choose(rng.normal(100, 10, 500))[0] == "standard"
    assert choose(rng.lognormal(10, 1, 500))[0] == "log"
    kind, reason = choose(rng.poisson(0.5, 500).astype(float))
    assert kind == "poisson" and reason.startswith("a count (whole numbers >= 0, skewness")
    assert choose(rng.lognormal(0, 1, 500) - 5)[0] == "standard"   # values below 0
    assert choose(np.full(10, 3.0))[0] == "standard"
    assert skewness(np.array([1.0, 2.0, 3.0])) == pytest.approx(0.0, abs=1e-12)
    assert skewness(np.array([1e300, 1e300, 1.7e308])) > 0   # no overflow


@pytest.mark.parametrize("record, words", [
    ({"kind": "cube", "mean": 0.0, "std": 1.0}, "bad target transform record"),
    ({"kind": "log", "mean": float("nan"), "std": 1.0}, "bad target transform record"),
    ({"kind": "standard", "mean": 0.0, "std": 0.0}, "bad target transform record"),
    ({"kind": "poisson", "mean": -1.0, "std": 1.0}, "bad target transform record"),
    ("log", "bad target transform record"),
])
def test_a_hostile_record_is_a_clear_error(record, words):
    with pytest.raises(ValueError, match=words):
        TargetTransform.from_json(record, where="m.safetensors")


def _train(tmp_path, frame, target, *extra):
    frame.to_csv(tmp_path / "t.csv", index=False)
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["train", str(tmp_path / "t.csv"), "--target", target, "--task", "regress",
                     "--quiet", "--hidden", "16", "--epochs", "60", "--out",
                     str(tmp_path / "m.st"), *extra])
    assert code == 0
    return out.getvalue()


@pytest.mark.parametrize("kind", ["poisson", "log"])
def test_train_chooses_says_saves_and_predict_undoes(kind, tmp_path):
    rng = np.random.default_rng(7)
    n = 300
    x = rng.normal(size=n)
    colour = rng.choice(["red", "blue"], n)
    mean = np.exp(0.8 * x + 0.5 * (colour == "red"))
    y = rng.poisson(mean) if kind == "poisson" else np.round(1000 * mean * rng.lognormal(0, 0.2, n), 2)
    frame = pd.DataFrame({"x": x, "colour": colour, "y": y})
    said = _train(tmp_path, frame, "y")
    assert said.startswith("target 'y': a count" if kind == "poisson" else
                           "target 'y': values >= 0 skewed to the right"), said
    from chainrule.sklearn.io import load_estimator_with_extras
    est, metadata, _ = load_estimator_with_extras(tmp_path / "m.st")
    record = metadata["tabular"]["target_transform"]
    assert record["kind"] == kind and "target_scale" not in metadata["tabular"]
    assert est.loss == ("poisson" if kind == "poisson" else "squared_error")
    got = predict(tmp_path / "m.st", tmp_path / "t.csv")["prediction"].to_numpy()
    assert got.min() > 0                      # a rate or e^u − 1 of a positive price
    r2 = 1 - np.sum((got - mean * (1 if kind == "poisson" else 1000)) ** 2) / np.sum(
        (y - y.mean()) ** 2)
    assert r2 > 0.5, r2                       # the predictions are in the target's units
    info = io.StringIO()
    with contextlib.redirect_stdout(info):
        assert main(["info", str(tmp_path / "m.st")]) == 0
    assert ("Poisson loss on a log-rate output" if kind == "poisson" else "log(1 + y) standardised") \
        in info.getvalue()


def test_asked_for_transform_and_a_symmetric_target_is_standardised(tmp_path):
    rng = np.random.default_rng(8)
    frame = pd.DataFrame({"x": rng.normal(size=120)})
    frame["y"] = 3 * frame.x + rng.normal(size=120)
    said = _train(tmp_path, frame, "y")
    assert said.startswith("target 'y': values below 0 and skewness ") and ": standardised\n" in said
    frame["y"] = frame.y - frame.y.min()
    assert _train(tmp_path, frame, "y", "--target-transform", "log").startswith(
        "target 'y': asked for")
    frame["y"] = frame.y - 10
    frame.to_csv(tmp_path / "t.csv", index=False)
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        assert main(["train", str(tmp_path / "t.csv"), "--target", "y", "--quiet",
                     "--target-transform", "poisson", "--out", str(tmp_path / "m.st")]) == 1
    assert "--target-transform poisson needs targets >= 0" in err.getvalue()
