"""Where one XOR step goes: ``python benchmarks/profile_xor.py``.

The 2-4-1 sigmoid network of ``xor.py`` (BCE on the logits, SGD lr 0.1,
full batch of four rows) is below the compiled engine's size, so every part
is NumPy: the time is the count of NumPy calls and Python frames, not
arithmetic. Each part of chainrule's step is timed alone (best of several
``timeit`` repeats, on the same arrays, inside ``net.fitting()`` as fit runs
them), next to the whole hand-written step of ``reference.xor_numpy`` and to
chainrule's whole fit step (``fit(epochs=N)``, per epoch; the fastest of
interleaved rounds of the two). What the parts do
not add up to is the walk between them: the network's loops over its layers,
the holds (``network.modes``) and fit's bookkeeping per epoch.
"""
from __future__ import annotations

import os
import sys
import time
import timeit

if __package__ in (None, ""):
    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [os.path.join(_root, "src"), _root]

from benchmarks.common import table
from benchmarks.reference import xor_data, xor_numpy


def _best(fn, number, repeat):
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number


def breakdown(number=20_000, repeat=7, steps=10_000, rounds=3):
    """Seconds of each part of one XOR step, of chainrule's whole step and of the hand loop's."""
    import numpy as np

    import chainrule as cr
    from chainrule.train.divergence import guarded_step
    X, Y = xor_data()
    net = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", seed=0)
    params = [value.copy() for _, value, _ in net.parameters()]
    loss, opt = cr.BinaryCrossEntropy(), cr.SGD(lr=0.1)
    d1, s1, d2, _ = net.layers
    parts = {}
    with net.fitting("profile_xor"), np.errstate(all="ignore"):
        Z1 = d1.forward(X)
        A1 = s1.forward(Z1)
        Z2 = d2.forward(A1)
        loss.forward_logits(Z2, Y)
        dZ2 = loss.backward_logits()
        dA1 = d2.backward(dZ2)
        dZ1 = s1.backward(dA1)
        timed = [("Dense 1 forward: Z1 = X·W1 + b1", lambda: d1.forward(X)),
                 ("Sigmoid forward: A1 = σ(Z1)", lambda: s1.forward(Z1)),
                 ("Dense 2 forward: Z2 = A1·W2 + b2", lambda: d2.forward(A1)),
                 ("BCE on the logits: the loss and σ(Z2)", lambda: loss.forward_logits(Z2, Y)),
                 ("BCE backward: dZ2 = (σ(Z2) − Y)/m", loss.backward_logits),
                 ("Dense 2 backward: dW2, db2, dA1", lambda: d2.backward(dZ2)),
                 ("Sigmoid backward: dZ1 = dA1 ⊙ A1(1 − A1)", lambda: s1.backward(dA1)),
                 ("Dense 1 backward: dW1, db1", lambda: d1.backward(dZ1, need_dX=False)),
                 ("the guarded update (two ‖·‖² checks, SGD)",
                  lambda: guarded_step(net, opt, 0.5))]
        for label, fn in timed:
            parts[label] = _best(fn, number, repeat)
        parts["forward_backward, whole"] = _best(lambda: net.forward_backward(X, Y, loss),
                                                 number, repeat)
    fits, hands = [], []
    for _ in range(rounds):          # interleaved; the fastest of each, as for the parts
        start = time.perf_counter()
        net.copy().fit(X, Y, loss=loss, optimizer=cr.SGD(lr=0.1), epochs=steps,
                       batch_size=None, verbose=0)
        fits.append((time.perf_counter() - start) / steps)
        start = time.perf_counter()
        xor_numpy(params, steps)
        hands.append((time.perf_counter() - start) / steps)
    return {"parts": parts, "fit_step": min(fits), "hand_step": min(hands)}


def format(result):
    def us(t):
        return f"{t * 1e6:.2f} µs"
    parts = dict(result["parts"])
    whole = parts.pop("forward_backward, whole")
    update = parts["the guarded update (two ‖·‖² checks, SGD)"]
    layers = sum(t for label, t in parts.items() if not label.startswith("the guarded"))
    rows = [(label, us(t)) for label, t in parts.items()]
    rows += [("the layers and the loss, summed", us(layers)),
             ("forward_backward, whole (the walk: + its loops and hold)", us(whole)),
             ("fit, per step (+ the update, the epoch's bookkeeping)", us(result["fit_step"])),
             ("hand-written loop, per step (reference.xor_numpy)", us(result["hand_step"]))]
    ratio = result["fit_step"] / result["hand_step"]
    tail = (f"fit / hand-written: {ratio:.2f}x; beyond the layers and the update: "
            f"{us(result['fit_step'] - layers - update)} a step")
    return "\n".join(["Where one XOR step goes (2-4-1, sigmoid, BCE, SGD; best of repeats)",
                      table(("part", "time"), rows), tail])


if __name__ == "__main__":
    print(format(breakdown()))
