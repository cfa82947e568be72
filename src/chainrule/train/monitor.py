"""Training health: per-layer gradient statistics and plain-language warnings.

``GradientMonitor`` is a callback, so it costs nothing unless passed to
``fit(..., callbacks=[GradientMonitor()])``. Every ``every`` steps it reads
what the last batch left behind (gradients, the activations' caches, the
parameters before and after the update) and records, per layer:

* the gradient norm ‖∂L/∂θ‖ of each layer with parameters;
* the update-to-weight ratio ‖Δθ‖ / ‖θ‖ (about 1e-3 is healthy; near or
  above 1 the optimizer is throwing the weights around);
* for ReLU layers, the share of dead units (0 for every row of the batch,
  hence gradient 0: they stop learning);
* for Sigmoid/Tanh layers, the share of saturated outputs (σ within 0.01 of
  0 or 1, |tanh| > 0.99), where the derivative nearly vanishes.

Records go into the run's History as ``history.gradients`` (a dict of lists,
one entry per recorded step) and warnings into ``history.warnings``. Each
problem is warned about once per run with :class:`TrainingHealthWarning`; the
monitor's ``findings`` hold the same problems as data (kind, step, layers and
numbers), for a program that tells them in its own words (the demos, in 简体中文).
"""
from __future__ import annotations

import numpy as np

from ..nn.activations import ReLU, Sigmoid, Tanh
from ..nn.checks import warn_user
from ..validation import number
from .hooks import Callback


class TrainingHealthWarning(UserWarning):
    """A network is training badly: vanishing or exploding gradients, dead or saturated units."""


def _bounded(layer):
    """True for a layer whose outputs have two finite limits (σ, tanh), where they saturate."""
    low, high = getattr(layer, "output_range", None) or (-np.inf, np.inf)
    return bool(np.isfinite(low) and np.isfinite(high))


def _norm(arrays):
    return float(np.sqrt(sum(float(np.vdot(a, a)) for a in arrays)))


class GradientMonitor(Callback):
    """Record gradient health every ``every`` steps and warn when it goes wrong.

    Parameters
    ----------
    every : int, default 10
        Record after every this many optimizer steps (counted across epochs).
        The first step is always recorded.
    vanishing : float, default 1e-3
        Warn when a layer's root-mean-square gradient is below this fraction of
        the largest layer's: the signal dies on its way back.
    exploding : float, default 0.5
        Warn when a layer's update-to-weight ratio ‖Δθ‖/‖θ‖ exceeds this, or its
        gradient norm grows more than 1e4 times past its first recorded value.
    dead : float, default 0.5
        Warn when more than this share of a ReLU layer's units are dead.
    saturated : float, default 0.9
        Warn when more than this share of a hidden Sigmoid/Tanh layer's outputs
        are saturated.
    warn : bool, default True
        False records without warning.
    """

    def __init__(self, every=10, vanishing=1e-3, exploding=0.5, dead=0.5, saturated=0.9, warn=True):
        self.every = number("every", every, integer=True, at_least=1)
        self.vanishing = number("vanishing", vanishing, greater_than=0)
        self.exploding = number("exploding", exploding, greater_than=0)
        # dead and saturated are shares of a layer's units
        self.dead = number("dead", dead, greater_than=0, less_than=1)
        self.saturated = number("saturated", saturated, greater_than=0, less_than=1)
        self.warn = bool(warn)

    # -- hooks -------------------------------------------------------------------

    def on_train_begin(self, logs):
        net = self.run.net
        self.step = 0
        self.layers = {i: f"layer {i} ({type(layer).__name__})" for i, layer in enumerate(net.layers)}
        # the last layer's activation is skipped by a fused loss, and an output
        # sigmoid close to 0 or 1 means confident, not stuck: watch hidden ones only
        self.watched = [i for i, layer in enumerate(net.layers[:-1])
                        if isinstance(layer, ReLU) or _bounded(layer)]
        history = self.run.history
        if history.gradients is None:
            history.gradients = {"step": [], "grad_norm": {}, "update_ratio": {}, "dead_relu": {},
                                 "saturated": {}}
        self.records, self.messages = history.gradients, history.warnings
        self.warned = set()
        self.findings = []
        self.first_norm = {}
        self.before = None
        self._snapshot_if_next_recorded()

    def on_batch_end(self, batch, logs):
        self.step += 1
        if self.before is not None:
            self._record()
            self.before = None
        self._snapshot_if_next_recorded()

    # -- machinery ---------------------------------------------------------------

    def _recorded(self, step):
        """Steps 1, every + 1, 2·every + 1, ... (1-based) are recorded."""
        return (step - 1) % self.every == 0

    def _snapshot_if_next_recorded(self):
        # the update of the next step is (parameters after it) − (parameters now)
        if self._recorded(self.step + 1):
            self.before = self.run.net.flat_params.copy()

    def _record(self):
        net, rec = self.run.net, self.records
        rec["step"].append(self.step)
        norms = {}
        for i, part in net.layer_slices():
            norm = _norm([net.flat_grads[part]])
            before = self.before[part]
            update = _norm([net.flat_params[part] - before])
            weight = _norm([before])
            ratio = update / weight if weight > 0 else float("inf") if update > 0 else 0.0
            rec["grad_norm"].setdefault(self.layers[i], []).append(norm)
            rec["update_ratio"].setdefault(self.layers[i], []).append(ratio)
            norms[i] = (norm, norm / np.sqrt(part.stop - part.start))
            self._check_exploding(i, norm, ratio)
        self._check_vanishing(norms)
        for i in self.watched:
            layer = net.layers[i]
            A = getattr(layer, "A", None)   # what its last forward returned
            if A is None:
                continue
            if isinstance(layer, ReLU):
                share = float(np.mean(~(A > 0).any(axis=0)))  # units off for every row
                rec["dead_relu"].setdefault(self.layers[i], []).append(share)
                if share > self.dead:
                    self._warn("dead", i, (
                        f"{self.layers[i]}: {share:.0%} of its units output 0 for every sample in "
                        f"the batch (dead ReLUs): their gradient is 0, so they no longer learn. "
                        f"Likely cause: large negative biases, or a learning rate so high that a "
                        f"step pushed them negative; try He initialisation, a smaller learning "
                        f"rate or LeakyReLU."), layer=i, share=share)
            else:
                low, high = layer.output_range   # σ: within 0.01 of 0 or 1; tanh: of −1 or 1
                share = float(np.mean((low + 0.01 > A) | (high - 0.01 < A)))
                rec["saturated"].setdefault(self.layers[i], []).append(share)
                if share > self.saturated:
                    self._warn("saturated", i, (
                        f"{self.layers[i]}: {share:.0%} of its outputs are saturated (pinned near "
                        f"their limits), where the derivative is almost 0 and little gradient "
                        f"passes. Likely cause: weights too large for the number of inputs (e.g. "
                        f"N(0, 1) initial weights) or unscaled inputs; use Xavier initialisation "
                        f"and standardise the inputs."), layer=i, share=share)

    def _check_exploding(self, i, norm, ratio):
        first = self.first_norm.setdefault(i, norm)
        lr = getattr(self.run.optimizer, "lr", None)
        cause = (f"Likely cause: a learning rate too high (lr={lr:g}); lower it, e.g. tenfold"
                 if lr is not None else "Likely cause: a step size too high")
        if ratio > self.exploding:
            self._warn("exploding", None, (
                f"{self.layers[i]}: exploding updates: one step changed its weights by {ratio:.3g} "
                f"times their own size (healthy is about 1e-3). {cause}, or unscaled inputs."),
                of="updates", layer=i, ratio=ratio, lr=lr)
        elif first > 0 and norm > 1e4 * first:
            self._warn("exploding", None, (
                f"{self.layers[i]}: exploding gradients: the gradient norm grew from {first:.3g} "
                f"to {norm:.3g}. {cause}."), of="gradients", layer=i, first=first, norm=norm, lr=lr)

    def _check_vanishing(self, norms):
        """Compare each layer's RMS gradient with the largest; one warning names the worst."""
        if not norms:
            return
        top = max(norms, key=lambda i: norms[i][1])
        largest = norms[top][1]
        weak = [i for i, (_, rms) in norms.items() if largest > 0 and rms < self.vanishing * largest]
        if not weak:
            return
        worst = min(weak, key=lambda i: norms[i][1])
        rms = norms[worst][1]
        between = sum(isinstance(layer, (Sigmoid, Tanh))
                      for layer in self.run.net.layers[min(worst, top):max(worst, top)])
        if between:
            cause = (f"L{self.layers[worst][1:]} lies {between} sigmoid/tanh layers back from "
                     f"{self.layers[top]}, and each multiplies the gradient by its derivative "
                     f"(at most 0.25 for σ, far less when saturated). Likely cause: a deep "
                     f"sigmoid/tanh stack, made worse by large initial weights such as N(0, 1); "
                     f"use ReLU with He initialisation, Xavier weights, or fewer layers.")
        else:
            cause = ("Likely cause: dead or saturated units between it and the output "
                     "(see the other warnings), or a poor initialisation.")
        names = ", ".join(str(i) for i in sorted(weak))
        self._warn("vanishing", None, (
            f"vanishing gradients in layer(s) {names}: the typical gradient entry of "
            f"{self.layers[worst]} is {rms:.3g}, {rms / largest:.1e} times that of "
            f"{self.layers[top]}, so it barely learns. {cause}"),
            layers=sorted(weak), worst=worst, top=top, ratio=rms / largest, between=between)

    def _warn(self, kind, i, message, **facts):
        """Warn once per (kind, layer); ``facts``: the numbers the message tells, kept in
        ``findings`` with the kind and step."""
        if (kind, i) in self.warned:
            return
        self.warned.add((kind, i))
        self.findings.append({"kind": kind, "step": self.step, **facts})
        message = f"step {self.step}: {message}"
        self.messages.append(message)
        if self.warn:
            warn_user(message, TrainingHealthWarning)
