"""The demos of the gradients themselves: backpropagation checked against central
differences, vanishing gradients watched by GradientMonitor, and a learner's own
hand-written backpropagation read by cr.diagnose.

See :mod:`chainrule.explain.demos` for what every demo takes and returns.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..network.sequential import Sequential, mlp
from ..nn.activations import Sigmoid
from ..nn.init import as_generator
from ..nn.layers import Dense
from ..nn.losses import BinaryCrossEntropy, CrossEntropy
from ..optim.optimizers import SGD
from .demo_run import save_figure
from .demo_text import check_lang, say
from .diagnose import diagnose as find_the_mistake
from .gradcheck import gradient_check
from .text import pad, width, wrap


def gradcheck(seed=0, verbose=1, plot=None, sizes=(784, 50, 10), n=3, lang="en"):
    """Backpropagation against central differences on a two-layer 784-50-10 network.

    Sigmoid hidden layer, softmax output, cross-entropy; n random "images".
    Every derivative (39,760 parameters and the n·784 inputs) is checked, two
    forward passes each, so this takes a few seconds.
    """
    check_lang(lang)
    rng = as_generator(seed)
    net = mlp(list(sizes), hidden="sigmoid", output="softmax", seed=rng)
    X = rng.random((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    if verbose:
        print(say(lang, "gradcheck.checking", count=net.n_params + X.size,
                  sizes="-".join(map(str, sizes))), flush=True)
    report = gradient_check(net, CrossEntropy(), X, y)
    if verbose:
        print(report.to_text(lang=lang))
        print(say(lang, "gradcheck.agree" if report.max_relative_error < 1e-6 else "gradcheck.disagree"))
    if plot:
        from . import plot as _plot
        save_figure(plot, _plot.gradient_check(report, lang=lang), lang)
    return {"net": net, "report": report, "max_relative_error": report.max_relative_error}


def gradient_health(seed=0, verbose=1, plot=None, epochs=20, depth=10, lang="en"):
    """Vanishing gradients, seen: ``depth`` Dense(8, 8) + Sigmoid layers with N(0, 1) weights.

    Each sigmoid passes back at most a quarter of its gradient (σ' ≤ 1/4), so the
    first layers' gradient norms end up decades below the last one's;
    GradientMonitor says so in plain words, naming the layer.
    """
    import warnings

    from ..train.callbacks import GradientMonitor
    check_lang(lang)
    rng = as_generator(seed)
    X = rng.normal(size=(256, 8))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    layers = []
    for _ in range(depth):
        layers += [Dense(8, 8, init="normal", seed=rng), Sigmoid()]
    net = Sequential(layers + [Dense(8, 1, init="normal", seed=rng), Sigmoid()])
    monitor = GradientMonitor(every=5)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = net.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.1), epochs=epochs,
                          seed=rng, batch_size=32, verbose=0, callbacks=[monitor])
    norms = {name: values[-1] for name, values in history.gradients["grad_norm"].items()}
    messages = sorted({str(w.message) for w in caught})
    if verbose:
        for finding in monitor.findings:
            print("\n".join(wrap(_finding(finding, net, lang))))
        names = {i: _layer(net, i, lang) for i, _ in net.layer_slices()}
        column = max(map(width, names.values()))
        for i, norm in zip(names, norms.values()):
            print(say(lang, "health.norm", layer=pad(names[i], column), norm=norm))
    if plot:
        from . import plot as _plot
        save_figure(plot, _plot.gradient_flow(history, lang=lang), lang)
    return {"net": net, "history": history, "norms": norms, "warnings": messages,
            "findings": monitor.findings}


def _layer(net, i, lang):
    return say(lang, "health.layer", i=i, kind=type(net.layers[i]).__name__)


def _finding(finding, net, lang):
    """One of GradientMonitor's findings, told in ``lang`` with its numbers."""
    facts = dict(finding)
    kind = facts.pop("kind")
    if kind == "vanishing":
        facts["layers"] = ("、" if lang == "zh" else ", ").join(map(str, facts["layers"]))
        facts["worst"], facts["top"] = _layer(net, facts["worst"], lang), _layer(net, facts["top"], lang)
        kind = "vanishing" if facts["between"] else "vanishing_elsewhere"
    else:
        facts["layer"] = _layer(net, facts["layer"], lang)
        kind = f"exploding_{facts.pop('of')}" if kind == "exploding" else kind
    return say(lang, f"health.{kind}", **facts)



def _xor_by_hand(X, Y, W1, b1, W2, b2):
    """One pass of the hand-written XOR loop, as a learner writes it, one line wrong (dZ1's
    derivative is taken of Z1, where A1(1 − A1) belongs)."""
    m = len(X)
    Z1 = X @ W1 + b1
    A1 = 1 / (1 + np.exp(-Z1))
    Z2 = A1 @ W2 + b2
    A2 = 1 / (1 + np.exp(-Z2))
    dZ2 = (A2 - Y) / m
    dW2 = A1.T @ dZ2
    db2 = dZ2.sum(axis=0)
    dA1 = dZ2 @ W2.T
    dZ1 = dA1 * Z1 * (1 - Z1)
    dW1 = X.T @ dZ1
    db1 = dZ1.sum(axis=0)
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2, "Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2,
            "dZ2": dZ2, "dW2": dW2, "db2": db2, "dA1": dA1, "dZ1": dZ1, "dW1": dW1, "db1": db1}


def diagnose(seed=0, verbose=1, plot=None, lang="en"):
    """A hand-written XOR backpropagation with one line wrong, and what cr.diagnose says of it.

    ``lang``: "en" or "zh" (简体中文), for the explanation and the report.
    """
    check_lang(lang)
    if plot:
        raise ValueError(say(lang, "error.diagnose_plot"))
    rng = as_generator(seed)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    Y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    W1, b1 = rng.normal(size=(2, 4)), np.zeros(4)
    W2, b2 = rng.normal(size=(4, 1)), np.zeros(1)
    mine = _xor_by_hand(X, Y, W1, b1, W2, b2)
    net = mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", dtype=np.float64)
    report = find_the_mistake(net, X, Y, mine, loss=BinaryCrossEntropy(), lang=lang)
    if verbose:
        print("\n".join(wrap(say(lang, "diagnose.intro"))) + "\n")
        source = inspect.getsource(_xor_by_hand).splitlines()
        start = next(i for i, line in enumerate(source) if line.strip().startswith("m = "))
        end = next(i for i, line in enumerate(source) if line.strip().startswith("return"))
        print("\n".join(line[4:] for line in source[start:end]) + "\n")
        print(report)
    return {"report": report, "mine": mine}

