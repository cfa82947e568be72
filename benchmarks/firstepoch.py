"""7. The compiled engine's one-time costs: the first epoch of a fresh process.

Each measurement is a new Python process (the costs are per process and per
machine), training the epoch benchmark's network on the compiled engine for
a few epochs and reporting each epoch's time:

* cold: an empty kernel cache (``NUMBA_CACHE_DIR`` in a temporary folder):
  the first epoch pays importing numba and compiling the kernels it uses;
* warm: the same cache again, as every later run on that machine: the first
  epoch pays importing numba and loading the cached kernels.

"compile" (once per machine) is the cold first epoch minus the warm one;
"load" (once per process) the warm first epoch minus a steady one; the
first-ever run pays both, "cold - steady". A NumPy-engine process is timed
the same way, for the first-epoch costs that have nothing to do with the
engine.
"""
from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile

from .common import fmt_ratio, fmt_time, table

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

_CHILD = """
import json, sys, time
start = time.perf_counter()
import chainrule as cr
from benchmarks import contenders as C
n, epochs, engine = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
X, y = C.synthetic(n, 784, 10, seed=0)
train = C.chainrule_trainer(X, y, [784, 256, 128, 10], 128, 0, engine=engine)
times = []
for _ in range(epochs):
    t = time.perf_counter()
    train()
    times.append(time.perf_counter() - t)
print(json.dumps({"times": times, "engine": cr.engine.name() if engine != "numpy" else "numpy"}))
"""


def _child(n, epochs, engine, cache):
    env = dict(os.environ, NUMBA_CACHE_DIR=cache,
               PYTHONPATH=os.pathsep.join([os.path.join(ROOT, "src"), ROOT,
                                           os.environ.get("PYTHONPATH", "")]))
    env.pop("CHAINRULE_ENGINE", None)
    out = subprocess.run([sys.executable, "-c", _CHILD, str(n), str(epochs), engine],
                         env=env, capture_output=True, text=True, check=True, timeout=900)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(n=60_000, epochs=3, warm_runs=2):
    """Per-epoch times of a cold-cache, warm-cache and NumPy-engine process."""
    from . import contenders as C
    result = {"settings": {"n": n, "epochs": epochs, "warm_runs": warm_runs}}
    if not C.compiled_engine_available():
        result["skipped"] = "numba is not installed: no compiled engine to measure"
        return result
    with tempfile.TemporaryDirectory() as cache:
        cold = _child(n, epochs, "compiled", cache)["times"]
        warm = [_child(n, epochs, "compiled", cache)["times"] for _ in range(warm_runs)]
    numpy = _child(n, epochs, "numpy", cache)["times"]
    steady = statistics.median([*cold[1:], *(t for w in warm for t in w[1:])])
    warm_first = statistics.median(w[0] for w in warm)
    result.update({
        "cold": cold, "warm": warm, "numpy": numpy, "steady": steady, "warm_first": warm_first,
        "first_ever_extra_seconds": cold[0] - steady,
        "compile_seconds": cold[0] - warm_first,
        "load_seconds": warm_first - steady,
        "warm_over_steady": warm_first / steady,
        "numpy_first_over_steady": numpy[0] / statistics.median(numpy[1:]),
    })
    return result


def format(result):
    st = result["settings"]
    head = (f"7. First epoch of a fresh process (compiled engine, N = {st['n']:,}, "
            "the epoch benchmark's network)")
    if "skipped" in result:
        return f"{head}\n{result['skipped']}"
    rows = [("cold kernel cache: first epoch", fmt_time(result["cold"][0])),
            ("warm kernel cache: first epoch", fmt_time(result["warm_first"])),
            ("steady epoch", fmt_time(result["steady"])),
            ("compile, once per machine (cold - warm first)", fmt_time(result["compile_seconds"])),
            ("load, once per process (warm first - steady)", fmt_time(result["load_seconds"])),
            ("first-ever run's extra (cold first - steady)",
             fmt_time(result["first_ever_extra_seconds"])),
            ("warm first / steady", fmt_ratio(result["warm_over_steady"])),
            ("NumPy engine: first / steady", fmt_ratio(result["numpy_first_over_steady"]))]
    return "\n".join([head, table(("", ""), rows)])
