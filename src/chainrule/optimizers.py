"""Optimizers: move the parameters against their gradients.

Each optimizer is built without parameters; ``opt.step(net)`` updates every
parameter of ``net`` in place from the gradients of its last backward pass.
A network keeps all its parameters in one flat array and all its gradients in
another, so an update rule is a handful of whole-array in-place operations,
whatever the number of layers. Update rules and defaults are torch.optim's.

How they relate: SGD steps along −g; momentum averages past steps; RMSprop
and Adagrad divide each coordinate by a running size of its gradient; Adam
does both (momentum on g, RMSprop on g²) with bias correction for the zero
start; AdamW takes weight decay out of the gradient and applies it directly.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from .schedules import Schedule


def _check(name, value, rule, ok):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating, np.integer)) \
            or not math.isfinite(value) or not ok(value):
        raise ValueError(f"{name} must be {rule}, got {value!r}")
    return float(value)


@functools.cache
def _proposes(cls):
    """True if ``cls`` steps by ``keep·p − delta`` from an ``_update`` that returns them."""
    if cls.step is not Optimizer.step or cls.proposal is not Optimizer.proposal:
        return False
    owner = next(k for k in cls.__mro__ if "_update" in k.__dict__)
    return owner.__dict__.get("_returns_step", False)


class Optimizer:
    """Shared skeleton: validation, per-network state, step counting.

    Subclasses implement ``_update(p, g) -> (delta, keep)`` on the flat
    parameter and gradient arrays: advance their state (``self.state``, arrays
    shaped like p) and return the step as a work array ``delta`` and a factor
    ``keep`` (1.0 except for decoupled weight decay), without writing into p.
    The new parameters are ``keep·p − delta``: ``step`` writes them into p,
    ``proposal`` into ``delta`` (for fit, which checks them first).

    Such an ``_update`` is declared by ``_returns_step = True`` in the class
    that defines it. A subclass may also follow the older protocol: override
    ``step(net)``, or write ``_update`` to change p in place and return None.
    That works everywhere; ``proposal`` then snapshots the weights around
    each step.
    """

    _returns_step = False

    def __init__(self, lr, weight_decay=0.0):
        #: A learning-rate schedule given as ``lr`` (see schedules.py): fit steps it
        #: each epoch and sets ``self.lr``, which is always the current float rate.
        self.schedule = lr if isinstance(lr, Schedule) else None
        self.lr = _check("lr", lr.lr if self.schedule else lr, "> 0", lambda v: v > 0)
        self.weight_decay = _check("weight_decay", weight_decay, ">= 0", lambda v: v >= 0)
        self.reset()

    def reset(self):
        """Forget all state (moments, step count)."""
        self.state = {}
        self.t = 0
        self._owner = None
        self._work = {}

    def step(self, net):
        """Update ``net``'s parameters in place from its current gradients."""
        p = net.flat_params
        update = self._advance(net)
        if update is None:  # a subclass that updated p in place itself
            return
        delta, keep = update
        if keep != 1.0:
            p *= keep
        p -= delta

    def proposal(self, net):
        """The parameters one step would give, in a work array; ``net``'s stay as they are.

        The optimizer's state advances exactly as in ``step``, and copying the
        result into ``net.flat_params`` completes the step (bitwise what
        ``step`` gives). fit does so only when the result is finite: see
        :func:`chainrule.divergence.guarded_step`.
        """
        p = net.flat_params
        if not _proposes(type(self)):    # a step that writes into p: take it, then undo it
            before = self._scratch("before", p)
            np.copyto(before, p)
            self.step(net)
            new = self._scratch("new", p)
            np.copyto(new, p)
            np.copyto(p, before)
            return new
        delta, keep = self._advance(net)
        if keep != 1.0:
            p = np.multiply(p, keep, out=self._scratch("kept", p))
        return np.subtract(p, delta, out=delta)

    def _advance(self, net):
        """Count the step and return ``_update``'s (delta, keep) for ``net``."""
        if getattr(net, "_released", False):
            from .network import check_trainable
            check_trainable(net)
        p, g = net.flat_params, net.flat_grads
        if self._owner is not p:
            if self._owner is not None:
                raise ValueError(f"this {type(self).__name__} already holds state for another "
                                 "network; create a new optimizer (or call reset()) for this one")
            self._owner = p
        self.t += 1
        return self._update(p, g)

    def _buffer(self, name, like):
        buf = self.state.get(name)
        if buf is None:
            buf = self.state[name] = np.zeros_like(like)
        return buf

    def _scratch(self, name, like):
        """A work array, not part of the saved state."""
        buf = self._work.get(name)
        if buf is None or buf.shape != like.shape or buf.dtype != like.dtype:
            buf = self._work[name] = np.empty_like(like)
        return buf

    def _with_l2(self, p, g):
        """g + weight_decay·p (classic L2 through the gradient), without touching g."""
        if not self.weight_decay:
            return g
        out = np.multiply(p, self.weight_decay, out=self._scratch("g", g))
        out += g
        return out

    def _update(self, p, g):
        raise NotImplementedError

    def __getstate__(self):
        # the network this optimizer stepped is not part of its state: a pickled
        # optimizer may step the unpickled network (whose buffers are new arrays)
        return {**self.__dict__, "_owner": None, "_work": {}}

    def state_dict(self):
        """The optimizer's state: step count and moment arrays (copies)."""
        return {"t": self.t, **{k: v.copy() for k, v in self.state.items()}}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned."""
        self.t = int(state["t"])
        self.state = {k: np.array(v) for k, v in state.items() if k != "t"}
        self._owner = None

    def __repr__(self):
        keys = [k for k in vars(self) if not k.startswith("_") and k not in ("state", "t")
                and not (k == "schedule" and self.schedule is None)]
        return f"{type(self).__name__}({', '.join(f'{k}={getattr(self, k)!r}' for k in keys)})"


class SGD(Optimizer):
    r"""Stochastic gradient descent, with optional (Nesterov) momentum.

    ::

        g ← g + λ·p                      (weight_decay λ)
        v ← μ·v + g                      (momentum μ; v = g on the first step)
        g ← g + μ·v  if nesterov, else v
        p ← p − lr·g
    """

    def __init__(self, lr, momentum=0.0, nesterov=False, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.momentum = _check("momentum", momentum, ">= 0", lambda v: v >= 0)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0")
        self.nesterov = bool(nesterov)

    _returns_step = True

    def _update(self, p, g):
        g = self._with_l2(p, g)
        if self.momentum:
            v = self._buffer("momentum", p)
            v *= self.momentum          # v starts at 0, so the first step gives v = g
            v += g
            if self.nesterov:
                step = np.multiply(v, self.momentum, out=self._scratch("step", p))
                step += g
                g = step
            else:
                g = v
        return np.multiply(g, self.lr, out=self._scratch("step", p)), 1.0


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with L2 weight decay through the gradient.

    ::

        g ← g + λ·p
        m ← β₁·m + (1 − β₁)·g            first moment
        v ← β₂·v + (1 − β₂)·g²           second moment
        p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

    The first moment is stored scaled, ``M = m/(1 − β₁)``, so that its update
    needs no multiplication of g, ``M ← β₁·M + g``, and the factor (1 − β₁)
    moves into the step's scalar: eleven whole-array passes per step instead
    of twelve, the same update up to rounding. ``state_dict()`` holds it as
    ``"m_scaled"`` (and v as ``"v"``); a state with torch's ``"m"`` (exp_avg,
    as chainrule 0.1.0 checkpoints hold it) is converted on loading.
    (v is not scaled the same way: v/(1 − β₂) would overflow float32 for
    gradients above about 6e17, well before v itself does.)
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        b1, b2 = betas
        self.betas = (_check("betas[0]", b1, "in [0, 1)", lambda v: 0 <= v < 1),
                      _check("betas[1]", b2, "in [0, 1)", lambda v: 0 <= v < 1))
        self.eps = _check("eps", eps, ">= 0", lambda v: v >= 0)

    #: AdamW: decay the weights directly instead of adding λ·p to the gradient.
    decoupled = False
    _returns_step = True

    def _update(self, p, g):
        b1, b2 = self.betas
        keep = 1.0
        if not self.decoupled:
            g = self._with_l2(p, g)
        elif self.weight_decay:
            keep = 1.0 - self.lr * self.weight_decay   # AdamW: p·(1 − lr·λ) − Adam's step
        M, v = self._buffer("m_scaled", p), self._buffer("v", p)
        tmp = self._scratch("tmp", p)
        M *= b1                               # M = m/(1 − β₁):  M ← β₁M + g
        M += g
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - b2
        v *= b2
        v += tmp
        # lr/c₁ · m / (√v/√c₂ + ε) with m = (1 − β₁)M
        #   == (lr·(1 − β₁)·√c₂/c₁) · M / (√v + ε·√c₂), one division fewer
        c1, sqrt_c2 = 1.0 - b1 ** self.t, math.sqrt(1.0 - b2 ** self.t)
        np.sqrt(v, out=tmp)
        tmp += self.eps * sqrt_c2
        np.divide(M, tmp, out=tmp)
        tmp *= self.lr * (1.0 - b1) * sqrt_c2 / c1
        return tmp, keep


    def load_state_dict(self, state):
        state = dict(state)
        if "m" in state and "m_scaled" not in state:  # torch's exp_avg: an older checkpoint
            state["m_scaled"] = np.asarray(state.pop("m")) / (1.0 - self.betas[0])
        super().load_state_dict(state)

    load_state_dict.__doc__ = Optimizer.load_state_dict.__doc__


class AdamW(Adam):
    r"""Adam with decoupled weight decay (Loshchilov & Hutter, 2019).

    Before the Adam step, ``p ← p·(1 − lr·λ)``; the gradient is not touched.
    Default λ = 1e-2, as torch.optim.AdamW.
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=1e-2):
        super().__init__(lr, betas, eps, weight_decay)

    decoupled = True


class RMSprop(Optimizer):
    r"""RMSprop (Hinton, 2012), torch's form.

    ::

        g ← g + λ·p
        s ← α·s + (1 − α)·g²
        u ← g / (√s + ε)
        b ← μ·b + u;  p ← p − lr·b      with momentum μ > 0
        p ← p − lr·u                    otherwise
    """

    def __init__(self, lr=1e-2, alpha=0.99, eps=1e-8, momentum=0.0, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.alpha = _check("alpha", alpha, "in [0, 1)", lambda v: 0 <= v < 1)
        self.eps = _check("eps", eps, ">= 0", lambda v: v >= 0)
        self.momentum = _check("momentum", momentum, ">= 0", lambda v: v >= 0)

    _returns_step = True

    def _update(self, p, g):
        g = self._with_l2(p, g)
        s, tmp = self._buffer("square_avg", p), self._scratch("tmp", p)
        np.multiply(g, g, out=tmp)
        tmp *= 1.0 - self.alpha
        s *= self.alpha
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        if self.momentum:
            b = self._buffer("momentum", p)
            b *= self.momentum
            b += tmp
            np.multiply(b, self.lr, out=tmp)
        else:
            tmp *= self.lr
        return tmp, 1.0


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011): each coordinate's step shrinks with its gradient history.

    ::

        g ← g + λ·p
        s ← s + g²
        p ← p − lr · g / (√s + ε)
    """

    def __init__(self, lr=1e-2, eps=1e-10, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.eps = _check("eps", eps, ">= 0", lambda v: v >= 0)

    _returns_step = True

    def _update(self, p, g):
        g = self._with_l2(p, g)
        s, tmp = self._buffer("sum", p), self._scratch("tmp", p)
        np.multiply(g, g, out=tmp)
        s += tmp
        np.sqrt(s, out=tmp)
        tmp += self.eps
        np.divide(g, tmp, out=tmp)
        tmp *= self.lr
        return tmp, 1.0
