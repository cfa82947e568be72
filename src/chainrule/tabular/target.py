"""A regression target as the network fits it, and back: ``chainrule train``'s target transform.

Three kinds, each a pair of maps ``forward`` (y → what the network fits) and
``inverse`` (the network's output → y), in float64:

* ``"standard"``: ``z = (y − mean) / std``, fitted by the mean squared error on
  an identity output; ``y = z·std + mean``. (An MLP's last layer starts near 0
  with unit-scale weights: a target around 3·10⁵ unscaled would take thousands
  of epochs just to be reached.)
* ``"log"``: ``u = log(1 + y)``, then ``z = (u − mean) / std`` as above;
  ``y = e^(z·std + mean) − 1``. For a target ≥ 0 skewed to the right, whose
  effects multiply (a price: a tenth dearer for a better district, whatever
  the price): in log units they add, which is what a sum of weighted inputs
  fits, and one far-out price no longer dominates the squared error.
* ``"poisson"``: ``z = y / mean``, fitted by the Poisson loss on an ``Exp``
  output (A = e^Z, the rate, so Z is its logarithm); ``y = A·mean``. For a
  count (whole numbers ≥ 0, skewed to the right: visits, claims, defects),
  whose spread grows with its mean. Unlike the log transform, the fitted rate
  estimates the mean count itself, E[y | x], not its logarithm's mean.

:func:`choose` picks one from the training rows alone (the validation rows
must not steer it). Everything stored is plain JSON (``to_json``), kept in the
model file's metadata and checked when read (``from_json``).
"""
from __future__ import annotations

import numpy as np

from ..nn.checks import finite_number as _number
from .scaling import mean_std

KINDS = ("standard", "log", "poisson")
#: Skewness from which a target counts as skewed to the right (|skew| < 0.5 is near
#: symmetric, 0.5-1 moderate, above 1 strong, by the usual rule of thumb).
SKEWED = 1.0


def skewness(values):
    """The sample skewness ``mean(((y − mean) / std)³)`` of finite float64 ``values`` (0 if constant)."""
    mean, std = mean_std(values)
    if len(values) == 0 or np.ptp(values) == 0:
        return 0.0
    z = (values / std) - (mean / std)   # in two terms: no overflow near 1e308
    return float(np.mean(z * z * z))


def choose(y):
    """``(kind, reason)`` for training targets ``y`` (float64, finite): a count skewed to
    the right → "poisson"; other values ≥ 0 skewed to the right that log(1 + y) makes
    less skewed → "log"; anything else → "standard". ``reason`` says why, in words."""
    y = np.asarray(y, dtype=np.float64)
    skew = skewness(y)
    if len(y) == 0 or y.min() < 0 or skew < SKEWED:
        return "standard", (f"skewness {skew:.2f}" if len(y) and y.min() >= 0 else
                            f"values below 0 and skewness {skew:.2f}") + ": standardised"
    if np.all(y == np.round(y)):
        return "poisson", (f"a count (whole numbers >= 0, skewness {skew:.2f}): the Poisson "
                           "loss on a log-rate output")
    after = skewness(np.log1p(y))
    if abs(after) < skew:
        return "log", (f"values >= 0 skewed to the right (skewness {skew:.2f}, {after:.2f} "
                       "after log(1 + y)): standardised after log(1 + y)")
    return "standard", f"skewness {skew:.2f}, no less after log(1 + y): standardised"


class TargetTransform:
    """One of :data:`KINDS` with its statistics, fitted on training targets."""

    def __init__(self, kind="standard", mean=0.0, std=1.0, reason=""):
        if kind not in KINDS:
            raise ValueError(f"target transform must be one of {', '.join(KINDS)}, got {kind!r}")
        self.kind, self.mean, self.std, self.reason = kind, float(mean), float(std), reason

    @classmethod
    def fit(cls, y, kind="auto"):
        """Fitted on ``y``; ``kind="auto"`` lets :func:`choose` pick (else ``reason`` says "asked for")."""
        y = np.asarray(y, dtype=np.float64)
        kind, reason = choose(y) if kind == "auto" else (kind, "asked for")
        if kind == "poisson":
            if y.min() < 0:
                raise ValueError(f"--target-transform poisson needs targets >= 0, found {y.min():g}")
            mean = mean_std(y)[0]
            return cls(kind, mean if mean > 0 else 1.0, 1.0, reason)
        if kind == "log" and y.min() <= -1:
            raise ValueError(f"--target-transform log needs targets > -1, found {y.min():g}")
        u = np.log1p(y) if kind == "log" else y
        return cls(kind, *mean_std(u), reason)

    @property
    def loss(self):
        """The regressor's loss: "poisson" or "squared_error"."""
        return "poisson" if self.kind == "poisson" else "squared_error"

    def forward(self, y):
        y = np.asarray(y, dtype=np.float64)
        if self.kind == "poisson":
            return y / self.mean
        u = np.log1p(y) if self.kind == "log" else y
        return (u - self.mean) / self.std

    def inverse(self, z):
        z = np.asarray(z, dtype=np.float64)
        if self.kind == "poisson":
            return z * self.mean
        u = z * self.std + self.mean
        if self.kind == "log":
            with np.errstate(over="ignore"):  # beyond float64's range: inf, said by the caller
                return np.expm1(u)
        return u

    def to_json(self):
        data = {"kind": self.kind, "mean": self.mean, "std": self.std}
        return {**data, "reason": self.reason} if self.reason else data

    @classmethod
    def from_json(cls, data, where="model"):
        """Checked: a kind of :data:`KINDS`, a finite mean (> 0 for poisson) and std > 0."""
        ok = isinstance(data, dict) and data.get("kind", "standard") in KINDS \
            and _number(data.get("mean")) and _number(data.get("std")) and data["std"] > 0 \
            and (data.get("kind") != "poisson" or data["mean"] > 0) \
            and isinstance(data.get("reason", ""), str)
        if not ok:
            raise ValueError(f"{where}: bad target transform record {data!r}"[:300])
        return cls(data.get("kind", "standard"), data["mean"], data["std"], data.get("reason", ""))

    @classmethod
    def from_metadata(cls, tab, where="model"):
        """From a model file's ``tabular`` record: its ``target_transform``, else (files written
        before transforms existed) its ``target_scale`` as "standard", else None."""
        if "target_transform" in tab:
            return cls.from_json(tab["target_transform"], where)
        if "target_scale" in tab:
            return cls.from_json({**tab["target_scale"], "kind": "standard"}, where) \
                if isinstance(tab["target_scale"], dict) else cls.from_json(tab["target_scale"], where)
        return None


