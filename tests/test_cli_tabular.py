"""chainrule train / predict / info on real tables, and on broken ones."""
import os
import re
import subprocess
import sys

import numpy as np
import pytest

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
                  "--out", "{tmp}/m.st"], ["training diverged", "learning_rate_init", "weights are those before this batch"]),
    ("bad hidden", ["train", "{csv}", "--target", "diagnosis", "--hidden", "16,x",
                    "--out", "{tmp}/m.st"], ["--hidden"]),
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
    cases = [
        (["sklearn"], ["info", cancer_model], "needs scikit-learn: pip install 'chainrule[sklearn]'"),
        (["sklearn"], ["predict", cancer_model, cancer_csv],
         "chainrule predict needs scikit-learn: pip install 'chainrule[sklearn]'"),
        (["sklearn"], ["train", cancer_csv, "--target", "diagnosis", "--out", tmp_path / "m"],
         "chainrule train needs scikit-learn: pip install 'chainrule[sklearn]'"),
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
