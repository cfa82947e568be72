"""The layer protocol, and Dense: the weighted sum ``Z = X·W + b``.

Glossary (used throughout chainrule)
------------------------------------
``X``   a layer's input, shape ``(n, n_in)``: one row per sample.
``Z``   a weighted sum ``X·W + b``; ``A`` an activation ``g(Z)``.
``W``, ``b``  weights ``(n_in, n_out)`` and biases ``(n_out,)``.
``dA``  ∂L/∂A, the gradient of the loss L with respect to a layer's output,
        same shape as that output. Likewise ``dZ`` = ∂L/∂Z, ``dW`` = ∂L/∂W,
        ``db`` = ∂L/∂b and ``dX`` = ∂L/∂X.
``n``   rows (samples); ``n_in``/``n_out`` features in and out; ``k`` classes.

The protocol
------------
``forward(X) -> A`` computes the output and caches what ``backward`` needs.
``backward(dA) -> dX`` applies the chain rule: it returns the gradient with
respect to the input and stores the gradient of each parameter ``P`` as
``dP``. It never writes into ``dA``. Calling it before ``forward`` raises.
"""
from __future__ import annotations

import numpy as np

from . import init as _init
from . import penalties as _reg
from .checks import float_dtype, number


class Layer:
    """Base class of every layer.

    A layer is one class: ``forward``, ``backward``, and a few class
    attributes that the rest of chainrule reads, so nothing needs registering:

    * ``params``: its trainable arrays (e.g. ``("W", "b")``); the gradient of
      parameter ``P`` lives in attribute ``"d" + P``.
    * ``buffers``: non-trainable arrays that are part of the model (BatchNorm's
      running statistics): saved with it, cast to the network's dtype, never optimised.
    * ``equations``: ``{"forward": "A = …", "backward": "dZ = …"}``, shown by
      the ledger (``net.trace``); a layer with a penalty of its own may add
      ``"penalty": "dP += …"``.
    * ``output_range``: ``(low, high)`` of what forward can return, or None when
      unknown; the output/loss check reads it (BinaryCrossEntropy needs [0, 1]).
    * ``init_before``: the initial weights ``mlp()`` gives a Dense layer
      followed by this one ("he" before the ReLU family).

    Save and load find a layer class by its name, so a layer defined by a user
    round-trips through a model file (with the class defined where it loads).
    """

    params: tuple = ()
    buffers: tuple = ()
    equations: dict = {}
    output_range = None
    #: Rows that sum to 1 (class probabilities): what CrossEntropy needs (Softmax).
    probabilities = False
    init_before = "xavier"
    #: True while training (Dropout, BatchNorm behave differently); see Sequential.train/eval.
    training = True

    def _cached(self, name):
        """What forward cached under ``name``, or a clear error if forward has not run."""
        value = self.__dict__.get(name)
        if value is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward: "
                "run forward(X) first, it caches what backward needs")
        return value

    # -- protocol ------------------------------------------------------------

    def forward(self, X):
        raise NotImplementedError

    def backward(self, dA):
        raise NotImplementedError

    def output_features(self, n_in):
        """Number of output features for ``n_in`` input features."""
        return n_in

    # -- penalties (see penalties.py); the network calls these ------------------

    @property
    def penalized(self):
        """True if this layer adds a penalty to the loss."""
        return False

    def penalty(self):
        """This layer's term of the loss, e.g. ``l2·Σ W²``."""
        return 0.0

    def inplace_add_penalty_gradients(self):
        """Add ∂penalty/∂P to each parameter gradient ``dP`` (after backward)."""

    @property
    def dtype(self):
        """The dtype of this layer's parameters, or None if it has none."""
        return getattr(self, self.params[0]).dtype if self.params else None

    def parameters(self):
        """List of ``(name, array, gradient)`` triples, in a fixed order."""
        return [(p, getattr(self, p), getattr(self, "d" + p)) for p in self.params]

    def config(self):
        """Constructor arguments that rebuild this layer (used by save/load and repr)."""
        return {}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items())
        return f"{type(self).__name__}({args})"


class Dense(Layer):
    r"""Fully connected layer: a weighted sum of the inputs plus a bias.

    Forward::

        Z = X·W + b                 X (n, n_in), W (n_in, n_out), b (n_out,) -> Z (n, n_out)

    Backward, given dZ = ∂L/∂Z of shape (n, n_out)::

        dW = Xᵀ·dZ                  (n_in, n_out)
        db = Σ_rows dZ              (n_out,)
        dX = dZ·Wᵀ                  (n, n_in)

    Caches ``X``. ``dW`` and ``db`` are overwritten by each backward call.

    With ``l1``/``l2`` the loss gains ``l1·Σ|W| + l2·Σ W²`` and dW gains
    ``l1·sign(W) + 2·l2·W``; the network adds both after backward (see
    :mod:`chainrule.nn.penalties`), so backward above stays as written.

    Parameters
    ----------
    n_in, n_out : int
        Input and output features.
    init : str or callable, optional
        "normal", "uniform", "xavier" (default), "he", or ``f(n_in, n_out, rng) -> W``.
    seed : int or numpy.random.Generator, optional
        Source of the initial weights; the same seed gives the same weights.
    dtype : numpy dtype, default float32
    l1, l2 : float, default 0
        Strengths of the L1 and L2 penalties on W (b is not penalised).
    """

    params = ("W", "b")
    equations = {"forward": "Z = X·W + b", "backward": "dW = Xᵀ·dZ;  db = Σ_rows dZ;  dX = dZ·Wᵀ"}
    output_range = (-np.inf, np.inf)

    def __init__(self, n_in, n_out, *, init=None, seed=None, dtype=np.float32, l1=0.0, l2=0.0):
        self.n_in = number("n_in", n_in, integer=True, at_least=1)
        self.n_out = number("n_out", n_out, integer=True, at_least=1)
        self.init = "xavier" if init is None else init
        self.l1 = number("l1", l1, at_least=0)
        self.l2 = number("l2", l2, at_least=0)
        dtype = float_dtype(dtype)
        W = _init.initial_weights(self.init, self.n_in, self.n_out, seed)
        self.W = W.astype(dtype)
        self.b = np.zeros(self.n_out, dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.X = None

    def forward(self, X):
        self.X = X
        return np.dot(X, self.W) + self.b              # Z = X·W + b

    def backward(self, dZ, need_dX=True):
        """``need_dX=False`` skips dX: the network asks so of its first layer, whose
        input is the data (nobody reads ∂L/∂X there, and it is the largest product)."""
        X = self._cached("X")
        np.matmul(X.T, dZ, out=self.dW)                # dW = Xᵀ·dZ
        dZ.sum(axis=0, out=self.db)                    # db = Σ_rows dZ
        return np.dot(dZ, self.W.T) if need_dX else None  # dX = dZ·Wᵀ

    def output_features(self, n_in):
        if n_in != self.n_in:
            raise ValueError(f"Dense({self.n_in}, {self.n_out}) expects {self.n_in} input "
                             f"features, but the layer before it gives {n_in}")
        return self.n_out

    @property
    def penalized(self):
        return bool(self.l1 or self.l2)

    def penalty(self):
        return _reg.penalty(self.W, self.l1, self.l2)

    def inplace_add_penalty_gradients(self):
        _reg.inplace_add_penalty_gradient(self.dW, self.W, self.l1, self.l2)

    def config(self):
        init = self.init if isinstance(self.init, str) else "custom"
        config = {"n_in": self.n_in, "n_out": self.n_out, "init": init}
        if self.l1:
            config["l1"] = self.l1
        if self.l2:
            config["l2"] = self.l2
        return config
