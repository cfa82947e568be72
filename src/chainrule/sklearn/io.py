"""Estimator files: a fitted MLPClassifier/MLPRegressor as one chainrule model file.

The network is written by :func:`chainrule.io.save` (weights as tensors,
architecture as JSON; nothing executable) and read back by
:func:`chainrule.io.load_with_extras`, with its checks and bounds, building
chainrule's own layers only: an estimator's network holds no other (its
``activation`` is one of five names), so there is no ``layers=`` to pass. The estimator rides in the file's
user metadata under the key ``"estimator"``::

    {"class": "MLPClassifier", "params": {...constructor parameters...},
     "fitted": {"n_features_in_": 30, "classes_": [...], "classes_dtype": "<U6", ...}}

Everything read back is checked (known class, known parameter names, plain
JSON values, shapes consistent with the network: :mod:`.records`) before it
is used, and a file that breaks a rule raises ValueError naming the file and
the rule.
Callers may store their own metadata and tensors beside the estimator (the
command line stores its fitted preprocessing there). A Pipeline of
StandardScalers ending in an estimator is stored the same way, the scalers'
statistics as tensors ``pipeline.{i}.mean_`` etc. and their settings under
the metadata key ``"pipeline"``.
"""
from __future__ import annotations

import os

import numpy as np

from ..files import model as _io
from .estimators import MLPClassifier, MLPRegressor
from .records import SCALARS, check_layers, construct, fitted_value, require, restore_classes


def save_estimator(est, path, metadata=None, extra_tensors=None):
    """Write fitted ``est`` (and optional extra metadata/tensors) to ``path``."""
    if not isinstance(est, (MLPClassifier, MLPRegressor)):
        raise TypeError(f"expected a chainrule MLPClassifier or MLPRegressor, got {est!r}")
    est.save(path, metadata=metadata, extra_tensors=extra_tensors)


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
    require(isinstance(record, dict) and isinstance(record.get("steps"), list)
             and isinstance(record.get("final"), str), where,
             "the pipeline record needs a 'steps' list and a 'final' name")
    steps, width = [], None
    for i, r in enumerate(record["steps"]):
        require(isinstance(r, dict) and isinstance(r.get("name"), str)
                 and isinstance(r.get("with_mean"), bool) and isinstance(r.get("with_std"), bool)
                 and isinstance(r.get("n_features_in_"), int), where,
                 f"pipeline step {i} is not a StandardScaler record")
        n = r["n_features_in_"]
        require(width is None or n == width, where, f"pipeline step {i} takes {n} features, "
                                                     f"the step before gives {width}")
        width = n
        scaler = StandardScaler(with_mean=r["with_mean"], with_std=r["with_std"])
        scaler.n_features_in_ = n
        for attr, needed in (("mean_", r["with_mean"]), ("var_", r["with_std"]),
                             ("scale_", r["with_std"])):
            value = extras.get(f"pipeline.{i}.{attr}")
            if value is None:
                require(not needed, where, f"pipeline step {i} lacks its {attr}")
                setattr(scaler, attr, None)
                continue
            require(value.shape == (n,) and value.dtype.kind == "f" and np.all(np.isfinite(value)),
                     where, f"pipeline step {i}: {attr} must be {n} finite numbers")
            setattr(scaler, attr, value.astype(np.float64))
        seen = extras.get(f"pipeline.{i}.n_samples_seen_")
        require(seen is not None and seen.dtype.kind in "iuf" and seen.shape in ((1,), (n,)),
                 where, f"pipeline step {i} lacks n_samples_seen_")
        scaler.n_samples_seen_ = seen[0] if seen.shape == (1,) else seen
        if "feature_names_in_" in r:
            scaler.feature_names_in_ = np.array(r["feature_names_in_"], dtype=object)
        steps.append((r["name"], scaler))
    require(width is None or width == final.n_features_in_, where,
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
    est = construct(cls, params, where)
    for name in SCALARS:
        if name in fitted:
            setattr(est, name, fitted_value(name, fitted[name], where))
    require(isinstance(fitted.get("n_features_in_"), int) and fitted["n_features_in_"] == net.n_in,
             where, f"n_features_in_ {fitted.get('n_features_in_')!r} does not match the "
                    f"network's {net.n_in} inputs")
    require(fitted.get("n_outputs_") == net.n_out, where,
             f"n_outputs_ {fitted.get('n_outputs_')!r} does not match the network's {net.n_out} outputs")
    for name in ("n_layers_", "out_activation_"):
        require(name in fitted, where, f"the fitted attribute {name} is missing")
    if "feature_names_in_" in fitted:
        names = fitted["feature_names_in_"]
        require(isinstance(names, list) and len(names) == net.n_in
                 and all(isinstance(n, str) for n in names), where,
                 "feature_names_in_ must list one name per input")
        est.feature_names_in_ = np.array(names, dtype=object)
    if cls is MLPClassifier:
        restore_classes(est, fitted, net, where)
        if est.out_activation_ not in ("softmax", "logistic"):
            raise ValueError(f"{where}: out_activation_ {est.out_activation_!r} is not a classifier's")
    for name in ("n_iter_", "t_", "loss_"):
        require(name in fitted, where, f"the fitted attribute {name} is missing")
    require(est.out_activation_ == est._output_name(), where,
             f"out_activation_ {est.out_activation_!r} contradicts the other settings, which "
             f"give {est._output_name()!r}")
    check_layers(est, net, where)
    net.eval()
    est.network_ = net
    est._rng = np.random.default_rng()
    return est, user, extras


def save(model, path):
    """Write a fitted chainrule estimator, or a Pipeline of StandardScalers ending in one,
    to one ``.safetensors`` file: weights as tensors, classes and scaling included."""
    save_model(model, path)


def load(path):
    """Read an estimator written by ``est.save(path)`` (or a Pipeline written by :func:`save`)."""
    return load_estimator(path)
