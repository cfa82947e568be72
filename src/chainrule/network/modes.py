"""The network's modes (training or evaluating), and which call may use it now.

``Sequential.fitting()`` and ``Sequential.evaluating()`` return these context
managers; layers only read their ``training`` flag, and the first layer is
asked, inside fit, for no dX (``backward(dA, need_dX=False)``) when its
class says it can skip it (``Layer.can_skip_dX``).

One call at a time
------------------
A network is state that every pass writes: each layer caches its input for
backward, the gradients live in one flat buffer, the mode flags are set and
restored around each call. Two calls from two threads at once would read
each other's writes, so each network (and each scikit-learn estimator) has an
:class:`Owner`, and every call that uses it holds it:

* a **fit** (``fit``, ``net.fitting()``, an estimator's ``fit`` and
  ``partial_fit``) holds it for its whole run, from its first check of the
  data to its return. It never waits: while another thread holds the
  network, it raises a RuntimeError naming both calls, before touching
  anything (weights, optimizer, checkpoint);
* a **short call** (``predict``, ``evaluate``, ``forward``, ``backward``,
  ``forward_backward``, ``trace``, ``copy``, ``save``, ``train()``/``eval()``,
  an estimator's ``predict*``) holds it for that one call. Short calls from
  several threads take turns; one that finds a fit of another thread running
  raises a RuntimeError naming both calls instead of waiting for it to end;
* the thread that holds it may call anything on it again (a callback of fit
  predicting on validation data, a monitor calling ``net.evaluate``).

So every interleaving ends either in the results each call would give alone,
or in a RuntimeError that names both calls; never in a mix. What a program
does to the arrays themselves holds nothing (``net.flat_params[...] = ...``,
an optimizer's ``step(net)`` called by hand): do it in the thread that runs
fit, or inside ``with net.fitting():``, which holds the network as fit does.
"""
from __future__ import annotations

import contextlib
import functools
import threading

from .buffers import OWNER, IdentityMap

#: One Owner per network or estimator, by identity; it leaves with its object.
OWNERS = IdentityMap()
_NEW_OWNER = threading.Lock()


class Owner:
    """Which thread runs which call on one object now (see the module's docstring).

    Attributes
    ----------
    thread : int or None
        ``threading.get_ident()`` of the thread holding it, None when free.
    call : str or None
        What that thread is running, as messages name it ("fit", "predict").
    fitting : bool
        True while the holder is a fit, which other threads do not wait for.
    depth : int
        How many holds the holding thread has taken (calls inside calls).
    """

    __slots__ = ("call", "depth", "fitting", "free", "lock", "thread", "waiting", "what")

    def __init__(self, what):
        self.what = what            # "network", "MLPClassifier": for the messages
        self.lock = threading.Lock()
        self.free = threading.Condition(self.lock)
        self.thread, self.call, self.fitting, self.depth, self.waiting = None, None, False, 0, 0

    def enter(self, call, fitting=False):
        """Hold this owner for ``call``; wait for another thread's short call to end, or
        raise RuntimeError when this call or the one running is a fit."""
        me = threading.get_ident()
        if self.thread == me:
            # a call inside a call (each batch of fit): only this thread writes thread and
            # depth while it holds the owner, so neither needs the lock
            self.depth += 1
            return
        with self.lock:
            while self.thread is not None:
                if fitting or self.fitting:
                    raise RuntimeError(self._refusal(call, fitting))
                self.waiting += 1
                try:
                    self.free.wait()
                finally:
                    self.waiting -= 1
            self.thread, self.call, self.fitting, self.depth = me, call, fitting, 1

    def exit(self):
        """Release one hold; the last one frees the owner for the next call."""
        if self.depth > 1:
            self.depth -= 1
            return
        with self.lock:
            self.thread, self.call, self.fitting, self.depth = None, None, False, 0
            if self.waiting:
                self.free.notify_all()

    def _refusal(self, call, fitting):
        """The message refusing ``call`` while ``self.call`` runs in another thread."""
        running, what = self.call, self.what
        names = {t.ident: t.name for t in threading.enumerate()}
        where = f"in another thread ({names.get(self.thread, f'id {self.thread}')!r})"
        network = what == "network"
        clone = "net.copy()" if network else "sklearn.base.clone(estimator)"
        if self.fitting and fitting:
            return (f"{call} was refused: this {what} is being trained by {running} {where}; "
                    f"two trainings of one {what} at once would mix their updates. Call "
                    f"{call} once {running} has returned, or train a copy ({clone})")
        if self.fitting:
            copy = "net.copy()" if network else "copy.deepcopy(estimator)"
            return (f"{call} was refused: this {what} is being trained by {running} {where}, "
                    f"and {call} meanwhile would read weights in mid-update and overwrite what "
                    f"that training reads. Call {call} once {running} has returned, or on a "
                    f"copy ({copy}, taken before or in a callback of {running})")
        return (f"{call} was refused: {running} is running on this {what} {where}, and {call} "
                f"trains it, so it needs the {what} to itself for its whole run and does not "
                f"wait. Call {call} once {running} has returned, or train a copy ({clone})")


def owner_of(obj, what="network"):
    """The Owner of ``obj`` (a network or an estimator), made on first use."""
    owner = OWNERS.get(obj)
    if owner is None:
        with _NEW_OWNER:  # two threads asking at once must get the same one
            owner = OWNERS.get(obj)
            if owner is None:
                owner = OWNERS[obj] = Owner(what)
    return owner


class Holding:
    """``with Holding(obj, "predict"):`` holds the Owner of ``obj`` for one call
    (``fitting=True``: a fit, refused rather than queued; see the module's docstring)."""

    __slots__ = ("call", "fitting", "owner")

    def __init__(self, obj, call, fitting=False, what="network"):
        self.owner, self.call, self.fitting = owner_of(obj, what), call, fitting

    def __enter__(self):
        self.owner.enter(self.call, self.fitting)
        return self

    def __exit__(self, *exc):
        self.owner.exit()


def holds(call, fitting=False, what="network"):
    """Decorator: the method (or function of a network, first) holds the Owner of its
    first argument for the call, as ``Holding`` does. ``{cls}`` in ``call`` and ``what``
    stands for that argument's class name (the estimators: "MLPClassifier.fit")."""
    def decorate(function):
        named = "{cls}" in call + what

        @functools.wraps(function)
        def held(obj, *args, **kwargs):
            if named:
                cls = type(obj).__name__
                owner, name = owner_of(obj, what.format(cls=cls)), call.format(cls=cls)
            else:   # a network's: predict's one row comes this way
                owner, name = owner_of(obj, what), call
            owner.enter(name, fitting)
            try:
                return function(obj, *args, **kwargs)
            finally:
                owner.exit()
        return held
    return decorate


@contextlib.contextmanager
def taking_over(layers):
    """Hold each network that ``layers`` belong to while they move into a new one, then
    mark it released: its flat buffers are no longer what its layers read, so it may not
    train (validation.check_trainable). Refused while another thread runs a fit on it."""
    earlier = {}
    for layer in layers:
        ref = OWNER.get(layer)
        net = ref() if ref is not None else None
        if net is not None:
            earlier[id(net)] = net
    with contextlib.ExitStack() as stack:
        for net in sorted(earlier.values(), key=id):  # one order for every thread: no deadlock
            stack.enter_context(Holding(net, "Sequential(layers) taking over its layers"))
        yield
        for net in earlier.values():
            net._released = True


class Fitting:
    """Inside a training loop: the network held as a fit's (see Owner), training mode,
    no dX for the first layer when it can skip it."""

    def __init__(self, net, call="a training loop (net.fitting())"):
        self.net, self.owner, self.call = net, owner_of(net), call

    def __enter__(self):
        net = self.net
        self.owner.enter(self.call, fitting=True)
        self.saved = ([], net._skip_first_dX, net._plans)
        try:
            for layer in net.layers:
                self.saved[0].append(layer.training)
                layer.training = True
            net._skip_first_dX = bool(net.layers) and net.layers[0].can_skip_dX
            net._plans = {}   # the step's plans (network.fused), resolved once in this fit
        except BaseException:
            self.__exit__()
            raise
        return net

    def __exit__(self, *exc):
        try:
            training, skip, plans = self.saved
            for layer, mode in zip(self.net.layers, training):
                layer.training = mode
            self.net._skip_first_dX, self.net._plans = skip, plans
        finally:
            self.owner.exit()


class Mode:
    """Hold the network for one short call (see Owner) and set the layers' mode, the
    previous one restored on exit; inside fit (predictions asked for by a callback) the
    first layer computes its dX again meanwhile."""

    def __init__(self, net, training, call="evaluating (net.evaluating())"):
        self.net, self.training, self.call = net, training, call

    def __enter__(self):
        net = self.net
        self.owner = owner = owner_of(net)
        owner.enter(self.call)
        # touch only the flags that differ: this runs on every predict, where one row
        # is a few microseconds of work in all
        training, self.saved, self.skip = self.training, [], (net._skip_first_dX, net._plans)
        try:
            for layer in net.layers:
                if layer.training != training:
                    self.saved.append((layer, layer.training))
                    layer.training = training
        except BaseException:
            self.__exit__()
            raise
        net._skip_first_dX, net._plans = False, None   # the textbook walk meanwhile
        return net

    def __exit__(self, *exc):
        try:
            for layer, training in self.saved:
                layer.training = training
            self.net._skip_first_dX, self.net._plans = self.skip
        finally:
            self.owner.exit()
