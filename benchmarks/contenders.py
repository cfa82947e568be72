"""The same networks built and trained in chainrule, PyTorch and scikit-learn.

Each ``*_trainer`` returns a function ``epoch() -> loss`` that trains one more
epoch on the data it was given, the way a user of that library would write it:

* chainrule: ``net.fit(X, y, ..., epochs=1, verbose=0)``;
* PyTorch: ``nn.Sequential``, ``CrossEntropyLoss`` on the logits,
  ``torch.optim.Adam``, batches gathered by index from a ``torch.randperm``
  (no DataLoader), default thread count;
* scikit-learn: ``MLPClassifier(solver="adam", batch_size=128, max_iter=1)``
  fitted on float32 input (each call a fresh one-epoch fit).

Data are shared, never copied: ``torch.from_numpy`` views the NumPy arrays.
"""
from __future__ import annotations

import contextlib
import warnings

import numpy as np


def synthetic(n, n_in=784, k=10, seed=0, dtype=np.float32):
    """A classification set of ``n`` rows from a seeded Generator: X (n, n_in), labels (n,).

    Labels come from a random linear map of X, so the task is learnable; the
    benchmark measures speed, and speed does not depend on what is learned.
    """
    rng = np.random.default_rng(seed)
    X = np.empty((n, n_in), dtype)
    for start in range(0, n, 1 << 15):      # in slices: no float64 temporary of the whole set
        stop = min(n, start + (1 << 15))
        X[start:stop] = rng.standard_normal((stop - start, n_in), dtype=np.float32)
    y = np.argmax(X @ rng.standard_normal((n_in, k)).astype(dtype), axis=1)
    return X, y


# -- chainrule -----------------------------------------------------------------

def chainrule_mlp(sizes, seed=0, dtype=np.float32):
    import chainrule as cr
    return cr.mlp(sizes, hidden="relu", output="softmax", seed=seed, dtype=dtype)


def chainrule_trainer(X, y, sizes, batch_size=128, seed=0, net=None, engine=None):
    """``epoch()`` runs ``net.fit(..., epochs=1)`` with CrossEntropy and Adam.

    ``engine``: "compiled" or "numpy" to run on that engine; None, whatever the process
    chose (``CHAINRULE_ENGINE``; "auto" uses the kernels once loaded).
    """
    import chainrule as cr
    net = net if net is not None else chainrule_mlp(sizes, seed=seed, dtype=X.dtype)
    loss, optimizer = cr.CrossEntropy(), cr.Adam(lr=1e-3)
    rng = np.random.default_rng(seed)

    def epoch(callbacks=()):
        with cr.engine.using(engine) if engine else contextlib.nullcontext():
            history = net.fit(X, y, loss=loss, optimizer=optimizer, epochs=1,
                              batch_size=batch_size, seed=rng, verbose=0, callbacks=callbacks)
        return history["loss"][-1]
    epoch.net = net
    return epoch


def compiled_engine_available():
    """True when numba imports, so chainrule's compiled engine can be measured."""
    import chainrule as cr
    with cr.engine.using("auto"):
        return cr.engine.compiled() is not None


class thread_limit:
    """``with thread_limit(n) as used:`` BLAS (threadpoolctl) and PyTorch on n threads.

    ``used`` is the count in force (n, or BLAS's own when n is None); both are
    restored afterwards.
    """

    def __init__(self, n):
        self.n = n

    def __enter__(self):
        from threadpoolctl import threadpool_info, threadpool_limits
        self.limits = threadpool_limits(limits=self.n, user_api="blas") if self.n else None
        self.torch = None
        try:
            import torch
        except ImportError:
            pass
        else:
            self.torch = torch.get_num_threads()
            if self.n:
                torch.set_num_threads(self.n)
        blas = [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]
        return self.n or (max(blas) if blas else 1)

    def __exit__(self, *exc):
        if self.limits is not None:
            self.limits.restore_original_limits()
        if self.torch is not None:
            import torch
            torch.set_num_threads(self.torch)


def chainrule_params(net):
    """A chainrule network's ``[W1, b1, W2, b2, ...]`` (copies), to start another from."""
    return [value.copy() for _, value, _ in net.parameters()]


# -- PyTorch -------------------------------------------------------------------

def torch_mlp(sizes, seed=0):
    import torch
    from torch import nn
    torch.manual_seed(seed)
    layers = []
    for i, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def torch_trainer(X, y, sizes, batch_size=128, seed=0):
    """``epoch()`` runs a standard PyTorch training loop over one shuffled epoch."""
    import torch
    from torch import nn
    model = torch_mlp(sizes, seed)
    criterion = nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    Xt, yt = torch.from_numpy(X), torch.from_numpy(y.astype(np.int64, copy=False))
    generator = torch.Generator().manual_seed(seed)
    n = len(X)

    def epoch():
        model.train()
        order = torch.randperm(n, generator=generator)
        total = 0.0
        for start in range(0, n, batch_size):
            idx = order[start:start + batch_size]
            xb, yb = Xt[idx], yt[idx]
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(xb), yb)
            loss.backward()
            optimizer.step()
            total += loss.item() * len(idx)
        return total / n
    epoch.model = model
    return epoch


# -- scikit-learn -----------------------------------------------------------------

def sklearn_classifier(sizes, batch_size=128, seed=0, max_iter=1):
    from sklearn.neural_network import MLPClassifier
    # alpha=0: no L2 penalty, so it does the same arithmetic as the others
    return MLPClassifier(hidden_layer_sizes=tuple(sizes[1:-1]), activation="relu", solver="adam",
                         alpha=0.0, batch_size=batch_size, learning_rate_init=1e-3,
                         max_iter=max_iter, shuffle=True, random_state=seed)


def sklearn_trainer(X, y, sizes, batch_size=128, seed=0):
    """``epoch()`` fits a fresh MLPClassifier for one epoch (max_iter=1) on float32 X."""
    from sklearn.exceptions import ConvergenceWarning

    def epoch():
        clf = sklearn_classifier(sizes, batch_size, seed)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # one epoch is the point
            clf.fit(X, y)
        return clf.loss_
    return epoch


def fitted_sklearn(X, y, sizes, seed=0):
    """An MLPClassifier fitted for one epoch, for predict benchmarks."""
    from sklearn.exceptions import ConvergenceWarning
    clf = sklearn_classifier(sizes, seed=seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        clf.fit(X, y)
    return clf
