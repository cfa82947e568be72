"""Activation layers: gradients by central differences, the layer protocol, dtypes, edge values."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import chainrule as cr

from conftest import assert_close, numeric_gradient

ACTIVATIONS = {
    "Sigmoid": cr.Sigmoid, "Tanh": cr.Tanh, "ReLU": cr.ReLU, "LeakyReLU": cr.LeakyReLU,
    "LeakyReLU(0.3)": lambda: cr.LeakyReLU(0.3), "ELU": cr.ELU, "ELU(0.5)": lambda: cr.ELU(0.5),
    "GELU": cr.GELU, "Softplus": cr.Softplus, "Identity": cr.Identity, "Softmax": cr.Softmax,
}
NAMES = list(ACTIVATIONS)
# underflow to 0 (e.g. e^-1000) is the right answer, not an error; the rest must not happen
STRICT = dict(over="raise", divide="raise", invalid="raise")


def inputs(rng, shape, dtype=np.float64):
    """Random inputs kept away from 0, where ReLU-family derivatives have a kink."""
    Z = rng.uniform(0.05, 3.0, shape) * rng.choice([-1.0, 1.0], shape)
    return Z.astype(dtype)


# -- gradients -----------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(4, 5), (1, 3), (3, 1), (1, 1)])
def test_backward_matches_central_differences(name, shape, rng):
    """L = Σ G ⊙ g(Z) for a random upstream gradient G, so that ∂L/∂Z = backward(G)."""
    layer = ACTIVATIONS[name]()
    Z = inputs(rng, shape)
    G = rng.standard_normal(shape)
    layer.forward(Z)
    dZ = layer.backward(G)
    numeric = numeric_gradient(lambda: float(np.sum(G * layer.forward(Z))), Z)
    assert_close(dZ, numeric, 1e-7, f"{name}: dZ")


@pytest.mark.parametrize("name", NAMES)
def test_gradient_check_alone_and_after_dense(name, rng):
    X = inputs(rng, (4, 3))
    y = rng.standard_normal((4, 3))
    alone = cr.Sequential([ACTIVATIONS[name]()], dtype=np.float64)
    report = cr.gradient_check(alone, cr.MSE(), X, y)
    assert report.max_relative_error <= 1e-6, str(report)
    # after another layer: a bug can hide when nothing precedes the layer
    dense = cr.Dense(3, 3, seed=rng, dtype=np.float64)
    dense.b = rng.normal(0, 0.3, 3)
    after = cr.Sequential([dense, ACTIVATIONS[name]()], dtype=np.float64)
    report = cr.gradient_check(after, cr.MSE(), X, y)
    assert report.max_relative_error <= 1e-6, str(report)
    assert [row[0] for row in report.rows] == ["dW (layer 0)", "db (layer 0)", "dX"]


# -- the protocol ---------------------------------------------------------------------------

@pytest.mark.parametrize("name", NAMES)
def test_never_writes_into_its_arguments(name, rng):
    layer = ACTIVATIONS[name]()
    Z = inputs(rng, (3, 4))
    dA = rng.standard_normal((3, 4))
    Z_before, dA_before = Z.copy(), dA.copy()
    Z.setflags(write=False)
    dA.setflags(write=False)
    for _ in range(2):
        layer.forward(Z)
        layer.backward(dA)
    np.testing.assert_array_equal(Z, Z_before)
    np.testing.assert_array_equal(dA, dA_before)


@pytest.mark.parametrize("name", NAMES)
def test_backward_before_forward_is_a_clear_error(name):
    with pytest.raises(RuntimeError, match=r"backward was called before forward.*forward\(X\)"):
        ACTIVATIONS[name]().backward(np.ones((2, 3)))


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtype_is_preserved(name, dtype, rng):
    layer = ACTIVATIONS[name]()
    Z = inputs(rng, (3, 4), dtype)
    A = layer.forward(Z)
    dZ = layer.backward(np.ones((3, 4), dtype))
    assert A.dtype == dtype and dZ.dtype == dtype, (A.dtype, dZ.dtype)


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (0, 3)])
def test_edge_shapes(name, shape, rng):
    layer = ACTIVATIONS[name]()
    Z = inputs(rng, shape)
    A = layer.forward(Z)
    dZ = layer.backward(np.ones(shape))
    assert A.shape == shape and dZ.shape == shape
    assert np.all(np.isfinite(A)) and np.all(np.isfinite(dZ))


def test_no_parameters():
    for name in NAMES:
        layer = ACTIVATIONS[name]()
        assert layer.params == () and layer.parameters() == [] and layer.dtype is None


# -- values ---------------------------------------------------------------------------------

def test_sigmoid_agrees_with_scipy_expit_to_rounding():
    special = pytest.importorskip("scipy.special")
    Z = np.concatenate([np.linspace(-745, 745, 2001), [-30.0, -1e-9, 0.0, 1e-9, 30.0]])
    # they may part only below float64's normal range (~1e-308), where precision ends anyway
    np.testing.assert_allclose(cr.nn.activations.sigmoid(Z), special.expit(Z), rtol=1e-13,
                               atol=1e-300)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_sigmoid_is_stable_at_plus_minus_1000(dtype):
    Z = np.array([[-1000.0, -50.0, 0.0, 50.0, 1000.0]], dtype)
    with warnings.catch_warnings(), np.errstate(**STRICT):
        warnings.simplefilter("error")
        layer = cr.Sigmoid()
        A = layer.forward(Z)
        dZ = layer.backward(np.ones_like(Z))
    assert A.dtype == dtype
    assert A[0, 0] == 0.0 and A[0, 4] == 1.0 and A[0, 2] == 0.5
    # accurate in absolute terms (what gradients need); σ(−50) ≈ 2e-22 may round to 0
    assert abs(A[0, 1] - np.exp(-50.0)) <= np.finfo(dtype).eps and abs(1 - A[0, 3]) <= np.finfo(dtype).eps
    np.testing.assert_array_equal(dZ[0, [0, 4]], [0.0, 0.0])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_softmax_rows_sum_to_one(dtype, rng):
    Z = (rng.standard_normal((6, 5)) * np.array([[1], [10], [100], [1000], [1e4], [0]])).astype(dtype)
    with np.errstate(**STRICT):
        A = cr.Softmax().forward(Z)
    assert A.dtype == dtype
    assert np.all(A >= 0) and np.all(A <= 1)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=10 * np.finfo(dtype).eps)
    np.testing.assert_allclose(A[5], 0.2, rtol=10 * np.finfo(dtype).eps)  # equal logits


def test_softmax_is_over_the_last_axis():
    A = cr.Softmax().forward(np.array([[0.0, np.log(3.0)]]))
    np.testing.assert_allclose(A, [[0.25, 0.75]], rtol=1e-15)


def test_activations_equal_torch_functions(rng):
    torch = pytest.importorskip("torch")
    F = torch.nn.functional
    Z = np.concatenate([rng.standard_normal((4, 6)) * 3, [[-40.0, -5.0, -1e-3, 1e-3, 5.0, 40.0]]])
    functions = {
        "Sigmoid": torch.sigmoid, "Tanh": torch.tanh, "ReLU": F.relu,
        "LeakyReLU": F.leaky_relu, "LeakyReLU(0.3)": lambda t: F.leaky_relu(t, 0.3),
        "ELU": F.elu, "ELU(0.5)": lambda t: F.elu(t, 0.5), "GELU": F.gelu,
        "Softplus": F.softplus, "Identity": lambda t: t, "Softmax": lambda t: torch.softmax(t, -1),
    }
    G = rng.standard_normal(Z.shape)
    for name in NAMES:
        layer = ACTIVATIONS[name]()
        Zt = torch.tensor(Z, requires_grad=True)
        At = functions[name](Zt)
        At.backward(torch.tensor(G))
        assert_close(layer.forward(Z), At.detach().numpy(), 1e-12, f"{name}: A")
        assert_close(layer.backward(G), Zt.grad.numpy(), 1e-12, f"{name}: dZ")


def test_gelu_is_torchs_exact_gelu_not_the_tanh_approximation(rng):
    torch = pytest.importorskip("torch")
    Z = np.linspace(-6, 6, 241)[None, :]
    Zt = torch.tensor(Z, requires_grad=True)
    exact = torch.nn.functional.gelu(Zt, approximate="none")
    exact.sum().backward()
    tanh_form = torch.nn.functional.gelu(torch.tensor(Z), approximate="tanh").numpy()
    layer = cr.GELU()
    A = layer.forward(Z)
    # nn's erf is a fit, within 2e-13 of math.erf (NumPy has no erf): 1e-12 here, where the
    # tanh form is 1e-5 away
    assert_close(A, exact.detach().numpy(), 1e-12, "GELU(Z)")
    assert_close(layer.backward(np.ones_like(Z)), Zt.grad.numpy(), 1e-12, "GELU'(Z)")
    assert np.max(np.abs(A - tanh_form)) > 1e-5  # the two forms really differ


def test_relu_derivative_at_zero_is_zero_like_torch():
    layer = cr.ReLU()
    layer.forward(np.array([[-1.0, 0.0, 1.0]]))
    np.testing.assert_array_equal(layer.backward(np.ones((1, 3))), [[0.0, 0.0, 1.0]])


def test_large_inputs_stay_finite():
    Z = np.array([[-1e4, -700.0, 700.0, 1e4]])
    with np.errstate(**STRICT):
        for name in ("ELU", "Softplus", "GELU", "Tanh", "Sigmoid"):
            A = ACTIVATIONS[name]().forward(Z)
            assert np.all(np.isfinite(A)), (name, A)
    np.testing.assert_array_equal(cr.Softplus().forward(Z)[0, 2:], [700.0, 1e4])


@pytest.mark.parametrize("cls", [cr.LeakyReLU, cr.ELU])
@pytest.mark.parametrize("alpha", [-0.1, float("nan"), float("inf")])
def test_alpha_is_checked(cls, alpha):
    with pytest.raises(ValueError, match=rf"alpha must be (a finite number )?>= 0, got {alpha}"):
        cls(alpha)


def test_config_and_repr():
    assert cr.LeakyReLU(0.2).config() == {"alpha": 0.2}
    assert repr(cr.ELU(0.5)) == "ELU(alpha=0.5)"
    assert repr(cr.Tanh()) == "Tanh()"


# -- properties -----------------------------------------------------------------------------

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)), elements=finite), finite)
def test_softmax_ignores_a_constant_added_to_each_row(Z, c):
    with np.errstate(**STRICT):
        A = cr.Softmax().forward(Z)
        np.testing.assert_allclose(cr.Softmax().forward(Z + c), A, rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(A.sum(axis=1), 1.0, rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 4), st.integers(1, 5)), elements=finite))
@example(np.array([[28.0, 10.0, -28.0, 700.0]]))  # e^(Z − log(1 + e^Z)) failed here (1.3e-15)
def test_sigmoid_symmetry_and_softplus_derivative(Z):
    with np.errstate(**STRICT):
        s = cr.Sigmoid().forward(Z)
        np.testing.assert_allclose(cr.Sigmoid().forward(-Z), 1 - s, atol=1e-15)
        softplus = cr.Softplus()
        softplus.forward(Z)
        np.testing.assert_allclose(softplus.backward(np.ones_like(Z)), s, rtol=1e-14,
                                   atol=1e-300)


@pytest.mark.parametrize("dtype, rtol", [(np.float32, 1e-6), (np.float64, 1e-14)])
def test_sigmoid_keeps_tiny_probabilities_to_full_relative_precision(dtype, rtol):
    """σ(−30) ≈ 9.4e-14 must not come out as 1 − (1 − 9.4e-14): predict_proba and log-loss need it."""
    Z = np.array([[-80.0, -30.0, -10.0, -1.0, 0.0, 1.0, 10.0, 30.0]], dtype)
    expected = 1.0 / (1.0 + np.exp(-Z.astype(np.float64)))
    A = cr.Sigmoid().forward(Z)
    assert A.dtype == dtype
    np.testing.assert_allclose(A, expected, rtol=rtol, atol=0)


def test_sigmoid_keeps_float16():
    Z = np.array([[-3.0, 0.0, 3.0]], np.float16)
    assert cr.nn.activations.sigmoid(Z).dtype == np.float16
    bce = cr.BinaryCrossEntropy()
    bce.forward_logits(Z, np.ones_like(Z))
    assert bce.backward_logits().dtype == np.float16
    np.testing.assert_allclose(cr.nn.activations.sigmoid(Z), 1 / (1 + np.exp(-Z.astype(float))),
                               rtol=2e-3)


def test_gelu_keeps_float16():
    Z = np.array([[-2.0, 0.0, 1.5]], np.float16)
    layer = cr.GELU()
    A = layer.forward(Z)
    assert A.dtype == np.float16 and layer.backward(np.ones_like(Z)).dtype == np.float16


def test_erf_equals_math_erf_to_2e_13_everywhere():
    """NumPy has no erf: nn's own (a fitted erfc form) against Python's math.erf."""
    import math

    from chainrule.nn.activations import erf
    x = np.concatenate([np.linspace(-8, 8, 160_001), [0.0, -0.0, 1e-300, -1e-9, 5.99, 6.01, 40.0]])
    expected = np.array([math.erf(v) for v in x])
    assert np.max(np.abs(erf(x) - expected)) < 2e-13
    np.testing.assert_array_equal(erf(np.array([np.inf, -np.inf, 0.0])), [1.0, -1.0, 0.0])
    assert np.isnan(erf(np.array([np.nan]))[0])
    assert erf(np.ones(3, np.float32)).dtype == np.float64   # float64 inside; GELU casts back
