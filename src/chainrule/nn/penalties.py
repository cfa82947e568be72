"""Weight penalties: L1 and L2 terms added to the loss.

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
"""
from __future__ import annotations

import numpy as np


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
