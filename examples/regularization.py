"""Overfitting, and what regularisation does about it.

Sixty noisy points of two interleaved half-moons, and a network far larger
than they need (2-128-128-2). Trained plainly, it learns the noise: the
training loss keeps falling while the validation loss turns and climbs. The
same network with dropout, decoupled weight decay (AdamW) and early stopping
(which gives back the weights of its best epoch) stops near the bottom of
that curve and classifies new points better.

    python examples/regularization.py            # writes regularization.png
"""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np

import chainrule as cr


def moons(n, noise, rng):
    """Two interleaved half circles, labels 0 and 1, with Gaussian noise."""
    t = rng.uniform(0, np.pi, n)
    label = rng.integers(0, 2, n)
    X = np.where(label[:, None] == 0,
                 np.column_stack([np.cos(t), np.sin(t)]),
                 np.column_stack([1 - np.cos(t), 0.5 - np.sin(t)]))
    return X + rng.normal(0, noise, X.shape), label


def network(regularised, seed):
    rng = np.random.default_rng(seed)
    layers = [cr.Dense(2, 128, init="he", seed=rng), cr.ReLU()]
    if regularised:
        layers.append(cr.Dropout(0.3, seed=rng))
    layers += [cr.Dense(128, 128, init="he", seed=rng), cr.ReLU()]
    if regularised:
        layers.append(cr.Dropout(0.3, seed=rng))
    layers += [cr.Dense(128, 2, seed=rng), cr.Softmax()]
    return cr.Sequential(layers)


def main(path="regularization.png"):
    rng = np.random.default_rng(0)
    X, y = moons(60, 0.35, rng)
    X_val, y_val = moons(1000, 0.35, rng)
    settings = dict(loss=cr.CrossEntropy(), epochs=600, batch_size=None, verbose=0,
                    validation_data=(X_val, y_val))

    plain = network(False, seed=1)
    h_plain = plain.fit(X, y, optimizer=cr.Adam(lr=1e-2), **settings)

    regular = network(True, seed=1)
    stop = cr.EarlyStopping(monitor="val_loss", patience=50, restore_best_weights=True)
    h_reg = regular.fit(X, y, optimizer=cr.AdamW(lr=1e-2, weight_decay=0.1), callbacks=[stop],
                        **settings)

    for name, net, h in (("plain", plain, h_plain), ("regularised", regular, h_reg)):
        final = net.evaluate(X_val, y_val, loss=cr.CrossEntropy())
        print(f"{name:>12}: {len(h['loss'])} epochs, lowest val_loss "
              f"{min(h['val_loss']):.3f} at epoch {int(np.argmin(h['val_loss']))}; "
              f"kept weights: val_loss {final['loss']:.3f}, val_accuracy {final['accuracy']:.3f}")

    fig, ax = plt.subplots(figsize=(7, 4))
    ax.plot(h_plain["loss"], color="tab:red", alpha=0.5, label="plain: training")
    ax.plot(h_plain["val_loss"], color="tab:red", label="plain: validation")
    ax.plot(h_reg["loss"], color="tab:blue", alpha=0.5,
            label="dropout + weight decay: training")
    ax.plot(h_reg["val_loss"], color="tab:blue", label="dropout + weight decay: validation")
    ax.axvline(stop.best_epoch, color="tab:blue", linestyle=":",
               label=f"early stopping keeps epoch {stop.best_epoch}")
    ax.set(xlabel="epoch", ylabel="cross-entropy", yscale="log",
           title="60 noisy points, a 2-128-128-2 network")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    print(f"wrote {path}")
    return {"plain": (plain, h_plain), "regularised": (regular, h_reg),
            "validation": (X_val, y_val)}


if __name__ == "__main__":
    main(*sys.argv[1:])
