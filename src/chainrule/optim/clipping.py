"""Gradient norms and clipping, for the training step.

Clipping bounds each step instead of the weights: ``clip_value`` clips every
gradient entry to [−c, c]; ``clip_norm`` rescales the whole gradient (all
layers together) when its L2 norm exceeds c, as torch's ``clip_grad_norm_``:
``g ← g · c / (‖g‖ + 1e-6)``.
"""
from __future__ import annotations

import math

import numpy as np

from ..nn.checks import number


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
    clip_norm = number("clip_norm", clip_norm, greater_than=0, allow_none=True)
    clip_value = number("clip_value", clip_value, greater_than=0, allow_none=True)
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
