"""The yardsticks: hand-written NumPy training loops, and the GEMM floor.

``NumpyMLP`` is what a careful engineer writes by hand for one architecture
family (ReLU hidden layers, softmax + cross-entropy, Adam): all parameters in
one flat buffer and all gradients in another, every activation and gradient
array allocated once per batch size and reused, ``out=`` and in-place ufuncs,
mini-batches gathered by index with ``np.take`` into a reused buffer. It
computes exactly what chainrule's ``fit`` computes (same batches for the same
seed, same loss, same Adam), so ``tests/test_benchmarks.py`` can check that
both give the same loss: the reference does the same work, only by hand.

``xor_numpy`` is the same for the 2-4-1 sigmoid network (BCE, plain SGD),
where the arrays are so small that the count of NumPy calls is the cost.

``GemmFloor`` runs only the matrix products of a training step for the same
shapes, into preallocated outputs: no library can do an epoch faster than
that with the same BLAS.
"""
from __future__ import annotations

import math

import numpy as np


def _flat_views(shapes, dtype):
    """One flat buffer and a list of views into it, one per shape."""
    total = sum(math.prod(s) for s in shapes)
    flat = np.zeros(total, dtype)
    views, offset = [], 0
    for s in shapes:
        size = math.prod(s)
        views.append(flat[offset:offset + size].reshape(s))
        offset += size
    return flat, views


def _param_shapes(sizes):
    shapes = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        shapes += [(n_in, n_out), (n_out,)]
    return shapes


class NumpyMLP:
    """A ReLU MLP trained with softmax + cross-entropy and Adam, written out by hand.

    Parameters
    ----------
    sizes : list of int
        Feature counts, input first, classes last, e.g. [784, 256, 128, 10].
    params : list of arrays, optional
        Initial ``[W1, b1, W2, b2, ...]`` (copied), e.g. a chainrule network's,
        to reproduce its training exactly. Default: He-normal weights, zero biases.
    seed : int
        Seed of the default initial weights.
    lr, betas, eps : Adam's settings (torch's defaults).
    """

    def __init__(self, sizes, params=None, seed=0, dtype=np.float32, lr=1e-3,
                 betas=(0.9, 0.999), eps=1e-8):
        self.sizes, self.dtype = list(sizes), np.dtype(dtype)
        shapes = _param_shapes(self.sizes)
        self.flat_p, views = _flat_views(shapes, self.dtype)
        self.flat_g, grads = _flat_views(shapes, self.dtype)
        self.W, self.b = views[0::2], views[1::2]
        self.dW, self.db = grads[0::2], grads[1::2]
        if params is None:
            rng = np.random.default_rng(seed)
            params = []
            for n_in, n_out in zip(self.sizes[:-1], self.sizes[1:]):
                params += [rng.standard_normal((n_in, n_out)) * np.sqrt(2.0 / n_in),
                           np.zeros(n_out)]
        for view, value in zip(views, params):
            view[...] = value
        self.lr, (self.b1, self.b2), self.eps = lr, betas, eps
        self.m = np.zeros_like(self.flat_p)
        self.v = np.zeros_like(self.flat_p)
        self.tmp = np.empty_like(self.flat_p)
        self.t = 0
        self.buffers = {}

    def _buffers(self, n, X, y):
        """Per batch size: the gathered batch, each layer's output and its gradient."""
        bufs = self.buffers.get(n)
        if bufs is None:
            widths = self.sizes[1:]
            bufs = self.buffers[n] = {
                "X": np.empty((n,) + X.shape[1:], self.dtype),
                "y": np.empty(n, y.dtype),
                "A": [np.empty((n, w), self.dtype) for w in widths],    # Z, then ReLU in place
                "dA": [np.empty((n, w), self.dtype) for w in widths[:-1]],
                "mask": [np.empty((n, w), bool) for w in widths[:-1]],
                "col": np.empty((n, 1), self.dtype),
                "rows": np.arange(n),
            }
        return bufs

    def step(self, Xb, yb, bufs):
        """Forward, loss, backward and Adam update on one batch; returns the batch's loss."""
        A, dA, mask, col, rows = bufs["A"], bufs["dA"], bufs["mask"], bufs["col"], bufs["rows"]
        n, last = len(Xb), len(self.W) - 1
        # forward: Z = X·W + b, then ReLU in place on every layer but the last
        inp = Xb
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            np.matmul(inp, W, out=A[i])
            A[i] += b
            if i < last:
                np.maximum(A[i], 0, out=A[i])
            inp = A[i]
        # softmax + cross-entropy on the logits Z = A[last], turned into dZ in place
        Z = A[last]
        np.max(Z, axis=1, keepdims=True, out=col)
        Z -= col                                        # shifted logits: exp never overflows
        picked = Z[rows, yb].sum()
        np.exp(Z, out=Z)
        np.sum(Z, axis=1, keepdims=True, out=col)
        loss = (np.log(col).sum() - picked) / n          # mean of logsumexp − z_y
        col *= n
        np.divide(Z, col, out=Z)                         # softmax / n
        Z[rows, yb] -= 1.0 / n                           # dZ = (softmax − onehot) / n
        # backward
        dZ = Z
        for i in range(last, -1, -1):
            prev = A[i - 1] if i else Xb
            np.matmul(prev.T, dZ, out=self.dW[i])
            np.sum(dZ, axis=0, out=self.db[i])
            if i:
                np.matmul(dZ, self.W[i].T, out=dA[i - 1])
                np.greater(prev, 0, out=mask[i - 1])
                np.multiply(dA[i - 1], mask[i - 1], out=dA[i - 1])
                dZ = dA[i - 1]
        self._adam()
        return float(loss)

    def _adam(self):
        p, g, m, v, tmp = self.flat_p, self.flat_g, self.m, self.v, self.tmp
        self.t += 1
        m -= g                          # m ← β₁(m − g) + g  ==  β₁m + (1 − β₁)g
        m *= self.b1
        m += g
        np.multiply(g, g, out=tmp)      # v ← β₂(v − g²) + g²
        v -= tmp
        v *= self.b2
        v += tmp
        c1, sqrt_c2 = 1.0 - self.b1 ** self.t, math.sqrt(1.0 - self.b2 ** self.t)
        np.sqrt(v, out=tmp)             # p ← p − (lr/c₁)·m / (√v/√c₂ + ε)
        tmp += self.eps * sqrt_c2
        np.divide(m, tmp, out=tmp)
        tmp *= self.lr * sqrt_c2 / c1
        p -= tmp

    def epoch(self, X, y, batch_size, rng):
        """One epoch in the order ``rng.permutation(len(X))``; returns the mean loss."""
        order = rng.permutation(len(X))
        total = 0.0
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            bufs = self._buffers(len(idx), X, y)
            Xb = np.take(X, idx, axis=0, out=bufs["X"])
            yb = np.take(y, idx, out=bufs["y"])
            total += self.step(Xb, yb, bufs) * len(idx)
        return total / len(X)


class GemmFloor:
    """Only the matrix products of forward and backward, for a given MLP and batch size.

    Per batch: ``Z = A·W`` for every layer; then ``dW = Aᵀ·dZ`` for every layer
    and ``dA = dZ·Wᵀ`` for every layer but the first (nobody needs ∂L/∂X of the
    data). Outputs are preallocated; batches are contiguous slices of X.
    """

    def __init__(self, sizes, dtype=np.float32, seed=0):
        rng = np.random.default_rng(seed)
        self.sizes, self.dtype = list(sizes), np.dtype(dtype)
        self.W = [(rng.standard_normal((a, b)) * np.sqrt(2.0 / a)).astype(dtype)
                  for a, b in zip(sizes[:-1], sizes[1:])]
        self.dW = [np.empty_like(W) for W in self.W]
        self.buffers = {}

    def epoch(self, X, batch_size):
        for start in range(0, len(X), batch_size):
            Xb = X[start:start + batch_size]
            n = len(Xb)
            A = self.buffers.get(n)
            if A is None:
                A = self.buffers[n] = [np.empty((n, w), self.dtype) for w in self.sizes[1:]]
            inp = Xb
            for W, out in zip(self.W, A):
                np.matmul(inp, W, out=out)
                inp = out
            for i in range(len(self.W) - 1, -1, -1):
                prev = A[i - 1] if i else Xb
                np.matmul(prev.T, A[i], out=self.dW[i])       # A[i] stands in for dZ
                if i:
                    np.matmul(A[i], self.W[i].T, out=A[i - 1])  # dA overwrites A: same shape


def xor_data(dtype=np.float32):
    """The four XOR points and their labels, shapes (4, 2) and (4, 1)."""
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype)
    Y = np.array([[0], [1], [1], [0]], dtype)
    return X, Y


def xor_numpy(params, steps, lr=0.1, dtype=np.float32):
    """Full-batch SGD on XOR for a 2-h-1 sigmoid network with sigmoid + BCE, by hand.

    ``params`` are the initial ``[W1, b1, W2, b2]`` (copied). Every step
    computes the loss (as chainrule's fit does) and updates the weights.
    Returns the list of per-step losses (each taken before its update).
    """
    X, Y = xor_data(dtype)
    shapes = [np.shape(p) for p in params]
    flat_p, (W1, b1, W2, b2) = _flat_views(shapes, dtype)
    flat_g, (dW1, db1, dW2, db2) = _flat_views(shapes, dtype)
    for view, value in zip((W1, b1, W2, b2), params):
        view[...] = value
    m, h = len(X), W1.shape[1]
    Z1, A1, dZ1 = (np.empty((m, h), dtype) for _ in range(3))
    Z2, L, dZ2 = (np.empty((m, 1), dtype) for _ in range(3))
    step = np.empty_like(flat_p)
    losses = []
    for _ in range(steps):
        np.matmul(X, W1, out=Z1)
        Z1 += b1
        np.negative(Z1, out=A1)                      # A1 = σ(Z1) = 1 / (1 + e^(−Z1))
        np.exp(A1, out=A1)
        A1 += 1.0
        np.reciprocal(A1, out=A1)
        np.matmul(A1, W2, out=Z2)
        Z2 += b2
        np.logaddexp(0, Z2, out=L)                   # BCE from logits: log(1 + e^z) − z·y
        losses.append(float((L.sum() - np.vdot(Z2, Y)) / m))
        np.subtract(Z2, L, out=dZ2)                  # σ(z) = e^(z − log(1 + e^z))
        np.exp(dZ2, out=dZ2)
        dZ2 -= Y
        dZ2 *= 1.0 / m                               # dZ2 = (σ(Z2) − Y) / m
        np.matmul(A1.T, dZ2, out=dW2)
        np.sum(dZ2, axis=0, out=db2)
        np.matmul(dZ2, W2.T, out=dZ1)                # dA1, then ⊙ σ' = A1(1 − A1) in place
        np.subtract(1.0, A1, out=Z1)
        Z1 *= A1
        dZ1 *= Z1
        np.matmul(X.T, dZ1, out=dW1)
        np.sum(dZ1, axis=0, out=db1)
        np.multiply(flat_g, lr, out=step)
        flat_p -= step
    return losses


def numpy_predict(params):
    """``fn(X)``: the class probabilities of a ReLU MLP with a softmax output, by hand.

    ``params`` are ``[W1, b1, W2, b2, ...]`` (e.g. a chainrule network's). Only
    the arithmetic: the products, bias adds, max(·, 0) and a stable softmax;
    no input check, no evaluation mode. The yardstick for single-row latency:
    what NumPy itself costs per call on this machine.
    """
    Ws, bs = params[0::2], params[1::2]

    def fn(X):
        A = X
        for W, b in zip(Ws[:-1], bs[:-1]):
            A = A @ W
            A += b
            np.maximum(A, 0, out=A)
        Z = A @ Ws[-1]
        Z += bs[-1]
        Z -= Z.max(axis=1, keepdims=True)
        np.exp(Z, out=Z)
        Z /= Z.sum(axis=1, keepdims=True)
        return Z
    return fn
