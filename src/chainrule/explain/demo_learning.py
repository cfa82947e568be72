"""The demos of networks learning: XOR (on cross-entropy and on squared error), the sine,
the handwritten digits, and what an L2 penalty does to an overfitting network.

Each trains, prints its loss as it learns and what it learned at the end, and returns
its results; see :mod:`chainrule.explain.demos`.
"""
from __future__ import annotations

import numpy as np

from ..network.sequential import Sequential, mlp
from ..nn.activations import Identity, Sigmoid
from ..nn.init import as_generator
from ..nn.layers import Dense
from ..nn.losses import MSE, BinaryCrossEntropy, CrossEntropy
from ..optim.optimizers import SGD, Adam
from .demo_run import progress_bar, save_figure
from .demo_text import check_lang, say
from .text import pad, width, wrap


def _xor(loss, seed, verbose, plot, epochs, lang, lr=0.1):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    net = mlp([2, 4, 1], hidden="sigmoid", output=Sigmoid(), init="normal", seed=seed)
    if verbose:   # what the demo shows, then its numbers
        intro = (say(lang, "xor.intro", lr=lr, epochs=epochs) if isinstance(loss, BinaryCrossEntropy)
                 else say(lang, "xor_mse.intro", lr=lr, epochs=epochs))
        print("\n".join(wrap(intro)) + "\n", flush=True)
    fit_verbose, bar = progress_bar(verbose, lang)
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
        save_figure(plot, _plot.decision_boundary(net, X, y, history=history, output_label=label, lang=lang),
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
    check_lang(lang)
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
    if verbose:
        print("\n".join(wrap(say(lang, "sine.intro", lr=lr, epochs=epochs))) + "\n", flush=True)
    fit_verbose, bar = progress_bar(verbose, lang)
    history = net.fit(x, y, loss=MSE(), optimizer=SGD(lr=lr), epochs=epochs, batch_size=None,
                      verbose=fit_verbose, callbacks=bar)
    mse = float(history["loss"][-1])
    if verbose:
        print(say(lang, "sine.final", mse=mse))
    if plot:
        from . import plot as _plot
        save_figure(plot, _plot.fit_1d(net, x, y, history=history, lang=lang), lang)
    return {"net": net, "history": history, "mse": mse}


def _confusion(truth, predicted, k):
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def digits(seed=0, verbose=1, plot=None, epochs=40, hidden=128, lang="en"):
    """scikit-learn's 8×8 handwritten digits: 64-128-10, ReLU, softmax + cross-entropy, Adam.

    A fifth of the 1797 images is held out; the network never trains on them.
    """
    check_lang(lang)
    try:
        from sklearn.datasets import load_digits  # the data ships with scikit-learn
    except ImportError:
        raise ImportError(say(lang, "error.sklearn")) from None
    data = load_digits()
    X, y = data.data / 16.0, data.target  # pixels are 0..16: scale to [0, 1]
    order = as_generator(seed).permutation(len(X))
    test, train = order[:len(X) // 5], order[len(X) // 5:]
    net = mlp([64, hidden, 10], hidden="relu", output="softmax", seed=seed)
    # verbose=1: one bar over the epochs (fit's own bar is one per epoch: 40 of them)
    fit_verbose, bar = progress_bar(verbose, lang)
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
        save_figure(plot, _digits_figure(X[test], y[test], predicted, confusion, history, lang), lang)
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
    # below the matrix: at its side, the bar's label stood against the loss panel's y label
    middle.colorbar(image, ax=ax, label=say(lang, "fig.images"), location="bottom", shrink=0.8, aspect=30)
    _plot._draw_history(right.subplots(), _plot._records(history), lang)
    return _plot.speak(fig, lang)



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
        save_figure(plot, _regularization_figure(runs, sizes, rows, lang), lang)
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

