"""5. How epoch time grows with N and with width; and whether the first batches are slow.

* Epoch time against N (784-256-128-10), chainrule and PyTorch interleaved.
  Linear in N means a log-log slope of 1 (fitted over the N ≥ 3 000 points,
  where fixed per-call costs no longer dominate).
* Epoch time against width w (784-w-w/2-10, fixed N), same contenders.
* Warm-up: a fresh network's first batches timed one by one with a callback
  (time between consecutive ``on_batch_end`` calls; the first is measured
  from ``on_epoch_begin``), compared with the median of the later, steady ones.
"""
from __future__ import annotations

import statistics
import time

import numpy as np

from . import contenders as C
from .common import fmt_ratio, fmt_time, interleaved, table
from .epoch import SIZES


def epoch_vs_n(ns, rounds=3, sizes=SIZES, batch_size=128, seed=0, torch=True):
    X, y = C.synthetic(max(ns), sizes[0], sizes[-1], seed=seed)
    out = {"chainrule": [], "torch": []} if torch else {"chainrule": []}
    for n in ns:
        fns = {"chainrule": C.chainrule_trainer(X[:n], y[:n], sizes, batch_size, seed)}
        if torch:
            fns["torch"] = C.torch_trainer(X[:n], y[:n], sizes, batch_size, seed)
        for name, t in interleaved(fns, rounds).items():
            out[name].append(t["median"])
    return out


def epoch_vs_width(widths, n=10_000, rounds=3, batch_size=128, seed=0, torch=True):
    X, y = C.synthetic(n, 784, 10, seed=seed)
    out = {"chainrule": [], "torch": []} if torch else {"chainrule": []}
    for w in widths:
        sizes = [784, w, max(1, w // 2), 10]
        fns = {"chainrule": C.chainrule_trainer(X, y, sizes, batch_size, seed)}
        if torch:
            fns["torch"] = C.torch_trainer(X, y, sizes, batch_size, seed)
        for name, t in interleaved(fns, rounds).items():
            out[name].append(t["median"])
    return out


def loglog_slope(ns, seconds, min_n=3_000):
    """Least-squares slope of log(seconds) against log(N), over the points with N ≥ min_n."""
    pts = [(np.log(n), np.log(s)) for n, s in zip(ns, seconds) if n >= min_n]
    if len(pts) < 2:
        pts = [(np.log(n), np.log(s)) for n, s in zip(ns, seconds)]
    if len(pts) < 2:
        return None
    x, yv = np.array(pts).T
    return float(np.polyfit(x, yv, 1)[0])


def warmup(n=10_000, first=5, repeats=3, sizes=SIZES, batch_size=128, seed=0):
    """Max over the first ``first`` batches of a fresh net / median steady batch, per repeat."""
    import chainrule as cr

    class BatchClock(cr.Callback):
        def on_epoch_begin(self, epoch, logs):
            self.stamps = [time.perf_counter()]

        def on_batch_end(self, batch, logs):
            self.stamps.append(time.perf_counter())

    X, y = C.synthetic(n, sizes[0], sizes[-1], seed=seed)
    ratios, firsts, steadies = [], [], []
    for r in range(repeats):
        clock = BatchClock()
        C.chainrule_trainer(X, y, sizes, batch_size, seed + r)(callbacks=[clock])
        durations = np.diff(clock.stamps)
        steady = statistics.median(durations[max(first, 10):-1])  # the last batch may be short
        firsts.append([float(d) for d in durations[:first]])
        steadies.append(float(steady))
        ratios.append(float(max(durations[:first]) / steady))
    return {"ratio": statistics.median(ratios), "ratios": ratios, "first": firsts,
            "steady": steadies, "batches": int(np.ceil(n / batch_size))}


def run(ns=(1_000, 3_000, 10_000, 30_000, 100_000), widths=(64, 128, 256, 512, 1024),
        width_n=10_000, rounds=3, warmup_n=10_000, torch=True, plot=None):
    ns, widths = list(ns), list(widths)
    by_n = epoch_vs_n(ns, rounds, torch=torch)
    by_w = epoch_vs_width(widths, width_n, rounds, torch=torch)
    result = {"settings": {"ns": ns, "widths": widths, "width_n": width_n, "rounds": rounds},
              "by_n": by_n, "by_width": by_w,
              "slope": {name: loglog_slope(ns, s) for name, s in by_n.items()},
              "warmup": warmup(warmup_n)}
    if plot:
        result["plot"] = save_plot(result, plot)
    return result


def save_plot(result, path):
    """Two log-log panels, epoch time against N and against width; returns the path or None."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return None
    st = result["settings"]
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    for name, style in (("chainrule", "o-"), ("torch", "s--")):
        if name in result["by_n"]:
            ax1.plot(st["ns"], result["by_n"][name], style, label=name)
            ax2.plot(st["widths"], result["by_width"][name], style, label=name)
    ns = np.array(st["ns"], float)
    base = result["by_n"]["chainrule"][-1]
    ax1.plot(ns, base * ns / ns[-1], ":", color="grey", label="linear in N")
    ax1.set(xscale="log", yscale="log", xlabel="N (rows)", ylabel="epoch time (s)",
            title="784-256-128-10, batch 128")
    ax2.set(xscale="log", yscale="log", xlabel="width w", ylabel="epoch time (s)",
            title=f"784-w-w/2-10, N = {st['width_n']:,}")
    ax2.set_xticks(st["widths"], [str(w) for w in st["widths"]])
    for ax in (ax1, ax2):
        ax.grid(True, which="both", alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return str(path)


def format(result):
    st = result["settings"]
    names = list(result["by_n"])
    def rel(d, i):
        return fmt_ratio(d["chainrule"][i] / d["torch"][i]) if "torch" in d else "-"
    rows_n = [(f"{n:,}", *(fmt_time(result["by_n"][k][i]) for k in names),
               f"{result['by_n']['chainrule'][i] / n * 1e6:.2f} µs", rel(result["by_n"], i))
              for i, n in enumerate(st["ns"])]
    rows_w = [(str(w), *(fmt_time(result["by_width"][k][i]) for k in names),
               rel(result["by_width"], i)) for i, w in enumerate(st["widths"])]
    slope = "  ".join(f"{k} {v:.3f}" for k, v in result["slope"].items() if v is not None)
    w = result["warmup"]
    first = ", ".join(fmt_time(t) for t in w["first"][0])
    lines = [
        "5. Scaling: epoch time against N (784-256-128-10) and against width (784-w-w/2-10, "
        f"N = {st['width_n']:,}), median of {st['rounds']} rounds",
        table(("N", *names, "chainrule per row", "chainrule/torch"), rows_n),
        f"log-log slope of epoch time against N (N >= 3,000; 1 = linear): {slope}",
        table(("width", *names, "chainrule/torch"), rows_w),
        f"warm-up: first batches of a fresh net {first}; steady {fmt_time(w['steady'][0])}; "
        f"slowest of the first 5 / steady = {fmt_ratio(w['ratio'])} (median of "
        f"{len(w['ratios'])} fresh nets)"]
    if result.get("plot"):
        lines.append(f"plot: {result['plot']}")
    return "\n".join(lines)
