"""The choices of one ``chainrule train`` run, and what it chooses when not told.

:data:`DEFAULTS` are the recipe's (:mod:`chainrule.tabular.recipe`), each chosen by
``benchmarks/tabular.py``: an ingredient became a default only where the benchmark's mean
rose and no table's score fell by 0.01 or more (issue 24's rule).
"""
from __future__ import annotations

from ..validation import SEED_LIMIT, number
from .preprocessing import CATEGORY_EMBEDDINGS, SCALES
from .target import KINDS

#: What ``chainrule train`` does when not told otherwise (measured: benchmarks/tabular.py).
DEFAULTS = {"hidden": (256, 128), "lr": 1e-3, "alpha": 1e-4, "dropout": 0.0, "patience": 20,
            "max_epochs": 500, "batch_size": 128, "ensemble": 1, "scale": "standard",
            "label_smoothing": 0.0, "numeric_embedding": "none", "lr_schedule": "constant",
            "activation": "relu", "init": "glorot", "category_embedding": "many"}
#: ``--activation``: the hidden layers' g (GELU and tanh measured against ReLU).
ACTIVATIONS = ("relu", "gelu", "tanh")
#: ``--init``: scikit-learn's Glorot-uniform weights, or those rescaled and shifted on the
#: training rows (RealMLP's data-dependent initialisation: chainrule.sklearn.base.data_init).
INITS = ("glorot", "data")
#: ``--numeric-embedding``: none, or each numeric column also read through a
#: :class:`~chainrule.PeriodicEmbedding` (RealMLP's PBLD) before the first Dense layer.
NUMERIC_EMBEDDINGS = ("none", "periodic")
#: ``--category-embedding`` (:data:`CATEGORY_EMBEDDINGS`, from :mod:`.preprocessing`): every
#: text column one-hot (none), or each with more than ``EMBED_ABOVE`` categories read through
#: a :class:`~chainrule.CategoryEmbedding` (many), learning EMBEDDING_WIDTH numbers per category.
#: many is the default: on the benchmark's twelve tables it raised the mean from 0.7921 to
#: 0.8070 (shops +0.187; airports −0.009; the ten tables with no such column unchanged).
EMBEDDING_WIDTH = 8
#: ``--lr-schedule``: Adam's rate constant, or halved whenever the validation loss has not
#: improved for a quarter of the patience (torch's ReduceLROnPlateau; the training loss on a
#: run without validation rows, a refit's).
LR_SCHEDULES = ("constant", "plateau")
#: The most members ``--ensemble`` takes: beyond a few dozen, averaging gains nothing measurable
#: and a model file would grow by a network per member.
MOST_MEMBERS = 64


class Settings:
    """The choices of one ``chainrule train`` run (:data:`DEFAULTS` where not given).

    ``epochs`` is the most epochs with a validation split (early stopping ends
    sooner) and the exact count without one (``validation=0``). ``target_transform``:
    "auto" (:func:`chainrule.tabular.target.choose`), "standard", "log" or "poisson".
    ``ensemble``: how many members to train (:mod:`chainrule.tabular.ensemble`);
    ``time_limit``: seconds for the whole training, or None (no limit).
    ``label_smoothing``: ε of a classifier's training targets (a regressor has none).
    ``numeric_embedding``: one of :data:`NUMERIC_EMBEDDINGS`; ``lr_schedule``: one of
    :data:`LR_SCHEDULES`; ``activation``, ``init``: one of :data:`ACTIVATIONS`, :data:`INITS`;
    ``category_embedding``: one of :data:`CATEGORY_EMBEDDINGS`.
    """

    def __init__(self, task=None, hidden=None, epochs=None, lr=None, alpha=None, dropout=None,
                 batch_size=None, patience=None, validation=0.2, refit=False, seed=0,
                 scale=None, keep_id=(), drop=(), drop_missing_target=False,
                 verbose=False, target_transform="auto", ensemble=None, time_limit=None,
                 label_smoothing=None, numeric_embedding=None, lr_schedule=None, activation=None,
                 init=None, category_embedding=None):
        self.task, self.validation, self.refit, self.seed = task, validation, refit, seed
        self.hidden = tuple(hidden) if hidden is not None else DEFAULTS["hidden"]
        self.lr = DEFAULTS["lr"] if lr is None else lr
        self.alpha = DEFAULTS["alpha"] if alpha is None else alpha
        self.dropout = DEFAULTS["dropout"] if dropout is None else dropout
        self.patience = DEFAULTS["patience"] if patience is None else patience
        self.batch_size, self.epochs = batch_size, epochs
        self.scale = DEFAULTS["scale"] if scale is None else scale
        self.ensemble = DEFAULTS["ensemble"] if ensemble is None else ensemble
        self.time_limit = time_limit
        # a regression warns of --label-smoothing only when the user gave it
        self.label_smoothing_given = label_smoothing is not None
        self.label_smoothing = DEFAULTS["label_smoothing"] if label_smoothing is None \
            else label_smoothing
        self.numeric_embedding = DEFAULTS["numeric_embedding"] if numeric_embedding is None \
            else numeric_embedding
        self.lr_schedule = DEFAULTS["lr_schedule"] if lr_schedule is None else lr_schedule
        self.activation = DEFAULTS["activation"] if activation is None else activation
        self.init = DEFAULTS["init"] if init is None else init
        self.category_embedding = DEFAULTS["category_embedding"] if category_embedding is None \
            else category_embedding
        self.keep_id, self.drop = tuple(keep_id), tuple(drop)
        self.drop_missing_target, self.verbose = drop_missing_target, verbose
        self.target_transform = target_transform
        self._check()

    def _check(self):
        self.validation = number("--validation", self.validation, at_least=0, less_than=1)
        self.lr = number("--lr", self.lr, greater_than=0)
        self.alpha = number("--alpha", self.alpha, at_least=0)
        self.dropout = number("--dropout", self.dropout, at_least=0, less_than=1)
        self.patience = number("--patience", self.patience, integer=True, at_least=1)
        self.epochs = number("--epochs", self.epochs, integer=True, at_least=1, allow_none=True)
        self.batch_size = number("--batch-size", self.batch_size, integer=True, at_least=1,
                                 allow_none=True)
        self.ensemble = number("--ensemble", self.ensemble, integer=True, at_least=1,
                               at_most=MOST_MEMBERS)
        self.time_limit = number("--time-limit", self.time_limit, greater_than=0, allow_none=True)
        self.label_smoothing = number("--label-smoothing", self.label_smoothing, at_least=0,
                                      less_than=1)
        self.seed = check_seed(self.seed, count=self.ensemble)
        for option, value, options in (
                ("--scale", self.scale, SCALES), ("--lr-schedule", self.lr_schedule, LR_SCHEDULES),
                ("--activation", self.activation, ACTIVATIONS), ("--init", self.init, INITS),
                ("--numeric-embedding", self.numeric_embedding, NUMERIC_EMBEDDINGS),
                ("--category-embedding", self.category_embedding, CATEGORY_EMBEDDINGS),
                ("--target-transform", self.target_transform, ("auto", *KINDS))):
            if value not in options:
                raise ValueError(f"{option} must be one of {', '.join(options)}, got {value!r}")
        if self.validation == 0 and self.epochs is None:
            raise ValueError("--validation 0 trains on every row for a fixed number of epochs: "
                             "give --epochs N (a run with validation reports the best epoch)")
        if self.validation == 0 and self.refit:
            raise ValueError("--refit needs a validation split to find the epoch count; "
                             "with --validation 0 give --epochs instead")


def check_seed(seed, option="--seed", count=1):
    """``seed`` checked for a run that uses the seeds ``seed .. seed + count - 1`` (an
    ensemble's members): whole numbers from 0 to ``SEED_LIMIT - 1``."""
    seed = number(option, seed, integer=True)
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"{option} must be a whole number from 0 to {SEED_LIMIT - 1:,} "
                         f"(below 2**32), got {seed}")
    if seed + count > SEED_LIMIT:
        raise ValueError(f"{option} {seed} with --ensemble {count} would use the seeds "
                         f"{seed}..{seed + count - 1}, beyond the largest, {SEED_LIMIT - 1:,}: "
                         f"give --seed {SEED_LIMIT - count} or less")
    return seed
