"""What the scikit-learn estimators share: their data, their network, fitting, saving.

The checks are in :mod:`.checks`, the solvers in :mod:`.solvers`; see
:mod:`chainrule.sklearn` for what is matched and what is added.
"""
from __future__ import annotations

import functools
import math

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import accuracy_score, r2_score
from sklearn.utils import check_random_state, compute_sample_weight
from sklearn.utils.validation import _check_sample_weight, check_is_fitted, validate_data

from ..files import model as _io
from ..network.modes import Holding, holds
from ..network.sequential import Sequential, mlp
from ..nn.layers import CategoryEmbedding, Dense
from ..nn.periodic import PeriodicEmbedding
from ..validation import as_array
from .checks import check_params, dense, embedded_categories, estimator_callbacks, relative
from .losses import GlorotUniform
from .records import estimator_record
from .solvers import fit_lbfgs, fit_stochastic

#: Decorators: an estimator's method holds the estimator for the call (see chainrule.modes);
#: a fit for its whole run, refused while another thread uses the estimator.
fits = functools.partial(holds, fitting=True, what="{cls}")
predicts = functools.partial(holds, what="{cls}")


def data_init(net, X, rng, rows=1024, mix=5):
    r"""RealMLP's data-dependent initialisation (Holzmüller et al., 2024), in place.

    A sample S of at most ``rows`` rows of X runs through the layers in turn (Dropout
    as at prediction). At each hidden Dense layer, with A its input on S and W, b its
    weights, column j of W is divided by the standard deviation of its pre-activation
    on the sample, and b_j is minus a random convex combination of ``mix`` of those
    values (weights λ ~ Exp(1), normalised)::

        W_:j ← W_:j / std_S(A·W_:j)        b_j ← −Σ_m λ_m (A·W_:j)_{i_m}     Σ_m λ_m = 1

    so that every hidden unit's pre-activation Z = AW + b has unit spread on the data
    and crosses 0 inside it (a ReLU's kink falls among the rows, not beside them). The
    output layer keeps its weights. X (n, n_in) in the network's dtype; ``rng`` a NumPy
    Generator (the draws: the sample's rows, then each layer's i_m and λ_m).
    """
    layers = net.layers
    dense = [i for i, layer in enumerate(layers) if isinstance(layer, Dense)]
    A = np.asarray(X)
    if len(A) > rows:
        A = A[np.sort(rng.choice(len(A), rows, replace=False))]
    with net.evaluating():
        for i, layer in enumerate(layers[:dense[-1]]):
            if i in dense:
                Z = A.astype(np.float64) @ layer.W.astype(np.float64)
                spread = Z.std(axis=0)
                spread[~(spread > 0)] = 1.0        # a unit constant on the sample keeps its scale
                Z /= spread
                picked = rng.integers(0, len(Z), (mix, Z.shape[1]))
                weights = rng.exponential(1.0, (mix, Z.shape[1]))
                weights /= weights.sum(axis=0)
                b = -(weights * np.take_along_axis(Z, picked, axis=0)).sum(axis=0)
                layer.W[...] = layer.W / spread.astype(layer.W.dtype)
                layer.b[...] = b.reshape(layer.b.shape)
                A = (Z + b).astype(layer.W.dtype)
            else:
                A = layer.forward(A)


def keep_settings(est, settings):
    """An estimator's ``__init__`` body: each argument stored under its own name, unchanged
    (scikit-learn's rule: checks and conversions wait for fit). ``settings`` is locals()."""
    for name, value in settings.items():
        if name not in ("self", "__class__"):
            setattr(est, name, value)


class BaseMLP(BaseEstimator):
    """What MLPClassifier and MLPRegressor share: checks, the network, the solvers.

    Threads: an estimator runs one call at a time, as a network does (see
    :mod:`chainrule.modes`). ``fit`` and ``partial_fit`` hold it for their
    whole run and raise a RuntimeError naming both calls, before changing
    anything, while another thread uses it; ``predict``, ``predict_proba``,
    ``predict_log_proba``, ``score`` and ``save`` take turns with each other
    and raise a RuntimeError during another thread's fit.
    """

    #: The parameters added after the first estimators were pickled, at their defaults: an
    #: estimator unpickled from then finds them here (get_params, clone, repr and save read
    #: every parameter). Their __init__ sets each on the instance, as scikit-learn asks.
    periodic_columns, embedded_categories, embedding_width, init = 0, (), 8, "glorot"

    # -- data ------------------------------------------------------------------

    def _validate_X(self, X, reset):
        X = validate_data(self, X, accept_sparse=["csr", "csc", "coo"],
                          dtype=[np.float64, np.float32], reset=reset)
        return dense(X)

    def _weights(self, sample_weight, X, y):
        """Row weights (sample_weight times class weights) as ``(w / scale, scale)``, scale
        their largest, found in float64; ``(ones, 1.0)`` if there are none.

        The loss, a weighted mean Σ wᵢLᵢ / Σ wᵢ, needs only the relative weights, which
        neither vanish nor overflow in the network's dtype; the scale is kept for the
        penalty, which scikit-learn divides by Σ wᵢ (so a weight of 2 is a repeated row).
        """
        scale = 1.0
        if sample_weight is not None:
            as_array(sample_weight, "sample_weight")  # a message naming a non-numeric entry
            sample_weight = _check_sample_weight(sample_weight, X, ensure_non_negative=True)
            sample_weight, scale = relative(sample_weight, "sample_weight")
        class_weight = getattr(self, "class_weight", None)
        if class_weight is not None:
            cw = compute_sample_weight(class_weight, y)
            sample_weight, more = relative(cw if sample_weight is None else sample_weight * cw,
                                            "sample_weight times class_weight")
            scale *= more
        if sample_weight is None:
            return np.ones(len(X)), 1.0
        return sample_weight, scale

    # -- the network -----------------------------------------------------------

    def _build(self, n_in, n_out, sizes, dtype, output):
        """scikit-learn's network: Glorot-uniform weights and biases (factor 2 for logistic,
        6 otherwise), each layer's W then b drawn from the estimator's generator. In front,
        with ``embedded_categories``, a CategoryEmbedding of the last columns (its table
        drawn first), then, with ``periodic_columns`` k > 0, a PeriodicEmbedding of the
        first k columns (which the CategoryEmbedding passes through first)."""
        factor = 2.0 if self.activation == "logistic" else 6.0
        def bound(fan_in, fan_out, rng):
            return rng.uniform(
                    -math.sqrt(factor / (fan_in + fan_out)), math.sqrt(factor / (fan_in + fan_out)), fan_out)
        first = self._front(n_in, dtype)
        width = n_in
        for layer in first:
            width = layer.output_features(width)
        net = mlp([width, *sizes, n_out], hidden=self.activation, output=output(),
                  init=GlorotUniform(factor), seed=self._rng, dtype=dtype,
                  dropout=self.dropout or 0.0, bias_init=bound)
        return Sequential([*first, *net.layers], dtype=dtype) if first else net

    def _front(self, n_in, dtype=np.float32, seed=None):
        """The layers before the first Dense one (see ``_build``), drawn from ``seed`` (the
        estimator's generator when None); [] for neither embedding."""
        seed = self._rng if seed is None else seed
        counts, width = embedded_categories(self)
        if len(counts) > n_in:
            raise ValueError(f"embedded_categories lists {len(counts)} columns, more than the "
                             f"{n_in} input features")
        first = [CategoryEmbedding(n_in - len(counts), counts, width, seed=seed, dtype=dtype)] \
            if counts else []
        passed = n_in - len(counts)  # the columns that reach the PeriodicEmbedding as numbers
        k = self.periodic_columns
        if k > passed:
            raise ValueError(f"periodic_columns must be at most the {passed} input features"
                             + (" not embedded as categories" if counts else "") + f", got {k}")
        if k:
            width_in = first[0].output_features(n_in) if first else n_in
            first.append(PeriodicEmbedding(width_in, k, seed=seed, dtype=dtype))
        return first

    @property
    def coefs_(self):
        check_is_fitted(self, "network_")
        return [layer.W for layer in self.network_.layers if isinstance(layer, Dense)]

    @property
    def intercepts_(self):
        check_is_fitted(self, "network_")
        return [layer.b for layer in self.network_.layers if isinstance(layer, Dense)]

    def _dense_layers(self):
        return [layer for layer in self.network_.layers if isinstance(layer, Dense)]

    def _penalty(self, net, Yw):
        """scikit-learn's L2 term ``alpha·Σ‖W‖² / (2n)``, n the batch's Σ wᵢ; adds its
        gradient ``alpha·W / n`` to each dW (``training.step`` calls it after backward)."""
        n = self._weight_scale * float(Yw[:, -1].sum())  # Σ wᵢ of the batch, in float64
        penalty = 0.0
        for layer in self._dense_layers():
            penalty += float(np.vdot(layer.W, layer.W))
            layer.dW += (self.alpha / n) * layer.W
        return 0.5 * self.alpha * penalty / n

    def _forward(self, X):
        """The network's output in X's floating dtype, computed in the wider of X's and
        the network's: a float32 network's float64 predictions sum in float64, so that a
        row's prediction does not depend on the rows predicted with it (see
        ``Sequential.predict``; check_methods_subset_invariance asks that to 1e-7)."""
        out = X.dtype if X.dtype.kind == "f" else np.dtype(np.float64)
        net = self.network_
        A = net.predict(X.astype(net.dtype, copy=False), dtype=np.promote_types(out, net.dtype))
        return A.astype(out, copy=False)

    # -- fitting ---------------------------------------------------------------

    def _fit(self, X, y, sample_weight, incremental):
        """fit's and partial_fit's work; they hold the estimator (``fits`` below)."""
        sizes, dtype = check_params(self)
        estimator_callbacks(self.callbacks)  # before any work: refuse what cannot run here
        if self.early_stopping and incremental:
            raise ValueError("partial_fit does not support early_stopping=True")
        first = not hasattr(self, "network_") or (not self.warm_start and not incremental)
        X, y = self._validate(X, y, incremental, reset=first)
        w, self._weight_scale = self._weights(sample_weight, X, y)
        Y = self._encode(y, refit=first and not incremental)
        if first:
            seed = check_random_state(self.random_state).randint(np.iinfo(np.int32).max)
            self._rng = np.random.default_rng(seed)
            self.n_outputs_ = Y.shape[1]
            self.n_layers_ = len(sizes) + 2
            self.out_activation_ = self._output_name()
            self.network_ = self._build(X.shape[1], Y.shape[1], sizes, dtype, self._output_layer())
            if self.init == "data":
                data_init(self.network_, X, self._rng)
            self.n_iter_ = 0
            self.t_ = 0
            if self.solver != "lbfgs":
                self.loss_curve_ = []
                self._no_improvement_count = 0
                if self.early_stopping:
                    self.validation_scores_, self.best_validation_score_ = [], -np.inf
                    self.best_loss_ = None
                else:
                    self.validation_scores_ = self.best_validation_score_ = None
                    self.best_loss_ = np.inf
        elif Y.shape[1] != self.n_outputs_:
            raise ValueError(f"y has {Y.shape[1]} outputs, but the network was fitted with "
                             f"{self.n_outputs_}")
        self._loss = self._loss_object()
        Yw = np.hstack([self._training_targets(Y), w[:, None]]).astype(self.network_.dtype)
        X = X.astype(self.network_.dtype, copy=False)
        if self.solver == "lbfgs":
            fit_lbfgs(self, X, Yw)
        else:
            fit_stochastic(self, X, y, Yw, w, incremental)
        return self

    def _training_targets(self, Y):
        """The targets the loss trains on (the classifier may smooth them)."""
        return Y

    def _score(self, X, y, w):
        with self.network_.evaluating():
            pred = self._predict_dense(X)
        return (accuracy_score if self._is_classifier() else r2_score)(y, pred, sample_weight=w)

    def _check_stochastic(self):
        if self.solver not in ("sgd", "adam"):
            raise AttributeError(f"partial_fit is only available for stochastic optimizers; "
                                 f"solver is {self.solver!r}")
        return True

    def _is_classifier(self):
        return isinstance(self, ClassifierMixin)

    # -- saving ----------------------------------------------------------------

    @holds("{cls}.save", what="{cls}")
    def save(self, path, metadata=None, extra_tensors=None):
        """Write the fitted estimator to one ``.safetensors`` file (see :func:`load`).

        The network's weights are tensors; the constructor parameters, the
        fitted attributes and the class labels are JSON metadata. ``metadata``
        (JSON values) and ``extra_tensors`` (arrays) are stored beside them.
        An estimator with ``embedded_categories`` is written in model format 2
        (:mod:`chainrule.files.model`): a chainrule without them, which reads format
        1 only, refuses the file saying to upgrade, instead of misreading its table.
        """
        format_version = 2 if list(self.embedded_categories) else 1
        if not hasattr(self, "network_"):
            raise ValueError(f"this {type(self).__name__} is not fitted yet: call fit before save")
        user = dict(metadata or {})
        user["estimator"] = estimator_record(self)
        with Holding(self.network_, f"{type(self).__name__}.save"):
            _io.save(self.network_, path, metadata=user, extra_tensors=extra_tensors,
                     format_version=format_version)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


