"""The mistakes ``cr.diagnose`` knows, each one the wrong equation written out.

Every entry recomputes one line of a hand-written backpropagation the way the
mistake would compute it. ``cr.diagnose`` compares the result with the
learner's array: a mistake is named only when it reproduces the learner's
numbers, never guessed from a shape.

The functions read the line's arrays by the glossary's names (see
``chainrule.nn.layers``) from a namespace ``v``:

``v.X``, ``v.W``    the Dense layer's input (X for layer 1, the previous A after) and weights
``v.Z``, ``v.A``    the activation's input and output; ``v.g`` the activation layer itself
``v.dA``, ``v.dZ``  their gradients (at the start of a fused pair, ``v.dA`` is the loss's own
                    ∂L/∂A, the gradient the pair skips)
``v.Y``             the targets, one-hot for classes
``v.m``, ``v.n``    the loss's divisor (its elements; its rows for CrossEntropy) and the rows
``v.right``         the right value of the line
``v.through(dA)``   dA carried through the last activation's own backward (the right dZ for that dA)

The equations use the same names; ``cr.diagnose`` numbers them by layer
(``dZ = dA ⊙ Z(1 − Z)`` becomes ``dZ1 = dA1 ⊙ Z1(1 − Z1)``).
"""
from __future__ import annotations

import math
import re
from typing import Callable, NamedTuple

import numpy as np

from ..nn.activations import ELU, GELU, Exp, LeakyReLU, ReLU, Sigmoid, Softmax, Softplus, Tanh, erf, sigmoid
from ..nn.losses import MAE, MSE, BinaryCrossEntropy, CrossEntropy

#: The catalogue's keys, in the order the report's words list them.
KEYS = ("missing_mean", "sign", "loss_gradient", "missing_derivative", "derivative_of_Z",
        "bias_axis", "transposed")


class Mistake(NamedTuple):
    """One wrong way to compute a line: ``compute(v)`` is what ``equation`` gives."""

    key: str                 # one of KEYS
    equation: str            # the wrong equation, in the glossary's names
    compute: Callable
    detail: str = ""         # the variant, for the report's words ("W", "dX", a loss, ...)


# -- the start of backpropagation: dA = ∂L/∂A, or dZ of a fused pair ----------------------

def without_mean(equation):
    """``"dA = 2(A − Y) / m"`` → ``"dA = 2(A − Y)"``: the right equation, its 1/m left out."""
    lhs, rhs = equation.partition(" = ")[0], equation.rpartition(" = ")[2]
    bare = re.sub(r"\s*/\s*[mn]$", "", rhs)
    if bare == rhs:
        return f"{lhs} = m·({rhs})"
    if re.fullmatch(r"\([^()]*\)", bare):    # "(A − Y)" → "A − Y"
        bare = bare[1:-1]
    return f"{lhs} = {bare}"


def negated(equation):
    """``"dZ = (A − Y) / m"`` → ``"dZ = (Y − A) / m"``; otherwise a minus sign in front."""
    lhs, rhs = equation.partition(" = ")[0], equation.rpartition(" = ")[2]
    if "A − Y" in rhs:
        return f"{lhs} = {rhs.replace('A − Y', 'Y − A')}"
    if rhs.startswith("−"):
        return f"{lhs} = {rhs[1:]}"
    return f"{lhs} = −({rhs})" if (" + " in rhs or " − " in rhs) else f"{lhs} = −{rhs}"


def start_mistakes(equation):
    """The two mistakes of the starting gradient that scale it: 1/m left out, sign flipped."""
    return [Mistake("missing_mean", without_mean(equation), lambda v: v.m * v.right),
            Mistake("sign", negated(equation), lambda v: -v.right)]


#: The starting gradients of chainrule's losses without their constants, ``(name, ∂L/∂A,
#: function of A and Y, factors)``: what "loss_gradient" tries. Squared error comes with the
#: 2 of MSE or without it (½·MSE); every form with 1/m, 1/n or nothing after it.
LOSS_FORMS = [
    ("mse", "(A − Y)", lambda A, Y: A - Y, (1, 2)),
    ("bce", "(A − Y) / (A(1 − A))", lambda A, Y: (A - Y) / (A * (1 - A)), (1,)),
    ("ce", "−Y / A", lambda A, Y: -Y / A, (1,)),
    ("mae", "sign(A − Y)", lambda A, Y: np.sign(A - Y), (1,)),
]


def _factors(factor, n, m):
    """``[(number, written), ...]``: ``factor`` over 1, over m (the elements) and over n (rows)."""
    head = "" if factor == 1 else f"{factor}"
    found = [(factor, f"{head}·" if head else ""), (factor / m, f"({factor}/m)·")]
    if n != m:
        found.append((factor / n, f"({factor}/n)·"))
    return found


#: The form of LOSS_FORMS that is each loss's own (its other constants are "loss_gradient" too:
#: ½·MSE under MSE).
OWN_FORM = {MSE: "mse", BinaryCrossEntropy: "bce", CrossEntropy: "ce", MAE: "mae"}


def loss_gradient_mistakes(loss, n, m, through=None):
    """The starting gradient of each other loss, with each of its usual constants.

    Where the learner starts from ∂L/∂A, each is dA itself; at a fused pair (the start is
    dZ) each goes through the last activation, ``through`` being its backward equation
    (``"dZ = dA ⊙ A(1 − A)"``), into which the loss's dA is written. The reference
    ``loss``'s own form is tried too, with the constants it does not have (detail "own").
    """
    found, own = [], next((f for cls, f in OWN_FORM.items() if isinstance(loss, cls)), None)
    for name, form, grad, factors in LOSS_FORMS:
        name = "own" if name == own else name
        for factor in factors:
            for number, written in _factors(factor, n, m):
                dA = f"{written}{form}" if written else form
                if through is None:
                    found.append(Mistake("loss_gradient", f"dA = {dA}",
                                         _scaled(grad, number), name))
                else:
                    found.append(Mistake("loss_gradient", substitute_dA(through, dA),
                                         _scaled_through(grad, number), name))
    return found


def _scaled(grad, number):
    return lambda v: number * grad(v.A, v.Y)


def _scaled_through(grad, number):
    return lambda v: v.through(number * grad(v.A, v.Y))


def substitute_dA(equation, dA):
    """``"dZ = dA ⊙ Z(1 − Z)"`` with the formula ``dA`` written in for the name dA (the
    fused pair's equation, whose dA is the loss's): ``"dZ = (A − Y) ⊙ Z(1 − Z)"``. Of an
    equation with several forms (``dZ = dA ⊙ σ(Z)(1 − σ(Z)) = dA ⊙ A(1 − A)``), the
    last."""
    lhs, rhs = equation.partition(" = ")[0], equation.rpartition(" = ")[2]
    if rhs == "dA":
        return f"{lhs} = {dA}"
    wrapped = f"({dA})" if _top_level_operator(dA) else dA
    return f"{lhs} = " + re.sub(r"(?<![A-Za-z0-9_])dA(?![A-Za-z0-9])", lambda _: wrapped, rhs)


def _top_level_operator(text):
    """True if ``text`` has a spaced + − / outside parentheses (it needs them around it)."""
    depth = 0
    for i, c in enumerate(text):
        depth += (c in "([") - (c in ")]")
        if depth == 0 and text[i:i + 3] in (" + ", " − ", " / "):
            return True
    return False


# -- backward through an activation: dZ = dA ⊙ g'(Z) --------------------------------------

def _missing_derivative(v):        # dZ = dA: the activation's derivative left out
    return v.dA


def _phi(x):                       # the standard normal density φ
    return np.exp(-x * x / 2) / math.sqrt(2 * math.pi)


def _Phi(x):                       # the standard normal CDF Φ
    return 0.5 * (1 + erf(x / math.sqrt(2)))


#: Each activation's derivative computed from the wrong array ("derivative_of_Z"): the
#: formula written for A evaluated at Z, or the one written for Z evaluated at A, as
#: ``(equation, compute[, detail])``. ReLU's mask is the same from Z and from A
#: ([Z > 0] = [A > 0]), so its wrong arrays are the incoming gradient, and A's values in
#: place of its sign (detail "mask").
WRONG_DERIVATIVES = {
    Sigmoid: [("dZ = dA ⊙ Z(1 − Z)", lambda v: v.dA * v.Z * (1 - v.Z)),
              ("dZ = dA ⊙ σ(A)(1 − σ(A))",
               lambda v: v.dA * sigmoid(v.A) * (1 - sigmoid(v.A)))],
    Tanh: [("dZ = dA ⊙ (1 − Z²)", lambda v: v.dA * (1 - v.Z * v.Z)),
           ("dZ = dA ⊙ (1 − tanh²(A))", lambda v: v.dA * (1 - np.tanh(v.A) ** 2))],
    ReLU: [("dZ = dA ⊙ [dA > 0]", lambda v: v.dA * (v.dA > 0), "mask"),
           ("dZ = dA ⊙ A", lambda v: v.dA * v.A, "mask")],
    LeakyReLU: [("dZ = dA ⊙ (1 where dA > 0, else α)",
                 lambda v: np.where(v.dA > 0, v.dA, v.g.alpha * v.dA), "mask")],
    ELU: [("dZ = dA where Z > 0, else dA ⊙ (Z + α)",
           lambda v: np.where(v.Z > 0, v.dA, v.dA * (v.Z + v.g.alpha))),
          ("dZ = dA where A > 0, else dA ⊙ α·e^A",
           lambda v: np.where(v.A > 0, v.dA, v.dA * v.g.alpha * np.exp(v.A)))],
    Exp: [("dZ = dA ⊙ Z", lambda v: v.dA * v.Z),
          ("dZ = dA ⊙ e^A", lambda v: v.dA * np.exp(v.A))],
    GELU: [("dZ = dA ⊙ (Φ(A) + A ⊙ φ(A))", lambda v: v.dA * (_Phi(v.A) + v.A * _phi(v.A)))],
    Softplus: [("dZ = dA ⊙ σ(A)", lambda v: v.dA * sigmoid(v.A)),
               ("dZ = dA ⊙ (1 − e^(−Z))", lambda v: v.dA * -np.expm1(-v.Z))],
    Softmax: [("dZ = Z ⊙ (dA − Σ_c (dA ⊙ Z)_c)",
               lambda v: v.Z * (v.dA - (v.dA * v.Z).sum(axis=-1, keepdims=True)))],
}


def activation_mistakes(g):
    """The mistakes of ``dZ = dA ⊙ g'(Z)`` for activation ``g`` (None: no activation)."""
    found = [Mistake("missing_derivative", "dZ = dA", _missing_derivative)]
    for cls in type(g).__mro__:
        if cls in WRONG_DERIVATIVES:
            found += [Mistake("derivative_of_Z", *form) for form in WRONG_DERIVATIVES[cls]]
            break
    return found


def fused_start_mistakes(g, loss_dA):
    """The activation's mistakes at a fused start, where dA is the loss's formula ``loss_dA``."""
    return [m._replace(equation=substitute_dA(m.equation, loss_dA))
            for m in activation_mistakes(g)]


# -- backward through Dense: dW = Xᵀ·dZ, db = Σ_rows dZ, dX = dZ·Wᵀ -------------------------

def _transposed_dW(v):             # dW = dZᵀ·X = (Xᵀ·dZ)ᵀ
    return v.dZ.T @ v.X


def _bias_axis(v):                 # db = Σ_columns dZ: each sample's units summed (axis 1)
    return v.dZ.sum(axis=1)


def _transposed_W(v):              # dX = dZ·W, where dZ·Wᵀ belongs
    return v.dZ @ v.W


def _transposed_dX(v):             # dX = W·dZᵀ = (dZ·Wᵀ)ᵀ
    return v.W @ v.dZ.T


#: The mistakes of each line of Dense's backward pass, in the order they are tried.
DENSE_MISTAKES = {
    "dW": [Mistake("transposed", "dW = dZᵀ·X", _transposed_dW, "dW")],
    "db": [Mistake("bias_axis", "db = Σ_columns dZ", _bias_axis)],
    "dX": [Mistake("transposed", "dX = dZ·W", _transposed_W, "W"),
           Mistake("transposed", "dX = W·dZᵀ", _transposed_dX, "dX")],
}


def sign_mistake(equation):
    """The sign flipped on any line: ``dW = −Xᵀ·dZ``."""
    return Mistake("sign", negated(equation), lambda v: -v.right, "line")
