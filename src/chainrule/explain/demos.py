"""The classic examples, runnable as ``chainrule demo NAME``.

Each demo is a function ``demo(seed, verbose, plot, ..., lang="en") -> dict`` that
trains, prints its loss as it learns and what it learned at the end, and
returns its results (so tests can check them). Keyword arguments after
``plot`` shorten a run (fewer epochs, smaller sizes) for tests. Every sentence
a demo prints comes from ``demo_text.TEXT``, in English (``lang="en"``) or
简体中文 (``lang="zh"``).

This module lists them, by the name the command takes; they live by what they show:
``demo_learning`` (networks learning: xor, xor-mse, sine, digits, regularization) and
``demo_gradients`` (the gradients themselves: gradcheck, gradient-health, diagnose), with
what they share in running (fit's progress bar, a saved figure) in ``demo_run``.
"""
from __future__ import annotations

from .demo_gradients import diagnose, gradcheck, gradient_health
from .demo_learning import digits, regularization, sine, xor, xor_mse

#: What each demo shows, and the extra it needs beyond NumPy and tqdm (``--plot`` needs ``plot``).
ABOUT = {
    "xor": ("a 2-4-1 sigmoid network learns XOR with binary cross-entropy; prints its four "
            "outputs", None),
    "xor-mse": ("the same network on squared error: it learns more slowly, because σ'(Z) ≤ 1/4 "
                "scales every output gradient", None),
    "sine": ("a 1-25-1 network fits y = 20 sin(2πx) by full-batch gradient descent", None),
    "digits": ("64-128-10 ReLU network on 8×8 handwritten digits: held-out accuracy, confusion "
               "matrix, sample digits", "sklearn"),
    "gradcheck": ("backpropagation against central differences on a 784-50-10 network, every "
                  "derivative", None),
    "gradient-health": ("a 10-layer sigmoid stack with N(0, 1) weights: GradientMonitor warns that "
                        "the gradients vanish; the figure shows each layer's gradient norm", None),
    "regularization": ("40 rows, 2 features that matter and 4 of noise, a 6-64-64-2 network, with "
                       "and without an L2 penalty: the size of the weights kept (‖W‖, largest |w|) "
                       "and the validation loss of both, printed", None),
    "diagnose": ("a hand-written XOR backpropagation with one line wrong: cr.diagnose names the "
                 "line and the mistake", None),
}



DEMOS = {"xor": xor, "xor-mse": xor_mse, "sine": sine, "digits": digits, "gradcheck": gradcheck,
         "gradient-health": gradient_health, "regularization": regularization,
         "diagnose": diagnose}
