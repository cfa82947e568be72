"""Sequential networks, and ``mlp()`` to build one from a list of sizes.

A ``Sequential`` owns its layers' parameters: it moves every parameter into
one flat array ``flat_params`` and every gradient into one flat array
``flat_grads``, leaving each layer's ``W``, ``b``, ``dW``, ``db`` as views
into them. Layers keep computing ``dW = Xᵀ·dZ`` into ``self.dW`` as before;
optimizers update the whole network with a few whole-array operations.
"""
from __future__ import annotations

import copy

import numpy as np

from . import names
from .layers import Dense, Layer
from .validation import check_X


class Sequential:
    """Layers applied one after another: ``A = layers[-1](... layers[0](X))``.

    Parameters
    ----------
    layers : list of Layer
    dtype : numpy dtype, optional
        Cast every parameter to this dtype. By default the layers' own dtype
        is kept (they must agree).
    """

    def __init__(self, layers, dtype=None):
        layers = list(layers)
        for i, layer in enumerate(layers):
            if not isinstance(layer, Layer):
                raise TypeError(f"layers[{i}] must be a chainrule Layer, got {layer!r}")
        if dtype is None:
            dtypes = {layer.dtype for layer in layers if layer.dtype is not None}
            if len(dtypes) > 1:
                raise ValueError(f"the layers' parameters have different dtypes "
                                 f"{sorted(map(str, dtypes))}; pass dtype= to choose one")
            dtype = dtypes.pop() if dtypes else np.float32
        dtype = np.dtype(dtype)
        if dtype.kind != "f":
            raise TypeError(f"dtype must be a floating-point type, got {dtype}")
        self.layers = layers
        self.dtype = dtype
        self._check_shapes()
        self._flatten()

    def _check_shapes(self):
        """Follow the feature count through the layers; record n_in and n_out."""
        self.n_in = self.n_out = None
        for layer in self.layers:
            if self.n_in is None and isinstance(layer, Dense):
                self.n_in = self.n_out = layer.n_in
            if self.n_out is not None:
                self.n_out = layer.output_features(self.n_out)

    def _flatten(self):
        """Move all parameters and gradients into two flat arrays, binding views."""
        entries = [(layer, name) for layer in self.layers for name in layer.params]
        total = sum(getattr(layer, name).size for layer, name in entries)
        self.flat_params = np.empty(total, self.dtype)
        self.flat_grads = np.zeros(total, self.dtype)
        offset = 0
        for layer, name in entries:
            shape = getattr(layer, name).shape
            size = int(np.prod(shape))
            layer._bind(name, self.flat_params[offset:offset + size].reshape(shape))
            layer._bind("d" + name, self.flat_grads[offset:offset + size].reshape(shape))
            offset += size

    # -- the two passes ------------------------------------------------------

    def forward(self, X):
        """Run every layer's forward pass in order and return the output A."""
        A = X
        for layer in self.layers:
            A = layer.forward(A)
        return A

    def backward(self, dA):
        """Run every layer's backward pass in reverse; return dX = ∂L/∂X."""
        for layer in reversed(self.layers):
            dA = layer.backward(dA)
        return dA

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
        body = self.layers[:-1] if self.fused_with(loss) else self.layers
        A = X
        for layer in body:
            A = layer.forward(A)
        if body is self.layers:
            value = loss.forward(A, Y)
            d = loss.backward()
        else:
            value = loss.forward_logits(A, Y)
            d = loss.backward_logits()
        for layer in reversed(body):
            d = layer.backward(d)
        return value

    def loss_value(self, X, Y, loss):
        """The loss on (X, Y) in evaluation mode, by the fused form where it applies."""
        with self.evaluating():
            if self.fused_with(loss):
                A = X
                for layer in self.layers[:-1]:
                    A = layer.forward(A)
                return loss.forward_logits(A, Y)
            return loss.forward(self.forward(X), Y)

    def trace(self, X, y, loss):
        """One forward and backward pass, every step recorded; see :func:`chainrule.trace.trace`."""
        from .trace import trace
        return trace(self, X, y, loss)

    # -- using a trained network ----------------------------------------------

    def predict(self, X, batch_size=65536):
        """The network's output for X, in evaluation mode.

        X is checked (shape, finite values) and converted to the network's
        dtype once; rows are processed ``batch_size`` at a time to bound memory.
        Returns an array of shape (n, n_out).
        """
        X = check_X(X, self.n_in, self.dtype)
        with self.evaluating():
            if len(X) <= batch_size:
                return self.forward(X)
            return np.concatenate([self.forward(X[i:i + batch_size])
                                   for i in range(0, len(X), batch_size)])

    def fit(self, X, y=None, **kwargs):
        """Train with mini-batches; see :func:`chainrule.training.fit`."""
        from .training import fit
        return fit(self, X, y, **kwargs)

    def evaluate(self, X, y, loss=None, metrics=("accuracy",)):
        """Loss and metrics on (X, y); see :func:`chainrule.training.evaluate`."""
        from .training import evaluate
        return evaluate(self, X, y, loss=loss, metrics=metrics)

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
        return _Mode(self, training=False)

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


class _Mode:
    def __init__(self, net, training):
        self.net, self.training = net, training

    def __enter__(self):
        self.changed = [layer for layer in self.net.layers if layer.training != self.training]
        for layer in self.changed:
            layer.training = self.training
        return self.net

    def __exit__(self, *exc):
        for layer in self.changed:
            layer.training = not self.training


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
        see ``chainrule.names.ACTIVATIONS``. A Layer instance is copied for each use.
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
    from .init import as_generator
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
