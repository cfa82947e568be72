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


class Layer:
    """Base class of every layer.

    Subclasses list their trainable arrays in ``params`` (e.g. ``("W", "b")``);
    the gradient of parameter ``P`` lives in attribute ``"d" + P``.

    Two pieces of machinery live here so that layers stay short:

    * ``_scratch(key, shape)`` hands out an output array. Inside
      ``Sequential.fit`` it returns the same array for the same key and shape
      on every batch (no allocation in the loop); everywhere else it returns a
      fresh one, so results a caller keeps are never overwritten.
    * Once a network has placed a parameter in its flat buffer, assigning to it
      (``layer.W = new``) copies into that buffer, so optimizers keep seeing
      the array the layer uses (see ``_ParameterSlot``).
    """

    params: tuple = ()
    #: Non-trainable arrays that are part of the model (BatchNorm's running
    #: statistics): saved with it, cast to the network's dtype, never optimised.
    buffers: tuple = ()
    #: True while training (Dropout, BatchNorm behave differently); see Sequential.train/eval.
    training = True
    #: Set by the network: reuse scratch arrays across calls of the same shape.
    _reuse = False
    #: Set by the network on its first layer: skip computing dX nobody reads.
    _needs_dX = True

    # -- machinery -----------------------------------------------------------

    def _scratch(self, key, shape, dtype):
        if not self._reuse:
            return np.empty(shape, dtype)
        try:
            return self._pool[key, shape, dtype]
        except AttributeError:
            self._pool = {}
        except KeyError:
            pass
        buf = self._pool[key, shape, dtype] = np.empty(shape, dtype)
        return buf

    def _filled(self, value, shape, dtype):
        """An array of ``value`` everywhere, reused like a scratch array; callers
        must not write into it (``Dense.backward``'s ones, ``ReLU``'s zeros)."""
        if not self._reuse:
            return np.full(shape, value, dtype)
        pool = self.__dict__.setdefault("_pool", {})
        key = ("filled", value, shape, dtype)
        array = pool.get(key)
        if array is None:
            array = pool[key] = np.full(shape, value, dtype)
        return array

    def _cached(self, name):
        """What forward cached under ``name``, or a clear error if forward has not run."""
        value = self.__dict__.get(name)
        if value is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward was called before forward: "
                "run forward(X) first, it caches what backward needs")
        return value

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in cls.params:
            for attribute in (name, "d" + name):
                if not isinstance(cls.__dict__.get(attribute), _ParameterSlot):
                    setattr(cls, attribute, _ParameterSlot(attribute))

    def __getstate__(self):
        # a copy or an unpickled layer belongs to no network yet, owns no scratch arrays,
        # and has none of fit's flags (a copy taken in a callback is an ordinary layer)
        state = self.__dict__.copy()
        for name in ("_network", "_pool", "_reuse", "_needs_dX"):
            state.pop(name, None)
        return state

    def _bind(self, name, view):
        """Move parameter (or gradient) ``name`` into ``view`` (network use only)."""
        view[...] = self.__dict__[name]
        self.__dict__[name] = view
        self.__dict__.setdefault("_bound", set()).add(name)

    # -- protocol ------------------------------------------------------------

    def forward(self, X):
        raise NotImplementedError

    def backward(self, dA):
        raise NotImplementedError

    def output_features(self, n_in):
        """Number of output features for ``n_in`` input features."""
        return n_in

    # -- penalties (see nn/penalties.py); the network calls these ------------

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


def _product(A, B, out):
    """The matrix product ``A·B``, written into ``out``.

    ``np.dot`` has about half the per-call overhead of ``np.matmul`` (it
    matters for tiny networks, not at sizes where BLAS does the work), but
    takes ``out`` only when the dtypes already agree; ``np.matmul`` casts, so
    it takes the other cases.
    """
    try:
        return np.dot(A, B, out=out)
    except ValueError:
        return np.matmul(A, B, out=out)


class _ParameterSlot:
    """Guards assignment to a parameter or gradient attribute.

    A data descriptor with ``__set__`` but no ``__get__``: reading ``layer.W``
    goes straight to the instance dict at full speed; only assignment runs
    this code. Once the network has bound ``W`` to a view into its flat buffer,
    ``layer.W = new`` copies ``new`` into that view (same shape required).
    """

    def __init__(self, name):
        self.name = name

    def __set__(self, layer, value):
        bound = layer.__dict__.get("_bound")
        if bound and self.name in bound:
            target = layer.__dict__[self.name]
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"{type(layer).__name__}.{self.name} has shape {target.shape}, "
                                 f"cannot assign an array of shape {value.shape}")
            target[...] = value
        else:
            layer.__dict__[self.name] = value


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

    def __init__(self, n_in, n_out, *, init=None, seed=None, dtype=np.float32, l1=0.0, l2=0.0):
        for name, value in (("n_in", n_in), ("n_out", n_out)):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"{name} must be an integer >= 1, got {value!r}")
        self.n_in, self.n_out = int(n_in), int(n_out)
        self.init = "xavier" if init is None else init
        self.l1 = _reg.check_penalty(l1, "l1")
        self.l2 = _reg.check_penalty(l2, "l2")
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"dtype must be a floating-point type, got {dtype}")
        W = _init.initial_weights(self.init, self.n_in, self.n_out, seed)
        self.W = W.astype(dtype)
        self.b = np.zeros(self.n_out, dtype)
        self.dW = np.zeros_like(self.W)
        self.db = np.zeros_like(self.b)
        self.X = None

    def forward(self, X):
        self.X = X
        Z = _product(X, self.W, out=self._scratch("Z", (X.shape[0], self.n_out), self.W.dtype))
        Z += self.b
        return Z

    def backward(self, dZ):
        X = self._cached("X")
        _product(X.T, dZ, out=self.dW)
        _product(self._filled(1, (len(dZ),), dZ.dtype), dZ, out=self.db)  # Σ_rows dZ = 1ᵀ·dZ, by BLAS
        if not self._needs_dX:
            return None
        return _product(dZ, self.W.T, out=self._scratch("dX", X.shape, dZ.dtype))

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
