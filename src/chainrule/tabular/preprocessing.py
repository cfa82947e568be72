"""The fitted preprocessing of a table's feature columns, as a careful analyst would do it.

``Preprocessing.fit`` learns, from the training rows, how each feature column
becomes numbers; ``encode`` applies exactly that to any table later:

* **numeric** columns are standardised, ``z = (x − mean) / std``, mean and std
  computed in float64 on ``x / max|x|`` so that values near 1e300 neither
  overflow nor lose the column (std 0 → 1); or, with ``scale="quantile"``,
  mapped through their training quantiles to a standard normal (for skewed
  columns); or, with ``scale="robust"``, RealMLP's robust scaling with smooth
  clipping (Holzmüller et al., "Better by Default", 2024): ``z = (x − median) ·
  s`` with ``s = 1 / (q₃ − q₁)`` (the interquartile range; ``2 / (max − min)``
  when that is 0, and 0 for a constant column), then ``z / √(1 + (z/3)²)``,
  which is z near 0 and tends to ±3 for far-out values (:func:`robust_scale`).
  A missing value counts as the training mean (the median with "robust": 0
  after scaling).
  A column that still cannot be scaled to finite numbers is refused, by name.
* **text**, boolean and categorical columns become one 0/1 column per
  category. With more than ``_FEW`` categories, only the frequent ones (at
  least ``_MIN_COUNT`` rows, at most ``_MAX_KEPT``) keep a column; the rest
  share one "other" column. A missing value gives all zeros; so does a
  category never seen in training, and ``encode`` counts those per column so
  that the caller can say so.
* with ``category_embedding="many"``, a text column with more than
  :data:`EMBED_ABOVE` categories becomes instead one column of indices, read by
  the network's first layer (a :class:`~chainrule.CategoryEmbedding`: a learned
  vector per category): the categories seen in at least ``_MIN_COUNT`` training
  rows are 1..k (sorted), and index 0 stands for every other value — a rare
  category, a missing value, a category never seen in training. These index
  columns come last, after the numeric and the one-hot columns.
* **ID-like** columns are left out and listed in ``dropped``, each with the
  reason, as an analyst would drop them before training:

  - a column *named* like an identifier (``id``, ``customer_id``,
    ``PassengerId``, ``id_cliente``, ``uuid``, ``index``, ``rownames``,
    ``row``; an unnamed first column, which is how pandas' ``to_csv`` writes
    the row index) whose values are text or integers, distinct in at least
    90% of its rows: a key, one row per thing. A name like that with
    repeated values (``store_id`` of 10 stores) is a code of a group, kept;
  - an integer column, unnamed or not, that holds each of 0..n−1 or 1..n
    once (in any order): the rows' numbers;
  - a text column with a distinct value in at least 90% of its rows (of at
    least ``_ID_ROWS``): names, free text, keys.

  What is *not* dropped: a float column (a measurement, all distinct or
  not), an integer column whose distinct values are not the row numbers
  (``year`` 1990..2019, counts, prices in cents), however distinct. The
  values are judged on every row of the table (a row number is consecutive
  only in full). ``keep_id`` names columns to use anyway, ``drop`` columns to
  leave out whatever they hold.
* a column that is mostly numbers with some text in it is taken for a numeric
  column with a typo, and named with the row of the first text value.

Everything stored is plain JSON (kept in the model file's metadata).
"""
from __future__ import annotations

import numpy as np

from ..nn.checks import finite_number as _finite_number
from .commas import is_text
from .identifiers import id_reason, mostly_numbers
from .read import as_text, first_text, is_numeric, list_names, pandas, row
from .scaling import FAR, QUANTILES, mean_std, quantile_normal, robust_factor, robust_scale, standardise

#: Up to _FEW categories are all kept; above, those seen in >= _MIN_COUNT rows, at most _MAX_KEPT.
_FEW, _MIN_COUNT, _MAX_KEPT = 20, 5, 50
SCALES = ("standard", "quantile", "robust")
#: ``category_embedding``: every text column one-hot, or those of many levels embedded.
CATEGORY_EMBEDDINGS = ("none", "many")
#: With category_embedding="many", a text column with more categories than this (in the training
#: rows) is embedded; one with this many or fewer stays one-hot (where _FEW keeps every one).
EMBED_ABOVE = 20


class Preprocessing:
    """The fitted transformation of feature columns (see the module docstring).

    Attributes
    ----------
    scale : str
        "standard", "quantile" or "robust", for the numeric columns.
    numeric : list of dict
        ``{"name", "mean", "std"}`` per numeric column (and ``"quantiles"`` with scale="quantile",
        ``"median"`` and ``"factor"`` with scale="robust").
    categorical : list of dict
        ``{"name", "categories"}`` per categorical column (categories as strings), and
        ``"other"``: the rare categories that share one extra column (absent if none).
    embedded : list of dict
        ``{"name", "categories"}`` per column read as indices into a learned embedding
        (category i of the list is index i + 1; index 0 is any other value), and
        ``"other"``: its rare categories (index 0 too; absent if none).
    dropped : list of dict
        ``{"name", "reason"}`` per column left out.
    """

    def __init__(self, numeric=(), categorical=(), dropped=(), scale="standard", embedded=()):
        self.numeric, self.categorical = list(numeric), list(categorical)
        self.dropped, self.scale, self.embedded = list(dropped), scale, list(embedded)

    @classmethod
    def fit(cls, frame, where="data", rows=None, scale="standard", keep_id=(), drop=(),
            category_embedding="none"):
        """Learn the transformation from ``frame`` (statistics from ``rows`` only, if given).

        Every row is checked, so a typo or an infinity in a held-out row is still reported.
        ``keep_id`` names columns used although they look like IDs, ``drop`` columns left
        out whatever they hold (the options --keep-id and --drop); ``category_embedding``
        "many" embeds the text columns of more than :data:`EMBED_ABOVE` categories.
        """
        if scale not in SCALES:
            raise ValueError(f"scale must be one of {SCALES}, got {scale!r}")
        if category_embedding not in CATEGORY_EMBEDDINGS:
            raise ValueError(f"category_embedding must be one of {CATEGORY_EMBEDDINGS}, "
                             f"got {category_embedding!r}")
        keep_id, drop = _choices(frame, where, keep_id, drop)
        numeric, categorical, dropped, embedded = [], [], [], []
        for name in frame.columns:
            column = frame[name]
            kept = column if rows is None else column.iloc[rows]
            if str(name) in drop:
                dropped.append({"name": str(name), "reason": "named by --drop"})
                continue
            if not is_numeric(column) and is_text(column) and mostly_numbers(column):
                i, value = first_text(column)
                raise ValueError(f"{row(where, i)}: column {name!r} holds numbers but also the "
                                 f"text {value!r}; fix or remove that value")
            reason = None if str(name) in keep_id else id_reason(name, column)
            if reason is not None:
                dropped.append({"name": str(name), "reason": f"ID-like: {reason}"})
            elif is_numeric(column):
                numeric.append(_fit_numeric(column, kept, name, where, scale))
            else:
                counts = _category_counts(kept)
                if category_embedding == "many" and len(counts) > EMBED_ABOVE:
                    embedded.append(_fit_embedded(counts, name))
                else:
                    categorical.append(_fit_categorical(counts, name))
        if not numeric and not categorical and not embedded:
            more = f" (left out: {list_names(d['name'] for d in dropped)})" if dropped else ""
            raise ValueError(f"{where}: no feature columns besides the target{more}")
        return cls(numeric, categorical, dropped, scale, embedded)

    @property
    def columns(self):
        return [c["name"] for c in self.numeric + self.categorical + self.embedded]

    @property
    def text_columns(self):
        """The columns to read as text at prediction (they were text in training)."""
        return [c["name"] for c in self.categorical + self.embedded]

    @property
    def n_features(self):
        return self.n_passed + len(self.embedded)

    @property
    def n_passed(self):
        """The numeric and one-hot columns: those before the index columns."""
        return len(self.numeric) + sum(len(c["categories"]) + ("other" in c)
                                       for c in self.categorical)

    @property
    def category_counts(self):
        """Each embedded column's table size: its known categories and index 0."""
        return [len(c["categories"]) + 1 for c in self.embedded]

    def feature_names(self):
        return [c["name"] for c in self.numeric] + [
            name for c in self.categorical for name in
            [f"{c['name']}={cat}" for cat in c["categories"]]
            + ([f"{c['name']}=(other)"] if "other" in c else [])] + [
            f"{c['name']} (index)" for c in self.embedded]

    def transform(self, frame, where="data"):
        """The float64 matrix (n, n_features) for ``frame``'s feature columns."""
        return self.encode(frame, where)[0]

    def encode(self, frame, where="data"):
        """``(X, unseen)``: the float64 matrix (n, n_features), and per categorical column
        with categories never seen in training ``{name: (rows, [a few of them])}``."""
        missing = [name for name in self.columns if name not in frame.columns]
        if missing:
            raise ValueError(f"{where} lacks the feature column(s) {list_names(missing)} "
                             "the model was trained with")
        blocks, unseen = [], {}
        for c in self.numeric:
            blocks.append(self._numeric_block(frame[c["name"]], c, where)[:, None])
        for c in self.categorical:
            text = as_text(frame[c["name"]])
            cats = c["categories"]
            block = [text == cat for cat in cats]
            known = set(cats)
            if "other" in c:
                other = set(c["other"])
                block.append(np.array([t in other for t in text], dtype=bool))
                known |= other
            new = [t for t in text if t is not None and t not in known]
            if new:
                unseen[c["name"]] = (len(new), list(dict.fromkeys(new))[:3])
            blocks.append(np.stack(block, axis=1).astype(np.float64) if block
                          else np.zeros((len(frame), 0)))
        for c in self.embedded:
            index, new = _indices(as_text(frame[c["name"]]), c)
            if new:
                unseen[c["name"]] = (len(new), list(dict.fromkeys(new))[:3])
            blocks.append(index[:, None])
        X = np.hstack(blocks) if blocks else np.zeros((len(frame), 0))
        return X, unseen

    def _numeric_block(self, column, c, where):
        name = c["name"]
        if not is_numeric(column):
            found = first_text(column)
            if found is not None:
                i, value = found
                raise ValueError(f"{row(where, i)}: column {name!r} is numeric, "
                                 f"found the text {value!r}")
        values = pandas().to_numeric(column, errors="coerce").to_numpy(dtype=np.float64)
        if np.isinf(values).any():
            i = int(np.argmax(np.isinf(values)))
            raise ValueError(f"{row(where, i)}: column {name!r} is infinite")
        if "quantiles" in c:
            z = quantile_normal(values, c["quantiles"])
        elif "factor" in c:
            z = robust_scale(values, c["median"], c["factor"])
        else:
            z = standardise(values, c["mean"], c["std"])
        far = np.abs(z) > FAR
        if far.any():
            i = int(np.argmax(far))
            raise ValueError(f"{row(where, i)}: column {name!r} holds {values[i]:g}, "
                             f"{abs(z[i]):.3g} standard deviations from the training mean: "
                             "too far for the model to use")
        return np.where(np.isnan(z), 0.0, z)

    def to_json(self):
        data = {"scale": self.scale, "numeric": self.numeric, "categorical": self.categorical,
                "dropped": self.dropped}
        if self.embedded:  # absent otherwise: such a file is what it was before embeddings
            data["embedded"] = self.embedded
        return data

    @classmethod
    def from_json(cls, data, where="model"):
        """Rebuild from stored JSON, checking every field."""
        if not isinstance(data, dict):
            raise ValueError(f"{where}: preprocessing must be a JSON object")
        numeric, categorical = data.get("numeric"), data.get("categorical")
        dropped, scale = data.get("dropped", []), data.get("scale", "standard")
        embedded = data.get("embedded", [])
        if not isinstance(numeric, list) or not isinstance(categorical, list) \
                or not isinstance(dropped, list) or not isinstance(embedded, list):
            raise ValueError(f"{where}: preprocessing needs 'numeric' and 'categorical' lists")
        if scale not in SCALES:
            raise ValueError(f"{where}: preprocessing scale must be one of {SCALES}, got {scale!r}")
        for c in numeric:
            if not _good_numeric(c) or (scale == "robust") != ("factor" in c):
                raise ValueError(f"{where}: bad numeric column record {c!r}"[:400])
        for what, records in (("categorical", categorical), ("embedded", embedded)):
            for c in records:
                if not _good_categorical(c, distinct=what == "embedded"):
                    raise ValueError(f"{where}: bad {what} column record {c!r}"[:400])
        for d in dropped:
            if not (isinstance(d, dict) and isinstance(d.get("name"), str)
                    and isinstance(d.get("reason"), str)):
                raise ValueError(f"{where}: bad dropped column record {d!r}")
        return cls(numeric, categorical, dropped, scale, embedded)


def _good_categorical(c, distinct=False):
    """A categorical record: a name, a list of category strings (distinct for an embedded
    column, whose indices they give), an optional list of other ones."""
    ok = isinstance(c, dict) and isinstance(c.get("name"), str) and "categories" in c and all(
        isinstance(c.get(k, []), list) and all(isinstance(v, str) for v in c.get(k, []))
        for k in ("categories", "other"))
    return ok and (not distinct or len(set(c["categories"])) == len(c["categories"]))


def _choices(frame, where, keep_id, drop):
    """``keep_id`` and ``drop`` as sets of names, each a feature column of ``frame``, none in both."""
    keep_id, drop = {str(k) for k in keep_id}, {str(k) for k in drop}
    names = {str(c) for c in frame.columns}
    for option, chosen in (("--keep-id", keep_id), ("--drop", drop)):
        unknown = chosen - names
        if unknown:
            raise ValueError(f"{option} names {list_names(sorted(unknown))}, not a feature column "
                             f"of {where}")
    both = keep_id & drop
    if both:
        raise ValueError(f"--keep-id and --drop both name {list_names(sorted(both))}: choose one")
    return keep_id, drop


def _good_numeric(c):
    if not (isinstance(c, dict) and isinstance(c.get("name"), str)
            and _finite_number(c.get("mean")) and _finite_number(c.get("std")) and c["std"] > 0):
        return False
    if ("median" in c or "factor" in c) and not (
            _finite_number(c.get("median")) and _finite_number(c.get("factor")) and c["factor"] >= 0):
        return False
    q = c.get("quantiles", [0.0])
    return isinstance(q, list) and len(q) >= 1 and all(_finite_number(v) for v in q) \
        and all(a <= b for a, b in zip(q, q[1:]))


def _fit_numeric(column, kept, name, where, scale):
    every = column.to_numpy(dtype=np.float64)
    if np.isinf(every).any():
        i = int(np.argmax(np.isinf(every)))
        raise ValueError(f"{row(where, i)}: column {name!r} is infinite")
    values = kept.to_numpy(dtype=np.float64)
    present = values[~np.isnan(values)]
    if len(present) == 0:
        raise ValueError(f"{where}: column {name!r} has no values")
    mean, std = mean_std(present)
    record = {"name": str(name), "mean": mean, "std": std}
    if scale == "quantile":
        k = min(QUANTILES, len(present))
        record["quantiles"] = [float(v) for v in np.quantile(present, np.linspace(0, 1, k))]
    elif scale == "robust":
        record.update(median=float(np.median(present)), factor=robust_factor(present))
    else:
        z = standardise(present, mean, std)
        if not np.all(np.isfinite(z)):  # kept as a guard: mean_std makes this unreachable so far
            raise ValueError(f"{where}: column {name!r} cannot be standardised to finite numbers "
                             f"(mean {mean:g}, std {std:g}); rescale or remove it")
    return record


def _category_counts(kept):
    """The training rows' count of each value of a text column (as text; missing not counted)."""
    return pandas().Series(as_text(kept), dtype=object).dropna().value_counts()


def _fit_embedded(counts, name):
    """An embedded column's record from its ``counts``: the categories of at least _MIN_COUNT
    training rows, sorted (indices 1..k), and the rarer ones (index 0, with missing and
    unseen values)."""
    record = {"name": str(name), "categories": sorted(k for k, n in counts.items()
                                                      if n >= _MIN_COUNT)}
    rare = sorted(k for k, n in counts.items() if n < _MIN_COUNT)
    if rare:
        record["other"] = rare
    return record


def _indices(text, c):
    """``(indices, unseen)``: each value's index in the embedded column ``c`` as float64
    (category i of its list is i + 1; a rare, missing or unseen value 0), and the values
    not seen in training (neither known nor rare)."""
    index = {cat: i for i, cat in enumerate(c["categories"], start=1)}
    rare = set(c.get("other", ()))
    found = np.array([index.get(t, 0) if t is not None else 0 for t in text], dtype=np.float64)
    unseen = [t for t in text if t is not None and t not in index and t not in rare]
    return found, unseen


def _fit_categorical(counts, name):
    """A one-hot column's record from its ``counts``: every category of a few, else the
    frequent ones and the rest as "other"."""
    record = {"name": str(name)}
    if len(counts) <= _FEW:
        record["categories"] = sorted(counts.index)
        return record
    # most frequent first; ties by name, so that the choice does not depend on row order
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    frequent = [k for k, n in ranked[:_MAX_KEPT] if n >= _MIN_COUNT]
    record["categories"] = sorted(frequent)
    rare = sorted(set(counts.index) - set(frequent))
    if rare:
        record["other"] = rare
    return record
