"""to_torch / from_torch / to_onnx: the same predictions on the other side."""
import sys

import numpy as np
import pytest

import chainrule as cr

from conftest import assert_blas_close, sums_length

torch = pytest.importorskip("torch")
nn = torch.nn

HIDDEN = ["identity", "sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus"]


def _net(hidden, output="identity", dtype=np.float32, seed=0):
    return cr.mlp([5, 7, 6, 3], hidden=hidden, output=output, seed=seed, dtype=dtype)


def _X(dtype, n=11, seed=1):
    return np.random.default_rng(seed).normal(size=(n, 5)).astype(dtype)


@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output", ["identity", "softmax", "sigmoid"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_to_torch_predicts_the_same(hidden, output, dtype):
    net = _net(hidden, output, dtype)
    X = _X(dtype)
    module = cr.to_torch(net)
    assert isinstance(module, nn.Sequential) and not module.training
    with torch.no_grad():
        theirs = module(torch.from_numpy(X)).numpy()
    assert theirs.dtype == dtype
    np.testing.assert_allclose(theirs, net.predict(X), rtol=0, atol=1e-6)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_from_torch_predicts_the_same(dtype):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(5, 8), nn.Tanh(),
                           nn.Sequential(nn.Linear(8, 8, bias=False), nn.LeakyReLU(0.2)),
                           nn.Linear(8, 4), nn.ELU(0.5), nn.Linear(4, 4), nn.GELU(),
                           nn.Linear(4, 3), nn.Softplus(), nn.Dropout(0.1), nn.Linear(3, 3),
                           nn.Softmax(dim=-1)).to(dtype).eval()
    net = cr.from_torch(module)
    assert net.dtype == np.dtype(str(dtype).replace("torch.", ""))
    X = _X(net.dtype)
    with torch.no_grad():
        theirs = module(torch.from_numpy(X)).numpy()
    np.testing.assert_allclose(net.predict(X), theirs, rtol=0, atol=1e-6)


def test_round_trip_through_torch_is_exact():
    net = _net("relu", "softmax")
    back = cr.from_torch(cr.to_torch(net))
    np.testing.assert_array_equal(back.flat_params, net.flat_params)
    X = _X(np.float32)
    assert_blas_close(back.predict(X), net.predict(X), sums_length(net))


@pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")
def test_estimator_converts_through_its_network():
    from chainrule.sklearn import MLPClassifier
    X, y = _X(np.float64, n=60), np.arange(60) % 3
    est = MLPClassifier(hidden_layer_sizes=(6,), max_iter=5, random_state=0).fit(X, y)
    with torch.no_grad():
        P = cr.to_torch(est)(torch.from_numpy(X.astype(np.float32))).numpy()
    np.testing.assert_allclose(P, est.predict_proba(X), atol=1e-6)


@pytest.mark.parametrize("module, word", [
    (nn.Sequential(nn.Linear(3, 3), nn.Conv1d(1, 1, 1)), "Conv1d"),
    (nn.Sequential(nn.Linear(3, 3), nn.Softplus(beta=2.0)), "Softplus"),
    (nn.Sequential(nn.Linear(3, 3), nn.GELU(approximate="tanh")), "GELU"),
    (nn.Sequential(nn.Linear(3, 3), nn.Softmax(dim=0)), "Softmax"),
])
def test_from_torch_names_what_it_cannot_convert(module, word):
    with pytest.raises(TypeError, match=word) as error:
        cr.from_torch(module)
    assert "supported:" in str(error.value)


def test_to_torch_names_what_it_cannot_convert():
    class Odd(cr.Layer):
        def forward(self, X):
            return X

    net = cr.Sequential([cr.Dense(2, 2), Odd()])
    with pytest.raises(TypeError, match=r"layers\[1\].*Odd"):
        cr.to_torch(net)
    with pytest.raises(TypeError, match="Sequential"):
        cr.to_torch("not a network")


# -- ONNX -------------------------------------------------------------------------

@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("output", ["identity", "softmax", "sigmoid"])
def test_onnx_runtime_predicts_the_same(tmp_path, hidden, output):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    net = _net(hidden, output)
    path = tmp_path / "net.onnx"
    cr.to_onnx(net, path)
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    X = _X(np.float32, n=17)
    (theirs,) = session.run(None, {"X": X})
    assert theirs.dtype == np.float32 and theirs.shape == (17, 3)
    np.testing.assert_allclose(theirs, net.predict(X), rtol=0, atol=1e-5)


def test_onnx_exp_output():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    net = cr.Sequential([cr.Dense(5, 4, seed=0), cr.Tanh(), cr.Dense(4, 2, seed=1), cr.Exp()])
    session = ort.InferenceSession(cr.to_onnx(net).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    X = _X(np.float32)
    np.testing.assert_allclose(session.run(None, {"X": X})[0], net.predict(X), rtol=1e-5)
    with pytest.raises(TypeError, match="Exp"):
        cr.to_torch(net)  # torch.nn has no exponential module


def test_onnx_float64_and_estimator(tmp_path):
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    net = _net("tanh", "softmax", dtype=np.float64)
    model = cr.to_onnx(net)  # no path: the ModelProto only
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    X = _X(np.float64)
    np.testing.assert_allclose(session.run(None, {"X": X})[0], net.predict(X), atol=1e-12)


def _every_activation():
    """One instance of each activation chainrule has (non-default α where it has one)."""
    from chainrule.nn import activations as act
    classes = [c for c in vars(act).values() if isinstance(c, type)
               and issubclass(c, act.Activation) and c is not act.Activation]
    settings = {act.LeakyReLU: (0.1,), act.ELU: (0.7,)}
    return [c(*settings.get(c, ())) for c in sorted(classes, key=lambda c: c.__name__)]


@pytest.mark.parametrize("activation", _every_activation(), ids=repr)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_onnx_runtime_runs_every_activation_in_both_dtypes(activation, dtype):
    # ONNX Runtime has no float64 Elu, Softplus or Erf: these were NOT_IMPLEMENTED
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    net = cr.Sequential([cr.Dense(5, 6, seed=0), activation, cr.Dense(6, 3, seed=1)], dtype=dtype)
    session = ort.InferenceSession(cr.to_onnx(net).SerializeToString(),
                                   providers=["CPUExecutionProvider"])
    X = np.vstack([_X(dtype, n=40) * 3, np.zeros((1, 5)), np.full((1, 5), 1e-9),
                   np.full((1, 5), -8.0), np.full((1, 5), 8.0)]).astype(dtype)
    (theirs,) = session.run(None, {"X": X})
    assert theirs.dtype == dtype
    # ONNX Runtime's products (MLAS) sum in another order than NumPy's BLAS
    assert_blas_close(theirs, net.predict(X), sums_length(net), repr(activation))


def test_onnx_float64_erf_matches_scipy_over_the_whole_range():
    pytest.importorskip("onnx")
    ort = pytest.importorskip("onnxruntime")
    special = pytest.importorskip("scipy.special")
    net = cr.Sequential([cr.Dense(1, 1), cr.GELU()], dtype=np.float64)
    net.layers[0].W = np.ones((1, 1))  # the identity in front: the export needs a width
    net.layers[0].b = np.zeros(1)
    model = cr.to_onnx(net)
    session = ort.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])
    z = np.concatenate([np.linspace(-12, 12, 20001), [1e-300, -1e-20, 8.48, 8.49, 50.0]])
    (gelu,) = session.run(None, {"X": z.reshape(-1, 1)})
    expected = z * 0.5 * (1 + special.erf(z / np.sqrt(2)))
    np.testing.assert_allclose(gelu[:, 0], expected, rtol=1e-14, atol=1e-14)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
@pytest.mark.parametrize("where", ["weight", "bias"])
def test_from_torch_refuses_non_finite_weights_naming_the_parameter(bad, where):
    module = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Sequential(nn.Linear(4, 2)))
    with torch.no_grad():
        getattr(module[2][0], where).view(-1)[1] = bad
    with pytest.raises(ValueError, match=rf"module '2.0': {where} must be finite, but it holds "
                                         r"1 NaN or infinite values"):
        cr.from_torch(module)


@pytest.mark.parametrize("function", ["to_torch", "from_torch"])
def test_without_torch_the_error_says_how_to_install_it(function, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    argument = _net("relu") if function == "to_torch" else object()
    with pytest.raises(ImportError, match=rf"^{function} needs PyTorch: pip install torch"):
        getattr(cr, function)(argument)
