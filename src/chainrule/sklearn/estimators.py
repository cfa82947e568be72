"""``MLPClassifier`` and ``MLPRegressor``: what differs between them (targets, output, loss)."""
from __future__ import annotations

import numpy as np
from sklearn.base import ClassifierMixin, RegressorMixin
from sklearn.exceptions import DataConversionWarning
from sklearn.preprocessing import LabelBinarizer
from sklearn.utils.metaestimators import available_if
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, validate_data

from ..nn.activations import Exp, Identity, Sigmoid, Softmax
from ..nn.checks import warn_user
from .base import BaseMLP, fits, keep_settings, predicts
from .checks import dense
from .losses import BinaryLogLoss, LogLoss, PoissonLoss, SquaredLoss


class MLPClassifier(ClassifierMixin, BaseMLP):
    """Multilayer perceptron classifier, a drop-in for ``sklearn.neural_network.MLPClassifier``.

    Parameters are scikit-learn's (see its documentation), plus:

    dropout : float in [0, 1), default 0
        Probability of zeroing each hidden unit in training (inverted dropout).
    class_weight : dict, "balanced" or None
        Weights per class, multiplied into ``sample_weight`` (as in LogisticRegression).
    label_smoothing : float in [0, 1], default 0
        Training targets ``Y' = (1 − ε)·Y + ε/k`` instead of the 0/1 rows Y (Szegedy et
        al., 2016; torch's ``CrossEntropyLoss(label_smoothing=ε)``): k classes for a
        softmax output; k = 2 for each sigmoid output (two classes, or multilabel), which
        equals the two-class softmax with logits (0, z). Only the training loss sees Y'
        (``loss_curve_`` is its value); scores and predictions are unchanged.
    periodic_columns : int, default 0
        The first k input columns also pass through a :class:`chainrule.PeriodicEmbedding`
        (RealMLP's PBLD: 16 learned cosines per column mapped to 3 numbers, beside the
        column itself) before the first Dense layer; 0: none. (``chainrule train`` puts
        a table's numeric columns first.)
    embedded_categories : sequence of int, default ()
        c category counts: the last c input columns hold category indices, column j's
        whole numbers in [0, k_j), each looked up in a learned table of
        ``embedding_width`` numbers per category by a :class:`chainrule.CategoryEmbedding`,
        the network's first layer (the columns before it pass through); () for none.
        (``chainrule train --category-embedding many`` puts a table's many-level text
        columns last, as such indices.)
    embedding_width : int, default 8
        The numbers per category of ``embedded_categories``.
    init : {"glorot", "data"}, default "glorot"
        "glorot": scikit-learn's Glorot-uniform weights and biases. "data": then, on
        the first fit, each hidden Dense layer rescaled and shifted on a sample of the
        training rows (RealMLP's data-dependent initialisation; see
        :func:`chainrule.sklearn.base.data_init`).
    activation : also "gelu" (beyond scikit-learn's four)
    dtype : numpy floating type, default numpy.float32
        The network's dtype: inputs are converted once, float32 is the fast path.
    callbacks : list of chainrule Callback, optional
        Called at each epoch and batch of the stochastic solvers (lbfgs has
        no epochs and calls none). The epoch's logs hold "loss", "lr" and, with
        ``early_stopping``, "val_score"; ``run.history`` is that fit call's
        History (GradientMonitor records there). ModelCheckpoint is refused
        with a ValueError: its files are resumed by ``chainrule.fit``, which
        the estimator does not go through (save with ``est.save`` instead).

    ``verbose=True`` shows a progress bar; ``verbose=2`` also prints
    scikit-learn's "Iteration N, loss = ..." lines. ``network_`` is the
    trained :class:`chainrule.Sequential` (softmax or sigmoid output).

    Threads: one call at a time. ``fit`` and ``partial_fit`` raise a
    RuntimeError naming both calls, before changing anything, while another
    thread uses the estimator; predictions from several threads take turns,
    and raise a RuntimeError during another thread's fit (see
    :mod:`chainrule.modes`).
    """

    label_smoothing = 0.0   # for an estimator pickled before it had one (see BaseMLP)

    def __init__(self, hidden_layer_sizes=(100,), activation="relu", *, solver="adam",
                 alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, class_weight=None, dtype=np.float32, callbacks=None,
                 label_smoothing=0.0, periodic_columns=0, embedded_categories=(),
                 embedding_width=8, init="glorot"):
        keep_settings(self, locals())

    @fits("{cls}.fit")
    def fit(self, X, y, sample_weight=None):
        """Fit to X (n, n_features) and labels y (n,) or a label indicator matrix (n, k)."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(BaseMLP._check_stochastic)
    @fits("{cls}.partial_fit")
    def partial_fit(self, X, y, sample_weight=None, classes=None):
        """One epoch over (X, y); ``classes`` lists every label on the first call."""
        if not hasattr(self, "classes_"):
            if classes is None:
                raise ValueError("classes must be passed on the first call to partial_fit")
            self._binarizer = LabelBinarizer().fit(classes)
            self.classes_ = self._binarizer.classes_
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate(self, X, y, incremental, reset):
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc", "coo"], multi_output=True,
                             dtype=[np.float64, np.float32], reset=reset)
        if y.ndim == 2 and y.shape[1] == 1:
            warn_user("A column-vector y was passed when a 1d array was expected; "
                      "it is raveled", DataConversionWarning)
            y = y.ravel()
        check_classification_targets(y)
        return dense(X), y

    def _encode(self, y, refit):
        if refit:
            self._binarizer = LabelBinarizer().fit(y)
            self.classes_ = self._binarizer.classes_
        if type_of_target(y) == "multilabel-indicator":
            if y.shape[1] != len(self.classes_):
                raise ValueError(f"y has {y.shape[1]} label columns, but the classifier was "
                                 f"fitted with {len(self.classes_)}")
        else:
            unseen = np.setdiff1d(np.unique(y), self.classes_)
            if len(unseen):
                raise ValueError(f"y contains labels not seen before: {unseen.tolist()}; "
                                 f"the classifier knows {self.classes_.tolist()}")
        return self._binarizer.transform(y).astype(np.float64)

    def _output_name(self):
        return "softmax" if self._binarizer.y_type_ == "multiclass" else "logistic"

    def _training_targets(self, Y):
        """The 0/1 targets Y (n, outputs) label-smoothed: ``(1 − ε)·Y + ε/k``, k the classes
        of a softmax row, 2 for each sigmoid output (see the class docstring)."""
        eps = self.label_smoothing
        if not eps:
            return Y
        k = Y.shape[1] if self.out_activation_ == "softmax" else 2
        return (1.0 - eps) * Y + eps / k

    def _output_layer(self):
        return Softmax if self.out_activation_ == "softmax" else Sigmoid

    def _loss_object(self):
        return LogLoss() if self.out_activation_ == "softmax" else BinaryLogLoss()

    def _predict_dense(self, X):
        A = self._forward(X)
        if self.n_outputs_ == 1:
            A = A.ravel()
        return self._binarizer.inverse_transform(A)

    @predicts("{cls}.predict")
    def predict(self, X):
        """Predicted labels, shape (n,) (or (n, k) indicators for multilabel)."""
        check_is_fitted(self, "network_")
        return self._predict_dense(self._validate_X(X, reset=False))

    @predicts("{cls}.predict_proba")
    def predict_proba(self, X):
        """Class probabilities, shape (n, n_classes); columns in the order of ``classes_``."""
        check_is_fitted(self, "network_")
        A = self._forward(self._validate_X(X, reset=False))
        if self.n_outputs_ == 1 and self.out_activation_ == "logistic" \
                and self._binarizer.y_type_ != "multilabel-indicator":
            A = np.hstack([1 - A, A])
        return A

    @predicts("{cls}.predict_log_proba")
    def predict_log_proba(self, X):
        """Logarithm of ``predict_proba``."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPRegressor(RegressorMixin, BaseMLP):
    """Multilayer perceptron regressor, a drop-in for ``sklearn.neural_network.MLPRegressor``.

    Parameters are scikit-learn's, plus ``dropout``, ``dtype``, ``callbacks``,
    ``periodic_columns``, ``embedded_categories`` and ``embedding_width`` (see
    :class:`MLPClassifier`, which also says what threads may do). ``loss`` is
    "squared_error" (identity output) or "poisson" (exponential output, for counts and
    rates).
    """

    def __init__(self, loss="squared_error", hidden_layer_sizes=(100,), activation="relu", *,
                 solver="adam", alpha=0.0001, batch_size="auto", learning_rate="constant",
                 learning_rate_init=0.001, power_t=0.5, max_iter=200, shuffle=True,
                 random_state=None, tol=1e-4, verbose=False, warm_start=False, momentum=0.9,
                 nesterovs_momentum=True, early_stopping=False, validation_fraction=0.1,
                 beta_1=0.9, beta_2=0.999, epsilon=1e-8, n_iter_no_change=10, max_fun=15000,
                 dropout=0.0, dtype=np.float32, callbacks=None, periodic_columns=0,
                 embedded_categories=(), embedding_width=8, init="glorot"):
        keep_settings(self, locals())

    @fits("{cls}.fit")
    def fit(self, X, y, sample_weight=None):
        """Fit to X (n, n_features) and targets y (n,) or (n, n_outputs)."""
        return self._fit(X, y, sample_weight, incremental=False)

    @available_if(BaseMLP._check_stochastic)
    @fits("{cls}.partial_fit")
    def partial_fit(self, X, y, sample_weight=None):
        """One epoch over (X, y)."""
        return self._fit(X, y, sample_weight, incremental=True)

    def _validate(self, X, y, incremental, reset):
        if self.loss not in ("squared_error", "poisson"):
            raise ValueError(f"loss must be 'squared_error' or 'poisson', got {self.loss!r}")
        X, y = validate_data(self, X, y, accept_sparse=["csr", "csc", "coo"], multi_output=True,
                             y_numeric=True, dtype=[np.float64, np.float32], reset=reset)
        if self.loss == "poisson" and np.any(y < 0):
            raise ValueError(f"loss='poisson' needs targets y >= 0, found {np.min(y):g}")
        return dense(X), y

    def _encode(self, y, refit):
        return y.reshape(-1, 1) if y.ndim == 1 else y

    def _output_name(self):
        return "exp" if self.loss == "poisson" else "identity"

    def _output_layer(self):
        return Exp if self.out_activation_ == "exp" else Identity

    def _loss_object(self):
        return PoissonLoss() if self.out_activation_ == "exp" else SquaredLoss()

    def _predict_dense(self, X):
        A = self._forward(X)
        return A.ravel() if A.shape[1] == 1 else A

    @predicts("{cls}.predict")
    def predict(self, X):
        """Predictions, shape (n,) for one output, (n, n_outputs) otherwise."""
        check_is_fitted(self, "network_")
        return self._predict_dense(self._validate_X(X, reset=False))

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        tags.target_tags.single_output = True
        return tags
