"""Where a chainrule epoch's time goes: ``python benchmarks/profile_epoch.py [N]``.

Wraps, on one network's instances only, each layer's ``forward`` and
``backward``, the loss's fused ``forward_logits``/``backward_logits``, the
optimizer's ``try_step`` (the update and its finite checks, on either engine),
the batch gather and the input checks with a timer (on the compiled engine,
where fit runs its plan of the step, the plan's call and its fused kernels
instead of the layers), runs epochs of ``fit``,
and reports each part's median total next to the GEMM floor for the same
shapes. "Dense, beyond its products" is the Dense layers' time (or the
plan's, less its kernels) minus the floor: bias adds, bias-gradient sums,
call overhead. "rest of the loop" is
what no wrapped part covers: the loss's finite check, callbacks,
bookkeeping, Python. The wrappers
cost well under 1 µs a call.
"""
from __future__ import annotations

import collections
import os
import statistics
import sys
import time

if __package__ in (None, ""):
    _root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path[:0] = [os.path.join(_root, "src"), _root]

from benchmarks import contenders as C
from benchmarks.common import fmt_time, table
from benchmarks.epoch import SIZES
from benchmarks.reference import GemmFloor


def _timed(fn, acc, label):
    def wrapper(*args, **kwargs):
        start = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            acc[label] += time.perf_counter() - start
    return wrapper


def breakdown(n=30_000, rounds=3, sizes=SIZES, batch_size=128, seed=0):
    """Median seconds per epoch of each part of chainrule's fit, and of the GEMM floor."""
    import chainrule as cr
    from chainrule import training
    X, y = C.synthetic(n, sizes[0], sizes[-1], seed=seed)
    train = C.chainrule_trainer(X, y, sizes, batch_size, seed)
    net, floor = train.net, GemmFloor(sizes, seed=seed)
    acc = collections.defaultdict(float)
    for _i, layer in enumerate(net.layers):
        kind = "Dense" if isinstance(layer, cr.Dense) else type(layer).__name__
        for method in ("forward", "backward"):
            object.__setattr__(layer, method, _timed(getattr(layer, method), acc,
                                                      f"{kind} {method}"))
    saved = training.Batches.gather, training.prepare_data, cr.CrossEntropy.forward_logits, \
        cr.CrossEntropy.backward_logits, cr.Adam.try_step
    training.Batches.gather = _timed(training.Batches.gather, acc, "batch gather (np.take)")
    training.prepare_data = _timed(training.prepare_data, acc, "input checks (check_X, prepare)")
    cr.CrossEntropy.forward_logits = _timed(saved[2], acc, "softmax+CE forward_logits")
    cr.CrossEntropy.backward_logits = _timed(saved[3], acc, "softmax+CE backward_logits")
    cr.Adam.try_step = _timed(saved[4], acc, "Adam step")
    # on the compiled engine fit runs its plan (chainrule/network/fused.py), not the layers'
    # methods: time the plan's call and its kernels instead
    from chainrule.network import fused
    kernels = cr.engine.compiled()          # loaded now (None on the NumPy engine)
    saved_plan = fused.StepPlan.__call__
    fused.StepPlan.__call__ = _timed(saved_plan, acc, "planned step")
    saved_kernels = {}
    if kernels:
        for name, label in (("bias_activation", "fused epilogues (bias + activation)"),
                            ("activation_backward", "fused epilogues (dA ⊙ g', db)"),
                            ("softmax_cross_entropy", "softmax+CE kernel")):
            saved_kernels[name] = getattr(kernels, name)
            setattr(kernels, name, _timed(saved_kernels[name], acc, label))
    parts, totals, floors = collections.defaultdict(list), [], []
    try:
        train()                                   # warm-up
        for _ in range(rounds):
            acc.clear()
            start = time.perf_counter()
            train()
            totals.append(time.perf_counter() - start)
            for label, t in acc.items():
                parts[label].append(t)
            start = time.perf_counter()
            floor.epoch(X, batch_size)
            floors.append(time.perf_counter() - start)
    finally:
        (training.Batches.gather, training.prepare_data, cr.CrossEntropy.forward_logits,
         cr.CrossEntropy.backward_logits, cr.Adam.try_step) = saved
        fused.StepPlan.__call__ = saved_plan
        for name, kernel in saved_kernels.items():
            setattr(kernels, name, kernel)
    med = {label: statistics.median(v) for label, v in parts.items()}
    total, gemm = statistics.median(totals), statistics.median(floors)
    dense = med.pop("Dense forward", 0.0) + med.pop("Dense backward", 0.0)
    if "planned step" in med:     # the plan's time, less its kernels and the other layers'
        dense += med.pop("planned step") - sum(t for label, t in med.items()
                                               if label.startswith(("fused", "softmax+CE", "ReLU",
                                                                    "Softmax")))
    med["Dense, beyond its products"] = dense - gemm
    med["rest of the loop"] = total - gemm - sum(med.values())
    return {"n": n, "batches": -(-n // batch_size), "epoch": total, "gemm_floor": gemm,
            "parts": dict(sorted(med.items(), key=lambda kv: -kv[1]))}


def format(result):
    def per_batch(t):
        return f"{t / result['batches'] * 1e6:.0f} µs"
    def share(t):
        return f"{100 * t / result['epoch']:.0f}%"
    rows = [("matrix products (GEMM floor, timed apart)", fmt_time(result["gemm_floor"]),
             per_batch(result["gemm_floor"]), share(result["gemm_floor"]))]
    rows += [(label, fmt_time(t), per_batch(t), share(t)) for label, t in result["parts"].items()]
    rows.append(("epoch", fmt_time(result["epoch"]), per_batch(result["epoch"]), "100%"))
    return "\n".join([f"Where chainrule's epoch goes: N = {result['n']:,}, "
                      f"{result['batches']} batches (medians; noisy on a shared machine)",
                      table(("part", "per epoch", "per batch", "share"), rows)])


if __name__ == "__main__":
    print(format(breakdown(int(sys.argv[1]) if len(sys.argv) > 1 else 30_000)))
