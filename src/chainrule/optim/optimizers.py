"""Optimizers: move the parameters against their gradients.

Each optimizer is built without parameters; ``opt.step(net)`` updates every
parameter of ``net`` from the gradients of its last backward pass. A network
keeps all its parameters in one flat array and all its gradients in another,
so an update rule is a handful of whole-array operations, whatever the number
of layers. Update rules and defaults are torch.optim's.

How they relate: SGD steps along −g; momentum averages past steps; RMSprop
and Adagrad divide each coordinate by a running size of its gradient; Adam
does both (momentum on g, RMSprop on g²) with bias correction for the zero
start; AdamW takes weight decay out of the gradient and applies it directly.

One protocol. An optimizer names its state arrays (``slots``) and writes its
rule once in NumPy (``_rule``); the compiled engine may run a fused twin of
that rule (``_kernel``, see chainrule.engine), with the same results to
rounding. Either way a step is *guarded*: it is kept only when the gradient
and the new weights are finite, and a rejected step leaves the weights, the
state arrays and the step count exactly as they were.
"""
from __future__ import annotations

import math

import numpy as np

from .. import engine
from ..nn.checks import number
from ..validation import check_trainable
from .clipping import squared_norm
from .schedules import Schedule


def finite_norm(a):
    """True when ‖a‖² is finite: no entry is NaN or infinite, and none so large that the
    sum of squares overflows (weights or a gradient that large are divergence all the same)."""
    return math.isfinite(squared_norm(a))


_FLOAT32 = np.dtype(np.float32)

#: Why ``try_step`` refused a step.
GRADIENT, WEIGHTS = "gradient", "weights"


class Optimizer:
    """Shared skeleton: validation, per-network state, the guarded step.

    A subclass gives

    * ``slots(self)``: the names of its state arrays, each shaped like the
      flat parameters (e.g. ``("m_scaled", "v")``);
    * ``_rule(self, p, g, S, new, out)``: the update in NumPy. It reads the
      parameters p, the gradient g and the state ``S[name]``; it writes the
      new state into ``new[name]`` and the new parameters into ``out``, and
      writes into nothing else (``self.t`` is already the number of this step);
    * optionally ``_kernel(self, S, dtype)``: ``(kernel name, arguments after
      p and g)`` of its compiled twin in chainrule.engine.kernels, or None.

    float16 parameters are updated in float32 (state in float32), so that
    eps = 1e-8 and g² do not underflow.
    """

    def __init__(self, lr, weight_decay=0.0):
        #: A learning-rate schedule given as ``lr`` (see schedules.py): fit steps it
        #: each epoch and sets ``self.lr``, which is always the current float rate.
        self.schedule = lr if isinstance(lr, Schedule) else None
        self.lr = number("lr", lr.lr if self.schedule else lr, greater_than=0)
        self.weight_decay = number("weight_decay", weight_decay, at_least=0)
        self.reset()

    def reset(self):
        """Forget all state (moments, step count)."""
        self.state = {}
        self.t = 0
        self._owner = None
        self._work = {}

    def slots(self):
        """Names of the state arrays this optimizer keeps (none by default)."""
        return ()

    def _rule(self, p, g, S, new, out):
        cls = type(self)
        old = cls.step is not Optimizer.step or hasattr(cls, "_update")
        raise NotImplementedError(
            f"{cls.__name__} must define _rule(p, g, S, new, out) (and slots() for its state)"
            + ("; its step() or _update() is no longer called: write the update as _rule, "
               "which every step uses, guarded (see help(chainrule.Optimizer))" if old else ""))

    def _kernel(self, S, dtype):
        return None

    # -- the step ------------------------------------------------------------

    def step(self, net):
        """Update ``net``'s parameters from its current gradients.

        Raises FloatingPointError, changing nothing, when the gradient or the
        new weights would not be finite (fit turns this into DivergenceError).
        """
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            refused = self.try_step(net)
        if refused is not None:
            raise FloatingPointError(
                "the gradient is not finite" if refused == GRADIENT else
                "the step would make the weights non-finite (lower the learning rate)")

    def try_step(self, net):
        """Take one step if it is finite; return None, or why it was refused.

        Returns None when the step was taken; ``"gradient"`` when ‖g‖² is not
        finite (an entry is NaN or infinite, or so large that the sum
        overflows); ``"weights"`` when the new weights' ‖p‖² would not be
        (then ``self.proposed`` holds them). A refused step changes nothing:
        weights, state arrays and ``t`` stay bitwise as they were.
        Overflow on the way is expected here: fit calls this inside
        ``np.errstate(over="ignore", invalid="ignore", divide="ignore")``.
        """
        p, g = self._arrays(net)
        self.t += 1                      # the rule reads the number of this step
        try:
            refused = self._run(p, g)
        except BaseException:
            self.t -= 1
            raise
        if refused is not None:
            self.t -= 1
        return refused

    def _run(self, p, g):
        compute = p.dtype if p.dtype.itemsize >= 4 else _FLOAT32
        slots = self.slots()
        S = {name: self._slot(name, p.size, compute) for name in slots} if slots else {}
        # below MIN_SIZE the engine is always NumPy: no lookup (it reads the environment)
        # for each step of a small network; fit checks CHAINRULE_ENGINE as it starts
        kernels = p.size >= engine.MIN_SIZE and engine.kernels_for(p.size, p.dtype)
        call = kernels and self._kernel(S, p.dtype)
        if call:                  # reads and sums; writes p and S in place only if finite
            kernel = getattr(kernels, call[0])
            gg, pp = kernel(p, g, *call[1], False)
            refused = (GRADIENT if not math.isfinite(gg) else
                       WEIGHTS if not math.isfinite(pp) else None)
            if refused is None:
                kernel(p, g, *call[1], True)
                self.state.update(S)
            elif refused == WEIGHTS:      # the refused weights, for the diagnosis only
                self.proposed = self._numpy(p, g, S, compute)[0]
            return refused
        if not finite_norm(g):
            return GRADIENT
        self.proposed, new = self._numpy(p, g, S, compute)
        if not finite_norm(self.proposed):
            return WEIGHTS
        np.copyto(p, self.proposed)
        for name in S:            # the new state becomes the state; the old one, spare room
            self.state[name], self._work["new_" + name] = new[name], S[name]
        return None

    def _numpy(self, p, g, S, compute):
        """``_rule`` into work arrays: (new weights in p's dtype, new state); p and S untouched.

        float16 runs the rule in float32 and rounds the result to float16.
        """
        new = {name: self._scratch("new_" + name, p.size, compute) for name in S} if S else S
        out = self._scratch("out", p.size, compute)
        if compute is p.dtype:
            self._rule(p, g, S, new, out)
            return out, new
        g32, p32 = self._scratch("g32", p.size, compute), self._scratch("p32", p.size, compute)
        np.copyto(g32, g)
        np.copyto(p32, p)
        self._rule(p32, g32, S, new, out)
        rounded = self._scratch("out16", p.size, p.dtype)
        np.copyto(rounded, out, casting="same_kind")
        return rounded, new

    def _arrays(self, net):
        """net's flat parameters and gradients, after checking they are this optimizer's."""
        if getattr(net, "_released", False):
            check_trainable(net)
        p, g = net.flat_params, net.flat_grads
        if self._owner is not p:
            if self._owner is not None:
                raise ValueError(f"this {type(self).__name__} already holds state for another "
                                 "network; create a new optimizer (or call reset()) for this one")
            self._owner = p
        return p, g

    def _slot(self, name, size, dtype):
        """The state array ``name`` (zeros at first), in the dtype the rule computes in.

        A new or converted array enters ``self.state`` only with a step that is kept.
        """
        buf = self.state.get(name)
        if buf is None:
            return np.zeros(size, dtype)
        if buf.shape != (size,) or buf.dtype != dtype:
            if buf.size != size:
                raise ValueError(f"the optimizer's state {name!r} holds {buf.size} values but the "
                                 f"network has {size} parameters: it was saved for another network")
            return np.asarray(buf, dtype).reshape(size).copy()
        return buf

    def _scratch(self, name, size, dtype):
        """A work array, not part of the saved state."""
        buf = self._work.get(name)
        if buf is None or buf.shape != (size,) or buf.dtype != dtype:
            buf = self._work[name] = np.empty(size, dtype)
        return buf

    def _with_l2(self, p, g):
        """g + weight_decay·p (classic L2 through the gradient), without touching g."""
        if not self.weight_decay:
            return g
        out = np.multiply(p, self.weight_decay, out=self._scratch("g", g.size, g.dtype))
        out += g
        return out

    def _scalars(self, dtype, *values):
        """Python numbers as scalars of ``dtype``: a float32 kernel then computes in float32."""
        return tuple(dtype.type(v) for v in values)

    def __getstate__(self):
        # the network this optimizer stepped is not part of its state: a pickled
        # optimizer may step the unpickled network (whose buffers are new arrays)
        state = {**self.__dict__, "_owner": None, "_work": {}}
        state.pop("proposed", None)
        return state

    def state_dict(self):
        """The optimizer's state: step count and state arrays (copies)."""
        return {"t": self.t, **{k: v.copy() for k, v in self.state.items()}}

    def load_state_dict(self, state):
        """Restore what ``state_dict`` returned."""
        self.t = int(state["t"])
        self.state = {k: np.array(v) for k, v in state.items() if k != "t"}
        self._owner = None

    def __repr__(self):
        keys = [k for k in vars(self) if not k.startswith("_")
                and k not in ("state", "t", "proposed")
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
        self.momentum = number("momentum", momentum, at_least=0)
        if nesterov and self.momentum == 0:
            raise ValueError("nesterov=True needs momentum > 0, got momentum=0")
        self.nesterov = bool(nesterov)

    def slots(self):
        return ("momentum",) if self.momentum else ()

    def _rule(self, p, g, S, new, out):
        g = self._with_l2(p, g)
        step = g
        if self.momentum:
            v = step = new["momentum"]
            np.multiply(S["momentum"], self.momentum, out=v)   # v starts at 0: first v = g
            v += g
            if self.nesterov:
                step = np.multiply(v, self.momentum, out=out)
                step += g
        np.multiply(step, -self.lr, out=out)
        out += p

    def _kernel(self, S, dtype):
        if not self.momentum:
            return "sgd", self._scalars(dtype, self.lr, self.weight_decay)
        return "sgd_momentum", (S["momentum"],
                                *self._scalars(dtype, self.lr, self.weight_decay, self.momentum),
                                self.nesterov)


class Adam(Optimizer):
    r"""Adam (Kingma & Ba, 2015), with L2 weight decay through the gradient.

    ::

        g ← g + λ·p
        m ← β₁·m + (1 − β₁)·g            first moment
        v ← β₂·v + (1 − β₂)·g²           second moment
        p ← p − lr/(1 − β₁ᵗ) · m / (√v / √(1 − β₂ᵗ) + ε)

    The first moment is stored scaled, ``M = m/(1 − β₁)``, so that its update
    needs no multiplication of g, ``M ← β₁·M + g``, and the factor (1 − β₁)
    moves into the step's scalar (one NumPy pass fewer, the same update up to
    rounding). ``state_dict()`` holds it as ``"m_scaled"`` (and v as ``"v"``);
    a state with torch's ``"m"`` (exp_avg, as chainrule 0.1.0 checkpoints
    hold it) is converted on loading. (v is not scaled the same way:
    v/(1 − β₂) would overflow float32 for gradients above about 6e17.)
    """

    def __init__(self, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            raise ValueError(f"betas must be a pair (beta1, beta2), got {betas!r}")
        b1, b2 = betas
        self.betas = (number("betas[0]", b1, at_least=0, less_than=1),
                      number("betas[1]", b2, at_least=0, less_than=1))
        self.eps = number("eps", eps, at_least=0)

    #: AdamW: decay the weights directly instead of adding λ·p to the gradient.
    decoupled = False

    def slots(self):
        return ("m_scaled", "v")

    def _constants(self):
        """(l2, keep, c, eps'): p ← keep·p − c·M/(√v + eps') with g' = g + l2·p.

        lr/c₁ · m / (√v/√c₂ + ε) with m = (1 − β₁)M
          == (lr·(1 − β₁)·√c₂/c₁) · M / (√v + ε·√c₂), one division fewer.
        AdamW: p·(1 − lr·λ) − Adam's step, and no λ·p in the gradient.
        """
        b1, b2 = self.betas
        c1, sqrt_c2 = 1.0 - b1 ** self.t, math.sqrt(1.0 - b2 ** self.t)
        l2, keep = (0.0, 1.0 - self.lr * self.weight_decay) if self.decoupled else \
            (self.weight_decay, 1.0)
        return l2, keep, self.lr * (1.0 - b1) * sqrt_c2 / c1, self.eps * sqrt_c2

    def _rule(self, p, g, S, new, out):
        b1, b2 = self.betas
        l2, keep, c, eps = self._constants()
        if l2:
            g = self._with_l2(p, g)
        M, v = new["m_scaled"], new["v"]
        np.multiply(S["m_scaled"], b1, out=M)       # M ← β₁M + g
        M += g
        np.multiply(g, g, out=v)                    # v ← β₂v + (1 − β₂)g²
        v *= 1.0 - b2
        np.multiply(S["v"], b2, out=out)
        v += out
        np.sqrt(v, out=out)                         # p ← keep·p − c·M/(√v + ε')
        out += eps
        np.divide(M, out, out=out)
        out *= -c
        if keep != 1.0:
            out += np.multiply(p, keep, out=self._scratch("kept", p.size, p.dtype))
        else:
            out += p

    def _kernel(self, S, dtype):
        b1, b2 = self.betas
        l2, keep, c, eps = self._constants()
        return "adam", (S["m_scaled"], S["v"],
                        *self._scalars(dtype, b1, 1.0 - b2, b2, l2, keep, c, eps))

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
        self.alpha = number("alpha", alpha, at_least=0, less_than=1)
        self.eps = number("eps", eps, at_least=0)
        self.momentum = number("momentum", momentum, at_least=0)

    def slots(self):
        return ("square_avg", "momentum") if self.momentum else ("square_avg",)

    def _rule(self, p, g, S, new, out):
        g = self._with_l2(p, g)
        s = new["square_avg"]
        np.multiply(g, g, out=s)                    # s ← αs + (1 − α)g²
        s *= 1.0 - self.alpha
        np.multiply(S["square_avg"], self.alpha, out=out)
        s += out
        np.sqrt(s, out=out)                         # u = g/(√s + ε)
        out += self.eps
        np.divide(g, out, out=out)
        if self.momentum:
            b = new["momentum"]                     # b ← μb + u
            np.multiply(S["momentum"], self.momentum, out=b)
            b += out
            np.multiply(b, -self.lr, out=out)
        else:
            out *= -self.lr
        out += p

    def _kernel(self, S, dtype):
        momentum = S["momentum"] if self.momentum else np.zeros(1, dtype)  # unused when μ = 0
        return "rmsprop", (S["square_avg"], momentum,
                           *self._scalars(dtype, self.lr, self.weight_decay, self.alpha,
                                          1.0 - self.alpha, self.eps, self.momentum))


class Adagrad(Optimizer):
    r"""Adagrad (Duchi et al., 2011): each coordinate's step shrinks with its gradient history.

    ::

        g ← g + λ·p
        s ← s + g²
        p ← p − lr · g / (√s + ε)
    """

    def __init__(self, lr=1e-2, eps=1e-10, weight_decay=0.0):
        super().__init__(lr, weight_decay)
        self.eps = number("eps", eps, at_least=0)

    def slots(self):
        return ("sum",)

    def _rule(self, p, g, S, new, out):
        g = self._with_l2(p, g)
        s = new["sum"]
        np.multiply(g, g, out=s)                    # s ← s + g²
        s += S["sum"]
        np.sqrt(s, out=out)                         # p ← p − lr·g/(√s + ε)
        out += self.eps
        np.divide(g, out, out=out)
        out *= -self.lr
        out += p

    def _kernel(self, S, dtype):
        return "adagrad", (S["sum"], *self._scalars(dtype, self.lr, self.weight_decay, self.eps))
