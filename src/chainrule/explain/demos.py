"""The classic examples, runnable as ``chainrule demo NAME``.

Each demo is a function ``demo(seed, verbose, plot, ..., lang="en") -> dict`` that
trains, prints its loss as it learns and what it learned at the end, and
returns its results (so tests can check them). Keyword arguments after
``plot`` shorten a run (fewer epochs, smaller sizes) for tests. Every sentence
a demo prints comes from ``demo_text.TEXT``, in English (``lang="en"``) or
简体中文 (``lang="zh"``).
"""
from __future__ import annotations

import inspect

import numpy as np

from ..network.sequential import Sequential, mlp
from ..nn.activations import Identity, Sigmoid
from ..nn.init import as_generator
from ..nn.layers import Dense
from ..nn.losses import MSE, BinaryCrossEntropy, CrossEntropy
from ..optim.optimizers import SGD, Adam
from ..train.callbacks import ProgressBar
from .demo_text import check_lang, say
from .diagnose import diagnose as find_the_mistake
from .gradcheck import gradient_check
from .text import pad, width, wrap

#: What each demo shows, and the extra it needs beyond NumPy and tqdm (``--plot`` needs ``plot``).
ABOUT = {
    "xor": ("a 2-4-1 sigmoid network learns XOR with binary cross-entropy; prints its four "
            "outputs", None),
    "xor-mse": ("the same network on squared error: it learns more slowly, because σ'(Z) ≤ 1/4 "
                "scales every output gradient", None),
    "sine": ("a 1-25-1 network fits y = 20 sin(2πx) by full-batch gradient descent", None),
    "digits": ("64-128-10 ReLU network on 8×8 handwritten digits: held-out accuracy, confusion "
               "matrix, sample digits", "sklearn"),
    "gradcheck": ("backpropagation against central differences on a 784-50-10 network, every "
                  "derivative", None),
    "gradient-health": ("a 10-layer sigmoid stack with N(0, 1) weights: GradientMonitor warns that "
                        "the gradients vanish; the figure shows each layer's gradient norm", None),
    "regularization": ("40 rows, 2 features that matter and 4 of noise, a 6-64-64-2 network, with "
                       "and without an L2 penalty: the size of the weights kept (‖W‖, largest |w|) "
                       "and the validation loss of both, printed", None),
    "diagnose": ("a hand-written XOR backpropagation with one line wrong: cr.diagnose names the "
                 "line and the mistake", None),
}


def _save(plot, figure, lang="en"):
    from . import plot as _plot
    _plot.save(figure, plot)
    print(say(lang, "saved", path=plot))


def _bar(verbose, lang):
    """fit's ``verbose`` and callbacks: at 1, a bar over the epochs named in ``lang``."""
    if verbose != 1:
        return verbose, ()
    words = {"training": say(lang, "bar.training"), "epoch": say(lang, "bar.epoch")}
    return 0, (ProgressBar(per_epoch=False, words=words),)


def _xor(loss, seed, verbose, plot, epochs, lang, lr=0.1):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    net = mlp([2, 4, 1], hidden="sigmoid", output=Sigmoid(), init="normal", seed=seed)
    fit_verbose, bar = _bar(verbose, lang)
    history = net.fit(X, y, loss=loss, optimizer=SGD(lr=lr), epochs=epochs,
                      batch_size=None, verbose=fit_verbose, callbacks=bar)
    proba = net.predict(X)[:, 0]
    predicted = (proba > 0.5).astype(int)
    accuracy = float(np.mean(predicted == y))
    if verbose:
        print(say(lang, "xor.final_loss", loss=history["loss"][-1]))
        print(say(lang, "xor.header"))
        for (a, b), target, p, c in zip(X.astype(int), y, proba, predicted):
            print(say(lang, "xor.row", a=a, b=b, target=target, p=p, c=c))
        print(say(lang, "xor.accuracy", accuracy=accuracy))
    if plot:
        from . import plot as _plot
        # a squared-error network's output is not a probability, only trained towards 0 and 1
        label = say(lang, "fig.p_class1" if isinstance(loss, BinaryCrossEntropy) else "fig.mse_output")
        _save(plot, _plot.decision_boundary(net, X, y, history=history, output_label=label, lang=lang),
              lang)
    return {"net": net, "history": history, "proba": proba, "accuracy": accuracy}


def xor(seed=0, verbose=1, plot=None, epochs=10_000, lang="en"):
    """XOR with a 2-4-1 sigmoid network, binary cross-entropy, full-batch gradient descent (lr 0.1)."""
    return _xor(BinaryCrossEntropy(), seed, verbose, plot, epochs, check_lang(lang))


def xor_mse(seed=0, verbose=1, plot=None, epochs=10_000, lang="en"):
    """The same XOR network trained on mean squared error.

    It learns too, but more slowly: with MSE the output's gradient carries an
    extra factor σ'(Z) = A(1 − A) ≤ 1/4, which the fused sigmoid +
    cross-entropy pair cancels (dZ = (A − Y)/m). Compare the final losses.
    """
    return _xor(MSE(), seed, verbose, plot, epochs, check_lang(lang))


def sine(seed=0, verbose=1, plot=None, epochs=4000, lr=0.1, lang="en"):
    """Fit y = 20 sin(2πx) on x = 0, 0.01, ..., 0.99 with a 1-25-1 network.

    Sigmoid hidden layer, linear output, U[0, 1) initial weights, MSE,
    full-batch gradient descent.
    """
    x = np.arange(100).reshape(-1, 1) / 100
    y = 20 * np.sin(2 * np.pi * x)
    rng = as_generator(seed)
    net = Sequential([Dense(1, 25, init="uniform", seed=rng), Sigmoid(),
                      Dense(25, 1, init="uniform", seed=rng), Identity()])
    # Why lr = 0.1: the loss is a quadratic in the output weights whose curvature
    # (largest Hessian eigenvalue, 2/m times that of HᵀH for the hidden outputs H
    # plus a bias column) starts at about 18: 25 sigmoids of positive inputs all
    # output 0.5 to 0.9, so their columns nearly coincide. Gradient descent is
    # stable only for lr < 2/18 ≈ 0.11; 0.1 is the largest round step below it
    # (0.3 bounces and stalls near MSE 12 to 30, 0.01 is still near MSE 10 after
    # 4000 steps, 0.1 ends near 0.01 to 0.1). So close to the edge, the loss
    # spikes a few times early on, while the hidden layer spreads its units out.
    fit_verbose, bar = _bar(verbose, check_lang(lang))
    history = net.fit(x, y, loss=MSE(), optimizer=SGD(lr=lr), epochs=epochs, batch_size=None,
                      verbose=fit_verbose, callbacks=bar)
    mse = float(history["loss"][-1])
    if verbose:
        print(say(lang, "sine.final", mse=mse))
    if plot:
        from . import plot as _plot
        _save(plot, _plot.fit_1d(net, x, y, history=history, lang=lang), lang)
    return {"net": net, "history": history, "mse": mse}


def _confusion(truth, predicted, k):
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def digits(seed=0, verbose=1, plot=None, epochs=40, hidden=128, lang="en"):
    """scikit-learn's 8×8 handwritten digits: 64-128-10, ReLU, softmax + cross-entropy, Adam.

    A fifth of the 1797 images is held out; the network never trains on them.
    """
    try:
        from sklearn.datasets import load_digits  # the data ships with scikit-learn
    except ImportError:
        raise ImportError("the digits demo needs scikit-learn for its data set: "
                          "pip install 'chainrule[sklearn]'") from None
    check_lang(lang)
    data = load_digits()
    X, y = data.data / 16.0, data.target  # pixels are 0..16: scale to [0, 1]
    order = as_generator(seed).permutation(len(X))
    test, train = order[:len(X) // 5], order[len(X) // 5:]
    net = mlp([64, hidden, 10], hidden="relu", output="softmax", seed=seed)
    # verbose=1: one bar over the epochs (fit's own bar is one per epoch: 40 of them)
    fit_verbose, bar = _bar(verbose, lang)
    history = net.fit(X[train], y[train], loss=CrossEntropy(), optimizer=Adam(lr=1e-3),
                      epochs=epochs, batch_size=32, seed=seed, verbose=fit_verbose, callbacks=bar,
                      validation_data=(X[test], y[test]))
    predicted = net.predict(X[test]).argmax(axis=1)
    accuracy = float(np.mean(predicted == y[test]))
    confusion = _confusion(y[test], predicted, 10)
    if verbose:
        print(say(lang, "digits.accuracy", accuracy=accuracy, count=len(test)))
        print(say(lang, "digits.confusion"))
        print("     " + " ".join(f"{c:>3}" for c in range(10)))
        for digit, row in enumerate(confusion):
            print(f"  {digit}: " + " ".join(f"{v:>3}" for v in row))
    if plot:
        _save(plot, _digits_figure(X[test], y[test], predicted, confusion, history, lang), lang)
    return {"net": net, "history": history, "accuracy": accuracy, "confusion": confusion}


def _digits_figure(X, y, predicted, confusion, history, lang, count=24):
    """Held-out digits with their predicted labels (wrong ones in red), the confusion matrix
    and the loss curves."""
    from matplotlib.figure import Figure

    from . import plot as _plot
    fig = Figure(figsize=(13, 4.6), layout="constrained")
    left, middle, right = fig.subfigures(1, 3, width_ratios=[1.2, 1, 1])
    # the misclassified first, then correct ones, so that the mistakes are seen
    order = np.concatenate([np.flatnonzero(predicted != y), np.flatnonzero(predicted == y)])[:count]
    for k, axis in enumerate(left.subplots(4, 6).ravel()):
        axis.set_axis_off()
        if k < len(order):
            i = order[k]
            axis.imshow(X[i].reshape(8, 8), cmap="gray_r", vmin=0, vmax=1)
            axis.set_title(f"{predicted[i]}" if predicted[i] == y[i] else
                           say(lang, "fig.digit_is", predicted=predicted[i], true=y[i]),
                           fontsize=9, color="k" if predicted[i] == y[i] else "tab:red")
    left.suptitle(say(lang, "fig.digits_title"))
    ax = middle.subplots()
    image = ax.imshow(confusion, cmap="Blues")
    for (r, c), v in np.ndenumerate(confusion):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=7,
                    color="w" if v > confusion.max() / 2 else "k")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel(say(lang, "fig.predicted_digit"))
    ax.set_ylabel(say(lang, "fig.true_digit"))
    ax.set_title(say(lang, "fig.confusion_title"))
    middle.colorbar(image, ax=ax, label=say(lang, "fig.images"), shrink=0.8)
    _plot._draw_history(right.subplots(), _plot._records(history), lang)
    return _plot.speak(fig, lang)


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
        _save(plot, _plot.gradient_check(report, lang=lang), lang)
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
        _save(plot, _plot.gradient_flow(history, lang=lang), lang)
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


def _moons(n, noise, rng):
    """Two interleaved half circles, labels 0 and 1, with Gaussian noise."""
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    X = np.where(label[:, None] == 0, np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    return X + rng.normal(0, noise, X.shape), label


def regularization(seed=0, verbose=1, plot=None, epochs=600, width=64, lang="en"):
    """Overfitting, and what an L2 penalty does about it: it keeps the weights small.

    Forty noisy half-moon rows, each with 4 extra features of pure noise, and a
    6-64-64-2 ReLU network, far larger than they can support. It is trained
    twice, with Adam for ``epochs`` full-batch epochs: plainly, and with the L2
    penalty (λ/2)·Σ W² on every weight (``weight_decay=λ``: each step adds λ·W
    to dW), λ = 0.1. The demo prints, for both, the lowest validation loss and
    its epoch, the validation loss at the end, and the size of the weights kept,
    ‖W‖ = √(Σ w²) over all of them and the largest |w| (``weight_size``); then
    what these numbers show, each sentence chosen by the numbers (a smaller
    ‖W‖, a lower loss at the end, lower than the plain network's best epoch: or
    that it was not so).
    """
    check_lang(lang)
    rng = as_generator(seed)
    rows, extra, decay = 40, 4, 0.1

    def data(n):
        X, y = _moons(n, 0.15, rng)
        return np.column_stack([X, rng.normal(size=(n, extra))]), y
    X, y = data(rows)
    X_val, y_val = data(1000)
    sizes = (2 + extra, width, width, 2)
    init = int(rng.integers(2 ** 31))   # both networks start from the same weights

    def train(weight_decay):
        net = mlp(list(sizes), hidden="relu", output="softmax", seed=init)
        history = net.fit(X, y, loss=CrossEntropy(), optimizer=Adam(lr=3e-3, weight_decay=weight_decay),
                          epochs=epochs, batch_size=None, verbose=0, validation_data=(X_val, y_val))
        return net, history
    runs = {"plain": train(0.0), "penalised": train(decay)}
    final = {name: net.evaluate(X_val, y_val, loss=CrossEntropy()) for name, (net, _) in runs.items()}
    best = {name: (float(min(h["val_loss"])), int(np.argmin(h["val_loss"])) + 1)
            for name, (_, h) in runs.items()}
    size = {name: _weight_size(net) for name, (net, _) in runs.items()}
    if verbose:
        _tell_regularization(lang, final, best, size, rows=rows, features=2 + extra, extra=extra,
                             sizes="-".join(map(str, sizes)), epochs=epochs, decay=decay,
                             val_rows=len(X_val))
    if plot:
        _save(plot, _regularization_figure(runs, sizes, rows, lang), lang)
    return {"plain": runs["plain"], "penalised": runs["penalised"], "final": final, "best": best,
            "weight_size": size}


def _tell_regularization(lang, final, best, size, **setting):
    """The setting, a line of numbers per network, and what the numbers show."""
    print("\n".join(wrap(say(lang, "reg.setting", **setting))))
    names = {name: say(lang, f"reg.{name}") for name in final}
    column = max(map(width, names.values()))
    for name in final:
        print(say(lang, "reg.row", name=pad(names[name], column), best=best[name][0],
                  epoch=best[name][1], final=final[name]["loss"], accuracy=final[name]["accuracy"],
                  norm=size[name]["norm"], largest=size[name]["largest"]))
    numbers = {"norm_kept": size["penalised"]["norm"], "norm_plain": size["plain"]["norm"],
               "largest_kept": size["penalised"]["largest"], "largest_plain": size["plain"]["largest"],
               "final_kept": final["penalised"]["loss"], "final_plain": final["plain"]["loss"],
               "best_plain": best["plain"][0], "epoch_plain": best["plain"][1]}
    smaller = numbers["norm_kept"] < numbers["norm_plain"] and numbers["largest_kept"] < numbers["largest_plain"]
    told = [say(lang, "reg.smaller" if smaller else "reg.not_smaller", **numbers)]
    if numbers["final_kept"] < numbers["final_plain"]:
        told.append(say(lang, "reg.end_lower", **numbers))
        told.append(say(lang, "reg.best_lower" if numbers["final_kept"] < numbers["best_plain"]
                        else "reg.best_not_lower", **numbers))
    else:
        told.append(say(lang, "reg.end_not_lower", **numbers))
    print("\n".join(wrap(" ".join(told) if lang == "en" else "".join(told))))


def _regularization_figure(runs, sizes, rows, lang):
    from . import plot as _plot
    fig, [ax] = _plot._figure(1, width=7.0, height=4.0)
    for (name, (_, h)), colour in zip(runs.items(), ("tab:red", "tab:blue")):
        label = say(lang, f"reg.{name}")
        ax.plot(h["loss"], color=colour, alpha=0.5, label=say(lang, "fig.training", name=label))
        ax.plot(h["val_loss"], color=colour, label=say(lang, "fig.validation", name=label))
    ax.set(xlabel=say(lang, "fig.epoch"), ylabel=say(lang, "fig.cross_entropy"), yscale="log",
           title=say(lang, "fig.reg_title", rows=rows, sizes="-".join(map(str, sizes))))
    ax.legend(fontsize=8)
    return _plot.speak(fig, lang)


def _weight_size(net):
    """``{"norm": ‖W‖ = √(Σ w²), "largest": max |w|}`` over all the network's weights W
    (biases left out: no penalty touches them)."""
    W = np.concatenate([layer.W.ravel() for layer in net.layers if isinstance(layer, Dense)])
    return {"norm": float(np.sqrt(np.sum(W ** 2))), "largest": float(np.abs(W).max())}


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
        raise ValueError("the diagnose demo draws no figure: run it without --plot")
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


DEMOS = {"xor": xor, "xor-mse": xor_mse, "sine": sine, "digits": digits, "gradcheck": gradcheck,
         "gradient-health": gradient_health, "regularization": regularization,
         "diagnose": diagnose}
