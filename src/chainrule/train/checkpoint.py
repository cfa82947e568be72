"""Checkpoints: everything needed to continue a run exactly, in one safetensors file.

A checkpoint is a model file (:mod:`chainrule.io`, so ``cr.load`` reads it
as a network) that also holds:

* the optimizer's state: step count, and moments as tensors ``optimizer.{name}``;
* the state of fit's random generator (the shuffling) and of any generator a
  layer holds (Dropout's masks), as JSON;
* the learning rate in effect (a schedule may have changed it), and the
  state of the optimizer's schedule if it has one (``schedule.state_dict()``);
* the layers' buffers (BatchNorm's running statistics), as model files do;
* with ``keep_best``, the best monitored value so far, its monitor and mode;
* the epoch just completed and the History so far, as JSON;
* the state of every callback that has one (``Callback.state_dict``: EarlyStopping's
  best and patience count, a CSVLogger's position, ...), JSON and tensors
  ``callback.{Class}#{k}.{name}``, and whether a callback had stopped training;
* with ``validation_split``, the rows it held out (tensor ``fit.validation_rows``),
  so a resume validates on the same rows even when the split was drawn with ``seed=None``.

``fit(..., resume_from=path)`` restores all of it, so a run of 2 epochs
resumed to 4 gives bitwise the weights of an uninterrupted 4-epoch run with
the same seed. Files are written atomically (:func:`chainrule.io.write_atomic`):
whenever the process dies, the file on disk is a complete checkpoint, old or new.
"""
from __future__ import annotations

import contextlib
import glob
import math
import os
import tempfile

import numpy as np

from ..files import model as _io
from ..nn.checks import finite_number
from ..patience import Best, monitor_mode
from ..validation import number
from .callbacks import Callback

_KEY = "checkpoint"
_PREFIX = "optimizer."
_CALLBACK = "callback."
_VALIDATION_ROWS = "fit.validation_rows"


class ModelCheckpoint(Callback):
    """Save a checkpoint at the end of every ``every`` epochs.

    Parameters
    ----------
    path : str or os.PathLike
        The checkpoint file (one file, overwritten each time).
    every : int, default 1
        Save after epochs every, 2·every, ... (counted from 1).
    keep_best : bool, default False
        Save only when ``monitor`` improves on the best value so far, so the
        file holds the best epoch rather than the latest.
    monitor : str, default "val_loss"
        The log entry compared when ``keep_best`` (e.g. "loss", "val_accuracy").
    mode : {"auto", "min", "max"}
        Whether smaller or larger is better; "auto" means larger for names
        ending in accuracy, precision, recall, f1 or r2, smaller otherwise
        (as EarlyStopping).
    min_delta : float, default 0
        With ``keep_best``, how much better than the best so far an epoch must
        be to be saved (as EarlyStopping's).

    Attributes
    ----------
    best : float or None
        The best monitored value of the current run (reset by each new fit; a
        run resumed from a checkpoint saved with the same monitor and mode
        starts from the saved best, so it overwrites the file only for a better
        epoch).
    """

    def __init__(self, path, every=1, keep_best=False, monitor="val_loss", mode="auto",
                 min_delta=0.0):
        self.path = os.fspath(path)
        if os.path.isdir(self.path):
            raise ValueError(f"path must be a file name, {self.path!r} is a folder")
        self.every = number("every", every, integer=True, at_least=1)
        self.keep_best = bool(keep_best)
        self.mode = monitor_mode(monitor, mode)
        self.monitor = monitor
        self.min_delta = number("min_delta", min_delta, at_least=0)
        self._best = Best(self.mode, self.min_delta)

    @property
    def best(self):
        """The best monitored value of this run, None before the first."""
        return self._best.value if self._best.found else None

    @best.setter
    def best(self, value):
        self._best.reset()
        if value is not None:
            self._best.value = float(value)

    def on_train_begin(self, logs):
        self._best.reset()  # a reused callback must not carry a best across unrelated fits
        saved = self.run.checkpoint
        if self.keep_best and saved is not None and saved.get("monitor", self.monitor) == \
                self.monitor and saved.get("mode", self.mode) == self.mode:
            best = saved.get("best")
            if finite_number(best):
                self._best.value = float(best)
        _io.check_saveable(self.run.net)  # fail now, not after the first epoch
        folder = os.path.dirname(os.path.abspath(self.path))
        _check_writable_folder(folder, self.path)
        # A process killed while writing may have left its temporary file behind.
        pattern = os.path.join(glob.escape(folder), f".{glob.escape(os.path.basename(self.path))}.*.tmp")
        for stale in glob.glob(pattern):
            with contextlib.suppress(OSError):
                os.unlink(stale)

    def on_epoch_end(self, epoch, logs):
        if (epoch + 1) % self.every:
            return
        if self.keep_best:
            if self.monitor not in logs:
                raise ValueError(f"ModelCheckpoint monitors {self.monitor!r}, which this run does "
                                 f"not log; available: {', '.join(sorted(logs))}")
            value = float(logs[self.monitor])
            if not math.isfinite(value) or not self._best.update(value, epoch):
                return
        if self.keep_best:
            save_checkpoint(self.path, self.run, epoch, best=self.best, monitor=self.monitor,
                            mode=self.mode)
        else:
            save_checkpoint(self.path, self.run, epoch)


def _check_writable_folder(folder, path):
    """ValueError unless a file can be created in ``folder`` (tried, not guessed from
    permission bits: ACLs, read-only mounts and root all decide otherwise)."""
    if not os.path.isdir(folder):
        raise ValueError(f"ModelCheckpoint path {path!r}: its folder {folder!r} does not exist; "
                         "create it first")
    try:
        # named as the atomic writer's temporaries, so a probe left by a killed process is
        # cleared with them
        with tempfile.NamedTemporaryFile(dir=folder, prefix=f".{os.path.basename(path)}.",
                                         suffix=".tmp"):
            pass
    except OSError as error:
        raise ValueError(f"ModelCheckpoint path {path!r}: cannot write in its folder {folder!r} "
                         f"({error.strerror or error})") from None


def save_checkpoint(path, run, epoch, best=None, monitor=None, mode=None):
    """Write the state of ``run`` (a hooks.Run) after ``epoch`` to ``path``.

    ``best``, ``monitor`` and ``mode`` are ModelCheckpoint's keep_best record.
    """
    optimizer = run.optimizer
    schedule = getattr(optimizer, "schedule", None)
    state = optimizer.state_dict()
    step_count = int(state.pop("t"))
    rng = getattr(run, "rng", None)
    meta = {_KEY: {
        "epoch": int(epoch),
        "history": run.history.history,
        "history_epochs": list(run.history.epoch),
        "optimizer": type(optimizer).__name__,
        "optimizer_t": step_count,
        "lr": getattr(optimizer, "lr", None),
        "rng": rng.bit_generator.state if rng is not None else None,
        "layer_rngs": {str(i): {name: g.bit_generator.state for name, g in _generators(layer)}
                       for i, layer in enumerate(run.net.layers) if _generators(layer)},
        "schedule": None if schedule is None else {"class": type(schedule).__name__,
                                                     "state": schedule.state_dict()},
        "best": best,
        "monitor": monitor,
        "mode": mode,
        "stopped": bool(run.stop_training),
    }}
    extra = {_PREFIX + name: value for name, value in state.items()}
    callbacks = meta[_KEY]["callbacks"] = {}
    for cb in getattr(run, "callbacks", ()):
        cb_state = cb.state_dict()
        if cb_state is None:
            continue
        key = run.state_key(cb)
        callbacks[key] = {k: v for k, v in cb_state.items() if not isinstance(v, np.ndarray)}
        extra.update({f"{_CALLBACK}{key}.{k}": v for k, v in cb_state.items()
                      if isinstance(v, np.ndarray)})
    validation = getattr(run, "validation", None)  # (share, n rows, held-out rows) of validation_split
    if validation is not None:
        share, n, rows = validation
        meta[_KEY]["validation_split"] = {"share": share, "rows": n}
        extra[_VALIDATION_ROWS] = rows.astype(np.int64)
    _io.save(run.net, path, metadata=meta, extra_tensors=extra)


def network_classes(net):
    """The distinct classes of ``net``'s layers, for ``read_checkpoint(layers=...)``."""
    return list(dict.fromkeys(type(layer) for layer in net.layers))


def _generators(layer):
    """``[(attribute, Generator), ...]`` a layer draws from (e.g. Dropout's masks)."""
    return sorted((k, v) for k, v in vars(layer).items() if isinstance(v, np.random.Generator))


def read_checkpoint(path, layers=()):
    """``(net, info, optimizer_state)`` from a checkpoint; ValueError if it is not one.

    ``layers`` are the program's own layer classes the file may use, as for
    :func:`chainrule.io.load`; :func:`chainrule.fit` passes those of the network it
    resumes, so a checkpoint builds no class that network does not already hold.
    """
    net, meta, tensors = _io.load_with_extras(path, layers=layers)
    info = meta.get(_KEY)
    if not isinstance(info, dict):
        raise ValueError(f"{os.fspath(path)} is a model file, not a checkpoint "
                         "(it has no optimizer, epoch or history)")
    where = os.fspath(path)
    for key, kind in (("epoch", int), ("optimizer", str), ("optimizer_t", int),
                      ("history", dict), ("history_epochs", list)):
        if not isinstance(info.get(key), kind) or isinstance(info.get(key), bool):
            raise ValueError(f"{where}: checkpoint entry {key!r} is missing or not "
                             f"{kind.__name__}")
    if info["epoch"] < 0 or info["optimizer_t"] < 0:
        raise ValueError(f"{where}: negative epoch or step count in the checkpoint")
    if not all(isinstance(v, list) for v in info["history"].values()):
        raise ValueError(f"{where}: checkpoint entry 'history' must map each logged name to "
                         "a list of values")
    state = {"t": info["optimizer_t"]}
    state.update({k[len(_PREFIX):]: v for k, v in tensors.items() if k.startswith(_PREFIX)})
    callbacks = info.setdefault("callbacks", {})
    if not isinstance(callbacks, dict) or not all(isinstance(v, dict) for v in callbacks.values()):
        raise ValueError(f"{where}: checkpoint entry 'callbacks' is not a mapping of mappings")
    for name, value in tensors.items():  # callback.{key}.{field}: arrays back into their state
        if name.startswith(_CALLBACK):
            key, _, field = name[len(_CALLBACK):].partition(".")
            callbacks.setdefault(key, {})[field] = value
    if _VALIDATION_ROWS in tensors:
        info["validation_rows"] = tensors[_VALIDATION_ROWS]
    return net, info, state


def check_validation_rows(info, share, n, where):
    """The validation rows a checkpoint holds for ``validation_split=share`` of ``n`` rows,
    or None if it holds none (written before they were saved); ValueError if they do
    not belong to this split of this data."""
    rows = info.get("validation_rows")
    if rows is None:
        return None
    saved = info.get("validation_split")
    if not isinstance(saved, dict) or saved.get("share") != share or saved.get("rows") != n:
        got = f"{saved.get('share')!r} of {saved.get('rows')!r} rows" if isinstance(saved, dict) else "?"
        raise ValueError(f"{where} was saved with validation_split={got}; resume it with the "
                         f"same split of the same data, got validation_split={share!r} of {n} rows")
    if rows.ndim != 1 or rows.dtype.kind not in "iu" or (len(rows) and (
            rows.min() < 0 or rows.max() >= n or np.any(np.diff(rows) <= 0))):
        raise ValueError(f"{where}: checkpoint tensor {_VALIDATION_ROWS!r} is not a sorted list of "
                         f"distinct row numbers below {n}")
    return rows.astype(np.intp)


def restore(path, run, checkpoint=None):
    """Load a checkpoint into a starting run (a :class:`~chainrule.train.hooks.Run`);
    return the epoch to start from.

    The network must have the architecture and dtype saved in the file, and the
    optimizer the same class; its learning rate becomes the saved one (a
    schedule may have lowered it). The History is continued from the saved one,
    the run's generator takes the saved state, and ``run.checkpoint`` holds the
    file's entries (callbacks take their own state back from them).
    ``checkpoint`` is ``read_checkpoint(path)`` when the caller has read it already.
    """
    net, optimizer, rng, history = run.net, run.optimizer, run.rng, run.history
    saved, info, state = (checkpoint if checkpoint is not None else
                          read_checkpoint(path, layers=network_classes(net)))
    where = os.fspath(path)
    if _architecture(net) != _architecture(saved) or saved.dtype != net.dtype:
        raise ValueError(f"{where} holds a different network: {saved!r}; this one is {net!r}")
    if info["optimizer"] != type(optimizer).__name__:
        raise ValueError(f"{where} was saved with a {info['optimizer']} optimizer; resume it "
                         f"with the same kind, not {type(optimizer).__name__}")
    for name, value in state.items():
        if name != "t" and (value.shape != net.flat_params.shape or value.dtype != net.dtype):
            raise ValueError(f"{where}: optimizer state {name!r} has shape {value.shape} and "
                             f"dtype {value.dtype}, expected {net.flat_params.shape} {net.dtype}")
    generators = [(rng, info.get("rng"), "fit's")]
    layer_rngs = info.get("layer_rngs") or {}
    if not isinstance(layer_rngs, dict):
        raise ValueError(f"{where}: checkpoint entry 'layer_rngs' is not a mapping")
    for i, layer in enumerate(net.layers):
        saved_states = layer_rngs.get(str(i)) or {}
        for name, generator in _generators(layer):
            if name in saved_states:
                generators.append((generator, saved_states[name], f"layer {i}'s {name}"))
    for generator, saved_state, which in generators:
        if saved_state is None:
            continue
        try:
            generator.bit_generator.state = saved_state
        except (TypeError, ValueError, KeyError, OverflowError) as error:
            raise ValueError(f"{where}: the saved state of {which} random generator does not "
                             f"fit its {type(generator.bit_generator).__name__}: {error}") from None
    schedule = getattr(optimizer, "schedule", None)
    saved_schedule = info.get("schedule")
    if saved_schedule is not None:
        if not isinstance(saved_schedule, dict) or not isinstance(saved_schedule.get("state"), dict):
            raise ValueError(f"{where}: checkpoint entry 'schedule' is not a mapping with a 'state'")
        if schedule is None or type(schedule).__name__ != saved_schedule.get("class"):
            got = "no schedule" if schedule is None else type(schedule).__name__
            raise ValueError(f"{where} was saved with a {saved_schedule.get('class')} schedule as "
                             f"the optimizer's lr; resume it with the same kind, got {got}")
    elif "schedule" in info and schedule is not None:
        raise ValueError(f"{where} was saved with a constant learning rate; resume it with one "
                         f"too, not a {type(schedule).__name__} schedule")
    lr = info.get("lr")
    if finite_number(lr) and lr > 0 \
            and hasattr(optimizer, "lr"):
        optimizer.lr = float(lr)
    if saved_schedule is not None:
        schedule.load_state_dict(saved_schedule["state"])
    np.copyto(net.flat_params, saved.flat_params)
    for layer, saved_layer in zip(net.layers, saved.layers):
        for name in getattr(layer, "buffers", ()):  # in place: they may be views into the network's buffers
            np.copyto(getattr(layer, name), getattr(saved_layer, name))
    optimizer.load_state_dict(state)
    history.history = {k: list(v) for k, v in info["history"].items()}
    history.epoch = list(info["history_epochs"])
    run.checkpoint = info
    return info["epoch"] + 1



def _architecture(net):
    """What must match to resume: each layer's class, config and parameter/buffer shapes.

    A Dense layer's ``init`` is left out: it only drew the starting weights, which
    the checkpoint replaces (and a custom callable is saved as the default name).
    """
    return [(type(layer).__name__, {k: v for k, v in layer.config().items() if k != "init"},
             [(name, getattr(layer, name).shape)
              for name in (*getattr(layer, "params", ()), *getattr(layer, "buffers", ()))])
            for layer in net.layers]
