"""Every figure renders to a non-empty PNG with the Agg backend."""
import builtins

import numpy as np
import pytest

pytest.importorskip("matplotlib")
import matplotlib

matplotlib.use("Agg")

import chainrule as cr
from chainrule import plot

PNG = b"\x89PNG\r\n\x1a\n"


def _saved(fig, tmp_path, name):
    path = tmp_path / name
    plot.save(fig, path)
    data = path.read_bytes()
    assert data.startswith(PNG) and len(data) > 5000  # a real picture, not an empty canvas
    return path


@pytest.fixture(scope="module")
def xor():
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=float)
    y = np.array([0, 1, 1, 0])
    net = cr.mlp([2, 4, 1], hidden="tanh", output="sigmoid", seed=0)
    h = net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.Adam(lr=0.05), epochs=300,
                batch_size=None, verbose=0, validation_data=(X, y))
    return net, X, y, h


def test_history(xor, tmp_path):
    *_, h = xor
    fig = plot.history(h)
    assert len(fig.axes) == 2  # loss, and accuracy (validation data was given)
    labels = [line.get_label() for line in fig.axes[0].lines]
    assert labels == ["training", "validation"] and len(fig.axes[0].lines[0].get_xdata()) == 300
    assert [line.get_label() for line in plot.history(h, lang="zh").axes[0].lines] == ["训练集", "验证集"]
    # a key fit does not write is shown by its name
    assert [line.get_label() for line in plot.history({"loss": [1, 0.5], "my_loss": [2, 1]}).axes[0].lines] \
        == ["training", "my_loss"]
    _saved(fig, tmp_path, "history.png")


def test_decision_boundary(xor, tmp_path):
    net, X, y, h = xor
    _saved(plot.decision_boundary(net, X, y), tmp_path, "boundary.png")
    assert len(plot.decision_boundary(net, X, y, history=h).axes) >= 2
    with pytest.raises(ValueError, match=r"shape \(n, 2\)"):
        plot.decision_boundary(net, np.zeros((3, 3)), [0, 1, 0])


def test_decision_boundary_multiclass(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    net = cr.mlp([2, 8, 3], hidden="relu", output="softmax", seed=0)
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.05), epochs=30, verbose=0)
    _saved(plot.decision_boundary(net, X, y, resolution=50), tmp_path, "multi.png")


def test_fit_1d(tmp_path):
    x = np.linspace(0, 1, 30)
    y = np.sin(2 * np.pi * x)
    net = cr.mlp([1, 10, 1], hidden="tanh", seed=0)
    h = net.fit(x.reshape(-1, 1), y, loss=cr.MSE(), optimizer=cr.Adam(lr=0.02), epochs=50,
                batch_size=None, verbose=0)
    fig = plot.fit_1d(net, x, y, history=h)
    assert fig.axes[0].lines[0].get_ydata().shape == (400,)
    _saved(fig, tmp_path, "fit.png")


def test_gradient_flow(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 4))
    net = cr.mlp([4, 8, 8, 8, 1], hidden="sigmoid", seed=0)
    h = net.fit(X, X[:, 0], loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), epochs=10, verbose=0,
                callbacks=[cr.callbacks.GradientMonitor(every=2)])
    fig = plot.gradient_flow(h)
    assert len(fig.axes[0].lines) == 4  # one line per Dense layer
    _saved(fig, tmp_path, "flow.png")
    with pytest.raises(ValueError, match="GradientMonitor"):
        plot.gradient_flow(cr.History())


def test_gradient_check_figure(tmp_path):
    net = cr.mlp([3, 4, 2], hidden="tanh", output="softmax", seed=0)
    report = cr.gradient_check(net, cr.CrossEntropy(), np.ones((2, 3)), [0, 1])
    _saved(plot.gradient_check(report), tmp_path, "check.png")


def test_clear_message_without_matplotlib(monkeypatch):
    real_import = builtins.__import__

    def no_matplotlib(name, *args, **kwargs):
        if name.startswith("matplotlib"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_matplotlib)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[plot\]'"):
        plot.history({"loss": [1.0, 0.5]})


def test_figures_in_chinese(xor, tmp_path, recwarn):
    net, X, y, h = xor
    fig = plot.decision_boundary(net, X, y, history=h, lang="zh")
    titles = [ax.get_title() for ax in fig.axes]
    assert "决策边界" in titles and "训练损失" in titles
    from matplotlib.font_manager import fontManager
    have = {font.name for font in fontManager.ttflist}
    cjk = [name for name in plot.CJK_FONTS if name in have]
    assert fig.axes[0].title.get_fontfamily() == ["DejaVu Sans", *cjk]
    _saved(fig, tmp_path, "zh.png")
    if cjk:   # drawn in real characters: matplotlib warns of no missing glyph
        assert not [w for w in recwarn if "missing from font" in str(w.message)]
    assert plot.readable_parameter_names(["0.W", "2.b", "dX"], lang="zh") == {
        "0.W": "第 1 层权重 W", "2.b": "第 2 层偏置 b", "dX": "输入 X"}
    with pytest.raises(ValueError, match="lang must be one of en, zh, got 'de'"):
        plot.history(h, lang="de")
