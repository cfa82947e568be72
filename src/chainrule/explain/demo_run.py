"""What every demo shares in running: fit's progress bar, and a figure saved, in the demo's language.

The demos themselves are in ``demo_learning`` (networks learning: XOR, the sine,
the digits, the L2 penalty) and ``demo_gradients`` (the gradients themselves:
checked, watched, and a learner's own); ``demos`` lists them by name.
"""
from __future__ import annotations

from ..train.callbacks import ProgressBar
from .demo_text import say


def save_figure(plot, figure, lang="en"):
    """Write ``figure`` to the path ``plot`` and say so in ``lang``."""
    from . import plot as _plot
    _plot.save(figure, plot)
    print(say(lang, "saved", path=plot))


def progress_bar(verbose, lang):
    """fit's ``verbose`` and callbacks: at 1, a bar over the epochs named in ``lang``."""
    if verbose != 1:
        return verbose, ()
    words = {"training": say(lang, "bar.training"), "epoch": say(lang, "bar.epoch")}
    return 0, (ProgressBar(per_epoch=False, words=words),)
