"""Sequential networks, and ``mlp()`` to build one from a list of sizes.

A ``Sequential`` owns its layers' parameters and every mode flag, so that the
layers in :mod:`chainrule.nn` stay the textbook equations:

* it moves every parameter into one flat array ``flat_params`` and every
  gradient into one flat array ``flat_grads``, leaving each layer's ``W``,
  ``b``, ``dW``, ``db`` as views into them (see ``buffers.ParameterSlot``). Layers
  compute ``dW = Xᵀ·dZ`` into ``self.dW``; optimizers update the whole
  network with a few whole-array operations;
* it sets training or evaluation mode (``train``, ``eval``, ``evaluating``);
* inside fit (``fitting``) it asks its first layer for no ``dX``: nobody reads
  the gradient of the data, and it is the largest product of the backward pass.
"""
from __future__ import annotations

import copy
import weakref

import numpy as np

from .. import engine, names
from .buffers import OWNER, bind, check_parameter
from .modes import Fitting, Mode, check_thread
from ..nn.activations import Identity, ReLU, Sigmoid, Softmax, Tanh
from ..nn.dropout import Dropout
from ..nn.init import as_generator
from ..nn.layers import Dense, Layer
from ..nn.losses import CrossEntropy
from ..validation import check_X, float_dtype, number


#: predict runs inputs of at most this many rows through the compiled engine's forward_rows
#: (one row of the predict benchmark's network: 19 µs there against 54 µs by NumPy layer by
#: layer, measured side by side; BLAS's matrix products win once there are many rows)
FEW_ROWS = 4


class Sequential:
    """Layers applied one after another: ``A = layers[-1](... layers[0](X))``.

    Parameters
    ----------
    layers : list of Layer
    dtype : numpy dtype, optional
        Cast every parameter to this dtype. By default the layers' own dtype
        is kept (they must agree).
    """

    #: Set when a newer Sequential took over this one's layers (see validation.check_trainable).
    _released = False
    #: The thread running a training loop on this network, if any (see fitting()).
    _fit_thread = None
    #: Inside fit: the first layer's backward is asked for no dX (see fitting()).
    _skip_first_dX = False

    def __init__(self, layers, dtype=None):
        layers = list(layers)
        first = {}
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a chainrule Layer, got {layer!r}")
            if layer.takes_indices and i > 0:  # it returns no dX for the layers before it
                raise ValueError(f"layers[{i}] is {layer!r}, which takes integer indices and "
                                 "has no gradient for its input: it must be the first layer")
            j = first.setdefault(id(layer), i)
            if j != i:  # its cached forward would be overwritten, and a Dense bound twice
                raise ValueError(f"layers[{i}] is the same object as layers[{j}] ({layer!r}): "
                                 "each position needs its own layer instance")
            owner = OWNER.get(layer)
            if owner is not None and owner() is not None:
                # the layer's W and b move into this network's buffer: the other network
                # would go on training arrays nobody reads, so it may no longer train
                owner()._released = True
        if dtype is None:
            dtypes = {layer.dtype for layer in layers if layer.dtype is not None}
            if len(dtypes) > 1:
                raise ValueError(f"the layers' parameters have different dtypes "
                                 f"{sorted(map(str, dtypes))}; pass dtype= to choose one")
            dtype = dtypes.pop() if dtypes else np.float32
        dtype = float_dtype(dtype)
        self.layers = layers
        self.dtype = dtype
        self._check_shapes()
        self._flatten()
        #: Layers whose parameters carry an L1/L2 penalty (set at construction).
        self._penalized = [layer for layer in layers if layer.penalized]

    def _check_shapes(self):
        """Follow the feature count through the layers; record n_in and n_out."""
        self.n_in = self.n_out = None
        for layer in self.layers:
            if self.n_in is None and getattr(layer, "n_in", None) is not None:
                self.n_in = self.n_out = layer.n_in  # Dense, BatchNorm, LayerNorm
            if self.n_out is not None:
                self.n_out = layer.output_features(self.n_out)

    def _flatten(self):
        """Move all parameters and gradients into two flat arrays, binding views."""
        entries = [(layer, name) for layer in self.layers for name in layer.params]
        for layer, name in entries:
            check_parameter(layer, name)
        total = sum(getattr(layer, name).size for layer, name in entries)
        self.flat_params = np.empty(total, self.dtype)
        self.flat_grads = np.zeros(total, self.dtype)
        for layer in self.layers:
            OWNER[layer] = weakref.ref(self)
        offset = 0
        for layer, name in entries:
            shape = getattr(layer, name).shape
            size = int(np.prod(shape))
            bind(layer, name, self.flat_params[offset:offset + size].reshape(shape))
            bind(layer, "d" + name, self.flat_grads[offset:offset + size].reshape(shape))
            offset += size
        for layer in self.layers:  # non-trainable state follows the network's dtype too
            for name in layer.buffers:
                setattr(layer, name, np.asarray(getattr(layer, name)).astype(self.dtype))

    # -- the two passes ------------------------------------------------------

    def forward(self, X):
        """Run every layer's forward pass in order and return the output A."""
        A = X
        for layer in self.layers:
            A = layer.forward(A)
        return A

    def backward(self, dA):
        """Run every layer's backward pass in reverse; return dX = ∂L/∂X
        (None inside fit, which skips it)."""
        for layer in reversed(self.layers[1:]):
            dA = layer.backward(dA)
        if self.layers:
            first = self.layers[0]
            dA = first.backward(dA, need_dX=False) if self._skip_first_dX else first.backward(dA)
        if self._penalized:
            self._add_penalties()
        return dA

    def _add_penalties(self):
        """Add each penalised layer's term to its gradients; return the total penalty."""
        total = 0.0
        for layer in self._penalized:
            layer.inplace_add_penalty_gradients()
            total += layer.penalty()
        return total

    def penalty(self):
        """The L1/L2 penalty terms of every layer, summed (0.0 without any)."""
        return sum(layer.penalty() for layer in self._penalized)

    def fused_with(self, loss):
        """True if the last layer and ``loss`` form a fused pair (softmax+CE, sigmoid+BCE)."""
        return loss.fuses_with is not None and bool(self.layers) \
            and isinstance(self.layers[-1], loss.fuses_with)

    def forward_backward(self, X, Y, loss):
        """One forward and one backward pass: fills every gradient, returns the loss.

        ``Y`` must already be in the loss's form (``loss.prepare``). With a
        fused pair the last activation is skipped in both directions: the loss
        takes the logits Z and starts backpropagation at dZ = (A − Y)/m.
        """
        fused = self.fused_with(loss)
        body = self.layers[:-1] if fused else self.layers
        A = X
        for layer in body:
            A = layer.forward(A)
        kernels = fused and type(loss) is CrossEntropy and A.ndim == 2 and \
            engine.kernels_for(self.n_params, self.dtype)
        if kernels:
            # the compiled twin of the two lines below: one pass over the logits
            A = np.ascontiguousarray(A)
            d = np.empty_like(A)
            value = (kernels.softmax_cross_entropy if Y.ndim == 1 else
                     kernels.softmax_cross_entropy_rows)(A, Y, d)
            loss.__dict__.pop("A", None)     # nothing of an earlier call for backward_logits
            loss.Y = Y
        elif fused:
            value = loss.forward_logits(A, Y)
            d = loss.backward_logits()
        else:
            value = loss.forward(A, Y)
            d = loss.backward()
        for layer in reversed(body[1:]):
            d = layer.backward(d)
        if body:   # the first layer: inside fit, asked for no dX (see fitting())
            body[0].backward(d, need_dX=False) if self._skip_first_dX else body[0].backward(d)
        if self._penalized:
            value += self._add_penalties()
        return value

    def loss_value(self, X, Y, loss):
        """The loss on (X, Y) in evaluation mode, by the fused form where it applies.

        Includes the layers' L1/L2 penalties, if any.
        """
        return self.loss_and_output(X, Y, loss)[0]

    def loss_and_output(self, X, Y, loss):
        """``(loss, A)`` from one forward pass in evaluation mode.

        With a fused pair the loss comes from the logits Z (log-sum-exp) and A
        is the last activation of Z. Penalties are included in the loss.
        """
        with self.evaluating():
            if self.fused_with(loss):
                Z = X
                for layer in self.layers[:-1]:
                    Z = layer.forward(Z)
                value = loss.forward_logits(Z, Y)
                A = self.layers[-1].forward(Z)
            else:
                A = self.forward(X)
                value = loss.forward(A, Y)
        return (value + self.penalty() if self._penalized else value), A

    def trace(self, X, y, loss, optimizer=None):
        """One forward and backward pass, every step recorded; see :func:`chainrule.trace.trace`."""
        from ..explain.trace import trace
        return trace(self, X, y, loss, optimizer=optimizer)

    # -- using a trained network ----------------------------------------------

    def predict(self, X, batch_size=65536):
        """The network's output for X, in evaluation mode.

        X is checked (shape; finite values, also once converted to the network's
        dtype) and converted once; rows are processed ``batch_size`` at a time to
        bound memory. Returns an array of shape (n, n_out) that belongs to the
        caller: no later call, inside fit or not, writes into it.
        """
        batch_size = number("batch_size", batch_size, integer=True, at_least=1)
        X = check_X(X, self.n_in, self.dtype)
        if len(X) <= FEW_ROWS:
            kernels = engine.kernels_for(self.n_params, self.dtype)
            plan = kernels and self._forward_plan(kernels)
            if plan:
                check_thread(self)
                steps, width = plan
                return kernels.forward_rows(np.ascontiguousarray(X), self.flat_params, steps,
                                            width, np.empty((len(X), self.n_out), self.dtype))
        with self.evaluating():
            if len(X) <= batch_size:
                return self.forward(X)
            return np.concatenate([self.forward(X[i:i + batch_size])
                                   for i in range(0, len(X), batch_size)])

    def _forward_plan(self, kernels):
        """The evaluation-mode forward pass as ``(steps, widest layer)`` for
        ``kernels.forward_rows``, or None when a layer is not one of the network's own
        Dense layers or an activation it knows. Dropout is the identity in evaluation
        mode. Worked out once per list of layers.
        """
        layers = tuple(self.layers)
        cached = self.__dict__.get("_plan")
        if cached is not None and cached[0] == layers:
            return cached[1]
        kinds = {Identity: kernels.IDENTITY, Dropout: kernels.IDENTITY, ReLU: kernels.RELU,
                 Sigmoid: kernels.SIGMOID, Tanh: kernels.TANH, Softmax: kernels.SOFTMAX}
        start, itemsize = self.flat_params.__array_interface__["data"][0], self.dtype.itemsize
        at = lambda a, i: a.__array_interface__["data"][0] == start + i * itemsize
        steps, offset, width = [], 0, self.n_in
        plan = None
        if self.n_in and self.n_out:
            for layer in layers:
                if type(layer) is Dense:
                    # W and b must be this network's, at this offset of its flat buffer
                    if not (at(layer.W, offset) and at(layer.b, offset + layer.W.size)):
                        break
                    steps.append((kernels.DENSE, offset, layer.n_in, layer.n_out))
                    width = layer.n_out
                elif type(layer) in kinds:
                    steps.append((kinds[type(layer)], 0, width, width))
                else:
                    break
                offset += sum(getattr(layer, name).size for name in layer.params)
            else:
                if steps:
                    steps = np.array(steps, np.int64).reshape(-1, 4)
                    plan = steps, int(max(self.n_in, *steps[:, 3]))
        self.__dict__["_plan"] = (layers, plan)
        return plan

    def fit(self, X, y=None, **kwargs):
        """Train with mini-batches; see :func:`chainrule.training.fit`."""
        from ..train.loop import fit
        return fit(self, X, y, **kwargs)

    def evaluate(self, X, y, loss=None, metrics=("accuracy",)):
        """Loss and metrics on (X, y); see :func:`chainrule.training.evaluate`."""
        from ..train.loop import evaluate
        return evaluate(self, X, y, loss=loss, metrics=metrics)

    def save(self, path, metadata=None, extra_tensors=None):
        """Write this network to one safetensors file; see :func:`chainrule.io.save`."""
        from ..files.model import save
        save(self, path, metadata=metadata, extra_tensors=extra_tensors)

    # -- modes -----------------------------------------------------------------

    def train(self):
        """Training mode (Dropout drops, BatchNorm uses batch statistics)."""
        for layer in self.layers:
            layer.training = True
        return self

    def eval(self):
        """Evaluation mode: deterministic predictions."""
        for layer in self.layers:
            layer.training = False
        return self

    def evaluating(self):
        """Context manager: evaluation mode inside, the previous mode restored after."""
        return Mode(self, training=False)

    def fitting(self):
        """Context manager for training loops: training mode, no dX for the first layer;
        the network refuses, meanwhile, to run from another thread."""
        return Fitting(self)

    # -- inspection ------------------------------------------------------------

    def parameters(self):
        """``[(name, value, gradient), ...]`` for every parameter, e.g. ``("0.W", W, dW)``."""
        return [(f"{i}.{name}", value, grad)
                for i, layer in enumerate(self.layers)
                for name, value, grad in layer.parameters()]

    @property
    def n_params(self):
        return self.flat_params.size

    def summary(self):
        """A text table: each layer, its output shape and parameter count."""
        rows = [("layer", "output shape", "parameters")]
        width = self.n_in
        for i, layer in enumerate(self.layers):
            width = layer.output_features(width) if width is not None else None
            count = sum(v.size for _, v, _ in layer.parameters())
            rows.append((f"{i}: {layer!r}", f"(n, {width if width is not None else '?'})",
                         f"{count:,}"))
        rows.append(("total", "", f"{self.n_params:,}"))
        widths = [max(len(r[c]) for r in rows) for c in range(3)]
        line = lambda r: f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"
        rule = "-" * len(line(rows[0]))
        return "\n".join([line(rows[0]), rule, *map(line, rows[1:-1]), rule, line(rows[-1])])

    def __getstate__(self):
        # a copy taken during fit (in a callback) is an ordinary network, trained by nobody
        state = self.__dict__.copy()
        for name in ("_fit_thread", "_skip_first_dX", "_plan"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        # pickle stores each layer's W and the flat buffer as separate arrays;
        # rebuild the flat buffers so the layers' arrays are views into them again
        self.__dict__.update(state)
        self._flatten()

    def copy(self, dtype=None):
        """An independent copy (parameters included), optionally cast to ``dtype``."""
        return Sequential(copy.deepcopy(self.layers), dtype=dtype or self.dtype)

    def __repr__(self):
        inner = ",\n".join(f"    {layer!r}" for layer in self.layers)
        return f"Sequential([\n{inner}\n], dtype={self.dtype.name})"

    def __len__(self):
        return len(self.layers)

    def __getitem__(self, i):
        return self.layers[i]


def mlp(sizes, hidden="relu", output="identity", init=None, seed=None, dtype=np.float32):
    """A multilayer perceptron: Dense layers of the given sizes with activations between.

    ``mlp([2, 4, 1], hidden="sigmoid", output="sigmoid")`` is
    ``Sequential([Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid()])``.

    Parameters
    ----------
    sizes : list of int
        Feature counts, input first, output last (at least two).
    hidden, output : str or Layer
        Activation after each hidden Dense layer, and after the last one. Names:
        see :func:`chainrule.names.activations`. A Layer instance is copied for each use.
    init : str or callable, optional
        Initial weights for every Dense layer. By default "he" before a
        ReLU-family activation and "xavier" otherwise.
    seed : int or numpy.random.Generator, optional
        The same seed gives the same weights.
    dtype : numpy dtype, default float32
    """
    sizes = list(sizes)
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, got {sizes}")
    rng = as_generator(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        last = i == len(sizes) - 2
        activation = names.activation(output if last else hidden,
                                      "output" if last else "hidden")
        layer_init = init if init is not None else names.default_init(activation)
        layers.append(Dense(n_in, n_out, init=layer_init, seed=rng, dtype=dtype))
        layers.append(activation)
    return Sequential(layers, dtype=dtype)
