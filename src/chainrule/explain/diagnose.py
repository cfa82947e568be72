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

from typing import NamedTuple

import numpy as np

from ..nn.losses import Loss
from ..validation import prepare_data
from . import diagnose_mistakes as catalogue
from . import diagnose_views
from .diagnose_loop import BACKWARD, Line, act_equations, check_mine, loop_lines, shared_check, textbook_layers


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
    network_weights : list of str
        The network's own weights used, the learner having given none of them in their
        place (the report says so when something differs: the weights may be why).
    tolerance : float
        The largest relative difference counted as equal: √ε of ``dtype``.
    dtype : numpy dtype
        The coarsest float dtype among the learner's arrays (float64 if none is float).
    lang : str
        The language ``str(report)`` speaks: "en" or "zh", as :func:`diagnose` was told.
    """

    def __init__(self, findings, checked, weights, tolerance, dtype, lang="en",
                 network_weights=()):
        self.findings, self.checked, self.weights = findings, checked, weights
        self.network_weights = list(network_weights)
        self.tolerance, self.dtype = tolerance, dtype
        self.lang = diagnose_views.check_lang(lang)

    @property
    def ok(self):
        return not self.findings

    @property
    def first(self):
        return self.findings[0].name if self.findings else None

    @property
    def mistake(self):
        return self.findings[0].mistake if self.findings else None

    def to_text(self, lang=None):
        """The report in ``lang``: "en" or "zh" (简体中文), by default the report's own
        ``lang``; the equations stay as they are."""
        return diagnose_views.to_text(self, lang=self.lang if lang is None else lang)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return f"DiagnosisReport(ok={self.ok}, first={self.first!r}, mistake={self.mistake!r})"


# -- one line's numbers --------------------------------------------------------------------

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

def _right_loop(lines, start):
    """Every line's value in the right loop, from the weights alone."""
    values = dict(start)
    with np.errstate(all="ignore"):
        for line in lines:
            values[line.name] = line.context(values).right
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
        through = act_equations(line.extras["g"])[1] if fused else None
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
        values[lines[j].name] = np.asarray(mistake.compute(lines[j].context(values)), float)
        for i in range(j + 1, k + 1):
            if i == k or lines[i].name not in given:
                values[lines[i].name] = lines[i].context(values).right
    except ValueError:   # a product whose shapes do not fit: not this mistake
        return None
    return values


def _explain(k, lines, values, given, tolerance):
    """``(mistake, line j, values)``: the first mistake that, made on line j, reproduces the
    learner's line k, and the values it implies for the lines not given; None if none does."""
    mine = given[lines[k].name]
    with np.errstate(all="ignore"):
        right = lines[k].context(values).right
        for j in _ancestors(k, lines, given):
            for mistake in _mistakes(lines[j], is_target=j == k):
                planted = _replant(k, j, mistake, lines, values, given)
                value = None if planted is None else planted[lines[k].name]
                if value is not None and _close(mine, value, tolerance) \
                        and not _close(value, right, tolerance):
                    return mistake, lines[j], planted
    return None


def diagnose(net, X, y, mine, *, loss, lang="en"):
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
    lang : {"en", "zh"}
        The learner's language: that of the errors raised before there is a report (a
        network that is not the textbook loop, a loss that is not chainrule's, ``mine`` not a
        dict, a name or a shape that does not fit), and of ``str(report)``. One argument for
        both, rather than messages in two languages at once: a learner reads one language,
        and the shape errors are paragraphs that would double. English by default, its
        messages chainrule's usual ones; the errors keep their types (TypeError, ValueError)
        in either language. X and y are checked by the checks ``fit`` uses, whose details are
        English: in Chinese, a sentence before them says so.

    Returns
    -------
    DiagnosisReport
        ``ok``, ``first``, ``mistake``, ``findings``; ``str(report)`` says what differs and
        why, in ``lang``, and ``report.to_text(lang="en"|"zh")`` in either language.
    """
    diagnose_views.check_lang(lang)
    if not isinstance(loss, Loss):
        raise TypeError(diagnose_views.say(lang, "error.loss", loss=repr(loss)))
    textbook_layers(net, lang)                 # the architecture, checked before the data
    net64 = net.copy(dtype=np.float64)         # the right numbers in float64; net stays as it is
    pairs = textbook_layers(net64, lang)
    with shared_check(lang):
        X, _, Yp = prepare_data(net64, X, y, loss)
    given, dtype = check_mine(mine, pairs, len(X), lang)
    Y = np.eye(net64.n_out)[Yp] if Yp.ndim == 1 else np.asarray(Yp, np.float64)
    start, weights, own = {"X": np.asarray(X, np.float64), "Y": Y, "Yp": Yp}, [], []
    for l, (dense, _) in enumerate(pairs, 1):
        for p, value in ((f"W{l}", dense.W), (f"b{l}", dense.b)):
            start[p] = given.pop(p) if p in given else value
            (weights if p in mine else own).append(p)
    lines = loop_lines(pairs, loss, net64.fused_with(loss), given, len(X))
    tolerance = float(np.sqrt(np.finfo(dtype).eps))
    findings = _compare(lines, start, given, tolerance)
    checked = [line.name for line in lines if line.name in given]
    return DiagnosisReport(findings, checked, weights, tolerance, np.dtype(dtype), lang,
                           network_weights=own)


def _compare(lines, start, given, tolerance):
    """The findings: each given line against what the learner's earlier arrays imply.

    When a mistake is found on a line the learner did not give, the arrays it implies for
    the lines not given stand in for theirs from then on: the learner's own, inferred.
    """
    true = _right_loop(lines, start)
    values, findings = dict(start), []
    for k, line in enumerate(lines):
        with np.errstate(all="ignore"):
            right = line.context(values).right
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


