"""Weight penalties (L1 and L2 terms added to the loss), and gradient clipping.

A layer built with ``l1`` and/or ``l2`` (``cr.Dense(64, 32, l2=1e-4)``) adds to
the loss, for its weight matrix W (not its bias, as Keras' ``kernel_regularizer``)::

    R(W) = l1·Σ|W| + l2·Σ W²

and to its weight gradient::

    ∂R/∂W = l1·sign(W) + 2·l2·W

The network adds both (``Sequential`` keeps the list of penalised layers), so
a layer's ``backward`` stays the textbook ``dW = Xᵀ·dZ``. The penalty is part
of every loss the network reports (training, validation, ``evaluate``).

How it relates to weight decay: ``l2 = λ/2`` gives the same gradient as an
optimizer's ``weight_decay = λ`` (torch's L2), but only on the layers that ask
for it and visible in the loss; AdamW's decoupled decay is a different rule
(it is not a gradient at all).

Gradient clipping bounds each step instead of the weights: ``clip_value``
clips every gradient entry to [−c, c]; ``clip_norm`` rescales the whole
gradient (all layers together) when its L2 norm exceeds c, as torch's
``clip_grad_norm_``: ``g ← g · c / (‖g‖ + 1e-6)``.
"""
from __future__ import annotations

import math

import numpy as np


def check_penalty(value, name):
    """A penalty strength: a finite float >= 0, else ValueError."""
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)) \
            or not math.isfinite(value) or value < 0:
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


def penalty(W, l1=0.0, l2=0.0):
    """``l1·Σ|W| + l2·Σ W²`` as a Python float."""
    value = 0.0
    if l1:
        value += l1 * float(np.abs(W).sum())
    if l2:
        value += l2 * float(np.vdot(W, W))
    return value


def inplace_add_penalty_gradient(dW, W, l1=0.0, l2=0.0):
    """``dW += l1·sign(W) + 2·l2·W``, written into ``dW``.

    sign(0) = 0: the subgradient PyTorch's ``abs`` uses at 0.
    """
    if l1:
        dW += l1 * np.sign(W)
    if l2:
        dW += (2.0 * l2) * W
    return dW


def squared_norm(a):
    """‖a‖² of a flat array by one BLAS dot, in a's dtype: NaN or inf when an entry is, or
    when the sum overflows. float16 is summed in float32, whose range its squares need."""
    if a.dtype.itemsize < 4:
        a = a.astype(np.float32)
    return float(np.dot(a, a))


def global_norm(g):
    """‖g‖₂ as a Python float, also when g² overflows g's dtype while every entry is finite.

    One BLAS ``g·g`` in the common case; when that overflows, the norm is
    taken of g/max|g| and scaled back (scale before squaring).
    """
    squared = squared_norm(g)
    if math.isfinite(squared):
        return math.sqrt(squared)
    largest = float(np.max(np.abs(g))) if g.size else 0.0
    if not math.isfinite(largest) or largest == 0.0:
        return largest            # NaN or inf: the step's own check refuses it
    return largest * math.sqrt(squared_norm(g / g.dtype.type(largest)))


def clipping(clip_norm, clip_value):
    """An in-place gradient clipping ``clip(g)`` for fit's clip_norm and clip_value, or None.

    clip_value first: every entry to [−c, c]; then clip_norm, torch's
    ``clip_grad_norm_``: ``g ← g·c/(‖g‖ + 1e-6)`` when that factor is < 1.
    """
    for name, value in (("clip_norm", clip_norm), ("clip_value", clip_value)):
        if value is not None and (isinstance(value, bool) or not isinstance(
                value, (int, float, np.integer, np.floating)) or not math.isfinite(value) or value <= 0):
            raise ValueError(f"{name} must be a finite number > 0, got {value!r}")
    if clip_norm is None and clip_value is None:
        return None

    def inplace_clip(g):
        if clip_value is not None:
            np.clip(g, -clip_value, clip_value, out=g)
        if clip_norm is not None:
            scale = clip_norm / (global_norm(g) + 1e-6)
            if scale < 1:        # NaN (a non-finite gradient) compares False: left for the guard
                g *= scale
    return inplace_clip
