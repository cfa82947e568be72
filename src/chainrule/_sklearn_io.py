"""Estimator files: a fitted MLPClassifier/MLPRegressor as one chainrule model file.

The network is written by :func:`chainrule.io.save` (weights as tensors,
architecture as JSON; nothing executable). The estimator rides in the file's
user metadata under the key ``"estimator"``::

    {"class": "MLPClassifier", "params": {...constructor parameters...},
     "fitted": {"n_features_in_": 30, "classes_": [...], "classes_dtype": "<U6", ...}}

Everything read back is checked (known class, known parameter names, plain
JSON values, shapes consistent with the network) before it is used, and a
file that breaks a rule raises ValueError naming the file and the rule.
Callers may store their own metadata and tensors beside the estimator (the
command line stores its fitted preprocessing there). A Pipeline of
StandardScalers ending in an estimator is stored the same way, the scalers'
statistics as tensors ``pipeline.{i}.mean_`` etc. and their settings under
the metadata key ``"pipeline"``.
"""
from __future__ import annotations

import os

import numpy as np
from sklearn.preprocessing import LabelBinarizer

from . import io as _io
from .nn.layers import Dense
from .validation import number

#: Fitted attributes stored as plain JSON values.
_SCALARS = ("n_features_in_", "n_outputs_", "n_layers_", "out_activation_", "n_iter_", "t_",
            "loss_", "best_loss_", "best_validation_score_", "loss_curve_", "validation_scores_")
#: dtype kinds class labels may have (booleans, integers, floats, strings, Python objects).
_LABEL_KINDS = "biufUO"


def _plain(value):
    """A JSON-safe form of a parameter or attribute value (tuples as lists, numpy as Python)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, float) and not np.isfinite(value):
        return repr(value)  # "inf", "-inf", "nan": JSON has no infinities
    return value


def _params(est):
    params = est.get_params(deep=False)
    params["dtype"] = np.dtype(params["dtype"]).name
    params["callbacks"] = None  # code, not data: never stored
    if not isinstance(params["random_state"], (int, type(None))):
        params["random_state"] = None
    cw = params.get("class_weight")
    if isinstance(cw, dict):
        params["class_weight"] = [[_plain(k), _plain(v)] for k, v in cw.items()]
    return {k: _plain(v) for k, v in params.items()}


def save_estimator(est, path, metadata=None, extra_tensors=None):
    """Write fitted ``est`` (and optional extra metadata/tensors) to ``path``."""
    from .sklearn import MLPClassifier, MLPRegressor
    if not isinstance(est, (MLPClassifier, MLPRegressor)):
        raise TypeError(f"expected a chainrule MLPClassifier or MLPRegressor, got {est!r}")
    if not hasattr(est, "network_"):
        raise ValueError(f"this {type(est).__name__} is not fitted yet: call fit before save")
    fitted = {name: _plain(getattr(est, name)) for name in _SCALARS if hasattr(est, name)}
    if hasattr(est, "feature_names_in_"):
        fitted["feature_names_in_"] = [str(n) for n in est.feature_names_in_]
    if isinstance(est, MLPClassifier):
        fitted["classes_"] = _plain(est.classes_)
        fitted["classes_dtype"] = est.classes_.dtype.str
        fitted["y_type_"] = est._binarizer.y_type_
    record = {"class": type(est).__name__, "params": _params(est), "fitted": fitted}
    user = dict(metadata or {})
    user["estimator"] = record
    _io.save(est.network_, path, metadata=user, extra_tensors=extra_tensors)


def save_model(model, path):
    """Write a fitted estimator, or a Pipeline of StandardScalers ending in one.

    The scalers' ``mean_``, ``var_``, ``scale_`` become tensors
    ``pipeline.{i}.{name}``; their settings go in the metadata under "pipeline".
    """
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.validation import check_is_fitted
    if not isinstance(model, Pipeline):
        return save_estimator(model, path)
    *steps, (final_name, final) = model.steps
    records, tensors = [], {}
    for i, (name, step) in enumerate(steps):
        if type(step) is not StandardScaler:
            raise TypeError(f"a saved Pipeline may hold StandardScaler steps before the chainrule "
                            f"estimator; step {i} ({name!r}) is {type(step).__name__}")
        check_is_fitted(step)
        record = {"name": str(name), "with_mean": bool(step.with_mean),
                  "with_std": bool(step.with_std), "n_features_in_": int(step.n_features_in_)}
        if hasattr(step, "feature_names_in_"):
            record["feature_names_in_"] = [str(n) for n in step.feature_names_in_]
        for attr in ("mean_", "var_", "scale_", "n_samples_seen_"):
            value = getattr(step, attr)
            if value is not None:
                tensors[f"pipeline.{i}.{attr}"] = np.atleast_1d(np.asarray(value))
        records.append(record)
    save_estimator(final, path, metadata={"pipeline": {"steps": records, "final": str(final_name)}},
                   extra_tensors=tensors)


def load_estimator(path):
    """The estimator (or Pipeline) stored in ``path`` by ``est.save`` or :func:`save_model`."""
    est, metadata, extras = load_estimator_with_extras(path)
    if "pipeline" not in metadata:
        return est
    return _rebuild_pipeline(metadata["pipeline"], extras, est, os.fspath(path))


def _rebuild_pipeline(record, extras, final, where):
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler
    _require(isinstance(record, dict) and isinstance(record.get("steps"), list)
             and isinstance(record.get("final"), str), where,
             "the pipeline record needs a 'steps' list and a 'final' name")
    steps, width = [], None
    for i, r in enumerate(record["steps"]):
        _require(isinstance(r, dict) and isinstance(r.get("name"), str)
                 and isinstance(r.get("with_mean"), bool) and isinstance(r.get("with_std"), bool)
                 and isinstance(r.get("n_features_in_"), int), where,
                 f"pipeline step {i} is not a StandardScaler record")
        n = r["n_features_in_"]
        _require(width is None or n == width, where, f"pipeline step {i} takes {n} features, "
                                                     f"the step before gives {width}")
        width = n
        scaler = StandardScaler(with_mean=r["with_mean"], with_std=r["with_std"])
        scaler.n_features_in_ = n
        for attr, needed in (("mean_", r["with_mean"]), ("var_", r["with_std"]),
                             ("scale_", r["with_std"])):
            value = extras.get(f"pipeline.{i}.{attr}")
            if value is None:
                _require(not needed, where, f"pipeline step {i} lacks its {attr}")
                setattr(scaler, attr, None)
                continue
            _require(value.shape == (n,) and value.dtype.kind == "f" and np.all(np.isfinite(value)),
                     where, f"pipeline step {i}: {attr} must be {n} finite numbers")
            setattr(scaler, attr, value.astype(np.float64))
        seen = extras.get(f"pipeline.{i}.n_samples_seen_")
        _require(seen is not None and seen.dtype.kind in "iuf" and seen.shape in ((1,), (n,)),
                 where, f"pipeline step {i} lacks n_samples_seen_")
        scaler.n_samples_seen_ = seen[0] if seen.shape == (1,) else seen
        if "feature_names_in_" in r:
            scaler.feature_names_in_ = np.array(r["feature_names_in_"], dtype=object)
        steps.append((r["name"], scaler))
    _require(width is None or width == final.n_features_in_, where,
             f"the scalers give {width} features, the estimator takes {final.n_features_in_}")
    return Pipeline([*steps, (record["final"], final)])


def load_estimator_with_extras(path):
    """``(estimator, metadata, extra_tensors)``; metadata without the estimator's own record.

    Every stored value is checked before use, and a file that breaks a rule
    raises ValueError naming the field: the parameters must be valid and agree
    with the stored network (``hidden_layer_sizes`` its Dense widths,
    ``activation`` its hidden activations, ``dropout`` its Dropout layers, the
    output activation its last layer), and class labels may not claim more
    memory than the file's size allows.
    """
    from .sklearn import MLPClassifier, MLPRegressor
    where = os.fspath(path)
    net, user, extras = _io.load_with_extras(path)
    record = user.pop("estimator", None)
    if not isinstance(record, dict):
        raise ValueError(f"{where} is a chainrule network but not a saved estimator "
                         "(no 'estimator' record): load it with chainrule.load")
    classes = {"MLPClassifier": MLPClassifier, "MLPRegressor": MLPRegressor}
    name = record.get("class")
    cls = classes.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"{where}: estimator class {name!r} is not one of "
                         f"{sorted(classes)}"[:300])
    params, fitted = record.get("params"), record.get("fitted")
    if not isinstance(params, dict) or not isinstance(fitted, dict):
        raise ValueError(f"{where}: the estimator record needs 'params' and 'fitted' objects")
    est = _construct(cls, params, where)
    for name in _SCALARS:
        if name in fitted:
            setattr(est, name, _fitted_value(name, fitted[name], where))
    _require(isinstance(fitted.get("n_features_in_"), int) and fitted["n_features_in_"] == net.n_in,
             where, f"n_features_in_ {fitted.get('n_features_in_')!r} does not match the "
                    f"network's {net.n_in} inputs")
    _require(fitted.get("n_outputs_") == net.n_out, where,
             f"n_outputs_ {fitted.get('n_outputs_')!r} does not match the network's {net.n_out} outputs")
    for name in ("n_layers_", "out_activation_"):
        _require(name in fitted, where, f"the fitted attribute {name} is missing")
    if "feature_names_in_" in fitted:
        names = fitted["feature_names_in_"]
        _require(isinstance(names, list) and len(names) == net.n_in
                 and all(isinstance(n, str) for n in names), where,
                 "feature_names_in_ must list one name per input")
        est.feature_names_in_ = np.array(names, dtype=object)
    if cls is MLPClassifier:
        _restore_classes(est, fitted, net, where)
        if est.out_activation_ not in ("softmax", "logistic"):
            raise ValueError(f"{where}: out_activation_ {est.out_activation_!r} is not a classifier's")
    for name in ("n_iter_", "t_", "loss_"):
        _require(name in fitted, where, f"the fitted attribute {name} is missing")
    _require(est.out_activation_ == est._output_name(), where,
             f"out_activation_ {est.out_activation_!r} contradicts the other settings, which "
             f"give {est._output_name()!r}")
    _check_layers(est, net, where)
    net.eval()
    est.network_ = net
    est._rng = np.random.default_rng()
    return est, user, extras


def _construct(cls, params, where):
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
    _require(params.get("callbacks") is None, where,
             f"parameter callbacks must be null in a file (code is never stored), "
             f"got {params.get('callbacks')!r}"[:300])
    sizes = params.get("hidden_layer_sizes", cls().hidden_layer_sizes)
    if isinstance(sizes, list):
        sizes = tuple(sizes)
    _require(isinstance(sizes, (int, tuple)) and not isinstance(sizes, bool), where,
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
        est._check_params()
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueError(f"{where}: the stored {cls.__name__} parameters are invalid: "
                         f"{error}"[:400]) from None
    return est


def _class_weight(value, where):
    """class_weight as stored: null, "balanced", or a list of [label, weight] pairs."""
    if not isinstance(value, list):
        _require(value is None or value == "balanced", where,
                 f"class_weight must be null, 'balanced' or a list of [label, weight] pairs, "
                 f"got {value!r}"[:300])
        return value
    weights = {}
    for pair in value:
        _require(isinstance(pair, list) and len(pair) == 2, where,
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


def _fitted_value(name, value, where):
    """A stored fitted attribute, checked against its rule (non-finite floats are stored as
    the strings "inf", "-inf", "nan", JSON having no such numbers)."""
    if name == "out_activation_":
        _require(isinstance(value, str), where, f"out_activation_ must be a string, got {value!r}"[:300])
        return value
    rule = _FITTED_RULES[name]
    if rule == _COUNT:
        _require(isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63,
                 where, f"{name} must be {rule}, got {value!r}"[:300])
        return value
    if rule == _CURVE:
        if value is None and name == "validation_scores_":
            return None
        _require(isinstance(value, list), where, f"{name} must be {rule}, got {value!r}"[:300])
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


def _check_layers(est, net, where):
    """ValueError unless ``net`` is the network ``est``'s parameters build: Dense layers of
    widths n_in, *hidden_layer_sizes, n_out, each hidden one followed by the activation
    (and Dropout if dropout > 0), the last by the output activation."""
    from . import names
    sizes, _ = est._check_params()
    widths = [net.n_in, *sizes, net.n_out]
    expected = []
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:])):
        expected.append(f"Dense({n_in}, {n_out})")
        if i < len(sizes):
            expected.append(type(names.activation(est.activation)).__name__)
            if est.dropout:
                expected.append("Dropout")
        else:
            expected.append(est._output_layer().__name__)
    actual = [f"Dense({layer.n_in}, {layer.n_out})" if isinstance(layer, Dense)
              else type(layer).__name__ for layer in net.layers]
    _require(actual == expected, where,
             f"the stored network {actual} contradicts the parameters hidden_layer_sizes="
             f"{est.hidden_layer_sizes!r}, activation={est.activation!r}, dropout={est.dropout!r}, "
             f"out_activation_={est.out_activation_!r}, which build {expected}"[:600])
    _require(est.n_layers_ == len(sizes) + 2, where,
             f"n_layers_ {est.n_layers_} does not match the {len(sizes)} hidden layers of "
             f"hidden_layer_sizes {est.hidden_layer_sizes!r}")


def _restore_classes(est, fitted, net, where):
    kind = fitted.get("classes_dtype")
    labels = fitted.get("classes_")
    _require(isinstance(kind, str) and isinstance(labels, list) and labels, where,
             "a classifier needs classes_ (a non-empty list) and classes_dtype")
    try:
        dtype = np.dtype(kind)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{where}: classes_dtype {kind[:80]!r} is not a numpy dtype") from None
    _require(dtype.kind in _LABEL_KINDS, where, f"classes_dtype {kind[:80]!r} is not a label dtype")
    # "<U100000000" would take 400 MB per label: the labels may take at most a few
    # times the file's own size (4 bytes per character of a label, and a margin).
    size = os.path.getsize(where)
    _require(dtype.itemsize * len(labels) <= _LABEL_BYTES_PER_FILE_BYTE * size, where,
             f"classes_dtype {kind[:80]!r} for {len(labels)} labels needs "
             f"{dtype.itemsize * len(labels)} bytes, more than {_LABEL_BYTES_PER_FILE_BYTE} "
             f"times the file's {size} bytes")
    for label in labels:
        _require(isinstance(label, (str, int, float, bool)), where,
                 f"class label {label!r} is not a string or a number"[:300])
    try:
        classes = np.array(labels, dtype=dtype)
    except (ValueError, TypeError, OverflowError) as error:
        raise ValueError(f"{where}: classes_ {labels!r} cannot be held as classes_dtype "
                         f"{kind!r} ({error})"[:400]) from None
    y_type = fitted.get("y_type_")
    _require(y_type in ("binary", "multiclass", "multilabel-indicator"), where,
             f"y_type_ {y_type!r} is not binary, multiclass or multilabel-indicator"[:300])
    binarizer = LabelBinarizer()
    try:
        binarizer.fit(np.eye(len(classes), dtype=int) if y_type == "multilabel-indicator" else classes)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: classes_ {labels!r} are not usable labels ({error})"[:400]) from None
    _require(binarizer.y_type_ == y_type and len(binarizer.classes_) == len(classes), where,
             f"classes_ {labels!r} do not make a {y_type} problem"[:300])
    n_out = 1 if y_type == "binary" else len(classes)
    _require(net.n_out == n_out, where, f"{len(classes)} classes need {n_out} outputs, "
                                        f"the network has {net.n_out}")
    est._binarizer = binarizer
    est.classes_ = binarizer.classes_ if y_type != "multilabel-indicator" else classes


#: How many bytes of class labels each byte of the file may become (see _restore_classes).
_LABEL_BYTES_PER_FILE_BYTE = 16


def _label(value, where):
    if not isinstance(value, (str, int, float, bool)):
        raise ValueError(f"{where}: class_weight label {value!r} is not a string or a number")
    return value


def _require(ok, where, message):
    if not ok:
        raise ValueError(f"{where}: {message}")
