"""Tables for the command line: reading CSV/Parquet files, and the words that name their rows.

``read_table`` reads a ``.csv`` (``.txt``, ``.tsv``) or ``.parquet`` file into a
pandas DataFrame and refuses, in one line naming the file, what a careful
analyst would not train on silently:

* a missing, empty or binary file (a model file given where a table belongs),
  a file with a header but no rows;
* duplicate column headers (pandas would rename ``target,target`` to
  ``target, target.1`` and train on the wrong one).

The field separator is ``sep`` when given, else a tab for ``.tsv`` files and
otherwise whichever of ``,`` ``;`` tab ``|`` the header line holds most often
(a semicolon file is common where the decimal mark is a comma).
``text_columns`` are read as text whatever they look like: a column of codes
``1``, ``2``, ``x`` one-hot encoded in training must not turn into the floats
``1.0``, ``2.0`` at prediction because one value is missing there.

Needs pandas (``pip install chainrule[tabular]``); Parquet also needs pyarrow.
"""
from __future__ import annotations

import csv
import os

import numpy as np

#: An integer target with at most this many distinct values is taken as class labels.
_MAX_CLASSES = 20
#: Separators the header line is searched for, in order of preference on a tie.
_SEPARATORS = (",", ";", "\t", "|")


def pandas():
    """The pandas module, or ImportError naming the extra that installs it."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("reading tables needs pandas: pip install 'chainrule[tabular]'") from None
    return pd


def check_file(path, what="file"):
    """ValueError in one line when ``path`` does not exist, is a folder or is empty."""
    where = os.fspath(path)
    if not os.path.exists(where):
        raise ValueError(f"{where}: no such {what}")
    if os.path.isdir(where):
        raise ValueError(f"{where} is a folder, not a {what}")
    if os.path.getsize(where) == 0:
        raise ValueError(f"{where} is empty (0 bytes): expected a header row and data rows")
    return where


def _first_line(where):
    with open(where, "rb") as f:
        head = f.read(65536)
    if b"\0" in head:  # text files never hold NUL bytes; safetensors, zip and Parquet files do
        raise ValueError(f"{where} is not a table: it holds binary data (a model file?); "
                         "expected a CSV file with a header row")
    try:
        text = head.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        if error.start < len(head) - 4:  # not merely a character cut at the end of the block
            try:
                text = head.decode("latin-1")
            except UnicodeDecodeError:  # pragma: no cover (latin-1 decodes every byte)
                text = ""
        else:
            text = head[:error.start].decode("utf-8-sig")
    return text.splitlines()[0] if text.strip() else ""


def detect_sep(header):
    """The separator the header line holds most often (``,`` when it holds none)."""
    counts = [header.count(s) for s in _SEPARATORS]
    return _SEPARATORS[int(np.argmax(counts))] if max(counts) > 0 else ","


def _check_headers(names, where):
    seen, twice = set(), []
    for name in names:
        if name in seen and name not in twice:
            twice.append(name)
        seen.add(name)
    if twice:
        raise ValueError(f"{where} has duplicate column headers {list_names(twice)}: each column "
                         "needs its own name (rename or remove the copies)")


def read_table(path, sep=None, text_columns=()):
    """A DataFrame from a ``.csv`` (``.txt``/``.tsv``) or ``.parquet`` file (module docstring)."""
    pd = pandas()
    where = check_file(path)
    ext = os.path.splitext(where)[1].lower()
    text_columns = [str(c) for c in text_columns]
    try:
        if ext in (".parquet", ".pq"):
            try:
                import pyarrow  # noqa: F401  (pandas' Parquet engine)
            except ImportError:
                raise ImportError("reading Parquet needs pyarrow: pip install 'chainrule[tabular]'") from None
            frame = pd.read_parquet(where)
            _check_headers([str(c) for c in frame.columns], where)
            for name in text_columns:
                if name in frame.columns:
                    frame[name] = as_text(frame[name])
        else:
            header = _first_line(where)
            if sep is None:
                sep = "\t" if ext == ".tsv" else detect_sep(header)
            names = next(csv.reader([header], delimiter=sep), [])
            _check_headers(names, where)
            frame = pd.read_csv(where, sep=sep, dtype={name: str for name in text_columns})
    except ImportError:
        raise
    except pd.errors.EmptyDataError:
        raise ValueError(f"{where} has no columns: expected a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{where} is not a readable CSV file: {first}") from None
    except ValueError as error:
        if str(error).startswith(where):  # ours, already naming the file
            raise
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{where} is not a readable table: {first}") from None
    except Exception as error:  # pyarrow raises its own error types for a bad Parquet file
        if ext in (".parquet", ".pq"):
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"{where} is not a readable Parquet file: {first}") from None
        raise
    if len(frame) == 0:
        raise ValueError(f"{where} has a header but no data rows")
    return frame


def as_text(series):
    """``series`` as an object array of str, None where missing; whole floats as integers
    (``2.0`` → ``"2"``: what a column of codes read as numbers would have said as text)."""
    out = np.empty(len(series), dtype=object)
    for i, v in enumerate(series.tolist()):
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pandas().NA:
            out[i] = None
        elif isinstance(v, float) and v.is_integer():
            out[i] = str(int(v))
        else:
            out[i] = str(v)
    return out


def is_numeric(series):
    pd = pandas()
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def is_text(series):
    pd = pandas()
    return series.dtype == object or pd.api.types.is_string_dtype(series)


def first_text(series):
    """(row, value) of the first entry that is present but not a number, or None."""
    numbers = pandas().to_numeric(series, errors="coerce")
    bad = numbers.isna() & series.notna()
    if not bad.any():
        return None
    i = int(np.argmax(bad.to_numpy()))
    return i, series.iloc[i]


def row(where, i):
    """``data.csv: row 3 (line 4)``: data row i (0-based) is line i + 2 under one header line."""
    return f"{where}: row {i + 1} (line {i + 2})"


def list_names(names, limit=8):
    """``'a', 'b', ... and 12 more``: column names for a one-line message."""
    names = [repr(str(n)) for n in names]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def detect_task(y):
    """"classify" for text, boolean or few-integer targets, "regress" for other numbers."""
    if not is_numeric(y):
        return "classify"
    values = y.dropna().to_numpy()
    whole = np.all(np.mod(values, 1) == 0)
    return "classify" if whole and len(np.unique(values)) <= _MAX_CLASSES else "regress"
