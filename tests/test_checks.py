"""chainrule.nn.checks: the one check of a numeric setting, and the entry points that use it.

The rule everywhere: TypeError for the wrong kind (not a real number, a bool, not an
integer where one is needed), ValueError for the wrong value (NaN, ±inf, out of range),
and a message ``name must be <rule>, got <value>``.
"""
from __future__ import annotations

import math
import re

import numpy as np
import pytest

import chainrule as cr
from chainrule import validation
from chainrule.nn.checks import float_dtype, number
from chainrule.optim.schedules import OneCycleLR, ReduceLROnPlateau, StepLR

NAN, INF = float("nan"), float("inf")


# -- the helper's rules ---------------------------------------------------------------------------

@pytest.mark.parametrize("bounds, inside, outside, rule", [
    (dict(greater_than=0), 1e-9, 0, "> 0"),
    (dict(at_least=0), 0, -1e-9, ">= 0"),
    (dict(less_than=1), 0.999, 1, "< 1"),
    (dict(at_most=1), 1, 1.5, "<= 1"),
    (dict(at_least=0, less_than=1), 0, 1, "in [0, 1)"),
    (dict(greater_than=0, at_most=1), 1, 0, "in (0, 1]"),
    (dict(greater_than=0.5, less_than=2.5), 1, 2.5, "in (0.5, 2.5)"),
])
def test_each_bound(bounds, inside, outside, rule):
    assert number("x", inside, **bounds) == inside
    with pytest.raises(ValueError, match=rf"^x must be {re.escape(rule)}, got {outside!r}$"):
        number("x", outside, **bounds)


def test_returns_a_python_float_or_int():
    for value in (1, 1.5, np.float32(0.5), np.int64(3), np.float64(2.0)):
        assert type(number("x", value)) is float
    for value in (3, np.int64(3), np.uint8(3)):
        result = number("x", value, integer=True)
        assert type(result) is int and result == 3


@pytest.mark.parametrize("value", [True, False, np.bool_(True)])
def test_a_bool_is_not_a_number(value):
    with pytest.raises(TypeError, match=rf"^flag must be a number >= 0, got {value!r}$"):
        number("flag", value, at_least=0)
    with pytest.raises(TypeError, match=r"^flag must be an integer >= 1, got "):
        number("flag", value, integer=True, at_least=1)


@pytest.mark.parametrize("value", ["0.1", None, [1], 1 + 2j, object()])
def test_what_is_not_a_real_number_is_a_type_error(value):
    with pytest.raises(TypeError, match=rf"^lr must be a number > 0, got {re.escape(repr(value))}$"):
        number("lr", value, greater_than=0)


@pytest.mark.parametrize("value", [2.0, 2.5, np.float64(3.0), "2"])
def test_integer_rejects_every_non_integer(value):
    with pytest.raises(TypeError, match=rf"^epochs must be an integer >= 1, got {re.escape(repr(value))}$"):
        number("epochs", value, integer=True, at_least=1)


def test_integer_out_of_range_is_a_value_error_naming_the_bound():
    with pytest.raises(ValueError, match=r"^patience must be >= 0, got -1$"):
        number("patience", -1, integer=True, at_least=0)


@pytest.mark.parametrize("value", [NAN, INF, -INF, np.float32("nan")])
def test_nan_and_inf_are_value_errors(value):
    with pytest.raises(ValueError, match=rf"^eps must be a finite number > 0, got {re.escape(repr(value))}$"):
        number("eps", value, greater_than=0)
    with pytest.raises(ValueError, match=r"^eps must be a finite number, got "):
        number("eps", value)


def test_finite_false_lets_infinity_through_but_never_nan():
    assert number("limit", INF, greater_than=0, finite=False) == INF
    with pytest.raises(ValueError, match=r"^limit must be > 0, got -inf$"):
        number("limit", -INF, greater_than=0, finite=False)
    with pytest.raises(ValueError, match=r"^limit must be a finite number > 0, got nan$"):
        number("limit", NAN, greater_than=0, finite=False)


def test_an_int_past_floats_range_is_out_of_range_not_an_overflow():
    with pytest.raises(ValueError, match=r"^lr must be a finite number > 0, got 1000"):
        number("lr", 10**400, greater_than=0)
    with pytest.raises(ValueError, match=r"^x must be <= 5, got 1000"):
        number("x", 10**400, at_most=5, finite=False)


def test_allow_none():
    assert number("batch_size", None, integer=True, at_least=1, allow_none=True) is None
    with pytest.raises(TypeError, match=r"^batch_size must be an integer >= 1, got None$"):
        number("batch_size", None, integer=True, at_least=1)


def test_without_bounds_any_finite_number():
    assert number("power_t", -1e300) == -1e300
    with pytest.raises(TypeError, match=r"^power_t must be a number, got 'a'$"):
        number("power_t", "a")


def test_float_dtype():
    assert float_dtype("float32") == np.float32 and float_dtype(np.float64) == np.float64
    with pytest.raises(TypeError, match=r"^dtype must be a floating-point type, got int32$"):
        float_dtype(np.int32)
    with pytest.raises(TypeError, match=r"^precision must be a floating-point type, got 'float99'$"):
        float_dtype("float99", name="precision")


def test_validation_re_exports_the_helpers():
    assert validation.number is number and validation.float_dtype is float_dtype
    assert not hasattr(validation, "check_positive_int")


# -- every entry point follows the rule ---------------------------------------------------------

X, Y = np.ones((8, 2)), np.zeros(8)


def _fit(**settings):
    cr.mlp([2, 1], seed=0).fit(X, Y, loss=cr.MSE(), optimizer=cr.SGD(0.1), verbose=0, **settings)


def _mlp_fit(**params):
    from chainrule.sklearn import MLPClassifier
    MLPClassifier(**params).fit(np.random.default_rng(0).standard_normal((20, 2)), np.arange(20) % 2)


def _settings(**choices):
    from chainrule.tabular.recipe import Settings
    Settings(**choices)


ENTRY_POINTS = [
    # optimizers
    (lambda: cr.Adam(lr=-1), ValueError, "lr must be > 0, got -1"),
    (lambda: cr.SGD(lr="a"), TypeError, "lr must be a number > 0, got 'a'"),
    (lambda: cr.SGD(lr=NAN), ValueError, "lr must be a finite number > 0, got nan"),
    (lambda: cr.SGD(0.1, momentum=True), TypeError, "momentum must be a number >= 0, got True"),
    (lambda: cr.RMSprop(alpha=1), ValueError, "alpha must be in [0, 1), got 1"),
    # layers and losses
    (lambda: cr.Dropout(p=1.5), ValueError, "p must be in [0, 1), got 1.5"),
    (lambda: cr.Dropout(p="half"), TypeError, "p must be a number in [0, 1), got 'half'"),
    # layers.py keeps its own count check until its rewrite moves it to number(), whose
    # message for this is "n_out must be >= 1, got 0"
    (lambda: cr.Dense(2, 0), ValueError, "n_out must be >= 1, got 0"),
    (lambda: cr.Dense(2, 2, l2=-1), ValueError, "l2 must be >= 0, got -1"),
    (lambda: cr.BatchNorm(4, eps=-1), ValueError, "eps must be > 0, got -1"),
    (lambda: cr.BatchNorm(4, momentum=2), ValueError, "momentum must be in [0, 1], got 2"),
    (lambda: cr.LayerNorm(2.5), TypeError, "n must be an integer >= 1, got 2.5"),
    (lambda: cr.BatchNorm(4, dtype=np.int64), TypeError, "dtype must be a floating-point type, got int64"),
    (lambda: cr.Huber(delta=0), ValueError, "delta must be > 0, got 0"),
    (lambda: cr.CrossEntropy(label_smoothing=1.5), ValueError, "label_smoothing must be in [0, 1], got 1.5"),
    (lambda: cr.Sequential([cr.Dense(2, 1)], dtype=np.int32), TypeError,
     "dtype must be a floating-point type, got int32"),
    # schedules
    (lambda: StepLR(0.1, step_size=0), ValueError, "step_size must be >= 1, got 0"),
    (lambda: StepLR(0.1, step_size=2.0), TypeError, "step_size must be an integer >= 1, got 2.0"),
    (lambda: OneCycleLR(0.1, 10, pct_start=1), ValueError, "pct_start must be in (0, 1), got 1"),
    (lambda: ReduceLROnPlateau(0.1, patience=-1), ValueError, "patience must be >= 0, got -1"),
    # callbacks
    (lambda: cr.EarlyStopping(patience=-1), ValueError, "patience must be >= 0, got -1"),
    (lambda: cr.EarlyStopping(min_delta=INF), ValueError, "min_delta must be a finite number >= 0, got inf"),
    (lambda: cr.ModelCheckpoint("c.safetensors", every=0), ValueError, "every must be >= 1, got 0"),
    (lambda: cr.callbacks.GradientMonitor(dead=1), ValueError, "dead must be in (0, 1), got 1"),
    # fit and predict
    (lambda: _fit(epochs=0), ValueError, "epochs must be >= 1, got 0"),
    (lambda: _fit(epochs=2.0), TypeError, "epochs must be an integer >= 1, got 2.0"),
    (lambda: _fit(batch_size=-1), ValueError, "batch_size must be >= 1, got -1"),
    (lambda: _fit(batch_size="8"), TypeError, "batch_size must be an integer >= 1, got '8'"),
    (lambda: _fit(validation_split=1), ValueError, "validation_split must be in [0, 1), got 1"),
    (lambda: _fit(clip_norm=0), ValueError, "clip_norm must be > 0, got 0"),
    (lambda: cr.mlp([2, 1], seed=0).predict(X, batch_size=0), ValueError, "batch_size must be >= 1, got 0"),
    # the scikit-learn estimators (checked in fit) and the command line's recipe
    (lambda: _mlp_fit(alpha=-1), ValueError, "alpha must be >= 0, got -1"),
    (lambda: _mlp_fit(max_iter=1.5), TypeError, "max_iter must be an integer >= 1, got 1.5"),
    (lambda: _mlp_fit(dtype="int8"), TypeError, "dtype must be a floating-point type, got int8"),
    (lambda: _settings(lr=-1), ValueError, "--lr must be > 0, got -1"),
    (lambda: _settings(epochs=0), ValueError, "--epochs must be >= 1, got 0"),
]


@pytest.mark.parametrize("make, error, message", ENTRY_POINTS)
def test_entry_points_raise_the_rules_error_and_message(make, error, message):
    with pytest.raises(error, match=f"^{re.escape(message)}$"):
        make()


def test_a_valid_setting_is_kept_as_a_python_number():
    opt = cr.Adam(lr=np.float32(0.5), betas=(np.float64(0.8), 0.9))
    assert type(opt.lr) is float and opt.betas == (0.8, 0.9)
    assert math.isclose(cr.Dropout(np.float32(0.25)).p, 0.25)
    assert cr.EarlyStopping(patience=np.int64(3)).patience == 3
