"""Losses: values and starting gradients equal torch's; the fused pairs hold at logits ±1e4."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from conftest import assert_close, numeric_gradient

torch = pytest.importorskip("torch")
F = torch.nn.functional

STRICT = dict(over="raise", divide="raise", invalid="raise")


def softmax(Z):
    E = np.exp(Z - Z.max(axis=1, keepdims=True))
    return E / E.sum(axis=1, keepdims=True)


def torch_value_and_grad(f, A, *args):
    At = torch.tensor(A, requires_grad=True)
    value = f(At, *args)
    value.backward()
    return value.item(), At.grad.numpy()


# -- values and gradients against torch --------------------------------------------------

@pytest.mark.parametrize("shape", [(5, 3), (1, 1), (7, 1)])
def test_mse_equals_torch(shape, rng):
    A, Y = rng.standard_normal(shape), rng.standard_normal(shape)
    loss = cr.MSE()
    value, dA = loss.forward(A, Y), loss.backward()
    t_value, t_dA = torch_value_and_grad(F.mse_loss, A, torch.tensor(Y))
    assert_close(value, t_value, 1e-12, "MSE value")
    assert_close(dA, t_dA, 1e-12, "MSE dA")


@pytest.mark.parametrize("soft", [False, True], ids=["labels", "soft-targets"])
def test_bce_equals_torch(soft, rng):
    A = rng.uniform(0.01, 0.99, (6, 2))
    Y = rng.uniform(0, 1, (6, 2)) if soft else rng.integers(0, 2, (6, 2)).astype(float)
    loss = cr.BinaryCrossEntropy()
    value, dA = loss.forward(A, Y), loss.backward()
    t_value, t_dA = torch_value_and_grad(F.binary_cross_entropy, A, torch.tensor(Y))
    assert_close(value, t_value, 1e-12, "BCE value")
    assert_close(dA, t_dA, 1e-12, "BCE dA")


def test_bce_clamps_like_torch_at_probabilities_0_and_1():
    A = np.array([[0.0], [1.0], [0.0], [1.0], [0.5]])
    Y = np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])
    loss = cr.BinaryCrossEntropy()
    with np.errstate(**STRICT):
        value, dA = loss.forward(A, Y), loss.backward()
    t_value, t_dA = torch_value_and_grad(F.binary_cross_entropy, A, torch.tensor(Y))
    assert np.isfinite(value) and np.all(np.isfinite(dA))
    assert_close(value, t_value, 1e-12, "BCE value at 0 and 1")  # each log clamped at -100
    # torch clamps A(1 − A) at 1e-12 rounded to float32 (0.99999999600e-12), chainrule at
    # 1e-12 itself: the clamped gradients differ in the ninth digit
    assert_close(dA, t_dA, 1e-8, "BCE dA at 0 and 1")


@pytest.mark.parametrize("targets", ["labels", "onehot", "soft"])
def test_cross_entropy_on_probabilities_equals_torch_on_logits(targets, rng):
    Z = rng.standard_normal((6, 4)) * 2
    labels = rng.integers(0, 4, 6)
    if targets == "labels":
        Y, t_Y = labels, torch.tensor(labels)
    elif targets == "onehot":
        Y = np.eye(4)[labels]
        t_Y = torch.tensor(Y)
    else:
        Y = softmax(rng.standard_normal((6, 4)))
        t_Y = torch.tensor(Y)
    loss = cr.CrossEntropy()
    A = softmax(Z)
    value = loss.forward(A, Y)
    dA = loss.backward()
    t_value, t_dZ = torch_value_and_grad(F.cross_entropy, Z, t_Y)
    assert_close(value, t_value, 1e-12, "CrossEntropy value")
    # the gradient with respect to the probabilities: −Y/A/n, as torch gives for −Σ Y log A / n
    t_dA = torch_value_and_grad(lambda At: -(torch.as_tensor(np.eye(4)[labels] if targets == "labels" else Y)
                                             * torch.log(At)).sum() / len(At), A)[1]
    assert_close(dA, t_dA, 1e-12, "CrossEntropy dA")
    # through Softmax.backward it is torch's gradient on the logits
    softmax_layer = cr.Softmax()
    softmax_layer.forward(Z)
    assert_close(softmax_layer.backward(dA), t_dZ, 1e-10, "CrossEntropy dA through Softmax")


@pytest.mark.parametrize("loss_cls", [cr.MSE, cr.BinaryCrossEntropy, cr.CrossEntropy])
def test_backward_matches_central_differences(loss_cls, rng):
    A = rng.uniform(0.05, 0.95, (4, 3))
    A /= A.sum(axis=1, keepdims=True) if loss_cls is cr.CrossEntropy else 1
    Y = rng.integers(0, 3, 4) if loss_cls is cr.CrossEntropy else rng.integers(0, 2, (4, 3)).astype(float)
    loss = loss_cls()
    loss.forward(A, Y)
    dA = loss.backward()
    assert_close(dA, numeric_gradient(lambda: loss_cls().forward(A, Y), A), 1e-7, f"{loss_cls.__name__} dA")


# -- the fused pairs ------------------------------------------------------------------------

def test_fused_pairs_equal_torch_on_logits(rng):
    Z = rng.standard_normal((5, 3)) * 4
    labels = rng.integers(0, 3, 5)
    ce = cr.CrossEntropy()
    t_value, t_dZ = torch_value_and_grad(F.cross_entropy, Z, torch.tensor(labels))
    assert_close(ce.forward_logits(Z, labels), t_value, 1e-12, "fused CE value")
    assert_close(ce.backward_logits(), t_dZ, 1e-12, "fused CE dZ")
    Y = rng.integers(0, 2, (5, 3)).astype(float)
    bce = cr.BinaryCrossEntropy()
    t_value, t_dZ = torch_value_and_grad(F.binary_cross_entropy_with_logits, Z, torch.tensor(Y))
    assert_close(bce.forward_logits(Z, Y), t_value, 1e-12, "fused BCE value")
    assert_close(bce.backward_logits(), t_dZ, 1e-12, "fused BCE dZ")


EXTREME = np.array([[1e4, -1e4, 0.0], [-1e4, 1e4, -1e4], [1e4, 1e4, -1e4], [0.0, 0.0, 0.0]])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_cross_entropy_at_logits_1e4(dtype):
    Z = EXTREME.astype(dtype)
    labels = np.array([1, 1, 0, 2])
    loss = cr.CrossEntropy()
    with np.errstate(**STRICT):
        value = loss.forward_logits(Z, labels)
        dZ = loss.backward_logits()
    # by hand: row 0 misses by 2e4, row 1 is right (0), row 2 ties two classes (log 2), row 3 uniform
    expected = (2e4 + 0.0 + np.log(2) + np.log(3)) / 4
    assert np.isfinite(value) and dZ.dtype == dtype and np.all(np.isfinite(dZ))
    assert_close(value, expected, 1e-6, "CE at ±1e4")
    A = np.array([[1, 0, 0], [0, 1, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
    assert_close(dZ, (A - np.eye(3)[labels]) / 4, 1e-6, "CE dZ at ±1e4")
    t_value, t_dZ = torch_value_and_grad(F.cross_entropy, EXTREME, torch.tensor(labels))
    assert_close(value, t_value, 1e-6, "CE at ±1e4 vs torch")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_bce_at_logits_1e4(dtype):
    Z = EXTREME.astype(dtype)
    Y = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [1, 0, 1]], dtype)
    loss = cr.BinaryCrossEntropy()
    with np.errstate(**STRICT):
        value = loss.forward_logits(Z, Y)
        dZ = loss.backward_logits()
    # by hand: each element costs |Z| when its sign disagrees with its label, 0 when it agrees, log 2 at Z = 0
    wrong = np.sum((EXTREME > 0) != (Y > 0.5)) - np.sum(EXTREME == 0) + np.sum((EXTREME == 0) & (Y == 0))
    expected = (wrong * 1e4 + np.sum(EXTREME == 0) * np.log(2)) / Z.size
    assert np.isfinite(value) and dZ.dtype == dtype and np.all(np.isfinite(dZ))
    assert_close(value, expected, 1e-6, "BCE at ±1e4")
    sigma = np.where(EXTREME > 0, 1.0, np.where(EXTREME < 0, 0.0, 0.5))
    assert_close(dZ, (sigma - Y) / Z.size, 1e-6, "BCE dZ at ±1e4")
    t_value, t_dZ = torch_value_and_grad(F.binary_cross_entropy_with_logits, EXTREME,
                                         torch.tensor(Y, dtype=torch.float64))
    assert_close(value, t_value, 1e-6, "BCE at ±1e4 vs torch")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("pair", ["softmax+CE", "sigmoid+BCE"])
def test_network_training_path_at_logits_1e4(pair, dtype):
    """Through Sequential.forward_backward and loss_value: finite, with the right gradients."""
    dense = cr.Dense(3, 3, dtype=dtype)
    dense.W = np.eye(3, dtype=dtype)  # the logits are the inputs
    if pair == "softmax+CE":
        net, loss, y = cr.Sequential([dense, cr.Softmax()]), cr.CrossEntropy(), np.array([1, 1, 0, 2])
    else:
        net, loss = cr.Sequential([dense, cr.Sigmoid()]), cr.BinaryCrossEntropy()
        y = np.array([[1, 1, 0], [1, 1, 0], [0, 1, 1], [1, 0, 1]])
    Y = loss.prepare(y, 3, dtype)
    X = EXTREME.astype(dtype)
    with np.errstate(**STRICT):
        value = net.forward_backward(X, Y, loss)
        dW, db = dense.dW.copy(), dense.db.copy()
        assert net.loss_value(X, Y, loss) == value
        evaluated = net.evaluate(X, y, loss=loss, metrics=())["loss"]
    assert np.isfinite(value) and value > 1e3 and evaluated == pytest.approx(value, rel=1e-6)
    assert dW.dtype == dtype and np.all(np.isfinite(dW)) and np.all(np.isfinite(db))
    # dZ = (A − Y)/m with A the exact saturated probabilities; dW = Xᵀ dZ, db = Σ dZ
    if pair == "softmax+CE":
        A = np.array([[1, 0, 0], [0, 1, 0], [0.5, 0.5, 0], [1 / 3, 1 / 3, 1 / 3]])
        dZ = (A - np.eye(3)[y]) / 4
    else:
        A = np.where(EXTREME > 0, 1.0, np.where(EXTREME < 0, 0.0, 0.5))
        dZ = (A - y) / y.size
    assert_close(dW, EXTREME.T @ dZ, 1e-6, "dW at ±1e4")
    assert_close(db, dZ.sum(axis=0), 1e-6, "db at ±1e4")


# -- protocol, dtype, prepare ---------------------------------------------------------------

@pytest.mark.parametrize("loss_cls", [cr.MSE, cr.BinaryCrossEntropy, cr.CrossEntropy])
def test_backward_before_forward_is_a_clear_error(loss_cls):
    with pytest.raises(RuntimeError, match=rf"{loss_cls.__name__}.backward was called before forward"):
        loss_cls().backward()


@pytest.mark.parametrize("loss_cls", [cr.MSE, cr.BinaryCrossEntropy, cr.CrossEntropy])
def test_float32_stays_float32(loss_cls, rng):
    A = softmax(rng.standard_normal((4, 3))).astype(np.float32)
    loss = loss_cls()
    y = rng.integers(0, 3, 4) if loss_cls is cr.CrossEntropy else rng.integers(0, 2, (4, 3))
    Y = loss.prepare(y, 3, np.float32)
    loss.forward(A, Y)
    assert loss.backward().dtype == np.float32
    if loss.fuses_with is not None:
        loss.forward_logits(A, Y)
        assert loss.backward_logits().dtype == np.float32


def test_prepare_shapes_targets():
    assert cr.MSE().prepare(np.arange(4), 1, np.float32).shape == (4, 1)
    assert cr.MSE().prepare(np.arange(4), 1, np.float32).dtype == np.float32
    assert cr.BinaryCrossEntropy().prepare([0, 1, 1], 1, np.float64).shape == (3, 1)
    labels = cr.CrossEntropy().prepare(np.array([0, 2, 1]), 3, np.float32)
    assert labels.dtype == np.intp and labels.shape == (3,)
    np.testing.assert_array_equal(cr.CrossEntropy().prepare(np.array([[0.0], [2.0]]), 3, np.float32), [0, 2])
    onehot = cr.CrossEntropy().prepare(np.eye(3), 3, np.float32)
    assert onehot.dtype == np.float32 and onehot.shape == (3, 3)


def test_prepare_rejects_targets_that_do_not_fit():
    with pytest.raises(ValueError, match=r"y has shape \(4,\), but the network has 2 output\(s\): expected \(4, 2\)"):
        cr.MSE().prepare(np.zeros(4), 2, np.float32)
    with pytest.raises(ValueError, match=r"BinaryCrossEntropy needs targets in \[0, 1\].*found 2"):
        cr.BinaryCrossEntropy().prepare(np.array([0, 1, 2]), 1, np.float32)
    with pytest.raises(ValueError, match=r"BinaryCrossEntropy needs targets in \[0, 1\].*found -1"):
        cr.BinaryCrossEntropy().prepare(np.array([0, -1]), 1, np.float32)
    with pytest.raises(ValueError, match=r"class label 3 is outside the network's output width: "
                                         r"labels must be in \[0, 2\] for 3 outputs"):
        cr.CrossEntropy().prepare(np.array([0, 3, 1]), 3, np.float32)
    with pytest.raises(ValueError, match=r"class label -1 is outside"):
        cr.CrossEntropy().prepare(np.array([0, -1]), 3, np.float32)
    with pytest.raises(ValueError, match=r"must be whole class numbers, found 1.5"):
        cr.CrossEntropy().prepare(np.array([0.0, 1.5]), 3, np.float32)
    with pytest.raises(ValueError, match=r"CrossEntropy needs an output of at least 2 units.*has 1"):
        cr.CrossEntropy().prepare(np.array([0, 1]), 1, np.float32)
    with pytest.raises(ValueError, match=r"y has shape \(2, 4\): expected class labels of shape \(n,\) "
                                         r"or one-hot rows of shape \(n, 3\)"):
        cr.CrossEntropy().prepare(np.zeros((2, 4)), 3, np.float32)


def test_fused_pairs_are_declared():
    assert cr.CrossEntropy.fuses_with is cr.Softmax
    assert cr.BinaryCrossEntropy.fuses_with is cr.Sigmoid
    assert cr.MSE.fuses_with is None
    assert cr.Sequential([cr.Dense(2, 2), cr.Softmax()]).fused_with(cr.CrossEntropy())
    assert not cr.Sequential([cr.Dense(2, 2), cr.Sigmoid()]).fused_with(cr.MSE())
    assert not cr.Sequential([cr.Dense(2, 2), cr.Tanh()]).fused_with(cr.CrossEntropy())


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_bce_gradient_is_accurate_near_probability_1(dtype):
    """dZ = (σ(Z) − Y)/m with σ(Z) near 1: its error must stay within a few ε of 1, as
    σ's own rounding allows, not grow with Z (as e^(Z − log(1 + e^Z)) would: Z·ε)."""
    Z = np.array([[2.0, 5.0, 8.0, 10.0, 12.0, 15.0]], dtype)
    Y = np.ones_like(Z)
    bce = cr.BinaryCrossEntropy()
    bce.forward_logits(Z, Y)
    truth = -1.0 / (1.0 + np.exp(Z.astype(np.float64))) / Z.size   # σ(z) − 1 = −1/(1 + e^z)
    eps = np.finfo(dtype).eps
    np.testing.assert_allclose(bce.backward_logits(), truth, rtol=0, atol=2 * eps / Z.size)


# -- Poisson: counts with a log link ---------------------------------------------------

def test_poisson_on_rates_equals_torch(rng):
    A = rng.uniform(0.05, 6.0, (7, 3))
    Y = rng.poisson(2.0, (7, 3)).astype(np.float64)
    loss = cr.Poisson()
    value, dA = loss.forward(A, Y), loss.backward()
    # torch on the rate (log_input=False) adds eps = 1e-8 inside the log; on log A it is exact
    poisson = torch.nn.PoissonNLLLoss(log_input=True)
    t_value, t_dA = torch_value_and_grad(lambda At: poisson(torch.log(At), torch.tensor(Y)), A)
    assert_close(value, t_value, 1e-7, "Poisson value")
    assert_close(dA, t_dA, 1e-7, "Poisson dA")
    assert_close(loss.rows(A, Y).mean(), value, 1e-12, "Poisson rows")
    t_rate = torch.nn.PoissonNLLLoss(log_input=False, eps=0.0)(torch.tensor(A), torch.tensor(Y))
    assert_close(value, t_rate.item(), 1e-7, "Poisson value, torch on the rate")


def test_poisson_fused_on_log_rates_equals_torch(rng):
    Z = rng.normal(0, 1.5, (6, 2))
    Y = rng.poisson(3.0, (6, 2)).astype(np.float64)
    loss = cr.Poisson()
    t_value, t_dZ = torch_value_and_grad(torch.nn.PoissonNLLLoss(log_input=True), Z, torch.tensor(Y))
    assert_close(loss.forward_logits(Z, Y), t_value, 1e-7, "fused Poisson value")
    assert_close(loss.backward_logits(), t_dZ, 1e-7, "fused Poisson dZ")
    assert_close(loss.rows_logits(Z, Y).mean(), t_value, 1e-12, "fused Poisson rows")


@pytest.mark.parametrize("hidden", ["relu", "tanh"])
def test_poisson_network_training_path_equals_torch(hidden, rng):
    """Exp + Poisson through forward_backward (fused) and through the plain path."""
    net = cr.mlp([3, 5, 2], hidden=hidden, output="exp", seed=rng, dtype=np.float64)
    X = rng.standard_normal((8, 3))
    Y = rng.poisson(1.5, (8, 2)).astype(np.float64)
    loss = cr.Poisson()
    assert net.fused_with(loss)
    twin = torch.nn.Sequential(
        torch.nn.Linear(3, 5), torch.nn.ReLU() if hidden == "relu" else torch.nn.Tanh(),
        torch.nn.Linear(5, 2)).double()   # its output is the log-rate Z
    with torch.no_grad():
        for lin, dense in zip([twin[0], twin[2]], [net[0], net[2]]):
            lin.weight.copy_(torch.tensor(dense.W.T))
            lin.bias.copy_(torch.tensor(dense.b))
    t_value = torch.nn.PoissonNLLLoss(log_input=True)(twin(torch.tensor(X)), torch.tensor(Y))
    t_value.backward()
    for path in ("fused", "plain"):
        net.flat_grads[...] = np.nan
        if path == "fused":
            value = net.forward_backward(X, loss.prepare(Y, 2, np.float64), loss)
        else:
            value = loss.forward(net.forward(X), Y)
            net.backward(loss.backward())
        assert_close(value, t_value.item(), 1e-7, f"{path} loss")
        for lin, dense in zip([twin[0], twin[2]], [net[0], net[2]]):
            assert_close(dense.dW, lin.weight.grad.numpy().T, 1e-7, f"{path} dW")
            assert_close(dense.db, lin.bias.grad.numpy(), 1e-7, f"{path} db")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_poisson_is_finite_where_the_rate_underflows(dtype):
    A = np.array([[0.0, 1.0], [2.0, 0.0]], dtype)
    Y = np.array([[0.0, 1.0], [3.0, 2.0]], dtype)
    loss = cr.Poisson()
    with np.errstate(**STRICT):
        value, dA = loss.forward(A, Y), loss.backward()
    assert np.isfinite(value) and dA.dtype == dtype and np.all(np.isfinite(dA))
    # a zero rate where the count is zero costs nothing and pulls nowhere
    assert dA[0, 0] == pytest.approx(1 / 4)


def test_poisson_refuses_negative_targets_and_outputs():
    with pytest.raises(ValueError, match=r"Poisson needs targets >= 0 \(counts or rates\), found -2"):
        cr.Poisson().prepare(np.array([1.0, -2.0, 0.0]), 1, np.float64)
    net = cr.mlp([2, 3, 1], output="identity", seed=0)
    with pytest.raises(ValueError, match=r"Poisson takes rates >= 0, but the network ends with "
                                         r"Identity\(\).*add Exp\(\)"):
        net.fit(np.zeros((4, 2)), np.ones(4), loss=cr.Poisson(), optimizer=cr.SGD(lr=0.1),
                epochs=1, verbose=0)
    assert cr.Poisson.fuses_with is cr.Exp
    assert isinstance(cr.names.loss("poisson"), cr.Poisson)
