"""cr.diagnose names the mistake in a hand-written backpropagation.

The learner's loops are written out here as a learner writes them (NumPy, one line per
equation); each mistake is planted by replacing one line of the loop with its wrong
version, and the whole loop runs again from there, as the learner's would. Nothing
here uses the catalogue's own functions to make the wrong arrays.
"""
import math
import re
import string

import numpy as np
import pytest

import chainrule as cr
from chainrule.explain import diagnose_mistakes, diagnose_views

from conftest import english_words

XOR_X = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
XOR_Y = np.array([[0], [1], [1], [0]], dtype=np.float64)

LOOP_241 = """\
m = len(X)
Z1 = X @ W1 + b1
A1 = sigmoid(Z1)
Z2 = A1 @ W2 + b2
A2 = sigmoid(Z2)
dZ2 = (A2 - Y) / m
dW2 = A1.T @ dZ2
db2 = dZ2.sum(axis=0)
dA1 = dZ2 @ W2.T
dZ1 = dA1 * A1 * (1 - A1)
dW1 = X.T @ dZ1
db1 = dZ1.sum(axis=0)
"""

LOOP_2441 = """\
m = len(X)
Z1 = X @ W1 + b1
A1 = sigmoid(Z1)
Z2 = A1 @ W2 + b2
A2 = sigmoid(Z2)
Z3 = A2 @ W3 + b3
A3 = sigmoid(Z3)
dZ3 = (A3 - Y) / m
dW3 = A2.T @ dZ3
db3 = dZ3.sum(axis=0)
dA2 = dZ3 @ W3.T
dZ2 = dA2 * A2 * (1 - A2)
dW2 = A1.T @ dZ2
db2 = dZ2.sum(axis=0)
dA1 = dZ2 @ W2.T
dZ1 = dA1 * A1 * (1 - A1)
dW1 = X.T @ dZ1
db1 = dZ1.sum(axis=0)
"""

NAMES = re.compile(r"^(d?[WbZA]\d+)\b")


def sigmoid(z):
    return 1 / (1 + np.exp(-z))


def softmax(z):
    e = np.exp(z - z.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _erf(x):
    return np.vectorize(math.erf)(x)


HELPERS = {"np": np, "sigmoid": sigmoid, "softmax": softmax,
           "Phi": lambda x: 0.5 * (1 + _erf(x / math.sqrt(2))),
           "phi": lambda x: np.exp(-x * x / 2) / math.sqrt(2 * math.pi)}


def run(loop, keep=None, **arrays):
    """The loop's arrays by their textbook names (the given weights included)."""
    namespace = dict(HELPERS, **arrays)
    exec(loop, namespace)
    names = [m.group(1) for line in loop.splitlines() if (m := NAMES.match(line))]
    names = [k for k in arrays if NAMES.match(k)] + names
    return {k: namespace[k] for k in names if keep is None or k in keep}


def planted(loop, right, wrong):
    assert loop.count(right + "\n") == 1, f"{right!r} is not one line of the loop"
    return loop.replace(right + "\n", wrong + "\n")


def weights(sizes, seed):
    rng = np.random.default_rng(seed)
    found = {}
    for l, (n_in, n_out) in enumerate(zip(sizes[:-1], sizes[1:]), 1):
        found[f"W{l}"] = rng.normal(size=(n_in, n_out))
        found[f"b{l}"] = rng.normal(size=n_out)
    return found


XOR_241 = dict(X=XOR_X, Y=XOR_Y, **weights([2, 4, 1], seed=0))
XOR_2441 = dict(X=XOR_X, Y=XOR_Y, **weights([2, 4, 4, 1], seed=1))


def diagnose_xor(loop, data, keep=None):
    sizes = [2, 4, 1] if "W3" not in data else [2, 4, 4, 1]
    net = cr.mlp(sizes, hidden="sigmoid", output="sigmoid")
    return cr.diagnose(net, XOR_X, XOR_Y, run(loop, keep, **data),
                       loss=cr.BinaryCrossEntropy())


# -- the catalogue, planted in the two classic loops -------------------------------------------

PLANTED_241 = [
    ("dZ2 = (A2 - Y) / m", "dZ2 = A2 - Y", "dZ2", "missing_mean"),
    ("dZ2 = (A2 - Y) / m", "dZ2 = (Y - A2) / m", "dZ2", "sign"),
    # MSE's starting gradient through σ', with each textbook's constant
    ("dZ2 = (A2 - Y) / m", "dZ2 = (A2 - Y) * A2 * (1 - A2)", "dZ2", "loss_gradient"),
    ("dZ2 = (A2 - Y) / m", "dZ2 = (A2 - Y) * A2 * (1 - A2) / m", "dZ2", "loss_gradient"),
    ("dZ2 = (A2 - Y) / m", "dZ2 = 2 * (A2 - Y) * A2 * (1 - A2)", "dZ2", "loss_gradient"),
    ("dZ2 = (A2 - Y) / m", "dZ2 = 2 * (A2 - Y) * A2 * (1 - A2) / m", "dZ2", "loss_gradient"),
    # binary cross-entropy's dA, the sigmoid's derivative forgotten
    ("dZ2 = (A2 - Y) / m", "dZ2 = -(Y / A2 - (1 - Y) / (1 - A2)) / m", "dZ2",
     "missing_derivative"),
    ("dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1", "dZ1", "missing_derivative"),
    ("dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1 * Z1 * (1 - Z1)", "dZ1", "derivative_of_Z"),
    ("dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1 * sigmoid(A1) * (1 - sigmoid(A1))", "dZ1",
     "derivative_of_Z"),
    # a batch of 4 rows and a hidden layer of 4 units: the wrong sum has the right shape
    ("db1 = dZ1.sum(axis=0)", "db1 = dZ1.sum(axis=1)", "db1", "bias_axis"),
    ("dA1 = dZ2 @ W2.T", "dA1 = W2 @ dZ2.T", "dA1", "transposed"),
]

PLANTED_2441 = [
    ("dZ3 = (A3 - Y) / m", "dZ3 = A3 - Y", "dZ3", "missing_mean"),
    ("dZ3 = (A3 - Y) / m", "dZ3 = (Y - A3) / m", "dZ3", "sign"),
    ("dZ3 = (A3 - Y) / m", "dZ3 = (A3 - Y) * A3 * (1 - A3) / m", "dZ3", "loss_gradient"),
    ("dZ2 = dA2 * A2 * (1 - A2)", "dZ2 = dA2", "dZ2", "missing_derivative"),
    ("dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1", "dZ1", "missing_derivative"),
    ("dZ2 = dA2 * A2 * (1 - A2)", "dZ2 = dA2 * Z2 * (1 - Z2)", "dZ2", "derivative_of_Z"),
    ("dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1 * Z1 * (1 - Z1)", "dZ1", "derivative_of_Z"),
    ("db2 = dZ2.sum(axis=0)", "db2 = dZ2.sum(axis=1)", "db2", "bias_axis"),
    ("db1 = dZ1.sum(axis=0)", "db1 = dZ1.sum(axis=1)", "db1", "bias_axis"),
    # W2 is 4×4: dZ·W has the right shape, and so does the transposed dW2
    ("dA1 = dZ2 @ W2.T", "dA1 = dZ2 @ W2", "dA1", "transposed"),
    ("dW2 = A1.T @ dZ2", "dW2 = dZ2.T @ A1", "dW2", "transposed"),
    ("dA1 = dZ2 @ W2.T", "dA1 = W2 @ dZ2.T", "dA1", "transposed"),
    ("dW2 = A1.T @ dZ2", "dW2 = -A1.T @ dZ2", "dW2", "sign"),
]


def test_every_mistake_of_the_catalogue_is_planted_in_both_loops():
    assert {p[3] for p in PLANTED_241} == set(diagnose_mistakes.KEYS)
    assert {p[3] for p in PLANTED_2441} == set(diagnose_mistakes.KEYS)


@pytest.mark.parametrize("loop, data", [(LOOP_241, XOR_241), (LOOP_2441, XOR_2441)],
                         ids=["2-4-1", "2-4-4-1"])
def test_the_correct_loop_is_ok(loop, data):
    report = diagnose_xor(loop, data)
    assert report.ok and report.first is None and report.mistake is None
    n_arrays = len(re.findall(r"^d?[ZA]\d+ =|^d[Wb]\d+ =", loop, re.M))
    assert len(report.checked) == n_arrays
    assert str(report).startswith(f"All {n_arrays} of your arrays match: Z1, A1,")


@pytest.mark.parametrize("loop, data, right, wrong, first, mistake",
                         [(LOOP_241, XOR_241, *p) for p in PLANTED_241]
                         + [(LOOP_2441, XOR_2441, *p) for p in PLANTED_2441],
                         ids=[f"2-4-1 {p[1]}" for p in PLANTED_241]
                         + [f"2-4-4-1 {p[1]}" for p in PLANTED_2441])
def test_a_planted_mistake_is_named_once_at_its_line(loop, data, right, wrong, first, mistake):
    report = diagnose_xor(planted(loop, right, wrong), data)
    assert (report.ok, report.first, report.mistake) == (False, first, mistake)
    # every array after it is compared with what the learner's own arrays imply: one finding
    assert len(report.findings) == 1, [(f.name, f.mistake) for f in report.findings]
    assert report.findings[0].at.name == first
    text = str(report)
    assert f"{first} differs" in text and f"({mistake})" in text
    assert report.findings[0].wrong_equation in text


def test_the_report_shows_the_numbers_the_right_equation_and_the_wrong_one():
    report = diagnose_xor(planted(LOOP_241, "dZ1 = dA1 * A1 * (1 - A1)",
                                  "dZ1 = dA1 * Z1 * (1 - Z1)"), XOR_241)
    finding = report.findings[0]
    data = run(planted(LOOP_241, "dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1 * Z1 * (1 - Z1)"),
               **XOR_241)
    right = data["dA1"] * data["A1"] * (1 - data["A1"])
    np.testing.assert_allclose(finding.right, right, rtol=1e-12)
    np.testing.assert_array_equal(finding.mine, data["dZ1"])
    text = str(report)
    assert "the right equation:  dZ1 = dA1 ⊙ σ(Z1)(1 − σ(Z1)) = dA1 ⊙ A1(1 − A1)" in text
    assert "yours matches:  dZ1 = dA1 ⊙ Z1(1 − Z1)" in text
    assert "Before it, these match: Z1, A1, Z2, A2, dZ2, dW2, db2, dA1." in text
    assert ("After it, each compared with what your own earlier arrays imply, these match: "
            "dW1, db1.") in text
    # the learner's numbers beside the right ones, four significant digits
    assert f"{data['dZ1'][1, 0]:.4g}" in text and f"{right[1, 0]:.4g}" in text


def test_wrong_equations_read_as_the_learner_wrote_them():
    cases = {("dZ2 = (A2 - Y) / m", "dZ2 = A2 - Y"): "dZ2 = A2 − Y",
             ("dZ2 = (A2 - Y) / m", "dZ2 = (Y - A2) / m"): "dZ2 = (Y − A2) / m",
             ("dZ2 = (A2 - Y) / m", "dZ2 = (A2 - Y) * A2 * (1 - A2)"):
                 "dZ2 = (A2 − Y) ⊙ A2(1 − A2)",
             ("db1 = dZ1.sum(axis=0)", "db1 = dZ1.sum(axis=1)"): "db1 = Σ_columns dZ1",
             ("dA1 = dZ2 @ W2.T", "dA1 = W2 @ dZ2.T"): "dA1 = W2·dZ2ᵀ"}
    for (right, wrong), equation in cases.items():
        assert diagnose_xor(planted(LOOP_241, right, wrong), XOR_241).findings[0].wrong_equation \
            == equation
    report = diagnose_xor(planted(LOOP_2441, "dA1 = dZ2 @ W2.T", "dA1 = dZ2 @ W2"), XOR_2441)
    assert report.findings[0].wrong_equation == "dA1 = dZ2·W2"


# -- a subset of the arrays -------------------------------------------------------------------

def test_only_dW1_given_still_finds_the_missing_mean_at_the_start():
    loop = planted(LOOP_241, "dZ2 = (A2 - Y) / m", "dZ2 = A2 - Y")
    report = diagnose_xor(loop, XOR_241, keep={"W1", "b1", "W2", "b2", "dW1"})
    assert (report.first, report.mistake, report.findings[0].at.name) == \
        ("dW1", "missing_mean", "dZ2")
    assert report.checked == ["dW1"] and report.weights == ["W1", "b1", "W2", "b2"]
    assert "on the line for dZ2, which you did not give" in str(report)


def test_a_mistake_on_a_line_not_given_is_reported_once():
    # dA1 is not given: dW1 and db1 both follow from its transposed product, reported at dW1
    loop = planted(LOOP_2441, "dA1 = dZ2 @ W2.T", "dA1 = dZ2 @ W2")
    report = diagnose_xor(loop, XOR_2441, keep={"W1", "b1", "W2", "b2", "W3", "b3", "dW1", "db1"})
    assert [(f.name, f.mistake, f.at.name) for f in report.findings] == \
        [("dW1", "transposed", "dA1")]


def test_forward_arrays_alone_and_a_forward_mistake():
    keep = {"W1", "b1", "W2", "b2", "Z1", "A1", "Z2", "A2"}
    assert diagnose_xor(LOOP_241, XOR_241, keep=keep).ok
    report = diagnose_xor(planted(LOOP_241, "Z1 = X @ W1 + b1", "Z1 = X @ W1"), XOR_241, keep=keep)
    assert (report.first, report.mistake) == ("Z1", None)
    assert "none of the mistakes chainrule knows" in str(report)


def test_the_networks_own_weights_are_used_when_none_are_given():
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", seed=3)
    before = [layer.W.copy() for layer in net.layers if isinstance(layer, cr.Dense)]
    own = {"W1": net[0].W, "b1": net[0].b, "W2": net[2].W, "b2": net[2].b}
    mine = run(LOOP_241, X=XOR_X, Y=XOR_Y, **own)
    for name in own:
        del mine[name]
    report = cr.diagnose(net, XOR_X, XOR_Y, mine, loss=cr.BinaryCrossEntropy())
    assert report.ok and report.weights == []
    after = [layer.W for layer in net.layers if isinstance(layer, cr.Dense)]
    assert all(np.array_equal(a, b) for a, b in zip(before, after))   # net is left as it was


def test_two_separate_mistakes_are_both_reported():
    loop = planted(planted(LOOP_241, "dZ2 = (A2 - Y) / m", "dZ2 = A2 - Y"),
                   "db1 = dZ1.sum(axis=0)", "db1 = dZ1.sum(axis=1)")
    report = diagnose_xor(loop, XOR_241)
    assert [(f.name, f.mistake) for f in report.findings] == \
        [("dZ2", "missing_mean"), ("db1", "bias_axis")]
    assert "db1 differs too" in str(report)


def test_a_line_that_undoes_an_earlier_mistake_is_said_to():
    # dZ2 without the 1/m, put back in dW2: dW2 is then the true gradient
    loop = planted(planted(LOOP_241, "dZ2 = (A2 - Y) / m", "dZ2 = A2 - Y"),
                   "dW2 = A1.T @ dZ2", "dW2 = A1.T @ dZ2 / m")
    report = diagnose_xor(loop, XOR_241)
    assert [(f.name, f.mistake, f.makes_up) for f in report.findings][:2] == \
        [("dZ2", "missing_mean", False), ("dW2", None, True)]
    assert "Yours equals the true dW2: this line makes up for a mistake before it." in str(report)


def test_a_wrong_array_of_the_right_shape_is_not_guessed():
    # σ itself where its derivative belongs: not in the catalogue, so no name is given
    report = diagnose_xor(planted(LOOP_241, "dZ1 = dA1 * A1 * (1 - A1)", "dZ1 = dA1 * A1"),
                          XOR_241)
    assert (report.first, report.mistake) == ("dZ1", None)


def test_biases_kept_as_rows():
    loop = LOOP_241.replace("sum(axis=0)", "sum(axis=0, keepdims=True)")
    data = dict(XOR_241, b1=XOR_241["b1"].reshape(1, 4), b2=XOR_241["b2"].reshape(1, 1))
    assert diagnose_xor(loop, data).ok


# -- every activation, every loss --------------------------------------------------------------

HIDDEN_LOOP = """\
m = len(X)
Z1 = X @ W1 + b1
A1 = {forward}
Z2 = A1 @ W2 + b2
A2 = sigmoid(Z2)
dZ2 = (A2 - Y) / m
dW2 = A1.T @ dZ2
db2 = dZ2.sum(axis=0)
dA1 = dZ2 @ W2.T
dZ1 = {backward}
dW1 = X.T @ dZ1
db1 = dZ1.sum(axis=0)
"""

#: activation: (layer, A1 = ..., the right dZ1 = ..., the derivative from the wrong array)
HIDDEN = {
    "Sigmoid": (cr.Sigmoid(), "sigmoid(Z1)", "dA1 * A1 * (1 - A1)",
                ["dA1 * Z1 * (1 - Z1)", "dA1 * sigmoid(A1) * (1 - sigmoid(A1))"]),
    "Tanh": (cr.Tanh(), "np.tanh(Z1)", "dA1 * (1 - A1 ** 2)",
             ["dA1 * (1 - Z1 ** 2)", "dA1 * (1 - np.tanh(A1) ** 2)"]),
    "ReLU": (cr.ReLU(), "np.maximum(Z1, 0)", "dA1 * (Z1 > 0)", ["dA1 * (dA1 > 0)", "dA1 * A1"]),
    "LeakyReLU": (cr.LeakyReLU(0.1), "np.where(Z1 > 0, Z1, 0.1 * Z1)",
                  "np.where(Z1 > 0, dA1, 0.1 * dA1)", ["np.where(dA1 > 0, dA1, 0.1 * dA1)"]),
    "ELU": (cr.ELU(), "np.where(Z1 > 0, Z1, np.exp(Z1) - 1)",
            "np.where(Z1 > 0, dA1, dA1 * (A1 + 1))",
            ["np.where(Z1 > 0, dA1, dA1 * (Z1 + 1))", "np.where(A1 > 0, dA1, dA1 * np.exp(A1))"]),
    "Exp": (cr.Exp(), "np.exp(Z1)", "dA1 * A1", ["dA1 * Z1", "dA1 * np.exp(A1)"]),
    "GELU": (cr.GELU(), "Z1 * Phi(Z1)", "dA1 * (Phi(Z1) + Z1 * phi(Z1))",
             ["dA1 * (Phi(A1) + A1 * phi(A1))"]),
    "Softplus": (cr.Softplus(), "np.log1p(np.exp(Z1))", "dA1 * sigmoid(Z1)",
                 ["dA1 * sigmoid(A1)", "dA1 * (1 - np.exp(-Z1))"]),
    "Softmax": (cr.Softmax(), "softmax(Z1)", "A1 * (dA1 - (dA1 * A1).sum(axis=1, keepdims=True))",
                ["Z1 * (dA1 - (dA1 * Z1).sum(axis=1, keepdims=True))"]),
    "Identity": (cr.Identity(), "Z1", "dA1", []),
}


def test_every_activation_of_chainrule_is_covered():
    activations = {name for name in cr.__all__ if isinstance(getattr(cr, name), type)
                   and issubclass(getattr(cr, name), cr.nn.activations.Activation)}
    assert activations == set(HIDDEN)


def _hidden_case(name, seed=5):
    layer, forward, backward, wrongs = HIDDEN[name]
    rng = np.random.default_rng(seed)
    X, Y = rng.normal(size=(6, 3)), rng.integers(0, 2, (6, 1)).astype(np.float64)
    net = cr.Sequential([cr.Dense(3, 4), layer, cr.Dense(4, 1), cr.Sigmoid()])
    data = dict(X=X, Y=Y, **weights([3, 4, 1], seed))
    loop = HIDDEN_LOOP.format(forward=forward, backward=backward)

    def diagnose(code):
        return cr.diagnose(net, X, Y, run(code, **data), loss=cr.BinaryCrossEntropy())
    return loop, f"dZ1 = {backward}", wrongs, diagnose


@pytest.mark.parametrize("name", list(HIDDEN))
def test_each_activations_derivative_mistakes_in_its_own_form(name):
    loop, right, wrongs, diagnose = _hidden_case(name)
    assert diagnose(loop).ok
    if name != "Identity":   # dZ = dA is its right derivative
        report = diagnose(planted(loop, right, "dZ1 = dA1"))
        assert (report.first, report.mistake) == ("dZ1", "missing_derivative")
    for wrong in wrongs:
        report = diagnose(planted(loop, right, f"dZ1 = {wrong}"))
        assert (report.first, report.mistake, len(report.findings)) == \
            ("dZ1", "derivative_of_Z", 1), wrong


def test_tanh_says_which_array_its_derivative_came_from():
    loop, right, _, diagnose = _hidden_case("Tanh")
    report = diagnose(planted(loop, right, "dZ1 = dA1 * (1 - Z1 ** 2)"))
    assert report.findings[0].wrong_equation == "dZ1 = dA1 ⊙ (1 − Z1²)"
    assert "the right equation:  dZ1 = dA1 ⊙ (1 − A1²)" in str(report)


START_LOOP = """\
Z1 = X @ W1 + b1
A1 = np.tanh(Z1)
Z2 = A1 @ W2 + b2
A2 = {output}
{start}
dW2 = A1.T @ dZ2
db2 = dZ2.sum(axis=0)
dA1 = dZ2 @ W2.T
dZ1 = dA1 * (1 - A1 ** 2)
dW1 = X.T @ dZ1
db1 = dZ1.sum(axis=0)
"""

#: (loss, output layer, A2 = ..., outputs, the learner's starting lines, its 1/m as written)
LOSSES = {
    "MSE": (cr.MSE(), cr.Identity(), "Z2", 2, "dA2 = 2 * (A2 - Y) / Y.size\ndZ2 = dA2",
            " / Y.size"),
    "MSE after Sigmoid": (cr.MSE(), cr.Sigmoid(), "sigmoid(Z2)", 1,
                          "dA2 = 2 * (A2 - Y) / Y.size\ndZ2 = dA2 * A2 * (1 - A2)", " / Y.size"),
    "MAE": (cr.MAE(), cr.Identity(), "Z2", 2, "dA2 = np.sign(A2 - Y) / Y.size\ndZ2 = dA2",
            " / Y.size"),
    "Huber": (cr.Huber(), cr.Identity(), "Z2", 2,
              "dA2 = np.clip(A2 - Y, -1, 1) / Y.size\ndZ2 = dA2", " / Y.size"),
    "BinaryCrossEntropy, dA given": (
        cr.BinaryCrossEntropy(), cr.Sigmoid(), "sigmoid(Z2)", 2,
        "dA2 = (A2 - Y) / (A2 * (1 - A2)) / Y.size\ndZ2 = dA2 * A2 * (1 - A2)", " / Y.size"),
    "CrossEntropy": (cr.CrossEntropy(), cr.Softmax(), "softmax(Z2)", 3,
                     "dZ2 = (A2 - Y) / len(Y)", " / len(Y)"),
    "CrossEntropy, dA given": (
        cr.CrossEntropy(), cr.Softmax(), "softmax(Z2)", 3,
        "dA2 = -Y / A2 / len(Y)\ndZ2 = A2 * (dA2 - (dA2 * A2).sum(axis=1, keepdims=True))",
        " / len(Y)"),
}


def _loss_case(name, seed=7, n=6):
    loss, output, forward, k, start, _ = LOSSES[name]
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 3))
    if isinstance(loss, cr.CrossEntropy):
        y = rng.integers(0, k, n)
        Y = np.eye(k)[y]
    elif isinstance(loss, cr.BinaryCrossEntropy):
        Y = y = rng.integers(0, 2, (n, k)).astype(np.float64)
    else:
        Y = y = 3 * rng.normal(size=(n, k))   # beyond Huber's δ = 1: it differs from MSE
    net = cr.Sequential([cr.Dense(3, 4), cr.Tanh(), cr.Dense(4, k), output])
    data = dict(X=X, Y=Y, **weights([3, 4, k], seed))
    loop = START_LOOP.format(output=forward, start=start)
    return loop, lambda code: cr.diagnose(net, X, y, run(code, **data), loss=loss)


@pytest.mark.parametrize("name", list(LOSSES))
def test_each_losss_starting_gradient_its_mean_and_its_sign(name):
    loop, diagnose = _loss_case(name)
    assert diagnose(loop).ok
    start = LOSSES[name][4].splitlines()[0]
    lhs, rhs = start.split(" = ")
    without_mean = rhs.replace(LOSSES[name][5], "")
    for wrong, mistake in ((without_mean, "missing_mean"), (f"-({rhs})", "sign")):
        report = diagnose(planted(loop, start, f"{lhs} = {wrong}"))
        assert (report.first, report.mistake, len(report.findings)) == (lhs, mistake, 1)


def test_the_sigmoid_shortcut_under_squared_error_is_another_losss_gradient():
    loop, diagnose = _loss_case("MSE after Sigmoid")
    start = LOSSES["MSE after Sigmoid"][4]
    report = diagnose(planted(loop, start, "dZ2 = (A2 - Y) / len(Y)"))
    assert (report.first, report.mistake, report.findings[0].detail) == \
        ("dZ2", "loss_gradient", "bce")
    assert "the starting gradient of binary cross-entropy, where that of mean squared error" \
        in " ".join(str(report).split())


def test_half_mse_under_mse_is_named_with_its_constant():
    loop, diagnose = _loss_case("MSE")
    report = diagnose(planted(loop, "dA2 = 2 * (A2 - Y) / Y.size", "dA2 = (A2 - Y) / Y.size"))
    assert (report.mistake, report.findings[0].detail) == ("loss_gradient", "own")
    assert "½·MSE" in str(report)


def test_softmax_cross_entropy_derivative_mistakes():
    loop, diagnose = _loss_case("CrossEntropy, dA given")
    right = "dZ2 = A2 * (dA2 - (dA2 * A2).sum(axis=1, keepdims=True))"
    report = diagnose(planted(loop, right, "dZ2 = dA2"))
    assert (report.first, report.mistake) == ("dZ2", "missing_derivative")
    report = diagnose(planted(loop, right,
                              "dZ2 = Z2 * (dA2 - (dA2 * Z2).sum(axis=1, keepdims=True))"))
    assert (report.first, report.mistake) == ("dZ2", "derivative_of_Z")


def test_a_network_ending_in_dense_starts_at_dA_and_passes_it_on():
    rng = np.random.default_rng(3)
    X, Y = rng.normal(size=(5, 3)), rng.normal(size=(5, 2))
    net = cr.Sequential([cr.Dense(3, 4), cr.Tanh(), cr.Dense(4, 2)])   # no output activation
    loop = START_LOOP.format(output="Z2", start="dA2 = 2 * (A2 - Y) / Y.size\ndZ2 = dA2")
    data = dict(X=X, Y=Y, **weights([3, 4, 2], seed=3))
    assert cr.diagnose(net, X, Y, run(loop, **data), loss=cr.MSE()).ok
    report = cr.diagnose(net, X, Y, run(planted(loop, "dA2 = 2 * (A2 - Y) / Y.size",
                                                "dA2 = 2 * (A2 - Y)"), **data), loss=cr.MSE())
    assert (report.first, report.mistake) == ("dA2", "missing_mean")


def test_float32_arrays_get_float32s_tolerance():
    data = {k: v.astype(np.float32) for k, v in XOR_241.items()}
    report = diagnose_xor(LOOP_241, data)
    assert report.ok and report.dtype == np.float32
    assert report.tolerance == pytest.approx(math.sqrt(np.finfo(np.float32).eps))
    report = diagnose_xor(planted(LOOP_241, "dZ1 = dA1 * A1 * (1 - A1)",
                                  "dZ1 = dA1 * Z1 * (1 - Z1)"), data)
    assert (report.first, report.mistake) == ("dZ1", "derivative_of_Z")


# -- shapes and other errors, in plain words ----------------------------------------------------

def test_shape_errors_say_what_the_shape_should_be_and_why():
    mine = run(LOOP_241, **XOR_241)
    mine["db2"] = mine["dZ2"].sum(axis=1)            # (4,): one per sample
    mine["dW1"] = mine["dW1"].T                       # (4, 2): transposed
    with pytest.raises(ValueError) as error:
        cr.diagnose(cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid"), XOR_X, XOR_Y, mine,
                    loss=cr.BinaryCrossEntropy())
    message = str(error.value)
    assert "mine['db2'] has shape (4,), but db2 has one entry per unit of layer 2: (1,)" in message
    assert "a sum over axis 1" in message
    assert ("mine['dW1'] has shape (4, 2), but layer 1 is Dense(2, 4), so dW1 is (n_in, n_out) = "
            "(2, 4); yours is its transpose") in message


def test_a_wrong_number_of_rows_is_named():
    mine = {"Z1": np.zeros((3, 4))}
    with pytest.raises(ValueError, match=r"mine\['Z1'\] has shape \(3, 4\), but Z1 has one row "
                                         r"per sample \(4\) and one column per unit of layer 1"):
        cr.diagnose(cr.mlp([2, 4, 1]), XOR_X, XOR_Y, mine, loss=cr.MSE())


@pytest.mark.parametrize("key, hint", [("dw1", "did you mean 'dW1'"),
                                       ("dW3", "the network has 2 Dense layers"),
                                       ("X", "X and y are diagnose's own arguments"),
                                       ("grad", "dZ2, dW2, db2, dA1, dZ1, dW1, db1")])
def test_unknown_names_are_refused_with_the_names_there_are(key, hint):
    with pytest.raises(ValueError, match=re.escape(hint)):
        cr.diagnose(cr.mlp([2, 4, 1]), XOR_X, XOR_Y, {key: np.zeros((2, 4))}, loss=cr.MSE())


def test_other_errors():
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid")
    with pytest.raises(TypeError, match="mine must be a dict"):
        cr.diagnose(net, XOR_X, XOR_Y, [1, 2], loss=cr.MSE())
    with pytest.raises(TypeError, match="loss must be a chainrule Loss"):
        cr.diagnose(net, XOR_X, XOR_Y, {}, loss="mse")
    with pytest.raises(ValueError, match="must be numeric"):
        cr.diagnose(net, XOR_X, XOR_Y, {"Z1": [["a"] * 4] * 4}, loss=cr.MSE())
    dropout = cr.Sequential([cr.Dense(2, 4), cr.Dropout(0.5), cr.Dense(4, 1)])
    with pytest.raises(ValueError, match="layer 1 is Dropout"):
        cr.diagnose(dropout, XOR_X, XOR_Y, {}, loss=cr.MSE())
    with pytest.raises(ValueError, match="lang must be one of en, zh"):
        diagnose_xor(LOOP_241, XOR_241).to_text(lang="fr")


# -- every word in English and 简体中文 -----------------------------------------------------------

def _fields(text):
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_every_word_exists_in_both_languages_with_the_same_blanks():
    en, zh = diagnose_views.WORDS["en"], diagnose_views.WORDS["zh"]
    assert set(en) == set(zh)
    for key in en:
        assert en[key].strip() and zh[key].strip(), key
        assert _fields(en[key]) == _fields(zh[key]), key
    # every mistake the catalogue can name has its title and its explanation
    m = diagnose_mistakes
    mistakes = m.start_mistakes("dZ = (A − Y) / m") + [m.sign_mistake("dW = Xᵀ·dZ")]
    for loss in (cr.MSE(), cr.BinaryCrossEntropy(), cr.CrossEntropy(), cr.Huber()):
        mistakes += m.loss_gradient_mistakes(loss, 4, 8)
    for layer, *_ in HIDDEN.values():
        mistakes += m.activation_mistakes(layer)
    mistakes += [mistake for found in m.DENSE_MISTAKES.values() for mistake in found]
    assert {mistake.key for mistake in mistakes} == set(m.KEYS)
    for mistake in mistakes:
        assert f"title.{mistake.key}" in en
        assert diagnose_views.why_key(mistake.key, mistake.detail) in en, mistake
        if mistake.key == "loss_gradient" and mistake.detail != "own":
            assert f"form.{mistake.detail}" in en   # the other loss, by name


@pytest.mark.parametrize("right, wrong, mistake", [p[:2] + p[3:] for p in PLANTED_241],
                         ids=[p[1] for p in PLANTED_241])
def test_the_chinese_report_says_it_in_chinese(right, wrong, mistake):
    report = diagnose_xor(planted(LOOP_241, right, wrong), XOR_241)
    zh, en = report.to_text(lang="zh"), str(report)
    assert diagnose_views.WORDS["zh"][f"title.{mistake}"] in zh
    assert diagnose_views.WORDS["en"][f"title.{mistake}"] not in zh
    # the equations stay as they are
    assert report.findings[0].wrong_equation in zh and report.findings[0].wrong_equation in en
    assert not re.search(r"\b(the|yours|differs|probably)\b", zh)


# -- the errors before any report, in the learner's language -----------------------------------

def _cases():
    """``(keys of the words it says, net, X, mine, loss)``: one error for each ``error.*`` key."""
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid")
    mine = run(LOOP_241, **XOR_241)
    shapes = {"db2": mine["dZ2"].sum(axis=1), "dW1": mine["dW1"].T}   # per sample; transposed
    return [
        (("error.net",), "net", XOR_X, {}, cr.MSE()),
        (("error.layer",), cr.Sequential([cr.Dense(2, 4), cr.Dropout(0.5), cr.Dense(4, 1)]),
         XOR_X, {}, cr.MSE()),
        (("error.penalty",), cr.Sequential([cr.Dense(2, 4, l2=0.1), cr.Sigmoid(), cr.Dense(4, 1)]),
         XOR_X, {}, cr.MSE()),
        (("error.empty",), cr.Sequential([]), XOR_X, {}, cr.MSE()),
        (("error.loss",), net, XOR_X, {}, "mse"),
        (("error.mine",), net, XOR_X, [1, 2], cr.MSE()),
        (("error.name", "error.name.case"), net, XOR_X, {"dw1": 0}, cr.MSE()),
        (("error.name", "error.name.own"), net, XOR_X, {"X": 0}, cr.MSE()),
        (("error.name", "error.name.layers"), net, XOR_X, {"dW3": 0}, cr.MSE()),
        (("error.name",), net, XOR_X, {"grad": 0}, cr.MSE()),
        (("error.shapes", "error.shape", "error.shape.b", "error.shape.per_sample",
          "error.shape.W", "error.shape.transposed"), net, XOR_X, shapes, cr.MSE()),
        (("error.shapes", "error.shape", "error.shape.rows"), net, XOR_X,
         {"Z1": np.zeros((3, 4))}, cr.MSE()),
        (("error.shared",), net, XOR_X, {"Z1": [["a"] * 4] * 4}, cr.MSE()),
        (("error.shared",), net, np.zeros((4, 3)), {}, cr.MSE()),
    ]


CASES = _cases()
IDS = [f"{' '.join(keys)} {i}" for i, (keys, *_) in enumerate(CASES)]

#: What a Chinese error may name as it is: the arguments, chainrule's classes, code, and the
#: values the cases pass (their reprs: 'mse', list, 'grad', the Dense's init='xavier').
ZH_NAMES = {"net", "mine", "loss", "diagnose", "chainrule", "fit", "Sequential", "Dense", "Dropout",
            "Loss", "MSE", "CrossEntropy", "cr", "axis", "str", "list", "mse", "grad", "init",
            "xavier"}


def _error(case, **lang):
    _, net, X, mine, loss = case
    with pytest.raises((TypeError, ValueError)) as error:
        cr.diagnose(net, X, XOR_Y, mine, loss=loss, **lang)
    return error.type, str(error.value)


def _pieces(template):
    """The fixed words of a sentence of WORDS, its blanks left out."""
    return [text.strip() for text, *_ in string.Formatter().parse(template) if text.strip()]


def test_every_error_key_is_raised_by_a_case():
    raised = {key for keys, *_ in CASES for key in keys}
    assert raised == {key for key in diagnose_views.WORDS["en"] if key.startswith("error.")}


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_the_english_errors_are_the_default_and_say_it_in_english(case):
    kind, en = _error(case, lang="en")
    assert _error(case) == (kind, en)                     # English by default, word for word
    for key in case[0]:
        assert all(piece in en for piece in _pieces(diagnose_views.WORDS["en"][key])), key
    assert not re.search(r"[\u4e00-\u9fff]", en)
    assert english_words(en, ZH_NAMES) != []              # the check below can fail


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_each_error_in_chinese_has_the_same_type_names_and_numbers(case):
    (kind, en), (zh_kind, zh) = _error(case), _error(case, lang="zh")
    assert zh_kind is kind
    for key in case[0]:
        assert all(piece in zh for piece in _pieces(diagnose_views.WORDS["zh"][key])), key
    assert sorted(re.findall(r"\d+", zh)) == sorted(re.findall(r"\d+", en))
    if case[0] == ("error.shared",):
        # chainrule's shared checks (those of fit) speak English: said in Chinese, then given
        assert zh == diagnose_views.say("zh", "error.shared", message=en)
        zh = zh.replace(en, "")
    else:
        assert set(re.findall(r"'\w+'", zh)) == set(re.findall(r"'\w+'", en))   # the names
    assert re.search(r"[\u4e00-\u9fff]", zh)
    assert english_words(zh, ZH_NAMES) == [], zh


def test_the_english_loss_error_is_chainrules_usual_one():
    from chainrule.validation import check_loss
    with pytest.raises(TypeError) as usual:
        check_loss("mse")
    assert _error(CASES[4]) == (TypeError, str(usual.value))


def test_lang_is_checked_first_and_refused_in_both_languages():
    with pytest.raises(ValueError, match="lang must be one of en, zh, got 'fr'") as error:
        cr.diagnose("not a net", XOR_X, XOR_Y, [], loss="mse", lang="fr")
    assert re.search(r"[\u4e00-\u9fff]", str(error.value))


def test_lang_is_the_reports_own_language():
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid")
    mine = run(planted(LOOP_241, "dZ2 = (A2 - Y) / m", "dZ2 = A2 - Y"), **XOR_241)
    report = cr.diagnose(net, XOR_X, XOR_Y, mine, loss=cr.BinaryCrossEntropy(), lang="zh")
    assert report.lang == "zh" and str(report) == report.to_text(lang="zh")
    assert diagnose_views.WORDS["zh"]["title.missing_mean"] in str(report)
    english = report.to_text(lang="en")
    assert diagnose_views.WORDS["en"]["title.missing_mean"] in english
    assert english == str(cr.diagnose(net, XOR_X, XOR_Y, mine, loss=cr.BinaryCrossEntropy()))
