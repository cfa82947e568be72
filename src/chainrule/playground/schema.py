"""Checking the playground's requests: every field's type, range and name, once, at the edge.

A request body is a JSON object. ``parse_config`` and ``parse_train`` return
plain Python values or raise ``RequestError`` (HTTP 400) whose message names
the field, the rule and the value received, e.g.
``size must be in [20, 2000], got 5000``.

The limits keep one browser tab from taking the machine: a few small layers,
a few thousand points, a bounded number of steps per request.
"""
from __future__ import annotations

import re

from .. import validation
from .datasets import DATASETS
from .features import FEATURES, raw

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
}

#: Share of the generated points held out for the validation loss, by default.
VALIDATION_FRACTION = 0.2

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu", "elu", "gelu", "softplus", "identity")
OPTIMIZERS = ("sgd", "adam", "rmsprop", "adagrad", "adamw")
#: Output activation and loss, chosen together; "auto" picks by the data set's task.
OUTPUTS = {
    "sigmoid_bce": "sigmoid output, binary cross-entropy (2 classes)",
    "softmax_ce": "softmax output, cross-entropy (any number of classes)",
    "identity_mse": "linear output, mean squared error (regression)",
}

DEFAULTS = {
    "dataset": "xor", "noise": 0.1, "size": 400, "hidden": [4, 4], "activation": "tanh",
    "output": "auto", "optimizer": "sgd", "lr": 0.5, "batch_size": 10, "seed": 0,
    # None: the data's own columns (x₁, x₂; x₁ alone for a 1-D set)
    "features": None, "validation": VALIDATION_FRACTION, "l1": 0.0, "l2": 0.0, "dropout": 0.0,
}

_SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")


class RequestError(ValueError):
    """A request the server refuses; ``status`` is its HTTP status code."""

    def __init__(self, message, status=400):
        super().__init__(message)
        self.status = status


def check_body(body, allowed):
    """``body`` must be a JSON object whose keys are all in ``allowed``."""
    if not isinstance(body, dict):
        raise RequestError(f"the request body must be a JSON object, got {type(body).__name__}")
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise RequestError(f"unknown field {unknown[0]!r}; valid fields: {', '.join(sorted(allowed))}")
    return body


def session_id(value):
    """A session id: 8 to 64 letters, digits, '-' or '_' (made by the page, one per tab)."""
    if value is None:
        raise RequestError("session is required: an id of 8 to 64 letters, digits, '-' or '_'")
    if not isinstance(value, str) or not _SESSION_ID.match(value):
        raise RequestError(f"session must be 8 to 64 letters, digits, '-' or '_', got {value!r}")
    return value


def integer(value, name, lo, hi):
    return _checked(value, name, lo, hi, integer=True)


def number(value, name, lo, hi):
    return _checked(value, name, lo, hi)


def _checked(value, name, lo, hi, integer=False):
    """chainrule's own check of a number in [lo, hi]; its message as the 400's."""
    try:
        return validation.number(name, value, at_least=lo, at_most=hi, integer=integer)
    except (TypeError, ValueError) as error:
        raise RequestError(str(error)) from None


def choice(value, name, options):
    if not isinstance(value, str) or value not in options:
        raise RequestError(f"unknown {name} {value!r}; valid: {', '.join(options)}")
    return value


def resolve_output(output, dataset, data):
    """The output/loss pair for ``dataset``: "auto" chosen by its task, others checked against it."""
    if output == "auto":
        return "identity_mse" if data.task == "regression" else \
            "sigmoid_bce" if data.classes == 2 else "softmax_ce"
    if data.task == "regression" and output != "identity_mse":
        raise RequestError(f"output {output!r} needs class labels, but {dataset!r} is a "
                           "regression data set: use 'identity_mse'")
    if data.task == "classification" and output == "identity_mse":
        raise RequestError(f"output 'identity_mse' is for regression, but {dataset!r} has "
                           "class labels: use 'sigmoid_bce' or 'softmax_ce'")
    if output == "sigmoid_bce" and data.classes != 2:
        raise RequestError(f"output 'sigmoid_bce' needs 2 classes, but {dataset!r} has "
                           f"{data.classes}: use 'softmax_ce'")
    return output


def features(value, dataset, data):
    """The input features: a list of distinct names of ``FEATURES`` the data set's columns allow."""
    columns = data.n_features
    if value is None:
        return raw(columns)
    if not isinstance(value, list) or not 1 <= len(value) <= len(FEATURES):
        raise RequestError(f"features must be a list of 1 to {len(FEATURES)} feature names, "
                           f"got {value!r}")
    for name in value:
        choice(name, "feature", tuple(FEATURES))
        if FEATURES[name][1] > columns:
            raise RequestError(f"feature {name!r} needs x2, but {dataset!r} has one input "
                               f"column: use {', '.join(n for n, f in FEATURES.items() if f[1] == 1)}")
    if len(set(value)) != len(value):
        raise RequestError(f"features must not repeat a name, got {value!r}")
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
            raise RequestError("dataset 'upload' needs your points first: send a CSV of "
                               "x1,x2,label rows (POST /api/upload)")
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
        raise RequestError(f"hidden must be a list of {lo} to {hi} layer sizes, got {hidden!r}")
    config["hidden"] = [integer(u, f"hidden[{i}]", *LIMITS["units"]) for i, u in enumerate(hidden)]
    output = choice(raw["output"], "output", ("auto", *OUTPUTS))
    data = datasets[config["dataset"]]
    config["output"] = resolve_output(output, config["dataset"], data)
    config["features"] = features(raw["features"], config["dataset"], data)
    for name in ("validation", "l1", "l2", "dropout"):
        config[name] = number(raw[name], name, *LIMITS[name])
    n_train = config["size"] - round(config["size"] * config["validation"])
    lo, hi = LIMITS["batch_size"]
    config["batch_size"] = integer(raw["batch_size"], "batch_size", lo, min(hi, n_train))
    return sid, config


def parse_train(body):
    """``(session_id, steps)`` of a /api/train request; steps defaults to 1."""
    check_body(body, {"session", "steps"})
    return session_id(body.get("session")), integer(body.get("steps", 1), "steps", *LIMITS["steps"])


def parse_session(body):
    """The session id of a request that carries nothing else (/api/step, /api/close)."""
    check_body(body, {"session"})
    return session_id(body.get("session"))
