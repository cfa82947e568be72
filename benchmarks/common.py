"""Timing and environment helpers shared by every benchmark.

The machine a benchmark runs on is usually shared and noisy, so contenders are
never timed one after the other in blocks: each round times every contender
once (A B C, A B C, ...), and the median over rounds is reported. A slow
moment then hurts every contender of that round alike instead of one of them,
and ratios are taken within rounds (``paired_ratio``).
"""
from __future__ import annotations

import os
import platform
import statistics
import time

#: Seconds to sleep before each timed call; see ``interleaved``.
PAUSE = 0.25


def interleaved(contenders, rounds, warmup=True, pause=None):
    """Time each ``fn()`` of ``contenders`` (name -> fn) once per round, interleaved.

    Every contender is called once first, untimed, when ``warmup`` (first-call
    costs: imports, thread pools, buffer allocation, lazy initialisation).
    Before each timed call the process sleeps ``pause`` seconds (default
    ``PAUSE``): OpenBLAS's and PyTorch's OpenMP worker threads busy-wait for a
    while after their last task, and on a 2-core machine the spinning threads
    of the previous contender would otherwise steal a core from the next one
    (measured here: a PyTorch epoch took 0.13-0.18 s right after a chainrule
    epoch, 0.075 s after another PyTorch epoch).
    Returns name -> {"median": s, "min": s, "times": [s, ...]}.
    """
    pause = PAUSE if pause is None else pause
    if warmup:
        for fn in contenders.values():
            fn()
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, fn in contenders.items():
            if pause:
                time.sleep(pause)
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: {"median": statistics.median(t), "min": min(t), "times": t}
            for name, t in times.items()}


def paired_ratio(times, a, b):
    """Median over rounds of ``times[a][i] / times[b][i]``; None if either is missing.

    Slow phases of a shared machine last longer than one round, so the two
    medians of a and b may come from different phases; the ratio within each
    round compares contenders timed moments apart, and is far steadier.
    """
    if a not in times or b not in times:
        return None
    return statistics.median(x / y for x, y in zip(times[a], times[b]))


def per_call(fn, calls, blocks):
    """Median over ``blocks`` of the mean time of ``calls`` back-to-back calls of ``fn()``.

    Timing blocks rather than single calls keeps the clock's own overhead
    (~0.1 µs) out of microsecond-scale latencies; the median of the blocks
    drops the blocks another process interrupted.
    """
    fn()
    means = []
    for _ in range(blocks):
        if PAUSE:
            time.sleep(PAUSE / 5)
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        means.append((time.perf_counter() - start) / calls)
    return statistics.median(means)


def ratio(a, b):
    """a / b, or None when either is missing or b is 0."""
    if a is None or b is None or b == 0:
        return None
    return a / b


def blas_info():
    """What NumPy's matrix products run on: threadpoolctl's view of the BLAS it loaded.

    Call after importing NumPy (threadpoolctl only reports libraries already loaded).
    """
    import numpy as np
    info = {"numpy": np.__version__, "blas": []}
    try:
        import threadpoolctl
    except ImportError:
        info["blas"] = "threadpoolctl not installed"
    else:
        for lib in threadpoolctl.threadpool_info():
            if lib.get("user_api") == "blas":
                entry = {k: lib.get(k) for k in
                         ("internal_api", "architecture", "num_threads", "version")}
                path = lib.get("filepath") or ""
                entry["file"] = os.path.basename(path)
                entry["numpy"] = "numpy" in path     # e.g. site-packages/numpy.libs/

                info["blas"].append(entry)
    info["env"] = {k: os.environ.get(k) for k in
                   ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE", "OPENBLAS_NUM_THREADS",
                    "OMP_NUM_THREADS", "MKL_NUM_THREADS")}
    return info


def machine_info():
    """Python, CPU and core count: what the numbers were measured on."""
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {"python": platform.python_version(), "cpu": cpu, "cores": os.cpu_count(),
            "system": platform.system(), "load": load_average()}


def load_average():
    """The 1-minute load average: above the core count, other processes were competing."""
    try:
        return round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):
        return None


def describe_blas(info):
    """One line per BLAS library, plus the OPENBLAS_* variables, for the top of the output."""
    lines = []
    blas = info["blas"]
    if isinstance(blas, str):
        lines.append(f"BLAS: {blas}")
    for lib in blas if not isinstance(blas, str) else []:
        lines.append(f"BLAS: {lib['internal_api']} {lib['version']}, kernel {lib['architecture']}, "
                     f"{lib['num_threads']} threads ({lib['file']}"
                     + (", NumPy's)" if lib.get("numpy") else ", not NumPy's)"))
    env = info["env"]
    coretype = env["OPENBLAS_CORETYPE"]
    lines.append("OPENBLAS_CORETYPE " + (f"= {coretype} (kernel forced)" if coretype else
                                         "unset (native kernel, what users get)")
                 + (f", OPENBLAS_L2_SIZE = {env['OPENBLAS_L2_SIZE']}"
                    if env["OPENBLAS_L2_SIZE"] else ""))
    return lines


def fmt_time(seconds):
    """Seconds in the unit that reads best: s, ms or µs."""
    if seconds is None:
        return "-"
    if seconds >= 1:
        return f"{seconds:.3f} s"
    if seconds >= 1e-3:
        return f"{seconds * 1e3:.1f} ms"
    return f"{seconds * 1e6:.1f} µs"


def fmt_ratio(value):
    return "-" if value is None else f"{value:.2f}x"


def table(header, rows):
    """A plain-text table with columns padded to fit."""
    rows = [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    def line(r):
        return "  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                                   for i, (c, w) in enumerate(zip(r, widths)))
    return "\n".join([line(header), "  ".join("-" * w for w in widths), *map(line, rows)])
