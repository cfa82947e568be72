"""The one registry of names ("relu", "adam", ...) used at the edges.

The core takes objects (``cr.ReLU()``, ``cr.Adam(lr=1e-3)``); ``mlp()``, the
scikit-learn estimators and the command line accept names, resolved here.
An unknown name is a ValueError listing the valid ones.
"""
from __future__ import annotations

import copy

from .nn import activations as act
from .optim import optimizers
from .nn import losses
from .nn.layers import Layer

#: Other names for activations, besides each class's own name ("relu", "leaky_relu").
ALIASES = {"logistic": "sigmoid", "linear": "identity"}
LOSSES = {
    "mse": losses.MSE, "binary_cross_entropy": losses.BinaryCrossEntropy, "bce": losses.BinaryCrossEntropy,
    "cross_entropy": losses.CrossEntropy, "mae": losses.MAE, "l1": losses.MAE,
    "huber": losses.Huber, "poisson": losses.Poisson,
}
OPTIMIZERS = {
    "sgd": optimizers.SGD, "adam": optimizers.Adam, "adamw": optimizers.AdamW,
    "rmsprop": optimizers.RMSprop, "adagrad": optimizers.Adagrad,
}

def lookup(table, name, what):
    """``table[name]``, or a ValueError listing the valid names."""
    key = name.lower().replace("-", "_") if isinstance(name, str) else name
    if key not in table:
        raise ValueError(f"unknown {what} {name!r}; valid names: {', '.join(sorted(table))}")
    return table[key]


def layer_classes(base=Layer):
    """Every subclass of ``base`` defined in this process with a ``forward`` of its own
    (chainrule's and any a program defined; abstract bases are left out), nearest first,
    siblings in the order they were defined. Nothing is imported: a class is found once
    the program has defined it, so a new layer needs no registering."""
    found, todo = [], [base]
    while todo:
        cls = todo.pop(0)
        todo.extend(cls.__subclasses__())
        if cls is not base and cls.forward is not Layer.forward:
            found.append(cls)
    return found


def _preferred(classes):
    """Of several classes answering to one name: chainrule's own (so a file's "Dense" is
    always ``chainrule.Dense``, and ``"relu"`` chainrule's ReLU), else the one found last,
    the newest (a class redefined in a notebook)."""
    own = [cls for cls in classes if cls.__module__.startswith("chainrule.")]
    return (own or classes)[-1]


def layer_class(name):
    """The Layer subclass called ``name`` (see :func:`layer_classes`), or None."""
    found = [cls for cls in layer_classes() if cls.__name__ == name]
    return _preferred(found) if found else None


def activations():
    """Every activation by name: each subclass of ``nn.Activation`` (chainrule's and any
    a user defined) under its class name in lower case (``"leakyrelu"``), plus ``ALIASES``.

    Looked up when asked, so a new activation class needs no registering. Where
    classes share a name, the same one wins as when a model file names it
    (:func:`layer_class`)."""
    named = {}
    for cls in layer_classes(act.Activation):
        if not cls.__name__.startswith("_"):
            named.setdefault(cls.__name__.lower(), []).append(cls)
    table = {name: _preferred(classes) for name, classes in named.items()}
    table.update({alias: table[name] for alias, name in ALIASES.items()})
    return table


def activation(spec, argument="activation"):
    """A fresh activation layer from a name or a Layer instance (copied).

    Names ignore case, ``-`` and ``_``: "leaky_relu", "LeakyReLU", "leaky-relu"."""
    if isinstance(spec, Layer):
        return copy.deepcopy(spec)
    if not isinstance(spec, str):
        raise TypeError(f"{argument} must be an activation name or a Layer, got {spec!r}")
    table = activations()
    key = spec.lower().replace("-", "").replace("_", "")
    if key not in table:
        raise ValueError(f"unknown {argument} activation {spec!r}; valid names: "
                         f"{', '.join(sorted(table))}")
    return table[key]()


def loss(spec):
    """A loss from a name or a Loss instance."""
    return lookup(LOSSES, spec, "loss")() if isinstance(spec, str) else spec


def optimizer(spec, **settings):
    """An optimizer from a name (with settings) or an Optimizer instance."""
    return lookup(OPTIMIZERS, spec, "optimizer")(**settings) if isinstance(spec, str) else spec


def default_init(activation_layer):
    """The initial weights for a Dense layer followed by ``activation_layer``: its
    class's ``init_before`` ("he" before the ReLU family, "xavier" otherwise)."""
    return getattr(activation_layer, "init_before", "xavier")
