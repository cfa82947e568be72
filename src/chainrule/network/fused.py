"""The training step, planned once per fit: each Dense layer with its epilogue fused.

The textbook walk (``Sequential._forward``/``_backward``) calls every layer in
turn: a Dense layer and the activation after it are five passes over memory
besides the matrix products (the bias add, g, then g', dA ⊙ g', Σ_rows), and
each pass allocates its result. Inside fit, with the compiled engine, a
:class:`StepPlan` runs the same equations as

    forward   Z = X·W  (BLAS, into a buffer);  A = g(Z + b)      one kernel
    backward  dZ = dA ⊙ g'(·);  db = Σ_rows dZ                    one kernel
              dW = Xᵀ·dZ;  dX = dZ·Wᵀ   (BLAS, into dW's view and a buffer)

(``kernels.bias_activation`` and ``kernels.activation_backward``, twins of
``engine.epilogues``). The pairs are ``Dense`` followed by ``ReLU``, ``LeakyReLU``,
``Sigmoid``, ``Tanh``, ``GELU`` or ``Identity``; a Dense layer followed by anything
else (or by nothing: the logits of a fused softmax + cross-entropy) gets the
identity epilogue, the bias add and db. Every other layer runs its own
``forward``/``backward``, unchanged. Softmax + cross-entropy at the end runs as
one kernel into a buffer of the plan.

Resolved once per fit (per loss): which layers pair, their kinds, and, per
batch size, the buffers: each pair's Z (holding A in place, except for GELU,
whose backward reads Z), its dX, and a dZ where the incoming dA is not the
plan's own (a layer's returned array is never written into). The buffers are
the plan's and live as long as the fit; the layers' own caches (Dense's X, an
activation's A) are not filled by a planned step, so ``layer.backward`` after
it would read an earlier pass: the ledger (``net.trace``) and every call
outside fit take the textbook walk.

Inputs must be 2-D arrays of the network's dtype (fit's always are); anything
else takes the textbook walk.
"""
from __future__ import annotations

import numpy as np

from ..engine.epilogues import GELU, IDENTITY, LEAKY_RELU, RELU, SIGMOID, TANH
from ..nn.activations import GELU as GELULayer
from ..nn.activations import Identity, LeakyReLU, ReLU, Sigmoid, Tanh
from ..nn.layers import Dense
from ..nn.losses import CrossEntropy

#: The activations an epilogue fuses, by exact class (a subclass may change the equations).
KINDS = {ReLU: RELU, LeakyReLU: LEAKY_RELU, Sigmoid: SIGMOID, Tanh: TANH, GELULayer: GELU,
         Identity: IDENTITY}


class _Pair:
    """A Dense layer and the epilogue after it: ``A = g(X·W + b)``."""

    __slots__ = ("activation", "alpha", "dX", "dense", "in_place", "kind")

    def __init__(self, dense, activation, dtype, need_dX, in_place):
        self.dense, self.activation = dense, activation
        self.kind = IDENTITY if activation is None else KINDS[type(activation)]
        self.alpha = dtype.type(getattr(activation, "alpha", 0.0) if self.kind == LEAKY_RELU else 0.0)
        self.dX = need_dX          # the layer before reads dX = dZ·Wᵀ
        self.in_place = in_place   # the dA it receives is the plan's own: dZ may overwrite it


def pairs(net, fused_loss):
    """The steps of the planned walk over ``net``'s layers (the last one left out when the
    loss fuses with it): a ``_Pair`` or a layer that runs on its own, in order."""
    layers = net.layers[:-1] if fused_loss else net.layers
    steps, i = [], 0
    while i < len(layers):
        layer = layers[i]
        if type(layer) is Dense:
            after = layers[i + 1] if i + 1 < len(layers) else None
            activation = after if type(after) in KINDS else None
            steps.append([layer, activation])
            i += 2 if activation is not None else 1
        else:
            steps.append(layer)
            i += 1
    return steps


class StepPlan:
    """``plan(X, Y, loss)``: one forward and backward pass of ``net`` as
    ``Sequential.forward_backward`` makes it (the same value, the same gradients to
    rounding), on ``kernels``. See the module's docstring."""

    def __init__(self, net, loss, kernels):
        self.net, self.loss, self.kernels = net, loss, kernels
        self.dtype = net.dtype
        fused = net.fused_with(loss)
        #: softmax + cross-entropy as one kernel, into the plan's buffer
        self.ce = fused and type(loss) is CrossEntropy
        self.fused = fused
        raw = pairs(net, fused)
        steps = []
        for i, step in enumerate(raw):
            if isinstance(step, list):
                first = i == 0
                # dA arrives as the plan's own array from the pair after this one, or from the
                # cross-entropy kernel's buffer when this pair is last
                after = raw[i + 1] if i + 1 < len(raw) else None
                own = isinstance(after, list) if after is not None else self.ce
                steps.append(_Pair(step[0], step[1], self.dtype,
                                   not (first and net._skip_first_dX), own))
            else:
                steps.append(step)
        self.steps = steps
        self.first_layer_skips = net._skip_first_dX
        self.buffers = {}

    def _buffers(self, n):
        """Per batch size: for each step, (Z, A, dZ, dX) of a pair (None where unused)."""
        dtype, out = self.dtype, []
        for step in self.steps:
            if not isinstance(step, _Pair):
                out.append(None)
                continue
            shape = (n, step.dense.n_out)
            Z = np.empty(shape, dtype)
            A = np.empty(shape, dtype) if step.kind == GELU else Z
            dZ = None if step.in_place or step.kind == IDENTITY else np.empty(shape, dtype)
            dX = np.empty((n, step.dense.n_in), dtype) if step.dX else None
            out.append((Z, A, dZ, dX))
        start = np.empty((n, self.net.n_out), dtype) if self.ce else None
        self.buffers[n] = out, start
        return out, start

    def __call__(self, X, Y, loss):
        n = len(X)
        buffers, start = self.buffers.get(n) or self._buffers(n)
        steps, kernels, matmul = self.steps, self.kernels, np.matmul
        epilogue = kernels.bias_activation
        inputs = []
        A = X
        for step, buf in zip(steps, buffers):
            inputs.append(A)
            if buf is None:
                A = step.forward(A)
            else:
                dense = step.dense
                matmul(A, dense.W, out=buf[0])                   # Z = X·W
                A = epilogue(buf[0], dense.b, step.kind, step.alpha, buf[1])   # A = g(Z + b)
        if self.ce:
            value = (kernels.softmax_cross_entropy if Y.ndim == 1 else
                     kernels.softmax_cross_entropy_rows)(A, Y, start)
            loss.A = None    # the kernel gave dZ itself: backward_logits has no A (an error)
            loss.Y = Y
            d = start
        else:
            value, d = self.net._start(A, Y, loss, self.fused, None)
        backward = kernels.activation_backward
        last = len(steps) - 1
        for i in range(last, -1, -1):
            step, buf = steps[i], buffers[i]
            if buf is None:
                d = step.backward(d, need_dX=False) if i == 0 and self.first_layer_skips \
                    else step.backward(d)
                continue
            Z, A, dZ, dX = buf
            dense = step.dense
            if step.kind == IDENTITY:
                dZ = d
            elif dZ is None:
                dZ = d                                           # the plan's own: overwritten
            backward(d, A, Z, step.kind, step.alpha, dZ, dense.db)   # dZ = dA ⊙ g'; db = Σ dZ
            matmul(inputs[i].T, dZ, out=dense.dW)                # dW = Xᵀ·dZ
            d = matmul(dZ, dense.W.T, out=dX) if dX is not None else None   # dX = dZ·Wᵀ
        return value + self.net._penalties(None)
