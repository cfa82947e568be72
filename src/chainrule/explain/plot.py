"""Figures of training runs and trained networks (needs matplotlib: ``pip install 'chainrule[plot]'``).

Every function returns a ``matplotlib.figure.Figure`` built without pyplot,
so nothing is shown or kept open behind your back: save it with
``save(fig, "out.png")`` or ``fig.savefig``; Jupyter displays it as it is.
"""
from __future__ import annotations

import numpy as np


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


def _draw_history(ax, records):
    losses = {k: v for k, v in records.items() if k.endswith("loss") and len(v)}
    if not losses:
        raise ValueError(f"the history has no loss to plot; it holds {sorted(records)}")
    for key, values in losses.items():
        epochs = np.arange(1, len(values) + 1)
        ax.plot(epochs, values, label=key, lw=1.5)
    finite = np.concatenate([np.asarray(v, float) for v in losses.values()])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    if finite.size and finite.max() / finite.min() > 100:
        ax.set_yscale("log")  # losses fall over decades: a linear axis hides all but the start
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss")
    ax.set_title("training loss")
    ax.grid(alpha=0.3)
    ax.legend()


def history(h):
    """Loss (and validation loss) per epoch; accuracy curves in a second panel when present.

    Parameters
    ----------
    h : History or dict of lists
    """
    records = _records(h)
    scores = {k: v for k, v in records.items() if k.endswith("accuracy") and len(v)}
    fig, axes = _figure(2 if scores else 1)
    _draw_history(axes[0], records)
    if scores:
        for key, values in scores.items():
            axes[1].plot(np.arange(1, len(values) + 1), values, label=key, lw=1.5)
        axes[1].set_xlabel("epoch")
        axes[1].set_ylabel("accuracy")
        axes[1].set_title("accuracy")
        axes[1].grid(alpha=0.3)
        axes[1].legend()
    return fig


def fit_1d(net, x, y, history=None, points=400):
    """A regression fit of one input to one output: the data, and the network's curve.

    Parameters
    ----------
    net : Sequential with one input and one output
    x, y : arrays of n numbers (shape (n,) or (n, 1))
    history : History, optional
        Adds the loss curve as a second panel.
    """
    x = np.asarray(x, dtype=np.float64).reshape(-1)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.size != y.size:
        raise ValueError(f"x and y must hold as many numbers, got {x.size} and {y.size}")
    fig, axes = _figure(2 if history is not None else 1)
    grid = np.linspace(x.min(), x.max(), points)
    curve = net.predict(grid.reshape(-1, 1))[:, 0]
    ax = axes[0]
    ax.scatter(x, y, s=12, color="tab:blue", alpha=0.7, label="data")
    ax.plot(grid, curve, color="tab:red", lw=2, label="network")
    ax.set_xlabel("x")
    ax.set_ylabel("y")
    ax.set_title("fit")
    ax.grid(alpha=0.3)
    ax.legend()
    if history is not None:
        _draw_history(axes[1], _records(history))
    return fig


def decision_boundary(net, X, y, history=None, resolution=200, margin=0.5,
                      output_label="P(class 1)"):
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
    """
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
        fig.colorbar(shade, ax=ax, label=output_label)
    else:
        surface = out.argmax(axis=1).reshape(g0.shape)
        ax.contourf(g0, g1, surface, levels=np.arange(out.shape[1] + 1) - 0.5, cmap="tab10",
                    alpha=0.35, vmin=0, vmax=9)
    ax.scatter(X[:, 0], X[:, 1], c=y, cmap="RdBu_r" if out.shape[1] == 1 else "tab10",
               vmin=0, vmax=1 if out.shape[1] == 1 else 9, edgecolors="k", s=60, zorder=3)
    ax.set_xlabel("x1")
    ax.set_ylabel("x2")
    ax.set_title("decision boundary")
    if history is not None:
        _draw_history(axes[1], _records(history))
    return fig


def gradient_flow(h):
    """Per-layer gradient norms over training, on a log scale (from a GradientMonitor).

    In a deep sigmoid stack the lines for the first layers sit decades below
    the last: vanishing gradients, visible.

    Parameters
    ----------
    h : History of a fit run with ``GradientMonitor``, or the monitor's ``gradients`` dict
    """
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
        ax.plot(steps[:len(norms)], np.where(norms > 0, norms, np.nan), label=name, lw=1.5,
                color=colour)
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel("gradient norm ‖∂L/∂θ‖")
    ax.set_title("gradient flow, per layer")
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize="small", loc="center left", bbox_to_anchor=(1.01, 0.5))
    return fig


def readable_parameter_names(names):
    """``{"0.W": "layer 1 weights W", "0.b": "layer 1 biases b", "dX": "inputs X", ...}``:
    layers with parameters counted from 1, as a textbook numbers them."""
    indices = sorted({int(n.split(".")[0]) for n in names if n.split(".")[0].isdigit()})
    kinds = {"W": "weights W", "b": "biases b", "gamma": "scales γ", "beta": "shifts β"}
    out = {}
    for name in names:
        where, _, what = name.partition(".")
        if where.isdigit():
            out[name] = f"layer {indices.index(int(where)) + 1} {kinds.get(what, what)}"
        else:
            out[name] = {"dX": "inputs X"}.get(name, name)
    return out


def gradient_check(report):
    """Backpropagation against central differences, one dot per gradient entry."""
    fig, (ax,) = _figure(1)
    labels = readable_parameter_names(list(report.analytic))
    for name in report.analytic:
        a, n = report.analytic[name].ravel(), report.numeric[name].ravel()
        ax.scatter(n, a, s=6, alpha=0.6, label=labels[name])
    both = np.concatenate([v.ravel() for v in report.numeric.values()])
    lo, hi = float(both.min()), float(both.max())
    ax.plot([lo, hi], [lo, hi], color="k", lw=0.8)
    ax.set_xlabel("numerical (central differences)")
    ax.set_ylabel("backpropagation")
    ax.set_title(f"gradient check: worst relative error {report.max_relative_error:.1e}")
    ax.legend(fontsize="small")
    return fig
