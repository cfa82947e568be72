"""The classic examples, runnable as ``chainrule demo NAME``.

Each demo is a function ``demo(seed, verbose, plot, ...) -> dict`` that
trains, prints its loss as it learns and what it learned at the end, and
returns its results (so tests can check them). Keyword arguments after
``plot`` shorten a run (fewer epochs, smaller sizes) for tests.
"""
from __future__ import annotations

import inspect

import numpy as np

from ..network.sequential import Sequential, mlp
from ..nn.activations import Identity, ReLU, Sigmoid, Softmax
from ..nn.init import as_generator
from ..nn.layers import Dense
from ..nn.losses import MSE, BinaryCrossEntropy, CrossEntropy
from ..optim.optimizers import SGD, Adam
from ..train.callbacks import ProgressBar
from .diagnose import diagnose as find_the_mistake
from .diagnose_views import wrap
from .gradcheck import gradient_check

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
    "regularization": ("60 noisy points, a 2-128-128-2 network: plain training overfits, dropout + "
                       "weight decay + early stopping keeps the validation loss low and the "
                       "weights small (their size printed for both)", None),
    "diagnose": ("a hand-written XOR backpropagation with one line wrong: cr.diagnose names the "
                 "line and the mistake (--lang zh: in 简体中文)", None),
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
                      callbacks=[ProgressBar(per_epoch=False)] if verbose == 1 else (),
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


def gradient_health(seed=0, verbose=1, plot=None, epochs=20, depth=10):
    """Vanishing gradients, seen: ``depth`` Dense(8, 8) + Sigmoid layers with N(0, 1) weights.

    Each sigmoid passes back at most a quarter of its gradient (σ' ≤ 1/4), so the
    first layers' gradient norms end up decades below the last one's;
    GradientMonitor says so in plain words, naming the layer.
    """
    import warnings

    from ..train.callbacks import GradientMonitor
    rng = as_generator(seed)
    X = rng.normal(size=(256, 8))
    y = (X[:, 0] * X[:, 1] > 0).astype(int)
    layers = []
    for _ in range(depth):
        layers += [Dense(8, 8, init="normal", seed=rng), Sigmoid()]
    net = Sequential(layers + [Dense(8, 1, init="normal", seed=rng), Sigmoid()])
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = net.fit(X, y, loss=BinaryCrossEntropy(), optimizer=SGD(lr=0.1), epochs=epochs,
                          seed=rng, batch_size=32, verbose=0,
                          callbacks=[GradientMonitor(every=5)])
    norms = {name: values[-1] for name, values in history.gradients["grad_norm"].items()}
    messages = sorted({str(w.message) for w in caught})
    if verbose:
        for message in messages:
            print(f"warning: {message}")
        for name, norm in norms.items():
            print(f"{name:18} last gradient norm {norm:.2e}")
    if plot:
        from . import plot as _plot
        _save(plot, _plot.gradient_flow(history))
    return {"net": net, "history": history, "norms": norms, "warnings": messages}


def _moons(n, noise, rng):
    """Two interleaved half circles, labels 0 and 1, with Gaussian noise."""
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    X = np.where(label[:, None] == 0, np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    return X + rng.normal(0, noise, X.shape), label


def regularization(seed=0, verbose=1, plot=None, epochs=600, width=128):
    """Overfitting, and what regularisation does about it.

    Sixty noisy half-moon points and a 2-128-128-2 ReLU network, far larger than
    they need. Trained plainly it learns the noise: the validation loss turns and
    climbs. With dropout (0.3), AdamW's weight decay and early stopping (which
    gives back its best epoch's weights) it stops near the bottom of that curve,
    with weights kept small: the point of the penalty, printed for both networks
    as ‖W‖ = √(Σ w²) over all their weights (what weight decay shrinks) and the
    largest |w| (``weight_size``), since small weights cannot bend the boundary
    around each noisy point.
    """
    from ..nn.dropout import Dropout
    from ..optim.optimizers import AdamW
    from ..train.callbacks import EarlyStopping
    rng = as_generator(seed)
    X, y = _moons(60, 0.35, rng)
    X_val, y_val = _moons(1000, 0.35, rng)

    def network(regularised):
        layers = [Dense(2, width, init="he", seed=rng), ReLU()]
        layers += [Dropout(0.3, seed=rng)] if regularised else []
        layers += [Dense(width, width, init="he", seed=rng), ReLU()]
        layers += [Dropout(0.3, seed=rng)] if regularised else []
        return Sequential(layers + [Dense(width, 2, seed=rng), Softmax()])

    settings = dict(loss=CrossEntropy(), epochs=epochs, batch_size=None, verbose=0,
                    validation_data=(X_val, y_val))
    plain = network(False)
    h_plain = plain.fit(X, y, optimizer=Adam(lr=1e-2), **settings)
    regular = network(True)
    stop = EarlyStopping(monitor="val_loss", patience=50, restore_best_weights=True)
    h_reg = regular.fit(X, y, optimizer=AdamW(lr=1e-2, weight_decay=0.1), callbacks=[stop], **settings)
    final = {name: net.evaluate(X_val, y_val, loss=CrossEntropy())
             for name, net in (("plain", plain), ("regularised", regular))}
    size = {"plain": _weight_size(plain), "regularised": _weight_size(regular)}
    if verbose:
        for name, h in (("plain", h_plain), ("regularised", h_reg)):
            print(f"{name:>12}: {len(h['loss'])} epochs, lowest val_loss {min(h['val_loss']):.3f} "
                  f"at epoch {int(np.argmin(h['val_loss']))}; kept weights: val_loss "
                  f"{final[name]['loss']:.3f}, val_accuracy {final[name]['accuracy']:.3f}")
        plain_size, kept = size["plain"], size["regularised"]
        print(f"the penalty keeps the weights small: the largest |w| {plain_size['largest']:.2f} "
              f"plain, {kept['largest']:.2f} regularised; ‖W‖ {plain_size['norm']:.1f} and "
              f"{kept['norm']:.1f}. Small weights cannot bend the boundary around each noisy point.")
    if plot:
        from . import plot as _plot
        fig, [ax] = _plot._figure(1, width=7.0, height=4.0)
        ax.plot(h_plain["loss"], color="tab:red", alpha=0.5, label="plain: training")
        ax.plot(h_plain["val_loss"], color="tab:red", label="plain: validation")
        ax.plot(h_reg["loss"], color="tab:blue", alpha=0.5, label="dropout + weight decay: training")
        ax.plot(h_reg["val_loss"], color="tab:blue", label="dropout + weight decay: validation")
        if stop.best_epoch is not None:
            ax.axvline(stop.best_epoch, color="tab:blue", linestyle=":",
                       label=f"early stopping keeps epoch {stop.best_epoch}")
        ax.set(xlabel="epoch", ylabel="cross-entropy", yscale="log",
               title=f"60 noisy points, a 2-{width}-{width}-2 network")
        ax.legend(fontsize=8)
        _save(plot, fig)
    return {"plain": (plain, h_plain), "regularised": (regular, h_reg), "final": final,
            "best_epoch": stop.best_epoch, "weight_size": size}


def _weight_size(net):
    """``{"norm": ‖W‖ = √(Σ w²), "largest": max |w|}`` over all the network's weights W
    (biases left out: no penalty touches them)."""
    W = np.concatenate([layer.W.ravel() for layer in net.layers if isinstance(layer, Dense)])
    return {"norm": float(np.sqrt(np.sum(W ** 2))), "largest": float(np.abs(W).max())}


#: What the diagnose demo says before the report, in each language it speaks.
DIAGNOSE_TEXT = {
    "en": ("A learner's first backpropagation, written by hand: the classic XOR network "
           "(2-4-1, sigmoid, binary cross-entropy), one forward and one backward pass, with one "
           "line wrong. cr.diagnose computes every array itself, compares each with the "
           "learner's in the order backpropagation computes them, and names the line and the "
           "mistake:"),
    "zh": ("初学者手写的第一个反向传播：经典的 XOR 网络（2-4-1，sigmoid，二元交叉熵），"
           "一次前向、一次反向，其中有一行写错了。cr.diagnose 自己算出每一个数组，"
           "按反向传播的计算顺序逐个与初学者的对照，并指出错在哪一行、是哪一种错误："),
}


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
    if lang not in DIAGNOSE_TEXT:
        raise ValueError(f"lang must be one of {', '.join(DIAGNOSE_TEXT)}, got {lang!r}")
    if plot:
        raise ValueError("the diagnose demo draws no figure: run it without --plot")
    rng = as_generator(seed)
    X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
    Y = np.array([[0], [1], [1], [0]], dtype=np.float64)
    W1, b1 = rng.normal(size=(2, 4)), np.zeros(4)
    W2, b2 = rng.normal(size=(4, 1)), np.zeros(1)
    mine = _xor_by_hand(X, Y, W1, b1, W2, b2)
    net = mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", dtype=np.float64)
    report = find_the_mistake(net, X, Y, mine, loss=BinaryCrossEntropy())
    if verbose:
        print("\n".join(wrap(DIAGNOSE_TEXT[lang])) + "\n")
        source = inspect.getsource(_xor_by_hand).splitlines()
        start = next(i for i, line in enumerate(source) if line.strip().startswith("m = "))
        end = next(i for i, line in enumerate(source) if line.strip().startswith("return"))
        print("\n".join(line[4:] for line in source[start:end]) + "\n")
        print(report.to_text(lang=lang))
    return {"report": report, "mine": mine}


DEMOS = {"xor": xor, "xor-mse": xor_mse, "sine": sine, "digits": digits, "gradcheck": gradcheck,
         "gradient-health": gradient_health, "regularization": regularization,
         "diagnose": diagnose}
