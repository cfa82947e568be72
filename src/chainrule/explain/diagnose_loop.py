"""The textbook loop of a network, line by line, and the learner's arrays checked against it.

For Dense layers numbered from 1, each followed by at most one activation, the
loop is ::

    Z1 = X·W1 + b1,  A1 = g1(Z1),  …,  A{L} = gL(Z{L})          forward
    dA{L} = ∂L/∂A{L}  (or, for a fused pair, dZ{L} = (A{L} − Y)/m)  the start
    dZ{l} = dA{l} ⊙ gl'(Z{l}),  dW{l} = A{l−1}ᵀ·dZ{l},  db{l} = Σ_rows dZ{l},
    dA{l−1} = dZ{l}·W{l}ᵀ                                       for l = L, …, 1

Each :class:`Line` knows its inputs by the glossary's names (``X, W, Z, A, dA,
dZ``), and computes its right value with the layers' and the loss's own
forward and backward (on copies), so the right numbers are chainrule's.

The checks of the network and of the learner's arrays say what does not fit in
``lang`` ("en" or "zh"), in the words of ``diagnose_views.WORDS``.
"""
from __future__ import annotations

import contextlib
import copy
import re
import types
from collections.abc import Mapping
from typing import Callable, NamedTuple

import numpy as np

from ..network.sequential import Sequential
from ..nn.activations import Activation
from ..nn.layers import Dense
from ..nn.losses import CrossEntropy
from ..validation import as_array
from .diagnose_views import say

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

    def context(self, values):
        """The line's inputs by the glossary's names, its extras, and its right value v.right."""
        v = types.SimpleNamespace(**self.extras)
        for generic, name in self.inputs.items():
            setattr(v, generic, values[name])
        v.Yp = values["Yp"]
        if self.kind == "start" and self.output == "dZ":   # a fused start: the pair's halves
            v.dA = _loss_gradient(v.loss, v.A, v.Yp)
            v.through = lambda dA: _backward(v.g, dA, v.Z)
        v.right = self.right(v)
        return v


# -- the network, as the textbook loop sees it ---------------------------------------------

def textbook_layers(net, lang="en"):
    """``[(Dense, activation or None), ...]``, numbered from 1 by the loop.

    ValueError for any other layer: the loop is ``Z = X·W + b`` then ``A = g(Z)``.
    """
    if not isinstance(net, Sequential):
        raise TypeError(say(lang, "error.net", kind=type(net).__name__))
    pairs, i, layers = [], 0, net.layers
    while i < len(layers):
        dense = layers[i]
        if not isinstance(dense, Dense):
            raise ValueError(say(lang, "error.layer", i=i, layer=repr(dense)))
        if dense.penalized:
            raise ValueError(say(lang, "error.penalty", i=i, layer=repr(dense)))
        following = layers[i + 1] if i + 1 < len(layers) else None
        act = following if isinstance(following, Activation) else None
        pairs.append((dense, act))
        i += 2 if act is not None else 1
    if not pairs:
        raise ValueError(say(lang, "error.empty"))
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


def act_equations(g):
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
                          act_equations(g)[0], {"g": g}))
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
                              "dZ", lambda v: _backward(v.g, v.dA, v.Z), act_equations(g)[1],
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


# -- the learner's arrays --------------------------------------------------------------------

def check_mine(mine, pairs, n, lang="en"):
    """The learner's arrays as float64 (biases as (n_out,)), and the coarsest float dtype among
    them. One ValueError listing every shape that does not fit, in plain words, in ``lang``."""
    if not isinstance(mine, Mapping):
        raise TypeError(say(lang, "error.mine", kind=type(mine).__name__))
    shapes = expected_shapes(pairs, n)
    arrays, problems, dtypes = {}, [], []
    for key, value in mine.items():
        if key not in shapes:
            raise ValueError(_unknown_name(key, pairs, lang))
        array = _numbers(value, f"mine[{key!r}]", lang)
        if array.dtype.kind == "f":
            dtypes.append(array.dtype)
        expected = shapes[key]
        if key.lstrip("d").startswith("b") and array.shape == (1,) + expected:
            array = array.reshape(expected)           # a bias kept as one row
        if array.shape != expected:
            problems.append(shape_message(key, array.shape, expected, pairs, n, lang))
        arrays[key] = np.asarray(array, np.float64)
    if problems:
        raise ValueError(say(lang, "error.shapes") + "\n  " + "\n  ".join(problems))
    coarsest = max(dtypes, key=lambda d: np.finfo(d).eps, default=np.dtype(np.float64))
    return arrays, coarsest


def _numbers(value, name, lang):
    """``value`` as a numeric array, by chainrule's shared check, whose words are English."""
    with shared_check(lang):
        return as_array(value, name)


@contextlib.contextmanager
def shared_check(lang):
    """Inside, a ValueError or TypeError of chainrule's shared checks (those of fit: X, y, the
    numbers in an array) is raised again, in Chinese, with a sentence saying its details are
    English; in English it goes on as it is."""
    try:
        yield
    except (TypeError, ValueError) as error:
        if lang == "en" or type(error) not in (TypeError, ValueError):
            raise
        raise type(error)(say(lang, "error.shared", message=str(error))) from None


def _names_of(pairs):
    """Every textbook name, in the loop's order: the weights and forward arrays, then backward."""
    L = len(pairs)
    names = [f"{p}{l}" for l in range(1, L + 1) for p in ("W", "b", "Z", "A")] + [f"dA{L}"]
    for l in range(L, 0, -1):
        names += [f"dZ{l}", f"dW{l}", f"db{l}"] + ([f"dA{l - 1}"] if l > 1 else [])
    return names


def _unknown_name(key, pairs, lang="en"):
    names = _names_of(pairs)
    hint = ""
    if isinstance(key, str):
        close = [name for name in names if name.lower() == key.lower()]
        if close:
            hint = say(lang, "error.name.case", name=repr(close[0]))
        elif key in ("X", "Y", "y"):
            hint = say(lang, "error.name.own")
        elif re.fullmatch(r"d?[WbZA]\d+", key):
            hint = say(lang, "error.name.layers", count=len(pairs))
    return say(lang, "error.name", key=repr(key), hint=hint, names=", ".join(names))


def shape_message(key, shape, expected, pairs, n, lang="en"):
    """Why ``key`` of ``shape`` does not fit, in plain words, in ``lang``."""
    l = int(re.search(r"\d+", key).group())
    dense = pairs[l - 1][0]
    kind = re.match(r"d?[A-Za-z]", key).group()
    if kind in ("W", "dW"):
        what = say(lang, "error.shape.W", l=l, n_in=dense.n_in, n_out=dense.n_out, name=key,
                   expected=expected)
    elif kind in ("b", "db"):
        what = say(lang, "error.shape.b", name=key, l=l, expected=expected, row=(1,) + expected)
        if shape in ((n,), (n, 1)):
            what += say(lang, "error.shape.per_sample")
    else:
        what = say(lang, "error.shape.rows", name=key, n=n, l=l, n_out=dense.n_out,
                   expected=expected)
    if len(shape) == 2 and shape == expected[::-1] and shape != expected:
        what += say(lang, "error.shape.transposed")
    return say(lang, "error.shape", key=repr(key), shape=shape, what=what)
