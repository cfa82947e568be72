"""The chain-rule ledger: every step of one forward and one backward pass, recorded.

``trace(net, X, y, loss)`` (or ``net.trace(X, y, loss)``) runs the network's
layers one by one, exactly as ``Sequential.forward_backward`` does (the same
calls in the same order, the fused loss path included), and after each call
stores a copy of what it returned: the layer's input and output on the way
forward, the gradient it received and returned and its parameter gradients
on the way back. Copies, because inside a network ``dW`` and ``db`` are views
into one flat buffer that the next pass overwrites; the numbers are the ones
the layers computed, never a recomputation.

Each step carries the equation it implements, written in the glossary's
names (see ``chainrule.nn.layers``), so a printed ledger reads like a derivation::

    Z = X·W + b          forward through Dense
    A = σ(Z)             forward through Sigmoid
    L = ...              the loss
    dA = ∂L/∂A           the starting gradient
    dZ = dA ⊙ A(1 − A)   backward through Sigmoid
    dW = Xᵀ·dZ ...       backward through Dense

Given an optimizer (``net.trace(X, y, loss, optimizer=opt)``) the ledger
ends with the update it would make, one entry per layer with parameters
(old W, the step ΔW, new W), and the loss on the same batch after it;
the network and the optimizer stay as they were.

``str(trace)`` (``trace.to_text(lang="zh")`` in Chinese) and
``trace.to_html()`` are drawn by ``chainrule.trace_views``.
"""
from __future__ import annotations

import copy

import numpy as np

from ..network.modes import holds
from ..nn.activations import Activation
from ..nn.layers import Dense
from ..optim.optimizers import SGD, Optimizer
from ..validation import check_loss, prepare_data
from . import trace_views

#: Why the fused loss is computed in its second form.
STABLE_NOTE = ("the textbook form first, then the form computed: the same number, but the "
               "second never takes log 0, even when A rounds to exactly 0 or 1")

#: The phases of a ledger, in the order they run.
PHASES = ("forward", "backward", "update")


class LedgerKeyError(KeyError):
    """A name or step the ledger does not hold; its message says what it does hold."""

    def __str__(self):  # KeyError would show the message in quotes
        return str(self.args[0])


class Step:
    """One entry of the ledger.

    Attributes
    ----------
    layer : Layer or Loss
        What computed this step.
    index : int or None
        Position of the layer in the network (None for the loss).
    phase : {"forward", "backward", "update"}
    equation : str
        The equation(s) of this step, several separated by ";  ".
    values : dict of str -> ndarray or float
        Copies of the arrays involved, named as in the equation.
    shapes : dict of str -> tuple
        The shape of each value.
    note : str
        An explanation where one helps (the fused pairs).
    """

    def __init__(self, layer, index, phase, equation, values, note=""):
        self.layer, self.index, self.phase, self.equation = layer, index, phase, equation
        self.values = {k: (v if isinstance(v, float) else np.array(v, copy=True))
                       for k, v in values.items()}
        self.shapes = {k: np.shape(v) for k, v in self.values.items()}
        self.note = note

    @property
    def name(self):
        """``"2: Dense"`` for a layer, ``"loss: MSE"`` for the loss."""
        where = ("update" if self.phase == "update" else "loss") if self.index is None \
            else str(self.index)
        return f"{where}: {type(self.layer).__name__}"

    def rows(self):
        """``(equation, lhs name)`` for each equation of the step."""
        out = []
        for eq in self.equation.split(";  "):
            lhs = eq.split(" = ")[0].strip()
            out.append((eq, lhs if lhs in self.values else None))
        return out

    def __repr__(self):
        return f"Step({self.name}, {self.phase}, {self.equation!r})"


def _brief(name, value):
    """A few summary numbers: the values themselves when there are at most four."""
    if isinstance(value, float) or np.ndim(value) == 0:
        return f"{name} = {float(value):.4g}"
    a = np.asarray(value, dtype=np.float64)
    if a.size <= 4:
        def row(r):
            return "[" + ", ".join(f"{v:.4g}" for v in r) + "]"
        if a.ndim == 2 and a.shape[0] > 1:  # several rows: keep them apart
            return f"{name} = [" + ", ".join(row(r) for r in a) + "]"
        return f"{name} = " + row(a.ravel())
    return f"mean {a.mean():.3g}, max|·| {np.abs(a).max():.3g}"


class Trace:
    """The ledger of one forward and backward pass: see :func:`trace`.

    Attributes
    ----------
    steps : list of Step
        In the order they ran: forward through every layer, the loss, then
        backward through every layer in reverse; with an optimizer, then the
        update of each layer that has parameters (phase ``"update"``).
    loss : float
        The loss value.
    loss_after : float or None
        The loss on the same batch after the update (None without an
        optimizer, or when the optimizer would refuse the step).
    starting_gradient : ndarray
        The gradient backpropagation starts from: dA = ∂L/∂A of the network's
        output, or for a fused pair dZ = (A − Y)/m of the last activation's input.
    fused : bool
        True when the last layer and the loss formed a fused pair.
    """

    def __init__(self, steps, loss, starting_gradient, fused, loss_after=None):
        self.steps, self.loss, self.loss_after = steps, loss, loss_after
        self.starting_gradient, self.fused = starting_gradient, fused

    def __iter__(self):
        return iter(self.steps)

    def __len__(self):
        return len(self.steps)

    def get(self, what, phase=None, *, layer=None):
        """A step, or one array of the ledger by its name.

        ``trace.get(2, "backward")``
            the step of layer 2 in that phase (``None`` or ``"loss"`` for the loss);
        ``trace.get("dW", layer=0)``
            the array ``dW`` of layer 0 (its first entry in the ledger's order;
            ``phase`` picks another, e.g. ``trace.get("W", "update", layer=0)``);
        ``trace.get("L")``, ``trace.get("dW")``
            without ``layer`` when only one step holds that name.

        Raises KeyError naming what the ledger does hold.
        """
        if phase is not None and phase not in PHASES:
            raise ValueError(f"phase must be one of {', '.join(PHASES)}, got {phase!r}")
        if what == "loss":
            what = None
        if what is None or (isinstance(what, (int, np.integer)) and not isinstance(what, bool)):
            index = None if what is None else int(what)
            found = [s for s in self.steps if s.index == index
                     and (phase is None or s.phase == phase)]
            if not found:
                where = "the loss" if index is None else f"layer {index}"
                layers = sorted({s.index for s in self.steps if s.index is not None})
                raise LedgerKeyError(f"no {phase or ''} step for {where}".replace("  ", " ")
                               + f"; the ledger has layers {layers} and the loss (None)")
            if phase is None and len({s.phase for s in found}) > 1:
                raise LedgerKeyError(f"layer {what} has a step in each of "
                               f"{', '.join(sorted({s.phase for s in found}))}: name one, "
                               f"e.g. trace.get({what!r}, 'backward')")
            return found[0]
        if not isinstance(what, str):
            raise TypeError(f"what must be a layer index, None (the loss) or an array's name "
                            f"such as 'dW', got {what!r}")
        found = [s for s in self.steps if what in s.values
                 and (phase is None or s.phase == phase) and (layer is None or s.index == layer)]
        if not found:
            names = sorted({n for s in self.steps for n in s.values})
            raise LedgerKeyError(f"no array {what!r}" + (f" in layer {layer}" if layer is not None else "")
                           + (f" in the {phase} phase" if phase else "")
                           + f"; the ledger's arrays are {', '.join(names)}")
        layers = sorted({s.index for s in found}, key=lambda i: -1 if i is None else i)
        if layer is None and len(layers) > 1:
            raise LedgerKeyError(f"{what!r} is in layers {layers}: say which, e.g. "
                           f"trace.get({what!r}, layer={layers[-1]!r})")
        return found[0].values[what]

    def update_steps(self):
        """The steps of the update, one per layer with parameters (empty without an optimizer)."""
        return [s for s in self.steps if s.phase == "update"]

    def _table(self):
        rows = []
        for i, step in enumerate(self.steps):
            for j, (eq, lhs) in enumerate(step.rows()):
                shape = str(step.shapes[lhs]) if lhs else ""
                brief = _brief(lhs, step.values[lhs]) if lhs else ""
                first = j == 0
                rows.append((str(i) if first else "", step.name if first else "",
                             step.phase if first else "", eq, shape, brief))
            if step.note:
                rows.append(("", "", "", f"({step.note})", "", ""))
        return rows

    def to_text(self, lang="en", width=110):
        """The ledger as text: each step's equation and its arrays side by side.

        Arrays of up to 12 rows and 8 columns are printed in full, larger ones
        as their mean and largest magnitude. ``lang``: "en" or "zh" (简体中文);
        the equations stay as they are.
        """
        return trace_views.to_text(self, lang=lang, width=width)

    def __str__(self):
        return self.to_text()

    def __repr__(self):
        return f"Trace({len(self.steps)} steps, loss={self.loss:.6g}, fused={self.fused})"

    def to_markdown(self, arrays=False):
        """The ledger as a Markdown table; ``arrays=True`` appends every array in full."""
        def cell(s):
            return s.replace("|", "\\|")
        lines = ["| # | layer | phase | equation | shape | values |", "|---|---|---|---|---|---|"]
        for row in self._table():
            lines.append("| " + " | ".join(cell(c) for c in row) + " |")
        lines.append("")
        lines.append(f"loss = {self.loss:.6g}" + (" (fused output and loss)" if self.fused else ""))
        if self.loss_after is not None:
            lines.append(f"loss after the update, same batch = {self.loss_after:.6g}")
        if arrays:
            for i, step in enumerate(self.steps):
                lines += ["", f"### {i}. {step.name}, {step.phase}", "", "```"]
                for name, value in step.values.items():
                    lines.append(f"{name} =\n{np.array2string(np.asarray(value), precision=6)}")
                lines.append("```")
        return "\n".join(lines) + "\n"

    def to_html(self, lang="en"):
        """A self-contained HTML page: each step's operands side by side, labelled and coloured."""
        return trace_views.to_html(self, lang=lang)

    def _repr_html_(self):  # Jupyter shows the page
        return self.to_html()


def _names(layer):
    """Names of a layer's input and output, and of the gradients it receives and returns."""
    if isinstance(layer, Dense):
        return "X", "Z", "dZ", "dX"
    if isinstance(layer, Activation):
        return "Z", "A", "dA", "dZ"
    return "X", "A", "dA", "dX"


def _equations(layer):
    """The layer's own ``equations`` (a class attribute), or generic ones if it has none."""
    forward, backward = layer.equations.get("forward"), layer.equations.get("backward")
    if forward and backward:
        return forward, backward
    name = type(layer).__name__
    grads = "".join(f";  d{p} = ∂L/∂{p}" for p in layer.params)
    return f"A = {name}(X)", f"dX = dA through {name}'{grads}"


@holds("trace")
def trace(net, X, y, loss, optimizer=None):
    """Run one forward and one backward pass of ``net`` and record every step.

    It is ``net.forward_backward`` itself, the walk ``fit``'s step runs (L1/L2
    penalties included), with a recorder that keeps a copy of each array;
    afterwards the network's gradients (``layer.dW``, ...) hold this pass's
    values, as after any backward pass. No parameter is changed. The
    network runs in its current mode: in training mode (``net.train()``)
    Dropout draws a mask and BatchNorm updates its running statistics, as in a
    training step; call ``net.eval()`` first for a pass that changes nothing.

    Parameters
    ----------
    net : Sequential
    X : array (n, n_in)
    y : array
        Targets as ``loss`` takes them (class labels for CrossEntropy).
    loss : Loss
    optimizer : Optimizer, optional
        Also record the update this optimizer would make from these gradients
        (its current state included: Adam's moments, the step count) and the
        loss on the same batch after it. The update is made on copies of the
        network and the optimizer: both stay as they were.

    Returns
    -------
    Trace

    Raises
    ------
    RuntimeError
        While another thread trains ``net``; a trace holds the network for
        the call, so traces and predictions from other threads take turns
        with it (see :mod:`chainrule.modes`).
    """
    check_loss(loss)
    X, _, Y = prepare_data(net, X, y, loss)
    ledger = _Ledger(net, loss)
    value = net.forward_backward(X, Y, loss, record=ledger)   # the walk fit's step runs
    update, after = ([], None) if optimizer is None else _update(net, X, Y, loss, optimizer)
    return Trace(ledger.forward + ledger.backward + update, value,
                 np.array(ledger.start, copy=True), ledger.fused, after)


class _Ledger:
    """The steps of one ``net.forward_backward``, as it reports each array (its ``record``)."""

    def __init__(self, net, loss):
        self.net, self.loss = net, loss
        self.forward, self.backward = [], []
        self.start, self.fused = None, False

    def on_forward(self, i, layer, X, A):
        into, out, _, _ = _names(layer)
        values = {into: X, **{p: getattr(layer, p) for p in layer.params}, out: A}
        self.forward.append(Step(layer, i, "forward", _equations(layer)[0], values))

    def on_loss(self, A, Y, value, d, fused):
        loss, self.start, self.fused = self.loss, d, fused
        if not fused:
            self.forward.append(Step(loss, None, "forward",
                                     loss.equations.get("loss", f"L = {type(loss).__name__}(A, Y)"),
                                     {"A": A, "Y": Y, "L": value}))
            self.backward.append(Step(loss, None, "backward",
                                      loss.equations.get("gradient", "dA = ∂L/∂A"),
                                      {"A": A, "Y": Y, "dA": d}, note="the starting gradient"))
            return
        last, name, equations = self.net.layers[-1], type(loss).__name__, loss.fused_equations
        # class labels: Y shown one-hot, as the equations read it
        Y = np.eye(A.shape[1], dtype=A.dtype)[Y] if Y.ndim == 1 else Y
        index = len(self.net.layers) - 1
        self.forward.append(Step(last, index, "forward",
                                 _equations(last)[0] + trace_views.INSIDE_FUSED,
                                 {"Z": A, "A": loss.A}))
        self.forward.append(Step(loss, None, "forward",
                                 equations.get("loss", f"L = {name}(Z, Y), on the logits"),
                                 {"Z": A, "A": loss.A, "Y": Y, "L": value}, note=STABLE_NOTE))
        self.backward.append(Step(last, index, "backward",
                                  equations.get("gradient", "dZ = ∂L/∂Z"),
                                  {"A": loss.A, "Y": Y, "dZ": d},
                                  note=equations.get("why", f"{type(last).__name__} + {name}, fused")))

    def on_backward(self, i, layer, dA, dX):
        _, _, into, out = _names(layer)
        values = {into: dA, **{"d" + p: getattr(layer, "d" + p) for p in layer.params}}
        if dX is not None:
            values[out] = dX
        self.backward.append(Step(layer, i, "backward", _equations(layer)[1], values))

    def on_penalty(self, layer, term):
        # L1/L2 terms: added to the loss and to dW, as training does
        index = next(i for i, other in enumerate(self.net.layers) if other is layer)
        self.backward.append(_penalty_step(layer, index, term))


def _penalty_step(layer, index, term):
    """The step adding a layer's penalty to its gradients: Dense's L1/L2 in its own words;
    another layer's as its ``equations["penalty"]`` says, or ∂penalty/∂P for each P."""
    if isinstance(layer, Dense):
        return Step(layer, index, "backward", "dW += l1·sign(W) + 2·l2·W", {"dW": layer.dW},
                    note=f"the layer's penalty l1·Σ|W| + l2·ΣW² = {term:.4g} is part of the loss")
    equation = layer.equations.get("penalty") or ";  ".join(
        f"d{p} += ∂penalty/∂{p}" for p in layer.params)
    return Step(layer, index, "backward", equation,
                {"d" + p: getattr(layer, "d" + p) for p in layer.params},
                note=f"the layer's own penalty = {term:.4g} is part of the loss")


def _plain_sgd(optimizer):
    return type(optimizer) is SGD and not optimizer.momentum and not optimizer.weight_decay


def _update(net, X, Y, loss, optimizer):
    """The steps of the update ``optimizer`` would make now, and the batch's loss after it.

    The step runs on a copy of the network holding a copy of its gradients,
    with a copy of the optimizer (its moments and step count), so that the
    numbers are those a real step would give, and nothing real moves.
    """
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"optimizer must be a chainrule Optimizer such as cr.SGD(lr=0.1), "
                        f"got {optimizer!r}")
    twin = net.copy()
    twin.flat_grads[...] = net.flat_grads
    twin_optimizer = copy.deepcopy(optimizer)  # __getstate__ drops the tie to ``net``
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        refused = twin_optimizer.try_step(twin)
    if refused is not None:
        note = f"{optimizer!r} would refuse this step: the {refused} would not be finite"
        return [Step(optimizer, None, "update", trace_views.NO_UPDATE, {}, note=note)], None
    plain = _plain_sgd(optimizer)
    steps = []
    for i, (layer, new) in enumerate(zip(net.layers, twin.layers)):
        if not layer.params:
            continue
        values, equations = {}, []
        for p in layer.params:
            old, moved = getattr(layer, p), getattr(new, p)
            values.update({p: old, "d" + p: getattr(layer, "d" + p),
                           "Δ" + p: moved - old, p + "_new": moved})
            equations.append(f"{p}_new = {p} − lr·d{p}" if plain else f"{p}_new = {p} + Δ{p}")
        note = (f"plain gradient descent, lr = {optimizer.lr:g}" if plain else
                f"Δ by {optimizer!r}, step {twin_optimizer.t}, from d and its state")
        steps.append(Step(layer, i, "update", ";  ".join(equations), values, note=note))
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        after = float(twin.loss_value(X, Y, loss))
    return steps, after
