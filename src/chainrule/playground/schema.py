"""Checking the playground's requests: every field's type, range and name, once, at the edge.

A request body is a JSON object. ``parse_config`` and ``parse_train`` return
plain Python values or raise ``RequestError`` (HTTP 400) whose message names
the field as the page calls it, the rule and the value received, e.g.
``points must be between 20 and 2000, got 5000 (size)``, in either language
(``words``).

The limits keep one browser tab from taking the machine: a few small layers,
a few thousand points, a bounded number of steps per request.
"""
from __future__ import annotations

import math
import numbers
import re

from .datasets import DATASETS
from .features import FEATURES, raw
from .words import received, say, shown

LIMITS = {
    "size": (20, 2000),          # points generated (training + validation)
    "noise": (0.0, 1.0),
    "layers": (0, 6),            # hidden layers
    "units": (1, 8),             # units per hidden layer
    "lr": (1e-6, 10.0),
    "batch_size": (1, 256),
    "seed": (0, 2**31 - 1),
    "steps": (1, 200),           # mini-batch steps per /api/train request
    "validation": (0.1, 0.9),    # share of the points held out for the validation loss
    "l1": (0.0, 1.0),            # penalty strengths on every Dense layer's W
    "l2": (0.0, 1.0),
    "dropout": (0.0, 0.9),       # drop probability after each hidden activation
    "weight": (-10.0, 10.0),     # a weight set by hand (the page's connection panel)
}

#: Share of the generated points held out for the validation loss, by default.
VALIDATION_FRACTION = 0.2

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu", "elu", "gelu", "softplus", "identity")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad", "adamw")
#: Output activation and loss, chosen together ("auto" picks by the data set's task): a
#: sigmoid output with binary cross-entropy (2 classes), softmax with cross-entropy (any
#: number of classes), a linear output with the mean squared error (regression).
OUTPUTS = ("sigmoid_bce", "softmax_ce", "identity_mse")

DEFAULTS = {
    "dataset": "xor", "noise": 0.1, "size": 400, "hidden": [4, 4], "activation": "tanh",
    "output": "auto", "optimizer": "sgd", "lr": 0.5, "batch_size": 10, "seed": 0,
    # None: the data's own columns (x₁, x₂; x₁ alone for a 1-D set)
    "features": None, "validation": VALIDATION_FRACTION, "l1": 0.0, "l2": 0.0, "dropout": 0.0,
}

#: The values the page's menus offer (each within LIMITS): steps per screen update while
#: playing (and which is chosen at first), and the L1, L2 and dropout strengths.
CHOICES = {
    "speed": [1, 10, 50, 200], "speed_default": 10,
    "penalty": [0.0, 0.0001, 0.001, 0.003, 0.01, 0.03, 0.1, 0.3, 1.0],
    "dropout": [0.0, 0.1, 0.2, 0.3, 0.5, 0.7],
}

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class RequestError(ValueError):
    """A request the server refuses, in the learner's words.

    ``key`` names the message in the word tables (see ``words``) and ``params``
    fills its slots; ``str(error)`` is the English text. The response carries
    all three (``error``, ``key``, ``args``), so the page shows the message in
    its own language. ``status`` is the HTTP status code.
    """

    def __init__(self, key, status=400, **params):
        super().__init__(say(key, "en", **params))
        self.key, self.params, self.status = key, params, status


def check_body(body, allowed):
    """``body`` must be a JSON object whose keys are all in ``allowed``."""
    if not isinstance(body, dict):
        raise RequestError("error.body_not_object", type=type(body).__name__)
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise RequestError("error.unknown_field", name=received(unknown[0]), valid=sorted(allowed))
    return body


def session_id(value):
    """A session id: 8 to 64 letters, digits, '-' or '_' (made by the page, one per tab)."""
    if value is None:
        raise RequestError("error.session_required")
    if not isinstance(value, str) or not _SESSION_ID.match(value):
        raise RequestError("error.session_bad", value=received(value))
    return value


def integer(value, name, lo, hi):
    return _checked(value, name, lo, hi, integer=True)


def number(value, name, lo, hi):
    return _checked(value, name, lo, hi)


def _checked(value, name, lo, hi, integer=False, key="error.out_of_range", **more):
    """``value`` as an int (``integer``) or a float in [lo, hi]; else a RequestError naming the
    field (``name``, as the page calls it in either language), the rule and the value."""
    kind = numbers.Integral if integer else numbers.Real
    words = {"name": name, "value": received(value), "lo": shown(lo), "hi": shown(hi), **more}
    if isinstance(value, bool) or not isinstance(value, kind):
        if not integer or not isinstance(value, numbers.Real) or isinstance(value, bool):
            raise RequestError("error.not_number", **words)
        raise RequestError("error.not_integer", **words)
    if not math.isfinite(value):
        raise RequestError("error.not_finite", **words)
    if not lo <= value <= hi:
        raise RequestError(key, **words)
    return int(value) if integer else float(value)


def choice(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise RequestError("error.unknown_choice", name=name, value=received(value),
                           valid=list(options))
    return value


def resolve_output(output, dataset, data):
    """The output/loss pair for ``dataset``: "auto" chosen by its task, others checked against it."""
    if output == "auto":
        return "identity_mse" if data.task == "regression" else \
            "sigmoid_bce" if data.classes == 2 else "softmax_ce"
    words = {"output": output, "dataset": dataset}
    if data.task == "regression" and output != "identity_mse":
        raise RequestError("error.output_regression", **words, use="identity_mse")
    if data.task == "classification" and output == "identity_mse":
        raise RequestError("error.output_classes", **words,
                           use="sigmoid_bce" if data.classes == 2 else "softmax_ce")
    if output == "sigmoid_bce" and data.classes != 2:
        raise RequestError("error.output_two_classes", **words, classes=data.classes,
                           use="softmax_ce")
    return output


def features(value, dataset, data):
    """The input features: a list of distinct names of ``FEATURES`` the data set's columns allow."""
    columns = data.n_features
    if value is None:
        return raw(columns)
    if not isinstance(value, list):
        raise RequestError("error.features_type", value=received(value))
    if not 1 <= len(value) <= len(FEATURES):
        raise RequestError("error.features_count", hi=len(FEATURES), count=len(value))
    for name in value:
        choice(name, "feature", tuple(FEATURES))
        if FEATURES[name][1] > columns:
            raise RequestError("error.feature_needs_x2", feature=name, dataset=dataset,
                               use=[n for n, f in FEATURES.items() if f[1] == 1])
    if len(set(value)) != len(value):
        raise RequestError("error.features_repeat", value=received(value))
    return list(value)


def parse_config(body, uploaded=None):
    """The network, data and training settings of a /api/configure request, defaults filled in.

    ``uploaded`` is the tab's own data set (see ``upload``), if it sent one:
    the dataset "upload" names it, and its rows fix the size.
    Returns ``(session_id, config)`` with config a dict of the keys of ``DEFAULTS``.
    """
    check_body(body, {"session", *DEFAULTS})
    sid = session_id(body.get("session"))
    raw = {**DEFAULTS, **{k: v for k, v in body.items() if k != "session"}}
    if raw["dataset"] == "upload":
        if uploaded is None:
            raise RequestError("error.upload_missing")
        raw["size"] = uploaded.size
    datasets = {**DATASETS, **({"upload": uploaded} if uploaded is not None else {})}
    config = {
        "dataset": choice(raw["dataset"], "dataset", tuple(datasets)),
        "noise": number(raw["noise"], "noise", *LIMITS["noise"]),
        "size": integer(raw["size"], "size", *LIMITS["size"]),
        "activation": choice(raw["activation"], "activation", ACTIVATIONS),
        "optimizer": choice(raw["optimizer"], "optimizer", OPTIMIZERS),
        "lr": number(raw["lr"], "lr", *LIMITS["lr"]),
        "seed": integer(raw["seed"], "seed", *LIMITS["seed"]),
    }
    hidden = raw["hidden"]
    lo, hi = LIMITS["layers"]
    if not isinstance(hidden, list) or not lo <= len(hidden) <= hi:
        raise RequestError("error.layers", lo=lo, hi=hi, value=received(hidden))
    config["hidden"] = [_checked(u, "hidden", *LIMITS["units"], integer=True, key="error.units",
                                 layer=i + 1, index=i) for i, u in enumerate(hidden)]
    output = choice(raw["output"], "output", ("auto", *OUTPUTS))
    data = datasets[config["dataset"]]
    config["output"] = resolve_output(output, config["dataset"], data)
    config["features"] = features(raw["features"], config["dataset"], data)
    for name in ("validation", "l1", "l2", "dropout"):
        config[name] = number(raw[name], name, *LIMITS[name])
    n_train = config["size"] - round(config["size"] * config["validation"])
    lo, hi = LIMITS["batch_size"]
    config["batch_size"] = _checked(raw["batch_size"], "batch_size", lo, min(hi, n_train),
                                    integer=True, key="error.batch_size" if n_train < hi
                                    else "error.out_of_range", points=n_train)
    return sid, config


def parse_train(body):
    """``(session_id, steps)`` of a /api/train request; steps defaults to 1."""
    check_body(body, {"session", "steps"})
    return session_id(body.get("session")), integer(body.get("steps", 1), "steps", *LIMITS["steps"])


def parse_weight(body):
    """``(session_id, layer, i, j, value)`` of a /api/weight request: W[i][j] of Dense layer
    ``layer`` (0-based) set to ``value``; the indices are checked against the network later."""
    check_body(body, {"session", "layer", "i", "j", "value"})
    sid = session_id(body.get("session"))
    at = [integer(body.get(name), name, 0, 999) for name in ("layer", "i", "j")]
    return (sid, *at, number(body.get("value"), "weight", *LIMITS["weight"]))


def parse_session(body):
    """The session id of a request that carries nothing else (/api/step, /api/close)."""
    check_body(body, {"session"})
    return session_id(body.get("session"))
