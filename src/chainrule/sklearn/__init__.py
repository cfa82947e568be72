"""scikit-learn estimators: ``MLPClassifier`` and ``MLPRegressor``.

Drop-in replacements for ``sklearn.neural_network``'s: the same constructor
parameters with the same defaults and meanings, the same fitted attributes,
the same training semantics where they decide the score —

* the loss is scikit-learn's: cross-entropy summed over outputs and averaged
  over samples (half the squared error for regression), plus the L2 penalty
  ``alpha·Σ‖W‖² / (2·n)`` on the weights only (not the biases); with
  ``sample_weight`` the average is weighted and n is the sum of the weights;
* weights and biases start from U(−a, a), a = √(f / (fan_in + fan_out)),
  f = 2 for the logistic activation and 6 otherwise (Glorot & Bengio);
* ``batch_size="auto"`` is min(200, n); the "invscaling" and "adaptive"
  schedules, ``tol``/``n_iter_no_change`` stopping and early stopping on the
  validation score are scikit-learn's; "lbfgs" minimises the same loss over
  the network's flat parameter vector with scipy's L-BFGS-B;
* output activations: softmax for multiclass, logistic for binary and
  multilabel, identity for regression.

The math is chainrule's: each step is ``chainrule.training.step``, fit's own
(``network_.forward_backward`` with a loss from :mod:`.losses`, the L2 term,
the guarded update of a chainrule optimizer: Adam, or SGD with momentum), over
fit's batches. Beyond scikit-learn: ``dropout``, ``class_weight``,
``label_smoothing`` (a classifier's), ``periodic_columns`` (a
:class:`chainrule.PeriodicEmbedding` of the first k columns first),
``embedded_categories`` and ``embedding_width`` (a :class:`chainrule.CategoryEmbedding`
of the last columns, indices, before anything else), ``init="data"`` (RealMLP's
data-dependent initialisation, :func:`.base.data_init`), ``activation="gelu"``, ``dtype``
(float32 by default), ``callbacks`` (chainrule Callbacks), a progress bar with
``verbose``, and ``network_``, the trained :class:`chainrule.Sequential`. Their
defaults leave scikit-learn's behaviour unchanged.

The package: :mod:`.estimators` (the two classes), :mod:`.base` (what they
share), :mod:`.checks`, :mod:`.solvers`, :mod:`.losses`, and the model files
in :mod:`.io` and :mod:`.records`.
"""
from __future__ import annotations

try:
    import sklearn
except ImportError:  # pragma: no cover - exercised only where scikit-learn is absent
    raise ImportError("chainrule.sklearn needs scikit-learn: pip install 'chainrule[sklearn]'") from None

from .estimators import MLPClassifier, MLPRegressor
from .io import load, save

__all__ = ["MLPClassifier", "MLPRegressor", "load", "save"]
