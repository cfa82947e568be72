"""Numbers written with a decimal comma, and the dot as thousands separator.

A semicolon file is common where the decimal mark is a comma: there a text
column whose values are numbers written ``0,5`` or ``1.234,5`` (at least
:data:`NUMERIC_SHARE` of them, one with a comma) is read as numbers (a column
that is mostly such numbers keeps its other values as text, for preprocessing
to name the typo). A value such as ``1.234`` alone cannot be told from a
decimal point: in a file where some column was read with decimal commas (so
the file writes ``1.234,5`` for 1234.5), a number column whose dotted values
are all groups of three digits (``979``, ``4.359``, ``1.727``) is read with
the dot as the thousands separator (4359); elsewhere it is left as pandas
reads it (4.359).

That guess is made from the whole training file. A file given to predict may
be ten rows without one decimal comma, where the same guess would read 4.359
as 4.359: so the model file records which columns training read each way
(``{"decimal_comma": [...], "dot_thousands": [...]}``), and predict reads
those columns that way and guesses no dot thousands elsewhere. A model file
without the record (written before it) is read as before, file by file.
"""
from __future__ import annotations

import re

import numpy as np

#: A text column is "numeric with typos" when at least this share of its values parse as numbers.
NUMERIC_SHARE = 0.8
#: A number with a decimal comma (``-0,5``, ``1.234,5``, ``2,5e3``) or an integer (``12``).
_COMMA_NUMBER = re.compile(r"[+-]?(?:(?:\d{1,3}(?:\.\d{3})+|\d+),\d+(?:[eE][+-]?\d+)?|\d+)")
#: An integer with dots between groups of three digits (``4.359``, ``-1.234.567``): in a file
#: that writes decimal commas, the dot is its thousands separator.
_DOT_THOUSANDS = re.compile(r"[+-]?\d{1,3}(?:\.\d{3})+")
#: A value of a dot-thousands column: groups of three digits after dots, or a plain integer.
_THOUSANDS_OR_WHOLE = re.compile(r"[+-]?(?:\d{1,3}(?:\.\d{3})+|\d+)")
#: The keys of a model file's record, in the order :func:`read_numbers` applies them.
KINDS = {"decimal_comma": _COMMA_NUMBER, "dot_thousands": _THOUSANDS_OR_WHOLE}


def is_text(series):
    """Whether a pandas column holds text (object or a string dtype)."""
    from pandas.api.types import is_string_dtype
    return series.dtype == object or is_string_dtype(series)


def _converted(pd, series, pattern):
    """``series`` (text) with each value that fully matches ``pattern`` as a number (its
    dots dropped, its comma the decimal point): float64 when every present value
    matches, else object, the other values kept as text for preprocessing to name."""
    present = series.dropna()
    text = present.astype(str).str.strip()
    ok = text.str.fullmatch(pattern).to_numpy(dtype=bool)
    dotted = text[ok].str.replace(".", "", regex=False).str.replace(",", ".", regex=False)
    if ok.all():
        out = pd.Series(np.nan, index=series.index, dtype=np.float64)
        out[present.index] = dotted.astype(np.float64).to_numpy()
        return out
    out = series.astype(object).copy()
    out[dotted.index] = dotted.to_numpy(dtype=object)
    return out


def _decimal_comma(pd, series):
    """``series`` (text) with its decimal-comma numbers as floats, or None when it holds
    none or too few of them (the module docstring)."""
    present = series.dropna()
    if len(present) == 0:
        return None
    text = present.astype(str).str.strip()
    numbers = text.str.fullmatch(_COMMA_NUMBER).to_numpy(dtype=bool)
    if numbers.mean() < NUMERIC_SHARE or not text[numbers].str.contains(",", regex=False).any():
        return None
    return _converted(pd, series, _COMMA_NUMBER)


def _read_decimal_commas(pd, frame, skip):
    """Text columns (not those in ``skip``) holding decimal-comma numbers, as numbers: the
    names of the columns that changed."""
    changed = []
    for name in frame.columns:
        if str(name) in skip or not is_text(frame[name]):
            continue
        numbers = _decimal_comma(pd, frame[name])
        if numbers is not None:
            frame[name] = numbers
            changed.append(str(name))
    return changed


def _read_dot_thousands(pd, frame, where, skip):
    """Number columns of a decimal-comma file (not those in ``skip``) whose dotted values are
    all groups of three digits, read again as text and their dots taken as thousands
    separators (the module docstring): the names of the columns that changed."""
    # pandas made floats of 979 and 4.359, and kept -1.727.000 as text
    candidates = [name for name in frame.columns if str(name) not in skip
                  and (frame[name].dtype.kind == "f" or is_text(frame[name]))]
    if not candidates:
        return []
    raw = pd.read_csv(where, sep=";", usecols=candidates, dtype=str, index_col=False)
    changed = []
    for name in candidates:
        text = raw[name].dropna().str.strip()
        dotted = text[text.str.contains(".", regex=False)]
        if len(dotted) and dotted.str.fullmatch(_DOT_THOUSANDS).all() \
                and text.str.fullmatch(r"[+-]?[\d.]+").all():
            frame[name] = _converted(pd, raw[name], _THOUSANDS_OR_WHOLE)
            changed.append(str(name))
    return changed


def read_numbers(pd, frame, where, sep, text_columns, numbers=None):
    """Read ``frame``'s numbers the decimal-comma way where the module docstring says (in
    place): ``{"decimal_comma": [...], "dot_thousands": [...]}``, the columns read so.

    ``sep``: the file's separator (None for a Parquet file). ``numbers``: a model file's
    record (:func:`check_numbers`): its columns, read as text, are read its way, and dot
    thousands are guessed nowhere else; decimal commas still are (``0,5`` can mean
    nothing but 0.5) in the other text columns of a semicolon file.
    """
    skip = {str(c) for c in text_columns}
    found = {kind: [] for kind in KINDS}
    if numbers is not None:
        for kind, pattern in KINDS.items():
            for name in numbers[kind]:
                # a column training one-hot encoded stays text, whatever a record says
                if name in frame.columns and name not in skip and is_text(frame[name]):
                    frame[name] = _converted(pd, frame[name], pattern)
                    found[kind].append(name)
        skip |= {*numbers["decimal_comma"], *numbers["dot_thousands"]}
    if sep != ";":
        return found
    commas = _read_decimal_commas(pd, frame, skip)
    found["decimal_comma"] += commas
    if commas and numbers is None:
        # the columns asked for as text, and those just read with commas, stay
        found["dot_thousands"] = _read_dot_thousands(pd, frame, where, {*skip, *commas})
    return found


def check_numbers(record, where):
    """A model file's ``numbers`` record, checked (None when the file has none: one written
    before chainrule recorded it, read file by file as then)."""
    if record is None:
        return None
    if not (isinstance(record, dict) and set(record) == set(KINDS)
            and all(isinstance(v, list) and all(isinstance(n, str) for n in v)
                    for v in record.values())):
        raise ValueError(f"{where}: the 'numbers' record must hold two lists of column names, "
                         "'decimal_comma' and 'dot_thousands'")
    return {kind: list(record[kind]) for kind in KINDS}
