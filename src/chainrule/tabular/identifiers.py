"""Which columns of a table are identifiers, to be left out as an analyst leaves them out
(the rules: :mod:`chainrule.tabular.preprocessing`'s docstring, "ID-like columns").

:func:`id_reason` says why a column looks like a key, a row index or the rows' numbers (or
None); :func:`mostly_numbers` finds a text column that is numbers with a typo in it.
"""
from __future__ import annotations

import re

import numpy as np

from .commas import NUMERIC_SHARE
from .read import is_numeric, pandas

#: A column with a distinct value in at least this share of its rows is a key: named like an
#: ID, or text (of at least _ID_ROWS rows, below which any column of names is "distinct").
_ID_SHARE, _ID_ROWS = 0.9, 20
#: Whole names of identifier columns (lower case, words joined by "_").
_ID_NAMES = {"id", "ids", "index", "idx", "rownames", "row_names", "row", "rowid", "row_id",
             "rownum", "row_number", "row_index", "uuid", "guid"}
#: Words that name an identifier at a name's end (customer_id, PassengerId) or start (id_cliente).
_ID_LAST, _ID_FIRST = {"id", "ids", "uuid", "guid"}, {"id"}
#: The words of a name: "PassengerId" -> passenger, id; "customer_ID" -> customer, id.
_WORDS = re.compile(r"[A-Z]+(?![a-z])|[A-Z]?[a-z]+|\d+")
#: pandas' name for a first column under an empty header cell: what ``to_csv`` writes for the
#: row index unless told ``index=False``.
_UNNAMED = "Unnamed: 0"


def mostly_numbers(series):
    present = series.dropna()
    if len(present) == 0:
        return False
    return pandas().to_numeric(present, errors="coerce").notna().mean() >= NUMERIC_SHARE


def _named_like_id(name):
    """True for ``id``, ``customer_id``, ``PassengerId``, ``id_cliente``, ``rownames``..., and
    for pandas' unnamed first column (the row index ``to_csv`` writes)."""
    name = str(name).strip()
    if name == _UNNAMED:
        return True
    words = [w.lower() for w in _WORDS.findall(name)]
    if not words:
        return False
    return "_".join(words) in _ID_NAMES or words[-1] in _ID_LAST or words[0] in _ID_FIRST


def id_reason(name, column):
    """Why ``column`` (all its rows: a row number is consecutive only in full) looks like an
    ID (module docstring), or None."""
    present = column.dropna()
    n = len(present)
    if n < 2:
        return None
    numeric = is_numeric(column)
    values = present.to_numpy(dtype=np.float64) if numeric else None
    if numeric and not (np.all(np.isfinite(values)) and np.all(np.mod(values, 1) == 0)):
        return None  # a measurement, however distinct its values (an infinity is refused later)
    distinct = present.nunique()
    if _named_like_id(name) and distinct >= _ID_SHARE * n:
        what = "an unnamed first column (a row index written with the table)" \
            if str(name).strip() == _UNNAMED else "named like an ID"
        return f"{what}, with a distinct value in {distinct} of its {n} rows"
    if n < _ID_ROWS:
        return None
    if numeric:
        low = values.min()
        if distinct == n and low in (0, 1) and values.max() - low == n - 1:
            order = " in row order" if np.all(np.diff(values) == 1) else ""
            return (f"its {n} values are the consecutive integers {low:.0f}..{values.max():.0f}"
                    f"{order}: the rows' numbers")
        return None
    if distinct >= _ID_SHARE * n:
        return f"a distinct value in {distinct} of its {n} rows"
    return None
