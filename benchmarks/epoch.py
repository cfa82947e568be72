"""1. One epoch of a 784-256-128-10 ReLU MLP (softmax + CE, Adam, batch 128, float32).

Contenders, timed interleaved in one process: chainrule on its compiled
engine and on its NumPy engine, PyTorch CPU, scikit-learn's MLPClassifier,
the hand-written NumPy loop, and the GEMM floor (the matrix products alone).
All of them run with the same thread count: BLAS's (threadpoolctl) and
PyTorch's (``torch.set_num_threads``).
"""
from __future__ import annotations

import numpy as np

from . import contenders as C
from .common import fmt_ratio, fmt_time, interleaved, paired_ratio, table
from .reference import GemmFloor, NumpyMLP

SIZES = [784, 256, 128, 10]


def run(n=60_000, rounds=5, sizes=SIZES, batch_size=128, seed=0, sklearn=True, torch=True,
        threads=None):
    """Median epoch time of every contender; returns {"seconds", "ratios", "settings", "times"}.

    ``threads``: BLAS's and PyTorch's thread count for this run (None: as they are).
    "chainrule" is the compiled engine (absent without numba), "chainrule-numpy"
    the NumPy engine.
    """
    X, y = C.synthetic(n, sizes[0], sizes[-1], seed=seed)
    ref = NumpyMLP(sizes, seed=seed)
    ref_rng = np.random.default_rng(seed)
    floor = GemmFloor(sizes, seed=seed)
    fns = {}
    if C.compiled_engine_available():
        fns["chainrule"] = C.chainrule_trainer(X, y, sizes, batch_size, seed, engine="compiled")
    fns["chainrule-numpy"] = C.chainrule_trainer(X, y, sizes, batch_size, seed, engine="numpy")
    if torch:
        fns["torch"] = C.torch_trainer(X, y, sizes, batch_size, seed)
    if sklearn:
        fns["sklearn"] = C.sklearn_trainer(X, y, sizes, batch_size, seed)
    fns["numpy"] = lambda: ref.epoch(X, y, batch_size, ref_rng)
    fns["floor"] = lambda: floor.epoch(X, batch_size)
    with C.thread_limit(threads) as used:
        timed = interleaved(fns, rounds)
    s = {name: t["median"] for name, t in timed.items()}
    times = {name: t["times"] for name, t in timed.items()}
    pairs = ["chainrule/torch", "chainrule/floor", "sklearn/chainrule", "chainrule/numpy",
             "chainrule-numpy/torch", "chainrule-numpy/floor", "chainrule-numpy/numpy",
             "chainrule/chainrule-numpy", "numpy/floor", "torch/numpy"]
    ratios = {p: paired_ratio(times, *p.split("/")) for p in pairs}
    return {"settings": {"n": n, "sizes": sizes, "batch_size": batch_size, "rounds": rounds,
                         "dtype": "float32", "threads": used},
            "seconds": s, "times": times, "ratios": {k: v for k, v in ratios.items() if v},
            "x_floor": {name: paired_ratio(times, name, "floor") for name in times}}


def format(result):
    s, st = result["seconds"], result["settings"]
    rows = [(name, fmt_time(t), fmt_ratio(result["x_floor"][name]), f"{st['n'] / t:,.0f}")
            for name, t in sorted(s.items(), key=lambda kv: kv[1])]
    head = (f"1. MLP epoch: {'-'.join(map(str, st['sizes']))} ReLU, softmax+CE, Adam, "
            f"batch {st['batch_size']}, float32, N = {st['n']:,}, {st['threads']} threads; "
            f"median of {st['rounds']} interleaved rounds (ratios: median of the ratios within "
            "each round; chainrule = its compiled engine, chainrule-numpy = its NumPy engine)")
    ratios = "  ".join(f"{k} {fmt_ratio(v)}" for k, v in result["ratios"].items())
    return "\n".join([head, table(("contender", "epoch", "x floor", "rows/s"), rows), ratios])
