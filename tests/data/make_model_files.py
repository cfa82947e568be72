"""Writes the model files in this folder, as chainrule 0.1.0 wrote them (issue 22).

tests/test_io.py loads them with today's code: files written before the loader
was hardened must still load. Run from the repository root with the chainrule to
record, e.g. ``PYTHONPATH=src python tests/data/make_model_files.py``; the files
here were written at commit 184be14 (before ``load(path, layers=...)`` existed).
Each network file stores the inputs it was checked on (extra tensor "X") and the
outputs the network gave them then ("expected"); cli-predictions-0.1.0.csv is what
``chainrule predict`` printed for the table with the command line's model.
"""
import pathlib

import numpy as np

import chainrule as cr
from chainrule import cli

HERE = pathlib.Path(__file__).resolve().parent


class Cube(cr.nn.Activation):
    """A user's layer, ``A = Z³``; tests/test_io.py defines the same class."""

    def forward(self, Z):
        self.Z = Z
        return Z ** 3

    def backward(self, dA):
        return 3 * dA * self._cached("Z") ** 2


def every_layer():
    """A float64 network with one of each of chainrule's layers, trained a little."""
    dense = iter(range(100))
    d = lambda n_in, n_out, **kw: cr.Dense(n_in, n_out, seed=next(dense), dtype=np.float64, **kw)
    layers = [d(3, 5, init="he"), cr.BatchNorm(5, dtype=np.float64), cr.ReLU(), cr.Dropout(0.25, seed=1),
              d(5, 4, l2=0.01), cr.LayerNorm(4, dtype=np.float64), cr.LeakyReLU(0.2),
              d(4, 4, l1=0.001), cr.ELU(0.5), d(4, 4), cr.GELU(), d(4, 4), cr.Tanh(),
              d(4, 4), cr.Softplus(), d(4, 4), cr.Sigmoid(), d(4, 4), cr.Identity(),
              d(4, 4, init="uniform"), cr.Exp(), d(4, 3, init="xavier"), cr.Softmax()]
    net = cr.Sequential(layers, dtype=np.float64)
    rng = np.random.default_rng(0)
    X = rng.normal(size=(32, 3))
    y = (X[:, 0] > 0).astype(int) + (X[:, 1] > 0)
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.01), epochs=3, batch_size=8,
            seed=0, verbose=0)
    return net, X[:6]


def main():
    net, X = every_layer()
    net.save(HERE / "model-0.1.0.safetensors", metadata={"labels": ["a", "b", "c"]},
             extra_tensors={"X": X, "expected": net.predict(X)})

    user = cr.Sequential([cr.Dense(2, 3, seed=0), Cube(), cr.Dense(3, 1, seed=1)])
    X2 = np.random.default_rng(1).normal(size=(4, 2)).astype(np.float32)
    user.save(HERE / "user-layer-0.1.0.safetensors", extra_tensors={"X": X2, "expected": user.predict(X2)})

    # a checkpoint after 2 of 4 epochs (tests/test_io.py resumes it)
    rng = np.random.default_rng(2)
    X3, y3 = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))
    ck = cr.Sequential([cr.Dense(3, 4, seed=0, dtype=np.float64), cr.Tanh(),
                        cr.Dense(4, 1, seed=1, dtype=np.float64)], dtype=np.float64)
    ck.fit(X3, y3, loss=cr.MSE(), optimizer=cr.Adam(lr=0.01), epochs=2, batch_size=8, seed=5,
           validation_split=0.25, verbose=0,
           callbacks=[cr.EarlyStopping(patience=10),
                      cr.ModelCheckpoint(HERE / "checkpoint-0.1.0.safetensors")])

    from chainrule.sklearn import MLPClassifier
    X4 = rng.normal(size=(60, 3))
    y4 = np.where(X4[:, 0] + X4[:, 1] > 0, "yes", "no")
    est = MLPClassifier(hidden_layer_sizes=(5,), max_iter=50, random_state=0).fit(X4, y4)
    est.save(HERE / "estimator-0.1.0.safetensors",
             extra_tensors={"X": X4[:8], "expected": est.predict_proba(X4[:8])})

    rows = ["size,colour,label"] + [f"{s:.3f},{c},{'big' if s > 0 else 'small'}"
                                    for s, c in zip(rng.normal(size=40), ["red", "blue"] * 20)]
    (HERE / "table-0.1.0.csv").write_text("\n".join(rows) + "\n")
    cli.main(["train", str(HERE / "table-0.1.0.csv"), "--target", "label", "--hidden", "4",
              "--epochs", "200", "--lr", "0.01", "--seed", "0", "--quiet",
              "--out", str(HERE / "cli-0.1.0.safetensors")])
    cli.main(["predict", str(HERE / "cli-0.1.0.safetensors"), str(HERE / "table-0.1.0.csv"),
              "--proba", "--out", str(HERE / "cli-predictions-0.1.0.csv")])


if __name__ == "__main__":
    main()
