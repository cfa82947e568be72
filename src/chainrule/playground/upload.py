"""A learner's own 2-D points, sent as CSV text: checked as the hostile input it may be.

The text is ``x1,x2,label`` per line (an optional header line first), labels
0, 1 or 2. Every limit is checked before anything is built, and each refusal
is a ``RequestError`` (HTTP 400) naming the line, the rule and the value.

The points are moved into the playground's frame (centre of their bounding
box at 0, the longer half-side 1.4), as the toy data sets live there: the
shape of the data and the learning rates that suit it stay the same. The
scale is reported, and the exported model and script use the moved points.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .datasets import DataSet
from .schema import RequestError
from .words import received, shown

MAX_CHARS = 65_536   # the CSV text itself
MAX_ROWS = 1000
MIN_ROWS = 20       # as for the generated sets
MAX_CLASSES = 3      # the page has three class colours
MAX_ABS = 1e6        # a coordinate beyond this is a unit mistake, not a point
HALF_SIDE = 1.4      # the points' bounding box, moved into [-1.4, 1.4]


def _number(text, line, column):
    try:
        value = float(text)
    except ValueError:
        raise RequestError("csv.not_number", line=line, column=column,
                           value=received(text.strip()[:20])) from None
    if not math.isfinite(value) or abs(value) > MAX_ABS:
        raise RequestError("csv.too_big", line=line, column=column, hi=shown(MAX_ABS),
                           value=received(text.strip()[:20]))
    return value


def parse_csv(text):
    """``(P, y, scale)`` from the CSV text: points (n, 2) in the frame, labels (n,), and
    ``{"centre": [c1, c2], "scale": s}`` with P = (x − centre) / s."""
    if not isinstance(text, str):
        raise RequestError("csv.not_text", type=type(text).__name__)
    if len(text) > MAX_CHARS:
        raise RequestError("csv.too_long", hi=MAX_CHARS, count=len(text))
    lines = [(i, line) for i, line in enumerate(text.splitlines(), 1) if line.strip()]
    if lines and not _numeric(lines[0][1]):
        lines = lines[1:]  # a header line
    if not MIN_ROWS <= len(lines) <= MAX_ROWS:
        raise RequestError("csv.rows", lo=MIN_ROWS, hi=MAX_ROWS, count=len(lines))
    rows = []
    for i, line in lines:
        fields = line.split(",")
        if len(fields) != 3:
            raise RequestError("csv.fields", line=i, count=len(fields))
        x1, x2, label = (_number(f, i, c) for c, f in enumerate(fields, 1))
        if label not in range(MAX_CLASSES):
            raise RequestError("csv.label", line=i, value=received(fields[2].strip()[:20]))
        rows.append((x1, x2, int(label)))
    data = np.array(rows, dtype=np.float64)
    X, y = data[:, :2], data[:, 2].astype(np.intp)
    classes = len(np.unique(y))
    if classes < 2 or y.max() + 1 != classes:
        raise RequestError("csv.labels", labels=sorted(set(y.tolist())))
    low, high = X.min(axis=0), X.max(axis=0)
    centre = (low + high) / 2
    half = float((high - low).max()) / 2
    scale = half / HALF_SIDE if half > 0 else 1.0
    return (X - centre) / scale, y, {"centre": centre.tolist(), "scale": scale}


def _numeric(line):
    try:
        [float(f) for f in line.split(",")]
        return True
    except ValueError:
        return False


@dataclass(frozen=True)
class Uploaded(DataSet):
    """A tab's own points as a data set: ``make`` returns them (size and noise do not apply)."""

    P: object = None
    y: object = None
    scale: object = None

    @property
    def size(self):
        return len(self.P)


def uploaded_dataset(P, y, scale):
    """The points as a data set the session can use in place of a generated one."""
    return Uploaded("upload", lambda n, noise, rng: (P.copy(), y.copy()), 2, int(y.max()) + 1,
                    f"your CSV ({len(P)} points)", P=P, y=y, scale=scale)
