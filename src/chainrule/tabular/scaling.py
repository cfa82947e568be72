"""The numeric columns' scalings, each computed in float64 and safe for values near the ends of
its range: standardising (:func:`mean_std`, :func:`standardise`), RealMLP's robust scaling with
smooth clipping (:func:`robust_factor`, :func:`robust_scale`; Holzmüller et al., "Better by
Default", 2024) and the quantile map to a normal (:func:`quantile_normal`)."""
from __future__ import annotations

import numpy as np

#: Quantiles stored per column with scale="quantile" (scikit-learn's QuantileTransformer default).
QUANTILES = 1000
#: A standardised value beyond this cannot pass through a float32 network meaningfully.
FAR = 1e30
#: Smooth clipping's bound with scale="robust": z / √(1 + (z/BOUND)²) tends to ±BOUND (RealMLP's 3).
_BOUND = 3.0


def mean_std(values):
    """(mean, std) of finite float64 ``values``, computed on ``values / max|values|``:
    neither squares nor sums overflow, even for values near 1e308. std 0 becomes 1."""
    m = float(np.max(np.abs(values))) if len(values) else 0.0
    if m == 0.0:
        return 0.0, 1.0
    u = values / m
    mean, std = float(u.mean()) * m, float(u.std()) * m
    return mean, (std if std > 0 else 1.0)


def standardise(values, mean, std):
    """``(x − mean) / std`` in float64; where the difference overflows, ``x/std − mean/std``."""
    with np.errstate(over="ignore", invalid="ignore"):
        z = (values - mean) / std
        bad = ~np.isfinite(z) & np.isfinite(values)
        if bad.any():
            z[bad] = values[bad] / std - mean / std
    return z


def robust_factor(values):
    """RealMLP's scale factor of finite float64 ``values``: 1 / IQR, else 2 / (max − min),
    else 0 (a constant column: every value becomes 0). Computed on ``values / max|values|``
    so that a span beyond float64's range (−1e308 .. 1e308) still gives a factor."""
    m = float(np.max(np.abs(values))) if len(values) else 0.0
    if m == 0.0:
        return 0.0
    u = values / m
    q1, q3 = np.quantile(u, [0.25, 0.75])
    spread = q3 - q1 if q3 > q1 else 0.5 * (np.max(u) - np.min(u))
    return float((1.0 / spread) / m) if spread > 0 else 0.0


def robust_scale(values, median, factor):
    """``z = (x − median) · factor``, then smooth clipping ``z / √(1 + (z/3)²)`` (float64, NaN
    stays NaN). Written with ``hypot`` so that a far-out z gives ±3, not inf / inf."""
    with np.errstate(over="ignore", invalid="ignore"):
        z = (values - median) * factor
        bad = ~np.isfinite(z) & np.isfinite(values)
        if bad.any():  # the difference overflowed: each term scaled first
            z[bad] = values[bad] * factor - median * factor
        clipped = z / np.hypot(1.0, z / _BOUND)
    return np.where(np.isinf(z), np.sign(z) * _BOUND, clipped)


def quantile_normal(values, quantiles):
    """Through the training quantiles to (0, 1), then to a standard normal (ties: the
    average of the forward and backward interpolation, as scikit-learn's)."""
    from scipy.special import ndtri
    q = np.asarray(quantiles, dtype=np.float64)
    refs = np.linspace(0.0, 1.0, len(q))
    u = 0.5 * (np.interp(values, q, refs) - np.interp(-values, -q[::-1], -refs[::-1]))
    eps = 1e-7  # as QuantileTransformer: the normal's tails at ±5.2, not ±inf
    return ndtri(np.clip(u, eps, 1 - eps))
