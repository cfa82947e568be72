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
what they share in running (fit's progress bar, a saved figure) in ``demo_run``, and the
``chainrule demo`` command itself (its help and its errors) in ``demo_command``.
"""
from __future__ import annotations

from .demo_gradients import diagnose, gradcheck, gradient_health
from .demo_learning import digits, regularization, sine, xor, xor_mse

#: The extra each demo needs beyond NumPy and tqdm (``--plot`` needs ``plot``); what each
#: shows is ``demo_text.TEXT``'s ``about.NAME``, in both languages.
NEEDS = {"xor": None, "xor-mse": None, "sine": None, "digits": "sklearn", "gradcheck": None,
         "gradient-health": None, "regularization": None, "diagnose": None}

DEMOS = {"xor": xor, "xor-mse": xor_mse, "sine": sine, "digits": digits, "gradcheck": gradcheck,
         "gradient-health": gradient_health, "regularization": regularization,
         "diagnose": diagnose}
