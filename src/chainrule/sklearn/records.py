"""The estimator's record in a model file: its parameters and fitted attributes as plain
JSON values, and the checks each value read back passes before it is used.

A value that breaks a rule raises ValueError naming the file, the field and the rule.
"""
from __future__ import annotations

import os

import numpy as np
from sklearn.base import is_classifier
from sklearn.preprocessing import LabelBinarizer

from .. import names
from ..nn.checks import whole_number
from ..nn.layers import CategoryEmbedding, Dense
from ..nn.periodic import PeriodicEmbedding
from ..validation import number
from .checks import check_params, embedded_categories

#: Fitted attributes stored as plain JSON values.
SCALARS = ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_", "t_",
            "loss_", "best_loss_", "best_validation_score_", "loss_curve_", "validation_scores_")
#: dtype kinds class labels may have (booleans, integers, floats, strings, Python objects).
_LABEL_KINDS = "biufUO"


def plain(value):
    """A JSON-safe form of a parameter or attribute value (tuples as lists, numpy as Python)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)  # "inf", "-inf", "nan": JSON has no infinities
    return value


#: Parameters added after files were written, left out of a file while they hold these
#: values (what loading a file without them gives): the file stays readable by the
#: chainrule before them, which refuses a parameter it does not know.
LATER = {"init": "glorot", "embedded_categories": (), "embedding_width": 8}


def params_record(est):
    params = est.get_params(deep=False)
    for name, default in LATER.items():
        if name in params and plain(params[name]) == plain(default):   # () and [] alike
            del params[name]
    params["dtype"] = np.dtype(params["dtype"]).name
    params["callbacks"] = None  # code, not data: never stored
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None
    cw = params.get("class_weight")
    if isinstance(cw, dict):
        params["class_weight"] = [[plain(k), plain(v)] for k, v in cw.items()]
    return {k: plain(v) for k, v in params.items()}


def estimator_record(est):
    """What a file stores of fitted ``est`` besides its network: class, parameters, fitted values."""
    fitted = {name: plain(getattr(est, name)) for name in SCALARS if hasattr(est, name)}
    if hasattr(est, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(n) for n in est.feature_names_in_]
    if is_classifier(est):
        fitted["classes_"] = plain(est.classes_)
        fitted["classes_dtype"] = est.classes_.dtype.str
        fitted["y_type_"] = est._binarizer.y_type_
    return {"class": type(est).__name__, "params": params_record(est), "fitted": fitted}


def construct(cls, params, where):
    """``cls(**params)`` from the stored parameters, each checked, or ValueError naming it."""
    valid = set(cls().get_params())
    unknown = set(params) - valid
    if unknown:
        raise ValueError(f"{where}: unknown {cls.__name__} parameters {sorted(unknown)}"[:300])
    params = dict(params)
    for key, value in params.items():
        # JSON integers are unbounded; past 64 bits they overflow every float check
        if isinstance(value, int) and abs(value) >= 2**63:
            raise ValueError(f"{where}: parameter {key} must fit in 64 bits, got {value}"[:300])
    require(params.get("callbacks") is None, where,
             f"parameter callbacks must be null in a file (code is never stored), "
             f"got {params.get('callbacks')!r}"[:300])
    sizes = params.get("hidden_layer_sizes", cls().hidden_layer_sizes)
    if isinstance(sizes, list):
        sizes = tuple(sizes)
    require(isinstance(sizes, (int, tuple)) and not isinstance(sizes, bool), where,
             f"hidden_layer_sizes must be an integer or a list of integers, got {sizes!r}"[:300])
    params["hidden_layer_sizes"] = sizes
    if "class_weight" in params:
        params["class_weight"] = _class_weight(params["class_weight"], where)
    dtype = params.get("dtype", "float32")
    if dtype not in ("float32", "float64"):
        raise ValueError(f"{where}: dtype {dtype!r} must be 'float32' or 'float64'"[:300])
    params["dtype"] = getattr(np, dtype)
    est = cls(**params)
    try:
        check_params(est)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueError(f"{where}: the stored {cls.__name__} parameters are invalid: "
                         f"{error}"[:400]) from None
    return est


def _class_weight(value, where):
    """class_weight as stored: null, "balanced", or a list of [label, weight] pairs."""
    if not isinstance(value, list):
        require(value is None or value == "balanced", where,
                 f"class_weight must be null, 'balanced' or a list of [label, weight] pairs, "
                 f"got {value!r}"[:300])
        return value
    weights = {}
    for pair in value:
        require(isinstance(pair, list) and len(pair) == 2, where,
                 f"class_weight entries must be [label, weight] pairs, got {pair!r}"[:300])
        label = _label(pair[0], where)
        weights[label] = _stored(f"class_weight of {label!r}", pair[1], where, at_least=0)
    return weights


#: The type each fitted attribute must have when stored (None where sklearn may leave it unset).
_NUMBER, _COUNT, _CURVE = "a number", "an integer >= 0", "a list of numbers"
_FITTED_RULES = {"n_features_in_": _COUNT, "n_outputs_": _COUNT, "n_layers_": _COUNT,
                 "n_iter_": _COUNT, "t_": _COUNT, "loss_": _NUMBER, "best_loss_": _NUMBER,
                 "best_validation_score_": _NUMBER, "loss_curve_": _CURVE,
                 "validation_scores_": _CURVE}


def fitted_value(name, value, where):
    """A stored fitted attribute, checked against its rule (non-finite floats are stored as
    the strings "inf", "-inf", "nan", JSON having no such numbers)."""
    if name == "out_activation_":
        require(isinstance(value, str), where, f"out_activation_ must be a string, got {value!r}"[:300])
        return value
    rule = _FITTED_RULES[name]
    if rule == _COUNT:
        require(whole_number(value) and value < 2**63,
                 where, f"{name} must be {rule}, got {value!r}"[:300])
        return value
    if rule == _CURVE:
        if value is None and name == "validation_scores_":
            return None
        require(isinstance(value, list), where, f"{name} must be {rule}, got {value!r}"[:300])
        return [_number(name, v, where) for v in value]
    if value is None and name in ("best_loss_", "best_validation_score_"):
        return None  # what early stopping leaves
    return _number(name, value, where)


def _number(name, value, where):
    if isinstance(value, str) and value in ("inf", "-inf", "nan"):
        return float(value)
    return _stored(name, value, where)


def _stored(name, value, where, **rule):
    """``number(name, value, **rule)`` for a value read from the file ``where``: a
    ValueError naming the file whatever is wrong, the file being what is wrong."""
    try:
        return number(name, value, **rule)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: {error}"[:300]) from None


def check_layers(est, net, where):
    """ValueError unless ``net`` is the network ``est``'s parameters build: Dense layers of
    widths n_in, *hidden_layer_sizes, n_out, each hidden one followed by the activation
    (and Dropout if dropout > 0), the last by the output activation; in front, with
    ``embedded_categories`` a CategoryEmbedding of the last columns and with
    ``periodic_columns`` k a PeriodicEmbedding of the first k columns (their defaults)."""
    sizes, _ = check_params(est)
    _check_table(est, net, where)   # before _front draws a table of the size the file claims
    try:
        first = est._front(net.n_in, seed=0)  # drawn only to compare the layers' settings
    except ValueError as error:
        raise ValueError(f"{where}: {error}"[:400]) from None
    width = net.n_in
    for layer in first:
        width = layer.output_features(width)
    widths = [width, *sizes, net.n_out]
    expected = [repr(layer) for layer in first]
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        expected.append(f"Dense({n_in}, {n_out})")
        if i < len(sizes):
            expected.append(type(names.activation(est.activation)).__name__)
            if est.dropout:
                expected.append("Dropout")
        else:
            expected.append(est._output_layer().__name__)
    actual = [f"Dense({layer.n_in}, {layer.n_out})" if isinstance(layer, Dense)
              else repr(layer) if isinstance(layer, (PeriodicEmbedding, CategoryEmbedding))
              else type(layer).__name__ for layer in net.layers]
    k = est.periodic_columns
    cats = list(est.embedded_categories)
    require(actual == expected, where,
             (f"the stored network {actual} contradicts the parameters hidden_layer_sizes="
              f"{est.hidden_layer_sizes!r}, activation={est.activation!r}, dropout={est.dropout!r}, "
              f"periodic_columns={k!r}, "
              + (f"embedded_categories={cats!r}, " if cats else "")
              + f"out_activation_={est.out_activation_!r}, which build {expected}")[:600])
    require(est.n_layers_ == len(sizes) + 2, where,
             f"n_layers_ {est.n_layers_} does not match the {len(sizes)} hidden layers of "
             f"hidden_layer_sizes {est.hidden_layer_sizes!r}")


def _check_table(est, net, where):
    """ValueError unless the stored network starts with the CategoryEmbedding that ``est``'s
    ``embedded_categories`` and ``embedding_width`` claim (when they claim one): compared
    with the stored layer, already read within the file's size, before anything is drawn
    from the claim, which a hostile file could make terabytes. (``construct`` has checked
    the claim's numbers, naming the file.)"""
    counts, width = embedded_categories(est)
    if not counts:
        return
    first = net.layers[0] if net.layers else None
    require(isinstance(first, CategoryEmbedding) and list(first.n_categories) == counts
            and first.n_out == width and first.n_numeric == net.n_in - len(counts), where,
            (f"embedded_categories={counts!r} and embedding_width={width!r} need a first "
             f"layer CategoryEmbedding(n_numeric={net.n_in - len(counts)}, n_categories="
             f"{counts!r}, n_out={width}); the stored network starts with {first!r}")[:400])


def restore_classes(est, fitted, net, where):
    kind = fitted.get("classes_dtype")
    labels = fitted.get("classes_")
    require(isinstance(kind, str) and isinstance(labels, list) and labels, where,
             "a classifier needs classes_ (a non-empty list) and classes_dtype")
    try:
        dtype = np.dtype(kind)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where}: classes_dtype {kind[:80]!r} is not a numpy dtype") from None
    require(dtype.kind in _LABEL_KINDS, where, f"classes_dtype {kind[:80]!r} is not a label dtype")
    # "<U100000000" would take 400 MB per label: the labels may take at most a few
    # times the file's own size (4 bytes per character of a label, and a margin).
    size = os.path.getsize(where)
    require(dtype.itemsize * len(labels) <= _LABEL_BYTES_PER_FILE_BYTE * size, where,
             f"classes_dtype {kind[:80]!r} for {len(labels)} labels needs "
             f"{dtype.itemsize * len(labels)} bytes, more than {_LABEL_BYTES_PER_FILE_BYTE} "
             f"times the file's {size} bytes")
    for label in labels:
        require(isinstance(label, (str, int, float, bool)), where,
                 f"class label {label!r} is not a string or a number"[:300])
    try:
        classes = np.array(labels, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueError(f"{where}: classes_ {labels!r} cannot be held as classes_dtype "
                         f"{kind!r} ({error})"[:400]) from None
    y_type = fitted.get("y_type_")
    require(y_type in ("binary", "multiclass", "multilabel-indicator"), where,
             f"y_type_ {y_type!r} is not binary, multiclass or multilabel-indicator"[:300])
    binarizer = LabelBinarizer()
    try:
        binarizer.fit(np.eye(len(classes), dtype=int) if y_type == "multilabel-indicator" else classes)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: classes_ {labels!r} are not usable labels ({error})"[:400]) from None
    require(binarizer.y_type_ == y_type and len(binarizer.classes_) == len(classes), where,
             f"classes_ {labels!r} do not make a {y_type} problem"[:300])
    n_out = 1 if y_type == "binary" else len(classes)
    require(net.n_out == n_out, where, f"{len(classes)} classes need {n_out} outputs, "
                                        f"the network has {net.n_out}")
    est._binarizer = binarizer
    est.classes_ = binarizer.classes_ if y_type != "multilabel-indicator" else classes


#: How many bytes of class labels each byte of the file may become (see restore_classes).
_LABEL_BYTES_PER_FILE_BYTE = 16


def _label(value, where):
    if not isinstance(value, (str, int, float, bool)):
        raise ValueError(f"{where}: class_weight label {value!r} is not a string or a number")
    return value


def require(ok, where, message):
    if not ok:
        raise ValueError(f"{where}: {message}")
