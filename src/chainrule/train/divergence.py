"""Divergence: a loss, gradient or update that is no longer finite.

fit checks every batch before its update is kept; when something is NaN or
infinite it raises :class:`DivergenceError`, built here with the first layer
that went non-finite and a likely cause, and the weights of the last good step.
"""
from __future__ import annotations

import math

import numpy as np

from ..optim.optimizers import WEIGHTS


class DivergenceError(FloatingPointError):
    """Training produced a non-finite loss or gradient and was stopped.

    The network keeps the weights it had before the step that would have
    applied it. Attributes: ``epoch``, ``batch`` (0-based), ``layer`` (index of
    the first layer that went non-finite, or None), ``history`` (the History up
    to the last completed epoch).
    """

    def __init__(self, message, epoch, batch, layer, history):
        super().__init__(message)
        self.epoch, self.batch, self.layer, self.history = epoch, batch, layer, history


def first_nonfinite_parameters(net, flat=None):
    """Index of the first layer with a NaN or infinite parameter.

    ``flat`` holds parameter values laid out like ``net.flat_params`` (layer
    by layer, each layer's ``params`` in order); by default the network's own.
    When every value is finite (a step refused for huge weights), it is the
    layer holding the largest one.
    """
    flat = net.flat_params if flat is None else flat
    largest, where = -1.0, None
    for i, part in net.layer_slices():
        v = flat[part]
        if not np.all(np.isfinite(v)):
            return i
        if v.size and np.max(np.abs(v)) > largest:
            largest, where = float(np.max(np.abs(v))), i
    return where


class _FirstNonFinite:
    """The first layer whose output has a NaN or an infinity, told by the forward walk."""

    layer = None

    def on_forward(self, i, layer, X, A):
        if self.layer is None and not np.all(np.isfinite(A)):
            self.layer = i


def diverged(net, Xb, value, epoch, batch, history, optimizer, stepped=None):
    """Build the DivergenceError: find the first layer that went non-finite.

    ``stepped`` is the first layer whose weights the optimizer step would have
    made non-finite (the step was not applied), or None when the loss or a
    gradient was non-finite before any step.
    """
    layer, where = None, None
    if stepped is not None:
        layer, where = stepped, "weights the update would give"
    if layer is None:
        outputs = _FirstNonFinite()
        with net.evaluating():
            net.forward(Xb, record=outputs)
        if outputs.layer is not None:
            layer, where = outputs.layer, "output"
    if layer is None:
        for i in reversed(range(len(net.layers))):
            grads = [g for _, _, g in net.layers[i].parameters()]
            if any(not np.all(np.isfinite(g)) for g in grads):
                layer, where = i, "gradient"
                break
    lr = getattr(optimizer, "lr", None)
    scale = float(np.max(np.abs(Xb))) if Xb.size else 0.0
    cause = (f"The learning rate (lr={lr:g}) is likely too high" if lr is not None else
             "The step size is likely too large")
    if scale > 1e3:
        cause += f", or the inputs are unscaled (largest |x| in the batch is {scale:.3g}): standardise them"
    if layer is not None:
        site = f"; the first non-finite value is in the {where} of layer {layer} ({net.layers[layer]!r})"
    elif not math.isfinite(value):
        site = "; every layer's output is finite: the loss itself overflowed"
    else:
        site = "; every gradient is finite but so large that ‖g‖² overflows"
    what = (f"the update would have made the weights non-finite or too large (‖w‖² overflows) "
            f"(the loss was {value!r})"
            if stepped is not None else f"the loss is {value!r}")
    message = (f"training diverged at epoch {epoch}, batch {batch}: {what}"
               f"{site}. {cause[0].upper()}{cause[1:]}. The weights are those before this batch.")
    return DivergenceError(message, epoch, batch, layer, history)


def guarded_step(net, optimizer, value, clip=None):
    """The update after a forward-backward pass, taken only when everything is finite.

    ``value`` is the batch's loss; ``clip`` an in-place gradient clipping
    (:func:`chainrule.clipping.clipping`) or None. Returns None when
    the step was taken; otherwise ``(what, layer)`` and nothing changed (the
    weights and the optimizer's state are as before): what is ``"loss"`` or
    ``"gradient"`` (layer None), or ``"weights"`` with the index of the first
    layer that the step would have made non-finite.
    """
    if not math.isfinite(value):
        return "loss", None
    if clip is not None:
        clip(net.flat_grads)
    refused = optimizer.try_step(net)
    if refused is None:
        return None
    if refused == WEIGHTS:
        return refused, first_nonfinite_parameters(net, optimizer.proposed)
    return refused, None
