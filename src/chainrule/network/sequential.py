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
from ..nn.activations import Identity, ReLU, Sigmoid, Softmax, Tanh
from ..nn.dropout import Dropout
from ..nn.init import as_generator
from ..nn.layers import Dense, Layer
from ..nn.losses import CrossEntropy
from ..validation import at_least_as_wide, check_X, float_dtype, number
from .buffers import OWNER, bind, check_parameter
from .modes import Fitting, Mode, holds, owner_of, taking_over

#: predict runs inputs of at most this many rows through the compiled engine's forward_rows
#: (one row of the predict benchmark's network: 19 µs there against 54 µs by NumPy layer by
#: layer, measured side by side; BLAS's matrix products win once there are many rows)
FEW_ROWS = 4


class Sequential:
    """Layers applied one after another: ``A = layers[-1](... layers[0](X))``.

    Parameters
    ----------
    layers : list of Layer
        Any objects of Layer subclasses, each once; they are told apart by
        identity, so a class may define ``__eq__`` (a ``@dataclass`` layer).
    dtype : numpy dtype, optional
        Cast every parameter to this dtype. By default the layers' own dtype
        is kept (they must agree).

    Notes
    -----
    Threads: a network runs one call at a time (see :mod:`chainrule.modes`).
    ``fit`` holds it for its whole run and refuses to start while another
    thread is using it; ``predict``, ``evaluate``, ``forward``, ``trace`` and
    the other short calls hold it for one call each, take turns with the
    short calls of other threads, and refuse to run during another thread's
    fit. Each refusal is a RuntimeError naming both calls. The thread that
    runs fit may call anything meanwhile (callbacks predicting on validation
    data).
    """

    #: Set when a newer Sequential took over this one's layers (see validation.check_trainable).
    _released = False
    #: Inside fit: the first layer's backward is asked for no dX (see fitting()).
    _skip_first_dX = False
    #: Inside fit: the step's plans, by loss (see network.fused); None outside fit.
    _plans = None

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
        with taking_over(layers):
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
        offset, starts = 0, {}
        for layer, name in entries:
            shape = getattr(layer, name).shape
            size = int(np.prod(shape))
            bind(layer, name, self.flat_params[offset:offset + size].reshape(shape))
            bind(layer, "d" + name, self.flat_grads[offset:offset + size].reshape(shape))
            starts.setdefault(id(layer), offset)
            offset += size
        self._slices = tuple((i, slice(starts[id(layer)], starts[id(layer)] + sum(
            getattr(layer, name).size for name in layer.params)))
            for i, layer in enumerate(self.layers) if layer.params)
        for layer in self.layers:  # non-trainable state follows the network's dtype too
            for name in layer.buffers:
                setattr(layer, name, np.asarray(getattr(layer, name)).astype(self.dtype))

    # -- the two passes ------------------------------------------------------

    @holds("forward")
    def forward(self, X, record=None):
        """Run every layer's forward pass in order and return the output A.

        Each layer caches what its backward reads, so the call holds the network
        (see the class's Notes); a forward and a backward made as two calls keep
        another thread out between them inside ``with net.fitting():``.
        ``record.on_forward(i, layer, X, A)``, if given, sees each step (as in
        :meth:`forward_backward`).
        """
        return self._forward(X, record=record)

    def _forward(self, X, layers=None, record=None):
        """The forward walk: ``A = layer.forward(A)`` over ``layers`` (every layer by
        default), in order. ``record`` (see :meth:`forward_backward`) sees each step."""
        A = X
        for i, layer in enumerate(self.layers if layers is None else layers):
            out = layer.forward(A)
            if record is not None:
                record.on_forward(i, layer, A, out)
            A = out
        return A

    def _backward(self, dA, layers, record=None):
        """The backward walk, last layer first: ``dA = layer.backward(dA)``; the first
        layer skips dX inside fit (see fitting()). Then each penalised layer adds its
        term's gradient. Returns (dX, the penalty terms' sum)."""
        for i in range(len(layers) - 1, -1, -1):
            layer = layers[i]
            dX = layer.backward(dA, need_dX=False) if i == 0 and self._skip_first_dX \
                else layer.backward(dA)
            if record is not None:
                record.on_backward(i, layer, dA, dX)
            dA = dX
        return dA, self._penalties(record)

    def _penalties(self, record):
        """Each penalised layer adds its term's gradient; returns the terms' sum."""
        total = 0.0
        for layer in self._penalized:
            term = layer.penalty()
            layer.inplace_add_penalty_gradients()
            total += term
            if record is not None:
                record.on_penalty(layer, term)
        return total

    @holds("backward")
    def backward(self, dA):
        """Run every layer's backward pass in reverse; return dX = ∂L/∂X
        (None inside fit, which skips it)."""
        return self._backward(dA, self.layers)[0]

    def penalty(self):
        """The L1/L2 penalty terms of every layer, summed (0.0 without any)."""
        return sum(layer.penalty() for layer in self._penalized)

    def fused_with(self, loss):
        """True if the last layer and ``loss`` form a fused pair (softmax+CE, sigmoid+BCE)."""
        return loss.fuses_with is not None and bool(self.layers) \
            and isinstance(self.layers[-1], loss.fuses_with)

    @holds("forward_backward")
    def forward_backward(self, X, Y, loss, record=None):
        """One forward and one backward pass: fills every gradient, returns the loss.

        ``Y`` must already be in the loss's form (``loss.prepare``). With a
        fused pair the last activation is skipped in both directions: the loss
        takes the logits Z and starts backpropagation at dZ = (A − Y)/m.

        This is the one walk through the network: ``fit``'s step and the ledger
        (``net.trace``) both run it. ``record``, when given, is told each array as
        it is computed: ``record.on_forward(i, layer, X, A)`` after each forward
        step, ``record.on_loss(A, Y, L, d, fused)`` after the loss and its starting
        gradient, ``record.on_backward(i, layer, dA, dX)`` after each backward step
        and ``record.on_penalty(layer, term)`` after each penalty's gradient.

        Inside fit on the compiled engine, with no ``record``, the walk runs as the
        fit's plan (``network.fused``): each Dense layer and the activation after it
        as one matrix product and one fused kernel each way; the same equations.
        """
        if record is None and self._plans is not None:
            plan = self._plans.get(id(loss))
            if plan is None or plan[0] is not loss:
                plan = self._plans[id(loss)] = (loss, self._step_plan(loss))
            plan = plan[1]
            if plan is not None and X.ndim == 2 and X.dtype == self.dtype:
                return plan(X, Y, loss)
        fused = self.fused_with(loss)
        body = self.layers[:-1] if fused else self.layers
        A = self._forward(X, body, record)
        value, d = self._start(A, Y, loss, fused, record)
        return value + self._backward(d, body, record)[1]

    def _step_plan(self, loss):
        """The fit's plan of the step for ``loss`` (see ``network.fused``), or None where
        the textbook walk runs: on the NumPy engine, or with no Dense layer to fuse."""
        kernels = engine.kernels_for(self.n_params, self.dtype)
        if not kernels:
            return None
        from .fused import StepPlan, pairs
        if not any(isinstance(step, list) for step in pairs(self, self.fused_with(loss))):
            return None
        return StepPlan(self, loss, kernels)

    def _start(self, A, Y, loss, fused, record):
        """The loss of the output A (the logits, when fused) and the starting gradient."""
        kernels = record is None and fused and type(loss) is CrossEntropy and A.ndim == 2 \
            and engine.kernels_for(self.n_params, self.dtype)
        if kernels:
            # the compiled twin of forward_logits and backward_logits: one pass over the logits
            A = np.ascontiguousarray(A)
            d = np.empty_like(A)
            value = (kernels.softmax_cross_entropy if Y.ndim == 1 else
                     kernels.softmax_cross_entropy_rows)(A, Y, d)
            loss.A = None    # the kernel gave dZ itself: backward_logits has no A (an error)
            loss.Y = Y
            return value, d
        if fused:
            value = loss.forward_logits(A, Y)
            d = loss.backward_logits()
        else:
            value = loss.forward(A, Y)
            d = loss.backward()
        if record is not None:
            record.on_loss(A, Y, value, d, fused)
        return value, d

    @holds("loss_value")
    def loss_value(self, X, Y, loss):
        """The loss on (X, Y) in evaluation mode, by the fused form where it applies.

        Includes the layers' L1/L2 penalties, if any.
        """
        return self.loss_and_output(X, Y, loss)[0]

    @holds("loss_and_output")
    def loss_and_output(self, X, Y, loss):
        """``(loss, A)`` from one forward pass in evaluation mode.

        With a fused pair the loss comes from the logits Z (log-sum-exp) and A
        is the last activation of Z. Penalties are included in the loss.
        """
        with self.evaluating():
            if self.fused_with(loss):
                Z = self._forward(X, self.layers[:-1])
                value = loss.forward_logits(Z, Y)
                A = self.layers[-1].forward(Z)
            else:
                A = self._forward(X)
                value = loss.forward(A, Y)
        return (value + self.penalty() if self._penalized else value), A

    def trace(self, X, y, loss, optimizer=None):
        """One forward and backward pass, every step recorded; see :func:`chainrule.trace.trace`."""
        from ..explain.trace import trace
        return trace(self, X, y, loss, optimizer=optimizer)

    # -- using a trained network ----------------------------------------------

    def predict(self, X, batch_size=65536, dtype=None):
        """The network's output for X, in evaluation mode.

        X is checked (shape; finite values, also once converted to the network's
        dtype) and converted once; rows are processed ``batch_size`` at a time to
        bound memory. Returns an array of shape (n, n_out) that belongs to the
        caller: no later call, inside fit or not, writes into it.

        ``dtype``, at least as wide as the network's (its own by default), is that of
        the arithmetic and of the result. BLAS orders each sum by the row count, the
        CPU's kernel and the threads, so a row's float32 output moves by a few units
        in the last place with the rows predicted beside it. Asked for float64, a
        float32 network multiplies its float32 X and weights exactly and sums in
        float64: each row's output is then the same, alone or among others, on every
        CPU, to float64's last bits (the estimators' float64 predictions; about twice
        the time of float32 on a large batch).

        Holds the network for the call: predictions from several threads take
        turns, and one made while another thread's fit runs is a RuntimeError
        (see the class's Notes).
        """
        batch_size = number("batch_size", batch_size, integer=True, at_least=1)
        X = check_X(X, self.n_in, self.dtype)
        dtype = self.dtype if dtype is None else at_least_as_wide("dtype", dtype, self.dtype)
        X = X.astype(dtype, copy=False)
        if len(X) <= FEW_ROWS:
            kernels = engine.kernels_for(self.n_params, self.dtype)
            plan = kernels and self._forward_plan(kernels)
            if plan:
                steps, width = plan
                owner = owner_of(self)  # @holds written out: this is the one-row latency
                owner.enter("predict")
                try:
                    return kernels.forward_rows(np.ascontiguousarray(X), self.flat_params, steps,
                                                width, np.empty((len(X), self.n_out), dtype))
                finally:
                    owner.exit()
        with Mode(self, False, "predict"):
            if len(X) <= batch_size:
                return self._forward(X)
            return np.concatenate([self._forward(X[i:i + batch_size])
                                   for i in range(0, len(X), batch_size)])

    def layer_slices(self):
        """Where each layer's parameters lie in ``flat_params`` (its gradients at the same
        place in ``flat_grads``): ``(i, slice)`` for every layer with parameters, in order
        (each layer's ``params`` in order within its slice)."""
        return self._slices

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
        def at(a, i):
            return a.__array_interface__["data"][0] == start + i * itemsize
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
        """Write this network to one safetensors file; see :func:`chainrule.files.model.save`
        (which holds the network while it reads it)."""
        from ..files.model import save
        save(self, path, metadata=metadata, extra_tensors=extra_tensors)

    # -- modes -----------------------------------------------------------------

    @holds("train()")
    def train(self):
        """Training mode (Dropout drops, BatchNorm uses batch statistics)."""
        for layer in self.layers:
            layer.training = True
        return self

    @holds("eval()")
    def eval(self):
        """Evaluation mode: deterministic predictions."""
        for layer in self.layers:
            layer.training = False
        return self

    def evaluating(self):
        """Context manager: evaluation mode inside, the previous mode restored after; the
        network is held meanwhile as for one short call (see the class's Notes)."""
        return Mode(self, training=False)

    def fitting(self, call="a training loop (net.fitting())"):
        """Context manager for training loops: training mode, no dX for the first layer;
        the network is held meanwhile as by fit (see the class's Notes): other threads'
        calls are refused, and ``call`` is how their messages name this loop."""
        return Fitting(self, call)

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
        def line(r):
            return f"{r[0]:<{widths[0]}}  {r[1]:<{widths[1]}}  {r[2]:>{widths[2]}}"
        rule = "-" * len(line(rows[0]))
        return "\n".join([line(rows[0]), rule, *map(line, rows[1:-1]), rule, line(rows[-1])])

    @holds("copy (pickle or copy.deepcopy)")
    def __getstate__(self):
        # a copy taken during fit (in a callback) is an ordinary network, trained by nobody.
        # The layers are copied while the network is held: pickle reads the arrays only
        # after this returns, when another thread's fit could be changing them. The flat
        # buffers are left out: __setstate__ rebuilds them from the layers' arrays.
        state = self.__dict__.copy()
        state["layers"] = copy.deepcopy(self.layers)
        for name in ("_skip_first_dX", "_plan", "_plans", "_slices", "flat_params", "flat_grads"):
            state.pop(name, None)
        return state

    def __setstate__(self, state):
        # pickle stores each layer's W and the flat buffer as separate arrays;
        # rebuild the flat buffers so the layers' arrays are views into them again
        self.__dict__.update(state)
        self._flatten()

    @holds("copy")
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


def mlp(sizes, hidden="relu", output="identity", init=None, seed=None, dtype=np.float32, *,
        l1=0.0, l2=0.0, dropout=0.0, dropout_seed=None, bias_init=None):
    """A multilayer perceptron: Dense layers of the given sizes with activations between.

    ``mlp([2, 4, 1], hidden="sigmoid", output="sigmoid")`` is
    ``Sequential([Dense(2, 4), Sigmoid(), Dense(4, 1), Sigmoid()])``. The one
    builder of networks: the playground and the scikit-learn estimators build
    theirs with it too.

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
    l1, l2 : float, default 0
        The L1 and L2 penalties of every Dense layer's weights.
    dropout : float in [0, 1), default 0
        A Dropout layer with this rate after each hidden activation.
    dropout_seed : int or sequence of int, optional
        Where the masks come from: by default from ``seed``'s generator, drawn in
        turn with the weights; given, the Dropout after hidden layer k draws from
        ``np.random.default_rng([*dropout_seed, k])``, a stream of its own, so that
        the weights do not depend on the dropout setting.
    bias_init : callable ``f(n_in, n_out, rng) -> b``, optional
        Initial biases, drawn from the weights' generator right after each layer's
        weights (zeros by default).
    """
    if isinstance(sizes, str):     # iterated, "2,4,1" would be the sizes '2', ',', '4', ...
        raise TypeError(f"sizes must be a list of ints such as [2, 4, 1], got the string {sizes!r}")
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
        dense = Dense(n_in, n_out, init=layer_init, seed=rng, dtype=dtype, l1=l1, l2=l2)
        if bias_init is not None:
            dense.b = np.asarray(bias_init(n_in, n_out, rng), dtype=dtype)
        layers += [dense, activation]
        if dropout and not last:
            masks = rng if dropout_seed is None else \
                np.random.default_rng([*np.atleast_1d(dropout_seed).tolist(), i])
            layers.append(Dropout(dropout, seed=masks))
    return Sequential(layers, dtype=dtype)
