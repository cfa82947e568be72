"""4. Peak memory of ``fit`` on a large float32 training set, as a multiple of its size.

Measured in a fresh subprocess (``python -m benchmarks.memory``), so nothing
else the benchmark allocated counts: the child builds the data, imports
everything, hands freed heap pages back to the system (glibc ``malloc_trim``,
so fit's allocations cannot hide in pages the data generation freed), records
its resident set (RSS), resets the kernel's peak-RSS mark (writing "5" to
/proc/self/clear_refs, Linux ≥ 4.0), trains, and reads the peak (VmHWM) again.
Growth = peak during fit − RSS before fit. Where the peak cannot be reset, the
peak since process start is used (ru_maxrss), which can only overstate the growth.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _status_kb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


def _release_free_heap():
    """Return freed heap pages to the system (glibc ``malloc_trim``), so that memory fit
    allocates cannot hide in pages that are resident only because the data generation
    freed them. Returns False where that is not available."""
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)
        return True
    except (OSError, AttributeError):
        return False


def _reset_peak():
    try:
        with open("/proc/self/clear_refs", "w") as f:
            f.write("5")
        return True
    except OSError:
        return False


def measure(rows, n_in=784, batches=None, batch_size=128, seed=0):
    """Run in the child: fit on ``rows`` × ``n_in`` float32 rows; returns the measurements.

    ``batches`` stops training after that many batches (a fraction of an
    epoch); None trains one whole epoch.
    """
    import resource

    import chainrule as cr

    from .contenders import synthetic
    X, y = synthetic(rows, n_in, 10, seed=seed)
    net = cr.mlp([n_in, 256, 128, 10], hidden="relu", output="softmax", seed=seed)
    callbacks = []
    if batches is not None:
        def stop(batch, logs):
            if batch + 1 >= batches:
                stop_cb.run.stop_training = True
        stop_cb = cr.LambdaCallback(on_batch_end=stop)
        callbacks.append(stop_cb)
    # the compiled engine's code (numba, LLVM, the kernels fit calls) is a fixed cost of the
    # process, loaded here by a fit on a few rows and reported apart: what the measured fit
    # adds is then what grows with the data
    start = _status_kb("VmRSS")
    compiled = cr.engine.load()
    net.copy().fit(X[:256], y[:256], loss=cr.CrossEntropy(), optimizer=cr.Adam(), epochs=1,
                   batch_size=batch_size, verbose=0)
    engine_bytes = (_status_kb("VmRSS") - start) * 1024
    trimmed = _release_free_heap()
    before = _status_kb("VmRSS")
    exact = _reset_peak() and _status_kb("VmHWM") <= before + 1024
    net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.Adam(), epochs=1, batch_size=batch_size,
            seed=seed, verbose=0, callbacks=callbacks)
    peak = _status_kb("VmHWM") if exact else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    data = X.nbytes + y.nbytes
    growth = (peak - before) * 1024
    return {"rows": rows, "data_bytes": data, "rss_before": before * 1024, "peak": peak * 1024,
            "growth_bytes": growth, "growth_fraction": growth / data,
            "method": "VmHWM after clear_refs" if exact else "ru_maxrss since start",
            "batches": batches, "heap_trimmed": trimmed,
            "engine": "compiled" if compiled else "numpy", "engine_load_bytes": engine_bytes}


def run(rows=400_000, batches=None, timeout=900):
    """Measure in a subprocess; returns what ``measure`` returned there."""
    env = dict(os.environ)
    src = os.path.join(ROOT, "src")
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, ROOT, env.get("PYTHONPATH")) if p)
    cmd = [sys.executable, "-m", "benchmarks.memory", str(rows)]
    if batches is not None:
        cmd.append(str(batches))
    out = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
    if out.returncode != 0:
        raise RuntimeError(f"memory benchmark subprocess failed ({out.returncode}):\n{out.stderr}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def format(result):
    def mb(b):
        return f"{b / 2**20:,.1f} MiB"
    what = "1 epoch" if result["batches"] is None else f"{result['batches']} batches"
    return "\n".join([
        f"4. Peak memory of fit ({what}) on {result['rows']:,} x 784 float32 "
        f"({mb(result['data_bytes'])} of data), in a subprocess",
        f"RSS before fit {mb(result['rss_before'])}, peak during fit {mb(result['peak'])}: "
        f"growth {mb(result['growth_bytes'])} = {result['growth_fraction']:.3f} x the data "
        f"({result['method']}); {result.get('engine', '?')} engine"
        + (f", whose kernels (numba, LLVM) took {mb(result['engine_load_bytes'])} once, "
           "before fit" if result.get("engine") == "compiled" else "")])


if __name__ == "__main__":
    rows = int(sys.argv[1])
    batches = int(sys.argv[2]) if len(sys.argv) > 2 else None
    print(json.dumps(measure(rows, batches=batches)))
