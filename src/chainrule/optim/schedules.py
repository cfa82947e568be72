"""Learning-rate schedules: the learning rate as a function of the epoch.

Design. A schedule is an object holding the learning rate of the current
epoch, ``schedule.lr``, which ``schedule.step(logs)`` moves to the next epoch's
value (``logs`` are the epoch's results; only ReduceLROnPlateau reads them).
Give one to an optimizer in place of a number::

    opt = cr.SGD(lr=cr.schedules.StepLR(0.1, step_size=10))
    net.fit(X, y, loss=..., optimizer=opt, epochs=100)     # lr 0.1, then 0.01 from epoch 10, ...

``fit`` then steps it at the end of every epoch (through a
:class:`~chainrule.callbacks.LearningRateScheduler` it adds itself) and the
optimizer's ``lr`` follows; ``history["lr"]`` records the rate each epoch
used. The optimizers' update rules only ever see a plain float ``lr``, so a
schedule costs nothing inside an epoch. A schedule keeps its position across
``fit`` calls, as a torch scheduler does; ``reset()`` starts it again.

Every sequence equals torch.optim.lr_scheduler's for the same settings: the
rate of epoch e is what torch's optimizer holds after e calls of
``scheduler.step()``. Linear warm-up is :class:`LinearLR` (from a fraction of
the rate up to the full rate).
"""
from __future__ import annotations

import math
import numbers

from ..nn.checks import finite_number, number, whole_number
from ..patience import Best, monitor_mode


def _kind(value):
    """What kind of value a schedule holds: a number, text, a flag, a list, or None."""
    if isinstance(value, bool) or value is None:
        return "a flag" if isinstance(value, bool) else "None"
    if isinstance(value, numbers.Real):
        return "number"
    return "a list" if isinstance(value, (list, tuple)) else type(value).__name__


class Schedule:
    """Base class. Subclasses give ``lr_at(epoch)``, the rate after ``epoch`` steps.

    Attributes: ``initial_lr`` (the starting rate), ``epoch`` (steps taken),
    ``lr`` (the current rate).
    """

    def __init__(self, lr):
        self.initial_lr = number("lr", lr, greater_than=0)
        self.reset()

    def reset(self):
        """Back to epoch 0 and the initial rate."""
        self.epoch = 0
        self.lr = self.lr_at(0)

    def step(self, logs=None):
        """Advance one epoch; return the new learning rate."""
        self.epoch += 1
        self.lr = self.lr_at(self.epoch)
        return self.lr

    def lr_at(self, epoch):
        raise NotImplementedError

    def state_dict(self):
        """Position and state, for saving alongside the optimizer."""
        return dict(vars(self))

    def load_state_dict(self, state):
        """Take back what ``state_dict`` gave. The state comes from a checkpoint file: only
        the keys this schedule has are taken, each a value of the kind it holds now (a
        number stays a finite number, text stays text); ValueError names any other."""
        mine = vars(self)
        if not isinstance(state, dict):
            raise ValueError(f"{type(self).__name__} state must be a mapping, got {type(state).__name__}")
        for key, value in state.items():
            if key not in mine:
                raise ValueError(f"{type(self).__name__} state holds {str(key)[:40]!r}, which is not "
                                 f"one of its own ({', '.join(mine)}): the checkpoint is not this "
                                 "schedule's")
            if _kind(value) != _kind(mine[key]) or (_kind(value) == "number" and not finite_number(value)):
                raise ValueError(f"{type(self).__name__} state {key!r} must be {_kind(mine[key])} like "
                                 f"{mine[key]!r}, got {str(value)[:40]!r}")
        mine.update(state)

    def __repr__(self):
        return f"{type(self).__name__}({', '.join(f'{k}={v!r}' for k, v in self._config().items())})"

    def _config(self):
        return {"lr": self.initial_lr}


class StepLR(Schedule):
    """``lr·γ^⌊e / step_size⌋``: multiply by γ every ``step_size`` epochs."""

    def __init__(self, lr, step_size, gamma=0.1):
        self.step_size = number("step_size", step_size, integer=True, at_least=1)
        self.gamma = number("gamma", gamma, greater_than=0)
        super().__init__(lr)

    def lr_at(self, epoch):
        return self.initial_lr * self.gamma ** (epoch // self.step_size)

    def _config(self):
        return {"lr": self.initial_lr, "step_size": self.step_size, "gamma": self.gamma}


class ExponentialLR(Schedule):
    """``lr·γ^e``: multiply by γ every epoch."""

    def __init__(self, lr, gamma):
        self.gamma = number("gamma", gamma, greater_than=0)
        super().__init__(lr)

    def lr_at(self, epoch):
        return self.initial_lr * self.gamma ** epoch

    def _config(self):
        return {"lr": self.initial_lr, "gamma": self.gamma}


class CosineAnnealingLR(Schedule):
    """Half a cosine from ``lr`` down to ``eta_min`` over ``T_max`` epochs (Loshchilov & Hutter, 2017)::

        η_e = η_min + (lr − η_min)·(1 + cos(π·e / T_max)) / 2

    Past T_max the cosine carries on (back up), as torch's does; no restarts.
    """

    def __init__(self, lr, T_max, eta_min=0.0):
        self.T_max = number("T_max", T_max, integer=True, at_least=1)
        self.eta_min = number("eta_min", eta_min, at_least=0)
        super().__init__(lr)

    def lr_at(self, epoch):
        return self.eta_min + (self.initial_lr - self.eta_min) * \
            (1 + math.cos(math.pi * epoch / self.T_max)) / 2

    def _config(self):
        return {"lr": self.initial_lr, "T_max": self.T_max, "eta_min": self.eta_min}


class LinearLR(Schedule):
    """Linear warm-up: the factor on ``lr`` goes from ``start_factor`` to ``end_factor``
    over ``total_iters`` epochs, then stays::

        η_e = lr·(s + (f − s)·min(e, T) / T)
    """

    def __init__(self, lr, start_factor=1 / 3, end_factor=1.0, total_iters=5):
        self.start_factor = number("start_factor", start_factor, greater_than=0, at_most=1)
        self.end_factor = number("end_factor", end_factor, at_least=0, at_most=1)
        self.total_iters = number("total_iters", total_iters, integer=True, at_least=1)
        super().__init__(lr)

    def lr_at(self, epoch):
        progress = min(epoch, self.total_iters) / self.total_iters
        return self.initial_lr * (self.start_factor + (self.end_factor - self.start_factor) * progress)

    def _config(self):
        return {"lr": self.initial_lr, "start_factor": self.start_factor,
                "end_factor": self.end_factor, "total_iters": self.total_iters}


class OneCycleLR(Schedule):
    """The 1cycle policy (Smith & Topin, 2019): warm up to ``max_lr``, then anneal far below.

    From ``max_lr/div_factor`` up to ``max_lr`` over the first ``pct_start`` of
    ``total_steps``, then down to ``max_lr/(div_factor·final_div_factor)`` at
    step ``total_steps − 1``, each phase along a half cosine
    (``anneal_strategy="cos"``) or a line (``"linear"``). ``three_phase``: up,
    back down to the start, then down to the minimum. Stepped once per epoch
    here; torch's momentum cycling is not done (torch ``cycle_momentum=False``).
    """

    def __init__(self, max_lr, total_steps, pct_start=0.3, anneal_strategy="cos",
                 div_factor=25.0, final_div_factor=1e4, three_phase=False):
        self.max_lr = number("max_lr", max_lr, greater_than=0)
        self.total_steps = number("total_steps", total_steps, integer=True, at_least=1)
        self.pct_start = number("pct_start", pct_start, greater_than=0, less_than=1)
        if anneal_strategy not in ("cos", "linear"):
            raise ValueError(f"anneal_strategy must be 'cos' or 'linear', got {anneal_strategy!r}")
        self.anneal_strategy = anneal_strategy
        self.div_factor = number("div_factor", div_factor, greater_than=0)
        self.final_div_factor = number("final_div_factor", final_div_factor, greater_than=0)
        self.three_phase = bool(three_phase)
        start = self.max_lr / self.div_factor
        low = start / self.final_div_factor
        up_end = self.pct_start * self.total_steps - 1
        if self.three_phase:
            self.phases = [(up_end, start, self.max_lr),
                           (2 * self.pct_start * self.total_steps - 2, self.max_lr, start),
                           (self.total_steps - 1, start, low)]
        else:
            self.phases = [(up_end, start, self.max_lr), (self.total_steps - 1, self.max_lr, low)]
        super().__init__(start)

    def _anneal(self, start, end, pct):
        if self.anneal_strategy == "cos":
            return end + (start - end) / 2 * (1 + math.cos(math.pi * pct))
        return start + (end - start) * pct

    def lr_at(self, epoch):
        if epoch > self.total_steps:
            raise ValueError(f"OneCycleLR was stepped {epoch} times, past its total_steps="
                             f"{self.total_steps}; set total_steps to the number of epochs")
        phase_start = 0.0
        for i, (phase_end, start, end) in enumerate(self.phases):
            if epoch <= phase_end or i == len(self.phases) - 1:
                return self._anneal(start, end, (epoch - phase_start) / (phase_end - phase_start))
            phase_start = phase_end

    def _config(self):
        return {"max_lr": self.max_lr, "total_steps": self.total_steps, "pct_start": self.pct_start,
                "anneal_strategy": self.anneal_strategy, "div_factor": self.div_factor,
                "final_div_factor": self.final_div_factor, "three_phase": self.three_phase}


class ReduceLROnPlateau(Schedule):
    """Multiply the rate by ``factor`` when ``monitor`` has not improved for ``patience`` epochs.

    An epoch improves on the best so far when (mode "min", threshold_mode
    "rel") ``value < best·(1 − threshold)``; "abs" uses ``best − threshold``;
    mode "max" mirrors both. After a reduction, ``cooldown`` epochs pass before
    counting again. The rate never goes below ``min_lr``, and a reduction
    smaller than ``eps`` is skipped. All as torch's ReduceLROnPlateau.

    ``monitor`` names the entry of the epoch's logs to watch ("val_loss" needs
    validation data in fit; use "loss" without). ``mode="auto"`` decides by
    that name, as EarlyStopping does ("max" for accuracy-like names).
    """

    def __init__(self, lr, monitor="val_loss", mode="min", factor=0.1, patience=10,
                 threshold=1e-4, threshold_mode="rel", cooldown=0, min_lr=0.0, eps=1e-8):
        if threshold_mode not in ("rel", "abs"):
            raise ValueError(f"threshold_mode must be 'rel' or 'abs', got {threshold_mode!r}")
        self.monitor, self.mode, self.threshold_mode = monitor, monitor_mode(monitor, mode), threshold_mode
        self.factor = number("factor", factor, greater_than=0, less_than=1)
        self.patience = number("patience", patience, integer=True, at_least=0)
        self.threshold = number("threshold", threshold, at_least=0)
        self.cooldown = number("cooldown", cooldown, integer=True, at_least=0)
        self.min_lr = number("min_lr", min_lr, at_least=0)
        self.eps = number("eps", eps, at_least=0)
        self._best = Best(self.mode, self.threshold, relative=threshold_mode == "rel")
        super().__init__(lr)

    best = property(lambda self: self._best.value, doc="The best monitored value so far.")

    @property
    def bad_epochs(self):
        """Epochs since the last improvement (counted from 0 again after a reduction)."""
        return self._best.wait

    def reset(self):
        self.epoch = 0
        self.lr = self.initial_lr
        self._best.reset()
        self.cooldown_left = 0

    def state_dict(self):
        """As every schedule's, with the best value and the epochs since it as numbers."""
        state = {k: v for k, v in vars(self).items() if k != "_best"}
        state.update(best=self._best.value, bad_epochs=self._best.wait)
        return state

    def load_state_dict(self, state):
        if not isinstance(state, dict):
            return super().load_state_dict(state)  # refuses it
        state = dict(state)
        best, wait = state.pop("best", None), state.pop("bad_epochs", None)
        best_ok = best is None or finite_number(best) or (isinstance(best, float) and math.isinf(best))
        if not best_ok or not (wait is None or whole_number(wait)):
            raise ValueError(f"ReduceLROnPlateau state: best must be a number and bad_epochs a count, "
                             f"got {str(best)[:40]} and {str(wait)[:40]}")
        super().load_state_dict(state)
        if best is not None:
            self._best.value = float(best)
        if wait is not None:
            self._best.wait = int(wait)

    def step(self, logs=None):
        if not logs or self.monitor not in logs:
            available = ", ".join(sorted(logs)) if logs else "none"
            raise ValueError(f"ReduceLROnPlateau monitors {self.monitor!r}, which is not in the "
                             f"epoch's logs (available: {available}); give fit validation data "
                             "or monitor='loss'")
        value = float(logs[self.monitor])
        self.epoch += 1
        self._best.update(value, self.epoch)
        if self.cooldown_left > 0:
            self.cooldown_left -= 1
            self._best.wait = 0
        if self._best.wait > self.patience:
            reduced = max(self.lr * self.factor, self.min_lr)
            if self.lr - reduced > self.eps:
                self.lr = reduced
            self.cooldown_left, self._best.wait = self.cooldown, 0
        return self.lr

    def lr_at(self, epoch):
        raise NotImplementedError("ReduceLROnPlateau has no closed form: its rate depends on "
                                  "the monitored values; read .lr")

    def _config(self):
        return {"lr": self.initial_lr, "monitor": self.monitor, "mode": self.mode,
                "factor": self.factor, "patience": self.patience}
