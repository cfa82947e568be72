"""Tabular data for the command line: reading CSV/Parquet, and the fitted preprocessing.

``read_table`` reads a ``.csv`` or ``.parquet`` file into a pandas DataFrame,
with a one-line ValueError for an empty or unreadable file.

``Preprocessing`` turns a DataFrame's feature columns into the float matrix a
network takes, and remembers how, so that prediction applies exactly the
training transformation:

* a numeric column x is standardised, ``(x − mean) / std`` (std 0 → 1), a
  missing value counting as the training mean (0 after standardising);
* a text, boolean or categorical column becomes one 0/1 column per category
  seen in training (sorted); a category not seen in training, or a missing
  value, gives all zeros.

A column that is mostly numbers with some text in it is taken for a numeric
column with a typo, and named with the row of the first text value, rather
than being silently one-hot encoded. Everything it stores is plain JSON (kept
in the model file's metadata). Needs pandas (``pip install chainrule[tabular]``);
Parquet also needs pyarrow.
"""
from __future__ import annotations

import os

import numpy as np

#: A text column is "numeric with typos" when at least this share of its values parse as numbers.
_NUMERIC_SHARE = 0.8
#: An integer target with at most this many distinct values is taken as class labels.
_MAX_CLASSES = 20


def _pandas():
    try:
        import pandas as pd
    except ImportError:
        raise ImportError("reading tables needs pandas: pip install 'chainrule[tabular]'") from None
    return pd


def read_table(path):
    """A DataFrame from a ``.csv`` (or ``.txt``/``.tsv``) or ``.parquet`` file."""
    pd = _pandas()
    where = os.fspath(path)
    if not os.path.exists(where):
        raise ValueError(f"{where}: no such file")
    if os.path.getsize(where) == 0:
        raise ValueError(f"{where} is empty (0 bytes): expected a header row and data rows")
    ext = os.path.splitext(where)[1].lower()
    try:
        if ext in (".parquet", ".pq"):
            try:
                import pyarrow  # noqa: F401  (pandas' Parquet engine)
            except ImportError:
                raise ImportError("reading Parquet needs pyarrow: pip install 'chainrule[tabular]'") from None
            frame = pd.read_parquet(where)
        else:
            frame = pd.read_csv(where, sep="\t" if ext == ".tsv" else ",")
    except ImportError:
        raise
    except pd.errors.EmptyDataError:
        raise ValueError(f"{where} has no columns: expected a header row and data rows") from None
    except (pd.errors.ParserError, UnicodeDecodeError) as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ValueError(f"{where} is not a readable CSV file: {first}") from None
    except Exception as error:  # pyarrow raises its own error types for a bad Parquet file
        if ext in (".parquet", ".pq"):
            first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ValueError(f"{where} is not a readable Parquet file: {first}") from None
        raise
    if len(frame) == 0:
        raise ValueError(f"{where} has a header but no data rows")
    return frame


def _first_text(series):
    """(row, value) of the first entry that is present but not a number, or None."""
    numbers = _pandas().to_numeric(series, errors="coerce")
    bad = numbers.isna() & series.notna()
    if not bad.any():
        return None
    i = int(np.argmax(bad.to_numpy()))
    return i, series.iloc[i]


def _is_numeric(series):
    pd = _pandas()
    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _is_text(series):
    pd = _pandas()
    return series.dtype == object or pd.api.types.is_string_dtype(series)


def _mostly_numbers(series):
    present = series.dropna()
    if len(present) == 0:
        return False
    parsed = _pandas().to_numeric(present, errors="coerce").notna().mean()
    return parsed >= _NUMERIC_SHARE


def _row(where, i):
    # data row i (0-based) is line i + 2 of a CSV file with one header line
    return f"{where}: row {i + 1} (line {i + 2})"


def list_names(names, limit=8):
    """``'a', 'b', ... and 12 more``: column names for a one-line message."""
    names = [repr(str(n)) for n in names]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def detect_task(y):
    """"classify" for text, boolean or few-integer targets, "regress" for other numbers."""
    if not _is_numeric(y):
        return "classify"
    values = y.dropna().to_numpy()
    whole = np.all(np.mod(values, 1) == 0)
    return "classify" if whole and len(np.unique(values)) <= _MAX_CLASSES else "regress"


class Preprocessing:
    """The fitted transformation of feature columns (see the module docstring).

    Attributes
    ----------
    numeric : list of dict
        ``{"name", "mean", "std"}`` per numeric column.
    categorical : list of dict
        ``{"name", "categories"}`` per categorical column (categories as strings).
    """

    def __init__(self, numeric=(), categorical=()):
        self.numeric, self.categorical = list(numeric), list(categorical)

    @classmethod
    def fit(cls, frame, where="data", rows=None):
        """Learn the transformation from ``frame`` (statistics from ``rows`` only, if given).

        Every row is checked, so a typo in a held-out row is still reported.
        """
        numeric, categorical = [], []
        for name in frame.columns:
            column = frame[name]
            if _is_numeric(column):
                values = column.to_numpy(dtype=np.float64)
                if rows is not None:
                    values = values[rows]
                if np.isinf(values).any():
                    i = int(np.argmax(np.isinf(values)))
                    raise ValueError(f"{_row(where, i)}: column {name!r} is infinite")
                present = values[~np.isnan(values)]
                if len(present) == 0:
                    raise ValueError(f"{where}: column {name!r} has no values")
                std = float(present.std())
                numeric.append({"name": str(name), "mean": float(present.mean()),
                                "std": std if std > 0 else 1.0})
            elif _is_text(column) and _mostly_numbers(column):
                i, value = _first_text(column)
                raise ValueError(f"{_row(where, i)}: column {name!r} holds numbers but also the "
                                 f"text {value!r}; fix or remove that value")
            else:
                kept = column if rows is None else column.iloc[rows]
                cats = sorted({str(v) for v in kept.dropna()})
                categorical.append({"name": str(name), "categories": cats})
        if not numeric and not categorical:
            raise ValueError(f"{where}: no feature columns besides the target")
        return cls(numeric, categorical)

    @property
    def columns(self):
        return [c["name"] for c in self.numeric] + [c["name"] for c in self.categorical]

    @property
    def n_features(self):
        return len(self.numeric) + sum(len(c["categories"]) for c in self.categorical)

    def feature_names(self):
        return [c["name"] for c in self.numeric] + [
            f"{c['name']}={cat}" for c in self.categorical for cat in c["categories"]]

    def transform(self, frame, where="data"):
        """The float64 matrix (n, n_features) for ``frame``'s feature columns."""
        missing = [name for name in self.columns if name not in frame.columns]
        if missing:
            raise ValueError(f"{where} lacks the feature column(s) {list_names(missing)} "
                             "the model was trained with")
        blocks = []
        for c in self.numeric:
            column = frame[c["name"]]
            if not _is_numeric(column):
                found = _first_text(column)
                if found is not None:
                    i, value = found
                    raise ValueError(f"{_row(where, i)}: column {c['name']!r} is numeric, "
                                     f"found the text {value!r}")
            values = _pandas().to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
            if np.isinf(values).any():
                i = int(np.argmax(np.isinf(values)))
                raise ValueError(f"{_row(where, i)}: column {c['name']!r} is infinite")
            z = (values - c["mean"]) / c["std"]
            blocks.append(np.where(np.isnan(z), 0.0, z)[:, None])
        for c in self.categorical:
            column = frame[c["name"]]
            text = np.array([None if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
                             for v in column.tolist()], dtype=object)
            blocks.append(np.stack([text == cat for cat in c["categories"]], axis=1)
                          .astype(np.float64) if c["categories"] else np.zeros((len(frame), 0)))
        return np.hstack(blocks) if blocks else np.zeros((len(frame), 0))

    def to_json(self):
        return {"numeric": self.numeric, "categorical": self.categorical}

    @classmethod
    def from_json(cls, data, where="model"):
        """Rebuild from stored JSON, checking every field."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: preprocessing must be a JSON object")
        numeric, categorical = data.get("numeric"), data.get("categorical")
        if not isinstance(numeric, list) or not isinstance(categorical, list):
            raise ValueError(f"{where}: preprocessing needs 'numeric' and 'categorical' lists")
        for c in numeric:
            ok = isinstance(c, dict) and isinstance(c.get("name"), str) and all(
                isinstance(c.get(k), (int, float)) and not isinstance(c.get(k), bool)
                and np.isfinite(c.get(k)) for k in ("mean", "std")) and c["std"] > 0
            if not ok:
                raise ValueError(f"{where}: bad numeric column record {c!r}")
        for c in categorical:
            ok = isinstance(c, dict) and isinstance(c.get("name"), str) \
                and isinstance(c.get("categories"), list) \
                and all(isinstance(v, str) for v in c["categories"])
            if not ok:
                raise ValueError(f"{where}: bad categorical column record {c!r}")
        return cls(numeric, categorical)
