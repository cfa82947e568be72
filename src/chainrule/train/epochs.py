"""The epochs of a run: the one loop that ``fit`` and the scikit-learn estimators run.

For each epoch: the callbacks' ``on_epoch_begin``; for each batch, :func:`step`
(forward, loss, backward, the guarded update) and ``on_batch_end``; then the
epoch's logs and ``on_epoch_end``. A callback's ``run.stop_training`` ends the
run after the current batch. An error ends it too, after every ``on_train_end``
has been told (``logs["error"]``), and is raised again.

What differs between ``fit`` and the estimators is what an epoch's loss is and
what follows it (scikit-learn's loss curve, its ``n_iter_no_change``): the
methods :class:`Epochs` leaves to a subclass.
"""
from __future__ import annotations

import numpy as np

from .checkpoint import ModelCheckpoint
from .divergence import diverged, guarded_step
from .hooks import HOOKS, end_after_error, overrides


def step(net, optimizer, X, Y, loss, clip=None, penalty=None, *, epoch=0, batch=0,
         history=None):
    """One mini-batch update: forward and backward on (X, Y), then the guarded optimizer step.

    Parameters
    ----------
    X : array (n, n_in)
    Y : array (n, n_out), the targets as ``loss`` takes them (``loss.prepare``)
    clip : callable, optional
        In-place gradient clipping (:func:`chainrule.optim.clipping.clipping`).
    penalty : callable ``penalty(net, Y) -> float``, optional
        A term the caller adds to the loss: it adds its gradient to the
        layers' gradients in place and returns its value (the estimators'
        L2 term, which scales with each batch's sample weights).
    epoch, batch : int
        Where the run is, for the DivergenceError's message.
    history : History, optional
        Carried by the DivergenceError.

    Returns
    -------
    float
        The batch's loss (penalty included), before the update.

    Raises
    ------
    DivergenceError
        When the loss or a gradient is not finite, or the update would make
        the weights so; the weights and the optimizer's state are then
        unchanged.
    """
    value = net.forward_backward(X, Y, loss)
    if penalty is not None:
        value += penalty(net, Y)
    return update(net, optimizer, X, value, clip, epoch=epoch, batch=batch, history=history)


def update(net, optimizer, X, value, clip=None, *, epoch=0, batch=0, history=None):
    """The second half of :func:`step`, for gradients already in the network (``net.trace``
    leaves them there too): the optimizer's update, or a DivergenceError when ``value`` or
    the update is not finite. ``X`` is the batch the gradients came from."""
    refused = guarded_step(net, optimizer, value, clip)
    if refused is not None:
        raise diverged(net, X, value, epoch, batch, history, optimizer, stepped=refused[1])
    return value


def hooks_of(callbacks):
    """``{hook name: [bound methods]}``: only the hooks each callback overrides, so an
    unused hook costs nothing per batch; at an epoch's end checkpoints come last, so
    that they save the other callbacks' state after this epoch."""
    last = sorted(callbacks, key=lambda cb: isinstance(cb, ModelCheckpoint))
    return {name: [getattr(cb, name) for cb in (last if name == "on_epoch_end" else callbacks)
                   if overrides(cb, name)] for name in HOOKS}


class Epochs:
    """The epochs of ``run`` over ``batches``, each batch a :func:`step` on ``loss``.

    Parameters
    ----------
    run : Run
        The run (network, optimizer, History, epochs, callbacks, generator).
    batches : callable ``batches(rng, shuffle)`` yielding (X_batch, Y_batch)
    loss : Loss
        The loss the steps take (a weighted loss when rows are weighted).
    shuffle, clip, penalty
        As :func:`step` and the batches take them.

    A subclass says what an epoch's loss is (:meth:`logs`), what a batch weighs
    in it (:meth:`weight`), whether the run stops after an epoch
    (:meth:`stop_after`), and what follows a run that used every epoch
    (:meth:`completed`).
    """

    def __init__(self, run, batches, loss, *, shuffle=True, clip=None, penalty=None):
        self.run, self.batches, self.loss = run, batches, loss
        self.shuffle, self.clip, self.penalty = shuffle, clip, penalty

    def weight(self, X, Y):
        """What a batch weighs in its epoch's mean loss: its rows."""
        return len(X)

    def logs(self, epoch, total, weight, rows):
        """The epoch's logs from the sum of the batches' weighted losses and their weight."""
        return {"loss": total / weight}

    def stop_after(self, epoch, logs):
        """True to end the run after this epoch (its callbacks have run)."""
        return False

    def completed(self):
        """Called when the run used every epoch."""

    def label(self, epoch):
        """The epoch's number in a DivergenceError's message."""
        return epoch

    def __call__(self, call, start=0):
        """Run epochs ``start`` to ``run.epochs``, holding the network as ``call``."""
        hooks, net = hooks_of(self.run.callbacks), self.run.net
        with net.fitting(call), np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            try:
                for hook in hooks["on_train_begin"]:
                    hook({})
                for epoch in range(start, self.run.epochs):
                    if self._epoch(epoch, hooks):
                        break
                else:
                    self.completed()
            except BaseException as error:
                end_after_error(hooks["on_train_end"], error)
                raise
            for hook in hooks["on_train_end"]:
                hook({})

    def _epoch(self, epoch, hooks):
        """One epoch; True when the run stops after it."""
        run = self.run
        for hook in hooks["on_epoch_begin"]:
            hook(epoch, {})
        total = weight = 0.0
        rows, label, batch_hooks = 0, self.label(epoch), hooks["on_batch_end"]
        for b, (Xb, Yb) in enumerate(self.batches(run.rng, self.shuffle)):
            value = step(run.net, run.optimizer, Xb, Yb, self.loss, self.clip, self.penalty,
                         epoch=label, batch=b, history=run.history)
            w = self.weight(Xb, Yb)
            total, weight, rows = total + value * w, weight + w, rows + len(Xb)
            for hook in batch_hooks:
                hook(b, {"loss": value, "size": len(Xb)})
            if run.stop_training:
                break
        logs = self.logs(epoch, total, weight, rows)
        logs["lr"] = run.optimizer.lr
        for hook in hooks["on_epoch_end"]:
            hook(epoch, logs)
        return self.stop_after(epoch, logs) or run.stop_training
