"""A model file written by ``chainrule train``, read for predicting, without scikit-learn.

``chainrule train`` saves a chainrule scikit-learn estimator (``est.save``):
the network as a model file, the estimator's record in its metadata. To
predict, only the network, the classes and the output's meaning are needed,
so ``chainrule predict`` reads those here and leaves scikit-learn and SciPy
unimported (about 0.6 s and 100 MB of a short prediction's start, measured
with ``python -X importtime``). ``chainrule info`` and Python code that wants
the estimator itself use :func:`chainrule.sklearn.load`.

What is read is checked as the estimator loader checks it: the network by
:func:`chainrule.files.model.load_with_extras`; the classes (strings, sorted,
distinct, as the training labels were) against the network's outputs; the
output activation against the network's last layer; an ensemble's further
members (:mod:`chainrule.tabular.ensemble`) against the first network's
parameter count and dtype. Their outputs are averaged.
"""
from __future__ import annotations

import numpy as np

from ..files.model import load_with_extras
from ..nn.activations import Exp, Identity, Sigmoid, Softmax
from .ensemble import read_members

#: The output activation each estimator record may name, and the last layer it means.
_OUTPUTS = {"MLPClassifier": {"logistic": Sigmoid, "softmax": Softmax},
            "MLPRegressor": {"identity": Identity, "exp": Exp}}


def _require(ok, where, rule):
    if not ok:
        raise ValueError(f"{where}: {rule}"[:400])


class SavedModel:
    """The network of a ``chainrule train`` file with what its outputs mean.

    Attributes: ``network`` (a Sequential in evaluation mode: member 0),
    ``networks`` (every member, their outputs averaged), ``task``
    ("classify" or "regress"), ``classes_`` (an object array of labels, for a
    classifier), ``n_features_in_``; ``metadata``: the file's other metadata
    (``"tabular"``: the preprocessing, the target transform, ...).
    """

    def __init__(self, network, task, classes, metadata, networks=None):
        self.network, self.task, self.metadata = network, task, metadata
        self.networks = list(networks) if networks is not None else [network]
        self.n_features_in_ = network.n_in
        if classes is not None:
            self.classes_ = classes

    @classmethod
    def load(cls, path):
        where = str(path)
        net, metadata, extras = load_with_extras(path)
        record = metadata.pop("estimator", None)
        _require(isinstance(record, dict), where, "the file is a chainrule network but not a "
                 "saved estimator (no 'estimator' record): it was not written by chainrule train")
        if not isinstance(metadata.get("tabular"), dict):
            raise ValueError(_not_from_train(record, metadata, where))
        name, fitted = record.get("class"), record.get("fitted")
        _require(name in _OUTPUTS and isinstance(fitted, dict), where,
                 f"estimator class {name!r} is not one of {sorted(_OUTPUTS)}, or has no 'fitted' record")
        output = fitted.get("out_activation_")
        _require(output in _OUTPUTS[name], where,
                 f"out_activation_ {output!r} is not one of {sorted(_OUTPUTS[name])}")
        _require(bool(net.layers) and type(net.layers[-1]) is _OUTPUTS[name][output], where,
                 f"out_activation_ {output!r} needs a {_OUTPUTS[name][output].__name__} last "
                 f"layer, the network ends with {net.layers[-1]!r}" if net.layers else "no layers")
        _require(fitted.get("n_features_in_") == net.n_in, where,
                 f"n_features_in_ {fitted.get('n_features_in_')!r} does not match the network's "
                 f"{net.n_in} inputs")
        classes = _classes(fitted, net, where) if name == "MLPClassifier" else None
        tab = metadata.get("tabular")
        record = tab.get("ensemble") if isinstance(tab, dict) else None
        networks = read_members(net, record, extras, where)
        for member in networks:
            member.eval()
        return cls(net, "classify" if classes is not None else "regress", classes, metadata,
                   networks)

    def _output(self, X):
        """The members' mean output for float64 X, as float64 (each computed in the network's
        dtype, summed in float64)."""
        X = X.astype(self.network.dtype, copy=False)
        return np.mean([net.predict(X).astype(np.float64) for net in self.networks], axis=0)

    def predict_proba(self, X):
        """Class probabilities (n, k), columns in the order of ``classes_``."""
        A = self._output(X)
        return np.hstack([1 - A, A]) if A.shape[1] == 1 else A

    def predict(self, X):
        """Labels (a classifier: the likeliest class; p > 0.5 for two), or values (n,)."""
        if self.task == "regress":
            return self._output(X).ravel()
        P = self.predict_proba(X)
        return self.classes_[np.argmax(P, axis=1)]


def _not_from_train(record, metadata, where):
    """What a file written by ``est.save`` (or ``chainrule.sklearn.save`` of a Pipeline) is,
    and how to use it: it holds the network but not which columns of a table it reads nor
    how they were scaled, so predict cannot feed it a CSV file without guessing."""
    name = record.get("class")
    name = name if name in _OUTPUTS else "estimator"
    fitted = record.get("fitted") if isinstance(record.get("fitted"), dict) else {}
    width = fitted.get("n_features_in_")
    takes = f" ({width} input columns)" if isinstance(width, int) else ""
    what = f"a Pipeline ending in an {name}" if isinstance(metadata.get("pipeline"), dict) \
        else f"an {name}"
    return (f"{where} is {what} saved from Python by est.save{takes}, not by chainrule "
            "train: it records no table preprocessing (which columns, encoded and scaled how), "
            "so predict cannot read a table for it; use it in Python: "
            "chainrule.sklearn.load(path).predict(X)")


def _classes(fitted, net, where):
    """The stored class labels as an object array, checked against the network's outputs."""
    labels = fitted.get("classes_")
    _require(isinstance(labels, list) and len(labels) >= 2
             and all(isinstance(c, str) for c in labels), where,
             "classes_ must list at least two class labels, each a string (chainrule train's "
             "labels are text)")
    _require(all(a < b for a, b in zip(labels, labels[1:])), where,
             "classes_ must be distinct and sorted, as training sorted them")
    n_out = 1 if len(labels) == 2 else len(labels)
    _require(net.n_out == n_out, where,
             f"{len(labels)} classes need {n_out} outputs, the network has {net.n_out}")
    return np.array(labels, dtype=object)
