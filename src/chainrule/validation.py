"""Input checks shared by every public entry point (fit, predict, evaluate, ...).

They run once per call, before any work, and raise ValueError/TypeError that
name the argument, the rule and the offending value or position.
"""
from __future__ import annotations

import cmath
import math

import numpy as np

from .nn.checks import float_dtype, number  # noqa: F401  the settings' checks, re-exported
from .nn.losses import MSE, BinaryCrossEntropy, CrossEntropy, Loss, Poisson

#: Seeds are below 2**32: scikit-learn's random_state and NumPy's legacy RandomState take no
#: larger one (``chainrule train --seed`` and ``chainrule demo --seed`` alike).
SEED_LIMIT = 2 ** 32
# Finite-ness is checked in slices of this many rows, so that checking a
# memory-mapped data set does not allocate a mask the size of the data.
_CHUNK_ROWS = 1 << 16


def as_array(data, name):
    """``data`` as a numeric ndarray (no copy when it already is one).

    ValueError for data that is not numbers (the issue's "Bad input": like
    ``float("a")``), TypeError for None or complex numbers.
    """
    if data is None:
        raise TypeError(f"{name} must be an array, got None")
    if hasattr(data, "to_numpy") and not isinstance(data, np.ndarray):  # pandas, polars
        data = data.to_numpy()
    try:
        array = np.asarray(data)
    except ValueError as error:  # ragged nested lists
        raise ValueError(f"{name} must be a rectangular array of numbers: {error}") from None
    if array.dtype.kind in "biuf":
        return array
    if array.dtype.kind == "c":
        raise TypeError(f"{name} must be real-valued, got complex dtype {array.dtype}")
    if array.dtype.kind in "mM":  # astype(float) would give raw ticks, whose unit is lost
        example = (f"{name} / np.timedelta64(1, 's')" if array.dtype.kind == "m" else
                   f"({name} - np.datetime64('1970-01-01')) / np.timedelta64(1, 's')")
        raise TypeError(f"{name} must be numbers, got dtype {array.dtype}: convert the "
                        f"{'durations' if array.dtype.kind == 'm' else 'dates'} to numbers in "
                        f"the unit you mean first, e.g. seconds: {example}")
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError):
        flat = array.ravel()
        for i, value in enumerate(flat):
            try:
                float(value)
            except (TypeError, ValueError):
                if isinstance(value, np.generic):  # show 'a', not np.str_('a')
                    value = value.item()
                where = np.unravel_index(i, array.shape)
                raise ValueError(f"{name} must be numeric, found {value!r} at index "
                                f"{tuple(int(j) for j in where)}") from None
        raise ValueError(f"{name} must be numeric, got dtype {array.dtype}") from None


def _sum_of_squares(array):
    """Σ x·x̄ over every entry, by BLAS's dot; None if ``array`` is not one block of
    memory (C or Fortran order), which vdot would copy."""
    if array.flags.c_contiguous:
        return np.vdot(array, array)
    if array.flags.f_contiguous:  # its transpose is the same block in C order: no copy
        return np.vdot(array.T, array.T)
    return None


def check_finite(array, name, source=None):
    """ValueError naming the first NaN or infinite entry (row, column) of ``array``.

    ``source`` is the array ``array`` was converted from, if any: an entry that is
    finite there but infinite in ``array`` overflowed the conversion, and the error
    says so (1e39 becomes inf in float32).
    """
    if array.dtype.kind not in "fc":
        return
    # One number, finite when every entry is, from one pass without a mask: Σx·x̄ (half
    # the time of a plain sum), or Σx where that would copy. Either can overflow on large
    # finite entries; the exact scan below then decides.
    if array.size:
        total = _sum_of_squares(array)
        if total is None:
            with np.errstate(over="ignore", invalid="ignore"):  # inf − inf is NaN: fine
                total = np.add.reduce(array, axis=None)
        if cmath.isfinite(total):  # not np.isfinite: a ufunc call costs more on one row
            return
    for start in range(0, max(len(array), 1), _CHUNK_ROWS):
        part = array[start:start + _CHUNK_ROWS]
        bad = ~np.isfinite(part)
        if bad.any():
            where = np.argwhere(bad)[0]
            value = part[tuple(where)]
            where = (int(where[0]) + start,) + tuple(int(j) for j in where[1:])
            position = f"row {where[0]}" + (f", column {where[1]}" if len(where) > 1 else "")
            if source is not None and np.isfinite(source[where]):
                raise ValueError(f"{name} has {source[where].item()!r} at {position}, which "
                                 f"overflows {array.dtype} (largest {np.finfo(array.dtype).max:.4g}): "
                                 f"rescale {name} or use a wider dtype")
            what = "NaN" if np.isnan(value) else "infinity"
            raise ValueError(f"{name} contains {what} at {position}; "
                             "remove or impute missing and infinite values first")


def check_X(X, n_features=None, dtype=np.float32, name="X"):
    """X as a 2-D finite array of ``dtype``, with ``n_features`` columns if given.

    Integers and booleans are converted; a matching float array (or memmap) is
    used as it is, without a copy. Finiteness is checked after the conversion,
    so that values too large for ``dtype`` are caught too.
    """
    X = as_array(X, name)
    if X.ndim != 2:
        hint = " (reshape a single feature with X.reshape(-1, 1), a single sample with " \
               "X.reshape(1, -1))" if X.ndim == 1 else ""
        raise ValueError(f"{name} must be 2-D (samples, features), got {X.ndim}-D with shape "
                         f"{X.shape}{hint}")
    if X.shape[0] == 0:
        raise ValueError(f"{name} is empty: 0 samples (shape {X.shape}); at least 1 is needed")
    if n_features is not None and X.shape[1] != n_features:
        raise ValueError(f"{name} has {X.shape[1]} features, but the network expects {n_features}")
    if X.dtype == dtype:
        check_finite(X, name)
        return X
    if _casts_finite(X, dtype):
        return X.astype(dtype)
    with np.errstate(over="ignore"):  # check_finite names any value that overflowed
        converted = X.astype(dtype)
    check_finite(converted, name, source=X)
    return converted


def _casts_finite(X, dtype):
    """True if X is finite and ``X.astype(dtype)`` overflows nowhere, shown in one pass.

    Every |x| ≤ √(Σx²), so a finite Σx² whose root is within dtype's largest value
    settles both, without the cost of np.errstate around the cast. False means only
    "not shown" (strided X, or a value out of range somewhere).
    """
    largest = float(np.finfo(dtype).max)  # a Python float: no comparison in dtype's precision
    if X.dtype.kind in "biu":
        return largest > 2.0 ** 64  # every integer fits float32 and wider
    total = _sum_of_squares(X)
    return total is not None and math.sqrt(total) <= largest


def at_least_as_wide(name, dtype, network_dtype):
    """``dtype`` as a float dtype no narrower than the network's, else a TypeError (not a
    float type) or a ValueError (narrower): arithmetic may widen a network, not narrow it."""
    dtype = float_dtype(dtype, name)
    if dtype.itemsize < network_dtype.itemsize:
        raise ValueError(f"{name} must be at least as wide as the network's {network_dtype}, "
                         f"got {dtype}")
    return dtype


def check_y(y, n_rows, name="y", X_name="X"):
    """y as a finite numeric array with ``n_rows`` rows, the rows of ``X_name`` (not yet shaped for a loss)."""
    y = as_array(y, name)
    if y.ndim == 0 or y.ndim > 2:
        raise ValueError(f"{name} must be 1-D (n,) or 2-D (n, outputs), got shape {y.shape}")
    if len(y) != n_rows:
        raise ValueError(f"{name} has {len(y)} rows, but {X_name} has {n_rows}: they must match")
    check_finite(y, name)
    if y.dtype.kind == "b":
        y = y.astype(np.intp)
    return y


def check_loss(loss):
    """TypeError unless ``loss`` is a chainrule Loss."""
    if not isinstance(loss, Loss):
        raise TypeError(f"loss must be a chainrule Loss such as cr.MSE() or cr.CrossEntropy(), "
                        f"got {loss!r}")


def check_trainable(net):
    """ValueError if ``net`` gave its layers to a newer Sequential (its buffers are stale)."""
    if net._released:
        raise ValueError("this network's layers now belong to a newer Sequential built from "
                         "them, so training it would change nothing: train the newer network, "
                         "or build it from copies (net.copy(), copy.deepcopy(layers))")


def check_loss_fits(net, loss):
    """ValueError when ``loss`` cannot make sense of what ``net`` outputs.

    Reads the last layer's ``output_range`` and ``probabilities`` (class
    attributes of every layer). CrossEntropy reads each output row as class
    probabilities, so it needs a layer whose rows sum to 1 (Softmax);
    BinaryCrossEntropy takes logs of A and 1 − A, so it needs outputs in
    [0, 1] (Sigmoid, Softmax); Poisson takes log A, so it needs outputs ≥ 0
    (Exp, Softplus, ReLU). A layer whose range is None (unknown: Dropout
    passes its input's on, a user's layer may not say) is given the benefit
    of the doubt.
    """
    if not net.layers or not isinstance(loss, (CrossEntropy, BinaryCrossEntropy, Poisson)):
        return
    last = net.layers[-1]
    if last.output_range is None or last.probabilities:
        return
    low, high = last.output_range
    if isinstance(loss, Poisson):
        if low < 0:
            raise ValueError(f"Poisson takes rates >= 0, but the network ends with {last!r}, "
                             "whose outputs can be negative: add Exp() as the last layer "
                             "(its input is then the log-rate)")
        return
    if isinstance(loss, CrossEntropy):
        if (low, high) == (0, 1):
            units = f" with {net.n_out} unit{'s' if net.n_out != 1 else ''}" if net.n_out else ""
            fix = ("use BinaryCrossEntropy for two classes with one sigmoid output"
                   if net.n_out == 1 else
                   "end with Softmax for one class per row, or use BinaryCrossEntropy "
                   "for independent (multi-label) outputs")
            raise ValueError(f"CrossEntropy needs class probabilities from a Softmax output, but "
                             f"the network ends with {last!r}{units}: {fix}")
        raise ValueError(f"CrossEntropy needs class probabilities from a Softmax output, but "
                         f"the network ends with {last!r}, whose outputs are not "
                         "probabilities: add Softmax() as the last layer")
    if low < 0 or high > 1:
        raise ValueError(f"{type(loss).__name__} takes probabilities in [0, 1], but the network "
                         f"ends with {last!r}, whose outputs can fall outside [0, 1]: add "
                         "Sigmoid() as the last layer")


def output_width(net, y):
    """The width of the network's output, or for a network without Dense layers (no width
    of its own) that of the targets ``y``: its columns, or 1 for a vector."""
    if net.n_out is not None:
        return net.n_out
    return y.shape[1] if y.ndim == 2 else 1


def prepare_data(net, X, y, loss, name="X"):
    """X, y checked, and Y in the form ``loss`` takes, for network ``net``.

    ``name`` is "X" or "X_val" (errors about y then say "y_val").
    """
    X = check_X(X, net.n_in, net.dtype, name=name)
    y_name = "y" + name[1:]  # X -> y, X_val -> y_val
    y = check_y(y, len(X), name=y_name, X_name=name)
    n_out = output_width(net, y)
    with np.errstate(over="ignore"):  # check_targets names any value that overflowed
        Y = loss.prepare(y, n_out, net.dtype)
    check_targets(Y, y, loss, y_name)
    return X, y, Y


def check_targets(Y, y, loss, name="y"):
    """ValueError when the targets ``y``, converted to ``Y`` in the network's dtype,
    overflow that dtype, or their squared error does (MSE squares them: in float32,
    a target of 1e20 gives an infinite loss at any learning rate)."""
    if Y.dtype.kind != "f" or y.dtype.kind not in "biuf" or y.size != Y.size:
        return  # class labels made into one-hot rows: nothing to overflow
    source = y.reshape(Y.shape)
    check_finite(Y, name, source=source)
    if isinstance(loss, MSE):
        limit = math.sqrt(float(np.finfo(Y.dtype).max))
        too_large = np.abs(source) > limit  # in y's own dtype: |1e20| is exact in float64
        if too_large.any():
            where = tuple(int(j) for j in np.argwhere(too_large)[0])
            position = f"row {where[0]}" + (f", column {where[1]}" if Y.shape[1] > 1 else "")
            raise ValueError(f"{name} has {source[where].item()!r} at {position}, whose square "
                             f"overflows {Y.dtype} (largest {np.finfo(Y.dtype).max:.4g}, so "
                             f"|{name}| must stay below {limit:.4g} for the MSE loss): rescale "
                             f"{name} (e.g. standardise it) or use a wider dtype")
