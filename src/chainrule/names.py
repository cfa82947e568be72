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

ACTIVATIONS = {
    "sigmoid": act.Sigmoid, "logistic": act.Sigmoid, "tanh": act.Tanh, "relu": act.ReLU,
    "leaky_relu": act.LeakyReLU, "elu": act.ELU, "gelu": act.GELU, "softplus": act.Softplus,
    "identity": act.Identity, "linear": act.Identity, "softmax": act.Softmax,
}
LOSSES = {
    "mse": losses.MSE, "binary_cross_entropy": losses.BinaryCrossEntropy, "bce": losses.BinaryCrossEntropy,
    "cross_entropy": losses.CrossEntropy, "mae": losses.MAE, "l1": losses.MAE,
    "huber": losses.Huber,
}
OPTIMIZERS = {
    "sgd": optimizers.SGD, "adam": optimizers.Adam, "adamw": optimizers.AdamW,
    "rmsprop": optimizers.RMSprop, "adagrad": optimizers.Adagrad,
}

#: Activations after which a Dense layer starts from He (Kaiming) weights.
RELU_FAMILY = (act.ReLU, act.LeakyReLU, act.ELU, act.GELU)


def lookup(table, name, what):
    """``table[name]``, or a ValueError listing the valid names."""
    key = name.lower().replace("-", "_") if isinstance(name, str) else name
    if key not in table:
        raise ValueError(f"unknown {what} {name!r}; valid names: {', '.join(sorted(table))}")
    return table[key]


def activation(spec, argument="activation"):
    """A fresh activation layer from a name or a Layer instance (copied)."""
    if isinstance(spec, Layer):
        return copy.deepcopy(spec)
    if not isinstance(spec, str):
        raise TypeError(f"{argument} must be an activation name or a Layer, got {spec!r}")
    return lookup(ACTIVATIONS, spec, f"{argument} activation")()


def loss(spec):
    """A loss from a name or a Loss instance."""
    return lookup(LOSSES, spec, "loss")() if isinstance(spec, str) else spec


def optimizer(spec, **settings):
    """An optimizer from a name (with settings) or an Optimizer instance."""
    return lookup(OPTIMIZERS, spec, "optimizer")(**settings) if isinstance(spec, str) else spec


def default_init(activation_layer):
    """"he" before a ReLU-family activation, "xavier" otherwise."""
    return "he" if isinstance(activation_layer, RELU_FAMILY) else "xavier"
