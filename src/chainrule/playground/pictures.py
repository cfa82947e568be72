"""What the page draws of a session's network: its output over the input plane, and each unit's.

The network's output (``picture``) is the decision boundary of a 2-D data set
(a GRID×GRID image of the predicted class and its probability) or the fitted
curve of a 1-D one. Each unit of the diagram has its own small picture
(``unit_maps``: a UNIT_GRID² image, or a curve of UNIT_CURVE points), and one
at full size when the page shows it in the main plot (``unit_picture``).
Units are counted by diagram column: 0 the input features, c ≥ 1 the
activation A after Dense layer c − 1 (in evaluation mode: Dropout passes all).
"""
from __future__ import annotations

import numpy as np

from ..nn.dropout import Dropout
from ..nn.layers import Dense
from .features import expand
from .schema import RequestError

#: Cells per side of the decision-boundary grid; points along the regression curve.
GRID = 48
CURVE = 160
#: Cells per side of each unit's small map in the network diagram; points of its small curve.
UNIT_GRID = 16
UNIT_CURVE = 32
#: The 2-D frame of the toy data sets (a data set may have its own: ``DataSet.frame``), and the
#: x range of the regression plot.
FRAME = (-1.6, 1.6)
SINE_FRAME = (-3.2, 3.2)
_QUIET = {"over": "ignore", "invalid": "ignore", "divide": "ignore"}


def floats(array, digits=None):
    """A (nested) list of Python floats, non-finite values as None (JSON has no NaN)."""
    array = np.asarray(array, dtype=np.float64)
    if digits is not None:
        array = np.round(array, digits)
    if np.all(np.isfinite(array)):
        return array.tolist()
    return np.where(np.isfinite(array), array, None).tolist()


def _plane(session, n):
    """The n×n points of the session's frame (row 0 at the top: the largest x₂), and the frame."""
    frame = (-session.data.frame, session.data.frame)
    ticks = np.linspace(*frame, n)
    x1, x2 = np.meshgrid(ticks, ticks[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()]), frame


def _line(n):
    x = np.linspace(*SINE_FRAME, n)
    return x.reshape(-1, 1), x


def chance(session):
    """The output a guess would give: 1/k for k classes (the probability of each when nothing
    is known; 1/2 for a one-output binary classifier)."""
    return 1 / max(2, session.data.classes)


def centres(session):
    """Each diagram column's middle value, which its pictures show as white: 0, and for the
    output of probabilities, chance level (``chance``)."""
    output = session.config["output"]
    middle = chance(session) if output in ("sigmoid_bce", "softmax_ce") else 0.0
    return [0.0] * (len(session.sizes) - 1) + [middle]


def picture(session):
    """The network's output over the page's frame.

    Classification: a GRID×GRID image, row 0 at the top (largest x₂), each
    cell the predicted class and its probability. Regression: the fitted
    curve at CURVE points.
    """
    net, features = session.net, session.features
    with np.errstate(**_QUIET):
        if session.data.task == "regression":
            P, x = _line(CURVE)
            A = net.predict(expand(P, features))
            return {"kind": "curve", "x": floats(x, 4), "y": floats(A[:, 0], 4),
                    "frame": [*SINE_FRAME, -1.6, 1.6]}
        P, frame = _plane(session, GRID)
        A = net.predict(expand(P, features))
    if A.shape[1] == 1:
        p1 = A[:, 0]
        label, confidence = (p1 > 0.5).astype(int), np.where(p1 > 0.5, p1, 1 - p1)
    else:
        label, confidence = A.argmax(axis=1), A.max(axis=1)
    return {"kind": "grid", "size": GRID, "frame": [*frame, *frame], "chance": chance(session),
            "label": label.tolist(), "confidence": floats(confidence, 3)}


def columns(session, P):
    """Each diagram column's values at the points P (n, d): the features, then each Dense
    layer's activation A, as arrays (n, units)."""
    A = expand(P, session.features)
    out = [A]
    with np.errstate(**_QUIET), session.net.evaluating():
        for layer in session.net.layers:
            A = layer.forward(A)
            if not isinstance(layer, (Dense, Dropout)):  # a unit's picture: its activation
                out.append(A)
    return out


def unit_maps(session):
    """Each unit's small picture: one list per diagram column, one per unit in it.

    2-D data: a UNIT_GRID² image, row 0 at the top; 1-D data: the unit's
    value at UNIT_CURVE points of x across the regression plot.
    """
    P = _line(UNIT_CURVE)[0] if session.data.n_features == 1 else _plane(session, UNIT_GRID)[0]
    return [floats(values.T, 2) for values in columns(session, P)]


def unit_picture(session, column, unit):
    """Unit ``unit`` of diagram column ``column`` over the frame at the main plot's size: a
    GRID² image (``values``, row 0 at the top) or a curve of CURVE points, with its frame."""
    sizes = session.sizes
    if not 0 <= column < len(sizes) or not 0 <= unit < sizes[column]:
        raise RequestError("error.no_unit", column=column, unit=unit, sizes=sizes)
    if session.data.n_features == 1:
        P, x = _line(CURVE)
        y = columns(session, P)[column][:, unit]
        finite = y[np.isfinite(y)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (-1.0, 1.0)
        pad = max(0.1 * (high - low), 0.05)
        return {"kind": "curve", "column": column, "unit": unit, "x": floats(x, 4),
                "y": floats(y, 4), "frame": [*SINE_FRAME, low - pad, high + pad]}
    P, frame = _plane(session, GRID)
    values = columns(session, P)[column][:, unit]
    return {"kind": "grid", "column": column, "unit": unit, "size": GRID,
            "frame": [*frame, *frame], "centre": centres(session)[column],
            "values": floats(values, 3)}
