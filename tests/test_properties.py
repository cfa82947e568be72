"""Properties that hold for any shape, dtype and finite values (hypothesis).

Layers and losses: outputs finite, shapes and dtypes preserved, softmax rows
summing to 1, losses non-negative, backward equal to central differences.
Model files: whatever bytes the loader is given, it returns a network or
raises ValueError — nothing else.
"""
import json
import os
import struct
import sys

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import chainrule as cr

FAST = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])

ACTIVATIONS = [cr.Identity, cr.Sigmoid, cr.Tanh, cr.ReLU, cr.LeakyReLU, cr.ELU, cr.GELU,
               cr.Softplus, cr.Softmax]
KINKED = (cr.ReLU, cr.LeakyReLU, cr.ELU)  # derivative jumps at 0
dtypes = st.sampled_from([np.float32, np.float64])


@st.composite
def matrices(draw, dtype=None, max_abs=1e4, min_cols=1):
    dtype = draw(dtypes) if dtype is None else dtype
    shape = (draw(st.integers(1, 6)), draw(st.integers(min_cols, 5)))
    elements = st.floats(-max_abs, max_abs, allow_nan=False, allow_infinity=False,
                         width=32 if dtype == np.float32 else 64)
    return draw(arrays(dtype, shape, elements=elements))


# -- layers -------------------------------------------------------------------------

@FAST
@given(layer_class=st.sampled_from(ACTIVATIONS), Z=matrices(), seed=st.integers(0, 2**16))
def test_activation_outputs_are_finite_and_keep_shape_and_dtype(layer_class, Z, seed):
    layer = layer_class()
    dA = np.random.default_rng(seed).standard_normal(Z.shape).astype(Z.dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        A = layer.forward(Z)
        dZ = layer.backward(dA)
    assert A.shape == Z.shape and dZ.shape == Z.shape
    assert A.dtype == Z.dtype and dZ.dtype == Z.dtype
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))
    if layer_class is cr.Softmax:
        np.testing.assert_allclose(A.sum(axis=1), 1, rtol=0, atol=10 * np.finfo(Z.dtype).eps * Z.shape[1])
        assert np.all(A >= 0)
    if layer_class is cr.Sigmoid:
        assert np.all((A >= 0) & (A <= 1))


@FAST
@given(layer_class=st.sampled_from(ACTIVATIONS), Z=matrices(np.float64, max_abs=5.0),
       seed=st.integers(0, 2**16))
def test_activation_backward_matches_central_differences(layer_class, Z, seed):
    if layer_class in KINKED:
        assume(np.all(np.abs(Z) > 1e-4))
    layer = layer_class()
    dA = np.random.default_rng(seed).standard_normal(Z.shape)
    layer.forward(Z)
    dZ = layer.backward(dA)
    eps, numeric = 1e-6, np.empty_like(Z)
    for index in np.ndindex(Z.shape):
        up, down = Z.copy(), Z.copy()
        up[index] += eps
        down[index] -= eps
        numeric[index] = (np.vdot(dA, layer_class().forward(up))
                          - np.vdot(dA, layer_class().forward(down))) / (2 * eps)
    np.testing.assert_allclose(dZ, numeric, rtol=1e-5, atol=1e-7)


@FAST
@given(X=matrices(), n_out=st.integers(1, 4), seed=st.integers(0, 2**16))
def test_dense_shapes_dtype_and_finiteness(X, n_out, seed):
    layer = cr.Dense(X.shape[1], n_out, seed=seed, dtype=X.dtype)
    Z = layer.forward(X)
    dX = layer.backward(np.ones_like(Z))
    assert Z.shape == (len(X), n_out) and Z.dtype == X.dtype
    assert dX.shape == X.shape and layer.dW.shape == (X.shape[1], n_out)
    assert np.all(np.isfinite(Z)) and np.all(np.isfinite(dX)) and np.all(np.isfinite(layer.dW))


# -- losses -------------------------------------------------------------------------

@FAST
@given(A=matrices(), seed=st.integers(0, 2**16))
def test_mse_is_non_negative_and_zero_on_the_target(A, seed):
    Y = np.random.default_rng(seed).standard_normal(A.shape).astype(A.dtype)
    loss = cr.MSE()
    assert loss.forward(A, Y) >= 0
    assert loss.forward(A, A) == 0
    assert np.all(np.isfinite(loss.backward()))


@FAST
@given(Z=matrices(), seed=st.integers(0, 2**16))
def test_bce_is_non_negative_and_finite_on_probabilities_and_logits(Z, seed):
    Y = np.random.default_rng(seed).integers(0, 2, Z.shape).astype(Z.dtype)
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        A = cr.Sigmoid().forward(Z)
        bce = cr.BinaryCrossEntropy()
        on_probabilities = bce.forward(A, Y)
        dA = bce.backward()
        on_logits = bce.forward_logits(Z, Y)
        dZ = bce.backward_logits()
    assert on_probabilities >= 0 and on_logits >= 0
    assert np.isfinite(on_probabilities) and np.isfinite(on_logits)
    assert np.all(np.isfinite(dA)) and np.all(np.isfinite(dZ))


@FAST
@given(Z=matrices(min_cols=2), seed=st.integers(0, 2**16), one_hot=st.booleans())
def test_cross_entropy_is_non_negative_and_finite(Z, seed, one_hot):
    labels = np.random.default_rng(seed).integers(0, Z.shape[1], len(Z))
    Y = np.eye(Z.shape[1], dtype=Z.dtype)[labels] if one_hot else labels
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        ce = cr.CrossEntropy()
        on_logits = ce.forward_logits(Z, Y)
        dZ = ce.backward_logits()
        on_probabilities = ce.forward(cr.Softmax().forward(Z), Y)
        dA = ce.backward()
    assert on_logits >= 0 and on_probabilities >= 0
    assert np.all(np.isfinite(dZ)) and np.all(np.isfinite(dA))
    np.testing.assert_allclose(dZ.sum(axis=1), 0, atol=1e-5)


@FAST
@given(n=st.integers(1, 5), sizes=st.lists(st.integers(1, 4), min_size=1, max_size=2),
       hidden=st.sampled_from(ACTIVATIONS[:-1]),
       task=st.sampled_from(["mse", "bce", "ce"]), seed=st.integers(0, 2**16))
@example(n=2, sizes=[1, 1], hidden=cr.GELU, task="mse", seed=3937)   # a gradient of ~1e-7
def test_network_gradients_match_central_differences(n, sizes, hidden, task, seed):
    rng = np.random.default_rng(seed)
    n_in, n_out = sizes[0], (sizes[-1] if task != "ce" else sizes[-1] + 1)
    output, loss = {"mse": ("identity", cr.MSE()), "bce": ("sigmoid", cr.BinaryCrossEntropy()),
                    "ce": ("softmax", cr.CrossEntropy())}[task]
    net = cr.mlp([n_in, *sizes[1:], n_out], hidden=hidden(), output=output, seed=seed,
                 dtype=np.float64)
    for layer in net.layers:
        if isinstance(layer, cr.Dense):  # biases away from 0 keep ReLU's kink out of reach
            layer.b = rng.uniform(0.2, 0.6, layer.b.shape) * rng.choice([-1, 1], layer.b.shape)
    X = rng.standard_normal((n, n_in))
    y = {"mse": rng.standard_normal((n, n_out)), "bce": rng.integers(0, 2, (n, n_out)),
         "ce": rng.integers(0, n_out, n)}[task]
    report = cr.gradient_check(net, loss, X, y)
    # relative to the gradient's size, or absolute where the gradient itself is nearly 0 (GELU's
    # derivative vanishes at Z ≈ −0.75: there central differences' own error, ~1e-10, dominates)
    for _name, _shape, abs_error, relative in report.rows:
        assert relative < 1e-5 or abs_error < 1e-8, str(report)


# -- model files ---------------------------------------------------------------------

def _valid_model(tmp_path_factory):
    path = tmp_path_factory.mktemp("valid") / "m.safetensors"
    cr.Sequential([cr.Dense(3, 4, seed=0), cr.LeakyReLU(0.1), cr.Dense(4, 2, seed=1),
                   cr.Softmax()]).save(path)
    return path.read_bytes()


@pytest.fixture(scope="module")
def valid_bytes(tmp_path_factory):
    return _valid_model(tmp_path_factory)


def _load_bytes(tmp_path, raw):
    path = tmp_path / "fuzz.safetensors"
    path.write_bytes(raw)
    try:
        net = cr.load(path)
    except ValueError:
        return None
    assert isinstance(net, cr.Sequential)
    return net


@FAST
@given(data=st.data())
def test_mutated_model_files_load_or_raise_value_error(tmp_path, valid_bytes, data):
    raw = bytearray(valid_bytes)
    for _ in range(data.draw(st.integers(1, 4))):
        kind = data.draw(st.sampled_from(["flip", "cut", "insert", "delete"]))
        at = data.draw(st.integers(0, max(len(raw) - 1, 0)))
        if kind == "flip" and raw:
            raw[at] = data.draw(st.integers(0, 255))
        elif kind == "cut":
            del raw[at:]
        elif kind == "insert":
            raw[at:at] = data.draw(st.binary(min_size=1, max_size=8))
        elif kind == "delete":
            del raw[at:at + data.draw(st.integers(1, 8))]
    _load_bytes(tmp_path, bytes(raw))


@FAST
@given(raw=st.binary(max_size=200))
def test_random_bytes_raise_value_error(tmp_path, raw):
    assert _load_bytes(tmp_path, raw) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats(allow_nan=False) |
    st.text(max_size=10),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=8),
                                                                      children, max_size=3),
    max_leaves=10)


@FAST
@given(header=st.dictionaries(st.sampled_from(["__metadata__", "layers.0.W", "layers.0.b", "x"]),
                              json_values, max_size=3),
       data=st.binary(max_size=64))
def test_random_headers_raise_value_error(tmp_path, header, data):
    text = json.dumps(header).encode()
    assert _load_bytes(tmp_path, struct.pack("<Q", len(text)) + text + data) is None


@FAST
@given(architecture=json_values, meta=st.dictionaries(
    st.sampled_from(["format", "format_version", "dtype", "user", "chainrule_version"]),
    st.text(max_size=12), max_size=5))
def test_random_chainrule_metadata_raises_value_error(tmp_path, architecture, meta):
    from safetensors.numpy import save
    full = {"format": "chainrule", "format_version": "1", "dtype": "float32", "user": "{}",
            "architecture": json.dumps(architecture), **meta}
    tensors = {"layers.0.W": np.zeros((2, 2), np.float32), "layers.0.b": np.zeros(2, np.float32)}
    net = _load_bytes(tmp_path, save(tensors, metadata=full))
    assert net is None or net.n_params == 6


# -- hostile files: mutations of valid model, checkpoint and estimator files (issue 15) ----
# Each mutated file either loads or raises ValueError (never another exception), allocates
# at most a small multiple of its own size, and runs no code. Byte-level damage is mostly
# caught by the checksum, so most mutations edit the metadata or tensors and write a
# matching checksum: a file made to be hostile, not one damaged by accident.

#: tracemalloc peak allowed while loading: this many bytes per byte of the file, plus a
#: fixed allowance for Python's own objects (a valid file takes 10-14 bytes per byte).
PEAK_PER_BYTE, PEAK_FIXED = 64, 1_000_000

HOSTILE = settings(max_examples=60, deadline=None,
                   suppress_health_check=[HealthCheck.function_scoped_fixture,
                                          HealthCheck.too_slow])

hostile_values = json_values | st.sampled_from([
    10**400, -1, 0, 2**63, 2**64 + 1, 1e308, -1e308, "<U100000000", "(99999999999999,)i8",
    "nan", "inf", "O", [], {}, [[]], "float64", "int8", None, True,
]) | st.integers(0, 64).map(lambda k: 10**k) | st.integers(1, 150).map(
    lambda depth: json.loads("[" * depth + "]" * depth))


@pytest.fixture(scope="module")
def valid_files(tmp_path_factory):
    """``{kind: bytes}`` for a valid model, checkpoint and estimator file (each loaded once,
    so first-use caches do not count as the mutants' memory)."""
    import warnings

    from chainrule.sklearn import MLPClassifier
    folder = tmp_path_factory.mktemp("valid_files")
    X = np.random.default_rng(0).normal(size=(30, 3))
    y = np.array(["ant", "bee", "cat"] * 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y).save(
            folder / "estimator.safetensors")
        net = _checkpoint_net()
        net.fit(X, np.arange(30) % 3, loss=cr.CrossEntropy(), optimizer=cr.Adam(lr=0.01),
                epochs=1, batch_size=8, seed=1, verbose=0,
                callbacks=[cr.ModelCheckpoint(folder / "checkpoint.safetensors")])
    files = {"model": _valid_model(tmp_path_factory)}
    for kind in ("checkpoint", "estimator"):
        files[kind] = (folder / f"{kind}.safetensors").read_bytes()
    for kind, raw in files.items():
        path = folder / f"again-{kind}.safetensors"
        path.write_bytes(raw)
        _LOADERS[kind](path)
    return files


def _checkpoint_net():
    return cr.mlp([3, 5, 3], hidden="tanh", output="softmax", seed=0)


def _resume(path):
    from chainrule.train.callbacks import History
    from chainrule.train.checkpoint import restore
    from chainrule.train.hooks import Run
    run = Run(_checkpoint_net(), cr.Adam(lr=0.01), cr.CrossEntropy(), History(), 1, 1,
              rng=np.random.default_rng(0))
    return restore(path, run)


def _load_estimator(path):
    from chainrule.sklearn import load
    return load(path)


_LOADERS = {"model": lambda path: cr.load_with_extras(path), "checkpoint": _resume,
            "estimator": _load_estimator}


def _parts(raw):
    """``(metadata, tensors)`` of a valid safetensors byte string."""
    from safetensors.numpy import load
    (n,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + n])["__metadata__"], load(raw)


def _paths(value, prefix=()):
    """Every path (tuple of keys and indices) into a JSON value, the value's own included."""
    yield prefix
    items = value.items() if isinstance(value, dict) else \
        enumerate(value) if isinstance(value, list) else ()
    for key, child in items:
        yield from _paths(child, (*prefix, key))


def _replace(value, path, new):
    if not path:
        return new
    copy = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = _replace(value[path[0]], path[1:], new)
    return copy


def _mutant(raw, data):
    """A hostile version of the file ``raw``: bytes damaged, or a metadata entry, a value
    inside one, or a tensor replaced, with a checksum that matches the change."""
    from safetensors.numpy import save
    kind = data.draw(st.sampled_from(["bytes", "entry", "json", "json", "json", "tensor"]))
    if kind == "bytes":
        mutated = bytearray(raw)
        at = data.draw(st.integers(0, len(mutated) - 1))
        mutated[at] = data.draw(st.integers(0, 255))
        return bytes(mutated)
    meta, tensors = _parts(raw)
    if kind == "entry":
        meta[data.draw(st.sampled_from(sorted(meta)))] = data.draw(st.text(max_size=12))
    elif kind == "json":
        key = data.draw(st.sampled_from(["architecture", "user"]))
        value = json.loads(meta[key])
        path = data.draw(st.sampled_from(list(_paths(value))))
        meta[key] = json.dumps(_replace(value, path, data.draw(hostile_values)))
    else:
        name = data.draw(st.sampled_from(sorted(tensors)))
        shape = data.draw(st.lists(st.integers(0, 5), max_size=3))
        dtype = data.draw(st.sampled_from([np.float32, np.float64, np.int64, np.uint8]))
        tensors[name] = np.full(shape, data.draw(st.sampled_from([0.0, 1.0, np.nan])), dtype) \
            if np.dtype(dtype).kind == "f" else np.ones(shape, dtype)
    meta["checksum"] = cr.files.model.checksum(meta, tensors)
    return save(tensors, metadata=meta)


class _CodeWatch:
    """While active: records any call that would run code a file names (unpickling, eval,
    exec, a shell), and afterwards which modules were imported (none should be)."""

    def __enter__(self):
        import builtins
        import contextlib
        import pickle
        import subprocess
        from unittest import mock
        self.calls, self._stack = [], contextlib.ExitStack()
        for owner, name in ((pickle, "loads"), (pickle, "load"), (builtins, "eval"),
                            (builtins, "exec"), (os, "system"), (subprocess, "Popen")):
            self._stack.enter_context(mock.patch.object(
                owner, name, self._recorder(f"{owner.__name__}.{name}")))
        self.modules = set(sys.modules)
        return self

    def _recorder(self, name):
        return lambda *args, **kwargs: self.calls.append(name)

    def __exit__(self, *exc):
        self.imported = set(sys.modules) - self.modules
        self._stack.close()


@pytest.mark.parametrize("kind", ["model", "checkpoint", "estimator"])
@HOSTILE
@given(data=st.data())
def test_mutated_files_raise_only_value_error_within_memory_and_run_no_code(
        tmp_path, valid_files, kind, data):
    import tracemalloc
    import warnings
    raw = _mutant(valid_files[kind], data)
    path = tmp_path / f"mutant-{kind}.safetensors"
    path.write_bytes(raw)
    with _CodeWatch() as watch, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tracemalloc.start()
        try:
            _LOADERS[kind](path)
        except ValueError:
            pass
        finally:
            peak = tracemalloc.get_traced_memory()[1]
            tracemalloc.stop()
    assert peak < PEAK_PER_BYTE * len(raw) + PEAK_FIXED, (peak, len(raw))
    assert watch.calls == [] and watch.imported == set()
