"""The callback protocol: what ``fit`` hands a callback and when it calls it.

``fit`` sets ``callback.run`` (a :class:`Run`: the network,
optimizer, loss, History, settings and a ``stop_training`` flag) and then
calls, in order::

    on_train_begin(logs)
    for each epoch:   on_epoch_begin(epoch, logs)
        for each batch:   on_batch_end(batch, logs)     logs: {"loss", "size"}
        on_epoch_end(epoch, logs)                       logs: {"loss", "val_loss", ...}
    on_train_end(logs)                                  logs: {"error": e} if fit raised

Setting ``self.run.stop_training = True`` ends training after the current
batch. Only the hooks a callback overrides are called, so an unused hook costs
nothing in the batch loop. The History and the progress bar are callbacks too.

The epoch's logs hold "loss" (mean training loss, penalties included), "lr"
(the learning rate the epoch used) and, with validation data, "val_loss" and
"val_<metric>" for each metric fit was given.

The ready-made callbacks are in :mod:`.callbacks`.
"""

from __future__ import annotations

import contextlib

#: The hooks, in the order a run calls them (the protocol above).
HOOKS = ("on_train_begin", "on_epoch_begin", "on_batch_end", "on_epoch_end", "on_train_end")


class Run:
    """What callbacks see of a training run.

    Attributes
    ----------
    net, optimizer, loss, history
        What trains, how, on which loss, and the run's History.
    epochs : int
        The epochs the run asks for (a resumed run counts the saved ones too).
    batches_per_epoch : int or None
        None for a stream of unknown length.
    rng : numpy.random.Generator or None
        The run's generator (shuffling, the validation split); checkpoints save its state.
    callbacks : list of Callback
        Every callback of the run, in order; each one's ``run`` is this Run.
    validation : tuple or None
        ``(validation_split, rows in all, the validation rows)`` when fit held rows out
        by validation_split (checkpoints save the rows, so a resume holds out the same).
    checkpoint : dict or None
        The entries of the checkpoint this run resumed from (``fit(resume_from=...)``).
    stop_training : bool
        Set by a callback to end training after the current batch.
    """

    def __init__(self, net, optimizer, loss, history, epochs, batches_per_epoch, *, rng=None,
                 callbacks=(), validation=None):
        self.net, self.optimizer, self.loss, self.history = net, optimizer, loss, history
        self.epochs, self.batches_per_epoch = epochs, batches_per_epoch
        self.rng, self.validation, self.checkpoint = rng, validation, None
        self.stop_training = False
        self.callbacks = list(callbacks)
        for callback in self.callbacks:
            callback.run = self

    def state_key(self, callback):
        """The name of ``callback``'s state in a checkpoint: its class and its place among
        the run's callbacks of that class ("EarlyStopping#0"), so that a resumed run finds
        it even when other callbacks were added or removed."""
        same = [cb for cb in self.callbacks if type(cb) is type(callback)]
        place = next((k for k, cb in enumerate(same) if cb is callback), 0)
        return f"{type(callback).__name__}#{place}"

    def saved_state(self, callback):
        """The state ``callback`` had when the checkpoint this run resumed from was written
        (its ``state_dict()``), or None: not resumed, or nothing saved for it."""
        saved = (self.checkpoint or {}).get("callbacks")
        state = saved.get(self.state_key(callback)) if isinstance(saved, dict) else None
        return state if isinstance(state, dict) else None

    @property
    def resumed(self):
        """Whether this run continues a checkpoint rather than starting afresh."""
        return self.checkpoint is not None


class Callback:
    """Base class: every hook does nothing.

    A callback that carries state from epoch to epoch (a best value, a count, a
    file position) returns it from ``state_dict()`` (JSON values and NumPy arrays);
    ``cr.ModelCheckpoint`` saves it, and on resume the callback takes it back in
    ``on_train_begin`` from ``self.run.saved_state(self)``, so that a resumed run
    continues exactly as the uninterrupted one.
    """

    run = None

    def state_dict(self):
        """This callback's state for a checkpoint, or None when it has none."""
        return None

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


def end_after_error(hooks, error):
    """Call each ``on_train_end`` hook with ``{"error": error}`` after training failed.

    The callbacks release what they hold (files, progress bars); logs["error"]
    tells them training did not finish. An error of theirs is dropped: the
    caller re-raises ``error``, the one to report.
    """
    for hook in hooks:
        with contextlib.suppress(Exception):
            hook({"error": error})


def check_callbacks(callbacks):
    """``callbacks`` as a list of Callbacks; None means none. TypeError naming the culprit."""
    if callbacks is None:
        return []
    if isinstance(callbacks, (Callback, str, bytes, dict)) \
            or not hasattr(callbacks, "__iter__"):
        raise TypeError(f"callbacks must be a list of chainrule Callbacks (or None), got "
                        f"{callbacks!r}" + (": put it in a list, callbacks=[...]"
                                            if isinstance(callbacks, Callback) else ""))
    callbacks = list(callbacks)
    for i, cb in enumerate(callbacks):
        if not isinstance(cb, Callback):
            raise TypeError(f"callbacks[{i}] must be a chainrule Callback, got {cb!r}")
    return callbacks


def overrides(callback, hook):
    """True if ``callback`` defines ``hook`` itself rather than inheriting the no-op."""
    own = getattr(callback, hook)
    base = getattr(Callback, hook)
    return getattr(own, "__func__", own) is not base
