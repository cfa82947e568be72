"""Warnings a library user sees point at the user's own call (chainrule.nn.checks.warn_user),
not at the line inside chainrule that noticed: the trial's ConvergenceWarning named
chainrule/train/epochs.py."""
import warnings

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.checks import warn_user


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    assert caught, "no warning"
    return caught


def _data(n=40):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(n, 3))
    return X, (X[:, 0] > 0).astype(int)


def _classifier(**settings):
    pytest.importorskip("sklearn")
    from chainrule.sklearn import MLPClassifier
    return MLPClassifier(hidden_layer_sizes=(4,), random_state=0, **settings)


def _monitored_fit():
    X, y = _data()
    net = cr.mlp([3, 4, 1], hidden="sigmoid", output="sigmoid", seed=0)
    net.fit(X * 1e4, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=2,
            batch_size=None, verbose=0, callbacks=[cr.callbacks.GradientMonitor(every=1)])


@pytest.mark.parametrize("case", ["max_iter", "batch_size", "column y", "lbfgs", "monitor"])
def test_a_warning_points_at_the_users_call(case):
    X, y = _data()
    calls = {
        "max_iter": lambda: _classifier(max_iter=2).fit(X, y),
        "batch_size": lambda: _classifier(max_iter=2, batch_size=1000).fit(X, y),
        "column y": lambda: _classifier(max_iter=2).fit(X, y[:, None]),
        "lbfgs": lambda: _classifier(solver="lbfgs", max_iter=1).fit(X, y),
        "monitor": _monitored_fit,
    }
    for w in _caught(calls[case]):
        assert w.filename == __file__, (case, w.filename, w.lineno, str(w.message))


def test_a_resume_with_nothing_left_points_at_the_fit(tmp_path):
    X, y = _data()
    path = tmp_path / "c.safetensors"

    def fit(**more):
        net = cr.mlp([3, 4, 1], output="sigmoid", seed=0)
        net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.Adam(lr=0.01), epochs=2,
                batch_size=None, verbose=0, seed=0, **more)
    fit(callbacks=[cr.ModelCheckpoint(path)])
    caught = _caught(lambda: fit(resume_from=path))
    assert [w.filename for w in caught] == [__file__], [(w.filename, w.message) for w in caught]


def test_warn_user_counts_the_frames_inside_chainrule():
    def inner():
        warn_user("from outside chainrule", RuntimeWarning)
    w, = _caught(inner)
    # called from outside the package, the warning names that call: inner's own line
    assert w.category is RuntimeWarning and w.filename == __file__
    assert w.lineno == inner.__code__.co_firstlineno + 1
