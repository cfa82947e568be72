"""The module paths of chainrule before its modules moved into packages.

``import chainrule.io``, ``from chainrule.training import fit`` and a pickle that
names ``chainrule.optimizers.Adam`` keep working: each old path is the new
module itself, under a second name in ``sys.modules`` (not a copy, so classes
and module state are shared). New code imports the new paths.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

#: old module (under chainrule.) -> where it lives now
MOVED = {
    "optimizers": "optim.optimizers", "schedules": "optim.schedules", "clipping": "optim.clipping",
    "buffers": "network.buffers", "modes": "network.modes",
    "io": "files.model", "interchange": "files.interchange",
    "training": "train.loop", "hooks": "train.hooks", "callbacks": "train.callbacks",
    "monitor": "train.monitor", "checkpoint": "train.checkpoint", "divergence": "train.divergence",
    "batching": "train.batching", "sampling": "train.sampling", "metrics": "train.metrics",
    "trace": "explain.trace", "trace_views": "explain.trace_views", "gradcheck": "explain.gradcheck",
    "plot": "explain.plot", "demos": "explain.demos",
    "preprocessing": "tabular.preprocessing", "recipe": "tabular.recipe",
    "cli_tabular": "tabular.commands",
}
# chainrule.network and chainrule.tabular were modules and are packages now: their
# public names are re-exported by the packages' __init__, so they need no alias.


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``chainrule.<old>`` and returns the module that lives at its new path."""

    def __init__(self):
        self.own = {}  # alias -> the module's own spec, while the import system overwrites it

    def find_spec(self, fullname, path=None, target=None):
        prefix, _, old = fullname.partition(".")
        if prefix != "chainrule" or old not in MOVED:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        module = importlib.import_module("chainrule." + MOVED[spec.name.partition(".")[2]])
        self.own[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        # the module ran when it was imported under its own name; the import system has just
        # written this alias's spec over its own, so put back what describes where it lives
        spec = self.own.pop(module.__spec__.name)
        module.__spec__, module.__loader__ = spec, spec.loader


def install():
    if not any(isinstance(finder, _Alias) for finder in sys.meta_path):
        sys.meta_path.append(_Alias())


def module(old):
    """The module an old attribute name (``cr.io``, ``cr.training``) stands for."""
    return importlib.import_module("chainrule." + MOVED[old])
