"""The classic examples, runnable as ``chainrule demo NAME``.

Each demo is a function ``demo(seed, verbose, plot, ...) -> dict`` that
trains, prints its loss as it learns and what it learned at the end, and
returns its results (so tests can check them). Keyword arguments after
``plot`` shorten a run (fewer epochs, smaller sizes) for tests.
"""
from __future__ import annotations

import sys

import numpy as np

from .activations import Identity, Sigmoid
from .callbacks import Callback
from .gradcheck import gradient_check
from .init import as_generator
from .layers import Dense
from .losses import MSE, BinaryCrossEntropy, CrossEntropy
from .network import Sequential, mlp
from .optimizers import SGD, Adam


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
}


def _save(plot, figure):
    from . import plot as _plot
    _plot.save(figure, plot)
    print(f"saved {plot}")


def _xor(loss, seed, verbose, plot, epochs, lr=0.1):
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    y = np.array([0, 1, 1, 0])
    net = mlp([2, 4, 1], hidden="sigmoid", output=Sigmoid(), init="normal", seed=seed)
    history = net.fit(X, y, loss=loss, optimizer=SGD(lr=lr), epochs=epochs,
                      batch_size=None, verbose=verbose)
    proba = net.predict(X)[:, 0]
    predicted = (proba > 0.5).astype(int)
    accuracy = float(np.mean(predicted == y))
    if verbose:
        print(f"final loss {history['loss'][-1]:.4f}")
        print("x1 x2 | target  output  predicted")
        for (a, b), target, p, c in zip(X.astype(int), y, proba, predicted):
            print(f" {a}  {b} |   {target}     {p:.4f}     {c}")
        print(f"accuracy {accuracy:.2f}")
    if plot:
        from . import plot as _plot
        # a squared-error network's output is not a probability, only trained towards 0 and 1
        label = "P(class 1)" if isinstance(loss, BinaryCrossEntropy) else \
            "network output A (MSE towards the labels 0, 1)"
        _save(plot, _plot.decision_boundary(net, X, y, history=history, output_label=label))
    return {"net": net, "history": history, "proba": proba, "accuracy": accuracy}


def xor(seed=0, verbose=1, plot=None, epochs=10_000):
    """XOR with a 2-4-1 sigmoid network, binary cross-entropy, full-batch gradient descent (lr 0.1)."""
    return _xor(BinaryCrossEntropy(), seed, verbose, plot, epochs)


def xor_mse(seed=0, verbose=1, plot=None, epochs=10_000):
    """The same XOR network trained on mean squared error.

    It learns too, but more slowly: with MSE the output's gradient carries an
    extra factor σ'(Z) = A(1 − A) ≤ 1/4, which the fused sigmoid +
    cross-entropy pair cancels (dZ = (A − Y)/m). Compare the final losses.
    """
    return _xor(MSE(), seed, verbose, plot, epochs)


def sine(seed=0, verbose=1, plot=None, epochs=4000, lr=0.1):
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
    history = net.fit(x, y, loss=MSE(), optimizer=SGD(lr=lr), epochs=epochs, batch_size=None,
                      verbose=verbose)
    mse = float(history["loss"][-1])
    if verbose:
        print(f"final MSE {mse:.4f}  (y ranges over ±20)")
    if plot:
        from . import plot as _plot
        _save(plot, _plot.fit_1d(net, x, y, history=history))
    return {"net": net, "history": history, "mse": mse}


def _confusion(truth, predicted, k):
    matrix = np.zeros((k, k), dtype=int)
    np.add.at(matrix, (truth, predicted), 1)
    return matrix


def digits(seed=0, verbose=1, plot=None, epochs=40, hidden=128):
    """scikit-learn's 8×8 handwritten digits: 64-128-10, ReLU, softmax + cross-entropy, Adam.

    A fifth of the 1797 images is held out; the network never trains on them.
    """
    try:
        from sklearn.datasets import load_digits  # the data ships with scikit-learn
    except ImportError:
        raise ImportError("the digits demo needs scikit-learn for its data set: "
                          "pip install 'chainrule[sklearn]'") from None
    data = load_digits()
    X, y = data.data / 16.0, data.target  # pixels are 0..16: scale to [0, 1]
    order = as_generator(seed).permutation(len(X))
    test, train = order[:len(X) // 5], order[len(X) // 5:]
    net = mlp([64, hidden, 10], hidden="relu", output="softmax", seed=seed)
    # verbose=1: one bar over the epochs (fit's own bar is one per epoch: 40 of them)
    history = net.fit(X[train], y[train], loss=CrossEntropy(), optimizer=Adam(lr=1e-3),
                      epochs=epochs, batch_size=32, seed=seed,
                      verbose=0 if verbose == 1 else verbose,
                      callbacks=[_EpochBar()] if verbose == 1 else (),
                      validation_data=(X[test], y[test]))
    predicted = net.predict(X[test]).argmax(axis=1)
    accuracy = float(np.mean(predicted == y[test]))
    confusion = _confusion(y[test], predicted, 10)
    if verbose:
        print(f"held-out accuracy {accuracy:.4f} on {len(test)} images")
        print("confusion matrix (rows: true digit, columns: predicted)")
        print("     " + " ".join(f"{c:>3}" for c in range(10)))
        for digit, row in enumerate(confusion):
            print(f"  {digit}: " + " ".join(f"{v:>3}" for v in row))
    if plot:
        _save(plot, _digits_figure(X[test], y[test], predicted, confusion, history))
    return {"net": net, "history": history, "accuracy": accuracy, "confusion": confusion}


class _EpochBar(Callback):
    """One tqdm bar over all the epochs, the latest losses beside it."""

    def on_train_begin(self, logs):
        from tqdm.auto import tqdm
        self.bar = tqdm(total=self.run.epochs, desc="training", unit="epoch", file=sys.stderr)

    def on_epoch_end(self, epoch, logs):
        self.bar.update(1)
        self.bar.set_postfix_str(", ".join(f"{k} {v:.4f}" for k, v in logs.items()
                                           if isinstance(v, float)), refresh=False)

    def on_train_end(self, logs):
        self.bar.close()


def _digits_figure(X, y, predicted, confusion, history, count=24):
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
            axis.set_title(f"{predicted[i]}" + ("" if predicted[i] == y[i] else f" (is {y[i]})"),
                           fontsize=9, color="k" if predicted[i] == y[i] else "tab:red")
    left.suptitle("held-out digits: predicted (true)")
    ax = middle.subplots()
    image = ax.imshow(confusion, cmap="Blues")
    for (r, c), v in np.ndenumerate(confusion):
        if v:
            ax.text(c, r, str(v), ha="center", va="center", fontsize=7,
                    color="w" if v > confusion.max() / 2 else "k")
    ax.set_xticks(range(10))
    ax.set_yticks(range(10))
    ax.set_xlabel("predicted digit")
    ax.set_ylabel("true digit")
    ax.set_title("confusion matrix (held out)")
    middle.colorbar(image, ax=ax, label="images", shrink=0.8)
    _plot._draw_history(right.subplots(), _plot._records(history))
    return fig


def gradcheck(seed=0, verbose=1, plot=None, sizes=(784, 50, 10), n=3):
    """Backpropagation against central differences on a two-layer 784-50-10 network.

    Sigmoid hidden layer, softmax output, cross-entropy; n random "images".
    Every derivative (39,760 parameters and the n·784 inputs) is checked, two
    forward passes each, so this takes a few seconds.
    """
    rng = as_generator(seed)
    net = mlp(list(sizes), hidden="sigmoid", output="softmax", seed=rng)
    X = rng.random((n, sizes[0]))
    y = rng.integers(0, sizes[-1], n)
    if verbose:
        count = net.n_params + X.size
        print(f"checking {count:,} derivatives of a {'-'.join(map(str, sizes))} network by "
              f"central differences ...", flush=True)
    report = gradient_check(net, CrossEntropy(), X, y)
    if verbose:
        print(report)
        verdict = "agree" if report.max_relative_error < 1e-6 else "DISAGREE"
        print(f"backpropagation and numerical derivatives {verdict}")
    if plot:
        from . import plot as _plot
        _save(plot, _plot.gradient_check(report))
    return {"net": net, "report": report, "max_relative_error": report.max_relative_error}


DEMOS = {"xor": xor, "xor-mse": xor_mse, "sine": sine, "digits": digits, "gradcheck": gradcheck}
