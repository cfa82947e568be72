"""cr.gradient_check: backpropagation against central differences."""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


class BrokenSigmoid(cr.Sigmoid):
    """A Sigmoid whose backward forgets the (1 − A) factor: dZ = dA ⊙ A."""

    def backward(self, dA):
        return dA * self._cached("A")


def test_784_50_10_relu_softmax_network(rng):
    net = cr.mlp([784, 50, 10], hidden="relu", output="softmax", seed=rng, dtype=np.float64)
    X = rng.standard_normal((3, 784))
    y = rng.integers(0, 10, 3)
    report = cr.gradient_check(net, cr.CrossEntropy(), X, y)
    assert report.max_relative_error <= 1e-6, str(report)
    assert [row[0] for row in report.rows] == [
        "dW (layer 0)", "db (layer 0)", "dW (layer 2)", "db (layer 2)", "dX"]
    assert [row[1] for row in report.rows] == [(784, 50), (50,), (50, 10), (10,), (3, 784)]


@pytest.mark.parametrize("output, loss, y", [
    ("identity", cr.MSE(), np.array([[0.5, -1.0], [2.0, 0.0], [1.0, 1.0]])),
    ("sigmoid", cr.BinaryCrossEntropy(), np.array([[0, 1], [1, 1], [0, 0]])),
    ("softmax", cr.CrossEntropy(), np.array([0, 1, 1])),
    ("exp", cr.Poisson(), np.array([[0, 3], [1, 0], [7, 2]])),
])
@pytest.mark.parametrize("hidden", ["tanh", "gelu", "elu", "softplus"])
def test_small_networks_pass(hidden, output, loss, y, rng):
    net = cr.mlp([4, 5, 3, 2], hidden=hidden, output=output, seed=rng)  # float32: checked in float64
    report = cr.gradient_check(net, loss, rng.standard_normal((3, 4)), y)
    assert report.max_relative_error <= 1e-6, str(report)


def test_detects_a_wrong_backward(rng):
    X, y = rng.standard_normal((4, 3)), rng.integers(0, 2, 4)
    good = cr.Sequential([cr.Dense(3, 4, seed=1), cr.Sigmoid(), cr.Dense(4, 1, seed=2), cr.Sigmoid()])
    bad = cr.Sequential([cr.Dense(3, 4, seed=1), BrokenSigmoid(), cr.Dense(4, 1, seed=2), cr.Sigmoid()])
    assert cr.gradient_check(good, cr.BinaryCrossEntropy(), X, y).max_relative_error <= 1e-6
    report = cr.gradient_check(bad, cr.BinaryCrossEntropy(), X, y)
    assert report.max_relative_error > 0.1, str(report)
    errors = {row[0]: row[3] for row in report.rows}
    # the layer after the broken one is unaffected; everything before it is wrong
    assert errors["dW (layer 2)"] <= 1e-6 and errors["db (layer 2)"] <= 1e-6
    assert errors["dW (layer 0)"] > 0.1 and errors["dX"] > 0.1


def test_network_is_left_untouched(rng):
    net = cr.mlp([3, 4, 2], hidden="tanh", seed=0)
    before = net.flat_params.copy()
    X = rng.standard_normal((2, 3))
    X_before = X.copy()
    cr.gradient_check(net, cr.MSE(), X, np.zeros((2, 2)))
    np.testing.assert_array_equal(net.flat_params, before)
    np.testing.assert_array_equal(X, X_before)
    assert net.dtype == np.float32 and net.flat_params.dtype == np.float32


def test_report_table_and_breakdown(rng):
    net = cr.mlp([3, 4, 2], hidden="tanh", seed=0)
    report = cr.gradient_check(net, cr.MSE(), rng.standard_normal((2, 3)), np.zeros((2, 2)))
    text = str(report)
    lines = text.splitlines()
    assert lines[0].split() == ["array", "shape", "max", "|error|", "relative", "error"]
    assert set(lines[1]) == {"-"}
    assert lines[2].startswith("dW (layer 0)") and "(3, 4)" in lines[2]
    assert lines[6].startswith("dX") and "(2, 3)" in lines[6]
    assert lines[-1] == f"worst relative error: {report.max_relative_error:.3e}"
    assert report.max_relative_error == max(row[3] for row in report.rows)
    assert set(report.analytic) == set(report.numeric) == {"0.W", "0.b", "2.W", "2.b", "dX"}
    assert repr(report).startswith("GradientCheckReport(max_relative_error=")


def test_settings_are_checked(rng):
    net = cr.mlp([2, 2], seed=0)
    with pytest.raises(ValueError, match=r"eps must be > 0, got 0"):
        cr.gradient_check(net, cr.MSE(), np.ones((1, 2)), np.ones((1, 2)), eps=0)
    with pytest.raises(TypeError, match=r"loss must be a chainrule Loss"):
        cr.gradient_check(net, "mse", np.ones((1, 2)), np.ones((1, 2)))
    with pytest.raises(ValueError, match=r"X has 3 features, but the network expects 2"):
        cr.gradient_check(net, cr.MSE(), np.ones((1, 3)), np.ones((1, 2)))


def test_report_in_chinese_tells_the_same_numbers(rng):
    net = cr.mlp([3, 4, 2], hidden="tanh", seed=0)
    report = cr.gradient_check(net, cr.MSE(), rng.standard_normal((2, 3)), np.zeros((2, 2)))
    en, zh = str(report).splitlines(), report.to_text(lang="zh").splitlines()
    assert zh[0].split() == ["数组", "形状", "最大绝对误差", "相对误差"]
    assert zh[2].startswith("dW（第 0 层）") and zh[6].startswith("dX")
    assert zh[-1] == f"最大的相对误差：{report.max_relative_error:.3e}"
    # the same numbers, row by row, and the columns line up on screen (a CJK character is two wide)
    from chainrule.explain.text import width
    for e, z in zip(en[2:-2], zh[2:-2]):
        assert e.split()[-3:] == z.split()[-3:]
    assert len({width(line) for line in zh[:-1]}) == 1
    with pytest.raises(ValueError, match="lang must be one of en, zh, got 'fr'"):
        report.to_text(lang="fr")
