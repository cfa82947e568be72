"""The one check for a setting that must be a number in a range, the one for dtypes, and
the one way chainrule warns a user (:func:`warn_user`).

Every constructor and entry point in chainrule checks its numeric settings
here, so the messages read the same everywhere (``lr must be > 0, got -1``)
and the exception says what is wrong:

* ``TypeError`` when the value is not the right kind of thing: not a real
  number (a string, None, a bool), or not an integer where one is required;
* ``ValueError`` when it is the right kind but the wrong value: NaN, infinite,
  or out of range.

It lives in ``nn`` because layers check their settings too, and ``nn`` imports
nothing above itself; :mod:`chainrule.validation` re-exports it.
"""
from __future__ import annotations

import math
import numbers
import os
import sys
import warnings

import numpy as np


def number(name, value, *, greater_than=None, at_least=None, less_than=None, at_most=None,
           integer=False, finite=True, allow_none=False):
    """``value`` as a Python float (or int with ``integer=True``), checked.

    Parameters
    ----------
    name : str
        The argument's name, as the user wrote it (``"lr"``, ``"--epochs"``).
    value : object
        What the user passed.
    greater_than, at_least, less_than, at_most : number, optional
        The bounds: ``>``, ``>=``, ``<``, ``<=``.
    integer : bool
        Require an integer (``int`` or a NumPy integer; ``2.0`` is a TypeError).
    finite : bool
        Reject NaN and ±inf (default). With False, ±inf is allowed when in range.
    allow_none : bool
        Let None through (returned as None): "no limit", "not set".

    Examples
    --------
    >>> number("lr", 0.1, greater_than=0)
    0.1
    >>> number("p", 1.5, at_least=0, less_than=1)
    Traceback (most recent call last):
    ...
    ValueError: p must be in [0, 1), got 1.5
    """
    if value is None and allow_none:
        return None
    kind = numbers.Integral if integer else numbers.Real
    if isinstance(value, bool) or not isinstance(value, kind):
        what = "an integer" if integer else "a number"
        raise TypeError(f"{name} must be {what}{_rule(greater_than, at_least, less_than, at_most, ' ')}"
                        f", got {value!r}")
    given = value
    try:
        value = int(value) if integer else float(value)
    except OverflowError:  # an int past float's range (10**400): out of every range
        value = math.inf if value > 0 else -math.inf
    if not (math.isnan(value) or (finite and math.isinf(value))
            or (greater_than is not None and not value > greater_than)
            or (at_least is not None and not value >= at_least)
            or (less_than is not None and not value < less_than)
            or (at_most is not None and not value <= at_most)):
        return value
    rule = _rule(greater_than, at_least, less_than, at_most, "")
    if math.isnan(value) or (finite and math.isinf(value)):
        rule = "a finite number" + (" " + rule if rule else "")
    raise ValueError(f"{name} must be {rule}, got {given!r}")


def _rule(greater_than, at_least, less_than, at_most, lead):
    """The range as text: ``> 0``, ``>= 1``, ``in [0, 1)``; empty without bounds."""
    low = (f"({_text(greater_than)}" if greater_than is not None else
           f"[{_text(at_least)}" if at_least is not None else None)
    high = (f"{_text(less_than)})" if less_than is not None else
            f"{_text(at_most)}]" if at_most is not None else None)
    if low and high:
        return f"{lead}in {low}, {high}"
    if low:
        return f"{lead}{'>' if low[0] == '(' else '>='} {low[1:]}"
    if high:
        return f"{lead}{'<' if high[-1] == ')' else '<='} {high[:-1]}"
    return ""


def _text(bound):
    return repr(int(bound)) if float(bound).is_integer() else repr(float(bound))


def finite_number(value):
    """True for a finite int or float that is not a bool: what a number read from a file
    (JSON) must be before it is used. A bool is an int to Python; a JSON integer past
    float's range is compared, not handed to ``math.isfinite`` (which would raise
    OverflowError for it); NaN fails the comparison."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) \
        and -sys.float_info.max <= value <= sys.float_info.max


def whole_number(value, at_least=0):
    """True for an int that is not a bool, at least ``at_least`` (a count read from a file)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= at_least


def float_dtype(dtype, name="dtype"):
    """``np.dtype(dtype)``, or a TypeError unless it is a floating-point type."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be a floating-point type, got {dtype!r}") from None
    if dtype.kind != "f":
        raise TypeError(f"{name} must be a floating-point type, got {dtype}")
    return dtype


#: The chainrule package's folder (``.../chainrule/``): frames under it are chainrule's own.
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


def warn_user(message, category=UserWarning):
    """``warnings.warn(message, category)`` pointing at the first caller outside chainrule.

    A warning shows the file and line its ``stacklevel`` names; a fixed level is
    right for one way of calling only (``est.fit`` reaches the solver through more
    frames than ``net.fit`` reaches the loop), so the level is counted here: the
    user's ``est.fit(...)`` line, not the line inside chainrule that noticed.
    """
    frame, level = sys._getframe(1), 2   # stacklevel 2: the caller of this function
    while frame is not None and os.path.abspath(frame.f_code.co_filename).startswith(_PACKAGE):
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)
