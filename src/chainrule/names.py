"""The one registry of names ("relu", "adam", ...) used at the edges.

The core takes objects (``cr.ReLU()``, ``cr.Adam(lr=1e-3)``); ``mlp()``, the
scikit-learn estimators and the command line accept names, resolved here.
An unknown name is a ValueError listing the valid ones.
"""
from __future__ import annotations

import copy

from .nn import activations as act
from .nn import losses
from .nn.dropout import Dropout
from .nn.layers import CategoryEmbedding, Dense, Embedding, Layer
from .nn.normalization import BatchNorm, LayerNorm
from .nn.periodic import PeriodicEmbedding
from .optim import optimizers

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
    siblings in the order they were defined. What ``mlp()`` searches for an activation
    the program names; a model file is never read with it (see :data:`LAYERS`)."""
    found, todo = [], [base]
    while todo:
        cls = todo.pop(0)
        todo.extend(cls.__subclasses__())
        if cls is not base and cls.forward is not Layer.forward:
            found.append(cls)
    return found


def _preferred(classes):
    """Of several classes answering to one name: chainrule's own (so ``"relu"`` is always
    chainrule's ReLU), else the one found last, the newest (a class redefined in a notebook)."""
    own = [cls for cls in classes if cls.__module__.startswith("chainrule.")]
    return (own or classes)[-1]


#: chainrule's own layers by class name: what a model file's layer names mean. Listed
#: here, never discovered: a file builds these, and the classes the program loading it
#: names (``load(path, layers=[Swish])``), nothing else defined in the process.
LAYERS = {cls.__name__: cls for cls in (
    Dense, Embedding, CategoryEmbedding, PeriodicEmbedding, Dropout, BatchNorm, LayerNorm, act.Identity, act.Exp,
    act.Sigmoid, act.Tanh,
    act.ReLU, act.LeakyReLU, act.ELU, act.GELU, act.Softplus, act.Softmax)}


def layer_table(layers=(), argument="layers"):
    """``{name: class}``: chainrule's own layers (:data:`LAYERS`) and those in ``layers``.

    Parameters
    ----------
    layers : list of Layer subclasses
        The program's own layer classes, e.g. ``[Swish]``.
    argument : str
        What to call ``layers`` in an error.

    Raises TypeError for anything but Layer subclasses, and ValueError for a class
    without a ``forward`` of its own, one named like one of chainrule's (a file naming
    ``"Dense"`` means chainrule's Dense), or two different classes of one name.
    """
    if isinstance(layers, (str, type)) or not hasattr(layers, "__iter__"):
        raise TypeError(f"{argument} must be a list of Layer classes, such as [Swish], "
                        f"got {layers!r}")
    table = dict(LAYERS)
    for i, cls in enumerate(layers):
        if not (isinstance(cls, type) and issubclass(cls, Layer)):
            raise TypeError(f"{argument}[{i}] must be a Layer subclass (the class, not an "
                            f"instance), got {cls!r}")
        name, known = cls.__name__, table.get(cls.__name__)
        if cls.forward is Layer.forward:
            raise ValueError(f"{argument}[{i}] ({cls.__qualname__}) has no forward of its own")
        if known is not None and known is not cls:
            whose = "chainrule's own" if name in LAYERS else f"{known.__module__}.{known.__qualname__}"
            raise ValueError(f"{argument}[{i}] is {cls.__module__}.{cls.__qualname__}, named like "
                             f"{whose} {name}: a file names a layer by its class name alone, so "
                             "give the class a name of its own")
        table[name] = cls
    return table


def layer_class(name, layers=()):
    """The class a model file's layer name ``name`` means (see :func:`layer_table`), or None."""
    return layer_table(layers).get(name)


def activations():
    """Every activation by name: each subclass of ``nn.Activation`` (chainrule's and any
    a user defined) under its class name in lower case (``"leakyrelu"``), plus ``ALIASES``.

    Looked up when asked, so a new activation class needs no registering. Where
    classes share a name, chainrule's own wins, else the newest. (These are names the
    program gives; a model file's names are read with :func:`layer_table` instead.)"""
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
