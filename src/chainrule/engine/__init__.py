"""The engine: which code runs the hot elementwise work, NumPy or compiled kernels.

chainrule's math is written in NumPy (each layer's textbook lines, and each
optimizer's update rule in ``optimizers.py``). NumPy runs one pass over memory
per operation: Adam over 235 k parameters is a dozen passes. The compiled
engine (``kernels.py``, numba, the optional extra ``fast``:
``pip install 'chainrule[fast]'``) runs the same rules as one fused loop
each. Both give the same results to rounding; the tests run against both.

Choosing:

* ``CHAINRULE_ENGINE=numpy`` (environment) or ``cr.set_engine("numpy")``
  forces NumPy; ``"compiled"`` asks for the kernels (falling back to NumPy,
  with a warning, when numba cannot be imported); ``"auto"`` (the default)
  uses them where they pay (below), and NumPy, silently, without numba.
* ``cr.show_config()`` (and ``chainrule --version``) says what runs.

``import chainrule`` never imports numba. Loading the kernels costs about
0.4 s once per process (importing numba, reading the kernel cache; compiling
them, 1-2 s, happens once per machine), and a loaded kernel is faster than
NumPy at every size (Adam on 17 parameters: 1 µs against 7 µs; on 235 k:
0.27 ms against 0.64 ms). So the kernels are loaded only where that pays:

* ``"compiled"`` loads them the first time a network of ``MIN_SIZE`` or more
  parameters takes a step or predicts;
* ``"auto"`` loads them when a fit's planned work, steps × parameters, is at
  least ``LOAD_WORK`` (``prepare``, called by fit and the estimators), and
  otherwise uses them only once loaded: a one-row ``predict`` in a fresh
  process, or a short fit of a small network, never waits for numba. Call
  ``load()`` at a service's start to have its predictions use them.

Networks below ``MIN_SIZE`` parameters (XOR 2-4-1) always run on NumPy, so
their results never depend on what else the process did. Elsewhere the engine
can differ between two calls of one process (before and after the kernels
were loaded); the results agree to rounding.

Threads. The kernels run on the calling thread. numba's parallel loops were
measured on this project's 2-core machine (a VM) and lost: with the
``workqueue`` layer (idle threads sleep) a parallel call cost ~0.4 ms more
than its work, even with BLAS idle (Adam on 235 k parameters: 0.32-0.36 ms on
2 threads, 0.28-0.35 ms on one); the OpenMP layer starts in ~20 µs but keeps
its threads spinning afterwards, which starved OpenBLAS's threads (the
issue's prototype: an MLP epoch 4-7 s instead of 0.75 s). So BLAS has the
cores for the matrix products, the fused loops take one, and nothing spins
against anything. Nor did a Python worker thread taking half of Adam's arrays
(2026-12-07): a hand-off between two threads costs ~50 µs here, about what
the half saves, and the epoch was 1.04x (median of 7 interleaved rounds).
Many-core machines were not measured; parallel kernels
there are an open question. The kernels release the GIL
(``nogil``), so separate Python threads may train separate networks at once.
"""
from __future__ import annotations

import contextvars
import os

ENGINES = ("auto", "numpy", "compiled")

#: Networks with fewer parameters always run on NumPy (see above).
MIN_SIZE = 4096

#: Planned steps × parameters from which "auto" loads the kernels for a fit: Adam saves
#: about 1.6 ns per parameter and step (0.64 → 0.27 ms on 235 k), which repays a 0.4 s
#: load after ~2.5e8 (two epochs of the epoch benchmark's 469 steps × 235 k parameters).
LOAD_WORK = 2.5e8

_choice = None          # set_engine's choice, else the environment's
_local = contextvars.ContextVar("chainrule_engine", default=None)   # using()'s, per thread
_kernels = None         # the imported kernels module, False when it cannot be imported
_error = None           # why it could not
_warned = False         # "compiled" was asked for without numba: said once per process


def _requested():
    choice = _local.get() or _choice or os.environ.get("CHAINRULE_ENGINE") or "auto"
    choice = choice.strip().lower()
    if choice not in ENGINES:
        raise ValueError(f"CHAINRULE_ENGINE must be one of {', '.join(ENGINES)}, got {choice!r}")
    return choice


def set_engine(name):
    """Choose the engine for this process: "auto", "numpy" or "compiled".

    None returns to the environment's ``CHAINRULE_ENGINE`` (default "auto").
    """
    global _choice
    if name is not None:
        _check_name(name)
    _choice = name


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"engine must be a string, one of {', '.join(ENGINES)}; got {name!r}")
    if name.strip().lower() not in ENGINES:
        raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {name!r}")


class using:
    """Context manager: ``with engine.using("numpy"): ...`` runs that block on one engine.

    The choice holds for the thread (and context) that entered the block only;
    ``set_engine`` sets the process's default.
    """

    def __init__(self, name):
        _check_name(name)
        self.name = name

    def __enter__(self):
        self.token = _local.set(self.name)

    def __exit__(self, *exc):
        _local.reset(self.token)


def compiled():
    """The compiled kernels module, loading it if need be; None on the NumPy engine."""
    if _requested() == "numpy":
        return None
    return _load()


def load():
    """Load the kernels now (unless the NumPy engine is chosen); True when they run."""
    return compiled() is not None


def _load():
    global _kernels, _error, _warned
    if _kernels is None:
        try:
            from . import kernels as module
        except Exception as error:
            _kernels, _error = False, f"{type(error).__name__}: {error}"
        else:
            _kernels = module
    if _kernels is False:
        if _requested() == "compiled" and not _warned:
            _warned = True
            from ..nn.checks import warn_user  # here: --version imports the engine, not nn
            warn_user(f"the compiled engine was asked for but numba cannot be imported "
                      f"({_error}); running on NumPy", RuntimeWarning)
        return None
    return _kernels


def prepare(work):
    """Called as a fit starts, with its planned steps × parameters: "auto" loads the
    kernels when that work repays loading them (``LOAD_WORK``). Also checks
    ``CHAINRULE_ENGINE`` early, whatever the network's size."""
    if _requested() == "auto" and work >= LOAD_WORK and _kernels is None:
        _load()


def kernels_for(size, dtype):
    """The kernels module for a network of ``size`` parameters of ``dtype``, or None for NumPy.

    None on the NumPy engine or without numba, below ``MIN_SIZE``, for dtypes
    other than float32 and float64 (float16 runs on NumPy), and, on "auto",
    while the kernels are not loaded (see ``prepare``).
    """
    choice = _requested()  # first: a bad CHAINRULE_ENGINE is refused whatever the network's size
    if size < MIN_SIZE or dtype.char not in "fd":
        return None
    if choice == "numpy":
        return None
    if choice == "auto":
        return _kernels or None
    return _load()


def name():
    """The engine for networks of ``MIN_SIZE`` or more parameters, loading the kernels if
    need be: "compiled" or "numpy"."""
    return "compiled" if compiled() is not None else "numpy"


def _installed():
    """The installed numba's version, found without importing it (None if absent)."""
    import importlib.util
    from importlib.metadata import PackageNotFoundError, version
    if importlib.util.find_spec("numba") is None:
        return None
    try:
        return version("numba")
    except PackageNotFoundError:  # importable but not from a distribution
        return "unknown version"


def config(load=True):
    """What runs, as a dict: the engine, numba's version, threads and kernel cache.

    ``load=False`` leaves numba unimported when it is not yet (``chainrule --version``
    starts in a tenth of the time): an installed numba then counts as "compiled",
    with ``"loaded": False``, and a numba that is installed but fails to import
    shows only when the kernels are first loaded.
    """
    import numpy as np
    requested = _requested()
    if not load and _kernels is None and requested != "numpy":
        found = _installed()
        return {"engine": "compiled" if found else "numpy", "requested": requested,
                "numpy": np.__version__, "min_size": MIN_SIZE, "loaded": False,
                "numba": found or "not installed (pip install 'chainrule[fast]')"}
    info = {"engine": name(), "requested": requested, "numpy": np.__version__,
            "min_size": MIN_SIZE}
    module = compiled() if info["requested"] != "numpy" else None
    if module is not None:
        info.update(module.describe())
    elif _error and "No module named 'numba'" in _error:
        info["numba"] = "not installed (pip install 'chainrule[fast]' for the compiled engine)"
    elif _error:
        info["numba"] = f"not available ({_error})"
    else:
        try:
            from importlib.metadata import version
            info["numba"] = version("numba") + " (not used)"
        except Exception:
            info["numba"] = "not installed (pip install 'chainrule[fast]')"
    return info


def show_config(file=None):
    """Print which engine runs, numba's version and where its kernels are cached."""
    import sys
    info = config()
    lines = [f"engine: {info['engine']} (asked: {info['requested']}; "
             f"kernels from {info['min_size']:,} elements up)",
             f"numpy: {info['numpy']}", f"numba: {info['numba']}"]
    for key in ("threads", "cache"):
        if key in info:
            lines.append(f"{key.replace('_', ' ')}: {info[key]}")
    print("\n".join(lines), file=file or sys.stdout)
