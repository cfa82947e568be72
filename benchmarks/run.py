"""Run chainrule's benchmarks: ``python benchmarks/run.py [--quick] [--sections ...]``.

Every contender of a section is measured in this one process, interleaved,
and the output gives ratios next to seconds, then a PASS/MISS table of the
targets (issues 4 and 13). The full run also writes benchmarks/results.md (for the
README), results.json and scaling.png; ``--quick`` (under a minute, small
sizes) writes files only when asked.

BLAS settings. OPENBLAS_CORETYPE (and OPENBLAS_L2_SIZE) must be set before
NumPy loads OpenBLAS, so a run under other settings is a child process of this
script: ``--blas native`` removes them (what users get), ``--blas both``
measures native and as-is (one run when nothing is set), ``--coretype Haswell``
adds a run with that kernel forced.

The numbers come from the chainrule next to this script (``src/``), not
whatever is installed; the header says which file was imported.
"""
from __future__ import annotations

import argparse
import datetime
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
if __package__ in (None, ""):      # run as a script: make `benchmarks` and this checkout importable
    sys.path[:0] = [os.path.join(ROOT, "src"), ROOT]

from benchmarks import common, report

SECTIONS = ("epoch", "xor", "predict", "memory", "scaling", "datasets", "firstepoch")
BLAS_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

FULL = {
    "epoch": dict(n=60_000, rounds=5),
    "xor": dict(steps=10_000, rounds=5),
    "predict": dict(rows=10_000, rounds=5, calls=200, blocks=15),
    "memory": dict(rows=400_000),                         # 1.25 GB of float32, one epoch
    "scaling": dict(ns=(1_000, 3_000, 10_000, 30_000, 100_000), widths=(64, 128, 256, 512, 1024),
                    width_n=10_000, rounds=3, warmup_n=10_000),
    "datasets": dict(rounds=3, max_iter=200),
    "firstepoch": dict(n=60_000, epochs=3, warm_runs=2),
}
QUICK = {
    "epoch": dict(n=10_000, rounds=3),
    "xor": dict(steps=2_000, rounds=3),
    "predict": dict(rows=10_000, rounds=3, calls=50, blocks=6),
    "memory": dict(rows=20_000),
    "scaling": dict(ns=(1_000, 3_000, 10_000), widths=(64, 256, 1024), width_n=3_000, rounds=2,
                    warmup_n=3_000),
    "datasets": dict(rounds=1, max_iter=30, names=("iris", "diabetes")),
    "firstepoch": dict(n=5_000, epochs=3, warm_runs=1),
}


def parse(argv):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--quick", action="store_true", help="small sizes, under a minute")
    p.add_argument("--sections", default=",".join(SECTIONS),
                   help=f"comma-separated subset of {','.join(SECTIONS)} (default: all)")
    p.add_argument("--rounds", type=int, help="override the number of interleaved rounds")
    p.add_argument("--threads", default="2,all",
                   help="thread counts for the epoch section, comma-separated; 'all' is every "
                        "core (default 2,all: one run on this machine's 2 cores)")
    p.add_argument("--pause", type=float, default=common.PAUSE,
                   help="seconds to sleep before each timed call, so the previous contender's "
                        f"worker threads stop spinning (default {common.PAUSE})")
    p.add_argument("--json", metavar="PATH", help="write every measurement as JSON")
    p.add_argument("--markdown", metavar="PATH", help="write the Markdown tables")
    p.add_argument("--plot", metavar="PATH", help="write the scaling plot (PNG)")
    p.add_argument("--no-files", action="store_true",
                   help="write no file unless named (the full run's default files are skipped)")
    p.add_argument("--blas", choices=("asis", "native", "both"),
                   help="BLAS settings to measure under (default: both for the full run, "
                        "asis for --quick)")
    p.add_argument("--coretype", metavar="NAME",
                   help="also measure with OPENBLAS_CORETYPE=NAME (e.g. Haswell)")
    args = p.parse_args(argv)
    args.sections = [s.strip() for s in args.sections.split(",") if s.strip()]
    counts = []
    for word in args.threads.split(","):
        word = word.strip()
        count = os.cpu_count() if word == "all" else int(word) if word.isdigit() else None
        if not count:
            p.error(f"--threads takes positive counts or 'all', got {word!r}")
        if count not in counts:
            counts.append(count)
    args.threads = counts
    unknown = set(args.sections) - set(SECTIONS)
    if unknown:
        p.error(f"unknown section(s) {sorted(unknown)}; valid: {', '.join(SECTIONS)}")
    if args.blas is None:
        args.blas = "asis" if args.quick else "both"
    if not (args.quick or args.no_files):
        args.json = args.json or os.path.join(HERE, "results.json")
        args.markdown = args.markdown or os.path.join(HERE, "results.md")
        args.plot = args.plot or os.path.join(HERE, "scaling.png")
    return args


def environment(quick):
    import numpy as np  # noqa: F401

    import chainrule
    env = {"blas": common.blas_info(), "machine": common.machine_info(), "quick": quick,
           "chainrule": chainrule.__file__, "engine": chainrule.engine.config(),
           "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")}
    try:
        import torch
        env["torch"] = torch.__version__
        env["torch_threads"] = torch.get_num_threads()
    except ImportError:
        pass
    try:
        import sklearn
        env["sklearn"] = sklearn.__version__
    except ImportError:
        pass
    return env


def header(env):
    m = env["machine"]
    lines = [f"chainrule benchmarks{' (quick)' if env['quick'] else ''}, {env['date']}",
             f"chainrule from {env['chainrule']}",
             f"{m['cpu']}, {m['cores']} cores, load average {m['load']} "
             f"(others running: timings are noisy; medians of interleaved rounds)",
             f"Python {m['python']}, NumPy {env['blas']['numpy']}, torch {env.get('torch', '-')} "
             f"({env.get('torch_threads', '-')} threads), scikit-learn {env.get('sklearn', '-')}",
             *common.describe_blas(env["blas"]),
             "chainrule's engine: {engine} (numba {numba})".format(**env["engine"])]
    return "\n".join(lines)


def measure(args, plot=None):
    """Run the selected sections here; print each as it finishes; return the results."""
    from benchmarks import datasets, epoch, firstepoch, memory, predict, scaling, xor
    modules = {"epoch": epoch, "xor": xor, "predict": predict, "memory": memory,
               "scaling": scaling, "datasets": datasets, "firstepoch": firstepoch}
    sizes = QUICK if args.quick else FULL
    results = {}
    for name in args.sections:
        settings = dict(sizes[name])
        if args.rounds and "rounds" in settings:
            settings["rounds"] = args.rounds
        if name == "scaling":
            settings["plot"] = plot
        if name == "epoch":              # once per thread count: "epoch", then "epoch@16", ...
            for i, count in enumerate(args.threads):
                key = "epoch" if i == 0 else f"epoch@{count}"
                results[key] = epoch.run(**settings, threads=count)
                print("\n" + epoch.format(results[key]), flush=True)
            many = max(args.threads)
            if many > args.threads[0] and many == os.cpu_count():
                results["epoch_all"] = dict(results[f"epoch@{many}"])
                results["epoch_all"]["over_2_threads"] = common.ratio(
                    results["epoch_all"]["seconds"].get("chainrule"),
                    results["epoch"]["seconds"].get("chainrule"))
            continue
        results[name] = modules[name].run(**settings)
        print("\n" + modules[name].format(results[name]), flush=True)
    return results


def summary(results):
    return "\n".join(["", "Targets (they are set for native BLAS kernels and full sizes)",
                      common.table(("target", "goal", "measured", ""), report.check(results))])


def run_here(args, label):
    env = environment(args.quick)
    print(header(env), flush=True)
    results = measure(args, plot=args.plot)
    print(summary(results), flush=True)
    return {"label": label, "env": env, "results": results}


def run_child(args, argv, label, env_changes):
    """Re-run this script in a child process with changed BLAS variables; returns its run."""
    env = dict(os.environ)
    for key, value in env_changes.items():
        if value is None:
            env.pop(key, None)
        else:
            env[key] = value
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "run.json")
        cmd = [sys.executable, os.path.abspath(__file__), *argv, "--blas", "asis", "--no-files",
               "--json", out, "--label", label]
        if args.plot and label.startswith("native"):
            cmd += ["--plot", args.plot]
        print(f"\n===== {label} =====", flush=True)
        subprocess.run(cmd, env=env, check=True)
        with open(out) as f:
            return json.load(f)["runs"][0]


# the options that take no value: stripping one must not swallow the next argument
FLAGS = {"--quick", "--no-files"}


def strip_options(argv, names):
    """argv without the given options (and the values of those that take one)."""
    out, skip = [], False
    for a in argv:
        if skip:
            skip = False
            continue
        key = a.split("=", 1)[0]
        if key in names:
            skip = "=" not in a and key not in FLAGS
            continue
        out.append(a)
    return out


def main(argv=None):
    argv = list(sys.argv[1:] if argv is None else argv)
    label = None
    if "--label" in argv:                  # set by run_child
        i = argv.index("--label")
        label = argv[i + 1]
        del argv[i:i + 2]
    args = parse(argv)
    common.PAUSE = args.pause
    child_argv = strip_options(argv, {"--blas", "--coretype", "--json", "--markdown", "--plot",
                                      "--no-files"})
    forced = {k: os.environ[k] for k in BLAS_VARS if os.environ.get(k)}
    runs = []
    if args.blas == "asis":
        runs.append(run_here(args, label or ("as is: " + (", ".join(
            f"{k}={v}" for k, v in forced.items()) if forced else "native kernels"))))
    else:
        native_label = "native BLAS kernels (OPENBLAS_* unset)"
        if forced:
            runs.append(run_child(args, child_argv, native_label, dict.fromkeys(BLAS_VARS)))
        else:
            runs.append(run_here(args, native_label))
        if args.blas == "both" and forced:
            runs.append(run_child(args, child_argv, "as is: " + ", ".join(
                f"{k}={v}" for k, v in forced.items()), {}))
    if args.coretype:
        runs.append(run_child(args, child_argv, f"OPENBLAS_CORETYPE={args.coretype}",
                              {"OPENBLAS_CORETYPE": args.coretype, "OPENBLAS_L2_SIZE": None}))
    command = "python benchmarks/run.py" + (" " + " ".join(
        strip_options(argv, {"--json", "--markdown", "--plot", "--no-files"})) if argv else "")
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, "runs": runs}, f, indent=1, default=float)
        print(f"\nwrote {args.json}")
    if args.markdown:
        with open(args.markdown, "w") as f:
            f.write(report.markdown(runs, command))
        print(f"wrote {args.markdown}")
    return runs


if __name__ == "__main__":
    main()
