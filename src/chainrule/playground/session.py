"""One browser tab's playground: its data, its network, its training run; and the store of them.

A ``Session`` trains a real chainrule network (``mlp``, then ``fit``'s own
``Batches`` and ``training.step`` per mini-batch; accuracy by ``metrics``) and describes
itself as plain JSON-ready values for the page to draw: the weights, the loss
curves, and the network's output on a grid (the decision boundary or the
regression fit). ``Sessions`` holds them by id, caps their number and drops
those left idle.
"""
from __future__ import annotations

import math
import threading
import time

import numpy as np

from .. import names
from ..network.sequential import mlp
from ..nn.layers import Dense
from ..nn.losses import MSE, BinaryCrossEntropy, CrossEntropy
from ..train import epochs as training
from ..train.batching import Batches
from ..train.divergence import DivergenceError
from ..train.metrics import accuracy
from . import pictures
from .datasets import DATASETS
from .features import expand
from .pictures import floats
from .schema import RequestError

#: Output activation, loss class for each "output" choice.
_OUTPUTS = {"sigmoid_bce": ("sigmoid", BinaryCrossEntropy),
            "softmax_ce": ("softmax", CrossEntropy),
            "identity_mse": ("identity", MSE)}

#: The loss curves keep at most this many points (older ones thinned by half).
HISTORY_POINTS = 400


def build_network(sizes, config, output, seed):
    """``mlp(sizes, ...)`` with the playground's L1/L2 on every Dense layer and Dropout after
    each hidden activation, whose masks come from a stream of their own."""
    return mlp(sizes, hidden=config["activation"], output=output, seed=seed, dtype=np.float64,
               l1=config["l1"], l2=config["l2"], dropout=config["dropout"],
               dropout_seed=[config["seed"], 4])


class Session:
    """A data set, a network and an optimizer built from a checked config (see ``schema``).

    The seed fixes everything: the data, the train/validation split, the
    initial weights and the order of the mini-batches.
    """

    def __init__(self, config, uploaded=None):
        self.config = config
        #: the tab's own points (``upload.Uploaded``), kept across resets until replaced: the
        #: next configure's, which may be newer than those this run trained on (``data``)
        self.uploaded = uploaded
        #: the data set this run trained on (exports read it, never ``uploaded``)
        self.data = uploaded if config["dataset"] == "upload" else DATASETS[config["dataset"]]
        seed = config["seed"]
        X, y = self.data.make(config["size"], config["noise"], np.random.default_rng([seed, 0]))
        n_val = round(len(X) * config["validation"])
        order = np.random.default_rng([seed, 1]).permutation(len(X))
        # the points as drawn (P: the data's own columns) and as the network sees them (X)
        self.P, self.y = X[order[n_val:]], y[order[n_val:]]
        self.P_val, self.y_val = X[order[:n_val]], y[order[:n_val]]
        self.features = config["features"]
        self.X, self.X_val = expand(self.P, self.features), expand(self.P_val, self.features)

        output, loss_class = _OUTPUTS[config["output"]]
        n_out = self.data.classes if output == "softmax" else 1
        self.sizes = [len(self.features), *config["hidden"], n_out]
        self.net = build_network(self.sizes, config, output, np.random.default_rng([seed, 2]))
        self.loss = loss_class()
        self.optimizer = names.optimizer(config["optimizer"], lr=config["lr"])
        self.Y = self.loss.prepare(self.y, n_out, self.net.dtype)
        self.Y_val = self.loss.prepare(self.y_val, n_out, self.net.dtype)

        self.rng = np.random.default_rng([seed, 3])
        self.batch_size = config["batch_size"]
        # fit's own mini-batches, with the row numbers in place of Y: each batch gives the
        # rows it holds, which the ledger names and whose targets the step takes
        self.batches = Batches(self.X, np.arange(len(self.X)), self.batch_size)
        self._epoch_batches, self._batch = None, 0
        self.step = self.epoch = 0
        self.diverged = self.diverged_at = None
        #: weights set by hand: (step, index in net.layers, i, j, value), in order (the
        #: exported script sets them again at the same steps)
        self.edits = []
        self.ledger = self.trace = None
        self.history = {"step": [], "loss": [], "val_loss": []}
        self.lock = threading.Lock()
        self.last_used = time.monotonic()
        self._record()

    # -- training ----------------------------------------------------------------

    def _next_batch(self):
        """The next mini-batch of ``self.batches`` (a fresh shuffle at each epoch) and where it
        is: ``(X_batch, rows, {"epoch": e, "batch": b})``, rows its row indices (a copy: the
        batches reuse their buffers).

        ``epoch`` counts completed passes over the training rows.
        """
        if self._epoch_batches is None:
            self._epoch_batches, self._batch = iter(self.batches(self.rng, shuffle=True)), 0
        X, rows = next(self._epoch_batches)
        where = {"epoch": self.epoch, "batch": self._batch}
        self._batch += 1
        if self._batch == self.batches.count:
            self.epoch, self._epoch_batches = self.epoch + 1, None
        return X, np.array(rows), where

    def _take(self, update, *args, where):
        """``update(net, optimizer, *args)``, ``training.step`` or ``training.update``; False,
        with the DivergenceError's message kept for the page, when training diverged."""
        try:
            update(self.net, self.optimizer, *args, **where)
        except DivergenceError as error:
            self.diverged, self.diverged_at = str(error), self.step + 1
            return False
        self.step += 1
        return True

    def train(self, steps):
        """Run up to ``steps`` mini-batch updates (fewer if training diverges)."""
        if self.diverged:
            return
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            for _ in range(steps):
                X, rows, where = self._next_batch()
                if not self._take(training.step, X, self.Y[rows], self.loss, where=where):
                    break
        self._record()

    def step_with_ledger(self):
        """One mini-batch update whose chain-rule ledger (``net.trace``) is kept for the page.

        ``net.trace`` runs the same layer calls as ``forward_backward`` and
        leaves the batch's gradients in the network, so the optimizer then
        applies exactly the dW and db the ledger shows.
        """
        if self.diverged:
            return
        from .ledger import ledger_json
        X, rows, where = self._next_batch()
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # with the optimizer, the ledger also records the update it makes and the batch's
            # loss after it (computed on copies: the same rule on the same numbers, so the
            # ledger's new W is the weight the real step below gives)
            trace = self.net.trace(X, self.y[rows], self.loss, optimizer=self.optimizer)
            self._take(training.update, X, trace.loss, where=where)
        # numbered as the step counter shows it once this step is done (1 for the first)
        self.ledger = ledger_json(trace, net=self.net, rows=rows, step=self.step,
                                  optimizer=self.config["optimizer"], lr=self.config["lr"])
        self.trace, self._ledger_rows = trace, rows
        self._record()

    def set_weight(self, k, i, j, value):
        """Set W[i][j] of Dense layer ``k`` by hand, as TensorFlow Playground lets one do; the
        curves gain the loss at the new weight (the same step), the edit is kept for export."""
        self._check_weight(k, i, j)
        index = [n for n, layer in enumerate(self.net.layers) if isinstance(layer, Dense)][k]
        self.net.layers[index].W[i, j] = value
        self.edits.append((self.step, index, i, j, float(value)))
        self._record()

    def _check_weight(self, k, i, j):
        n_dense = len(self.sizes) - 1
        if not 0 <= k < n_dense or not 0 <= i < self.sizes[k] or not 0 <= j < self.sizes[k + 1]:
            raise RequestError("error.no_weight", layer=k, i=i, j=j,
                               shape=[f"{a}×{b}" for a, b in zip(self.sizes[:-1], self.sizes[1:])])

    def connection(self, k, i, j):
        """Weight W[i][j] of Dense layer ``k``'s chain rule over the last Step's batch
        (``ledger.connection``); a RequestError when there is no Step yet or no such weight."""
        from .ledger import connection
        if self.trace is None:
            raise RequestError("error.no_ledger", status=404)
        self._check_weight(k, i, j)
        return connection(self.trace, self.net, self._ledger_rows, self.ledger["step"], k, i, j)

    # -- what the page draws -----------------------------------------------------------

    def _dense(self):
        return [layer for layer in self.net.layers if layer.params]

    def _record(self):
        """Append the losses on all the training and validation data to the curves."""
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            loss = self.net.loss_value(self.X, self.Y, self.loss)
            val_loss = self.net.loss_value(self.X_val, self.Y_val, self.loss)
        history = self.history
        if history["step"] and history["step"][-1] == self.step:
            for key in history:
                history[key].pop()
        history["step"].append(self.step)
        history["loss"].append(loss if math.isfinite(loss) else None)
        history["val_loss"].append(val_loss if math.isfinite(val_loss) else None)
        if len(history["step"]) > HISTORY_POINTS:
            # keep the first point and every other one after it: the curve's shape survives
            for key in history:
                history[key][:] = history[key][:1] + history[key][2::2]

    def _accuracy(self, X, y):
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            return accuracy(self.net.predict(X), y)

    def picture(self):
        """The network's output over the page's frame (``pictures.picture``)."""
        return pictures.picture(self)

    def state(self):
        """Everything the page redraws after a request, as JSON-ready values."""
        last = {key: values[-1] for key, values in self.history.items()}
        metrics = {"loss": last["loss"], "val_loss": last["val_loss"]}
        if self.data.task == "classification":
            metrics["accuracy"] = self._accuracy(self.X, self.y)
            metrics["val_accuracy"] = self._accuracy(self.X_val, self.y_val)
        return {
            "step": self.step, "epoch": self.epoch, "diverged": self.diverged,
            "diverged_at": self.diverged_at,
            "config": self.config, "task": self.data.task, "classes": self.data.classes,
            "metrics": metrics, "history": self.history,
            "network": {"sizes": self.sizes, "activation": self.config["activation"],
                        "output": self.config["output"], "features": self.features,
                        "maps": pictures.unit_maps(self), "centres": pictures.centres(self),
                        "maps_kind": "curve" if self.data.n_features == 1 else "grid",
                        # where each Dense layer sits in net.layers (the ledger's "(layer i)")
                        "dense_layers": [i for i, layer in enumerate(self.net.layers)
                                         if isinstance(layer, Dense)],
                        "layers": [{"W": floats(layer.W, 5), "b": floats(layer.b, 5)}
                                   for layer in self._dense()]},
            "picture": self.picture(),
            "has_ledger": self.ledger is not None,
        }

    def data_json(self):
        """The training and validation points (rounded: they are only drawn)."""
        return {"task": self.data.task, "classes": self.data.classes,
                "train": {"X": floats(self.P, 4), "y": floats(self.y, 4)},
                "val": {"X": floats(self.P_val, 4), "y": floats(self.y_val, 4)}}


class Sessions:
    """The open sessions by id: at most ``capacity``, each dropped after ``idle`` seconds unused.

    When full, a new session takes the place of one that was configured but
    never used since (the oldest such), or else of the one unused the longest,
    provided it has been idle for ``min_idle`` seconds; otherwise it is refused
    (HTTP 503). So a burst of fresh sessions (many tabs opened, or a script)
    replaces its own kind and never locks out a tab that is training.
    ``clock`` is injectable for tests.
    """

    def __init__(self, capacity=16, idle=900.0, min_idle=60.0, clock=time.monotonic):
        self.capacity, self.idle, self.min_idle, self.clock = capacity, idle, min_idle, clock
        self._sessions = {}
        self._lock = threading.Lock()

    def __len__(self):
        return len(self._sessions)

    def __contains__(self, sid):
        return sid in self._sessions

    def _sweep(self, now):
        for sid in [s for s, v in self._sessions.items() if now - v.last_used > self.idle]:
            del self._sessions[sid]

    def put(self, sid, session):
        """Store ``session`` under ``sid``, replacing any session of that id."""
        with self._lock:
            now = self.clock()
            self._sweep(now)
            if sid not in self._sessions and len(self._sessions) >= self.capacity:
                unused = [s for s, v in self._sessions.items() if not v.used]
                oldest = min(unused or self._sessions, key=lambda s: self._sessions[s].last_used)
                if not unused and now - self._sessions[oldest].last_used < self.min_idle:
                    raise RequestError("error.full", status=503, count=self.capacity)
                del self._sessions[oldest]
            session.last_used = now
            session.used = False  # until a request other than configure comes for it
            self._sessions[sid] = session

    def get(self, sid):
        """The session ``sid``, marked as used; 404 if it is unknown or expired."""
        with self._lock:
            now = self.clock()
            self._sweep(now)
            session = self._sessions.get(sid)
            if session is None:
                raise RequestError("error.no_session", status=404, value=sid)
            session.last_used = now
            session.used = True
            return session

    def close(self, sid):
        """Forget ``sid``; True if it existed."""
        with self._lock:
            return self._sessions.pop(sid, None) is not None
