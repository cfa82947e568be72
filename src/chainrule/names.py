"""The one registry of names ("relu", "adam", ...) used at the edges.

The core takes objects (``cr.ReLU()``, ``cr.Adam(lr=1e-3)``); ``mlp()``, the
scikit-learn estimators and the command line accept names, resolved here.
An unknown name is a ValueError listing the valid ones.
"""
from __future__ import annotations

import copy

from .nn import activations as act
from . import optimizers
from .nn import losses
from .nn.layers import Layer

#: Other names for activations, besides each class's own name ("relu", "leaky_relu").
ALIASES = {"logistic": "sigmoid", "linear": "identity"}
LOSSES = {
    "mse": losses.MSE, "binary_cross_entropy": losses.BinaryCrossEntropy, "bce": losses.BinaryCrossEntropy,
    "cross_entropy": losses.CrossEntropy, "mae": losses.MAE, "l1": losses.MAE,
    "huber": losses.Huber,
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


def activations():
    """Every activation by name: each subclass of ``nn.Activation`` (chainrule's and any
    a user defined) under its class name in lower case (``"leakyrelu"``), plus ``ALIASES``.

    Looked up when asked, so a new activation class needs no registering."""
    table, todo = {}, [act.Activation]
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls is not act.Activation and not cls.__name__.startswith("_"):
            table.setdefault(cls.__name__.lower(), cls)
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
