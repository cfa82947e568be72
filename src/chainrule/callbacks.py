"""Callbacks: code that runs at fixed points of ``fit``.

The protocol. ``fit`` sets ``callback.run`` (a :class:`Run`: the network,
optimizer, loss, History, settings and a ``stop_training`` flag) and then
calls, in order::

    on_train_begin(logs)
    for each epoch:   on_epoch_begin(epoch, logs)
        for each batch:   on_batch_end(batch, logs)     logs: {"loss", "size"}
        on_epoch_end(epoch, logs)                       logs: {"loss", "val_loss", ...}
    on_train_end(logs)

Setting ``self.run.stop_training = True`` ends training after the current
batch. Only the hooks a callback overrides are called, so an unused hook costs
nothing in the batch loop. The History and the progress bar are callbacks too.
"""
from __future__ import annotations

import sys
import time


class Run:
    """What callbacks see of a training run."""

    def __init__(self, net, optimizer, loss, history, epochs, batches_per_epoch):
        self.net, self.optimizer, self.loss, self.history = net, optimizer, loss, history
        self.epochs, self.batches_per_epoch = epochs, batches_per_epoch
        self.stop_training = False


class Callback:
    """Base class: every hook does nothing."""

    run = None

    def on_train_begin(self, logs):
        pass

    def on_epoch_begin(self, epoch, logs):
        pass

    def on_batch_end(self, batch, logs):
        pass

    def on_epoch_end(self, epoch, logs):
        pass

    def on_train_end(self, logs):
        pass


class History(Callback):
    """Per-epoch records of a training run.

    ``history["loss"]`` is the mean training loss of each epoch; "val_loss",
    "val_accuracy" and other metrics appear when validation data is given.
    ``epoch`` lists the epoch numbers (0-based).
    """

    def __init__(self):
        self.history = {}
        self.epoch = []

    def on_epoch_end(self, epoch, logs):
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key):
        return self.history[key]

    def __repr__(self):
        last = ", ".join(f"{k}={v[-1]:.4g}" for k, v in self.history.items() if v)
        return f"History({len(self.epoch)} epochs{': ' + last if last else ''})"


def _format(logs):
    return " - ".join(f"{k} {v:.4f}" for k, v in logs.items())


class ProgressBar(Callback):
    """A tqdm bar (``verbose=1``): per epoch over its batches, or, when an epoch
    is a single batch (full-batch training), one bar over the epochs.
    The running mean loss is shown beside it, refreshed a few times a second.
    """

    def __init__(self, file=None):
        self.file = file

    def on_train_begin(self, logs):
        from tqdm.auto import tqdm
        self._tqdm = tqdm
        self.per_epoch = self.run.batches_per_epoch > 1
        self.bar = None if self.per_epoch else self._new(self.run.epochs, "training")

    def _new(self, total, desc):
        return self._tqdm(total=total, desc=desc, file=self.file or sys.stderr,
                          leave=True, dynamic_ncols=True)

    def on_epoch_begin(self, epoch, logs):
        self._total = self._count = 0.0
        self._shown = time.monotonic()
        if self.per_epoch:
            self.bar = self._new(self.run.batches_per_epoch,
                                 f"epoch {epoch + 1}/{self.run.epochs}")

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
            self.bar.update(1)
            now = time.monotonic()
            if now - self._shown > 0.25 or epoch + 1 == self.run.epochs:
                self.bar.set_postfix_str(_format(logs), refresh=False)

    def on_train_end(self, logs):
        if self.bar is not None:
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
        valid = {"on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end"}
        for name, function in hooks.items():
            if name not in valid:
                raise ValueError(f"unknown hook {name!r}; valid hooks: {', '.join(sorted(valid))}")
            if not callable(function):
                raise TypeError(f"{name} must be callable, got {function!r}")
            setattr(self, name, function)


def overrides(callback, hook):
    """True if ``callback`` defines ``hook`` itself rather than inheriting the no-op."""
    own = getattr(callback, hook)
    base = getattr(Callback, hook)
    return getattr(own, "__func__", own) is not base


from .monitor import GradientMonitor, TrainingHealthWarning  # noqa: E402,F401  (cr.callbacks.GradientMonitor)
