"""chainrule train / predict / info on real tables, and on broken ones."""
import os
import pathlib
import re
import subprocess
import sys

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main

pd = pytest.importorskip("pandas")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


@pytest.fixture(scope="module")
def cancer_csv(tmp_path_factory):
    from sklearn.datasets import load_breast_cancer
    frame = load_breast_cancer(as_frame=True).frame
    frame["diagnosis"] = frame.pop("target").map({0: "malignant", 1: "benign"})
    path = tmp_path_factory.mktemp("data") / "breast_cancer.csv"
    frame.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def cancer_model(cancer_csv, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "model.safetensors"
    code = main(["train", str(cancer_csv), "--target", "diagnosis", "--hidden", "16",
                 "--epochs", "150", "--quiet", "--out", str(out)])
    assert code == 0
    return out


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_train_reports_validation_accuracy(cancer_csv, tmp_path, capsys):
    code, out, err = run(capsys, "train", cancer_csv, "--target", "diagnosis",
                         "--out", tmp_path / "m.safetensors")
    assert code == 0 and (tmp_path / "m.safetensors").exists()
    assert re.search(r"MLPClassifier \[\d+(, \d+)*\] on 455 rows: best epoch \d+ of \d+;", out), out
    assert "validation accuracy" in out
    accuracy = float(out.split("validation accuracy ")[1].split()[0])
    assert accuracy > 0.93
    assert "training" in err  # the progress bar


def test_predict_writes_one_row_per_input_row(cancer_csv, cancer_model, tmp_path, capsys):
    code, out, err = run(capsys, "predict", cancer_model, cancer_csv)
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "prediction" and len(lines) == 570
    truth = pd.read_csv(cancer_csv)["diagnosis"]
    assert np.mean(np.array(lines[1:]) == truth.to_numpy()) > 0.93
    code, out, _ = run(capsys, "predict", cancer_model, cancer_csv, "--proba",
                       "--out", tmp_path / "p.csv")
    assert code == 0 and out == ""
    table = pd.read_csv(tmp_path / "p.csv")
    assert list(table.columns) == ["prediction", "proba_benign", "proba_malignant"]
    np.testing.assert_allclose(table.proba_benign + table.proba_malignant, 1, atol=1e-6)


def test_info_describes_the_model(cancer_model, capsys):
    code, out, _ = run(capsys, "info", cancer_model)
    assert code == 0
    assert "MLPClassifier" in out and "classify 'diagnosis'" in out
    assert "classes:    benign, malignant" in out and "validation: accuracy" in out
    assert "Dense(n_in=30, n_out=16" in out


def test_regression_with_categorical_columns_and_parquet(tmp_path, capsys):
    pytest.importorskip("pyarrow")
    rng = np.random.default_rng(0)
    n = 300
    colour = rng.choice(["red", "green", "blue"], n)
    x = rng.normal(size=n) * 50 + 100
    price = 0.02 * x + np.select([colour == "red", colour == "green"], [1.0, -1.0], 0.0) \
        + rng.normal(scale=0.05, size=n)
    frame = pd.DataFrame({"size": x, "colour": colour, "price": price})
    frame.to_parquet(tmp_path / "shop.parquet")
    code, out, _ = run(capsys, "train", tmp_path / "shop.parquet", "--target", "price",
                       "--hidden", "16", "--epochs", "300", "--lr", "0.01", "--quiet",
                       "--out", tmp_path / "shop.safetensors")
    assert code == 0 and "MLPRegressor" in out and "validation R²" in out
    assert float(out.split("validation R² ")[1].split()[0]) > 0.9
    code, out, _ = run(capsys, "info", tmp_path / "shop.safetensors")
    assert "regress 'price'" in out and "colour (3 categories)" in out
    new = pd.DataFrame({"colour": ["red", "purple"], "size": [100.0, 100.0]})  # unseen category
    new.to_csv(tmp_path / "new.csv", index=False)
    code, out, _ = run(capsys, "predict", tmp_path / "shop.safetensors", tmp_path / "new.csv")
    assert code == 0
    red, purple = (float(v) for v in out.splitlines()[1:])
    assert red == pytest.approx(3.0, abs=0.3) and purple == pytest.approx(2.0, abs=0.6)
    code, _, err = run(capsys, "predict", tmp_path / "shop.safetensors", tmp_path / "new.csv", "--proba")
    assert code == 1 and "--proba needs a classifier" in err


# -- broken input: one line, a non-zero exit, never a traceback -------------------------------

def _broken(tmp_path, cancer_csv):
    frame = pd.read_csv(cancer_csv).head(50)
    typo = frame.copy()
    typo["mean radius"] = typo["mean radius"].astype(object)
    typo.loc[17, "mean radius"] = "12,5"
    typo.to_csv(tmp_path / "typo.csv", index=False)
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "header.csv").write_text("a,b,y\n")
    (tmp_path / "other.csv").write_text("a,b\n1,2\n")
    (tmp_path / "fake.safetensors").write_bytes(os.urandom(300))
    return {"typo": tmp_path / "typo.csv", "empty": tmp_path / "empty.csv",
            "header": tmp_path / "header.csv", "other": tmp_path / "other.csv", "fake": tmp_path / "fake.safetensors"}


@pytest.mark.parametrize("case, argv, words", [
    ("missing target", ["train", "{csv}", "--target", "nope", "--out", "{tmp}/m.st"],
     ["has no column 'nope'", "'mean radius'", "and 23 more"]),
    ("text in numeric", ["train", "{typo}", "--target", "diagnosis", "--out", "{tmp}/m.st"],
     ["typo.csv", "row 18 (line 19)", "'mean radius'", "'12,5'"]),
    ("empty file", ["train", "{empty}", "--target", "y", "--out", "{tmp}/m.st"],
     ["empty.csv is empty"]),
    ("header only", ["train", "{header}", "--target", "y", "--out", "{tmp}/m.st"],
     ["no data rows"]),
    ("no such file", ["train", "{tmp}/absent.csv", "--target", "y", "--out", "{tmp}/m.st"],
     ["absent.csv: no such file"]),
    ("fake model", ["predict", "{fake}", "{csv}"], ["fake.safetensors"]),
    ("csv as model", ["info", "{csv}"], ["breast_cancer.csv"]),
    ("predict text in numeric", ["predict", "{model}", "{typo}"],
     ["typo.csv", "row 18", "'mean radius' is numeric", "'12,5'"]),
    ("predict missing column", ["predict", "{model}", "{other}"],
     ["other.csv lacks the feature column", "'mean radius'"]),
    ("diverges", ["train", "{csv}", "--target", "mean area", "--lr", "1e30", "--quiet",
                  "--out", "{tmp}/m.st"], ["training diverged", "learning rate (lr=1e+30) is likely too high",
                                           "weights are those before this batch"]),
    ("bad hidden", ["train", "{csv}", "--target", "diagnosis", "--hidden", "16,x",
                    "--out", "{tmp}/m.st"], ["--hidden"]),
    ("negative seed", ["train", "{csv}", "--target", "diagnosis", "--seed", "-1",
                       "--out", "{tmp}/m.st"],
     ["--seed must be a whole number from 0 to 4,294,967,295 (below 2**32), got -1"]),
    ("seed beyond 2**32", ["train", "{csv}", "--target", "diagnosis", "--seed", "4294967296",
                           "--out", "{tmp}/m.st"], ["got 4294967296"]),
    ("ensemble beyond 2**32", ["train", "{csv}", "--target", "diagnosis", "--seed",
                               "4294967295", "--ensemble", "2", "--out", "{tmp}/m.st"],
     ["--seed 4294967295 with --ensemble 2 would use the seeds 4294967295..4294967296",
      "give --seed 4294967294 or less"]),
])
def test_bad_input_gives_one_line_and_exit_1(case, argv, words, tmp_path, cancer_csv,
                                             cancer_model, capsys):
    files = _broken(tmp_path, cancer_csv)
    argv = [a.format(csv=cancer_csv, tmp=tmp_path, model=cancer_model, **files) for a in argv]
    code, out, err = run(capsys, *argv)
    assert code == 1, (case, out, err)
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), err
    for word in words:
        assert word in lines[0], (case, lines[0])


def test_network_file_is_not_a_table_model(tmp_path, cancer_csv, capsys):
    import chainrule as cr
    cr.mlp([30, 2], seed=0).save(tmp_path / "net.safetensors")
    code, _, err = run(capsys, "predict", tmp_path / "net.safetensors", cancer_csv)
    assert code == 1 and "not a saved estimator" in err
    code, out, _ = run(capsys, "info", tmp_path / "net.safetensors")
    assert code == 0 and "a chainrule network" in out


@pytest.mark.parametrize("labels", ["text", "integers", "regression"])
def test_an_estimator_saved_from_python_is_named_by_predict(labels, tmp_path, capsys):
    """est.save's file has the network but no preprocessing: predict says what it is and how
    to use it (integer class labels once failed first, on a message about classes_)."""
    from chainrule.sklearn import MLPClassifier, MLPRegressor
    rng = np.random.default_rng(0)
    X = rng.normal(size=(40, 3))
    y = {"text": np.where(X[:, 0] > 0, "yes", "no"), "integers": (X[:, 0] > 0).astype(int),
         "regression": X[:, 0]}[labels]
    est = (MLPRegressor if labels == "regression" else MLPClassifier)(
        hidden_layer_sizes=(4,), max_iter=3).fit(X, y)
    est.save(tmp_path / "est.safetensors")
    pd.DataFrame(X, columns=["a", "b", "c"]).to_csv(tmp_path / "x.csv", index=False)
    code, out, err = run(capsys, "predict", tmp_path / "est.safetensors", tmp_path / "x.csv")
    assert code == 1 and out == ""
    line, = _lines(err)
    assert f"is an {type(est).__name__} saved from Python by est.save (3 input columns), not " \
           "by chainrule train" in line and "chainrule.sklearn.load(path).predict(X)" in line
    assert "classes_" not in line


def test_the_installed_command_never_shows_a_traceback(tmp_path, cancer_csv):
    """End to end through a real process: bad input is one line on stderr and exit 1."""
    files = _broken(tmp_path, cancer_csv)
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "src"))
    for argv in (["train", str(files["typo"]), "--target", "diagnosis", "--out", str(tmp_path / "m")],
                 ["info", str(files["fake"])]):
        done = subprocess.run([sys.executable, "-m", "chainrule", *argv], capture_output=True,
                              text=True, env=env, timeout=120)
        assert done.returncode == 1 and "Traceback" not in done.stderr
        assert done.stderr.startswith("chainrule: error: ") and done.stderr.count("\n") == 1


def _without(modules, *argv, cwd=None):
    """Run the command in a fresh process in which ``modules`` cannot be imported."""
    code = ("import sys\n"
            f"for name in {list(modules)!r}: sys.modules[name] = None\n"
            "from chainrule.cli import main\n"
            "sys.exit(main(sys.argv[1:]))\n")
    env = dict(os.environ, PYTHONPATH=os.path.join(os.path.dirname(__file__), "..", "src"))
    return subprocess.run([sys.executable, "-c", code, *map(str, argv)], capture_output=True,
                          text=True, env=env, timeout=120, cwd=cwd)


def test_missing_packages_name_the_extra(tmp_path, cancer_csv, cancer_model):
    import chainrule as cr
    plain = tmp_path / "plain.safetensors"
    cr.mlp([30, 2], seed=0).save(plain)
    done = _without(["sklearn", "scipy"], "info", plain)  # a plain network needs neither
    assert done.returncode == 0 and "a chainrule network" in done.stdout, done.stderr
    done = _without(["sklearn", "scipy"], "predict", cancer_model, cancer_csv)  # nor predicting
    assert done.returncode == 0 and len(done.stdout.splitlines()) == 570, done.stderr
    cases = [
        (["sklearn"], ["info", cancer_model], "needs scikit-learn: pip install 'chainrule[sklearn]'"),
        (["sklearn"], ["train", cancer_csv, "--target", "diagnosis", "--out", tmp_path / "m"],
         "chainrule train needs scikit-learn: pip install 'chainrule[tabular]'"),
        (["pandas"], ["train", cancer_csv, "--target", "diagnosis", "--out", tmp_path / "m"],
         "chainrule train needs pandas: pip install 'chainrule[tabular]'"),
        (["pandas"], ["predict", cancer_model, cancer_csv],
         "chainrule predict needs pandas: pip install 'chainrule[tabular]'"),
    ]
    for blocked, argv, message in cases:
        done = _without(blocked, *argv)
        assert done.returncode == 1, (argv, done.stderr)
        assert done.stderr.count("\n") == 1 and message in done.stderr, (argv, done.stderr)
        assert "No module named" not in done.stderr


@pytest.mark.parametrize("out, words", [
    ("{tmp}/missing/dir/m.safetensors", ["--out", "missing/dir/m.safetensors", "does not exist"]),
    ("{tmp}", ["--out", "is a folder"]),
])
def test_train_checks_the_output_folder_first(out, words, tmp_path, cancer_csv, capsys):
    out = out.format(tmp=tmp_path)
    code, stdout, err = run(capsys, "train", cancer_csv, "--target", "diagnosis", "--quiet",
                            "--epochs", "1", "--out", out)
    assert code == 1 and stdout == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: "), err
    assert not re.search(r"\.\w+\.tmp\b", lines[0]), lines[0]  # no temporary file's name
    for word in words:
        assert word in lines[0], lines[0]


def test_an_output_over_an_input_is_refused_and_both_files_stay(cancer_csv, cancer_model,
                                                               tmp_path, capsys):
    import shutil
    data, model = tmp_path / "data.csv", tmp_path / "model.safetensors"
    shutil.copy(cancer_csv, data)
    shutil.copy(cancer_model, model)
    before = data.read_bytes(), model.read_bytes()
    for argv, name in ((["predict", model, data, "--out", data], "data"),
                       (["predict", model, data, "--out", tmp_path / "." / "model.safetensors"],
                        "model"),
                       (["train", data, "--target", "diagnosis", "--epochs", "1", "--quiet",
                         "--out", data], "data")):
        code, out, err = run(capsys, *argv)
        assert code == 1 and out == "", err
        assert f"is the {name} file this command reads" in err, err
    assert (data.read_bytes(), model.read_bytes()) == before


def test_keep_refuses_a_column_that_predict_writes_itself(cancer_csv, cancer_model, tmp_path,
                                                          capsys):
    frame = pd.read_csv(cancer_csv)
    frame["prediction"] = 7
    path = tmp_path / "clash.csv"
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, "predict", cancer_model, path, "--keep", "prediction")
    assert code == 1 and out == "" and "predict writes a column of that name" in err, err
    frame = frame.rename(columns={"prediction": "proba_benign"})
    frame.to_csv(path, index=False)
    code, out, err = run(capsys, "predict", cancer_model, path, "--keep", "proba_benign")
    assert code == 0, err                       # without --proba there is no such column
    code, out, err = run(capsys, "predict", cancer_model, path, "--keep", "proba_benign",
                         "--proba")
    assert code == 1 and "proba_benign" in err, err


# -- hostile model files (issue 15): a clean error, never a traceback ---------------------

def _hostile_model(tmp_path, kind, cancer_model):
    import json
    import struct

    from safetensors.numpy import save

    from chainrule import io
    path = tmp_path / f"{kind}.safetensors"
    if kind == "bomb":  # 12 KB claiming a Dense(12000, 12000)
        meta = {"format": "chainrule", "format_version": "1", "dtype": "float32", "user": "{}",
                "architecture": json.dumps([{"class": "Dense",
                                             "config": {"n_in": 12_000, "n_out": 12_000}}])}
        path.write_bytes(save({"extra.pad": np.zeros(12_000, np.uint8)}, metadata=meta))
    elif kind == "nested":
        text = ('{"x": ' + "[" * 60_000 + "]" * 60_000 + "}").encode()
        path.write_bytes(struct.pack("<Q", len(text)) + text)
    elif kind == "empty":
        path.write_bytes(b"")
    elif kind == "flipped":
        raw = bytearray(pathlib.Path(cancer_model).read_bytes())
        raw[-3] ^= 0x10  # inside the last weight
        path.write_bytes(bytes(raw))
    else:  # tabular records of the wrong types
        net, user, extras = io.load_with_extras(cancer_model)
        if kind == "preprocessing":
            user["tabular"]["preprocessing"] = [1, 2]
        elif kind == "columns":
            user["tabular"]["preprocessing"]["numeric"] = [7]
        elif kind == "validation":
            user["tabular"]["validation"] = ["score"]
        io.save(net, path, metadata=user, extra_tensors=extras)
    return path


@pytest.mark.parametrize("kind, words", [
    ("bomb", "whose product 144000000 is more than the 12000 numbers"),
    ("nested", "nests 60001 levels deep"),
    ("flipped", "is corrupt"),
    ("empty", "is empty (0 bytes): expected a .safetensors file written by chainrule train"),
    ("preprocessing", "preprocessing must be a JSON object"),
    ("columns", "bad numeric column record 7"),
])
@pytest.mark.parametrize("command", ["info", "predict"])
def test_hostile_model_files_give_a_clean_error(tmp_path, capsys, cancer_model, cancer_csv,
                                                command, kind, words):
    path = _hostile_model(tmp_path, kind, cancer_model)
    argv = [command, path] + ([cancer_csv] if command == "predict" else [])
    code, out, err = run(capsys, *argv)
    assert code == 1 and out == ""
    assert err.startswith("chainrule: error: ") and words in err and "Traceback" not in err


def test_info_skips_a_validation_record_of_the_wrong_type(tmp_path, capsys, cancer_model):
    code, out, _ = run(capsys, "info", _hostile_model(tmp_path, "validation", cancer_model))
    assert code == 0 and "MLPClassifier" in out and "validation:" not in out

# -- issue 17: the recipe, careful columns, checks before training ----------------------------

def _train(capsys, csv, target, out, *more):
    return run(capsys, "train", csv, "--target", target, "--quiet", "--hidden", "16",
               "--out", out, *more)


def _lines(err):
    return [line for line in err.strip().splitlines() if line]


def _linear_csv(path, n=400, seed=0):
    """y = 300000 + 900·a − 400·b exactly, plus a text column that does not matter."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(size=n), rng.normal(size=n)
    frame = pd.DataFrame({"a": a, "b": b, "shop": rng.choice(["x", "y"], n),
                          "price": 300_000 + 900 * a - 400 * b})
    frame.to_csv(path, index=False)
    return frame


def test_a_target_near_3e5_is_standardised_and_fits_a_linear_relation(tmp_path, capsys):
    frame = _linear_csv(tmp_path / "house.csv")
    code, out, _ = _train(capsys, tmp_path / "house.csv", "price", tmp_path / "m.st")
    assert code == 0, out
    assert float(out.split("validation R² ")[1].split()[0]) > 0.99
    code, out, _ = run(capsys, "predict", tmp_path / "m.st", tmp_path / "house.csv")
    predicted = np.array(out.splitlines()[1:], dtype=float)
    truth = frame["price"].to_numpy()
    assert 1 - np.sum((predicted - truth) ** 2) / np.sum((truth - truth.mean()) ** 2) > 0.99
    code, out, _ = run(capsys, "info", tmp_path / "m.st")
    assert re.search(r"target:     standardised in training \(mean [23]\d{5}(\.\d*)?, std \d+", out), out


def test_early_stopping_keeps_the_best_epoch_and_refit_trains_that_many(tmp_path, capsys):
    rng = np.random.default_rng(1)
    n = 200  # a noisy target and a wide network: validation loss turns up early
    frame = pd.DataFrame(rng.normal(size=(n, 6)), columns=list("abcdef"))
    frame["y"] = np.where(frame.a + rng.normal(scale=1.5, size=n) > 0, "up", "down")
    frame.to_csv(tmp_path / "noisy.csv", index=False)
    code, out, _ = run(capsys, "train", tmp_path / "noisy.csv", "--target", "y", "--quiet",
                       "--hidden", "64", "--lr", "0.01", "--patience", "5", "--out", tmp_path / "m.st")
    assert code == 0
    best, run_for = map(int, re.search(r"best epoch (\d+) of (\d+)", out).groups())
    assert run_for == best + 5 and "still falling" not in out
    code, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert f"best epoch {best} of {run_for} (patience 5), its weights kept" in info
    code, out, _ = run(capsys, "train", tmp_path / "noisy.csv", "--target", "y", "--quiet",
                       "--hidden", "64", "--lr", "0.01", "--patience", "5", "--refit",
                       "--out", tmp_path / "r.st")
    assert code == 0 and f"refit on all 200 rows for {best} epochs" in out
    code, info, _ = run(capsys, "info", tmp_path / "r.st")
    assert f"refit:      on all 200 rows for {best} epochs (the best epoch count), from new " \
           "weights: the file holds the refit's weights" in info
    assert f"training:   adam, {best} epochs" in info
    # the refit's weights replaced the best epoch's: info must not say they were kept
    assert "its weights kept" not in info
    assert f"best epoch {best} of {run_for} (patience 5), measured before the refit" in info


def test_best_epoch_callback_restores_the_weights_of_the_lowest_validation_loss():
    from chainrule.tabular.recipe import BestEpoch, make_estimator
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 5))
    y = X[:, 0] + rng.normal(scale=2.0, size=120)
    losses = []

    class Record(BestEpoch):
        def on_epoch_end(self, epoch, logs):
            super().on_epoch_end(epoch, logs)
            losses.append(logs["val_loss"])

    best = Record(X[80:], y[80:, None], classify=False, patience=4)
    est = make_estimator("regress", (64,), 300, 0.02, 0.0, 0.0, 16, 0, False, callbacks=[best])
    est.fit(X[:80], y[:80])
    assert best.stopped and len(losses) == best.epochs < 300
    assert best.best_epoch == int(np.argmin(losses)) + 1 < best.epochs
    assert best.loss(est.network_.predict(X[80:])) == min(losses)  # the best epoch's weights
    assert est.n_iter_ == best.epochs


def test_validation_0_trains_every_row_for_a_fixed_epoch_count(tmp_path, capsys):
    _linear_csv(tmp_path / "house.csv", n=60)
    code, _, err = _train(capsys, tmp_path / "house.csv", "price", tmp_path / "m.st",
                          "--validation", "0")
    assert code == 1 and "--validation 0 trains on every row for a fixed number of epochs" in err
    code, out, _ = _train(capsys, tmp_path / "house.csv", "price", tmp_path / "m.st",
                          "--validation", "0", "--epochs", "7")
    assert code == 0 and "on all 60 rows for 7 epochs (no validation split)" in out
    code, _, err = _train(capsys, tmp_path / "house.csv", "price", tmp_path / "m.st",
                          "--validation", "0", "--epochs", "7", "--refit")
    assert code == 1 and "--refit needs a validation split" in err


def test_values_near_1e300_are_scaled_and_an_infinite_column_is_refused_first(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 200
    big = rng.normal(size=n)
    frame = pd.DataFrame({"huge": big * 1e300, "noise": rng.normal(size=n),
                          "y": np.where(big > 0, "pos", "neg")})
    frame.to_csv(tmp_path / "huge.csv", index=False)
    code, out, err = _train(capsys, tmp_path / "huge.csv", "y", tmp_path / "m.st")
    assert code == 0 and err == "", err
    assert float(out.split("validation accuracy ")[1].split()[0]) > 0.9  # the column was used
    code, out, err = run(capsys, "predict", tmp_path / "m.st", tmp_path / "huge.csv")
    assert code == 0 and err == ""
    assert np.mean(np.array(out.splitlines()[1:]) == frame.y.to_numpy()) > 0.9
    (tmp_path / "inf.csv").write_text("a,b,y\n1,2,p\n3,4,q\n5,1e309,p\n7,8,q\n9,1,p\n")
    code, out, err = _train(capsys, tmp_path / "inf.csv", "y", tmp_path / "inf.st")
    assert code == 1 and out == "" and not (tmp_path / "inf.st").exists()
    assert _lines(err) == [f"chainrule: error: {tmp_path / 'inf.csv'}: row 3 (line 4): "
                           "column 'b' is infinite"]


def test_codes_that_look_like_numbers_stay_text_at_predict(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 240
    code_col = rng.choice(["1", "2", "x"], n)
    frame = pd.DataFrame({"code": code_col, "v": rng.normal(size=n),
                          "y": np.where(code_col == "1", "pos", "neg")})
    frame.to_csv(tmp_path / "train.csv", index=False)
    assert _train(capsys, tmp_path / "train.csv", "y", tmp_path / "m.st")[0] == 0
    rows = frame[frame.code != "x"].head(20).drop(columns="y")
    rows.to_csv(tmp_path / "all.csv", index=False)
    holey = rows.copy()
    holey.iloc[0, 0] = None  # pandas now reads the codes 1, 2 as the floats 1.0, 2.0
    holey.to_csv(tmp_path / "holey.csv", index=False)
    assert "1.0" in pd.read_csv(tmp_path / "holey.csv")["code"].astype(str).tolist()
    _, before, _ = run(capsys, "predict", tmp_path / "m.st", tmp_path / "all.csv", "--proba")
    code, after, err = run(capsys, "predict", tmp_path / "m.st", tmp_path / "holey.csv", "--proba")
    assert code == 0 and err == ""
    assert before.splitlines()[2:] == after.splitlines()[2:]  # every row but the emptied one
    assert set(before.splitlines()[1].split(",")[0:1]) <= {"pos", "neg"}


def test_id_like_columns_are_left_out_with_a_warning(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 100
    frame = pd.DataFrame({"customer_id": [f"C{i:05d}" for i in rng.permutation(n)],
                          "row": np.arange(n), "v": rng.normal(size=n)})
    frame["y"] = np.where(frame.v > 0, "a", "b")
    frame.to_csv(tmp_path / "ids.csv", index=False)
    code, out, err = _train(capsys, tmp_path / "ids.csv", "y", tmp_path / "m.st")
    assert code == 0
    assert "column 'customer_id' left out as ID-like: named like an ID, with a distinct value in " \
           "100 of its 100 rows; --keep-id customer_id uses it" in err
    assert "column 'row' left out as ID-like: named like an ID, with a distinct value in 100 of " \
           "its 100 rows" in err
    code, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert "left out:   'customer_id'" in info and "numeric:    v (standardised)" in info
    code, out, err = _train(capsys, tmp_path / "ids.csv", "y", tmp_path / "k.st",
                            "--keep-id", "row")
    assert code == 0 and "'row' left out" not in err and "'customer_id' left out" in err


def test_rare_categories_share_an_other_column_and_unseen_ones_are_reported(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 300
    town = np.where(rng.random(n) < 0.7, rng.choice(["big", "mid"], n),
                    np.array([f"village{i}" for i in rng.integers(0, 60, n)]))
    frame = pd.DataFrame({"town": town, "v": rng.normal(size=n)})
    frame["y"] = np.where(frame.v > 0, "a", "b")
    frame.to_csv(tmp_path / "towns.csv", index=False)
    code, _, _ = _train(capsys, tmp_path / "towns.csv", "y", tmp_path / "m.st",
                        "--category-embedding", "none")   # one-hot: the 62 towns' other column
    assert code == 0
    _, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert re.search(r"town \(\d+ categories \+ other\)", info), info
    new = pd.DataFrame({"town": ["big", "atlantis", "atlantis", "village3"], "v": [0.1] * 4})
    new.to_csv(tmp_path / "new.csv", index=False)
    code, out, err = run(capsys, "predict", tmp_path / "m.st", tmp_path / "new.csv")
    assert code == 0 and len(out.splitlines()) == 5
    assert _lines(err) == ["chainrule: warning: column 'town': 2 of 4 rows hold a category not "
                           "seen in training ('atlantis'); encoded as none of the known categories"]


def test_duplicate_headers_and_missing_targets_are_refused(tmp_path, capsys):
    (tmp_path / "dup.csv").write_text("a,target,target\n1,2,3\n4,5,6\n")
    code, _, err = _train(capsys, tmp_path / "dup.csv", "target", tmp_path / "m.st")
    assert code == 1 and _lines(err) == [
        f"chainrule: error: {tmp_path / 'dup.csv'} has duplicate column headers 'target': each "
        "column needs its own name (rename or remove the copies)"]
    rows = "\n".join(f"{i},{'' if i == 3 else i % 2}" for i in range(12))
    (tmp_path / "holes.csv").write_text("x,y\n" + rows + "\n")
    code, _, err = _train(capsys, tmp_path / "holes.csv", "y", tmp_path / "m.st")
    assert code == 1 and "row 4 (line 5): the target 'y' is missing (1 rows in all)" in err
    assert "--drop-missing-target" in err
    code, out, err = _train(capsys, tmp_path / "holes.csv", "y", tmp_path / "m.st",
                            "--drop-missing-target", "--keep-id", "x")
    assert code == 0 and "left out 1 rows whose target 'y' is missing" in err


def test_semicolon_files_keep_columns_and_six_digit_probabilities(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 120
    frame = pd.DataFrame({"id": [f"p{i}" for i in range(n)], "income": rng.normal(size=n) * 9,
                          "age": rng.integers(20, 70, n)})
    frame["buys"] = np.where(frame.income > 0, "yes", "no")
    frame.to_csv(tmp_path / "semi.csv", sep=";", index=False)
    code, out, err = _train(capsys, tmp_path / "semi.csv", "buys", tmp_path / "m.st")
    assert code == 0 and "'id' left out" in err
    code, out, err = _train(capsys, tmp_path / "semi.csv", "buys", tmp_path / "m2.st",
                            "--sep", ",")
    assert code == 1 and "has no column 'buys'" in err
    frame.drop(columns="buys").to_csv(tmp_path / "new.tsv", sep="\t", index=False)
    code, out, err = run(capsys, "predict", tmp_path / "m.st", tmp_path / "new.tsv", "--keep",
                         "id", "--proba")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0] == "id,prediction,proba_no,proba_yes" and len(lines) == n + 1
    for line, ident in zip(lines[1:], frame.id):
        got_id, _, *probas = line.split(",")
        assert got_id == ident
        for p in probas:
            assert len(re.sub(r"e[-+]\d+$", "", p).replace(".", "").lstrip("0")) <= 6, p
    code, _, err = run(capsys, "predict", tmp_path / "m.st", tmp_path / "new.tsv", "--keep", "nope")
    assert code == 1 and "--keep 'nope': no such column" in err


@pytest.mark.parametrize("argv, message", [
    (["predict", "{tmp}/absent.st", "{csv}"], "{tmp}/absent.st: no such model file"),
    (["info", "{tmp}/absent.st"], "{tmp}/absent.st: no such model file"),
    (["info", "{csv}"], "{csv} is not a chainrule model file (a .safetensors file written by "
                        "chainrule train or est.save)"),
    (["predict", "{csv}", "{csv}"], "{csv} is not a chainrule model file"),
    (["predict", "{model}", "{model}"],
     "{model} is not a table: it is a model file (safetensors); give it as the model"),
])
def test_missing_files_and_wrong_kinds_of_file_are_one_line(argv, message, tmp_path, cancer_csv,
                                                           cancer_model, capsys):
    fill = dict(tmp=tmp_path, csv=cancer_csv, model=cancer_model)
    code, out, err = run(capsys, *[a.format(**fill) for a in argv])
    assert code == 1 and out == ""
    lines = _lines(err)
    assert len(lines) == 1 and lines[0].startswith("chainrule: error: " + message.format(**fill))


def test_a_network_too_large_for_memory_is_refused_before_training(tmp_path, cancer_csv, capsys):
    code, out, err = run(capsys, "train", cancer_csv, "--target", "diagnosis", "--quiet",
                         "--hidden", "100000000,100000000", "--out", tmp_path / "m.st")
    assert code == 1 and out == "" and not (tmp_path / "m.st").exists()
    assert re.fullmatch(r"chainrule: error: --hidden: the network \[30, 100000000, 100000000, 1\] "
                        r"has [\d,]+ parameters and needs about [\d,.]+ GiB to train; this machine "
                        r"has [\d,.]+ [GM]iB available: choose smaller --hidden", err.strip()), err


def test_a_missing_safetensors_is_named_before_training(tmp_path, cancer_csv):
    done = _without(["safetensors"], "train", cancer_csv, "--target", "diagnosis",
                    "--out", tmp_path / "m.st")
    assert done.returncode == 1 and done.stdout == ""
    assert done.stderr == ("chainrule: error: chainrule train needs safetensors: "
                           "pip install 'chainrule[tabular]'\n")
    assert "training" not in done.stderr  # no progress bar: nothing was trained


def test_quantile_scaling_trains_and_says_so(tmp_path, capsys):
    rng = np.random.default_rng(0)
    n = 200
    skewed = rng.lognormal(sigma=3, size=n)
    frame = pd.DataFrame({"s": skewed, "y": np.where(skewed > np.median(skewed), "hi", "lo")})
    frame.to_csv(tmp_path / "skew.csv", index=False)
    code, out, _ = _train(capsys, tmp_path / "skew.csv", "y", tmp_path / "m.st", "--scale", "quantile")
    assert code == 0 and float(out.split("validation accuracy ")[1].split()[0]) > 0.9
    _, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert "numeric:    s (quantiles to a normal)" in info
    assert "missing:    a missing number counts as the training mean" in info


# -- issue 22: tables read as a person reads them, and the command's messages ---------------

def test_a_duplicate_header_hidden_after_a_quoted_line_break_is_refused(tmp_path, capsys):
    """Finding 9: the copy of the target after a header cell with a line break was renamed
    'a.1' by pandas and trained on (validation accuracy 1.0)."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 60)
    rows = "".join(f"{t},{v:.3f},{t}\n" for t, v in zip(y, rng.normal(size=60)))
    (tmp_path / "dup.csv").write_text('a,"b\nc",a\n' + rows)
    code, out, err = _train(capsys, tmp_path / "dup.csv", "a", tmp_path / "m.st", "--epochs", "2")
    assert code == 1 and out == "" and not (tmp_path / "m.st").exists()
    assert _lines(err) == [f"chainrule: error: {tmp_path / 'dup.csv'} has duplicate column "
                           "headers 'a': each column needs its own name (rename or remove the copies)"]


def test_decimal_commas_in_a_semicolon_file_train_as_numbers(tmp_path, capsys):
    """Finding 10: 0,1-style numbers were one-hot encoded as 'categories + other', or left
    out as ID-like when they were many, without a word."""
    rng = np.random.default_rng(0)
    n = 200
    x, z = np.round(rng.normal(size=n), 1), rng.normal(size=n)
    frame = pd.DataFrame({"x": x, "z": z, "y": np.where(x > 0, "pos", "neg")})
    frame.to_csv(tmp_path / "semi.csv", sep=";", decimal=",", index=False)
    assert "0,3" in (tmp_path / "semi.csv").read_text()
    code, out, err = _train(capsys, tmp_path / "semi.csv", "y", tmp_path / "m.st", "--lr", "0.01")
    assert code == 0 and err == "", err
    assert out.splitlines()[0] == "read 'x', 'z' as numbers with a decimal comma (0,5 = 0.5)"
    assert float(out.split("validation accuracy ")[1].split()[0]) > 0.9
    _, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert "numeric:    x, z (standardised)" in info and "categorical: -" in info
    assert "left out" not in info
    frame.drop(columns="y").to_csv(tmp_path / "new.csv", sep=";", decimal=",", index=False)
    code, out, _ = run(capsys, "predict", tmp_path / "m.st", tmp_path / "new.csv")
    assert code == 0 and np.mean(np.array(out.splitlines()[1:]) == frame.y) > 0.9


def _thousands(v):
    """4359 as a decimal-comma file writes it: 4.359 (and 979 as 979)."""
    return f"{v // 1000}.{v % 1000:03d}" if v >= 1000 else str(v)


def test_predict_reads_a_column_as_training_read_it_whatever_its_file_holds(tmp_path, capsys):
    """Training's file writes decimal commas, so its 4.359 is 4359; a ten-row predict file
    without one decimal comma said nothing of its dots, and 4.359 was read as 4.359."""
    rng = np.random.default_rng(0)
    n = 300
    price = rng.integers(100, 9000, size=n)
    weight = np.round(rng.uniform(0, 5, size=n), 2)
    lines = ["weight;price;y"] + [f"{w:.2f}".replace(".", ",") + f";{_thousands(int(p))};"
                                  + ("dear" if p > 4500 else "cheap")
                                  for w, p in zip(weight, price)]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    code, out, err = _train(capsys, tmp_path / "train.csv", "y", tmp_path / "m.st",
                            "--lr", "0.01")
    assert code == 0 and "read 'price' with the dot as the thousands separator" in out, out
    _, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert "read as:    'weight' with a decimal comma (0,5 = 0.5); 'price' with the dot as " \
           "thousands separator (4.359 = 4359), at predict too" in info
    rows = [(1, 979), (2, 4359), (3, 1727), (4, 8100), (2, 5005)]
    # the same rows twice: prices written 4.359 (no decimal comma anywhere), and 4359
    (tmp_path / "dots.csv").write_text("weight;price\n" + "".join(
        f"{w};{_thousands(p)}\n" for w, p in rows))
    (tmp_path / "plain.csv").write_text("weight;price\n" + "".join(
        f"{w};{p}\n" for w, p in rows))
    code, dots, _ = run(capsys, "predict", tmp_path / "m.st", tmp_path / "dots.csv", "--proba")
    assert code == 0
    code, plain, _ = run(capsys, "predict", tmp_path / "m.st", tmp_path / "plain.csv", "--proba")
    assert code == 0 and dots == plain
    assert [line.split(",")[0] for line in plain.splitlines()[1:]] == \
        ["cheap", "cheap", "cheap", "dear", "dear"]


def test_a_model_file_without_the_numbers_record_reads_as_before(tmp_path, capsys):
    """Model files written before the record: predict guesses from its own file, as then."""
    from chainrule.sklearn.io import load_estimator_with_extras
    lines = ["weight;price;y"] + [f"{i % 5},5;{_thousands(100 + 37 * i)};"
                                  + ("dear" if 100 + 37 * i > 4500 else "cheap")
                                  for i in range(200)]
    (tmp_path / "train.csv").write_text("\n".join(lines) + "\n")
    code, _, _ = _train(capsys, tmp_path / "train.csv", "y", tmp_path / "m.st", "--epochs", "5")
    assert code == 0
    est, metadata, extras = load_estimator_with_extras(tmp_path / "m.st")
    assert metadata["tabular"].pop("numbers") == {"decimal_comma": ["weight"],
                                                 "dot_thousands": ["price"]}
    est.save(tmp_path / "old.st", metadata=metadata, extra_tensors=extras)
    (tmp_path / "commas.csv").write_text("weight;price\n1,5;4.359\n")   # a decimal comma:
    (tmp_path / "plain.csv").write_text("weight;price\n1,5;4359\n")     # 4.359 is 4359
    (tmp_path / "dots.csv").write_text("weight;price\n1;4.359\n")      # none: 4.359
    (tmp_path / "whole.csv").write_text("weight;price\n1;4359\n")
    out = {name: run(capsys, "predict", tmp_path / model, tmp_path / f"{name}.csv", "--proba")[1]
           for name, model in [("commas", "old.st"), ("plain", "old.st"), ("dots", "old.st"),
                               ("whole", "old.st")]}
    assert out["commas"] == out["plain"] and out["dots"] != out["whole"]
    # the file with the record reads the dots file's 4.359 as 4359, as training did
    out["recorded"] = run(capsys, "predict", tmp_path / "m.st", tmp_path / "dots.csv", "--proba")[1]
    assert out["recorded"] == out["whole"]


def test_an_id_column_of_a_shuffled_split_is_left_out(tmp_path, capsys):
    """Finding 11: ids 0..149 of a table sorted by class, shuffled and split, were standardised
    and trained on: they told the class (validation accuracy 1.0 on noise)."""
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"id": np.arange(150), "noise": rng.normal(size=150),
                          "kind": np.repeat(["a", "b", "c"], 50)})
    frame.sample(frac=0.8, random_state=0).to_csv(tmp_path / "split.csv", index=False)
    code, out, err = _train(capsys, tmp_path / "split.csv", "kind", tmp_path / "m.st",
                            "--epochs", "5")
    assert code == 0
    assert _lines(err) == ["chainrule: warning: column 'id' left out as ID-like: named like an "
                           "ID, with a distinct value in 120 of its 120 rows; --keep-id id uses it"]
    _, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert "numeric:    noise (standardised)" in info and "left out:   'id'" in info
    code, _, err = _train(capsys, tmp_path / "split.csv", "kind", tmp_path / "k.st",
                          "--epochs", "5", "--keep-id", "id", "--drop", "noise")
    assert code == 0 and err == ""
    _, info, _ = run(capsys, "info", tmp_path / "k.st")
    assert "numeric:    id (standardised)" in info
    assert "left out:   'noise' (named by --drop)" in info


def test_predict_escapes_cells_a_spreadsheet_would_run(tmp_path, capsys):
    """Finding 12: labels such as =HYPERLINK(...) or @SUM(1) were written as they are."""
    rng = np.random.default_rng(0)
    n = 80
    v = rng.normal(size=n)
    labels = np.where(v > 0, '=HYPERLINK("http://x.example","click")', "@SUM(1)")
    frame = pd.DataFrame({"v": v, "note": rng.choice(["-x", "+1", "-2.5", "ok"], n), "y": labels})
    frame.to_csv(tmp_path / "evil.csv", index=False)
    code, _, _ = _train(capsys, tmp_path / "evil.csv", "y", tmp_path / "m.st", "--epochs", "30",
                        "--lr", "0.01")
    assert code == 0
    code, out, err = run(capsys, "predict", tmp_path / "m.st", tmp_path / "evil.csv",
                         "--keep", "note", "--proba", "--out", tmp_path / "p.csv")
    assert code == 0 and out == ""
    written = pd.read_csv(tmp_path / "p.csv", dtype=str, keep_default_na=False)
    assert set(written.prediction) <= {"'" + labels[0], "'@SUM(1)"}
    note = dict(zip(frame.note, written.note))
    assert note == {"-x": "'-x", "+1": "+1", "-2.5": "-2.5", "ok": "ok"}  # numbers stay numbers
    assert list(written.columns) == ["note", "prediction", "proba_=HYPERLINK(\"http://x.example\""
                                     ",\"click\")", "proba_@SUM(1)"]
    assert all(not c.startswith(("=", "@")) for column in written for c in written[column])
    escaped = n + int(np.sum(frame.note == "-x"))
    assert _lines(err) == [f"chainrule: warning: {escaped} cells start with = + - @, a tab or a "
                           "carriage return, which a spreadsheet would run as a formula: written "
                           "with a leading ' (--raw writes them as they are)"]
    code, out, err = run(capsys, "predict", tmp_path / "m.st", tmp_path / "evil.csv", "--raw")
    assert code == 0 and err == "" and set(out.splitlines()[1:]) <= {
        '"=HYPERLINK(""http://x.example"",""click"")"', "@SUM(1)"}


def test_names_are_printed_with_their_control_characters_escaped(tmp_path, capsys):
    """Finding 12: an ANSI escape in a header reached the terminal through info."""
    rng = np.random.default_rng(0)
    n = 60
    evil = "x\x1b[2J\x1b[31m"
    frame = pd.DataFrame({evil: rng.normal(size=n), "name\u202e": rng.choice(["a", "b"], n),
                          "y": rng.choice(["p\x07", "q"], n)})
    frame.to_csv(tmp_path / "ansi.csv", index=False)
    code, out, err = _train(capsys, tmp_path / "ansi.csv", "y", tmp_path / "m.st", "--epochs", "2")
    assert code == 0
    code, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert code == 0 and "\x1b" not in info and "\x07" not in info and "\u202e" not in info
    assert "numeric:    x\\x1b[2J\\x1b[31m (standardised)" in info
    assert "name\\u202e (2 categories)" in info and "classes:    p\\x07, q" in info
    code, _, err = _train(capsys, tmp_path / "ansi.csv", "nope\x1b[2J", tmp_path / "m.st")
    assert code == 1 and "\x1b" not in err and "'nope\\x1b[2J'" in err


def test_the_tabular_extra_holds_what_the_table_commands_import():
    """Finding 14: chainrule train needs scikit-learn, which chainrule[tabular] did not install."""
    tomllib = pytest.importorskip("tomllib")
    from pathlib import Path
    root = Path(__file__).resolve().parents[1]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    names = {re.split(r"[<>=\[ ]", req)[0] for req in extras["tabular"]}
    assert names == {"pandas", "pyarrow", "safetensors", "scikit-learn", "scipy"}
    readme = " ".join((root / "README.md").read_text().split())
    assert "`tabular` (pandas, pyarrow, safetensors, scikit-learn, SciPy:" in readme


# -- issue 24: label smoothing ----------------------------------------------------------------

def test_early_stopping_with_label_smoothing_judges_the_plain_validation_log_loss():
    """The training targets are smoothed, the validation loss is not: BestEpoch's loss of
    each epoch is the log loss of the labels as they are (scikit-learn's log_loss)."""
    from sklearn.metrics import log_loss

    from chainrule.tabular.recipe import BestEpoch, make_estimator, one_hot
    rng = np.random.default_rng(2)
    X = rng.normal(size=(160, 4))
    labels = np.array(["a", "b", "c"])[(X[:, 0] > 0).astype(int) + (X[:, 1] + rng.normal(size=160) > 0)]
    losses, plain = [], []

    class Record(BestEpoch):
        def on_epoch_end(self, epoch, logs):
            super().on_epoch_end(epoch, logs)
            losses.append(logs["val_loss"])
            P = self.run.net.predict(X[120:]).astype(np.float64)  # float32 rows, summing to 1
            plain.append(log_loss(labels[120:], P / P.sum(axis=1, keepdims=True),  # to ~1e-7
                                  labels=["a", "b", "c"]))

    best = Record(X[120:], one_hot(labels[120:], np.array(["a", "b", "c"])), classify=True,
                  patience=5)
    est = make_estimator("classify", (32,), 200, 0.02, 0.0, 0.0, 16, 0, False, callbacks=[best],
                         label_smoothing=0.2)
    est.fit(X[:120], labels[:120])
    assert est.label_smoothing == 0.2 and best.stopped
    np.testing.assert_allclose(losses, plain, rtol=1e-5)
    assert best.best_epoch == int(np.argmin(plain)) + 1
    # the smoothed loss of the same outputs is another number: the choice is visible
    P = est.network_.predict(X[120:]).astype(np.float64)
    smoothed = cr.CrossEntropy(label_smoothing=0.2)
    Y = smoothed.prepare(np.searchsorted(["a", "b", "c"], labels[120:]), 3, np.float64)
    assert abs(smoothed.forward(P, Y) - best.loss(P)) > 0.05


def test_label_smoothing_is_an_option_of_train_kept_in_the_file(tmp_path, capsys, cancer_csv):
    from chainrule.sklearn import load
    code, out, _ = _train(capsys, cancer_csv, "diagnosis", tmp_path / "m.st",
                          "--label-smoothing", "0.1")
    assert code == 0 and float(out.split("validation accuracy ")[1].split()[0]) > 0.9, out
    assert load(tmp_path / "m.st").label_smoothing == 0.1
    _, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert "(label smoothing 0.1)" in info
    code, _, err = _train(capsys, cancer_csv, "diagnosis", tmp_path / "bad.st",
                          "--label-smoothing", "1")
    assert code == 1 and "--label-smoothing must be in [0, 1), got 1.0" in err, err
    _linear_csv(tmp_path / "house.csv", n=80)
    code, _, err = _train(capsys, tmp_path / "house.csv", "price", tmp_path / "r.st",
                          "--label-smoothing", "0.1")
    assert code == 0 and "--label-smoothing is for classification" in err, err


# -- issue 24: a periodic embedding of the numeric columns ------------------------------------

def test_numeric_embedding_periodic_embeds_the_numeric_columns_only(tmp_path, capsys):
    """Two numeric columns and a text one: the embedding reads the first two columns of the
    matrix (the preprocessing puts numbers first), predict gives what the estimator gives."""
    from chainrule.sklearn import load
    from chainrule.tabular.commands import _load_tabular
    from chainrule.tabular.target import TargetTransform
    frame = _linear_csv(tmp_path / "house.csv", n=200)
    code, out, _ = _train(capsys, tmp_path / "house.csv", "price", tmp_path / "m.st",
                          "--numeric-embedding", "periodic")
    assert code == 0 and float(out.split("validation R² ")[1].split()[0]) > 0.9, out
    est = load(tmp_path / "m.st")
    first = est.network_.layers[0]
    assert isinstance(first, cr.PeriodicEmbedding)
    assert (first.n_in, first.n_numeric) == (4, 2)        # a, b; shop's 2 one-hot columns pass
    code, predicted, _ = run(capsys, "predict", tmp_path / "m.st", tmp_path / "house.csv")
    saved, tab, prep = _load_tabular(tmp_path / "m.st")
    assert tab["training"]["numeric_embedding"] == "periodic"
    X = prep.transform(frame.drop(columns=["price"]))
    with_embedding = est.predict(X)                       # the estimator, outside the command
    target = TargetTransform.from_metadata(tab, "m.st")
    np.testing.assert_allclose(np.array(predicted.splitlines()[1:], dtype=float),
                               target.inverse(with_embedding), rtol=1e-5)
    _, info, _ = run(capsys, "info", tmp_path / "m.st")
    assert "each also through a periodic embedding" in info and "PeriodicEmbedding" in info
    with pytest.raises(SystemExit):   # argparse's own refusal of a choice it does not list
        _train(capsys, tmp_path / "house.csv", "price", tmp_path / "bad.st",
               "--numeric-embedding", "pbld")
    assert "invalid choice: 'pbld' (choose from 'none', 'periodic')" in capsys.readouterr().err


def test_lr_schedule_plateau_halves_the_rate_before_early_stopping_ends(tmp_path):
    """Early stopping ends a run after --patience epochs without a better validation loss; a
    quarter of that halves the rate first (at least once), a constant rate stays."""
    from chainrule.tabular.recipe import Settings, train_table
    rng = np.random.default_rng(1)
    frame = pd.DataFrame(rng.normal(size=(200, 6)), columns=list("abcdef"))
    frame["y"] = np.where(frame.a + rng.normal(scale=1.5, size=200) > 0, "up", "down")
    rates = {}
    for schedule in ("constant", "plateau"):
        settings = Settings(hidden=(64,), lr=0.01, patience=8, lr_schedule=schedule)
        ensemble, metadata, report = train_table(frame, "y", "noisy", settings,
                                                 warn=lambda text: None)
        assert report["epochs"] < 500                      # stopped early
        rates[schedule] = ensemble.first._optimizer.lr
        assert metadata["tabular"]["training"].get("lr_schedule") == \
            (None if schedule == "constant" else "plateau")
    assert rates["constant"] == 0.01 and rates["plateau"] <= 0.005, rates
    with pytest.raises(ValueError, match="--lr-schedule must be one of constant, plateau, "
                                         "got 'cosine'"):
        Settings(lr_schedule="cosine")
