"""The engine: compiled kernels against the NumPy rules and torch.optim, the guard, float16,
clip_norm at overflowing norms, choosing the engine, and threads.

Tests marked by the ``engine`` fixture run once per engine; the compiled run is
skipped where numba is missing or ``CHAINRULE_ENGINE=numpy`` forces NumPy
(CI runs this file a second time that way).
"""
from __future__ import annotations

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import chainrule as cr
from chainrule import engine as _engine

from conftest import (
    FORCED_NUMPY,
    assert_blas_close,
    assert_close,
    relative_error,
    sums_length,
    torch_dense_pairs,
    torch_twin,
)
from conftest import numba_works as _numba_works

torch = pytest.importorskip("torch")


#: Every option set of every optimizer (the torch.optim names and arguments).
OPTIONS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, weight_decay=0.01)),
    ("SGD", dict(lr=0.05, momentum=0.9)),
    ("SGD", dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.01)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
    ("AdamW", dict(lr=0.01)),
    ("AdamW", dict(lr=0.01, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, eps=1e-6, weight_decay=0.01)),
    ("RMSprop", dict(lr=0.01, momentum=0.8)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.8, weight_decay=0.01)),
    ("Adagrad", dict(lr=0.1)),
    ("Adagrad", dict(lr=0.1, eps=1e-6, weight_decay=0.01)),
]
IDS = [f"{n}-{'-'.join(f'{k}={v}' for k, v in s.items())}" for n, s in OPTIONS]


KERNEL_OF = {"SGD": lambda s: "sgd_momentum" if s.get("momentum") else "sgd", "Adam": "adam",
             "AdamW": "adam", "RMSprop": "rmsprop", "Adagrad": "adagrad"}


def kernel_of(name, settings):
    kernel = KERNEL_OF[name]
    return kernel(settings) if callable(kernel) else kernel


@pytest.fixture
def spy(monkeypatch):
    """Counts the calls of each compiled kernel, by name: the engine looks a kernel up in
    the kernels module at every call, so a wrapped one is seen. Empty without numba."""
    import collections
    calls = collections.Counter()
    if FORCED_NUMPY or not _numba_works():
        return calls
    with _engine.using("compiled"):
        kernels = _engine.compiled()
    for name in ("sgd", "sgd_momentum", "adam", "rmsprop", "adagrad", "softmax_cross_entropy",
                 "softmax_cross_entropy_rows", "forward_rows"):
        def counted(*args, _kernel=getattr(kernels, name), _name=name):
            calls[_name] += 1
            return _kernel(*args)
        monkeypatch.setattr(kernels, name, counted)
    return calls


def big_net(dtype, seed=0):
    """A network above the kernels' MIN_SIZE, so the compiled engine really runs on it."""
    net = cr.mlp([20, 150, 10], hidden="tanh", output="softmax", seed=seed, dtype=dtype)
    assert net.n_params >= _engine.MIN_SIZE
    return net


def uses_kernels(net):
    return _engine.kernels_for(net.n_params, net.dtype) is not None


def step_with(name, settings, net, grads):
    opt = getattr(cr, name)(**settings)
    for g in grads:
        net.flat_grads[...] = g
        opt.step(net)
    return opt


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("name, settings", OPTIONS, ids=IDS)
def test_compiled_equals_numpy(name, settings, dtype, spy):
    """Same weights and state after 10 steps, to rounding (fused multiply-add, reassociation)."""
    if FORCED_NUMPY or not _numba_works():
        pytest.skip("needs the compiled engine")
    rng = np.random.default_rng(3)
    results = {}
    for which in ("numpy", "compiled"):
        net = big_net(dtype)
        grads = [rng.standard_normal(net.n_params).astype(dtype) for _ in range(10)]
        rng = np.random.default_rng(3)
        with _engine.using(which):
            opt = step_with(name, settings, net, grads)
        # each step: one call that reads and sums, one that writes
        assert spy[kernel_of(name, settings)] == (20 if which == "compiled" else 0)
        results[which] = (net.flat_params.copy(), opt.state_dict())
    tol = 1e-5 if dtype == np.float32 else 1e-12
    (p_np, s_np), (p_c, s_c) = results["numpy"], results["compiled"]
    assert p_c.dtype == dtype and all(v.dtype == dtype for k, v in s_c.items() if k != "t")
    assert_close(p_c, p_np, tol, "parameters")
    assert s_c["t"] == s_np["t"] == 10 and set(s_c) == set(s_np)
    for key in s_np:
        if key != "t":
            assert_close(s_c[key], s_np[key], tol, key)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("smoothing", [0.0, 0.1])
def test_the_fused_softmax_cross_entropy_kernel_equals_numpy(dtype, smoothing, spy):
    """The classifier's last step on the compiled engine: the same loss and gradients,
    for integer labels and for target rows (label smoothing makes rows of them)."""
    if FORCED_NUMPY or not _numba_works():
        pytest.skip("needs the compiled engine")
    rng = np.random.default_rng(4)
    X = rng.standard_normal((33, 20)).astype(dtype)
    y = rng.integers(0, 10, 33)
    loss = cr.CrossEntropy(label_smoothing=smoothing)
    out = {}
    for which in ("numpy", "compiled"):
        net = big_net(dtype)
        net[0].W[...] *= 30      # large logits: the max shift and log-sum-exp matter
        with _engine.using(which):
            value = net.forward_backward(X, loss.prepare(y, 10, dtype), loss)
        out[which] = value, net.flat_grads.copy()
    kernel = "softmax_cross_entropy_rows" if smoothing else "softmax_cross_entropy"
    assert spy[kernel] == 1 and sum(spy.values()) == 1
    tol = 1e-5 if dtype == np.float32 else 1e-12
    assert out["compiled"][0] == pytest.approx(out["numpy"][0], rel=tol)
    assert_close(out["compiled"][1], out["numpy"][1], tol, "gradients")


@pytest.mark.parametrize("name, settings", OPTIONS, ids=IDS)
def test_each_engine_equals_torch_optim(name, settings, engine, spy):
    """Ten steps on one parameter vector, float64: equal to torch.optim within 1e-7."""
    rng = np.random.default_rng(7)
    net = big_net(np.float64)
    start = net.flat_params.copy()
    grads = [rng.standard_normal(net.n_params) for _ in range(10)]
    opt = step_with(name, settings, net, grads)
    assert spy[kernel_of(name, settings)] == (20 if engine == "compiled" else 0)
    w = torch.nn.Parameter(torch.tensor(start))
    t_opt = getattr(torch.optim, name)([w], **settings)
    for g in grads:
        w.grad = torch.tensor(g)
        t_opt.step()
    assert relative_error(net.flat_params, start) > 1e-3   # the weights really moved
    assert_close(net.flat_params, w.detach().numpy(), 1e-7, f"{name} after 10 steps")
    assert opt.t == 10


def test_training_steps_on_each_engine_equal_torch(engine, spy):
    """Five mini-batch steps of a classifier (softmax + cross-entropy, Adam), float64: each
    engine's weights equal PyTorch's within 1e-7 (on the compiled engine both the loss's
    gradient and the update are kernels)."""
    rng = np.random.default_rng(9)
    net = big_net(np.float64)
    assert uses_kernels(net) == (engine == "compiled")
    twin = torch_twin(net, drop_last=True)
    opt, t_opt = cr.Adam(lr=0.01), torch.optim.Adam(twin.parameters(), lr=0.01)
    loss = cr.CrossEntropy()
    start = net.flat_params.copy()
    for _ in range(5):
        X, y = rng.standard_normal((16, 20)), rng.integers(0, 10, 16)
        value = net.forward_backward(X, loss.prepare(y, 10, np.float64), loss)
        opt.step(net)
        t_opt.zero_grad()
        t_loss = torch.nn.functional.cross_entropy(twin(torch.tensor(X)), torch.tensor(y))
        t_loss.backward()
        t_opt.step()
        assert value == pytest.approx(t_loss.item(), rel=1e-9)
    assert relative_error(net.flat_params, start) > 1e-3
    for i, linear in torch_dense_pairs(net, twin):
        assert_close(net[i].W, linear.weight.detach().numpy().T, 1e-7, f"W of layer {i}")
        assert_close(net[i].b, linear.bias.detach().numpy(), 1e-7, f"b of layer {i}")
    compiled = engine == "compiled"
    assert (spy["softmax_cross_entropy"], spy["adam"]) == ((5, 10) if compiled else (0, 0))


@pytest.mark.parametrize("name, settings", OPTIONS, ids=IDS)
def test_a_diverging_fit_keeps_weights_and_state_bitwise(name, settings, engine, spy):
    """Three good steps, then a huge learning rate: the optimizer refuses the step (its
    new weights overflow), DivergenceError, and the weights and the optimizer's state
    (moments, step count) are bitwise those after the third step."""
    rng = np.random.default_rng(11)
    X = rng.standard_normal((64, 20))
    y = rng.integers(0, 10, 64)
    net = big_net(np.float32)
    opt = getattr(cr, name)(**settings)
    good = []

    def after_batch(b, logs):
        good.append((net.flat_params.copy(), opt.state_dict()))
        if len(good) == 3:
            opt.lr = 1e37

    with pytest.raises(cr.DivergenceError, match="update would have made the weights"):
        net.fit(X, y, loss=cr.CrossEntropy(), optimizer=opt, epochs=5, batch_size=16,
                verbose=0, callbacks=[cr.LambdaCallback(on_batch_end=after_batch)])
    assert len(good) == 3
    params, state = good[-1]
    np.testing.assert_array_equal(net.flat_params, params)
    assert opt.t == state["t"] == 3
    assert set(opt.state_dict()) == set(state) == {"t", *opt.slots()}
    for key, value in state.items():
        np.testing.assert_array_equal(opt.state_dict()[key], value, err_msg=key)
    # on the compiled engine: three steps of two calls, and the refused one's reading call
    assert spy[kernel_of(name, settings)] == (7 if engine == "compiled" else 0)


@pytest.mark.parametrize("name, settings", [
    ("SGD", dict(lr=0.5, momentum=0.9)), ("Adam", dict(lr=0.01)), ("AdamW", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.003)), ("Adagrad", dict(lr=0.05))], ids=lambda v: str(v))
def test_float16_networks_train_with_every_optimizer(name, settings, rng):
    """The update runs in float32 with float32 state: eps = 1e-8 and g² no longer underflow."""
    X = rng.standard_normal((128, 4)).astype(np.float16)
    y = (X[:, 0] * X[:, 1] > 0).astype(np.int64)
    net = cr.mlp([4, 16, 2], hidden="tanh", output="softmax", seed=0, dtype=np.float16)
    opt = getattr(cr, name)(**settings)
    before = net.evaluate(X, y, loss=cr.CrossEntropy(), metrics=())["loss"]
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=opt, epochs=60, batch_size=32, verbose=0,
            seed=0)
    after = net.evaluate(X, y, loss=cr.CrossEntropy(), metrics=())["loss"]
    assert net.flat_params.dtype == np.float16
    assert all(v.dtype == np.float32 for v in opt.state.values())
    assert after < 0.8 * before, (before, after)


def test_clip_norm_when_the_squared_norm_overflows_float32(engine):
    """Every entry finite, ‖g‖² > float32's max: clip_norm scales before squaring and trains."""
    from chainrule.optim.clipping import clipping, global_norm
    g = np.full(5000, 1e20, np.float32)
    with np.errstate(over="ignore"):      # fit runs its steps inside the same errstate
        assert np.isinf(np.dot(g, g)) and np.isfinite(g).all()
        np.testing.assert_allclose(global_norm(g), 1e20 * np.sqrt(5000), rtol=1e-5)
        clipping(1.0, None)(g)
    np.testing.assert_allclose(np.linalg.norm(g.astype(np.float64)), 1.0, rtol=1e-5)

    # inputs of 1e15 through one linear layer: a finite loss (~1e29), gradient entries ~1e28,
    # ‖g‖² ~ 1e59; before, that ‖g‖² overflowed and fit stopped with DivergenceError
    rng = np.random.default_rng(0)
    X = (1e15 * rng.standard_normal((64, 20))).astype(np.float32)
    y = np.zeros((64, 300), np.float32)
    net = cr.Sequential([cr.Dense(20, 300, seed=0)])
    start = net.flat_params.copy()
    history = net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.01), epochs=3, batch_size=16,
                      clip_norm=1.0, verbose=0)
    assert np.isfinite(net.flat_params).all() and len(history["loss"]) == 3
    # each of the 12 steps moved the weights by at most lr·clip_norm
    moved = np.linalg.norm((net.flat_params - start).astype(np.float64))
    assert 0 < moved <= 12 * 0.01 * 1.0 * (1 + 1e-5)


def test_the_engine_can_be_chosen_and_shown(capsys):
    with _engine.using("numpy"):
        assert _engine.name() == "numpy" and _engine.kernels_for(10**6, np.dtype("f4")) is None
        cr.show_config()
    assert "engine: numpy" in capsys.readouterr().out
    with pytest.raises(ValueError, match="engine must be one of auto, numpy, compiled, got 'fast'"):
        _engine.set_engine("fast")
    with pytest.raises(TypeError, match="engine must be a string"):
        _engine.set_engine(1)
    # tiny problems and float16 stay on NumPy whatever the engine
    with _engine.using("compiled"):
        assert _engine.kernels_for(_engine.MIN_SIZE - 1, np.dtype("f8")) is None
        assert _engine.kernels_for(10**6, np.dtype("f2")) is None


def _python(code, **env):
    environment = {k: v for k, v in os.environ.items() if k != "CHAINRULE_ENGINE"}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=environment, timeout=300)


def test_import_chainrule_never_imports_numba_and_the_environment_forces_numpy():
    out = _python("import sys, chainrule, numpy as np\n"
                  "net = chainrule.mlp([20, 150, 10], output='softmax', seed=0)\n"
                  "net.fit(np.ones((8, 20)), np.zeros(8, int), loss=chainrule.CrossEntropy(),"
                  " optimizer=chainrule.Adam(), verbose=0)\n"
                  "print('numba' in sys.modules)\n"
                  "chainrule.show_config()", CHAINRULE_ENGINE="numpy")
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines()[0] == "False"
    assert "engine: numpy (asked: numpy" in out.stdout
    out = _python("import sys, chainrule\nprint('numba' in sys.modules)")
    assert out.stdout.strip() == "False", out.stderr


def test_a_missing_numba_falls_back_to_numpy_silently():
    """numba that fails to import: 'auto' runs NumPy without a word, 'compiled' warns."""
    code = ("import sys, warnings, numpy as np\n"
            "sys.modules['numba'] = None\n"            # import numba now raises ImportError
            "import chainrule as cr\n"
            "warnings.simplefilter('error')\n"
            "net = cr.mlp([20, 150, 10], output='softmax', seed=0)\n"
            "net.fit(np.ones((8, 20)), np.zeros(8, int), loss=cr.CrossEntropy(),"
            " optimizer=cr.Adam(), verbose=0)\n"
            "print(cr.engine.name())\n"
            "cr.engine.set_engine('compiled')\n"
            "try:\n    cr.engine.name()\nexcept RuntimeWarning as w:\n    print('warned:', w)\n")
    out = _python(code)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "numpy" and lines[1].startswith("warned: the compiled engine was asked for")


def test_kernels_from_two_python_threads_with_torch_and_sklearn_loaded(engine):
    """Two fits at once in one process that has torch and scikit-learn loaded, as users'
    processes do: each gives what it gives alone (the kernels release the GIL and share
    nothing but their code), to rounding: two fits at once may get BLAS's work split over
    other threads, and each of the 24 steps' sums may round differently."""
    pytest.importorskip("sklearn")
    import sklearn.neural_network  # noqa: F401
    rng = np.random.default_rng(5)
    X = rng.standard_normal((256, 20)).astype(np.float32)
    y = rng.integers(0, 10, 256)

    def train(seed):
        net = big_net(np.float32, seed=seed)
        with _engine.using(engine):           # the choice is per thread
            net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.01), epochs=3,
                    batch_size=32, seed=seed, verbose=0)
        return net.flat_params

    alone = [train(s) for s in (0, 1)]
    together = [None, None]
    threads = [threading.Thread(target=lambda i=i: together.__setitem__(i, train(i)))
               for i in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    steps, rows = 3 * 256 // 32, 32
    length = steps * (rows + sums_length(big_net(np.float32)))  # dW = Xᵀ·dZ sums the rows
    for a, b in zip(alone, together):
        assert_blas_close(b, a, length, "weights trained beside another fit")


@pytest.mark.parametrize("dtype, arithmetic", [(np.float32, None), (np.float64, None),
                                               (np.float32, np.float64)],
                         ids=["float32", "float64", "float32-in-float64"])
@pytest.mark.parametrize("hidden, output", [("relu", "softmax"), ("tanh", "identity"),
                                            ("sigmoid", "sigmoid"), ("relu", "identity")])
def test_predicting_a_few_rows_on_the_compiled_engine_equals_numpy(hidden, output, dtype,
                                                                   arithmetic, spy):
    """One to four rows run through the engine's forward_rows: the same outputs, to rounding
    (of the arithmetic's dtype: a float32 network asked for float64 sums in float64 there too)."""
    if FORCED_NUMPY or not _numba_works():
        pytest.skip("needs the compiled engine")
    from chainrule.network.sequential import FEW_ROWS
    rng = np.random.default_rng(2)
    net = cr.Sequential([cr.Dense(20, 150, seed=0, dtype=dtype), cr.names.activation(hidden),
                         cr.Dropout(0.5), cr.Dense(150, 10, seed=1, dtype=dtype),
                         cr.names.activation(output)])
    net[0].b[...] = rng.standard_normal(150)
    X = 3 * rng.standard_normal((FEW_ROWS + 1, 20)).astype(dtype)
    out = np.dtype(arithmetic or dtype)
    for rows in (1, 2, FEW_ROWS, FEW_ROWS + 1):       # FEW_ROWS + 1 rows: NumPy either way
        with _engine.using("numpy"):
            expected = net.predict(X[:rows], dtype=arithmetic)
        with _engine.using("compiled"):
            got = net.predict(X[:rows], dtype=arithmetic)
        assert got.dtype == out and got.shape == expected.shape
        assert_blas_close(got, expected, sums_length(net), f"{hidden}/{output}, {rows} rows")
    assert spy["forward_rows"] == 3


def test_a_network_the_forward_kernel_does_not_know_predicts_on_numpy(spy):
    if FORCED_NUMPY or not _numba_works():
        pytest.skip("needs the compiled engine")
    net = cr.Sequential([cr.Dense(20, 150, seed=0), cr.ELU(), cr.Dense(150, 10, seed=1)])
    X = np.random.default_rng(0).standard_normal((1, 20)).astype(np.float32)
    with _engine.using("numpy"):
        expected = net.predict(X)
    with _engine.using("compiled"):
        assert_blas_close(net.predict(X), expected, sums_length(net))
        assert net._forward_plan(_engine.compiled()) is None
    assert spy["forward_rows"] == 0


def test_the_forward_plan_follows_changes_to_the_layers(spy):
    """net.layers changed after a predict: the next one runs the new layers, on either path."""
    if FORCED_NUMPY or not _numba_works():
        pytest.skip("needs the compiled engine")
    net = cr.Sequential([cr.Dense(20, 150, seed=0), cr.ReLU(), cr.Dense(150, 10, seed=1),
                         cr.Softmax()])
    X = np.random.default_rng(0).standard_normal((2, 20)).astype(np.float32)
    with _engine.using("compiled"):
        net.predict(X)
        for change in (lambda: net.layers.__setitem__(1, cr.Tanh()), net.layers.pop,
                       lambda: net.layers.__setitem__(0, cr.Dense(20, 150, seed=5))):
            change()
            got = net.predict(X)
            with _engine.using("numpy"):
                expected = net.predict(X)
            assert_close(got, expected, 1e-5, "after a change of layers")
    # a Dense that is not the network's own (its W is not in the flat buffer): NumPy's path
    assert spy["forward_rows"] == 3


def test_the_command_line_imports_numba_only_to_say_which_engine_runs():
    code = ("import sys\nfrom chainrule.cli import main\n"
            "try:\n    main(['demo', '--help'])\nexcept SystemExit:\n    pass\n"
            "print('numba' in sys.modules)\n")
    out = _python(code)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().splitlines()[-1] == "False"
    version = _python("from chainrule.cli import main\nmain(['--version'])")
    assert version.returncode == 0 and "(engine: " in version.stdout, version.stderr


def test_a_bad_engine_name_is_refused_by_predict_as_by_fit(monkeypatch):
    """Issue 22, finding 13: a small network's predict skipped the check that fit made."""
    net = cr.mlp([2, 4, 1], seed=0)
    assert net.n_params < _engine.MIN_SIZE
    X, y = np.zeros((3, 2)), np.zeros(3)
    monkeypatch.setenv("CHAINRULE_ENGINE", "bogus")
    message = "CHAINRULE_ENGINE must be one of auto, numpy, compiled, got 'bogus'"
    with pytest.raises(ValueError, match=message):
        net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), verbose=0)
    with pytest.raises(ValueError, match=message):
        net.predict(X)
    monkeypatch.setenv("CHAINRULE_ENGINE", " NumPy ")  # spaces and case are forgiven
    assert net.predict(X).shape == (3, 1)
