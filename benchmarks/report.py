"""The targets (issues 4, 13 and 25), checked against measured results, and the Markdown report.

A target is (what, the measured value's getter, "<=" or ">=", threshold, unit).
A target whose measurement was not run (section not selected) is reported as
"not run", never as a pass.
"""
from __future__ import annotations

from .common import fmt_ratio, fmt_time

# "chainrule" in the epoch section is its compiled engine (the targets on it are "not run"
# where numba is missing); "2 threads" is the first count of --threads, "all cores" is
# measured only on a machine with more (--threads 2,all).
TARGETS = [
    ("MLP epoch, 2 threads: chainrule / GEMM floor", ("epoch", "ratios", "chainrule/floor"),
     "<=", 1.3, "x"),
    ("MLP epoch, 2 threads: chainrule / PyTorch", ("epoch", "ratios", "chainrule/torch"),
     "<=", 0.45, "x"),
    ("MLP epoch, all cores: chainrule / GEMM floor", ("epoch_all", "ratios", "chainrule/floor"),
     "<=", 2.0, "x"),
    ("MLP epoch, all cores: chainrule / PyTorch", ("epoch_all", "ratios", "chainrule/torch"),
     "<=", 0.6, "x"),
    ("MLP epoch, chainrule: all cores / 2 threads", ("epoch_all", "over_2_threads"),
     "<=", 1.0, "x"),
    ("MLP epoch: NumPy engine / hand-written NumPy", ("epoch", "ratios", "chainrule-numpy/numpy"),
     "<=", 1.1, "x"),
    ("MLP epoch: scikit-learn / chainrule", ("epoch", "ratios", "sklearn/chainrule"), ">=", 2.0, "x"),
    ("XOR steps: chainrule / hand-written NumPy", ("xor", "ratios", "chainrule/numpy"), "<=", 1.1, "x"),
    ("XOR steps: PyTorch / chainrule", ("xor", "ratios", "torch/chainrule"), ">=", 5.0, "x"),
    ("Predict 1 row: chainrule / hand-written forward", ("predict", "ratios", "latency chainrule/numpy"),
     "<=", 1.2, "x"),
    ("Predict 1 row: the network's owner (one hold) / the whole call",
     ("predict", "ratios", "owner/latency chainrule"), "<=", 0.05, "x"),
    ("Predict 10 000 rows: chainrule / PyTorch throughput",
     ("predict", "ratios", "throughput chainrule/torch"), ">=", 1.0, "x"),
    ("First epoch, warm kernel cache / steady epoch", ("firstepoch", "warm_over_steady"),
     "<=", 1.5, "x"),
    ("First-ever run: compile and load (cold first epoch - steady)",
     ("firstepoch", "first_ever_extra_seconds"), "<=", 3.0, "s"),
    ("fit peak memory growth / training set size", ("memory", "growth_fraction"), "<=", 0.10, "x"),
    ("Epoch time against N: log-log slope (linear = 1)", ("scaling", "slope", "chainrule"),
     "in", (0.9, 1.1), ""),
    ("Warm-up: slowest first batch / steady batch", ("scaling", "warmup", "ratio"), "<=", 3.0, "x"),
]


def _get(results, path):
    value = results
    for key in path:
        if not isinstance(value, dict) or key not in value:
            return None
        value = value[key]
    return value


def _show(value, unit):
    if value is None:
        return "-"
    if unit == "s":
        return fmt_time(value)
    return f"{value:.3f}" if unit == "" else f"{value:.2f}{unit}"


def _goal(op, threshold, unit):
    if op == "in":
        return f"{threshold[0]} .. {threshold[1]}"
    return f"{op} {_show(threshold, unit)}"


def check(results):
    """One row per target: (target, goal, measured, "PASS" / "MISS" / "not run")."""
    rows = []
    for what, path, op, threshold, unit in TARGETS:
        value = _get(results, path)
        if value is None:
            verdict = "not run"
        elif op == "<=":
            verdict = "PASS" if value <= threshold else "MISS"
        elif op == ">=":
            verdict = "PASS" if value >= threshold else "MISS"
        else:
            verdict = "PASS" if threshold[0] <= value <= threshold[1] else "MISS"
        rows.append((what, _goal(op, threshold, unit), _show(value, unit), verdict))
    return rows


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |",
             "|" + "|".join("---" if i == 0 else "---:" for i in range(len(header))) + "|"]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def _blas_line(env):
    blas = env["blas"]["blas"]
    libs = "; ".join(f"NumPy's BLAS: {b['internal_api']} {b['version']} kernel "
                     f"{b['architecture']}, {b['num_threads']} threads"
                     for b in blas if b.get("numpy")) if not isinstance(blas, str) else blas
    coretype = env["blas"]["env"]["OPENBLAS_CORETYPE"]
    return f"{libs}; OPENBLAS_CORETYPE={coretype or 'unset'}"


def markdown(runs, command):
    """The Markdown report of one or more runs (one per BLAS setting)."""
    out = ["<!-- written by benchmarks/run.py; do not edit by hand -->", "",
           f"Reproduce with `{command}`.", ""]
    for run in runs:
        env, res = run["env"], run["results"]
        m = env["machine"]
        out += [f"### {run['label']}", "",
                f"{m['cpu']}, {m['cores']} cores, load average {m['load']} at start; "
                f"Python {m['python']}, NumPy {env['blas']['numpy']}, torch {env.get('torch', '-')}, "
                f"scikit-learn {env.get('sklearn', '-')}; {_blas_line(env)}. "
                f"{'Quick mode (small sizes). ' if env.get('quick') else ''}"
                f"Measured {env['date']}.", ""]
        for key in [k for k in res if k == "epoch" or k.startswith("epoch@")]:
            e = res[key]
            st, s = e["settings"], e["seconds"]
            out += [f"**MLP epoch, {st.get('threads', '?')} threads** "
                    f"({'-'.join(map(str, st['sizes']))}, ReLU, softmax + CE, Adam, "
                    f"batch {st['batch_size']}, float32, N = {st['n']:,}; median of "
                    f"{st['rounds']} interleaved rounds; the x column is the median of the "
                    "ratios within each round)", "",
                    markdown_table(("", "epoch", "x GEMM floor"),
                                   [(_EPOCH_LABELS.get(k) or _LABELS.get(k, k), fmt_time(v),
                                     f"{e['x_floor'][k]:.2f}x")
                                    for k, v in sorted(s.items(), key=lambda kv: kv[1])]), ""]
        if "xor" in res:
            x = res["xor"]
            s = x["seconds"]
            out += [f"**XOR 2-4-1**, {x['settings']['steps']:,} full-batch steps (sigmoid, BCE, "
                    "SGD lr 0.1)", "",
                    markdown_table(("", "time", "per step", "x hand-written NumPy"),
                                   [(_LABELS.get(k, k), fmt_time(v),
                                     fmt_time(v / x["settings"]["steps"]),
                                     f"{x['x_numpy'][k]:.2f}x")
                                    for k, v in sorted(s.items(), key=lambda kv: kv[1])]), ""]
        if "predict" in res:
            p = res["predict"]
            b, one = p["batch_seconds"], p["single_seconds"]
            out += [f"**Predict** ({p['settings']['rows']:,} rows per call; and one row)", "",
                    markdown_table(("", f"{p['settings']['rows']:,} rows", "rows/s", "1 row"),
                                   [(_LABELS.get(k, k), fmt_time(b[k]),
                                     f"{p['rows_per_second'][k]:,.0f}", fmt_time(one[k]))
                                    for k in sorted(b, key=b.get)]), ""]
            if "owner_seconds" in p:
                out += [f"The network's owner, which every predict holds so that calls from "
                        f"several threads take turns: {fmt_time(p['owner_seconds'])} a call, "
                        f"{p['ratios']['owner/latency chainrule']:.1%} of the one-row predict.", ""]
        if "memory" in res:
            mem = res["memory"]
            out += [f"**Memory**: fit on {mem['rows']:,} x 784 float32 "
                    f"({mem['data_bytes'] / 2**20:,.0f} MiB with the labels) grows the process's peak "
                    f"RSS by {mem['growth_bytes'] / 2**20:,.1f} MiB = {mem['growth_fraction']:.3f} x the "
                    f"data ({mem['method']})"
                    + (f"; the compiled engine's kernels (numba, LLVM) took "
                       f"{mem['engine_load_bytes'] / 2**20:,.0f} MiB once per process, before fit"
                       if mem.get("engine") == "compiled" else "") + ".", ""]
        if "scaling" in res:
            sc = res["scaling"]
            names = list(sc["by_n"])
            out += ["**Scaling** (epoch time; see scaling.png)", "",
                    markdown_table(("N", *map(_LABELS.get, names)),
                                   [(f"{n:,}", *(fmt_time(sc["by_n"][k][i]) for k in names))
                                    for i, n in enumerate(sc["settings"]["ns"])]), "",
                    markdown_table(("width", *map(_LABELS.get, names)),
                                   [(str(w), *(fmt_time(sc["by_width"][k][i]) for k in names))
                                    for i, w in enumerate(sc["settings"]["widths"])]), ""]
        if "datasets" in res:
            ds = res["datasets"]
            out += [f"**scikit-learn's data sets** (`chainrule.sklearn` vs `sklearn.neural_network`, "
                    f"same arguments: hidden_layer_sizes=(100,), Adam, "
                    f"max_iter={ds['settings']['max_iter']}; standardised inputs, 75/25 split; "
                    f"test accuracy, R² for diabetes)", "",
                    markdown_table(("data set", "chainrule score", "scikit-learn score",
                                    "chainrule fit", "scikit-learn fit", "scikit-learn / chainrule"),
                                   [(name, f"{r['score']['chainrule']:.3f}",
                                     f"{r['score']['sklearn']:.3f}",
                                     fmt_time(r["seconds"]["chainrule"]),
                                     fmt_time(r["seconds"]["sklearn"]),
                                     fmt_ratio(r["sklearn/chainrule"]))
                                    for name, r in ds["datasets"].items()]), ""]
        if "firstepoch" in res and "skipped" not in res["firstepoch"]:
            f = res["firstepoch"]
            out += [f"**First epoch of a fresh process** (compiled engine, N = "
                    f"{f['settings']['n']:,}): cold kernel cache {fmt_time(f['cold'][0])}, "
                    f"warm cache {fmt_time(f['warm_first'])}, steady {fmt_time(f['steady'])}: "
                    f"compiling costs {fmt_time(f['compile_seconds'])} once per machine, "
                    f"loading {fmt_time(f['load_seconds'])} once per process, and a warm "
                    f"first epoch is {f['warm_over_steady']:.2f}x a steady one.", ""]
        out += ["**Targets**", "",
                markdown_table(("target", "goal", "measured", ""), check(res)), ""]
    return "\n".join(out)


_LABELS = {"chainrule": "chainrule", "chainrule-numpy": "chainrule (NumPy engine)",
           "torch": "PyTorch CPU", "sklearn": "scikit-learn MLPClassifier",
           "numpy": "hand-written NumPy", "floor": "GEMM floor (matrix products only)"}
_EPOCH_LABELS = {"chainrule": "chainrule (compiled engine)"}
