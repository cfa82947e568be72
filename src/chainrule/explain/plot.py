"""Figures of training runs and trained networks (needs matplotlib: ``pip install 'chainrule[plot]'``).

Every function returns a ``matplotlib.figure.Figure`` built without pyplot,
so nothing is shown or kept open behind your back: save it with
``save(fig, "out.png")`` or ``fig.savefig``; Jupyter displays it as it is.
Each takes ``lang="en"`` or ``"zh"`` (简体中文) for its words, from ``WORDS``, one
table per language; a Chinese figure draws its characters in a CJK font the system
has (Noto Sans CJK, Source Han Sans, WenQuanYi, PingFang, Microsoft YaHei, ...).
"""
from __future__ import annotations

import re

import numpy as np

#: The figures' words, one table per language with the same keys.
WORDS = {
    "en": {"epoch": "epoch", "loss": "loss", "training_loss": "training loss", "accuracy": "accuracy",
           "data": "data", "network": "network", "fit": "fit", "decision_boundary": "decision boundary",
           "step": "step", "gradient_norm": "gradient norm ‖∂L/∂θ‖",
           "gradient_flow": "gradient flow, per layer", "layer": "layer {i} ({kind})",
           "parameter": "layer {i} {kind}", "W": "weights W", "b": "biases b", "gamma": "scales γ",
           "beta": "shifts β", "inputs": "inputs X", "numerical": "numerical (central differences)",
           "backpropagation": "backpropagation",
           "gradient_check": "gradient check: worst relative error {error}",
           "training": "training", "validation": "validation",
           "no_cjk_font": ("no font with Chinese characters is installed ({fonts}, ...), so the "
                           "figure's Chinese is drawn as empty boxes: install one, e.g. "
                           "fonts-noto-cjk on Debian or Ubuntu")},
    "zh": {"epoch": "轮", "loss": "损失", "training_loss": "训练损失", "accuracy": "准确率",
           "data": "数据", "network": "网络", "fit": "拟合", "decision_boundary": "决策边界",
           "step": "步", "gradient_norm": "梯度范数 ‖∂L/∂θ‖",
           "gradient_flow": "各层的梯度流", "layer": "第 {i} 层（{kind}）",
           "parameter": "第 {i} 层{kind}", "W": "权重 W", "b": "偏置 b", "gamma": "缩放 γ",
           "beta": "平移 β", "inputs": "输入 X", "numerical": "数值导数（中心差分）",
           "backpropagation": "反向传播",
           "gradient_check": "梯度检验：最大的相对误差 {error}",
           "training": "训练集", "validation": "验证集",
           "no_cjk_font": ("这台机器上没有带中文字形的字体（{fonts} 等），图中的汉字会画成方框："
                           "请安装一种，例如 Debian/Ubuntu 上的 fonts-noto-cjk")},
}

#: Fonts with Chinese characters, the first a system has drawing them (after DejaVu Sans).
CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "WenQuanYi Micro Hei",
             "WenQuanYi Zen Hei", "PingFang SC", "Hiragino Sans GB", "Microsoft YaHei", "SimHei"]


def words(lang):
    """The figures' words in ``lang``; a ValueError naming the choices otherwise."""
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {', '.join(WORDS)}, got {lang!r}")
    return WORDS[lang]


def cjk_fonts():
    """The fonts of ``CJK_FONTS`` this system has, in that order."""
    from matplotlib.font_manager import fontManager
    have = {font.name for font in fontManager.ttflist}
    return [name for name in CJK_FONTS if name in have]


def no_cjk_font(lang):
    """What a Chinese figure says on a system with none of ``CJK_FONTS``, in ``lang``."""
    return words(lang)["no_cjk_font"].format(fonts=("、" if lang == "zh" else ", ").join(CJK_FONTS[:3]))


def speak(fig, lang):
    """In a Chinese figure, every text falls back to a CJK font for the characters
    DejaVu Sans lacks (set on the texts, so no global setting changes); returns ``fig``.
    With no such font on the system it says so, once, in a UserWarning (matplotlib's own
    warnings name one missing glyph at a time)."""
    if lang == "zh":
        from matplotlib.text import Text
        family = ["DejaVu Sans"] + cjk_fonts()
        if len(family) == 1:
            from ..nn.checks import warn_user
            warn_user(no_cjk_font(lang))
        for text in fig.findobj(Text):
            text.set_fontfamily(family)
    return fig


def _layer_name(name, w):
    """The monitor's ``"layer 0 (Dense)"`` in the figure's language."""
    match = re.fullmatch(r"layer (\d+) \((\w+)\)", name)
    return w["layer"].format(i=match.group(1), kind=match.group(2)) if match else name


def require_matplotlib():
    """ImportError naming the extra to install when matplotlib is missing."""
    try:
        import matplotlib  # noqa: F401
    except ImportError:
        raise ImportError("chainrule.plot needs matplotlib, which is not installed: "
                          "pip install 'chainrule[plot]' (or pip install matplotlib)") from None


def _figure(panels, width=5.0, height=4.0):
    require_matplotlib()
    from matplotlib.figure import Figure
    fig = Figure(figsize=(width * panels, height), layout="constrained")
    axes = [fig.add_subplot(1, panels, i + 1) for i in range(panels)]
    return fig, axes


def save(fig, path, dpi=110):
    """Write ``fig`` to ``path`` (the format follows the extension); returns the path."""
    fig.savefig(path, dpi=dpi)
    return path


def _records(h):
    """The dict of per-epoch lists inside a History (or a plain dict)."""
    records = getattr(h, "history", h)
    if not isinstance(records, dict):
        raise TypeError(f"expected a History (what fit returns) or a dict of lists, got {h!r}")
    return records


def _curve(key, w):
    """A history's curve in the legend: fit's own keys by what they measure the loss or the
    accuracy on (loss: the training rows, val_loss: the validation rows); any other by its key."""
    return {"loss": w["training"], "val_loss": w["validation"], "accuracy": w["training"],
            "val_accuracy": w["validation"]}.get(key, key)


def _draw_history(ax, records, lang="en"):
    losses = {k: v for k, v in records.items() if k.endswith("loss") and len(v)}
    if not losses:
        raise ValueError(f"the history has no loss to plot; it holds {sorted(records)}")
    w = words(lang)
    for key, values in losses.items():
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, label=_curve(key, w), lw=1.5)
    finite = np.concatenate([np.asarray(v, float) for v in losses.values()])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size and finite.max() / finite.min() > 100:
        ax.set_yscale("log")  # losses fall over decades: a linear axis hides all but the start
    ax.set_xlabel(w["epoch"])
    ax.set_ylabel(w["loss"])
    ax.set_title(w["training_loss"])
    ax.grid(alpha=0.3)
    ax.legend()


def history(h, lang="en"):
    """Loss (and validation loss) per epoch; accuracy curves in a second panel when present.

    Parameters
    ----------
    h : History or dict of lists
    lang : "en" or "zh"
        The language of the labels: fit's keys are told by what they measure (loss as
        "training", val_loss as "validation"), any other key by its name.
    """
    w = words(lang)
    records = _records(h)
    scores = {k: v for k, v in records.items() if k.endswith("accuracy") and len(v)}
    fig, axes = _figure(2 if scores else 1)
    _draw_history(axes[0], records, lang)
    if scores:
        for key, values in scores.items():
            axes[1].plot(np.arange(1, len(values) + 1), values, label=_curve(key, w), lw=1.5)
        axes[1].set_xlabel(w["epoch"])
        axes[1].set_ylabel(w["accuracy"])
        axes[1].set_title(w["accuracy"])
        axes[1].grid(alpha=0.3)
        axes[1].legend()
    return speak(fig, lang)


def fit_1d(net, x, y, history=None, points=400, lang="en"):
    """A regression fit of one input to one output: the data, and the network's curve.

    Parameters
    ----------
    net : Sequential with one input and one output
    x, y : arrays of n numbers (shape (n,) or (n, 1))
    history : History, optional
        Adds the loss curve as a second panel.
    lang : "en" or "zh"
    """
    w = words(lang)
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.size != y.size:
        raise ValueError(f"x and y must hold as many numbers, got {x.size} and {y.size}")
    fig, axes = _figure(2 if history is not None else 1)
    grid = np.linspace(x.min(), x.max(), points)
    curve = net.predict(grid.reshape(-1, 1))[:, 0]
    ax = axes[0]
    ax.scatter(x, y, s=12, color="tab:blue", alpha=0.7, label=w["data"])
    ax.plot(grid, curve, color="tab:red", lw=2, label=w["network"])
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title(w["fit"])
    ax.grid(alpha=0.3)
    ax.legend()
    if history is not None:
        _draw_history(axes[1], _records(history), lang)
    return speak(fig, lang)


def decision_boundary(net, X, y, history=None, resolution=200, margin=0.5,
                      output_label="P(class 1)", lang="en"):
    """A 2-D classifier's regions and the data on top.

    With one output (sigmoid) the background shades P(class 1) and the 0.5
    contour is the boundary; with several outputs it colours the argmax class.

    Parameters
    ----------
    net : Sequential with two inputs
    X : array (n, 2)
    y : array (n,) of class labels
    history : History, optional
        Adds the loss curve as a second panel.
    output_label : str
        The colour bar's label for one output: "P(class 1)" suits a sigmoid
        trained on cross-entropy; say what the output is otherwise.
    lang : "en" or "zh"
    """
    w = words(lang)
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y).reshape(-1)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision_boundary draws 2-D inputs: X must have shape (n, 2), got {X.shape}")
    fig, axes = _figure(2 if history is not None else 1)
    ax = axes[0]
    lo, hi = X.min(axis=0) - margin, X.max(axis=0) + margin
    g0, g1 = np.meshgrid(np.linspace(lo[0], hi[0], resolution), np.linspace(lo[1], hi[1], resolution))
    out = net.predict(np.column_stack([g0.ravel(), g1.ravel()]))
    if out.shape[1] == 1:
        surface = out[:, 0].reshape(g0.shape)
        shade = ax.contourf(g0, g1, surface, levels=np.linspace(0, 1, 21), cmap="RdBu_r", alpha=0.8)
        ax.contour(g0, g1, surface, levels=[0.5], colors="k", linewidths=1.5)
        # below the map, its label read across: at the side, a long label stood against the
        # next panel's y label (a Chinese one sideways too)
        fig.colorbar(shade, ax=ax, label=output_label, location="bottom", shrink=0.8, aspect=30)
    else:
        surface = out.argmax(axis=1).reshape(g0.shape)
        ax.contourf(g0, g1, surface, levels=np.arange(out.shape[1] + 1) - 0.5, cmap="tab10",
                    alpha=0.35, vmin=0, vmax=9)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r" if out.shape[1] == 1 else "tab10",
               vmin=0, vmax=1 if out.shape[1] == 1 else 9, edgecolors="k", s=60, zorder=3)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title(w["decision_boundary"])
    if history is not None:
        _draw_history(axes[1], _records(history), lang)
    return speak(fig, lang)


def gradient_flow(h, lang="en"):
    """Per-layer gradient norms over training, on a log scale (from a GradientMonitor).

    In a deep sigmoid stack the lines for the first layers sit decades below
    the last: vanishing gradients, visible.

    Parameters
    ----------
    h : History of a fit run with ``GradientMonitor``, or the monitor's ``gradients`` dict
    lang : "en" or "zh"
    """
    w = words(lang)
    records = getattr(h, "gradients", h)
    if not isinstance(records, dict) or "grad_norm" not in records:
        raise ValueError("gradient_flow needs the records of a GradientMonitor: train with "
                         "fit(..., callbacks=[cr.callbacks.GradientMonitor()]) and pass the History")
    fig, (ax,) = _figure(1, width=7.0)
    steps = records["step"]
    from matplotlib import colormaps
    # colour by depth, first layer dark to last layer light, so the ordering shows
    colours = colormaps["viridis"](np.linspace(0, 0.9, max(len(records["grad_norm"]), 1)))
    for colour, (name, norms) in zip(colours, records["grad_norm"].items()):
        norms = np.asarray(norms, dtype=np.float64)
        ax.plot(steps[:len(norms)], np.where(norms > 0, norms, np.nan), label=_layer_name(name, w),
                lw=1.5, color=colour)
    ax.set_yscale("log")
    ax.set_xlabel(w["step"])
    ax.set_ylabel(w["gradient_norm"])
    ax.set_title(w["gradient_flow"])
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return speak(fig, lang)


def readable_parameter_names(names, lang="en"):
    """``{"0.W": "layer 1 weights W", "0.b": "layer 1 biases b", "dX": "inputs X", ...}``:
    layers with parameters counted from 1, as a textbook numbers them (``lang="zh"``: in 简体中文)."""
    w = words(lang)
    indices = sorted({int(n.split(".")[0]) for n in names if n.split(".")[0].isdigit()})
    out = {}
    for name in names:
        where, _, what = name.partition(".")
        if where.isdigit():
            out[name] = w["parameter"].format(i=indices.index(int(where)) + 1, kind=w.get(what, what)
                                              if what in ("W", "b", "gamma", "beta") else what)
        else:
            out[name] = w["inputs"] if name == "dX" else name
    return out


def gradient_check(report, lang="en"):
    """Backpropagation against central differences, one dot per gradient entry."""
    w = words(lang)
    fig, (ax,) = _figure(1)
    labels = readable_parameter_names(list(report.analytic), lang)
    for name in report.analytic:
        a, n = report.analytic[name].ravel(), report.numeric[name].ravel()
        ax.scatter(n, a, s=6, alpha=0.6, label=labels[name])
    both = np.concatenate([v.ravel() for v in report.numeric.values()])
    lo, hi = float(both.min()), float(both.max())
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    ax.set_xlabel(w["numerical"])
    ax.set_ylabel(w["backpropagation"])
    ax.set_title(w["gradient_check"].format(error=f"{report.max_relative_error:.1e}"))
    ax.legend(fontsize="small")
    return speak(fig, lang)
