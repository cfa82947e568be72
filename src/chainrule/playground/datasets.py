"""The playground's toy data sets: five 2-D classification problems and one regression.

Every generator is ``make(n, noise, rng) -> (X, y)`` with X of shape (n, d)
in float64 and y either class labels (n,) of ints or targets (n,) of floats.
``noise`` runs from 0 (clean) to 1 (heavily jittered); each generator turns it
into its own scale, chosen so that 0.5 still leaves the pattern visible.
All randomness comes from the ``numpy.random.Generator`` passed in.

The 2-D sets live roughly in [-1.5, 1.5]² (their ``frame``: the square the
page draws, half-side 1.6), so the default learning rates suit all of them;
the spiral alone lives in TensorFlow Playground's frame, [-6, 6]², as its
spiral does: its arms wind 1.75 turns within radius 5, so that the
features sin x₁ and sin x₂ wave twice across it. On a frame of 1.6 they are
nearly x₁ and x₂ (sin 1.4 ≈ 0.99), and the spiral stays out of reach of the
few clicks that learn it there (ticking them, 8 units per layer).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..validation import number


def _jitter(X, noise, scale, rng):
    """X plus Gaussian noise of standard deviation ``noise · scale``."""
    return X + rng.normal(0.0, noise * scale, X.shape) if noise > 0 else X


def xor(n, noise, rng):
    """Points uniform in [-1, 1]², class 1 where x₁·x₂ > 0 (opposite quadrants agree).

    A margin of 0.05 around the axes is kept empty so the clean set is separable.
    """
    X = rng.uniform(-1.0, 1.0, (n, 2))
    X += np.where(X >= 0, 0.05, -0.05)  # push points off the axes
    y = (X[:, 0] * X[:, 1] > 0).astype(np.intp)
    return _jitter(X, noise, 0.3, rng), y


def circles(n, noise, rng):
    """A disc of radius 0.5 (class 1) inside a ring between radii 0.8 and 1.1 (class 0)."""
    inner = n // 2
    radius = np.concatenate([0.5 * np.sqrt(rng.random(inner)),
                             rng.uniform(0.8, 1.1, n - inner)])
    angle = rng.uniform(0.0, 2 * np.pi, n)
    X = np.column_stack([radius * np.cos(angle), radius * np.sin(angle)])
    y = np.concatenate([np.ones(inner, np.intp), np.zeros(n - inner, np.intp)])
    return _jitter(X, noise, 0.25, rng), y


def moons(n, noise, rng):
    """Two interleaved half circles of radius 1: class 0 arches up, class 1 down, shifted."""
    upper = n // 2
    t = rng.uniform(0.0, np.pi, n)
    X = np.column_stack([np.cos(t), np.sin(t)])
    X[upper:] = np.column_stack([1.0 - np.cos(t[upper:]), 0.5 - np.sin(t[upper:])])
    X = (X - [0.5, 0.25]) * 1.2  # centre the pair in the frame
    y = np.concatenate([np.zeros(upper, np.intp), np.ones(n - upper, np.intp)])
    return _jitter(X, noise, 0.3, rng), y


#: The spiral's arm length and frame, TensorFlow Playground's (``classifySpiralData``: r up to 5
#: on a [-6, 6] frame).
SPIRAL_RADIUS, SPIRAL_FRAME = 5.0, 6.0


def spiral(n, noise, rng):
    """Two arms winding 1.75 turns out from the centre to radius 5; class c is turned by c·π.

    The arms are 5 / 3.5 ≈ 1.43 apart; the noise's standard deviation is 0.54·noise (0.27 at
    0.5, about TensorFlow Playground's largest jitter, uniform in ±0.5).
    """
    half = n // 2
    y = np.concatenate([np.zeros(half, np.intp), np.ones(n - half, np.intp)])
    t = rng.random(n)  # position along the arm, 0 at the centre
    radius = SPIRAL_RADIUS * t
    angle = 1.75 * 2 * np.pi * t + np.pi * y
    X = np.column_stack([radius * np.sin(angle), radius * np.cos(angle)])
    return _jitter(X, noise, 0.15 * SPIRAL_RADIUS / 1.4, rng), y


#: The three blob centres, on a circle of radius 0.9.
_BLOB_CENTRES = 0.9 * np.array([[np.cos(a), np.sin(a)]
                                for a in (np.pi / 2, np.pi / 2 + 2 * np.pi / 3,
                                          np.pi / 2 + 4 * np.pi / 3)])


def blobs(n, noise, rng):
    """Three Gaussian clusters (classes 0, 1, 2), standard deviation 0.15 + 0.5·noise."""
    y = np.arange(n, dtype=np.intp) % 3
    rng.shuffle(y)
    X = _BLOB_CENTRES[y] + rng.normal(0.0, 0.15 + 0.5 * noise, (n, 2))
    return X, y


def sine(n, noise, rng):
    """Regression: x uniform in [-3, 3], target sin(x) plus Gaussian noise of sd 0.5·noise."""
    x = rng.uniform(-3.0, 3.0, n)
    y = np.sin(x) + (rng.normal(0.0, 0.5 * noise, n) if noise > 0 else 0.0)
    return x.reshape(-1, 1), y


@dataclass(frozen=True)
class DataSet:
    """A named generator and what it is: features, task, and classes (0 for regression)."""

    name: str
    make: object
    n_features: int
    classes: int
    title: str
    #: half the side of the square the page draws the points and the network's output in
    frame: float = 1.6

    @property
    def task(self):
        return "regression" if self.classes == 0 else "classification"


DATASETS = {d.name: d for d in [
    DataSet("xor", xor, 2, 2, "XOR"),
    DataSet("circles", circles, 2, 2, "Circles"),
    DataSet("moons", moons, 2, 2, "Two moons"),
    DataSet("spiral", spiral, 2, 2, "Spiral", frame=SPIRAL_FRAME),
    DataSet("blobs", blobs, 2, 3, "Gaussian blobs (3 classes)"),
    DataSet("sine", sine, 1, 0, "Sine (regression)"),
]}


def generate(name, n, noise, seed):
    """``(X, y)`` of data set ``name`` with ``n`` rows; the same seed gives the same data.

    Raises ValueError for an unknown name (listing the valid ones), ``n < 1``
    or ``noise`` outside [0, 1]; TypeError for an ``n`` that is not an integer.
    """
    if name not in DATASETS:
        raise ValueError(f"unknown data set {name!r}; valid names: {', '.join(DATASETS)}")
    n = number("n", n, integer=True, at_least=1)
    noise = number("noise", noise, at_least=0, at_most=1)
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    return DATASETS[name].make(n, noise, rng)
