"""Point at the mistake in a learner's own backpropagation, by name.

The classic exercise is the hand-written loop of a small network (XOR, 2-4-1)::

    Z1 = X·W1 + b1      A1 = σ(Z1)      Z2 = A1·W2 + b2      A2 = σ(Z2)
    dZ2 = (A2 − Y)/m    dW2 = A1ᵀ·dZ2   db2 = Σ_rows dZ2     dA1 = dZ2·W2ᵀ
    dZ1 = dA1 ⊙ A1(1 − A1)              dW1 = Xᵀ·dZ1         db1 = Σ_rows dZ1

``cr.diagnose(net, X, y, mine, loss=...)`` computes every one of these lines
itself and compares them with the learner's arrays ``mine``, in the order
backpropagation computes them. Each line is compared with what the learner's
own earlier arrays imply (the ones not given are filled in by the right
equations), so one mistake is reported once, at its line, not as a chain of
differences after it. When a line differs, each mistake of the catalogue
(:mod:`chainrule.diagnose_mistakes`) that could have been made on it, or on a
line before it that the learner did not give, is planted in turn and the line
recomputed: the mistake named is the one that reproduces the learner's numbers.

The right numbers are computed in float64 from the network's layers and loss
(the learner's weights, when given, in place of the network's).
"""
from __future__ import annotations

import copy
import re
import types
from collections.abc import Mapping
from typing import Callable, NamedTuple

import numpy as np

from . import diagnose_mistakes as catalogue
from . import diagnose_views
from .network import Sequential
from .nn.activations import Activation
from .nn.layers import Dense
from .nn.losses import CrossEntropy
from .validation import as_array, check_loss, prepare_data

#: The kinds of line on the way back (the forward lines are "Z" and "A").
BACKWARD = ("start", "dZ", "dW", "db", "dX")


class Line(NamedTuple):
    """One line of the textbook loop: ``name = right(inputs)``."""

    name: str              # the textbook name it computes: "dZ2"
    kind: str              # "Z", "A", or one of BACKWARD
    layer: int             # its Dense layer, numbered from 1
    inputs: dict           # the glossary's name of each input -> its textbook name: {"X": "A1"}
    output: str            # the glossary's name of what it computes: "dX" for dA1
    right: Callable        # v -> the right value (v: the inputs by the glossary's names)
    equation: str          # the right equation, in the glossary's names
    extras: dict           # what else the line reads: the activation g, the loss, m and n

    def numbered(self, equation=None):
        """``equation`` (default: the right one) in the textbook's numbered names."""
        names = {**self.inputs, self.output: self.name}
        return re.sub(r"(?<![A-Za-z0-9_])(dX|dZ|dA|dW|db|X|Z|A|W|b)(?![A-Za-z0-9])",
                      lambda m: names.get(m.group(1), m.group(1)), equation or self.equation)


class Finding(NamedTuple):
    """One of the learner's arrays that differs from what their earlier arrays imply.

    ``mistake`` is a key of the catalogue or None; ``at`` the line the mistake is on (the
    finding's own line, or an earlier one the learner did not give); ``wrong_equation``
    the mistake's equation there, numbered; ``detail`` its variant (a loss, a transposition).
    ``true`` is the value of the correct loop, and ``makes_up`` says that the learner's array
    equals it (the line undoes a mistake before it); ``relative_error`` is
    max|mine − right| / max(max|mine|, max|right|).
    """

    line: Line
    mine: np.ndarray
    right: np.ndarray
    true: np.ndarray
    relative_error: float
    makes_up: bool = False
    mistake: str | None = None
    at: Line | None = None
    wrong_equation: str = ""
    detail: str = ""

    @property
    def name(self):
        return self.line.name


class DiagnosisReport:
    """What :func:`diagnose` found.

    Attributes
    ----------
    ok : bool
        Every array given matches.
    first : str or None
        The first given name, in the order backpropagation computes them, whose array differs.
    mistake : str or None
        What the mistake at ``first`` probably is: a key of the catalogue
        (``chainrule.diagnose_mistakes.KEYS``), or None when none reproduces it (or all is ok).
    findings : list of Finding
        Every differing array, ``first`` first; each compared with what the learner's own
        earlier arrays imply.
    checked : list of str
        The names compared, in order.
    weights : list of str
        The learner's weights used in place of the network's.
    tolerance : float
        The largest relative difference counted as equal: √ε of ``dtype``.
    dtype : numpy dtype
        The coarsest float dtype among the learner's arrays (float64 if none is float).
    """

    def __init__(self, findings, checked, weights, tolerance, dtype):
        self.findings, self.checked, self.weights = findings, checked, weights
        self.tolerance, self.dtype = tolerance, dtype

    @property
    def ok(self):
        return not self.findings

    @property
    def first(self):
        return self.findings[0].name if self.findings else None

    @property
    def mistake(self):
        return self.findings[0].mistake if self.findings else None

    def to_text(self, lang="en"):
        """The report in ``lang``: "en" or "zh" (简体中文); the equations stay as they are."""
        return diagnose_views.to_text(self, lang=lang)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return f"DiagnosisReport(ok={self.ok}, first={self.first!r}, mistake={self.mistake!r})"


# -- the network, as the textbook loop sees it ---------------------------------------------

def textbook_layers(net):
    """``[(Dense, activation or None), ...]``, numbered from 1 by the loop.

    ValueError for any other layer: the loop is ``Z = X·W + b`` then ``A = g(Z)``.
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a chainrule Sequential, got {type(net).__name__}")
    pairs, i, layers = [], 0, net.layers
    while i < len(layers):
        dense = layers[i]
        if not isinstance(dense, Dense):
            raise ValueError(
                f"net: layer {i} is {dense!r}; diagnose follows the textbook loop, Z = X·W + b "
                "then A = g(Z), so the network must be Dense layers, each followed by at most "
                "one activation")
        if dense.penalized:
            raise ValueError(f"net: layer {i} has an L1/L2 penalty ({dense!r}); the textbook "
                             "loop has none: diagnose a network without it")
        following = layers[i + 1] if i + 1 < len(layers) else None
        act = following if isinstance(following, Activation) else None
        pairs.append((dense, act))
        i += 2 if act is not None else 1
    if not pairs:
        raise ValueError("net has no layers")
    return pairs


def expected_shapes(pairs, n):
    """``{name: shape}`` of every textbook name, for a batch of ``n`` rows."""
    shapes = {}
    for l, (dense, _) in enumerate(pairs, 1):
        shapes.update({f"W{l}": (dense.n_in, dense.n_out), f"b{l}": (dense.n_out,),
                       f"Z{l}": (n, dense.n_out), f"A{l}": (n, dense.n_out),
                       f"dZ{l}": (n, dense.n_out), f"dA{l}": (n, dense.n_out),
                       f"dW{l}": (dense.n_in, dense.n_out), f"db{l}": (dense.n_out,)})
    return shapes


def _forward(g, Z):
    """A = g(Z) by the layer's own forward (on a copy: the network's caches stay as they are)."""
    return Z if g is None else copy.copy(g).forward(Z)


def _backward(g, dA, Z):
    """dZ by the layer's own backward, from Z."""
    if g is None:
        return dA
    h = copy.copy(g)
    h.forward(Z)
    return h.backward(dA)


def _loss_gradient(loss, A, Y):
    """dA = ∂L/∂A by the loss's own backward (on a copy)."""
    own = copy.copy(loss)
    own.forward(A, Y)
    return own.backward()


def _act_equations(g):
    if g is None:
        return "A = Z", "dZ = dA"
    return g.equations.get("forward", f"A = {type(g).__name__}(Z)"), \
        g.equations.get("backward", f"dZ = dA through {type(g).__name__}")


def loop_lines(pairs, loss, fused, given, n):
    """The lines of the textbook loop in the order backpropagation computes them."""
    L, lines = len(pairs), []
    for l, (dense, g) in enumerate(pairs, 1):
        X = "X" if l == 1 else f"A{l - 1}"
        lines.append(Line(f"Z{l}", "Z", l, {"X": X, "W": f"W{l}", "b": f"b{l}"}, "Z",
                          lambda v: v.X @ v.W + v.b, type(dense).equations["forward"], {}))
        lines.append(Line(f"A{l}", "A", l, {"Z": f"Z{l}"}, "A", lambda v: _forward(v.g, v.Z),
                          _act_equations(g)[0], {"g": g}))
    last = pairs[-1][1]
    extras = {"g": last, "loss": loss, "n": n,
              "m": n if isinstance(loss, CrossEntropy) else n * pairs[-1][0].n_out}
    ends = {"A": f"A{L}", "Z": f"Z{L}", "Y": "Y"}
    if fused and f"dA{L}" not in given:   # the pair's short form: dZ = (A − Y)/m
        lines.append(Line(f"dZ{L}", "start", L, ends, "dZ", lambda v: (v.A - v.Y) / v.m,
                          loss.fused_equations.get("gradient", "dZ = (A − Y) / m"), extras))
    else:
        lines.append(Line(f"dA{L}", "start", L, ends, "dA",
                          lambda v: _loss_gradient(v.loss, v.A, v.Yp),
                          loss.equations.get("gradient", "dA = ∂L/∂A"), extras))
    for l in range(L, 0, -1):
        dense, g = pairs[l - 1]
        if lines[-1].name != f"dZ{l}":
            lines.append(Line(f"dZ{l}", "dZ", l, {"dA": f"dA{l}", "Z": f"Z{l}", "A": f"A{l}"},
                              "dZ", lambda v: _backward(v.g, v.dA, v.Z), _act_equations(g)[1],
                              {"g": g}))
        dW, db, dX = type(dense).equations["backward"].split(";  ")
        X, dZ = ("X" if l == 1 else f"A{l - 1}"), f"dZ{l}"
        lines.append(Line(f"dW{l}", "dW", l, {"X": X, "dZ": dZ}, "dW",
                          lambda v: v.X.T @ v.dZ, dW, {}))
        lines.append(Line(f"db{l}", "db", l, {"dZ": dZ}, "db", lambda v: v.dZ.sum(axis=0), db, {}))
        if l > 1:
            lines.append(Line(f"dA{l - 1}", "dX", l, {"dZ": dZ, "W": f"W{l}"}, "dX",
                              lambda v: v.dZ @ v.W.T, dX, {}))
    return lines


# -- one line's numbers --------------------------------------------------------------------

def _context(line, values):
    """The line's inputs by the glossary's names, its extras, and its right value."""
    v = types.SimpleNamespace(**line.extras)
    for generic, name in line.inputs.items():
        setattr(v, generic, values[name])
    v.Yp = values["Yp"]
    if line.kind == "start" and line.output == "dZ":   # a fused start: the pair's two halves
        v.dA = _loss_gradient(v.loss, v.A, v.Yp)
        v.through = lambda dA: _backward(v.g, dA, v.Z)
    v.right = line.right(v)
    return v


def relative_error(mine, right):
    """max|mine − right| / max(max|mine|, max|right|): 0 when both are 0, inf when not finite."""
    if not (np.all(np.isfinite(mine)) and np.all(np.isfinite(right))):
        return 0.0 if np.array_equal(mine, right, equal_nan=True) else np.inf
    scale = max(np.max(np.abs(mine), initial=0.0), np.max(np.abs(right), initial=0.0))
    error = np.max(np.abs(mine - right), initial=0.0)
    return float(error / scale) if scale > 0 else 0.0


def _close(a, b, tolerance):
    return a.shape == b.shape and relative_error(a, b) <= tolerance


# -- the walk, and the search for the mistake -----------------------------------------------

def _walk(lines, start, given):
    """Every line's value, the given ones the learner's, the others computed from them."""
    values = dict(start)
    with np.errstate(all="ignore"):
        for line in lines:
            values[line.name] = given[line.name] if line.name in given \
                else _context(line, values).right
    return values


def _ancestors(k, lines, given):
    """Line ``k`` and the backward lines before it that feed it through names not given."""
    where = {line.name: i for i, line in enumerate(lines)}
    found, todo = {k}, [k]
    while todo:
        for name in lines[todo.pop()].inputs.values():
            i = where.get(name)
            if i is not None and name not in given and lines[i].kind in BACKWARD and i not in found:
                found.add(i)
                todo.append(i)
    return sorted(found)


def _mistakes(line, is_target):
    """The catalogue's mistakes of ``line``, in the order they are tried."""
    if line.kind == "start":
        fused = line.output == "dZ"
        through = _act_equations(line.extras["g"])[1] if fused else None
        found = catalogue.start_mistakes(line.equation) + catalogue.loss_gradient_mistakes(
            line.extras["loss"], line.extras["n"], line.extras["m"], through)
        if fused:
            loss_dA = line.extras["loss"].equations.get("gradient", "dA").rpartition(" = ")[2]
            found += catalogue.fused_start_mistakes(line.extras["g"], loss_dA)
        return found
    if line.kind == "dZ":
        found = catalogue.activation_mistakes(line.extras["g"])
    elif line.kind in catalogue.DENSE_MISTAKES:
        found = list(catalogue.DENSE_MISTAKES[line.kind])
    else:
        return []
    return found + ([catalogue.sign_mistake(line.equation)] if is_target else [])


def _replant(k, j, mistake, lines, values, given):
    """The values with ``mistake`` made on line ``j`` (j ≤ k), and the lines after it up to
    line ``k`` that the learner did not give, and line k, recomputed from it; None if the
    arrays do not fit."""
    values = dict(values)
    try:
        values[lines[j].name] = np.asarray(mistake.compute(_context(lines[j], values)), float)
        for i in range(j + 1, k + 1):
            if i == k or lines[i].name not in given:
                values[lines[i].name] = _context(lines[i], values).right
    except ValueError:   # a product whose shapes do not fit: not this mistake
        return None
    return values


def _explain(k, lines, values, given, tolerance):
    """``(mistake, line j, values)``: the first mistake that, made on line j, reproduces the
    learner's line k, and the values it implies for the lines not given; None if none does."""
    mine = given[lines[k].name]
    with np.errstate(all="ignore"):
        right = _context(lines[k], values).right
        for j in _ancestors(k, lines, given):
            for mistake in _mistakes(lines[j], is_target=j == k):
                planted = _replant(k, j, mistake, lines, values, given)
                value = None if planted is None else planted[lines[k].name]
                if value is not None and _close(mine, value, tolerance) \
                        and not _close(value, right, tolerance):
                    return mistake, lines[j], planted
    return None


def diagnose(net, X, y, mine, *, loss):
    """Compare a hand-written backpropagation with chainrule's, and name the mistake.

    Parameters
    ----------
    net : Sequential
        The architecture and activations: Dense layers, each followed by at most one
        activation (numbered from 1, as the textbook names them: W1, Z1, A1, ...).
    X : array (n, n_in)
    y : array
        The targets, as ``loss`` takes them (class labels or one-hot rows for CrossEntropy).
    mine : dict of str -> array
        The learner's arrays by their textbook names, any subset of: the weights ``W1, b1,
        W2, b2, …`` (used in place of the network's), the forward ``Z1, A1, Z2, A2, …`` and
        the backward ``dA{L}, dZ{L}, dW{L}, db{L}, dA{L−1}, dZ{L−1}, …, dW1, db1``, where
        ``dA{l}`` is ∂L/∂A{l}, the gradient reaching layer l's output. A bias may be
        (n_out,) or (1, n_out). Every shape is checked before anything is compared.
    loss : Loss
        The reference loss (chainrule's losses average over the batch: dA carries their 1/m).

    Returns
    -------
    DiagnosisReport
        ``ok``, ``first``, ``mistake``, ``findings``; ``str(report)`` and
        ``report.to_text(lang="zh")`` say what differs and why, in English and 简体中文.
    """
    check_loss(loss)
    textbook_layers(net)                       # the architecture, checked before the data
    net64 = net.copy(dtype=np.float64)         # the right numbers in float64; net stays as it is
    pairs = textbook_layers(net64)
    X, _, Yp = prepare_data(net64, X, y, loss)
    given, dtype = _check_mine(mine, pairs, len(X))
    Y = np.eye(net64.n_out)[Yp] if Yp.ndim == 1 else np.asarray(Yp, np.float64)
    start, weights = {"X": np.asarray(X, np.float64), "Y": Y, "Yp": Yp}, []
    for l, (dense, _) in enumerate(pairs, 1):
        for p, value in ((f"W{l}", dense.W), (f"b{l}", dense.b)):
            start[p] = given.pop(p) if p in given else value
            weights += [p] if p in mine else []
    lines = loop_lines(pairs, loss, net64.fused_with(loss), given, len(X))
    tolerance = float(np.sqrt(np.finfo(dtype).eps))
    findings = _compare(lines, start, given, tolerance)
    checked = [line.name for line in lines if line.name in given]
    return DiagnosisReport(findings, checked, weights, tolerance, np.dtype(dtype))


def _compare(lines, start, given, tolerance):
    """The findings: each given line against what the learner's earlier arrays imply.

    When a mistake is found on a line the learner did not give, the arrays it implies for
    the lines not given stand in for theirs from then on: the learner's own, inferred.
    """
    true = _walk(lines, start, {})
    values, findings = dict(start), []
    for k, line in enumerate(lines):
        with np.errstate(all="ignore"):
            right = _context(line, values).right
        if line.name in given:
            if not _close(given[line.name], right, tolerance):
                found = _explain(k, lines, values, given, tolerance)
                findings.append(_finding(line, given[line.name], right, true, tolerance, found))
                if found is not None:
                    values.update({name: value for name, value in found[2].items()
                                   if name not in given})
            values[line.name] = given[line.name]
        else:
            values[line.name] = right
    return findings


def _finding(line, mine, right, true, tolerance, found):
    base = Finding(line, mine, right, true[line.name], relative_error(mine, right),
                   makes_up=_close(mine, true[line.name], tolerance))
    if found is None:
        return base
    mistake, at, _ = found
    return base._replace(mistake=mistake.key, at=at, wrong_equation=at.numbered(mistake.equation),
                         detail=mistake.detail)


# -- the learner's arrays --------------------------------------------------------------------

def _check_mine(mine, pairs, n):
    """The learner's arrays as float64 (biases as (n_out,)), and the coarsest float dtype among
    them. One ValueError listing every shape that does not fit, in plain words."""
    if not isinstance(mine, Mapping):
        raise TypeError(f"mine must be a dict of your arrays by their textbook names "
                        f"(e.g. {{'dZ2': dZ2, 'dW2': dW2}}), got {type(mine).__name__}")
    shapes = expected_shapes(pairs, n)
    arrays, problems, dtypes = {}, [], []
    for key, value in mine.items():
        if key not in shapes:
            raise ValueError(_unknown_name(key, pairs))
        array = as_array(value, f"mine[{key!r}]")
        if array.dtype.kind == "f":
            dtypes.append(array.dtype)
        expected = shapes[key]
        if key.lstrip("d").startswith("b") and array.shape == (1,) + expected:
            array = array.reshape(expected)           # a bias kept as one row
        if array.shape != expected:
            problems.append(shape_message(key, array.shape, expected, pairs, n))
        arrays[key] = np.asarray(array, np.float64)
    if problems:
        raise ValueError("the shapes of your arrays do not fit the network:\n  "
                         + "\n  ".join(problems))
    coarsest = max(dtypes, key=lambda d: np.finfo(d).eps, default=np.dtype(np.float64))
    return arrays, coarsest


def _names_of(pairs):
    """Every textbook name, in the loop's order: the weights and forward arrays, then backward."""
    L = len(pairs)
    names = [f"{p}{l}" for l in range(1, L + 1) for p in ("W", "b", "Z", "A")] + [f"dA{L}"]
    for l in range(L, 0, -1):
        names += [f"dZ{l}", f"dW{l}", f"db{l}"] + ([f"dA{l - 1}"] if l > 1 else [])
    return names


def _unknown_name(key, pairs):
    names = _names_of(pairs)
    hint = ""
    if isinstance(key, str):
        close = [name for name in names if name.lower() == key.lower()]
        if close:
            hint = f" (did you mean {close[0]!r}? names are case-sensitive)"
        elif key in ("X", "Y", "y"):
            hint = " (X and y are diagnose's own arguments)"
        elif re.fullmatch(r"d?[WbZA]\d+", key):
            hint = f" (the network has {len(pairs)} Dense layers, numbered from 1)"
    return (f"mine has {key!r}, which is not one of the textbook names for this network{hint}: "
            f"{', '.join(names)}")


def shape_message(key, shape, expected, pairs, n):
    """Why ``key`` of ``shape`` does not fit, in plain words."""
    l = int(re.search(r"\d+", key).group())
    dense = pairs[l - 1][0]
    kind = re.match(r"d?[A-Za-z]", key).group()
    if kind in ("W", "dW"):
        what = f"layer {l} is Dense({dense.n_in}, {dense.n_out}), so {key} is (n_in, n_out) = {expected}"
    elif kind in ("b", "db"):
        what = (f"{key} has one entry per unit of layer {l}: {expected} (or {(1,) + expected})")
        if shape in ((n,), (n, 1)):
            what += (f"; yours has one per sample, as a sum over axis 1 gives, where the sum over "
                     f"the samples (axis 0, Σ_rows) belongs")
    else:
        what = (f"{key} has one row per sample ({n}) and one column per unit of layer {l} "
                f"({dense.n_out}): {expected}")
    if len(shape) == 2 and shape == expected[::-1] and shape != expected:
        what += "; yours is its transpose (chainrule puts one sample in each row, X·W)"
    return f"mine[{key!r}] has shape {shape}, but {what}"
