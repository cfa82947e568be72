"""Every demo runs and reaches its result; the `chainrule demo` command drives them."""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import cli
from chainrule.explain import demos


def test_registry_lists_every_demo():
    assert set(demos.DEMOS) == {"xor", "xor-mse", "sine", "digits", "gradcheck", "gradient-health",
                                "regularization", "diagnose"}
    assert set(demos.ABOUT) == set(demos.DEMOS)


def test_xor_solved_and_printed(capsys):
    result = demos.xor(seed=0)
    assert result["accuracy"] == 1.0
    assert np.all((result["proba"] > 0.5) == np.array([0, 1, 1, 0], bool))
    out = capsys.readouterr()
    assert "accuracy 1.00" in out.out and "x1 x2 | target  output  predicted" in out.out
    assert "training" in out.err  # the progress bar, with its loss
    assert result["history"]["loss"][-1] < 0.1


def test_xor_mse_solved_but_slower_than_cross_entropy():
    mse = demos.xor_mse(seed=0, verbose=0)
    assert mse["accuracy"] == 1.0
    assert len(mse["history"]["loss"]) == 10_000
    bce = demos.xor(seed=0, verbose=0)
    # the sigmoid's σ'(Z) ≤ 1/4 slows MSE: its outputs end farther from the targets
    y = np.array([0, 1, 1, 0])
    assert np.abs(mse["proba"] - y).max() > np.abs(bce["proba"] - y).max()


def test_sine_fits_for_most_seeds(capsys):
    errors = [demos.sine(seed=seed, verbose=0)["mse"] for seed in range(5)]
    assert sum(e < 1.0 for e in errors) >= 4, errors
    demos.sine(seed=0, epochs=10)
    assert "final MSE" in capsys.readouterr().out


def test_digits_held_out_accuracy_and_confusion(capsys):
    result = demos.digits(seed=0, verbose=2)  # one line per epoch
    assert result["accuracy"] >= 0.96
    confusion = result["confusion"]
    assert confusion.shape == (10, 10) and confusion.sum() == 1797 // 5
    assert np.trace(confusion) / confusion.sum() == pytest.approx(result["accuracy"])
    out = capsys.readouterr().out
    assert "epoch 40/40" in out and "held-out accuracy" in out and "confusion matrix" in out


def test_gradcheck_small_network_agrees(capsys):
    result = demos.gradcheck(seed=0, sizes=(20, 8, 3), n=2)
    assert result["max_relative_error"] < 1e-6
    out = capsys.readouterr().out
    assert "dW (layer 0)  (20, 8)" in out and "agree" in out


@pytest.mark.parametrize("name, kwargs", [("xor", {"epochs": 200}), ("xor-mse", {"epochs": 200}),
                                          ("sine", {"epochs": 200}), ("digits", {"epochs": 2}),
                                          ("gradcheck", {"sizes": (6, 4, 3), "n": 2})])
def test_every_demo_saves_its_plot(name, kwargs, tmp_path):
    pytest.importorskip("matplotlib")
    path = tmp_path / f"{name}.png"
    demos.DEMOS[name](seed=1, verbose=0, plot=str(path), **kwargs)
    assert path.read_bytes().startswith(b"\x89PNG") and path.stat().st_size > 5000


def test_cli_demo_with_seed_and_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    path = tmp_path / "xor.png"
    assert cli.main(["demo", "xor", "--seed", "3", "--plot", str(path)]) == 0
    assert "accuracy 1.00" in capsys.readouterr().out
    assert path.stat().st_size > 5000
    with pytest.raises(SystemExit):
        cli.main(["demo", "no-such-demo"])


EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.mark.parametrize("script, expected", [("trace_tiny.py", "#9  layer 0: Dense · backward"),
                                              ("xor_mse.py", "BinaryCrossEntropy()"),
                                              ("sine.py", "final MSE")])
def test_examples_run(script, expected):
    # run as a user would, with the package under test first on the path
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(Path(chainrule.__file__).parent.parent), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, str(EXAMPLES / script)], capture_output=True,
                          text=True, env=env, timeout=120)
    assert done.returncode == 0, done.stderr
    assert expected in done.stdout


def test_demo_help_says_what_each_shows_and_what_it_needs(capsys):
    with pytest.raises(SystemExit):
        cli.main(["demo", "--help"])
    out = capsys.readouterr().out
    for name in demos.DEMOS:
        assert f"  {name} " in out
    assert "confusion matrix" in out and "[needs chainrule[sklearn]]" in out
    assert "pip install 'chainrule[plot,sklearn]'" in out


def test_digits_shows_one_progress_bar(capsys):
    pytest.importorskip("sklearn")
    demos.digits(seed=0, epochs=3, hidden=16)
    err = capsys.readouterr().err
    assert "training" in err and "epoch 1/3" not in err and "epoch 3/3" not in err


def _figures(monkeypatch):
    figures = []
    monkeypatch.setattr(demos, "_save", lambda plot, figure: figures.append(figure))
    return figures


def test_xor_colour_bar_says_what_the_output_is(monkeypatch):
    pytest.importorskip("matplotlib")
    figures = _figures(monkeypatch)
    demos.xor(seed=0, verbose=0, plot="x.png", epochs=20)
    demos.xor_mse(seed=0, verbose=0, plot="x.png", epochs=20)
    labels = [[ax.get_ylabel() for ax in f.axes] for f in figures]
    assert "P(class 1)" in labels[0]
    assert "P(class 1)" not in labels[1] and "network output A (MSE towards the labels 0, 1)" in labels[1]


def test_gradcheck_and_digits_figures_name_things_plainly(monkeypatch):
    pytest.importorskip("matplotlib")
    pytest.importorskip("sklearn")
    figures = _figures(monkeypatch)
    demos.gradcheck(seed=0, verbose=0, plot="g.png", sizes=(6, 4, 3), n=2)
    assert figures[0].axes[0].get_legend_handles_labels()[1] == [
        "layer 1 weights W", "layer 1 biases b", "layer 2 weights W", "layer 2 biases b", "inputs X"]
    demos.digits(seed=0, verbose=0, plot="d.png", epochs=2, hidden=16)
    titles = [ax.get_title() for ax in figures[1].axes]
    assert "confusion matrix (held out)" in titles
    assert sum(ax.images != [] for ax in figures[1].axes) >= 25  # 24 digits and the matrix


def test_gradient_health_warns_that_the_first_layers_barely_learn(capsys):
    result = demos.gradient_health(seed=0, epochs=5)
    norms = list(result["norms"].values())
    assert len(norms) == 11 and norms[0] < 1e-2 * norms[-1]  # decades apart, first to last
    assert any("vanishing gradients in layer(s) 0" in w for w in result["warnings"])
    assert "warning: " in capsys.readouterr().out


def test_regularization_keeps_the_validation_loss_below_the_overfitted_one(capsys):
    result = demos.regularization(seed=0, epochs=300, width=64)
    final = result["final"]
    assert final["regularised"]["loss"] < 0.7 * final["plain"]["loss"]
    plain_history = result["plain"][1]
    # the plain network overfits: its validation loss climbs from its lowest point
    assert plain_history["val_loss"][-1] > 1.5 * min(plain_history["val_loss"])
    out = capsys.readouterr().out
    assert "regularised:" in out
    # its point: the penalty keeps the weights small, and the demo says how much smaller
    plain, kept = result["weight_size"]["plain"], result["weight_size"]["regularised"]
    assert kept["norm"] < 0.7 * plain["norm"] and kept["largest"] < plain["largest"]  # 0.56, 0.74 measured
    assert f"the largest |w| {plain['largest']:.2f} plain, {kept['largest']:.2f} regularised" in out


def test_diagnose_names_the_planted_line_in_both_languages(capsys):
    result = demos.diagnose(seed=0)
    report = result["report"]
    assert (report.first, report.mistake, len(report.findings)) == ("dZ1", "derivative_of_Z", 1)
    out = capsys.readouterr().out
    assert "dZ1 = dA1 * Z1 * (1 - Z1)" in out            # the learner's loop, as it runs
    assert "yours matches:  dZ1 = dA1 ⊙ Z1(1 − Z1)" in out
    demos.diagnose(seed=0, lang="zh")
    out = capsys.readouterr().out
    assert demos.DIAGNOSE_TEXT["zh"][:20] in out and "激活函数的导数用错了数组" in out
    assert "yours" not in out and "A learner" not in out


def test_the_diagnose_demos_words_exist_in_both_languages():
    assert set(demos.DIAGNOSE_TEXT) == {"en", "zh"}
    assert all(text.strip() for text in demos.DIAGNOSE_TEXT.values())


def test_cli_demo_lang(capsys):
    assert cli.main(["demo", "diagnose", "--lang", "zh"]) == 0
    assert "可能的错误" in capsys.readouterr().out
    assert cli.main(["demo", "xor", "--lang", "zh"]) == 1
    assert "the xor demo speaks English only; --lang works with: diagnose" in capsys.readouterr().err
    assert cli.main(["demo", "diagnose", "--plot", "d.png"]) == 1
    assert "the diagnose demo draws no figure" in capsys.readouterr().err
