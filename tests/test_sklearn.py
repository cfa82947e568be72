"""chainrule.sklearn: scikit-learn's estimator suite, scores beside scikit-learn's MLP, the ecosystem."""
import pickle
import warnings

import numpy as np
import pytest
from sklearn import datasets
from sklearn import neural_network as sk
from sklearn.base import clone
from sklearn.exceptions import ConvergenceWarning
from sklearn.model_selection import GridSearchCV, cross_val_score, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import check_estimator, parametrize_with_checks

import chainrule as cr
from chainrule.sklearn import MLPClassifier, MLPRegressor

from conftest import assert_blas_close, blas_tolerance, relative_error, sums_length

pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


# -- scikit-learn's own estimator suite ---------------------------------------------------
# In float64 every check passes, with no expected failures. (scikit-learn's own MLP
# passes 63 of 67, expecting the sample-weight equivalence checks to fail.)

@parametrize_with_checks([MLPClassifier(max_iter=100, random_state=0, dtype=np.float64),
                          MLPRegressor(max_iter=100, random_state=0, dtype=np.float64)])
def test_sklearn_estimator_checks(estimator, check):
    check(estimator)


WEIGHT_EQUIVALENCE = {"check_sample_weight_equivalence_on_dense_data",
                      "check_sample_weight_equivalence_on_sparse_data"}


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_sklearn_estimator_checks_float32(Estimator):
    """The default float32 estimators pass every check but the two that compare fits
    with weights against fits on repeated rows at rtol=1e-7, which float32 rounding
    cannot meet; those two must then agree to float32 precision."""
    results = check_estimator(Estimator(max_iter=100, random_state=0), on_fail=None)
    failed = {r["check_name"]: r["exception"] for r in results if r["status"] == "failed"}
    assert set(failed) <= WEIGHT_EQUIVALENCE, failed
    for name, error in failed.items():
        message = str(error)
        assert "Max relative difference among violations" in message
        relative = float(message.split("Max relative difference among violations:")[1].split()[0])
        assert relative < 1e-5, (name, message)


#: check_methods_subset_invariance's tolerance: float64 predictions (those of float64 X)
#: must agree to rtol=1e-7 (scikit-learn's assert_allclose for float64) with atol=1e-7.
SUBSET_RTOL = SUBSET_ATOL = 1e-7


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_float32_estimators_predict_a_row_alone_as_among_others(Estimator):
    """The float32 network's float64 predictions do not depend on the rows predicted with
    it. (BLAS sums float32 products in an order set by the row count, the CPU's kernel and
    the threads, which moves float32 results by a few units in the last place: more
    than the 1e-7 that check_methods_subset_invariance allows float64 output.)"""
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 3, (40, 5))
    y = (X[:, 0] > 1.5).astype(int) if Estimator is MLPClassifier else X @ rng.uniform(1, 3, 5)
    est = Estimator(hidden_layer_sizes=(64, 32), max_iter=30, random_state=0).fit(X, y)
    assert est.network_.dtype == np.float32
    method = est.predict_proba if Estimator is MLPClassifier else est.predict
    whole = method(X)
    assert whole.dtype == np.float64
    for size in (1, 2, 3, 5, 8, 13, 40):
        for start in range(0, len(X) - size + 1, size):
            np.testing.assert_allclose(method(X[start:start + size]), whole[start:start + size],
                                       rtol=SUBSET_RTOL, atol=SUBSET_ATOL,
                                       err_msg=f"rows {start}..{start + size - 1} alone")


# -- scores beside scikit-learn's MLP ------------------------------------------------------

@pytest.mark.parametrize("name, tolerance", [("digits", 0.03), ("breast_cancer", 0.03),
                                             ("wine", 0.04), ("iris", 0.05), ("diabetes", 0.08)])
def test_scores_match_sklearn(name, tolerance):
    """Same constructor arguments, same data: mean test score over 3 seeds within noise."""
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    if name == "diabetes":
        y = (y - y.mean()) / y.std()
    X_train, X_test, y_train, y_test = train_test_split(X, y, random_state=0)
    scaler = StandardScaler().fit(X_train)
    X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
    classify = name != "diabetes"
    ours, theirs = (MLPClassifier, sk.MLPClassifier) if classify else (MLPRegressor, sk.MLPRegressor)
    scores = {ours: [], theirs: []}
    for seed in range(3):
        kwargs = dict(hidden_layer_sizes=(32,), alpha=1e-3 if classify else 1.0,
                      max_iter=300, random_state=seed)
        for Estimator in scores:
            scores[Estimator].append(Estimator(**kwargs).fit(X_train, y_train).score(X_test, y_test))
    mean_ours, mean_theirs = np.mean(scores[ours]), np.mean(scores[theirs])
    assert abs(mean_ours - mean_theirs) <= tolerance, (name, scores)


@pytest.fixture(scope="module")
def cancer():
    X, y = datasets.load_breast_cancer(return_X_y=True)
    return StandardScaler().fit_transform(X)[:200], y[:200]


@pytest.mark.parametrize("solver, schedule", [("adam", "constant"), ("sgd", "constant"),
                                              ("sgd", "invscaling"), ("sgd", "adaptive"),
                                              ("lbfgs", "constant")])
def test_solvers_learn_and_set_sklearns_attributes(cancer, solver, schedule):
    X, y = cancer
    kwargs = dict(hidden_layer_sizes=(8,), solver=solver, learning_rate=schedule,
                  learning_rate_init=0.01, max_iter=60, random_state=0)
    ours = MLPClassifier(**kwargs).fit(X, y)
    theirs = sk.MLPClassifier(**kwargs).fit(X, y)
    assert ours.score(X, y) > min(0.9, theirs.score(X, y) - 0.05), (ours.score(X, y), theirs.score(X, y))
    for attribute in ("classes_", "loss_", "coefs_", "intercepts_", "n_features_in_", "n_iter_",
                      "n_layers_", "n_outputs_", "out_activation_", "t_", "loss_curve_",
                      "best_loss_", "validation_scores_", "best_validation_score_"):
        assert hasattr(ours, attribute) == hasattr(theirs, attribute), attribute
    assert [c.shape for c in ours.coefs_] == [c.shape for c in theirs.coefs_]
    assert [b.shape for b in ours.intercepts_] == [b.shape for b in theirs.intercepts_]
    assert (ours.n_layers_, ours.n_outputs_, ours.out_activation_) == (3, 1, "logistic")
    assert ours.loss_ == pytest.approx(theirs.loss_, rel=0.5, abs=0.05)


def test_loss_includes_l2_penalty_on_weights_only(cancer):
    """loss_ = cross-entropy + alpha·Σ‖W‖²/(2n), recomputed by hand from the fitted weights."""
    X, y = cancer
    net = MLPClassifier(hidden_layer_sizes=(5,), solver="lbfgs", alpha=0.5, max_iter=30,
                        random_state=0, dtype=np.float64).fit(X, y)
    p = net.predict_proba(X)[:, 1]
    cross_entropy = -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))
    penalty = 0.5 * sum(np.sum(W ** 2) for W in net.coefs_) / len(X) * 0.5
    assert net.loss_ == pytest.approx(cross_entropy + penalty, rel=1e-6)


def test_early_stopping_keeps_the_best_validation_score(cancer):
    X, y = cancer
    net = MLPClassifier(hidden_layer_sizes=(8,), early_stopping=True, max_iter=200,
                        n_iter_no_change=5, random_state=0).fit(X, y)
    assert net.best_loss_ is None and len(net.validation_scores_) == net.n_iter_
    assert net.best_validation_score_ == max(net.validation_scores_)
    assert net.n_iter_ < 200


def test_tol_stops_training():
    X, y = datasets.load_iris(return_X_y=True)
    kwargs = dict(hidden_layer_sizes=(4,), tol=1e3, n_iter_no_change=3, max_iter=100, random_state=0)
    net = MLPClassifier(**kwargs).fit(X, y)
    # the first epoch sets best_loss_, the next 4 fail to improve it by tol: 4 > n_iter_no_change
    assert net.n_iter_ == sk.MLPClassifier(**kwargs).fit(X, y).n_iter_ == 5


def test_batch_size_auto_and_t():
    X, y = datasets.load_iris(return_X_y=True)
    seen = []
    cb = cr.LambdaCallback(on_batch_end=lambda b, logs: seen.append(logs["size"]))
    net = MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0, callbacks=[cb])
    net.fit(np.vstack([X, X]), np.hstack([y, y]))
    assert seen == [200, 100, 200, 100] and net.t_ == 600


# -- targets of every kind -------------------------------------------------------------

def test_labels_of_any_type_and_probabilities():
    X, y = datasets.load_iris(return_X_y=True)
    labels = np.array(["setosa", "versicolor", "virginica"], dtype=object)[y]
    net = MLPClassifier(hidden_layer_sizes=(16,), max_iter=300, random_state=0).fit(X, labels)
    assert list(net.classes_) == ["setosa", "versicolor", "virginica"]
    assert net.out_activation_ == "softmax"
    P = net.predict_proba(X)
    np.testing.assert_allclose(P.sum(axis=1), 1, rtol=1e-5)
    np.testing.assert_allclose(net.predict_log_proba(X), np.log(P), rtol=1e-6)
    assert np.mean(net.predict(X) == labels) > 0.9
    assert np.array_equal(net.predict(X), net.classes_[P.argmax(axis=1)])


def test_multilabel_and_multioutput():
    X, Y = datasets.make_multilabel_classification(n_samples=120, n_classes=3, random_state=0)
    net = MLPClassifier(hidden_layer_sizes=(16,), max_iter=200, random_state=0).fit(X, Y)
    assert net.out_activation_ == "logistic" and net.predict(X).shape == Y.shape
    assert net.predict_proba(X).shape == Y.shape and net.score(X, Y) > 0.5
    X, Y = datasets.make_regression(n_samples=100, n_features=4, n_targets=2, random_state=0)
    reg = MLPRegressor(hidden_layer_sizes=(16,), solver="lbfgs", max_iter=300, random_state=0)
    reg.fit(X, Y / 100)
    assert reg.predict(X).shape == (100, 2) and reg.score(X, Y / 100) > 0.9


def test_partial_fit_needs_classes_first_and_continues(cancer):
    X, y = cancer
    kwargs = dict(hidden_layer_sizes=(8,), learning_rate_init=0.01, shuffle=False, random_state=0)
    net = MLPClassifier(**kwargs)
    with pytest.raises(ValueError, match="classes"):
        net.partial_fit(X, y)
    for _ in range(20):
        net.partial_fit(X, y, classes=[0, 1])
    assert net.n_iter_ == 20 and net.score(X, y) > 0.9
    # twenty one-epoch calls are twenty epochs of fit (same optimizer state carried over)
    whole = MLPClassifier(max_iter=20, tol=0, **kwargs).fit(X, y)
    np.testing.assert_allclose(net.predict_proba(X), whole.predict_proba(X), rtol=1e-6)
    with pytest.raises(AttributeError, match="partial_fit"):
        _ = MLPClassifier(solver="lbfgs").partial_fit


def test_sample_weight_zero_equals_dropping_rows(cancer):
    X, y = cancer
    w = np.ones(len(X))
    w[::3] = 0
    kwargs = dict(hidden_layer_sizes=(6,), solver="lbfgs", max_iter=50, random_state=0,
                  dtype=np.float64)
    weighted = MLPClassifier(**kwargs).fit(X, y, sample_weight=w)
    dropped = MLPClassifier(**kwargs).fit(X[w > 0], y[w > 0])
    np.testing.assert_allclose(weighted.predict_proba(X), dropped.predict_proba(X), rtol=1e-6)


@pytest.mark.parametrize("solver", ["adam", "sgd", "lbfgs"])
@pytest.mark.parametrize("scale", [1e-50, 1.0, 1e300])
def test_equal_weights_of_any_scale_fit_exactly_as_none_without_a_penalty(cancer, solver, scale):
    """The weighted mean loss needs only the weights' ratios, taken in float64 before the cast
    to float32: 1e-50 was a ZeroDivisionError, 1e300 a DivergenceError. (With alpha > 0 the
    scale stays meaningful: scikit-learn's penalty is alpha·‖W‖²/(2·Σ sample_weight).)"""
    X, y = cancer
    kwargs = dict(hidden_layer_sizes=(5,), solver=solver, alpha=0.0, max_iter=8, batch_size=32,
                  random_state=0, class_weight={0: 1.0, 1: 3.0})
    plain = MLPClassifier(**kwargs).fit(X, y)
    weighted = MLPClassifier(**kwargs).fit(X, y, sample_weight=np.full(len(y), scale))
    assert weighted.network_.flat_params.tobytes() == plain.network_.flat_params.tobytes()


@pytest.mark.parametrize("Estimator", [MLPClassifier, MLPRegressor])
def test_bad_sample_weights_are_named(cancer, Estimator):
    X, y = cancer
    est = Estimator(hidden_layer_sizes=(3,), max_iter=2)
    with pytest.raises(ValueError, match=r"sample_weight must be numeric, found 'a' at index \(0,\)"):
        est.fit(X, y, sample_weight=["a"] * len(y))
    with pytest.raises(ValueError, match=r"Sample weights must contain at least one non-zero"):
        est.fit(X, y, sample_weight=np.zeros(len(y)))  # scikit-learn's own check, first
    if Estimator is MLPClassifier:
        with pytest.raises(ValueError, match=r"sample_weight times class_weight must have at least "
                                             rf"one positive weight, got all {len(y)} equal to 0"):
            MLPClassifier(class_weight={0: 0.0, 1: 0.0}, max_iter=2).fit(X, y)
    with pytest.raises(ValueError, match=r"sample_weight.*NaN"):
        est.fit(X, y, sample_weight=np.r_[np.nan, np.ones(len(y) - 1)])


def test_class_weight_shifts_predictions_towards_the_weighted_class(cancer):
    X, y = cancer
    kwargs = dict(hidden_layer_sizes=(4,), max_iter=100, random_state=0)
    plain = MLPClassifier(**kwargs).fit(X, y).predict_proba(X)[:, 0].mean()
    heavy = MLPClassifier(class_weight={0: 10.0, 1: 1.0}, **kwargs).fit(X, y).predict_proba(X)[:, 0].mean()
    assert heavy > plain


# -- beyond scikit-learn -------------------------------------------------------------------

def test_network_dtype_and_float32_default(cancer):
    X, y = cancer
    net = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, random_state=0).fit(X, y)
    assert isinstance(net.network_, cr.Sequential) and net.network_.dtype == np.float32
    assert net.coefs_[0].dtype == np.float32
    assert net.predict_proba(X.astype(np.float32)).dtype == np.float32
    net64 = MLPRegressor(hidden_layer_sizes=(4,), max_iter=5, dtype=np.float64).fit(X, y)
    assert net64.network_.dtype == np.float64


def test_dropout_is_used_in_training_only(cancer):
    X, y = cancer
    net = MLPClassifier(hidden_layer_sizes=(16,), dropout=0.3, max_iter=50, random_state=0).fit(X, y)
    assert any(isinstance(layer, cr.Dropout) for layer in net.network_.layers)
    assert_blas_close(net.predict_proba(X), net.predict_proba(X), sums_length(net.network_))
    assert net.score(X, y) > 0.9
    with pytest.raises(ValueError, match=r"dropout must be in \[0, 1\), got 1.5"):
        MLPClassifier(dropout=1.5).fit(X, y)


def test_callbacks_can_stop_training_and_verbose_shows_a_bar(cancer, capsys):
    X, y = cancer

    class StopAt3(cr.Callback):
        def on_epoch_end(self, epoch, logs):
            self.run.stop_training = epoch == 2

    net = MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, callbacks=[StopAt3()], verbose=2)
    net.fit(X, y)
    captured = capsys.readouterr()
    assert net.n_iter_ == 3
    assert "Iteration 3, loss = " in captured.out and "training" in captured.err


def test_chainrules_own_callbacks_work_inside_the_estimator(cancer, tmp_path):
    X, y = cancer
    logs_seen = []
    monitor = cr.GradientMonitor(every=1, warn=False)
    stopper = cr.EarlyStopping(monitor="loss", patience=0, min_delta=1e9)  # never improves enough
    csv_path = tmp_path / "log.csv"
    net = MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, random_state=0, callbacks=[
        cr.LambdaCallback(on_epoch_end=lambda e, logs: logs_seen.append(dict(logs))),
        monitor, cr.CSVLogger(csv_path), stopper])
    with warnings.catch_warnings():
        warnings.simplefilter("error", ConvergenceWarning)  # stopped, not out of iterations
        net.fit(X, y)
    # the first epoch sets the best loss, the second fails to beat it by 1e9: stop
    assert net.n_iter_ == 2 and stopper.stopped_epoch == 1
    assert [set(logs) for logs in logs_seen] == [{"loss", "lr"}] * 2
    assert logs_seen[0]["lr"] == net.learning_rate_init
    assert logs_seen[-1]["loss"] == net.loss_
    steps = 2 * -(-len(X) // 200)
    assert monitor.records["step"] == list(range(1, steps + 1))
    assert all(len(v) == steps for v in monitor.records["grad_norm"].values())
    rows = csv_path.read_text().splitlines()
    assert rows[0] == "epoch,loss,lr" and len(rows) == 3
    assert float(rows[2].split(",")[1]) == net.loss_


def test_a_callback_can_stop_after_a_batch(cancer):
    X, y = cancer

    class StopAfterBatch1(cr.Callback):
        def on_batch_end(self, batch, logs):
            self.run.stop_training = batch == 1

    net = MLPClassifier(hidden_layer_sizes=(4,), max_iter=50, batch_size=50, random_state=0,
                        callbacks=[StopAfterBatch1()]).fit(X, y)
    assert net.n_iter_ == 1 and net.t_ == 100 and np.isfinite(net.loss_)


def test_model_checkpoint_is_refused_before_training(cancer, tmp_path):
    X, y = cancer
    net = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3,
                        callbacks=[cr.ModelCheckpoint(tmp_path / "c.safetensors")])
    with pytest.raises(ValueError, match=r"callbacks\[0\] is a ModelCheckpoint.*resume"):
        net.fit(X, y)
    assert not hasattr(net, "network_") and not (tmp_path / "c.safetensors").exists()


def test_bad_parameters_name_the_argument(cancer):
    X, y = cancer
    for params, error, message in [
            (dict(alpha=-1), ValueError, "alpha must be >= 0, got -1"),
            (dict(solver="newton"), ValueError, "solver must be one of"),
            (dict(hidden_layer_sizes=(0,)), ValueError, r"hidden_layer_sizes\[0\] must be >= 1, got 0"),
            (dict(hidden_layer_sizes=(8, 2.5)), TypeError,
             r"hidden_layer_sizes\[1\] must be an integer >= 1, got 2.5"),
            (dict(max_iter="10"), TypeError, "max_iter must be an integer >= 1, got '10'"),
            (dict(activation="swish"), ValueError, "activation must be one of"),
            (dict(dtype=np.int32), TypeError, "dtype must be a floating-point type, got int32")]:
        with pytest.raises(error, match=message):
            MLPClassifier(**params).fit(X, y)


# -- the ecosystem -------------------------------------------------------------------------

def test_pipeline_gridsearch_cross_val_clone_pickle(cancer):
    X, y = cancer
    pipe = make_pipeline(StandardScaler(), MLPClassifier(hidden_layer_sizes=(8,), max_iter=50,
                                                         random_state=0))
    assert cross_val_score(pipe, X, y, cv=3).mean() > 0.85
    search = GridSearchCV(pipe, {"mlpclassifier__alpha": [1e-4, 1e-1]}, cv=3).fit(X, y)
    assert search.best_score_ > 0.85
    fitted = search.best_estimator_
    again = pickle.loads(pickle.dumps(fitted))
    length = sums_length(fitted[-1].network_)
    np.testing.assert_array_equal(again[-1].network_.flat_params, fitted[-1].network_.flat_params)
    assert_blas_close(again.predict_proba(X), fitted.predict_proba(X), length)
    again[-1].partial_fit(X, y)  # the unpickled network trains on (its flat buffers rebuilt)
    moved = relative_error(again.predict_proba(X), fitted.predict_proba(X))
    assert moved > blas_tolerance(np.float64, length), moved  # more than rounding
    fresh = clone(fitted[-1])
    assert not hasattr(fresh, "network_") and fresh.get_params() == fitted[-1].get_params()


def test_pandas_dataframe_feature_names():
    pytest.importorskip("pandas")
    X, y = datasets.load_iris(return_X_y=True, as_frame=True)
    net = MLPClassifier(hidden_layer_sizes=(4,), max_iter=20, random_state=0).fit(X, y)
    assert list(net.feature_names_in_) == list(X.columns)
    with pytest.warns(UserWarning, match="feature names"):
        net.predict(X.to_numpy())
    renamed = X.rename(columns={X.columns[0]: "other"})
    with pytest.raises(ValueError, match="feature names"):
        net.predict(renamed)


def test_warm_start_continues_from_the_fitted_weights(cancer):
    X, y = cancer
    net = MLPClassifier(hidden_layer_sizes=(4,), max_iter=5, warm_start=True, random_state=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        net.fit(X, y)
        first = net.coefs_[0].copy()
        network = net.network_
        net.fit(X, y)
    assert net.network_ is network and not np.array_equal(first, net.coefs_[0])


# -- model files -----------------------------------------------------------------------------

@pytest.mark.parametrize("make", ["strings", "binary_bool", "multilabel", "regress2", "dropout64"])
def test_save_load_round_trip_gives_identical_predictions(tmp_path, make):
    from chainrule.sklearn import load
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 4))
    kwargs = dict(hidden_layer_sizes=(5,), max_iter=20, random_state=0)
    if make == "strings":
        est = MLPClassifier(**kwargs).fit(X, np.array(["cat", "dog", "eel"])[np.arange(60) % 3])
    elif make == "binary_bool":
        est = MLPClassifier(class_weight={True: 2.0, False: 1.0}, **kwargs).fit(X, X[:, 0] > 0)
    elif make == "multilabel":
        est = MLPClassifier(**kwargs).fit(X, (X[:, :3] > 0).astype(int))
    elif make == "regress2":
        est = MLPRegressor(**kwargs).fit(X, X[:, :2] * 2)
    else:
        est = MLPRegressor(dropout=0.2, dtype=np.float64, **kwargs).fit(X, X[:, 0])
    path = tmp_path / "model.safetensors"
    est.save(path)
    assert path.read_bytes()[:8]  # a real file was written
    back = load(path)
    assert type(back) is type(est) and back.get_params().keys() == est.get_params().keys()
    np.testing.assert_array_equal(back.network_.flat_params, est.network_.flat_params)
    length = sums_length(est.network_)
    if make in ("strings", "binary_bool", "multilabel"):
        np.testing.assert_array_equal(back.classes_, est.classes_)
        assert back.classes_.dtype == est.classes_.dtype
        assert_blas_close(back.predict_proba(X), est.predict_proba(X), length)
        np.testing.assert_array_equal(back.predict(X), est.predict(X))  # labels
    else:
        assert_blas_close(back.predict(X), est.predict(X), length)
    for name in ("n_iter_", "loss_", "loss_curve_", "n_layers_", "n_outputs_", "out_activation_",
                 "best_loss_", "t_", "n_features_in_"):
        assert getattr(back, name) == getattr(est, name), name
    assert back.network_.dtype == est.network_.dtype
    back.partial_fit(X, est.predict(X))  # a loaded estimator trains on
    assert back.n_iter_ == est.n_iter_ + 1
    assert not np.array_equal(back.network_.flat_params, est.network_.flat_params)


def test_saved_dataframe_model_keeps_feature_names(tmp_path):
    pytest.importorskip("pandas")
    from chainrule.sklearn import load
    X, y = datasets.load_iris(return_X_y=True, as_frame=True)
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=10, random_state=0).fit(X, y)
    est.save(tmp_path / "iris.safetensors")
    back = load(tmp_path / "iris.safetensors")
    assert list(back.feature_names_in_) == list(X.columns)
    assert_blas_close(back.predict_proba(X), est.predict_proba(X), sums_length(est.network_))
    np.testing.assert_array_equal(back.predict(X), est.predict(X))  # labels


def test_load_rejects_files_that_are_not_estimators(tmp_path):
    from chainrule import io
    from chainrule.sklearn import load
    net = cr.mlp([3, 2], seed=0)
    plain = tmp_path / "net.safetensors"
    net.save(plain)
    with pytest.raises(ValueError, match="not a saved estimator"):
        load(plain)
    bad_records = [
        ({"class": "os.system", "params": {}, "fitted": {}}, "estimator class"),
        ({"class": "MLPRegressor", "params": {"__init__": 1}, "fitted": {}}, "unknown"),
        ({"class": "MLPRegressor", "params": {}, "fitted": {"n_features_in_": 7, "n_outputs_": 2,
                                                           "n_layers_": 2}}, "n_features_in_"),
        ({"class": "MLPClassifier", "params": {}, "fitted": {
            "n_features_in_": 3, "n_outputs_": 2, "n_layers_": 2, "out_activation_": "softmax",
            "classes_": [1, 2], "classes_dtype": "int64", "y_type_": "binary"}}, "outputs"),
        ({"class": "MLPClassifier", "params": {}, "fitted": {
            "n_features_in_": 3, "n_outputs_": 2, "n_layers_": 2, "out_activation_": "softmax",
            "classes_": [1, 2], "classes_dtype": "V8", "y_type_": "binary"}}, "label dtype"),
        ({"class": "MLPRegressor", "params": {"dtype": "int8"}, "fitted": {}}, "dtype"),
    ]
    for record, word in bad_records:
        path = tmp_path / "bad.safetensors"
        io.save(net, path, metadata={"estimator": record})
        with pytest.raises(ValueError, match=word):
            load(path)
    garbage = tmp_path / "garbage.safetensors"
    garbage.write_bytes(b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}")
    with pytest.raises(ValueError):
        load(garbage)
    with pytest.raises(ValueError, match="not fitted"):
        MLPClassifier().save(tmp_path / "unfitted.safetensors")


def test_poisson_regression_matches_sklearn_and_round_trips(tmp_path):
    from chainrule.sklearn import load
    rng = np.random.default_rng(0)
    X, X_test = rng.normal(size=(400, 3)), rng.normal(size=(400, 3))
    rate = lambda X: np.exp(0.5 * X[:, 0] - 0.3 * X[:, 1] + 0.5)
    y, y_test = rng.poisson(rate(X)), rng.poisson(rate(X_test))
    scores = {}
    for Estimator in (MLPRegressor, sk.MLPRegressor):
        runs = [Estimator(loss="poisson", hidden_layer_sizes=(16,), random_state=seed).fit(X, y)
                for seed in range(2)]
        assert all(r.out_activation_ == "exp" for r in runs)
        scores[Estimator] = np.mean([r.score(X_test, y_test) for r in runs])
    assert abs(scores[MLPRegressor] - scores[sk.MLPRegressor]) < 0.05, scores
    est = MLPRegressor(loss="poisson", hidden_layer_sizes=(4,), max_iter=20, random_state=0).fit(X, y)
    assert np.all(est.predict(X) > 0)
    est.save(tmp_path / "poisson.safetensors")
    assert_blas_close(load(tmp_path / "poisson.safetensors").predict(X), est.predict(X),
                      sums_length(est.network_))
    with pytest.raises(ValueError, match="y >= 0"):
        MLPRegressor(loss="poisson").fit(X, -np.abs(y) - 1)


@pytest.mark.parametrize("with_mean", [True, False])
def test_pipeline_with_scaling_round_trips(tmp_path, cancer, with_mean):
    from chainrule.sklearn import load, save
    X, y = cancer
    X = X * 50 + 10  # unscaled inputs: the saved scaler matters
    pipe = make_pipeline(StandardScaler(with_mean=with_mean),
                         MLPClassifier(hidden_layer_sizes=(6,), max_iter=30, random_state=0))
    pipe.fit(X, np.where(y == 1, "yes", "no"))
    save(pipe, tmp_path / "pipe.safetensors")
    back = load(tmp_path / "pipe.safetensors")
    assert [name for name, _ in back.steps] == [name for name, _ in pipe.steps]
    assert_blas_close(back.predict_proba(X), pipe.predict_proba(X), sums_length(pipe[-1].network_))
    np.testing.assert_array_equal(back.predict(X), pipe.predict(X))  # labels
    from sklearn.preprocessing import MinMaxScaler
    other = make_pipeline(MinMaxScaler(), MLPClassifier(max_iter=5)).fit(X, y)
    with pytest.raises(TypeError, match="MinMaxScaler"):
        save(other, tmp_path / "other.safetensors")


def test_load_checks_the_pipeline_record(tmp_path, cancer):
    from chainrule.sklearn import load
    from chainrule.sklearn.io import save_estimator
    X, y = cancer
    est = MLPClassifier(hidden_layer_sizes=(3,), max_iter=2).fit(X, y)
    step = {"name": "scale", "with_mean": True, "with_std": True, "n_features_in_": 30}
    cases = [({"steps": "no", "final": "m"}, {}, "'steps' list"),
             ({"steps": [step], "final": "m"}, {"pipeline.0.mean_": np.zeros(3)}, "mean_ must be 30"),
             ({"steps": [dict(step, n_features_in_=4)], "final": "m"}, {}, "lacks its mean_"),
             ({"steps": [dict(step, with_mean="yes")], "final": "m"}, {}, "not a StandardScaler")]
    for record, tensors, word in cases:
        save_estimator(est, tmp_path / "p.safetensors", metadata={"pipeline": record},
                       extra_tensors=tensors)
        with pytest.raises(ValueError, match=word):
            load(tmp_path / "p.safetensors")


def test_divergence_keeps_the_estimators_last_finite_weights():
    """The estimators share fit's guarded step: an update that overflows the weights is undone."""
    import chainrule as cr
    rng = np.random.default_rng(0)
    X, y = rng.standard_normal((60, 4)), rng.integers(0, 2, 60)
    est = MLPClassifier(hidden_layer_sizes=(8,), solver="sgd", learning_rate_init=1e30,
                        max_iter=5, random_state=0)
    with pytest.raises(cr.DivergenceError, match="weights are those before this batch"):
        est.fit(X, y)
    assert np.all(np.isfinite(est.network_.flat_params))


# -- hostile estimator files (issue 15) -------------------------------------------------

@pytest.fixture(scope="module")
def saved_classifier(tmp_path_factory):
    """``(path, net, user metadata)`` of a small fitted classifier saved to a file."""
    from chainrule import io
    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(30, 3)), np.array(["ant", "bee", "cat"] * 10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0).fit(X, y)
    path = tmp_path_factory.mktemp("est") / "est.safetensors"
    est.save(path)
    net, user, _ = io.load_with_extras(path)
    return path, net, user


def _with_record(tmp_path, saved_classifier, change):
    """The saved classifier's file with ``change(record)`` applied to its estimator record."""
    import copy

    from chainrule import io
    _, net, user = saved_classifier
    user = copy.deepcopy(user)
    change(user["estimator"])
    path = tmp_path / "hostile.safetensors"
    io.save(net, path, metadata=user)
    return path


def test_a_huge_classes_dtype_is_refused_before_allocating(tmp_path, saved_classifier):
    import tracemalloc

    from chainrule.sklearn import load
    path = _with_record(tmp_path, saved_classifier,
                        lambda r: r["fitted"].update(classes_dtype="<U100000000"))
    assert path.stat().st_size < 2500  # 2 KB claiming 3 × 400 MB of labels
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"classes_dtype '<U100000000' for 3 labels needs "
                                             r"1200000000 bytes, more than 16 times the file's"):
            load(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 50e6


def _set(section, **values):
    return lambda record: record[section].update(values)


def _drop(section, key):
    return lambda record: record[section].pop(key)


@pytest.mark.parametrize("change, words", [
    # each of these raised OverflowError, TypeError, AttributeError or an unpacking error
    (_set("params", alpha=10**400), "parameter alpha must fit in 64 bits"),
    (_set("params", hidden_layer_sizes=None), "hidden_layer_sizes must be an integer or a list"),
    (_set("params", hidden_layer_sizes=2.5), "hidden_layer_sizes must be an integer or a list"),
    (_set("params", class_weight=[["ant", 1.0, 3]]), r"class_weight entries must be \[label, weight\]"),
    (_set("params", class_weight=[5]), r"class_weight entries must be \[label, weight\]"),
    (_set("params", class_weight=[["ant", "heavy"]]), "class_weight of 'ant' must be a number >= 0, got 'heavy'"),
    (_set("params", callbacks=["os.system"]), "parameter callbacks must be null"),
    (_set("fitted", classes_=[1, 2, 300], classes_dtype="int8"), "cannot be held as classes_dtype 'int8'"),
    (_set("fitted", classes_=["a", 1, 2], classes_dtype="O"), "are not usable labels"),
    (_set("fitted", classes_dtype="(99999999999999,)i8"), "is not a numpy dtype"),
    (_drop("fitted", "out_activation_"), "the fitted attribute out_activation_ is missing"),
    (_drop("fitted", "n_layers_"), "the fitted attribute n_layers_ is missing"),
    (_drop("fitted", "n_iter_"), "the fitted attribute n_iter_ is missing"),
    (_set("fitted", n_iter_="many"), "n_iter_ must be an integer >= 0, got 'many'"),
    (_set("fitted", loss_=10**400), "loss_ must be a finite number, got 1000"),
    (_set("fitted", loss_curve_={"a": 1}), "loss_curve_ must be a list of numbers"),
    (_set("fitted", out_activation_=["softmax"]), "out_activation_ must be a string"),
])
def test_hostile_estimator_metadata_is_a_value_error_naming_the_field(tmp_path, saved_classifier,
                                                                      change, words):
    from chainrule.sklearn import load
    with pytest.raises(ValueError, match=words):
        load(_with_record(tmp_path, saved_classifier, change))


@pytest.mark.parametrize("change", [
    _set("params", hidden_layer_sizes=[5]), _set("params", hidden_layer_sizes=[4, 4]),
    _set("params", activation="tanh"), _set("params", dropout=0.5),
    _set("fitted", n_layers_=4, out_activation_="softmax"),
])
def test_parameters_that_contradict_the_stored_network_are_refused(tmp_path, saved_classifier,
                                                                   change):
    from chainrule.sklearn import load
    with pytest.raises(ValueError, match="contradicts|does not match the 1 hidden"):
        load(_with_record(tmp_path, saved_classifier, change))


def test_non_finite_loss_curve_round_trips_as_floats(tmp_path, saved_classifier):
    from chainrule.sklearn import load
    path = _with_record(tmp_path, saved_classifier, _set("fitted", loss_curve_=[1.5, "inf", "nan"]))
    curve = load(path).loss_curve_
    assert curve[:2] == [1.5, float("inf")] and np.isnan(curve[2])


def test_the_untouched_hostile_fixture_loads(tmp_path, saved_classifier):
    from chainrule.sklearn import load
    est = load(_with_record(tmp_path, saved_classifier, lambda record: None))
    assert list(est.classes_) == ["ant", "bee", "cat"]


# -- label smoothing ---------------------------------------------------------------------------

@pytest.mark.parametrize("classes, eps", [(3, 0.1), (3, 0.0), (2, 0.1), (2, 0.3)])
def test_label_smoothing_trains_on_torchs_smoothed_cross_entropy(classes, eps):
    """One full-batch SGD step of a fitted classifier equals torch's: the loss it reports is
    ``CrossEntropyLoss(label_smoothing=eps)`` of the logits before the step, and the weights
    move by lr times its gradient. Two classes (one sigmoid output) are compared with torch's
    two-class softmax on the logits (0, z), whose smoothed targets are (1 − ε)·y + ε/2."""
    import torch
    from training_checks import assert_close
    rng = np.random.default_rng(5)
    X = rng.normal(size=(40, 3))
    y = rng.integers(0, classes, 40)
    lr = 0.1
    est = MLPClassifier(hidden_layer_sizes=(6,), solver="sgd", momentum=0.0, alpha=0.0,
                        learning_rate_init=lr, batch_size=40, max_iter=1, shuffle=False,
                        random_state=0, dtype=np.float64, label_smoothing=eps).fit(X, y)
    W = [torch.tensor(w, requires_grad=True) for w in (*est.coefs_, *est.intercepts_)]
    before = [w.detach().numpy().copy() for w in W]
    est.partial_fit(X, y)                                   # the step from `before`
    W1, W2, b1, b2 = W
    Z = torch.relu(torch.tensor(X) @ W1 + b1) @ W2 + b2
    if classes == 2:
        Z = torch.cat([torch.zeros_like(Z), Z], dim=1)      # p(class 1) = σ(z)
    L = torch.nn.CrossEntropyLoss(label_smoothing=eps)(Z, torch.tensor(y))
    L.backward()
    assert abs(est.loss_curve_[-1] - L.item()) <= 1e-12 * max(1.0, L.item())
    after = (*est.coefs_, *est.intercepts_)
    for name, w0, w, t in zip(("W1", "W2", "b1", "b2"), before, after, W):
        assert_close((w0 - w) / lr, t.grad, f"step of {name}")


def test_label_smoothing_makes_predictions_less_sure(cancer):
    """Smoothed targets ask for p = 1 − ε/2 = 0.9 on a clear row, not 1: the fitted
    probabilities stay further from 0 and 1; the setting is checked."""
    X, y = cancer
    kwargs = dict(hidden_layer_sizes=(16,), max_iter=200, random_state=0)
    sharp = MLPClassifier(**kwargs).fit(X, y).predict_proba(X).max(axis=1)
    smooth = MLPClassifier(label_smoothing=0.2, **kwargs).fit(X, y).predict_proba(X).max(axis=1)
    assert np.median(sharp) > 0.97 and np.median(smooth) < 0.93, (np.median(sharp),
                                                                  np.median(smooth))
    with pytest.raises(ValueError, match="label_smoothing must be in \\[0, 1\\], got 1.5"):
        MLPClassifier(label_smoothing=1.5, max_iter=1).fit(X, y)


def test_label_smoothing_round_trips_through_a_model_file(tmp_path, cancer):
    from chainrule.sklearn import load
    X, y = cancer
    est = MLPClassifier(hidden_layer_sizes=(4,), max_iter=3, random_state=0,
                        label_smoothing=0.1).fit(X, y)
    est.save(tmp_path / "m.safetensors")
    assert load(tmp_path / "m.safetensors").label_smoothing == 0.1


# -- periodic_columns: a PeriodicEmbedding first ----------------------------------------------

def test_periodic_columns_put_an_embedding_first_and_round_trip(tmp_path, cancer):
    from chainrule.sklearn import load
    X, y = cancer
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0,
                        periodic_columns=4).fit(X, y)
    first, dense = est.network_.layers[:2]
    assert isinstance(first, cr.PeriodicEmbedding) and (first.n_in, first.n_numeric) == (30, 4)
    assert dense.n_in == 30 + 4 * 3 and len(est.coefs_) == 2    # coefs_: the Dense layers
    est.save(tmp_path / "m.st")
    back = load(tmp_path / "m.st")
    assert back.periodic_columns == 4
    np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))
    same = MLPClassifier(hidden_layer_sizes=(8,), max_iter=5, random_state=0,
                         periodic_columns=4).fit(X, y)
    np.testing.assert_array_equal(same.network_.flat_params, est.network_.flat_params)
    with pytest.raises(ValueError, match="periodic_columns must be at most the 30 input "
                                         "features, got 31"):
        MLPClassifier(periodic_columns=31, max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="periodic_columns must be >= 0, got -1"):
        MLPClassifier(periodic_columns=-1, max_iter=1).fit(X, y)


def test_a_stored_network_that_contradicts_periodic_columns_is_refused(tmp_path, cancer):
    from chainrule.files import model
    from chainrule.sklearn import load
    X, y = cancer
    est = MLPClassifier(hidden_layer_sizes=(8,), max_iter=2, random_state=0).fit(X, y)
    est.save(tmp_path / "plain.st")
    net, user, extras = model.load_with_extras(tmp_path / "plain.st")
    user["estimator"]["params"]["periodic_columns"] = 2   # says so, but no embedding is there
    model.save(net, tmp_path / "liar.st", metadata=user)
    with pytest.raises(ValueError, match=r"contradicts the parameters .*periodic_columns=2"):
        load(tmp_path / "liar.st")
