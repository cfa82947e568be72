"""One call at a time on a network or an estimator, across threads (chainrule.network.modes).

Each test puts the other thread exactly where it needs it with ``threading.Event``:
a layer whose forward pass stops there, a callback that waits. No sleep stands in for
synchronisation; ``sys.setswitchinterval`` is lowered meanwhile, so that the threads
switch as often as the interpreter lets them between those points. A wait that runs
out (WAIT) fails the test rather than hanging it.

Weights are compared in float64 within TOL: the runs compared do the same sums (of at
most 64 terms) in the same order, so they agree to rounding, far below the 1e-2 by
which a disturbed run ended up away from an undisturbed one.
"""
from __future__ import annotations

import copy
import sys
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule.nn.layers import Layer

from conftest import assert_close, numba_works

#: Seconds before a wait counts as a hang: a safety net, never a means of ordering.
WAIT = 30.0
TOL = 1e-12


@pytest.fixture(autouse=True)
def switch_often():
    before = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    yield
    sys.setswitchinterval(before)


class Background(threading.Thread):
    """``fn()`` in a daemon thread of the given name; ``result`` or ``error`` after ``finish()``."""

    def __init__(self, fn, name):
        super().__init__(name=name, daemon=True)
        self.fn, self.result, self.error = fn, None, None

    def run(self):
        try:
            self.result = self.fn()
        except BaseException as error:
            self.error = error

    def finish(self):
        self.join(WAIT)
        assert not self.is_alive(), f"thread {self.name!r} did not finish"
        return self


class Hold(Layer):
    """The identity; its forward stops in the thread named ``stop_in`` (``inside`` set)
    until ``go`` is set."""

    def __init__(self, stop_in):
        self.stop_in, self.inside, self.go = stop_in, threading.Event(), threading.Event()

    def forward(self, X):
        if threading.current_thread().name == self.stop_in:
            self.inside.set()
            assert self.go.wait(WAIT)
        return X

    def backward(self, dA):
        return dA


class Release(Layer):
    """The identity; the first forward in another thread than ``hold``'s lets that one go
    and waits for it to return. Without the owner, the held call's forward pass then ran
    in the middle of this thread's, between its forward and its backward."""

    def __init__(self, hold):
        self.hold, self.waits_for = hold, None

    def forward(self, X):
        thread = self.waits_for
        if thread is not None and threading.current_thread().name != self.hold.stop_in:
            self.waits_for = None
            self.hold.go.set()
            thread.finish()
        return X

    def backward(self, dA):
        return dA


class StopsOnFlag(Layer):
    """The identity; reading its ``training`` flag in thread ``stop_in`` stops that thread,
    once, until ``go``: fit reads every flag when it enters training mode, which is where
    it used to have checked the network was free without yet marking it taken."""

    def __init__(self, stop_in):
        self.stop_in, self.inside, self.go, self._training = stop_in, threading.Event(), \
            threading.Event(), True

    @property
    def training(self):
        if threading.current_thread().name == self.stop_in and not self.inside.is_set():
            self.inside.set()
            assert self.go.wait(WAIT)
        return self._training

    @training.setter
    def training(self, value):
        self._training = value

    def forward(self, X):
        return X

    def backward(self, dA):
        return dA


def stop_once():
    """A callback stopping the fit that calls it first, once, until ``go``; and its events."""
    inside, go = threading.Event(), threading.Event()

    def stop(*args):
        if not inside.is_set():
            inside.set()
            assert go.wait(WAIT)
    return cr.LambdaCallback(on_epoch_end=stop), inside, go


def network(*gates, seed=0):
    """4-8-1 tanh in float64, the same weights for the same seed; ``gates``: (after the first
    Dense, before the last layer)."""
    first, last = (gates + (None, None))[:2]
    layers = [cr.Dense(4, 8, seed=seed), first, cr.Tanh(), cr.Dense(8, 1, seed=seed + 1), last]
    return cr.Sequential([layer for layer in layers if layer is not None], dtype=np.float64)


def data(rng, n=64):
    return rng.standard_normal((n, 4)), rng.standard_normal((n, 1))


def train(net, X, y, **settings):
    settings = {"epochs": 2, "batch_size": 16, "seed": 0, "verbose": 0, **settings}
    return net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), **settings)


# -- finding 1: fit starting while a prediction is inside its forward pass -------------------

@pytest.mark.parametrize("rows, batch_size", [(16, 16), (16, 32)])
def test_fit_refuses_to_start_while_predict_is_inside_its_forward_pass(engine, rng, rows,
                                                                        batch_size):
    """It used to start: its weights ended 0.013 away from an undisturbed run, or, with
    another batch size, a raw matmul error ("size 16 is different from 32")."""
    X, y = data(rng)
    hold = Hold("predict")
    release = Release(hold)
    net, reference = network(hold, release), network()
    release.waits_for = prediction = Background(lambda: net.predict(X[:rows]), "predict")
    prediction.start()
    assert hold.inside.wait(WAIT)
    try:
        with pytest.raises(RuntimeError, match=r"^fit was refused: predict is running on this "
                                               r"network in another thread \('predict'\)"):
            train(net, X, y, batch_size=batch_size)
    finally:
        hold.go.set()
        prediction.finish()
    assert prediction.error is None
    assert_close(prediction.result, reference.predict(X[:rows]), TOL, "the prediction")
    # nothing was touched: fit now trains as an undisturbed run does
    train(net, X, y, batch_size=batch_size)
    train(reference, X, y, batch_size=batch_size)
    assert_close(net.flat_params, reference.flat_params, TOL, "weights")


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_warm_start_fit_refuses_to_start_while_predict_proba_runs(rng):
    """The same for an estimator: a warm-start fit went on while predict_proba was inside
    the network (gates put into network_'s layers place both)."""
    sklearn = pytest.importorskip("chainrule.sklearn")
    X, y = rng.standard_normal((48, 4)), rng.integers(0, 3, 48)
    est = sklearn.MLPClassifier((8,), warm_start=True, max_iter=3, random_state=0,
                                dtype=np.float64).fit(X, y)
    reference = copy.deepcopy(est)
    hold = Hold("predict_proba")
    release = Release(hold)
    layers = est.network_.layers
    layers.insert(1, hold)                  # identities without parameters: the same network,
    layers.insert(len(layers) - 1, release)  # the fused softmax still last
    release.waits_for = prediction = Background(lambda: est.predict_proba(X[:16]),
                                                "predict_proba")
    prediction.start()
    assert hold.inside.wait(WAIT)
    try:
        with pytest.raises(RuntimeError, match=r"^MLPClassifier\.fit was refused: MLPClassifier"
                                               r"\.predict_proba is running on this "
                                               r"MLPClassifier in another thread"):
            est.fit(X, y)
    finally:
        hold.go.set()
        prediction.finish()
    assert prediction.error is None
    assert_close(prediction.result, reference.predict_proba(X[:16]), TOL, "probabilities")
    est.fit(X, y)
    reference.fit(X, y)
    assert_close(est.network_.flat_params, reference.network_.flat_params, TOL, "weights")
    assert est.n_iter_ == reference.n_iter_ == 6


# -- finding 2: two fits of one estimator at once ---------------------------------------------

@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_an_estimator_refuses_a_second_fit_while_its_first_runs(rng):
    """Neither used to raise: the estimator ended with n_iter_=10 for max_iter=5, ten
    losses in loss_curve_, and coefficients 0.07 away from a single fit's."""
    sklearn = pytest.importorskip("chainrule.sklearn")
    X, y = rng.standard_normal((48, 4)), rng.integers(0, 3, 48)
    settings = dict(hidden_layer_sizes=(8,), max_iter=5, random_state=0, dtype=np.float64)
    callback, inside, go = stop_once()
    est = sklearn.MLPClassifier(**settings, callbacks=[callback])
    first = Background(lambda: est.fit(X, y), "first fit")
    first.start()
    assert inside.wait(WAIT)
    refused = r"^MLPClassifier\.{} was refused: "
    training = r"this MLPClassifier is being trained by MLPClassifier\.fit in another thread " \
               r"\('first fit'\)"
    running = training + "; two trainings of one MLPClassifier at once would mix their updates"
    try:
        with pytest.raises(RuntimeError, match=refused.format("fit") + running):
            est.fit(X, y)
        with pytest.raises(RuntimeError, match=refused.format("partial_fit") + running):
            est.partial_fit(X, y)
        with pytest.raises(RuntimeError, match=refused.format("predict") + training):
            est.predict(X)
        with pytest.raises(RuntimeError, match=refused.format("predict_proba") + training):
            est.predict_proba(X)
    finally:
        go.set()
        first.finish()
    assert first.error is None
    alone = sklearn.MLPClassifier(**settings).fit(X, y)
    assert est.n_iter_ == alone.n_iter_ == 5
    assert len(est.loss_curve_) == 5
    for i, (W, W_alone) in enumerate(zip(est.coefs_, alone.coefs_)):
        assert_close(W, W_alone, TOL, f"coefs_[{i}]")


# -- finding 3 (and 13): two fits of one Sequential at once ------------------------------------

def test_a_second_fit_is_refused_in_the_moment_the_first_enters_training_mode(rng):
    """The owner check was check-then-act: a fit stopped between its check and marking the
    network taken let a second fit through, and both trained together. The refusal names
    the refused call, a fit (it used to say "predicting or evaluating")."""
    X, y = data(rng)
    gate = StopsOnFlag("first fit")
    net, reference = network(gate), network()
    first = Background(lambda: train(net, X, y), "first fit")
    first.start()
    assert gate.inside.wait(WAIT)
    try:
        with pytest.raises(RuntimeError, match=r"^fit was refused: this network is being "
                                               r"trained by fit in another thread \('first fit'\); "
                                               r"two trainings of one network at once"):
            train(net, X, y)
    finally:
        gate.go.set()
        first.finish()
    assert first.error is None
    train(reference, X, y)
    assert_close(net.flat_params, reference.flat_params, TOL, "weights")


def test_a_second_fit_is_refused_before_it_restores_a_checkpoint(rng, tmp_path):
    """A second fit used to do its setup first (resume_from wrote the checkpoint's weights
    into the network under the running fit) and refuse only after."""
    X, y = data(rng)
    path = tmp_path / "other.ckpt"
    train(network(seed=5), X, y, epochs=1, callbacks=[cr.ModelCheckpoint(path)])
    callback, inside, go = stop_once()
    net, reference = network(), network()
    first = Background(lambda: train(net, X, y, callbacks=[callback]), "first fit")
    first.start()
    assert inside.wait(WAIT)
    try:
        with pytest.raises(RuntimeError, match=r"^fit was refused: this network is being "
                                               r"trained by fit in another thread"):
            train(net, X, y, epochs=3, resume_from=path)
    finally:
        go.set()
        first.finish()
    assert first.error is None
    train(reference, X, y)
    assert_close(net.flat_params, reference.flat_params, TOL, "weights")


def test_two_fits_started_together_never_train_together(rng):
    """Started at one barrier, many times over: one fit is refused and the weights are
    one run's, or the two ran one after the other; never a mix of the two."""
    X, y = data(rng, n=32)
    once, twice = network(), network()
    for net, runs in ((once, 1), (twice, 2)):
        for _ in range(runs):
            train(net, X, y, epochs=1, batch_size=8)
    for attempt in range(40):
        net, barrier = network(), threading.Barrier(2)

        def fit():
            barrier.wait(WAIT)
            train(net, X, y, epochs=1, batch_size=8)
        threads = [Background(fit, f"fit {i}") for i in range(2)]
        for thread in threads:
            thread.start()
        errors = [thread.finish().error for thread in threads]
        refused = [e for e in errors if e is not None]
        assert all(isinstance(e, RuntimeError) and str(e).startswith("fit was refused: ")
                   for e in refused), (attempt, refused)
        assert len(refused) < 2, (attempt, refused)
        expected = once if refused else twice
        assert_close(net.flat_params, expected.flat_params, TOL, f"weights, attempt {attempt}")


# -- every other call, from another thread, during fit -----------------------------------------

def _one_row(net, X):
    """predict of one row, where it runs the compiled engine's forward_rows if numba runs."""
    if not numba_works():
        return net.predict(X[:1])
    with cr.engine.using("compiled"):
        return net.predict(X[:1])


#: Each call that fit's holding refuses to another thread, by the name its message gives.
CALLS = {
    "predict": lambda net, X, y, path: net.predict(X),
    "predict (one row)": lambda net, X, y, path: _one_row(net, X),
    "evaluate": lambda net, X, y, path: net.evaluate(X, y, loss=cr.MSE(), metrics=()),
    "forward": lambda net, X, y, path: net.forward(X),
    "forward_backward": lambda net, X, y, path: net.forward_backward(X, y, cr.MSE()),
    "trace": lambda net, X, y, path: net.trace(X, y, cr.MSE()),
    "copy": lambda net, X, y, path: net.copy(),
    "copy (pickle or copy.deepcopy)": lambda net, X, y, path: copy.deepcopy(net),
    "eval()": lambda net, X, y, path: net.eval(),
    "save": lambda net, X, y, path: net.save(path),
    "save (cr.save)": lambda net, X, y, path: cr.save(net, path),
    "Sequential(layers) taking over its layers": lambda net, X, y, path: cr.Sequential(net.layers),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_calls_from_another_thread_during_fit_are_refused(rng, tmp_path, name):
    X, y = data(rng)
    net, reference = network(), network()
    other = []

    def meanwhile(batch, logs):
        if not other:   # in the first batch: the other thread runs its call to the end
            other.append(Background(lambda: CALLS[name](net, X[:3], y[:3], tmp_path / "m.st"),
                                    "other"))
            other[0].start()
            other[0].finish()
    train(net, X, y, callbacks=[cr.LambdaCallback(on_batch_end=meanwhile)])
    error = other[0].error
    assert isinstance(error, RuntimeError), error
    refused = name.replace(" (one row)", "").replace(" (cr.save)", "")
    assert str(error).startswith(f"{refused} was refused: this network is being trained by fit "
                                 "in another thread ('MainThread')"), str(error)
    train(reference, X, y)      # fit was not disturbed
    assert_close(net.flat_params, reference.flat_params, TOL, "weights")
    assert not net._released     # the refused take-over left the layers where they were


def test_callbacks_of_fit_may_predict_and_evaluate_in_its_thread(rng):
    """The thread that holds the network may call it again: validation data, monitors."""
    X, y = data(rng)
    net = cr.Sequential([cr.Dense(4, 8, seed=0), cr.Tanh(), cr.Dropout(0.3, seed=2),
                         cr.Dense(8, 1, seed=1)], dtype=np.float64)
    reference = net.copy()
    seen = []

    def look(*args):
        twin = net.copy()
        twin.eval()
        assert_close(net.predict(X), twin.predict(X), TOL, "prediction inside fit")
        seen.append(net.evaluate(X, y, loss=cr.MSE(), metrics=())["loss"])
        assert all(layer.training for layer in net.layers)   # training mode is back
    train(net, X, y, callbacks=[cr.LambdaCallback(on_batch_end=look, on_epoch_end=look)])
    train(reference, X, y)
    assert len(seen) == 2 * (4 + 1)
    assert_close(net.flat_params, reference.flat_params, TOL, "weights")


def test_a_prediction_waits_for_another_threads_prediction_to_return(rng):
    """A network left in training mode: each prediction switches it to evaluation mode and
    back. The second prediction waits at the network's owner until the first returns:
    without turns, the first's switch back would let the second's Dropout drop."""
    from chainrule.network.modes import owner_of
    X = rng.standard_normal((8, 4))
    hold = Hold("first")
    net = cr.Sequential([cr.Dense(4, 16, seed=0), hold, cr.ReLU(), cr.Dropout(0.5, seed=1),
                         cr.Dense(16, 2, seed=2)], dtype=np.float64).train()
    expected = cr.Sequential([cr.Dense(4, 16, seed=0), cr.ReLU(),
                              cr.Dense(16, 2, seed=2)], dtype=np.float64).predict(X)
    first = Background(lambda: net.predict(X), "first")
    first.start()
    assert hold.inside.wait(WAIT)
    second = Background(lambda: net.predict(X), "second")
    second.start()
    try:
        owner = owner_of(net)
        while not owner.waiting:   # no event tells that it is waiting: look until it is
            second.join(0.001)
            assert second.is_alive(), "the second prediction ran while the first was inside"
    finally:
        hold.go.set()
    for thread in (first, second):
        assert thread.finish().error is None, thread.error
        assert_close(thread.result, expected, TOL, f"the {thread.name} prediction")
    assert all(layer.training for layer in net.layers)


def test_a_call_that_fails_frees_the_network(rng):
    """The owner is released on the way out of an exception, whichever the call."""

    class Fails(Layer):
        fail = True

        def forward(self, X):
            if self.fail:
                raise ArithmeticError("inside forward")
            return X

        def backward(self, dA):
            return dA

    X, y = data(rng)
    gate = Fails()
    net = network(gate)
    with pytest.raises(ArithmeticError):
        net.predict(X)
    with pytest.raises(ArithmeticError):
        train(net, X, y)
    gate.fail = False
    other = Background(lambda: train(net, X, y), "other")
    other.start()
    assert other.finish().error is None


def test_the_first_layer_is_asked_for_no_dX_only_when_its_class_says_it_can_skip_it():
    asked = []

    class Scale(cr.Layer):
        """A = 2X; records the need_dX it was given (a user layer that does not declare can_skip_dX)."""

        def forward(self, X):
            return 2 * X

        def backward(self, dA, need_dX=True):
            asked.append(need_dX)
            return 2 * dA

    X, y = np.ones((4, 2)), np.ones((4, 1))
    net = cr.Sequential([Scale(), cr.Dense(2, 1, seed=0)])
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=1, verbose=0)
    assert asked == [True]          # not declared: asked for dX as any other layer
    Scale.can_skip_dX = True
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=1, verbose=0)
    assert asked == [True, False]   # declared: asked for none
