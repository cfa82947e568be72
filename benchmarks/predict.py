"""3. Predict with a trained 784-256-128-10 net: 10 000-row throughput, single-row latency.

All return class probabilities from a NumPy array, as a user calls them:
chainrule ``net.predict(X)`` (its last layer is the Softmax), scikit-learn
``predict_proba(X)``, and PyTorch ``softmax(model(torch.from_numpy(X)))``
under ``torch.inference_mode()``, converted back with ``.numpy()``. The
yardstick "numpy" is the same forward pass written by hand with chainrule's
weights (``reference.numpy_predict``): the arithmetic alone, nothing checked.

"owner" is what one call costs the network's owner (``chainrule.modes``), which
every predict holds so that calls from several threads take turns: finding the
owner, taking it and giving it back, uncontended, as ``Sequential.predict``
does; timed in the same rounds as the one-row predicts, and reported as its
share of chainrule's one-row call.

"chainrule-f64sums" is chainrule's float32 network asked for float64 sums
(``net.predict(X, dtype=np.float64)``, what the float32 estimators do for
float64 X, so that a row predicts the same alone or among others): its ratio
to "chainrule" is the price of that.
"""
from __future__ import annotations

import time

from . import common
from . import contenders as C
from .common import fmt_ratio, fmt_time, paired_ratio, per_call, table
from .epoch import SIZES
from .reference import numpy_predict


def _hold_once(net):
    """What predict adds to hold ``net`` for one call, uncontended (imported here, not at the
    top: run.py imports this module before it has set up the path and BLAS's environment)."""
    from chainrule.modes import owner_of

    def hold():
        owner = owner_of(net)
        owner.enter("predict")
        owner.exit()
    return hold


def run(rows=10_000, rounds=5, calls=200, blocks=15, sizes=SIZES, seed=0, sklearn=True,
        torch=True):
    """Median seconds per batch predict of ``rows`` rows and per single-row predict."""
    X, y = C.synthetic(max(rows, 2048), sizes[0], sizes[-1], seed=seed)
    Xb, X1 = X[:rows], X[:1].copy()
    train = X[:2048], y[:2048]
    net = C.chainrule_mlp(sizes, seed=seed)
    fns = {"chainrule": net.predict, "chainrule-f64sums": lambda A: net.predict(A, dtype="float64"),
           "numpy": numpy_predict(C.chainrule_params(net))}
    if torch:
        import torch as T
        model = C.torch_mlp(sizes, seed).eval()

        def torch_predict(A):
            with T.inference_mode():
                return T.softmax(model(T.from_numpy(A)), dim=1).numpy()
        fns["torch"] = torch_predict
    if sklearn:
        fns["sklearn"] = C.fitted_sklearn(*train, sizes, seed=seed).predict_proba
    batch, single, owner = {}, {}, []
    hold = _hold_once(net)
    # interleave by rounds: each round measures every contender once, both ways
    for fn in fns.values():
        fn(Xb)
    for _ in range(rounds):
        for name, fn in fns.items():
            time.sleep(common.PAUSE)     # let the previous contender's threads go idle
            batch.setdefault(name, []).append(per_call(lambda: fn(Xb), 1, 1))
            time.sleep(common.PAUSE)     # and the threads of the large product just run
            single.setdefault(name, []).append(per_call(lambda: fn(X1), calls, max(1, blocks // rounds)))
        owner.append(per_call(hold, calls, max(1, blocks // rounds)))
    def med(t):
        return sorted(t)[len(t) // 2]
    batch_s = {k: med(v) for k, v in batch.items()}
    single_s = {k: med(v) for k, v in single.items()}
    # ratios within each round (see common.paired_ratio)
    ratios = {"throughput chainrule/torch": paired_ratio(batch, "torch", "chainrule"),
              "throughput chainrule/sklearn": paired_ratio(batch, "sklearn", "chainrule"),
              "latency chainrule/torch": paired_ratio(single, "chainrule", "torch"),
              "latency chainrule/sklearn": paired_ratio(single, "chainrule", "sklearn"),
              "latency chainrule/numpy": paired_ratio(single, "chainrule", "numpy"),
              "owner/latency chainrule": paired_ratio({"owner": owner, **single}, "owner",
                                                       "chainrule"),
              "throughput cost of float64 sums": paired_ratio(batch, "chainrule-f64sums", "chainrule"),
              "latency cost of float64 sums": paired_ratio(single, "chainrule-f64sums", "chainrule")}
    return {"settings": {"rows": rows, "rounds": rounds, "calls": calls, "sizes": sizes},
            "batch_seconds": batch_s, "single_seconds": single_s, "ratios": ratios,
            "owner_seconds": med(owner),
            "rows_per_second": {k: rows / v for k, v in batch_s.items()}}


def format(result):
    st, b, s = result["settings"], result["batch_seconds"], result["single_seconds"]
    rows = [(name, fmt_time(b[name]), f"{result['rows_per_second'][name]:,.0f}",
             fmt_time(s[name])) for name in sorted(b, key=b.get)]
    head = (f"3. Predict, {'-'.join(map(str, st['sizes']))}: {st['rows']:,} rows per call, "
            f"and 1 row (mean of {st['calls']} calls, median over blocks)")
    ratios = "  ".join(f"{k} {fmt_ratio(v)}" for k, v in result["ratios"].items()
                       if not k.startswith("owner"))
    share = result["ratios"]["owner/latency chainrule"]
    owner = (f"the network's owner (taken and given back, uncontended): "
             f"{fmt_time(result['owner_seconds'])} a call, {share:.1%} of chainrule's one-row predict")
    return "\n".join([head, table(("contender", f"{st['rows']:,} rows", "rows/s", "1 row"), rows),
                      ratios + "   (throughput ratios > 1: chainrule faster; latency < 1: faster)",
                      owner])
