"""Callbacks: code that runs at fixed points of ``fit`` (the protocol is in :mod:`.hooks`).

Ready-made: History, ProgressBar, EpochLogger, LambdaCallback, EarlyStopping,
LearningRateScheduler, CSVLogger, and GradientMonitor (from :mod:`.monitor`).
"""
from __future__ import annotations

import csv
import math
import sys
import time

import numpy as np

from ..nn.checks import finite_number, whole_number
from ..optim.schedules import Schedule
from ..patience import Best, monitor_mode
from ..validation import number
from .hooks import HOOKS, Callback
from .monitor import GradientMonitor, TrainingHealthWarning  # noqa: F401  (cr.callbacks.GradientMonitor)


class History(Callback):
    """Per-epoch records of a training run.

    ``history["loss"]`` is the mean training loss of each epoch, ``history["lr"]``
    the learning rate it used; "val_loss", "val_accuracy" and other metrics
    appear when validation data is given.
    ``epoch`` lists the epoch numbers (0-based). A GradientMonitor records its
    per-step measurements in ``gradients`` (None without one) and its warnings in
    ``warnings``.
    """

    def __init__(self):
        self.history = {}
        self.epoch = []
        self.gradients = None
        self.warnings = []

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        history = self.history
        for key, value in logs.items():
            if key in history:
                history[key].append(value)
            else:
                history[key] = [value]

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History({len(self.epoch)} epochs{': ' + last if last else ''})"


def _format(logs):
    return " - ".join(f"{k} {v:.3g}" if k == "lr" else f"{k} {v:.4f}" for k, v in logs.items())


class ProgressBar(Callback):
    """A tqdm bar (``verbose=1``): per epoch over its batches, or, when an epoch
    is a single batch (full-batch training), one bar over the epochs.
    The running mean loss is shown beside it, refreshed a few times a second.

    ``per_epoch=False`` always draws one bar over the epochs (the scikit-learn
    estimators: hundreds of short epochs, one line). ``words`` names that bar
    and its unit, ``{"training": ..., "epoch": ...}`` (the demos pass their own
    language's).
    """

    def __init__(self, file=None, per_epoch=None, words=None):
        self.file = file
        self.choice = per_epoch
        self.words = {"training": "training", "epoch": "epoch", **(words or {})}

    def on_train_begin(self, logs):
        from tqdm.auto import tqdm
        self._tqdm = tqdm
        count = self.run.batches_per_epoch  # None for a stream of unknown length
        self.per_epoch = (count is None or count > 1) if self.choice is None else self.choice
        self.bar = None if self.per_epoch else self._new(self.run.epochs, self.words["training"],
                                                         self.words["epoch"])
        self._shown = -math.inf  # the first epoch's loss is shown at once
        self._last = None  # the last epoch's logs, shown when the bar closes

    def _new(self, total, desc, unit="it"):
        return self._tqdm(total=total, desc=desc, unit=unit, file=self.file or sys.stderr,
                          leave=True, dynamic_ncols=True)

    def on_epoch_begin(self, epoch, logs):
        self._total = self._count = 0.0
        if self.per_epoch:  # over the epochs, the refresh clock runs across them
            self._shown = time.monotonic()
            self.bar = self._new(self.run.batches_per_epoch,
                                 f"epoch {epoch + 1}/{self.run.epochs}", "batch")

    def on_batch_end(self, batch, logs):
        self._total += logs["loss"] * logs["size"]
        self._count += logs["size"]
        if self.per_epoch:
            self.bar.update(1)
            now = time.monotonic()
            if now - self._shown > 0.25:
                self._shown = now
                self.bar.set_postfix_str(f"loss {self._total / self._count:.4f}", refresh=False)

    def on_epoch_end(self, epoch, logs):
        if self.per_epoch:
            self.bar.set_postfix_str(_format(logs), refresh=False)
            self.bar.close()
        else:
            # the loss is set before update(1), which may redraw the bar: set after it, the
            # drawn loss was the one set up to a quarter second before
            self._last = logs
            now = time.monotonic()
            if now - self._shown > 0.25:
                self._shown = now
                self.bar.set_postfix_str(_format(logs), refresh=False)
            self.bar.update(1)

    def on_train_end(self, logs):
        if self.bar is not None:
            # the last epoch's loss, drawn by close(): a run shorter than the refresh interval,
            # or stopped early before its last epoch, would otherwise leave the first epoch's
            last = self._last
            if not self.per_epoch and last is not None:
                self.bar.set_postfix_str(_format(last), refresh=False)
            self.bar.close()


class EpochLogger(Callback):
    """One printed line per epoch (``verbose=2``)."""

    def __init__(self, file=None):
        self.file = file

    def on_epoch_end(self, epoch, logs):
        print(f"epoch {epoch + 1}/{self.run.epochs} - {_format(logs)}",
              file=self.file or sys.stdout, flush=True)


class LambdaCallback(Callback):
    """A callback from plain functions, e.g. ``LambdaCallback(on_epoch_end=lambda e, logs: ...)``."""

    def __init__(self, **hooks):
        for name, function in hooks.items():
            if name not in HOOKS:
                raise ValueError(f"unknown hook {name!r}; valid hooks: {', '.join(HOOKS)}")
            if not callable(function):
                raise TypeError(f"{name} must be callable, got {function!r}")
            setattr(self, name, function)


class EarlyStopping(Callback):
    """Stop training when ``monitor`` stops improving; optionally go back to its best epoch.

    An epoch improves when its value beats the best so far by more than
    ``min_delta`` (lower for mode "min", higher for "max"; "auto" picks "max"
    for accuracy-like names and "min" otherwise). Training stops once
    ``patience`` epochs in a row have not improved (patience 0: at the first).

    With ``restore_best_weights=True`` the parameters and buffers (BatchNorm's
    running statistics) of the best epoch are copied aside when it happens and
    put back when training ends, whether it stopped early or ran out of epochs.

    Attributes after fit: ``best`` (value), ``best_epoch``, ``stopped_epoch``
    (None if training was not stopped).
    """

    def __init__(self, monitor="val_loss", patience=0, min_delta=0.0, mode="auto",
                 restore_best_weights=False):
        self.patience = number("patience", patience, integer=True, at_least=0)
        self.min_delta = number("min_delta", min_delta, at_least=0)
        self.monitor, self.mode = monitor, monitor_mode(monitor, mode)
        self.restore_best_weights = bool(restore_best_weights)
        self._best = Best(self.mode, self.min_delta)

    best = property(lambda self: self._best.value, doc="The best monitored value so far.")
    best_epoch = property(lambda self: self._best.epoch, doc="The epoch of ``best``.")
    wait = property(lambda self: self._best.wait, doc="Epochs since the last improvement.")

    def on_train_begin(self, logs):
        self._best.reset()
        self.stopped_epoch = None
        self._saved = None
        saved = self.run.saved_state(self)
        if saved is not None and (saved.get("monitor"), saved.get("mode")) == (self.monitor, self.mode):
            self._load_state(saved)

    def state_dict(self):
        """best (None while infinite), best_epoch, wait; with restore_best_weights the
        best epoch's parameters and buffers as arrays."""
        state = {"monitor": self.monitor, "mode": self.mode,
                 "best": self.best if self._best.found else None,
                 "best_epoch": self.best_epoch, "wait": self.wait}
        if self._saved is not None:
            params, buffers = self._saved
            state["best_params"] = params
            state.update({f"best_buffer.{i}.{name}": value for (i, name), value in buffers.items()})
        return state

    def _load_state(self, state):
        best, best_epoch, wait = state.get("best"), state.get("best_epoch"), state.get("wait")
        if finite_number(best):
            self._best.value = float(best)
        if whole_number(best_epoch):
            self._best.epoch = best_epoch
        if whole_number(wait):
            self._best.wait = wait
        params = state.get("best_params")
        if self.restore_best_weights and isinstance(params, np.ndarray) \
                and params.shape == self.run.net.flat_params.shape:
            net = self.run.net
            buffers = {(i, name): state[f"best_buffer.{i}.{name}"]
                       for i, layer in enumerate(net.layers) for name in layer.buffers
                       if f"best_buffer.{i}.{name}" in state}
            self._saved = params.astype(net.dtype, copy=True), buffers

    def on_epoch_end(self, epoch, logs):
        if self.monitor not in logs:
            raise ValueError(f"EarlyStopping monitors {self.monitor!r}, which is not in the "
                             f"epoch's logs (available: {', '.join(sorted(logs))}); give fit "
                             "validation_data or validation_split, or monitor='loss'")
        if self._best.update(float(logs[self.monitor]), epoch):
            if self.restore_best_weights:
                self._saved = snapshot(self.run.net)
            return
        if self.wait >= self.patience:
            self.stopped_epoch = epoch
            self.run.stop_training = True

    def on_train_end(self, logs):
        # after an error (a DivergenceError keeps the last finite weights) nothing is restored
        if self.restore_best_weights and self._saved is not None and "error" not in logs:
            restore(self.run.net, self._saved)


def snapshot(net):
    """Copies of a network's parameters (one flat array) and of its layers' buffers."""
    buffers = {(i, name): getattr(layer, name).copy()
               for i, layer in enumerate(net.layers) for name in layer.buffers}
    return net.flat_params.copy(), buffers


def restore(net, saved):
    """Put back what :func:`snapshot` took, in place (optimizers keep their arrays)."""
    params, buffers = saved
    net.flat_params[...] = params
    for (i, name), value in buffers.items():
        getattr(net.layers[i], name)[...] = value


class LearningRateScheduler(Callback):
    """Set the optimizer's learning rate from a schedule, epoch by epoch.

    ``schedule`` is a :class:`chainrule.schedules.Schedule` (stepped at the end
    of each epoch with that epoch's logs; fit adds this callback by itself
    when the optimizer was given a schedule as ``lr``), or a function
    ``f(epoch, lr) -> new lr`` called at the start of each epoch, as Keras'.
    """

    def __init__(self, schedule):
        if not isinstance(schedule, Schedule) and not callable(schedule):
            raise TypeError(f"schedule must be a chainrule Schedule or a function "
                            f"f(epoch, lr) -> lr, got {schedule!r}")
        self.schedule = schedule
        self._is_object = isinstance(schedule, Schedule)

    def _set(self, lr, where):
        try:
            self.run.optimizer.lr = number("lr", lr, at_least=0)
        except (TypeError, ValueError) as error:
            raise type(error)(f"the learning-rate schedule gave {lr!r} {where}: {error}") from None

    def on_train_begin(self, logs):
        if not self._is_object:
            return
        if self.run.resumed:
            # the checkpoint restored the optimizer's rate, and its own schedule if it has
            # one; a schedule given to this callback instead is restored from its state
            if self.schedule is not getattr(self.run.optimizer, "schedule", None):
                saved = self.run.saved_state(self)
                if saved is None or saved.get("class") != type(self.schedule).__name__ \
                        or not isinstance(saved.get("state"), dict):
                    raise ValueError(
                        f"cannot resume a LearningRateScheduler({self.schedule!r}) callback: "
                        "the checkpoint holds no state of a schedule of its kind (it was "
                        "written without this callback, or by an older chainrule)")
                self.schedule.load_state_dict(saved["state"])
            return
        self._set(self.schedule.lr, "at the start")

    def state_dict(self):
        """The schedule's own state (a function ``f(epoch, lr)`` has none)."""
        if not self._is_object or self.schedule is getattr(self.run.optimizer, "schedule", None):
            return None  # the checkpoint saves the optimizer's schedule itself
        return {"class": type(self.schedule).__name__, "state": self.schedule.state_dict()}

    def on_epoch_begin(self, epoch, logs):
        if not self._is_object:
            self._set(self.schedule(epoch, self.run.optimizer.lr), f"for epoch {epoch}")

    def on_epoch_end(self, epoch, logs):
        if self._is_object:
            self._set(self.schedule.step(logs), f"after epoch {epoch}")


class CSVLogger(Callback):
    """Write each epoch's logs as a row of a CSV file: ``epoch,loss,lr,val_loss,...``.

    The columns are those of the first epoch. The file is flushed after every
    row, so it can be followed while training runs. ``append=True`` adds to an
    existing file (without a second header) instead of replacing it.
    """

    def __init__(self, path, separator=",", append=False):
        self.path, self.separator, self.append = path, separator, bool(append)
        self._file = None

    def on_train_begin(self, logs):
        import os
        self._keys, self._position = None, None
        saved = self.run.saved_state(self)
        if saved is not None and self._resume(saved):
            return
        has_rows = self.append and os.path.exists(self.path) and os.path.getsize(self.path) > 0
        # open until on_train_end closes it: a row is written per epoch
        self._file = open(self.path, "a" if self.append else "w", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file, delimiter=self.separator)
        self._header_written = has_rows

    def _resume(self, saved):
        """Continue the file where the checkpoint left it: rows of epochs after the
        checkpoint (a run killed later) are cut off. False if the file is not there."""
        import os
        position, keys = saved.get("position"), saved.get("keys")
        if not isinstance(position, int) or isinstance(position, bool) or position < 0 \
                or not (keys is None or isinstance(keys, list)) or not os.path.exists(self.path) \
                or os.path.getsize(self.path) < position:
            return False
        with open(self.path, "r+b") as f:
            f.truncate(position)
        self._file = open(self.path, "a", newline="")  # noqa: SIM115
        self._writer = csv.writer(self._file, delimiter=self.separator)
        self._keys, self._position = keys, position
        self._header_written = True
        return True

    def state_dict(self):
        """The columns and the file's length after the last row written."""
        return {"keys": self._keys, "position": self._position}

    def on_epoch_end(self, epoch, logs):
        if self._keys is None:
            self._keys = list(logs)
            if not self._header_written:
                self._writer.writerow(["epoch", *self._keys])
        self._writer.writerow([epoch, *(repr(float(logs[k])) if k in logs else ""
                                        for k in self._keys)])
        self._file.flush()
        self._position = self._file.tell()

    def on_train_end(self, logs):
        if self._file is not None:
            self._file.close()
            self._file = None


