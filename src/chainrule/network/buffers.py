"""The network's flat buffers: a layer's parameters and gradients as views into them.

``Sequential`` moves every parameter into one flat array and every gradient
into another, so optimizers update a whole network with a few whole-array
operations; each layer keeps reading and writing ``self.W``, ``self.dW``, which
become views into those arrays. What the network knows of each layer is kept
here, not on the layer, so a layer carries nothing of it: a copy or an
unpickled layer is an ordinary one.
"""
from __future__ import annotations

import weakref

import numpy as np


class IdentityMap:
    """A map from objects, by identity, to values; weak in its keys.

    ``weakref.WeakKeyDictionary`` hashes its keys and compares them with
    ``==``: a layer whose class defines ``__eq__`` (every ``@dataclass``
    does) is unhashable there, and with ``unsafe_hash=True`` a separate but
    equal layer would be taken for it. Here a key is its ``id()``, checked
    against a weak reference to the object itself, and the entry leaves when
    the object does.
    """

    __slots__ = ("_entries",)

    def __init__(self):
        self._entries = {}      # id(key) -> (weakref.ref(key), value)

    def get(self, key, default=None):
        """The value of ``key``, or ``default`` when it has none."""
        entry = self._entries.get(id(key))
        if entry is None or entry[0]() is not key:
            return default
        return entry[1]

    def __setitem__(self, key, value):
        ident, entries = id(key), self._entries

        def forget(ref):  # key is being collected; its id may be reused after this
            if entries.get(ident, (None,))[0] is ref:
                del entries[ident]
        entries[ident] = (weakref.ref(key, forget), value)

    def setdefault(self, key, value):
        """The value of ``key``; ``value``, stored first, when it has none."""
        found = self.get(key, self)
        if found is self:
            self[key] = found = value
        return found

    def __len__(self):
        return len(self._entries)


#: What the network knows of each layer: the network it belongs to (a weak reference), and
#: the names of its arrays that are views into that network's flat buffers. By identity
#: (any class of layer works) and weak: a layer nobody holds any more drops out.
OWNER = IdentityMap()
BOUND = IdentityMap()


def check_parameter(layer, name):
    """TypeError unless ``layer`` holds parameter ``name`` and its gradient ``"d" + name``
    as arrays of one shape (what a layer written by a user may have forgotten)."""
    value, grad = layer.__dict__.get(name), layer.__dict__.get("d" + name)
    if isinstance(value, np.ndarray) and isinstance(grad, np.ndarray) and value.shape == grad.shape:
        return
    cls = type(layer).__name__
    wanted = (f"{cls}.params lists {name!r}, so each {cls} needs the arrays self.{name} and "
              f"self.d{name} (its gradient, of the same shape), set in __init__, e.g. "
              f"self.d{name} = np.zeros_like(self.{name})")
    for attr, array in ((name, value), ("d" + name, grad)):
        if not isinstance(array, np.ndarray):
            found = "is missing" if array is None else f"is {type(array).__name__}"
            raise TypeError(f"{wanted}; self.{attr} {found}")
    raise TypeError(f"{wanted}; self.{name} has shape {value.shape}, self.d{name} {grad.shape}")


def bind(layer, name, view):
    """Move parameter (or gradient) ``name`` of ``layer`` into ``view``, a slice of the
    network's flat buffer, and guard later assignments to it (see ParameterSlot)."""
    view[...] = layer.__dict__[name]
    layer.__dict__[name] = view
    BOUND.setdefault(layer, set()).add(name)
    slot = getattr(type(layer), name, None)
    if not isinstance(slot, ParameterSlot):
        setattr(type(layer), name, ParameterSlot(name))


class ParameterSlot:
    """Guards assignment to a parameter or gradient attribute of a layer class.

    The network installs one on the class for each parameter it binds. A data
    descriptor with ``__set__`` but no ``__get__``: reading ``layer.W`` goes
    straight to the instance dict at full speed; only assignment runs this
    code. Once the network has bound ``W`` to a view into its flat buffer,
    ``layer.W = new`` copies ``new`` into that view (same shape required), so
    optimizers keep seeing the array the layer uses; on a layer no network
    holds, it is a plain assignment.
    """

    def __init__(self, name):
        self.name = name

    def __set__(self, layer, value):
        bound = BOUND.get(layer)
        if bound and self.name in bound:
            target = layer.__dict__[self.name]
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"{type(layer).__name__}.{self.name} has shape {target.shape}, "
                                 f"cannot assign an array of shape {value.shape}")
            target[...] = value
        else:
            layer.__dict__[self.name] = value
