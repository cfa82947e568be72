"""The layer protocol; Dense, the weighted sum ``Z = X·W + b``; Embedding, a lookup ``A = W[X]``.

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
    * ``can_skip_dX``: ``backward`` takes ``need_dX`` and, given False, returns
      None instead of dX; the network asks so of its first layer, whose dX
      nothing reads (Dense skips the product dZ·Wᵀ).

    Save and load find a layer class by its name: a layer defined by a user
    round-trips through a model file when the loading program names it
    (``cr.load(path, layers=[MyLayer])``); a file chooses no class of its own.
    """

    params: tuple = ()
    buffers: tuple = ()
    equations: dict = {}
    output_range = None
    #: Rows that sum to 1 (class probabilities): what CrossEntropy needs (Softmax).
    probabilities = False
    init_before = "xavier"
    can_skip_dX = False
    #: True while training (Dropout, BatchNorm behave differently); see Sequential.train/eval.
    training = True
    #: Its input is integer indices, not numbers (Embedding): it has no dX, so it comes first.
    takes_indices = False
    #: The config entries whose product is the count of weights construction draws (a model
    #: file's sizes are checked against it before anything is allocated); None: every size.
    drawn_from = None

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
    can_skip_dX = True
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


class Embedding(Layer):
    r"""A lookup table: each integer index (a category) picks one row of W.

    Forward, for X of integer indices in [0, n_categories)::

        A_i = W[X_i1] ⊕ W[X_i2] ⊕ … ⊕ W[X_i,n_in]     X (n, n_in), W (n_categories, n_out)
                                                     -> A (n, n_in·n_out)

    (⊕ joins rows side by side; with one column, ``A = W[X]``, which is
    ``onehot(X)·W`` without building the one-hot matrix.) Every column uses
    the same table, as torch ``nn.Embedding`` on an (n, n_in) input.

    Backward, given dA = ∂L/∂A of shape (n, n_in·n_out), read as n·n_in rows
    of width n_out: each row of dA flows back to the row of W it was read from,
    and rows read several times add up (a scatter-add)::

        dW_c = Σ_{(i, j): X_ij = c} dA_ij            (n_categories, n_out)

    There is no dX: an index is not a number that could move a little, so
    backward returns None, and an Embedding must be a network's first layer
    (``takes_indices``). Caches the indices.

    X may be any array of whole numbers (a float array from a table, too);
    an index outside [0, n_categories) is a ValueError, not NumPy's silent
    wrap-around of negative indices.

    Parameters
    ----------
    n_categories, n_out : int
        Rows of the table (distinct indices) and the width of each row.
    n_in : int, default 1
        Index columns per sample.
    seed : int or numpy.random.Generator, optional
        Source of the initial W, drawn from N(0, 1) as torch's ``nn.Embedding``.
    dtype : numpy dtype, default float32
    """

    params = ("W",)
    equations = {"forward": "A = W[X]",
                 "backward": "dW_c = Σ_{i: X_i = c} dA_i  (no dX: X holds indices)"}
    output_range = (-np.inf, np.inf)
    takes_indices = True

    def __init__(self, n_categories, n_out, *, n_in=1, seed=None, dtype=np.float32):
        self.n_categories = number("n_categories", n_categories, integer=True, at_least=1)
        self.n_out = number("n_out", n_out, integer=True, at_least=1)
        self.n_in = number("n_in", n_in, integer=True, at_least=1)
        dtype = float_dtype(dtype)
        self.W = _init.initial_weights("normal", self.n_categories, self.n_out, seed).astype(dtype)
        self.dW = np.zeros_like(self.W)
        self.index = None

    def _indices(self, X):
        """X as an (n, n_in) array of intp, or ValueError for a value that is no index."""
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"Embedding expects indices of shape (n, {self.n_in}), got {X.shape}")
        return _indices(X, self.n_categories)

    def forward(self, X):
        self.index = self._indices(X)
        return self.W[self.index].reshape(len(X), -1)  # A = W[X], columns side by side

    def backward(self, dA, need_dX=True):
        """Sets dW by a scatter-add; returns None (no gradient for indices)."""
        index = self._cached("index")
        self.dW.fill(0)
        np.add.at(self.dW, index.ravel(), dA.reshape(-1, self.n_out))  # dW_c = Σ_{X_i = c} dA_i
        return None

    def output_features(self, n_in):
        if n_in != self.n_in:
            raise ValueError(f"Embedding(n_in={self.n_in}) takes {self.n_in} index column(s), "
                             f"got {n_in}")
        return self.n_in * self.n_out

    def config(self):
        config = {"n_categories": self.n_categories, "n_out": self.n_out}
        if self.n_in != 1:
            config["n_in"] = self.n_in
        return config


def _indices(X, sizes):
    """X (n, c) as intp, or ValueError for an entry of column j that is not a whole number
    in [0, sizes_j) (``sizes`` an int for every column, or one per column)."""
    bad = ~((X >= 0) & (X < sizes))  # noqa: SIM300  (NaN is bad too)
    if X.dtype.kind == "f":
        bad |= np.floor(X) != X
    if bad.any():
        at = tuple(int(i) for i in np.argwhere(bad)[0])
        top = (sizes if np.ndim(sizes) == 0 else sizes[at[1]]) - 1
        raise ValueError(f"Embedding indices must be whole numbers in [0, {top}], "
                         f"found {X[at].item()!r} at {at}")
    return X.astype(np.intp)


class CategoryEmbedding(Layer):
    r"""Numbers and categories in, one row of numbers out: the numeric columns pass
    through, and each category column is looked up in a table of its own.

    X holds ``n_numeric`` numeric columns, then one column of integer indices per
    category column, column j's in [0, k_j) with k = ``n_categories``. Forward::

        A = X_num ⊕ W[X_1 + o_1] ⊕ … ⊕ W[X_c + o_c]      X (n, n_numeric + c)
                                                        -> A (n, n_numeric + c·n_out)

    The c tables are stacked in one W of shape (Σ_j k_j, n_out): column j's rows
    start at o_j = k_1 + … + k_(j−1). (⊕ joins side by side.) Backward, given dA
    of shape (n, n_numeric + c·n_out), its category part read as rows of width n_out::

        dW_r = Σ_{(i, j): X_ij + o_j = r} dA_ij           (Embedding's scatter-add)

    There is no dX for the indices, so there is none for X as a whole: backward
    returns None and the layer must come first (``takes_indices``), where the
    numeric columns' part of dA, their dX, is read by nobody. A tabular
    network then reads a row's numbers and learned vectors for its categories,
    instead of one 0/1 column per category. Caches the table rows read.

    Parameters
    ----------
    n_numeric : int
        Numeric columns first in X (0 for none).
    n_categories : sequence of int
        Categories of each index column (at least one column).
    n_out : int
        Width of each category's vector.
    seed : int or numpy.random.Generator, optional
        Source of the initial W, N(0, 1) as torch's ``nn.Embedding``.
    dtype : numpy dtype, default float32
    """

    params = ("W",)
    equations = {"forward": "A = X_num ⊕ W[X_1 + o_1] ⊕ … ⊕ W[X_c + o_c]",
                 "backward": "dW_r = Σ_{(i, j): X_ij + o_j = r} dA_ij  (no dX: X holds indices)"}
    output_range = (-np.inf, np.inf)
    takes_indices = True
    drawn_from = ("n_categories", "n_out")    # W is (Σ_j k_j, n_out); n_numeric draws nothing

    def __init__(self, n_numeric, n_categories, n_out, *, seed=None, dtype=np.float32):
        self.n_numeric = number("n_numeric", n_numeric, integer=True, at_least=0)
        if isinstance(n_categories, (str, bytes)) or not hasattr(n_categories, "__len__") \
                or len(n_categories) == 0:
            raise TypeError(f"n_categories must list the categories of each index column, "
                            f"got {n_categories!r}")
        self.n_categories = [number(f"n_categories[{j}]", k, integer=True, at_least=1)
                             for j, k in enumerate(n_categories)]
        self.n_out = number("n_out", n_out, integer=True, at_least=1)
        self.n_in = self.n_numeric + len(self.n_categories)
        self.offsets = np.cumsum([0, *self.n_categories[:-1]]).astype(np.intp)
        rows = sum(self.n_categories)
        self.W = _init.initial_weights("normal", rows, self.n_out, seed).astype(float_dtype(dtype))
        self.dW = np.zeros_like(self.W)
        self.rows = None

    def forward(self, X):
        X = np.asarray(X)
        if X.ndim != 2 or X.shape[1] != self.n_in:
            raise ValueError(f"CategoryEmbedding expects X of shape (n, {self.n_in}): "
                             f"{self.n_numeric} numeric and {len(self.n_categories)} index "
                             f"columns, got {X.shape}")
        index = _indices(X[:, self.n_numeric:], np.array(self.n_categories))
        self.rows = index + self.offsets                      # row of W for each entry
        looked_up = self.W[self.rows].reshape(len(X), -1)
        return np.hstack([X[:, :self.n_numeric].astype(self.W.dtype, copy=False), looked_up])

    def backward(self, dA, need_dX=True):
        """Sets dW by a scatter-add; returns None (no gradient for indices)."""
        rows = self._cached("rows")
        self.dW.fill(0)
        np.add.at(self.dW, rows.ravel(), dA[:, self.n_numeric:].reshape(-1, self.n_out))
        return None

    def output_features(self, n_in):
        if n_in != self.n_in:
            raise ValueError(f"CategoryEmbedding takes {self.n_in} columns, got {n_in}")
        return self.n_numeric + len(self.n_categories) * self.n_out

    def config(self):
        return {"n_numeric": self.n_numeric, "n_categories": list(self.n_categories),
                "n_out": self.n_out}
