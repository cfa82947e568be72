"""2. The 2-4-1 XOR network: sigmoid, BCE, SGD lr 0.1, full-batch steps.

With four rows the arithmetic is nothing; what is measured is the Python and
NumPy-call overhead of one training step. All three start from the same
weights (chainrule's), so they do the same computation.
"""
from __future__ import annotations

import numpy as np

from .common import fmt_ratio, fmt_time, interleaved, paired_ratio, table
from .reference import xor_data, xor_numpy


def chainrule_xor(steps, seed=0):
    """``fn()`` trains a fresh copy of the same 2-4-1 net for ``steps`` full-batch steps."""
    import chainrule as cr
    start = cr.mlp([2, 4, 1], hidden="sigmoid", output="sigmoid", seed=seed)
    X, Y = xor_data()

    def fn():
        net = start.copy()
        history = net.fit(X, Y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1),
                          epochs=steps, batch_size=None, verbose=0)
        return history["loss"]
    fn.params = [value.copy() for _, value, _ in start.parameters()]
    return fn


def torch_xor(params, steps):
    """``fn()`` runs the standard PyTorch loop (BCEWithLogitsLoss, SGD) from ``params``."""
    import torch
    from torch import nn
    W1, b1, W2, b2 = (torch.from_numpy(np.ascontiguousarray(p)) for p in params)
    X, Y = (torch.from_numpy(a) for a in xor_data())

    def fn():
        model = nn.Sequential(nn.Linear(2, 4), nn.Sigmoid(), nn.Linear(4, 1))
        with torch.no_grad():        # torch stores W as (out, in)
            model[0].weight.copy_(W1.T), model[0].bias.copy_(b1)
            model[2].weight.copy_(W2.T), model[2].bias.copy_(b2)
        criterion = nn.BCEWithLogitsLoss()
        optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
        losses = []
        for _ in range(steps):
            optimizer.zero_grad(set_to_none=True)
            loss = criterion(model(X), Y)
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        return losses
    return fn


def run(steps=10_000, rounds=3, seed=0, torch=True):
    ours = chainrule_xor(steps, seed)
    fns = {"chainrule": ours, "numpy": lambda: xor_numpy(ours.params, steps)}
    if torch:
        fns["torch"] = torch_xor(ours.params, steps)
    final = {name: fn()[-1] for name, fn in fns.items()}    # doubles as the warm-up
    timed = interleaved(fns, rounds, warmup=False)
    s = {name: t["median"] for name, t in timed.items()}
    times = {k: t["times"] for k, t in timed.items()}
    ratios = {p: paired_ratio(times, *p.split("/"))
              for p in ("chainrule/numpy", "torch/chainrule", "torch/numpy")}
    return {"settings": {"steps": steps, "rounds": rounds, "dtype": "float32"},
            "seconds": s, "times": times, "final_loss": final, "ratios": ratios,
            "x_numpy": {name: paired_ratio(times, name, "numpy") for name in times}}


def format(result):
    s, st = result["seconds"], result["settings"]
    rows = [(name, fmt_time(t), f"{t / st['steps'] * 1e6:.1f} µs",
             fmt_ratio(result["x_numpy"][name]), f"{result['final_loss'][name]:.4f}")
            for name, t in sorted(s.items(), key=lambda kv: kv[1])]
    head = (f"2. XOR 2-4-1 sigmoid, BCE, SGD lr 0.1: {st['steps']:,} full-batch steps, "
            f"median of {st['rounds']} rounds")
    ratios = "  ".join(f"{k} {fmt_ratio(v)}" for k, v in result["ratios"].items())
    return "\n".join([head, table(("contender", "total", "per step", "x numpy", "final loss"),
                                  rows), ratios])
