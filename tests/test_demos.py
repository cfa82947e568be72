"""Every demo runs and reaches its result; the `chainrule demo` command drives them."""
import os
import re
import string
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import chainrule
from chainrule import cli
from chainrule.explain import demo_gradients, demo_learning, demo_text, demos, plot

from conftest import english_words


def test_registry_lists_every_demo():
    assert set(demos.DEMOS) == {"xor", "xor-mse", "sine", "digits", "gradcheck", "gradient-health",
                                "regularization", "diagnose"}
    assert set(demos.NEEDS) == set(demos.DEMOS)
    assert {f"about.{name}" for name in demos.DEMOS} <= set(demo_text.TEXT["en"])


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
    assert "confusion matrix" in " ".join(out.split()) and "[needs chainrule[sklearn]]" in out
    assert "pip install 'chainrule[plot,sklearn]'" in out


def test_digits_shows_one_progress_bar(capsys):
    pytest.importorskip("sklearn")
    demos.digits(seed=0, epochs=3, hidden=16)
    err = capsys.readouterr().err
    assert "training" in err and "epoch 1/3" not in err and "epoch 3/3" not in err


def _figures(monkeypatch):
    figures = []

    def keep(figure, path):
        figures.append(figure)
    monkeypatch.setattr(plot, "save", keep)   # every demo saves its figure by plot.save
    return figures


def test_xor_colour_bar_says_what_the_output_is(monkeypatch):
    pytest.importorskip("matplotlib")
    figures = _figures(monkeypatch)
    demos.xor(seed=0, verbose=0, plot="x.png", epochs=20)
    demos.xor_mse(seed=0, verbose=0, plot="x.png", epochs=20)
    labels = [[label for ax in f.axes for label in (ax.get_xlabel(), ax.get_ylabel())] for f in figures]
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
    out = capsys.readouterr().out
    vanishing = result["findings"][0]
    assert vanishing["kind"] == "vanishing" and vanishing["between"] == 10
    assert f"warning (step {vanishing['step']}): the gradients vanish in layer(s) 0, 2" in out
    assert f"{vanishing['ratio']:.1e} times that of layer 20 (Dense)" in " ".join(out.split())
    assert f"layer 20 (Dense) last gradient norm {norms[-1]:.2e}" in out


def test_regularization_keeps_the_weights_small_and_says_what_its_numbers_show(capsys):
    result = demos.regularization(seed=0, epochs=250, width=32)
    plain_history = result["plain"][1]
    # overfitting is real: the plain network's validation loss climbs far from its lowest point
    assert plain_history["val_loss"][-1] > 1.5 * min(plain_history["val_loss"])
    # its point: the penalty keeps the weights small (‖W‖ 2.8 against 12.3 measured)
    plain, kept = result["weight_size"]["plain"], result["weight_size"]["penalised"]
    assert kept["norm"] < 0.5 * plain["norm"] and kept["largest"] < plain["largest"]
    out = " ".join(capsys.readouterr().out.split())
    for name in ("plain", "L2 penalty"):
        key = "plain" if name == "plain" else "penalised"
        best, epoch = result["best"][key]
        assert re.search(re.escape(name) + r" ?: " + re.escape(
            f"val_loss lowest {best:.3f} (epoch {epoch}), at the end {result['final'][key]['loss']:.3f}"), out)
    assert f"‖W‖ {kept['norm']:.1f} against {plain['norm']:.1f} without it" in out
    # each conclusion is the one its numbers support, and it says so with them
    final_kept, final_plain = result["final"]["penalised"]["loss"], result["final"]["plain"]["loss"]
    assert ("is the lower" in out) == (final_kept < final_plain)
    assert ("lower even than the plain network's best epoch" in out) == \
        (final_kept < final_plain and final_kept < result["best"]["plain"][0])
    assert ("early stopping alone would have matched" in out) == \
        (final_kept < final_plain and final_kept >= result["best"]["plain"][0])


def test_regularization_says_so_when_the_penalty_does_not_win(capsys):
    # the sentences follow the numbers: told a penalised run that lost, it says it lost
    best = {"plain": (0.3, 21), "penalised": (0.4, 50)}
    final = {"plain": {"loss": 0.35, "accuracy": 0.9}, "penalised": {"loss": 0.45, "accuracy": 0.8}}
    size = {"plain": {"norm": 3.0, "largest": 0.5}, "penalised": {"norm": 4.0, "largest": 0.6}}
    for lang, lost, not_smaller in (("en", "is not the lower", "did not keep the weights smaller"),
                                    ("zh", "并不更低", "没有让权重变小")):
        demo_learning._tell_regularization(lang, final, best, size, rows=40, features=6, extra=4, sizes="6-8-8-2",
                                   epochs=10, decay=0.1, val_rows=1000)
        out = "".join(capsys.readouterr().out.split())
        assert lost.replace(" ", "") in out and not_smaller.replace(" ", "") in out
        assert "0.450" in out and "0.350" in out


def test_diagnose_names_the_planted_line_in_both_languages(capsys):
    result = demos.diagnose(seed=0)
    report = result["report"]
    assert (report.first, report.mistake, len(report.findings)) == ("dZ1", "derivative_of_Z", 1)
    out = capsys.readouterr().out
    assert "dZ1 = dA1 * Z1 * (1 - Z1)" in out            # the learner's loop, as it runs
    assert "yours matches:  dZ1 = dA1 ⊙ Z1(1 − Z1)" in out
    demos.diagnose(seed=0, lang="zh")
    out = capsys.readouterr().out
    assert demo_text.TEXT["zh"]["diagnose.intro"][:20] in out and "激活函数的导数用错了数组" in out
    assert "yours" not in out and "A learner" not in out


def test_cli_demo_lang(capsys):
    assert cli.main(["demo", "diagnose", "--lang", "zh"]) == 0
    assert "可能的错误" in capsys.readouterr().out
    assert cli.main(["demo", "xor-mse", "--lang", "zh"]) == 0
    out = capsys.readouterr()
    assert "准确率 1.00" in out.out and "最终损失" in out.out and "训练" in out.err
    with pytest.raises(SystemExit):
        cli.main(["demo", "xor", "--lang", "fr"])
    assert cli.main(["demo", "diagnose", "--plot", "d.png"]) == 1
    assert "the diagnose demo draws no figure" in capsys.readouterr().err


# -- both languages ---------------------------------------------------------------------------

def _fields(sentence):
    return sorted(name for _, name, _, _ in string.Formatter().parse(sentence) if name)


def test_every_sentence_has_its_twin_with_the_same_numbers():
    en, zh = demo_text.TEXT["en"], demo_text.TEXT["zh"]
    assert set(demo_text.TEXT) == set(demo_text.LANGUAGES) == {"en", "zh"}
    assert sorted(en) == sorted(zh), ("sentences in one language only: "
                                      f"{sorted(set(en) ^ set(zh))}")
    for key in en:
        assert en[key].strip() and zh[key].strip(), key
        assert _fields(en[key]) == _fields(zh[key]), f"{key} tells other numbers in Chinese"
        words = re.sub(r"\{[^}]*\}", "", en[key])
        if re.search(r"[a-z]{3,}", words) and key != "xor.header":
            assert re.search(r"[\u4e00-\u9fff]", zh[key]), f"{key} is not told in Chinese: {zh[key]}"


def test_a_sentence_missing_its_twin_is_caught(monkeypatch):
    # the check above, on a table where one sentence lost its Chinese twin
    monkeypatch.delitem(demo_text.TEXT["zh"], "xor.accuracy")
    with pytest.raises(AssertionError, match="xor.accuracy"):
        test_every_sentence_has_its_twin_with_the_same_numbers()
    with pytest.raises(KeyError):
        demos.xor(epochs=2, verbose=1, lang="zh")


def test_every_sentence_key_the_demos_name_is_in_the_table():
    source = "".join(path.read_text(encoding="utf-8")
                     for path in Path(demos.__file__).parent.glob("demo*.py"))
    named = set(re.findall(r'say\(lang, "([\w.]+)"', source))
    named |= {f"reg.{name}" for name in ("plain", "penalised")}
    named |= {f"about.{name}" for name in demos.DEMOS}
    named |= set(re.findall(r'"(error(?:\.\w+)?)"', Path(cli.__file__).read_text(encoding="utf-8")))
    named |= {f"health.{kind}" for kind in ("vanishing", "vanishing_elsewhere", "dead", "saturated",
                                            "exploding_updates", "exploding_gradients")}
    named |= {"fig.mse_output", "gradcheck.agree", "gradcheck.disagree", "reg.smaller", "reg.not_smaller",
              "reg.end_lower", "reg.end_not_lower", "reg.best_lower", "reg.best_not_lower"}
    assert named <= set(demo_text.TEXT["en"]), named - set(demo_text.TEXT["en"])
    assert set(demo_text.TEXT["en"]) <= named, f"unused: {set(demo_text.TEXT['en']) - named}"


#: Names a Chinese learner reads as they are: classes, functions, the loop's code, history keys
#: (loss, val_loss), the diagnose report's mistake names.
NAMES = {"Dense", "Sigmoid", "ReLU", "Identity", "Softmax", "MSE", "Adam", "SGD", "GradientMonitor",
         "He", "Xavier", "sigmoid", "softmax", "XOR", "cr", "diagnose", "float64", "loss", "val_loss",
         "val_accuracy", "lr", "weight_decay", "len", "exp", "sum", "axis", "np", "derivative_of_Z",
         "it", "s", "sin"}


def _english_words(text):
    return english_words(text, NAMES)


@pytest.mark.parametrize("name, kwargs", [
    ("xor", {"epochs": 100}), ("xor-mse", {"epochs": 100}), ("sine", {"epochs": 100}),
    ("digits", {"epochs": 1, "hidden": 8}), ("gradcheck", {"sizes": (6, 4, 3), "n": 2}),
    ("gradient-health", {"epochs": 3}), ("regularization", {"epochs": 30, "width": 8}),
    ("diagnose", {})])
def test_each_demo_speaks_chinese_throughout(name, kwargs, capsys):
    if name == "digits":
        pytest.importorskip("sklearn")
    demos.DEMOS[name](seed=0, lang="zh", **kwargs)
    out = capsys.readouterr()
    printed = out.out + out.err                          # the progress bar is on stderr
    assert re.search(r"[\u4e00-\u9fff]", out.out)
    assert _english_words(printed) == [], printed
    # and the same demo in English says it in English (the check above can fail)
    demos.DEMOS[name](seed=0, lang="en", **kwargs)
    english = capsys.readouterr()
    assert _english_words(english.out + english.err) != []
    assert not re.search(r"[\u4e00-\u9fff]", english.out.replace("简体中文", ""))


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_every_finding_of_the_monitor_is_told_in_both_languages(lang):
    # findings of every kind, as GradientMonitor records them
    net = chainrule.mlp([2, 3, 3, 1], hidden="sigmoid", seed=0)
    findings = [
        {"kind": "vanishing", "step": 1, "layers": [0, 2], "worst": 0, "top": 4, "ratio": 2e-5, "between": 2},
        {"kind": "vanishing", "step": 1, "layers": [0], "worst": 0, "top": 2, "ratio": 2e-5, "between": 0},
        {"kind": "dead", "step": 3, "layer": 1, "share": 0.75},
        {"kind": "saturated", "step": 3, "layer": 3, "share": 0.95},
        {"kind": "exploding", "step": 2, "of": "updates", "layer": 2, "ratio": 4.5, "lr": 10},
        {"kind": "exploding", "step": 2, "of": "gradients", "layer": 2, "first": 0.1, "norm": 5e3, "lr": 10}]
    told = [demo_gradients._finding(finding, net, lang) for finding in findings]
    assert len(set(told)) == len(told)
    for finding, sentence in zip(findings, told):
        assert str(finding["step"]) in sentence
        assert (re.search(r"[\u4e00-\u9fff]", sentence) is not None) == (lang == "zh")
        if lang == "zh":
            assert _english_words(sentence) == [], sentence
    assert "75%" in told[2] and "4.5" in told[4] and "5e+03" in told[5]


#: Each demo that draws a figure, with the settings that make it quick.
FIGURE_RUNS = [
    ("xor", {"epochs": 20}), ("xor-mse", {"epochs": 20}), ("sine", {"epochs": 20}),
    ("digits", {"epochs": 1, "hidden": 8}), ("gradcheck", {"sizes": (6, 4, 3), "n": 2}),
    ("gradient-health", {"epochs": 2}), ("regularization", {"epochs": 20, "width": 8})]


@pytest.mark.parametrize("name, kwargs", FIGURE_RUNS)
def test_each_demos_figure_speaks_its_language(name, kwargs, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.text import Text
    if name == "digits":
        pytest.importorskip("sklearn")
    figures = _figures(monkeypatch)

    def texts(figure):
        return " ".join(text.get_text() for text in figure.findobj(Text))
    for lang in ("zh", "en"):
        demos.DEMOS[name](seed=0, verbose=0, plot="f.png", lang=lang, **kwargs)
    zh, en = map(texts, figures)
    # a figure's words are all told (a legend's "loss" too: the legend says what it is measured on)
    assert re.search(r"[\u4e00-\u9fff]", zh) and english_words(zh, NAMES - {"loss", "val_loss"}) == [], zh
    assert _english_words(en) != [] and not re.search(r"[\u4e00-\u9fff]", en)
    # a Chinese figure's texts fall back to a CJK font (where the system has one) after DejaVu Sans
    title = next(text for text in figures[0].findobj(Text) if re.search(r"[\u4e00-\u9fff]", text.get_text()))
    assert title.get_fontfamily()[0] == "DejaVu Sans"


# -- the command: its errors and its help, in both languages -----------------------------------

def _command(argv):
    """``chainrule ARGV`` in this process: (status, stdout, stderr)."""
    import contextlib
    import io
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as exit_:
            code = exit_.code
    return code, out.getvalue(), err.getvalue()


def _foreign(text, argv, lang):
    """The words of ``text`` not in ``lang``: English ones in Chinese (names, the command
    line's own words and the figure formats set aside), Chinese ones in English."""
    if lang == "en":
        return re.findall(r"[\u4e00-\u9fff]+", text.replace("简体中文", ""))   # the choice's own name
    from matplotlib.backend_bases import FigureCanvasBase
    names = NAMES | {"chainrule", "demo", "seed", "plot", "lang", "png", "matplotlib", "pip", "install",
                     "help", "sklearn", "sin", "auto", "numpy", "compiled", "bogus"}
    names |= {word for name in demos.DEMOS for word in name.split("-")}
    names |= set(FigureCanvasBase.get_supported_filetypes())
    names |= set(re.findall(r"[A-Za-z_]\w*", " ".join(argv)))
    return english_words(text, names)


@pytest.mark.parametrize("argv, code, said", [
    (["demo", "nope"], 2, {"en": "there is no demo 'nope'", "zh": "没有名为 'nope' 的演示"}),
    (["demo", "xr"], 2, {"en": "(did you mean xor?)", "zh": "（你是不是想用 xor？）"}),
    (["demo"], 2, {"en": "which demo?", "zh": "要运行哪个演示？"}),
    (["demo", "xor", "--seed", "abc"], 2, {"en": "got 'abc'", "zh": "而不是 'abc'"}),
    (["demo", "xor", "--seed", "-1"], 1, {"en": "got -1", "zh": "而不是 -1"}),
    (["demo", "xor", "--seed"], 2, {"en": "--seed needs a value", "zh": "--seed 后面需要一个值"}),
    (["demo", "xor", "--bogus"], 2, {"en": "unrecognized arguments: --bogus", "zh": "无法识别的参数：--bogus"}),
    (["demo", "xor", "--plot", "{tmp}/missing/xor.png"], 1, {"en": "does not exist", "zh": "不存在"}),
    (["demo", "xor", "--plot", "{tmp}"], 1, {"en": "is a folder", "zh": "是一个文件夹"}),
    (["demo", "xor", "--plot", "{tmp}/xor.foo"], 1, {"en": "cannot write .foo files", "zh": "不能写 .foo 文件"}),
    (["demo", "xor", "--plot", "{tmp}/xor"], 1, {"en": "has no extension", "zh": "没有扩展名"}),
    (["demo", "diagnose", "--plot", "{tmp}/d.png"], 1, {"en": "draws no figure", "zh": "不画图"}),
    (["demo", "xor", "--engine=bogus"], 1, {"en": "CHAINRULE_ENGINE must be one of auto, numpy, compiled, "
                                                  "got 'bogus'", "zh": "环境变量 CHAINRULE_ENGINE 只能是"}),
])
def test_every_mistake_in_the_demo_command_is_told_in_its_language(argv, code, said, tmp_path,
                                                                  monkeypatch):
    pytest.importorskip("matplotlib")
    argv = [arg.replace("{tmp}", str(tmp_path)) for arg in argv]
    if argv[-1] == "--engine=bogus":   # not an option: the variable, set
        monkeypatch.setenv("CHAINRULE_ENGINE", argv.pop()[len("--engine="):])
    for lang in ("en", "zh"):
        status, out, err = _command(argv + ["--lang", lang])
        assert (status, out) == (code, ""), (lang, status, out, err)   # found before any training
        assert said[lang] in err, (lang, err)
        prefix = {"en": "chainrule demo: error: " if code == 2 else "chainrule: error: ",
                  "zh": "chainrule demo：错误：" if code == 2 else "chainrule：错误："}[lang]
        assert err.splitlines()[-1].startswith(prefix), err
        if code == 2:   # a mistake in the command line: the usage first, as argparse does
            assert err.splitlines()[0] == demo_text.TEXT[lang]["help.usage"]
        assert _foreign(err, argv, lang) == [], (lang, err)


def test_the_language_is_read_before_the_command_line_is_parsed():
    from chainrule.explain.demo_command import language
    assert language(["demo", "nope", "--lang", "zh"]) == "zh"
    assert language(["demo", "--lang=zh", "xor"]) == "zh" and language(["demo", "--la", "zh"]) == "zh"
    assert language(["demo", "--lang", "zh", "--lang", "en"]) == "en"       # the last wins
    assert language(["demo", "--lang", "fr"]) == "en" and language(["demo", "--lang"]) == "en"
    assert language(["train", "--lang", "zh"]) == "en" and language([]) == "en"
    # a --lang that is not en or zh is told in English, with the choices
    status, _, err = _command(["demo", "xor", "--lang", "fr"])
    assert status == 2 and "--lang must be one of en, zh, got 'fr'" in err
    status, _, err = _command(["demo", "xor", "--lang"])
    assert status == 2 and "--lang needs a value" in err


@pytest.mark.parametrize("lang", ["en", "zh"])
@pytest.mark.parametrize("columns", [70, 100])
def test_demo_help_is_aligned_in_both_languages(lang, columns):
    from chainrule.explain.demo_command import help_text
    from chainrule.explain.text import width
    text = help_text(lang, columns)
    lines = text.splitlines()
    assert lines[0] == demo_text.TEXT[lang]["help.usage"]
    assert all(width(line) <= columns for line in lines[1:]), text
    # each demo and option on a row of its own, what it is told in one column for all of them
    rows = [line for line in lines if re.match(r"  [-\w]", line)]
    starts = {width(re.match(r"  \S+(?: \S+)*\s{2,}", line).group(0)) for line in rows
              if not line.startswith("  pip install")}
    assert len(starts) == 1, text
    column = starts.pop()
    continued = [line for line in lines if line.startswith("   ")]
    assert continued and all(re.match(" " * column + r"\S", line) for line in continued), text
    assert {name for name in demos.DEMOS if re.search(rf"^  {re.escape(name)}  ", text, re.M)} == set(demos.DEMOS)
    assert ("[needs chainrule[sklearn]]" if lang == "en" else "[需要 chainrule[sklearn]]") in text
    assert "  pip install 'chainrule[plot,sklearn]'" in lines
    assert _foreign(text, [], lang) == [], text
    if lang == "zh":
        status, out, _ = _command(["demo", "--help", "--lang", "zh"])
        assert status == 0 and out.startswith(demo_text.TEXT["zh"]["help.usage"])


@pytest.mark.parametrize("name, key", [("xor", "xor.intro"), ("xor-mse", "xor_mse.intro"),
                                       ("sine", "sine.intro")])
def test_xor_and_sine_say_what_they_show_before_their_numbers(name, key, capsys):
    for lang, look in (("en", "What to look at"), ("zh", "要看的是")):
        demos.DEMOS[name](seed=0, epochs=50, lang=lang)
        out = capsys.readouterr().out
        intro, numbers = out.split("\n\n", 1)
        told = demo_text.say(lang, key, lr=0.1, epochs=50)
        assert re.sub(r"\s", "", intro) == re.sub(r"\s", "", told) and look in told
        assert ("lr 0.1, 50 epochs" if lang == "en" else "学习率 0.1，50 轮") in told
        assert numbers.startswith(demo_text.say(lang, "sine.final" if name == "sine" else "xor.final_loss",
                                                **({"mse": 0} if name == "sine" else {"loss": 0}))[:5])
    # and not a word of it when the demo is asked to be quiet
    demos.DEMOS[name](seed=0, epochs=5, verbose=0)
    assert capsys.readouterr().out == ""


def _drawn_texts(figure, monkeypatch):
    """The texts drawing ``figure`` draws, and the renderer that drew them."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.text import Text
    drawn, draw = [], Text.draw

    def keep(text, renderer):
        drawn.append(text)
        return draw(text, renderer)
    with monkeypatch.context() as patch:
        patch.setattr(Text, "draw", keep)
        FigureCanvasAgg(figure).draw()
    return [text for text in dict.fromkeys(drawn) if text.get_visible() and text.get_text().strip()], \
        figure.canvas.get_renderer()


@pytest.mark.parametrize("name, kwargs", FIGURE_RUNS)
def test_no_label_of_a_demos_figure_stands_on_another(name, kwargs, monkeypatch):
    pytest.importorskip("matplotlib")
    if name == "digits":
        pytest.importorskip("sklearn")
    import itertools
    figures = _figures(monkeypatch)
    for lang in ("en", "zh"):
        demos.DEMOS[name](seed=0, verbose=0, plot="f.png", lang=lang, **kwargs)
    for lang, figure in zip(("en", "zh"), figures):
        texts, renderer = _drawn_texts(figure, monkeypatch)
        boxes = {text: text.get_window_extent(renderer) for text in texts}
        for a, b in itertools.combinations(texts, 2):
            assert not boxes[a].overlaps(boxes[b]), (lang, a.get_text(), b.get_text())
        # two sideways labels of neighbouring panels (a colour bar's too) stood 10 px apart,
        # read as one: facing labels keep a clear gap
        sideways = [ax.yaxis.label for ax in figure.axes if ax.yaxis.label in boxes]
        for a, b in itertools.combinations(sideways, 2):
            left, right = sorted((boxes[a], boxes[b]), key=lambda box: box.x0)
            facing = min(left.y1, right.y1) > max(left.y0, right.y0)
            assert not facing or right.x0 - left.x1 >= 30, (lang, a.get_text(), b.get_text(),
                                                            right.x0 - left.x1)


def test_a_chinese_figure_without_a_chinese_font_is_told_once(monkeypatch, tmp_path, recwarn):
    pytest.importorskip("matplotlib")
    monkeypatch.setattr(plot, "cjk_fonts", list)   # list() is []: a system with none of plot.CJK_FONTS
    # to a library user, one UserWarning in the figure's language, naming what to install
    plot.history({"loss": [1.0, 0.5]}, lang="zh")
    told = [str(w.message) for w in recwarn if "fonts-noto-cjk" in str(w.message)]
    assert told == [plot.no_cjk_font("zh")] and "方框" in told[0]
    # the command says it before training, in its language, in place of a warning per glyph
    status, out, err = _command(["demo", "xor", "--lang", "zh", "--plot", str(tmp_path / "x.png")])
    assert status == 0 and (tmp_path / "x.png").exists()
    assert err.startswith("chainrule：警告：" + plot.no_cjk_font("zh") + "\n")
    assert "Glyph" not in err and err.count("fonts-noto-cjk") == 1
    # where a font is found, not a word of it
    monkeypatch.setattr(plot, "cjk_fonts", lambda: ["WenQuanYi Micro Hei"])
    status, _, err = _command(["demo", "xor", "--lang", "zh", "--plot", str(tmp_path / "y.png")])
    assert status == 0 and "fonts-noto-cjk" not in err


@pytest.mark.parametrize("missing, argv, said", [
    ("matplotlib", ["demo", "xor", "--plot", "x.png"], {"en": "--plot needs matplotlib",
                                                        "zh": "--plot 需要 matplotlib，但它没有安装"}),
    ("sklearn", ["demo", "digits"], {"en": "the digits demo needs scikit-learn",
                                     "zh": "digits 演示的数据集来自 scikit-learn"})])
def test_a_missing_extra_is_named_in_the_demos_language(missing, argv, said, monkeypatch):
    import builtins
    real_import = builtins.__import__

    def without(name, *args, **kwargs):
        if name.split(".")[0] == missing:
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)
    monkeypatch.setattr(builtins, "__import__", without)
    for lang in ("en", "zh"):
        status, out, err = _command(argv + ["--lang", lang])
        assert (status, out) == (1, "") and said[lang] in err, (lang, err)
        assert f"pip install 'chainrule[{'plot' if missing == 'matplotlib' else 'sklearn'}]'" in err
