"""Tables for the command line: reading CSV/Parquet files, and the words that name their rows.

``read_table`` reads a ``.csv`` (``.txt``, ``.tsv``) or ``.parquet`` file into a
pandas DataFrame and refuses, in one line naming the file, what a careful
analyst would not train on silently:

* a missing, empty or binary file (a model file given where a table belongs, an Excel
  workbook, a compressed file: :mod:`.sniff` names what it is), a file that is not UTF-8,
  a file with a header but no rows;
* duplicate column headers (pandas would rename ``target,target`` to
  ``target, target.1`` and train on the wrong one), wherever they are: the
  header is read by the parser that reads the rows, so a quoted header cell
  holding a line break hides none of the names after it;
* data rows with more fields than the header (pandas would take the first
  fields of each row as row labels and shift every column under the wrong name).

The field separator is ``sep`` when given, else a tab for ``.tsv`` files and
otherwise whichever of ``,`` ``;`` tab ``|`` the header line holds most often.
In a semicolon file, numbers written with a decimal comma (``0,5``, ``1.234,5``)
are read as numbers, and in such a file dotted integers (``4.359``) with the dot
as the thousands separator (:mod:`.commas`); ``read_table(..., note=)`` is told
which columns were, and :func:`read_table_with_numbers` returns them, for a model
file to record and predict to read the same way.
``text_columns`` are read as text whatever they look like: a column of codes
``1``, ``2``, ``x`` one-hot encoded in training must not turn into the floats
``1.0``, ``2.0`` at prediction because one value is missing there.

Needs pandas (``pip install chainrule[tabular]``); Parquet also needs pyarrow.
"""
from __future__ import annotations

import os
import re
import warnings

import numpy as np

from .commas import read_numbers
from .sniff import binary_kind, not_utf8

#: An integer target with at most this many distinct values is taken as class labels.
_MAX_CLASSES = 20
#: Separators the header line is searched for, in order of preference on a tie.
_SEPARATORS = (",", ";", "\t", "|")
#: A plain decimal number: a cell a spreadsheet reads as a number, not as a formula.
_PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")
#: First characters that make a spreadsheet run a cell as a formula (OWASP, "CSV Injection").
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def pandas():
    """The pandas module, or ImportError naming the extra that installs it."""
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("reading tables needs pandas: pip install 'chainrule[tabular]'") from None
    return pd


def check_file(path, what="file", holds="a header row and data rows"):
    """ValueError in one line when ``path`` does not exist, is a folder or is empty (``holds``:
    what such a file should have held)."""
    where = os.fspath(path)
    if not os.path.exists(where):
        raise ValueError(f"{where}: no such {what}")
    if os.path.isdir(where):
        raise ValueError(f"{where} is a folder, not a {what}")
    if os.path.getsize(where) == 0:
        raise ValueError(f"{where} is empty (0 bytes): expected {holds}")
    return where


def _first_line(where):
    with open(where, "rb") as f:
        head = f.read(65536)
    kind = binary_kind(head, where)
    if kind is not None:
        raise ValueError(f"{where} is not a table: it is {kind[0]}; {kind[1]}")
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
        # an empty header cell is no name: pandas calls each one "Unnamed: i", all distinct
        if name in seen and name not in twice and name != "":
            twice.append(name)
        seen.add(name)
    if twice:
        raise ValueError(f"{where} has duplicate column headers {list_names(twice)}: each column "
                         "needs its own name (rename or remove the copies)")


def _header(pd, where, sep):
    """The header row's cells, read by the parser that reads the rows (a quoted cell may
    hold a line break: the header is then more than the file's first line)."""
    head = pd.read_csv(where, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False,
                       na_filter=False)
    return [str(v) for v in head.iloc[0].tolist()] if len(head) else []


def _read_csv(pd, where, sep, text_columns):
    names = _header(pd, where, sep)
    _check_headers(names, where)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", pd.errors.ParserWarning)
        try:
            # index_col=False: pandas would otherwise make the first fields row labels
            frame = pd.read_csv(where, sep=sep, dtype=dict.fromkeys(text_columns, str),
                                index_col=False)
        except pd.errors.ParserError as error:  # "Expected 3 fields in line 5, saw 4"
            if "fields in line" in str(error):
                _longer_row(where, sep, len(names))
            raise
    # with a one-character sep (the C parser) pandas' one ParserWarning is "Length of header
    # or names does not match length of data": it cut the first data row's extra fields
    if any(issubclass(w.category, pd.errors.ParserWarning) for w in caught):
        _longer_row(where, sep, len(names))
        raise ValueError(f"{where}: data rows have more fields than the header's {len(names)} "
                         "(a header cell is missing, or a separator ends each row): read as "
                         "they are, every column would shift under the wrong name")
    return frame


def _longer_row(where, sep, expected):
    """ValueError naming the first data row of ``where`` with more than ``expected`` fields:
    its line in the file (a quoted cell may span lines, so pandas' count of rows is not
    one), how many fields it has, and the likely causes. Called only once pandas has failed
    on such a row, so the scan reads no further than pandas did."""
    import csv
    with open(where, encoding="utf-8-sig", errors="replace", newline="") as f:
        reader = csv.reader(f, delimiter=sep, quotechar='"', doublequote=True)
        try:
            next(reader, None)  # the header
            start, count = reader.line_num + 1, 0
            for fields in reader:
                count += bool(fields)  # a blank line is no row, as pandas skips it
                if len(fields) > expected:
                    every = "" if count > 1 else ("; if every row has one more, a header "
                                                  "cell is missing or a separator ends each row")
                    raise ValueError(
                        f"{where}: line {start} (data row {count}) has {len(fields)} fields, the "
                        f"header {expected}: a text cell that holds the separator {sep!r} needs "
                        f"quotes (\"...\"), or a stray {sep!r} ends the line{every}; read as "
                        "it is, the columns would shift under the wrong names")
                start = reader.line_num + 1
        except csv.Error:  # a field beyond the csv module's size limit: pandas' words stand
            return


def read_table(path, sep=None, text_columns=(), note=None, numbers=None):
    """A DataFrame from a ``.csv`` (``.txt``/``.tsv``) or ``.parquet`` file (module docstring).

    ``note(text)``, when given, is told in one line what was read otherwise than
    pandas would (the columns read with a decimal comma). ``numbers``: how training
    read the numbers (:func:`read_table_with_numbers`), to read them the same way.
    """
    return read_table_with_numbers(path, sep, text_columns, note, numbers)[0]


def read_table_with_numbers(path, sep=None, text_columns=(), note=None, numbers=None):
    """``(frame, numbers)``: :func:`read_table`'s frame, and which columns were read with a
    decimal comma or the dot as thousands separator (:mod:`.commas`), for a model file to
    record: ``numbers``, when given, is such a record, and those columns are read its way."""
    pd = pandas()
    sep = _separator(sep)
    where = check_file(path)
    ext = os.path.splitext(where)[1].lower()
    text_columns = [str(c) for c in text_columns]
    recorded = [] if numbers is None else [*numbers["decimal_comma"], *numbers["dot_thousands"]]
    try:
        if ext in (".parquet", ".pq"):
            frame = _read_parquet(pd, where, text_columns)
        else:
            header = _first_line(where)
            if sep is None:
                sep = "\t" if ext == ".tsv" else detect_sep(header)
            # a recorded column is read as text, to be read as training read it
            frame = _read_csv(pd, where, sep, [*text_columns, *recorded])
        found = read_numbers(pd, frame, where, sep if ext not in (".parquet", ".pq") else None,
                             text_columns, numbers)
    except ImportError:
        raise
    except pd.errors.EmptyDataError:
        raise ValueError(f"{where} has no columns: expected a header row and data rows") from None
    except UnicodeDecodeError as error:
        not_utf8(where)
        raise ValueError(f"{where} is not a readable CSV file: {_first(error)}") from None
    except pd.errors.ParserError as error:
        raise ValueError(f"{where} is not a readable CSV file: {_first(error)}") from None
    except ValueError as error:
        if str(error).startswith(where):  # ours, already naming the file
            raise
        raise ValueError(f"{where} is not a readable table: {_first(error)}") from None
    except Exception as error:  # pyarrow raises its own error types for a bad Parquet file
        if ext in (".parquet", ".pq"):
            raise ValueError(f"{where} is not a readable Parquet file: {_first(error)}") from None
        raise
    if len(frame) == 0:
        raise ValueError(f"{where} has a header but no data rows")
    if found["decimal_comma"] and note is not None and numbers is None:
        note(f"read {list_names(found['decimal_comma'])} as numbers with a decimal comma "
             "(0,5 = 0.5)")
    if found["dot_thousands"] and note is not None and numbers is None:
        note(f"read {list_names(found['dot_thousands'])} with the dot as the thousands separator "
             "(4.359 = 4359), as this file writes its decimal-comma numbers (1.234,5)")
    return frame, found


def _separator(sep):
    """``sep`` checked: one character (pandas reads a longer one as a regular expression,
    with another parser); the two characters ``\\t`` typed in a shell mean a tab."""
    if sep is None:
        return None
    if sep == "\\t":
        return "\t"
    if not isinstance(sep, str) or len(sep) != 1 or sep in "\"\r\n":
        raise ValueError(f"--sep must be one character such as ',' ';' or '\\t', got {sep!r}")
    return sep


def _first(error):
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _read_parquet(pd, where, text_columns):
    try:
        import pyarrow  # noqa: F401  (pandas' Parquet engine)
    except ImportError:
        raise ImportError("reading Parquet needs pyarrow: pip install 'chainrule[tabular]'") from None
    frame = pd.read_parquet(where)
    _check_headers([str(c) for c in frame.columns], where)
    for name in text_columns:
        if name in frame.columns:
            frame[name] = as_text(frame[name])
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


def printable(text):
    """``text`` with every character a terminal would act on or hide written as an escape:
    control characters (ESC starts a terminal command), bidirectional overrides and
    other invisible formatting (``\\x1b``, ``\\u202e``), as ``repr`` writes them."""
    text = str(text)
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)


def spreadsheet_safe(text):
    """``text`` with a leading ``'`` when a spreadsheet would run it as a formula: it starts
    with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return and is not a number
    (OWASP's rule against CSV injection). A number such as ``-1.5`` stays as it is."""
    if text.startswith(_FORMULA_START) and not _PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


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
