"""Sequential and mlp(): structure, parameters in flat buffers, dtype, inspection."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr
from chainrule.network.modes import owner_of

from conftest import assert_blas_close, sums_length

# -- mlp() ----------------------------------------------------------------------------------

def test_mlp_structure():
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid")
    assert [type(layer) for layer in net.layers] == [cr.Dense, cr.Sigmoid, cr.Dense, cr.Sigmoid]
    assert (net[0].n_in, net[0].n_out, net[2].n_in, net[2].n_out) == (2, 4, 4, 1)
    assert (net.n_in, net.n_out, len(net)) == (2, 1, 4)
    deep = cr.mlp([5, 8, 7, 6, 3], hidden="tanh", output="softmax")
    assert [type(layer).__name__ for layer in deep.layers] == [
        "Dense", "Tanh", "Dense", "Tanh", "Dense", "Tanh", "Dense", "Softmax"]
    assert [layer.n_out for layer in deep.layers[::2]] == [8, 7, 6, 3]


@pytest.mark.parametrize("hidden, expected", [
    ("relu", "he"), ("leaky_relu", "he"), ("elu", "he"), ("gelu", "he"),
    ("sigmoid", "xavier"), ("tanh", "xavier"), ("softplus", "xavier"), ("identity", "xavier"),
])
def test_mlp_default_inits(hidden, expected):
    net = cr.mlp([3, 4, 5, 2], hidden=hidden, output="identity", seed=0)
    assert [layer.init for layer in net.layers[::2]] == [expected, expected, "xavier"]


def test_mlp_default_weights_are_exactly_he_then_xavier():
    net = cr.mlp([3, 5, 2], hidden="relu", seed=11, dtype=np.float64)
    rng = np.random.default_rng(11)
    W0 = rng.standard_normal((3, 5)) * np.sqrt(2 / 3)                   # He: N(0, 2/n_in)
    W1 = rng.uniform(-np.sqrt(6 / 7), np.sqrt(6 / 7), (5, 2))           # Glorot uniform
    np.testing.assert_array_equal(net[0].W, W0)
    np.testing.assert_array_equal(net[2].W, W1)
    np.testing.assert_array_equal(net[0].b, 0)
    np.testing.assert_array_equal(net[2].b, 0)
    # float32 starts from the same weights, rounded
    np.testing.assert_array_equal(cr.mlp([3, 5, 2], hidden="relu", seed=11)[0].W, W0.astype(np.float32))


def test_mlp_init_override_and_seed():
    net = cr.mlp([2, 3, 1], init="uniform", seed=4)
    assert net[0].init == net[2].init == "uniform"
    assert np.all((net.flat_params[:6] >= 0) & (net.flat_params[:6] < 1))
    a, b = cr.mlp([4, 6, 3], seed=9), cr.mlp([4, 6, 3], seed=9)
    np.testing.assert_array_equal(a.flat_params, b.flat_params)
    assert not np.array_equal(a.flat_params, cr.mlp([4, 6, 3], seed=10).flat_params)
    c = cr.mlp([4, 6, 3], seed=np.random.default_rng(9))
    np.testing.assert_array_equal(a.flat_params, c.flat_params)


def test_mlp_layer_instances_are_copied():
    leaky = cr.LeakyReLU(0.2)
    net = cr.mlp([2, 3, 3, 1], hidden=leaky, output=cr.Sigmoid())
    assert net[1] is not leaky and net[3] is not leaky and net[1] is not net[3]
    assert net[1].alpha == net[3].alpha == 0.2
    assert isinstance(net[5], cr.Sigmoid)


def test_activation_names_resolve_as_model_files_do():
    """A user's class named like chainrule's does not take over the name (a model file
    naming it loads chainrule's too); of a class redefined, the newest answers."""
    from chainrule import names

    class ReLU(cr.nn.Activation):   # the clash is the point
        def forward(self, Z):
            return Z

    assert type(cr.mlp([2, 3, 1], hidden="relu")[1]) is cr.ReLU
    assert names.layer_class("ReLU") is cr.ReLU

    class Cube(cr.nn.Activation):
        def forward(self, Z):
            return Z ** 3
    first = Cube

    class Cube(cr.nn.Activation):
        def forward(self, Z):
            return Z ** 3
    assert first is not Cube
    assert type(cr.mlp([2, 3, 1], hidden="cube")[1]) is Cube
    # a model file's names are not looked up among the classes defined: only those passed
    assert names.layer_class("Cube") is None
    assert names.layer_class("Cube", layers=[Cube]) is Cube


def test_mlp_rejects_bad_settings():
    with pytest.raises(ValueError, match=r"unknown hidden activation 'rleu'; valid names: .*relu.*sigmoid"):
        cr.mlp([2, 3, 1], hidden="rleu")
    with pytest.raises(ValueError, match=r"unknown output activation 'sofmax'; valid names: .*softmax"):
        cr.mlp([2, 3], output="sofmax")
    with pytest.raises(TypeError, match=r"hidden must be an activation name or a Layer, got 3"):
        cr.mlp([2, 3, 1], hidden=3)
    with pytest.raises(ValueError, match=r"sizes must list at least an input and an output size, got \[3\]"):
        cr.mlp([3])
    with pytest.raises(ValueError, match=r"n_out must be >= 1, got 0"):
        cr.mlp([3, 0, 1])


# -- Sequential --------------------------------------------------------------------------

def test_forward_and_backward_are_the_layers_in_order(rng):
    net = cr.mlp([3, 4, 2], hidden="tanh", seed=0, dtype=np.float64)
    X, dA = rng.standard_normal((5, 3)), rng.standard_normal((5, 2))
    A = net.forward(X)
    Z1 = X @ net[0].W + net[0].b
    np.testing.assert_allclose(A, np.tanh(Z1) @ net[2].W + net[2].b, rtol=1e-14)
    dX = net.backward(dA)
    dZ1 = (dA @ net[2].W.T) * (1 - np.tanh(Z1) ** 2)
    np.testing.assert_allclose(net[2].dW, np.tanh(Z1).T @ dA, rtol=1e-13)
    np.testing.assert_allclose(net[0].dW, X.T @ dZ1, rtol=1e-13)
    np.testing.assert_allclose(dX, dZ1 @ net[0].W.T, rtol=1e-13)


def test_sequential_dtype_casts_every_parameter(rng):
    layers = [cr.Dense(3, 4, seed=0), cr.ReLU(), cr.Dense(4, 2, seed=1)]
    W0 = layers[0].W.copy()
    net = cr.Sequential(layers, dtype=np.float64)
    assert net.dtype == np.float64 and net.flat_params.dtype == np.float64
    assert net.flat_grads.dtype == np.float64
    for _, value, grad in net.parameters():
        assert value.dtype == np.float64 and grad.dtype == np.float64
    np.testing.assert_array_equal(net[0].W, W0.astype(np.float64))
    assert net.forward(rng.standard_normal((2, 3))).dtype == np.float64
    assert cr.Sequential([cr.Dense(2, 2, dtype=np.float64)], dtype=np.float32).flat_params.dtype == np.float32


def test_sequential_dtype_by_default_is_the_layers():
    assert cr.Sequential([cr.Dense(2, 2, dtype=np.float64), cr.Tanh()]).dtype == np.float64
    assert cr.Sequential([cr.Dense(2, 2)]).dtype == np.float32
    assert cr.Sequential([cr.Tanh()]).dtype == np.float32
    with pytest.raises(ValueError, match=r"different dtypes \['float32', 'float64'\]; pass dtype="):
        cr.Sequential([cr.Dense(2, 2), cr.Dense(2, 2, dtype=np.float64)])
    with pytest.raises(TypeError, match=r"dtype must be a floating-point type, got int32"):
        cr.Sequential([cr.Dense(2, 2)], dtype=np.int32)


def test_sequential_checks_its_layers():
    with pytest.raises(TypeError, match=r"layers\[1\] must be a chainrule Layer, got 'relu'"):
        cr.Sequential([cr.Dense(2, 2), "relu"])
    with pytest.raises(ValueError, match=r"Dense\(4, 1\) expects 4 input features, but the layer before it gives 3"):
        cr.Sequential([cr.Dense(2, 3), cr.ReLU(), cr.Dense(4, 1)])
    act, dense = cr.Tanh(), cr.Dense(2, 2)
    with pytest.raises(ValueError, match=r"layers\[3\] is the same object as layers\[1\] \(Tanh\(\)\): "
                                         r"each position needs its own layer instance"):
        cr.Sequential([cr.Dense(2, 2), act, cr.Dense(2, 2), act])
    with pytest.raises(ValueError, match=r"layers\[2\] is the same object as layers\[0\]"):
        cr.Sequential([dense, cr.ReLU(), dense])


def test_parameters_names_and_views():
    net = cr.mlp([3, 4, 2], seed=0)
    params = net.parameters()
    assert [name for name, _, _ in params] == ["0.W", "0.b", "2.W", "2.b"]
    assert [value.shape for _, value, _ in params] == [(3, 4), (4,), (4, 2), (2,)]
    for _, value, grad in params:
        assert np.shares_memory(value, net.flat_params) and np.shares_memory(grad, net.flat_grads)
    assert net.n_params == net.flat_params.size == 3 * 4 + 4 + 4 * 2 + 2
    np.testing.assert_array_equal(np.concatenate([v.ravel() for _, v, _ in params]), net.flat_params)


def test_a_parameter_without_its_gradient_array_is_a_clear_error():
    class Scale(cr.Layer):
        params = ("s",)

        def __init__(self, ds):
            self.s = np.ones(2)
            if ds is not None:
                self.ds = ds

    wanted = (r"Scale.params lists 's', so each Scale needs the arrays self.s and self.ds "
              r"\(its gradient, of the same shape\), set in __init__, e.g. "
              r"self.ds = np.zeros_like\(self.s\); ")
    with pytest.raises(TypeError, match=wanted + "self.ds is missing$"):
        cr.Sequential([Scale(None)])
    with pytest.raises(TypeError, match=wanted + "self.ds is list$"):
        cr.Sequential([Scale([0.0, 0.0])])
    with pytest.raises(TypeError, match=wanted + r"self.s has shape \(2,\), self.ds \(3,\)$"):
        cr.Sequential([Scale(np.zeros(3))])


def test_assigning_weights_after_building_updates_the_flat_buffer(rng):
    net = cr.mlp([2, 3, 1], hidden="tanh", seed=0)
    new = rng.standard_normal((2, 3))
    net[0].W = new
    np.testing.assert_array_equal(net.flat_params[:6], new.astype(np.float32).ravel())
    assert net[0].W.dtype == np.float32 and np.shares_memory(net[0].W, net.flat_params)
    net[2].b = [0.5]
    assert net.flat_params[-1] == 0.5
    # the optimizer sees (and moves) the assigned weights
    X, y = rng.standard_normal((4, 2)), rng.standard_normal(4)
    loss = cr.MSE()
    net.forward_backward(X.astype(np.float32), loss.prepare(y, 1, np.float32), loss)
    expected = new.astype(np.float32) - np.float32(0.1) * net[0].dW
    cr.SGD(lr=0.1).step(net)
    np.testing.assert_allclose(net[0].W, expected, rtol=1e-6)
    with pytest.raises(ValueError, match=r"Dense.W has shape \(2, 3\), cannot assign an array of shape \(3, 2\)"):
        net[0].W = np.zeros((3, 2))


def test_forward_backward_returns_the_loss_and_fills_gradients(rng):
    net = cr.mlp([3, 4, 2], hidden="tanh", seed=0)
    X = rng.standard_normal((5, 3)).astype(np.float32)
    y = rng.standard_normal((5, 2)).astype(np.float32)
    net.flat_grads[...] = 0
    value = net.forward_backward(X, y, cr.MSE())
    assert value == pytest.approx(float(np.mean((net.forward(X) - y) ** 2)), rel=1e-6)
    assert np.all(net.flat_grads != 0)


def test_summary_table():
    text = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid").summary()
    lines = text.splitlines()
    assert lines[0].split() == ["layer", "output", "shape", "parameters"]
    assert set(lines[1]) == {"-"} and set(lines[-2]) == {"-"}
    assert lines[2].startswith("0: Dense(n_in=2, n_out=4, init='xavier')")
    assert lines[2].split()[-3:] == ["(n,", "4)", "12"]
    assert lines[3].startswith("1: Sigmoid()") and lines[3].split()[-1] == "0"
    assert lines[4].split()[-3:] == ["(n,", "1)", "5"]
    assert lines[-1].split() == ["total", "17"]
    assert len(lines) == 8
    assert cr.mlp([784, 100, 10]).summary().splitlines()[-1].split() == ["total", "79,510"]


def test_predict(rng):
    net = cr.mlp([3, 5, 2], hidden="gelu", output="softmax", seed=0)
    X = rng.standard_normal((10, 3))
    A = net.predict(X)
    assert A.shape == (10, 2) and A.dtype == np.float32
    np.testing.assert_allclose(A.sum(axis=1), 1, rtol=1e-6)
    # other row counts go through other BLAS routines and blocks: equal to rounding
    length = sums_length(net)
    assert_blas_close(net.predict(X, batch_size=3), A, length, "batches of 3 rows")
    assert_blas_close(net.predict(X.tolist()), A, length, "a list")  # lists are converted
    assert_blas_close(net.predict(X[:1]), A[:1], length, "one row")


@pytest.mark.parametrize("hidden, output", [("gelu", "softmax"), ("relu", "identity"),
                                            ("tanh", "sigmoid")])
def test_predict_in_float64_gives_a_row_alone_the_output_it_has_among_others(rng, hidden, output):
    """A float32 network's products are exact in float64 and their sums nearly so: asked for
    float64, a row's output is the same, to float64's rounding, whatever rows come with it."""
    net = cr.mlp([5, 64, 32, 3], hidden=hidden, output=output, seed=0)
    X = rng.standard_normal((40, 5))
    whole = net.predict(X, dtype=np.float64)
    assert whole.dtype == np.float64 and net.dtype == np.float32
    length = sums_length(net)
    for size in (1, 2, 3, 5, 8, 13):
        for start in range(0, len(X) - size + 1, size):
            rows = slice(start, start + size)
            assert_blas_close(net.predict(X[rows], dtype=np.float64), whole[rows], length,
                              f"rows {start}..{start + size - 1} alone")
    assert_blas_close(net.predict(X, batch_size=7, dtype=np.float64), whole, length, "batches of 7")
    # the same function as the float32 evaluation, without its rounding
    assert_blas_close(net.predict(X), whole, length, "float32 evaluation")
    assert net.predict(X, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="dtype must be at least as wide as the network's "
                                         "float64, got float32"):
        net.copy(dtype=np.float64).predict(X, dtype=np.float32)
    with pytest.raises(TypeError, match="dtype must be a floating-point type, got int64"):
        net.predict(X, dtype=np.int64)


def test_copy_is_independent(rng):
    net = cr.mlp([3, 4, 2], seed=0)
    twin = net.copy()
    np.testing.assert_array_equal(twin.flat_params, net.flat_params)
    twin[0].W = np.zeros((3, 4))
    assert not np.array_equal(twin.flat_params, net.flat_params)
    wide = net.copy(dtype=np.float64)
    assert wide.dtype == np.float64 and net.dtype == np.float32
    np.testing.assert_array_equal(wide.flat_params, net.flat_params.astype(np.float64))


def test_modes():
    net = cr.mlp([2, 3, 1], seed=0)
    assert all(layer.training for layer in net.layers)
    with net.evaluating():
        assert not any(layer.training for layer in net.layers)
    assert all(layer.training for layer in net.layers)
    net.eval()
    with net.evaluating():
        pass
    assert not any(layer.training for layer in net.layers)
    assert net.train() is net and all(layer.training for layer in net.layers)


def test_repr():
    assert repr(cr.mlp([2, 3, 1], hidden="tanh")) == (
        "Sequential([\n    Dense(n_in=2, n_out=3, init='xavier'),\n    Tanh(),\n"
        "    Dense(n_in=3, n_out=1, init='xavier'),\n    Identity()\n], dtype=float32)")


def test_a_pickled_network_trains_like_the_original():
    """pickle stores W and the flat buffer as separate arrays: the copy must rebind them."""
    import pickle
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((20, 3)), rng.integers(0, 2, 20)
    net = cr.mlp([3, 5, 2], output="softmax", seed=0, dtype=np.float64)
    twin = pickle.loads(pickle.dumps(net))
    assert all(np.shares_memory(value, twin.flat_params) for _, value, _ in twin.parameters())
    for model in (net, twin):
        model.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=3,
                  batch_size=5, seed=1, verbose=0)
    np.testing.assert_array_equal(net.flat_params, twin.flat_params)  # the same run, bitwise
    assert_blas_close(twin.predict(X), net.predict(X), sums_length(net))


def test_a_network_whose_layers_were_taken_over_refuses_to_train():
    """The newer network owns the layers' buffers; the older one would train nothing, silently."""
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((8, 2)), rng.standard_normal(8)
    old = cr.mlp([2, 4, 1], seed=0)
    new = cr.Sequential(old.layers)
    with pytest.raises(ValueError, match="layers now belong to a newer Sequential"):
        old.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), verbose=0)
    opt = cr.SGD(lr=0.1)
    old.forward_backward(X.astype(np.float32), y.reshape(-1, 1).astype(np.float32), cr.MSE())
    with pytest.raises(ValueError, match="newer Sequential"):
        opt.step(old)
    before = new.flat_params.copy()
    new.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), verbose=0)
    assert not np.array_equal(before, new.flat_params)
    assert all(np.shares_memory(v, new.flat_params) for _, v, _ in new.parameters())


def test_predict_results_belong_to_the_caller(rng):
    """Each call hands out new arrays: a kept result is never overwritten by the next call."""
    net = cr.mlp([4, 6, 3], output="softmax", seed=0)
    X1, X2 = rng.standard_normal((1, 4)), rng.standard_normal((1, 4))
    A1 = net.predict(X1)
    kept = A1.copy()
    A2 = net.predict(X2)
    np.testing.assert_array_equal(A1, kept)
    assert not np.shares_memory(A1, A2) and not np.array_equal(A1, A2)
    A1[...] = 0  # writing into a result changes nothing the network uses
    np.testing.assert_array_equal(net.predict(X1), kept)


def test_evaluating_restores_each_layers_own_flags():
    """Mixed modes come back exactly, even after an error."""
    net = cr.Sequential([cr.Dense(2, 3), cr.Dropout(0.5, seed=0), cr.Dense(3, 2), cr.ReLU()])
    flags = [True, False, True, False]
    for layer, training in zip(net.layers, flags):
        layer.training = training
    with net.evaluating():
        assert [layer.training for layer in net.layers] == [False] * 4
    assert [layer.training for layer in net.layers] == flags
    with pytest.raises(ValueError, match="X has 5 features"):
        net.predict(np.zeros((1, 5)))
    with pytest.raises(RuntimeError, match="inside"), net.evaluating():
        raise RuntimeError("inside")
    assert [layer.training for layer in net.layers] == flags
    net.predict(np.zeros((2, 2)))
    assert [layer.training for layer in net.layers] == flags


# -- copies and threads during fit --------------------------------------------------

def test_a_copy_taken_during_fit_is_an_ordinary_network(rng):
    """fit's flags (scratch reuse, no dX for the first layer) stay with the network in fit:
    a copy taken in a callback keeps each forward's result and returns dX."""
    import copy
    import pickle
    X = rng.standard_normal((32, 4))
    y = rng.standard_normal((32, 1))
    net = cr.mlp([4, 8, 1], hidden="tanh", seed=0, dtype=np.float64)
    copies = []
    grab = cr.LambdaCallback(on_epoch_end=lambda epoch, logs: copies.extend(
        [net.copy(), copy.deepcopy(net), pickle.loads(pickle.dumps(net))]))
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=1, batch_size=8, verbose=0,
            callbacks=[grab])
    for twin in copies:
        first = twin.forward(X[:3])
        kept = first.copy()
        twin.forward(X[3:6])
        np.testing.assert_array_equal(first, kept)      # not overwritten by the next call
        dX = twin.backward(np.ones((3, 1)))
        assert dX is not None and dX.shape == (3, 4)
        assert owner_of(twin).thread is None       # held by nobody, though taken inside fit


def test_predicting_from_another_thread_while_fit_runs_is_a_clear_error(rng):
    import threading
    X = rng.standard_normal((256, 4))
    y = rng.standard_normal((256, 1))
    net = cr.mlp([4, 16, 1], hidden="tanh", seed=0, dtype=np.float64)
    reference = net.copy()
    started, done, errors = threading.Event(), threading.Event(), []

    def predict_meanwhile():
        started.wait()
        while not done.is_set():
            try:
                net.predict(X[:5])
            except RuntimeError as error:
                errors.append(str(error))
                return
            except Exception as error:
                errors.append(repr(error))
                return

    thread = threading.Thread(target=predict_meanwhile)
    thread.start()
    hook = cr.LambdaCallback(on_batch_end=lambda b, logs: (started.set(), __import__("time").sleep(0.001)))
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=2, batch_size=8, seed=0,
            verbose=0, callbacks=[hook])
    done.set()
    thread.join()
    assert errors and "being trained by fit in another thread" in errors[0], errors
    # training was not disturbed: the same run without the other thread gives the same weights
    reference.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=2, batch_size=8, seed=0,
                  verbose=0)
    np.testing.assert_array_equal(net.flat_params, reference.flat_params)
    assert net.predict(X[:5]).shape == (5, 1)      # after fit, from any thread


def test_mlp_is_the_one_builder_penalties_dropout_and_biases():
    plain = cr.mlp([3, 5, 4, 2], hidden="tanh", seed=0, dtype=np.float64)
    net = cr.mlp([3, 5, 4, 2], hidden="tanh", seed=0, dtype=np.float64, l2=0.1, dropout=0.2,
                 dropout_seed=[7, 4])
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Dense", "Tanh", "Dropout", "Dense", "Tanh", "Dropout", "Dense", "Identity"]
    assert all(layer.l2 == 0.1 for layer in net.layers if isinstance(layer, cr.Dense))
    # masks of their own stream: the weights are those of the network without dropout
    np.testing.assert_array_equal(net.flat_params, plain.flat_params)
    shared = cr.mlp([3, 5, 4, 2], hidden="tanh", seed=0, dtype=np.float64, dropout=0.2)
    assert shared.layers[2].rng is not net.layers[2].rng
    biased = cr.mlp([3, 5, 2], seed=0, bias_init=lambda n_in, n_out, rng: rng.uniform(1, 2, n_out))
    assert all(np.all((layer.b >= 1) & (layer.b <= 2)) for layer in biased.layers
               if isinstance(layer, cr.Dense))


def test_sizes_given_as_a_string_are_refused_by_name():
    # iterated, "2,4,1" would be read character by character
    with pytest.raises(TypeError, match=r"sizes must be a list of ints such as \[2, 4, 1\], "
                                        r"got the string '2,4,1'"):
        cr.mlp("2,4,1")
    from chainrule.sklearn import MLPClassifier
    with pytest.raises(TypeError, match="hidden_layer_sizes must be an int or a tuple of ints"):
        MLPClassifier(hidden_layer_sizes="100").fit([[0.0], [1.0]], [0, 1])
