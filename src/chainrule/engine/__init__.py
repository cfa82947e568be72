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
  uses them when numba imports, silently NumPy otherwise.
* ``cr.show_config()`` (and ``chainrule --version``) says what runs.

``import chainrule`` never imports numba: the kernels module is imported,
and each kernel compiled (then cached on disk: once per machine), the first
time a problem is big enough to use it. Once loaded a kernel is faster than
NumPy at every size (Adam on 17 parameters: 1 µs against 7 µs), but loading
costs about 0.5 s once per process (importing numba, reading the cache) and
compiling 1-2 s once per machine. Below ``MIN_SIZE`` parameters that is not
repaid in a typical run (XOR 2-4-1's 10 000 steps would save ~0.06 s), so
tiny networks stay on NumPy.

Threads. The kernels run on the calling thread. numba's parallel loops were
measured on this project's 2-core machine and lost: with the ``workqueue``
layer (idle threads sleep) waking the second thread cost ~0.4 ms a call
(Adam on 235 k parameters: 0.32-0.36 ms on 2 threads, 0.28-0.35 ms on
one); the OpenMP layer wakes in ~20 µs but keeps its threads spinning
afterwards, which starved OpenBLAS's threads (an MLP epoch 4-7 s instead of
0.75 s). So BLAS has the cores for the matrix products, the fused loops take
one, and nothing spins against anything. The kernels release the GIL
(``nogil``), so separate Python threads may train separate networks at once.
"""
from __future__ import annotations

import os
import warnings

ENGINES = ("auto", "numpy", "compiled")

#: Networks with fewer parameters stay on NumPy: the one-time cost of loading
#: the kernels is not repaid (see above).
MIN_SIZE = 4096

_choice = None          # set_engine's choice, else the environment's
_kernels = None         # the imported kernels module, False when it cannot be imported
_error = None           # why it could not
_warned = False         # "compiled" was asked for without numba: said once per process


def _requested():
    choice = _choice if _choice is not None else os.environ.get("CHAINRULE_ENGINE", "auto")
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
        if not isinstance(name, str):
            raise TypeError(f"engine must be a string, one of {', '.join(ENGINES)}; got {name!r}")
        if name.strip().lower() not in ENGINES:
            raise ValueError(f"engine must be one of {', '.join(ENGINES)}, got {name!r}")
    _choice = name


class using:
    """Context manager: ``with engine.using("numpy"): ...`` runs that block on one engine.

    The choice is the process's, as ``set_engine``'s: other threads see it too.
    """

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self.saved = _choice
        set_engine(self.name)

    def __exit__(self, *exc):
        set_engine(self.saved)


def compiled():
    """The compiled kernels module, or None when the NumPy engine runs."""
    global _kernels, _error, _warned
    choice = _requested()
    if choice == "numpy":
        return None
    if _kernels is None:
        try:
            from . import kernels as module
        except Exception as error:  # noqa: BLE001 - numba absent or broken: NumPy, the same results
            _kernels, _error = False, f"{type(error).__name__}: {error}"
        else:
            _kernels = module
    if _kernels is False:
        if choice == "compiled" and not _warned:
            _warned = True
            warnings.warn(f"the compiled engine was asked for but numba cannot be imported "
                          f"({_error}); running on NumPy", RuntimeWarning, stacklevel=3)
        return None
    return _kernels


def kernels_for(size, dtype):
    """The compiled kernels module for ``size`` elements of ``dtype``, or None for NumPy.

    None when the NumPy engine is chosen or numba is missing, below ``MIN_SIZE``,
    and for dtypes other than float32 and float64 (float16 runs on NumPy).
    """
    if size < MIN_SIZE or dtype.char not in "fd":
        return None
    return compiled()


def name():
    """The engine that runs a problem of compiled size: "compiled" or "numpy"."""
    return "compiled" if compiled() is not None else "numpy"


def config():
    """What runs, as a dict: the engine, numba's version, threads and kernel cache."""
    import numpy as np
    info = {"engine": name(), "requested": _requested(), "numpy": np.__version__,
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
        except Exception:  # noqa: BLE001 - not installed
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
