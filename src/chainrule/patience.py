"""The best value so far of a monitored number, and how many epochs since it improved.

Early stopping, keeping the best checkpoint, reducing the rate on a plateau and the
tabular recipe's best epoch all ask the same two questions of each epoch's value:
does it beat the best so far, and how long has it been since one did.
"""
from __future__ import annotations

import math

from .nn.checks import number

#: Logged quantities that are better when larger (mode "auto").
HIGHER_IS_BETTER = ("accuracy", "precision", "recall", "f1", "r2", "score")


def monitor_mode(monitor, mode):
    """``"min"`` or ``"max"`` for a monitored log name; ``mode="auto"`` decides by the name.

    "auto" is "max" for names ending in a higher-is-better metric (accuracy,
    precision, recall, f1, r2, score, with or without the ``val_`` prefix) and
    "min" otherwise (losses, errors).
    """
    if not isinstance(monitor, str):
        raise TypeError(f"monitor must be a log name such as 'val_loss', got {monitor!r}")
    if mode not in ("auto", "min", "max"):
        raise ValueError(f"mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if monitor.endswith(HIGHER_IS_BETTER) else "min"
    return mode


class Best:
    """The best of a sequence of values, and the epochs since it last improved.

    A value improves on the best ``b`` when, for mode "min",

        value < b − δ          (absolute, the default)
        value < b · (1 − δ)    (``relative=True``, torch's threshold_mode "rel")

    and mirrored for "max". Only an improvement becomes the new best.

    Parameters
    ----------
    mode : {"min", "max"}
    delta : float ≥ 0
        How much better a value must be to count.
    relative : bool
        ``delta`` as a fraction of the best rather than an amount.

    Attributes
    ----------
    value : float
        The best so far; +inf (mode "min") or −inf ("max") before the first.
    epoch : int or None
        The epoch it came from.
    wait : int
        Values since the last improvement.
    """

    def __init__(self, mode="min", delta=0.0, relative=False):
        if mode not in ("min", "max"):
            raise ValueError(f"mode must be 'min' or 'max', got {mode!r}")
        self.mode, self.relative = mode, bool(relative)
        self.delta = number("delta", delta, at_least=0)
        self.reset()

    def reset(self):
        self.value = math.inf if self.mode == "min" else -math.inf
        self.epoch, self.wait = None, 0

    @property
    def found(self):
        """True once a finite value has been the best."""
        return math.isfinite(self.value)

    def beats(self, value):
        """True when ``value`` improves on the best by more than ``delta``."""
        if self.mode == "min":
            return value < (self.value * (1 - self.delta) if self.relative else self.value - self.delta)
        return value > (self.value * (1 + self.delta) if self.relative else self.value + self.delta)

    def update(self, value, epoch=None):
        """Count ``value``: True when it is the new best (``wait`` back to 0), else ``wait`` + 1."""
        if self.beats(value):
            self.value, self.epoch, self.wait = value, epoch, 0
            return True
        self.wait += 1
        return False
