"""Gradient check: backpropagation against central differences.

For each parameter entry θ, the numerical derivative is

    ∂L/∂θ ≈ (L(θ + ε) − L(θ − ε)) / (2ε)

whose error is O(ε²); in float64 with ε = 1e-6 the two agree to about 1e-9
relative when backpropagation is right, and disagree at the first digit when
it is wrong. The check runs on a float64 copy, so the network is untouched.
"""
from __future__ import annotations

import numpy as np

from ..validation import check_loss, number, prepare_data
from .text import pad, width

#: The report's words, one table per language with the same keys.
WORDS = {
    "en": {"array": "array", "shape": "shape", "error": "max |error|", "relative": "relative error",
           "param": "d{name} (layer {i})", "worst": "worst relative error: {value}"},
    "zh": {"array": "数组", "shape": "形状", "error": "最大绝对误差", "relative": "相对误差",
           "param": "d{name}（第 {i} 层）", "worst": "最大的相对误差：{value}"},
}


def _name(key, w):
    """``"0.W"`` as ``"dW (layer 0)"`` in the report's language; ``"dX"`` as it is."""
    if key == "dX":
        return key
    layer, name = key.split(".", 1)
    return w["param"].format(name=name, i=layer)


class GradientCheckReport:
    """Per-array comparison of analytic and numerical gradients.

    ``rows`` holds ``(name, shape, max_abs_error, relative_error)`` for every
    parameter array and for dX; the relative error of an array is
    ``max|analytic − numeric| / max(max|numeric|, max|analytic|)`` (0 when both
    are 0). ``max_relative_error`` is the worst of them.
    """

    def __init__(self, rows, analytic, numeric):
        self.rows, self.analytic, self.numeric = rows, analytic, numeric

    @property
    def max_relative_error(self):
        return max((r[3] for r in self.rows), default=0.0)

    def __str__(self):
        return self.to_text()

    def to_text(self, lang="en"):
        """The table of every array's errors, in English (``"en"``) or 简体中文 (``"zh"``)."""
        if lang not in WORDS:
            raise ValueError(f"lang must be one of {', '.join(WORDS)}, got {lang!r}")
        w = WORDS[lang]
        header = (w["array"], w["shape"], w["error"], w["relative"])
        lines = [header] + [(_name(key, w), str(shape), f"{abs_err:.3e}", f"{rel:.3e}")
                            for key, (_, shape, abs_err, rel) in zip(self.analytic, self.rows)]
        widths = [max(width(line[c]) for line in lines) for c in range(4)]

        def fmt(line):
            return "  ".join(pad(cell, wd) if c < 2 else " " * (wd - width(cell)) + cell
                             for c, (cell, wd) in enumerate(zip(line, widths)))
        rule = "-" * width(fmt(header))
        return "\n".join([fmt(header), rule, *map(fmt, lines[1:]), rule,
                          w["worst"].format(value=f"{self.max_relative_error:.3e}")])

    def __repr__(self):
        return f"GradientCheckReport(max_relative_error={self.max_relative_error:.3e})"


def _relative(a, n):
    scale = max(np.max(np.abs(n), initial=0.0), np.max(np.abs(a), initial=0.0))
    err = np.max(np.abs(a - n), initial=0.0)
    return float(err), float(err / scale) if scale > 0 else 0.0


def gradient_check(net, loss, X, y, eps=1e-6):
    """Compare backpropagation with central differences, in float64.

    Parameters
    ----------
    net : Sequential
    loss : Loss
    X, y : arrays
        A small batch is enough (each parameter costs two forward passes).
    eps : float
        The finite-difference step.

    Returns
    -------
    GradientCheckReport
    """
    check_loss(loss)
    eps = number("eps", eps, greater_than=0)
    net = net.copy(dtype=np.float64)
    X, _, Y = prepare_data(net, X, y, loss)
    X = np.array(X, dtype=np.float64)

    def loss_at():
        return net.loss_value(X, Y, loss)

    with net.evaluating():
        # analytic: one backward pass, including dX for the input
        A = X
        for layer in net.layers:
            A = layer.forward(A)
        loss.forward(A, Y)
        dX = net.backward(loss.backward())
        analytic = {name: grad.copy() for name, _, grad in net.parameters()}
        numeric = {}
        for name, value, _ in net.parameters():
            numeric[name] = numeric_gradient(loss_at, value, eps)
        if dX is not None:  # None: the first layer takes indices (Embedding), no dX exists
            analytic["dX"] = dX.copy()
            numeric["dX"] = numeric_gradient(loss_at, X, eps)

    rows = [(_name(name, WORDS["en"]), analytic[name].shape, *_relative(analytic[name], numeric[name]))
            for name in analytic]
    return GradientCheckReport(rows, analytic, numeric)


def numeric_gradient(f, array, eps=1e-6):
    """∂f/∂array by central differences, in float64: ``(f(x + ε) − f(x − ε)) / 2ε`` for each
    entry, perturbing ``array`` in place and restoring it. ``f()`` returns a number."""
    grad = np.empty_like(array, dtype=np.float64)
    flat, out = array.reshape(-1), grad.reshape(-1)
    for i in range(flat.size):
        saved = flat[i]
        flat[i] = saved + eps
        up = f()
        flat[i] = saved - eps
        down = f()
        flat[i] = saved
        out[i] = (up - down) / (2 * eps)
    return grad
