"""6. The data sets that ship with scikit-learn: chainrule's estimators against scikit-learn's.

Same constructor arguments for both (``hidden_layer_sizes=(100,)``, Adam,
``max_iter``, ``random_state``), inputs standardised on the training part, a
fixed 75/25 split; reported side by side: fit time (median of interleaved
rounds) and the test score (accuracy, or R² for diabetes).
"""
from __future__ import annotations

import warnings

from .common import fmt_ratio, fmt_time, interleaved, ratio, table

DATASETS = ("digits", "breast_cancer", "wine", "iris", "diabetes")


def _load(name):
    from sklearn import datasets
    X, y = getattr(datasets, f"load_{name}")(return_X_y=True)
    return X, y, name != "diabetes"


def run(rounds=3, max_iter=200, seed=0, names=DATASETS):
    from sklearn.base import clone
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    from sklearn.neural_network import MLPClassifier as SkClassifier
    from sklearn.neural_network import MLPRegressor as SkRegressor
    from sklearn.preprocessing import StandardScaler

    from chainrule.sklearn import MLPClassifier, MLPRegressor

    out = {}
    for name in names:
        X, y, classify = _load(name)
        X_train, X_test, y_train, y_test = train_test_split(
            X, y, test_size=0.25, random_state=seed, stratify=y if classify else None)
        scaler = StandardScaler().fit(X_train)
        X_train, X_test = scaler.transform(X_train), scaler.transform(X_test)
        args = dict(hidden_layer_sizes=(100,), max_iter=max_iter, random_state=seed)
        ours, theirs = ((MLPClassifier, SkClassifier) if classify else (MLPRegressor, SkRegressor))
        models = {"chainrule": ours(**args), "sklearn": theirs(**args)}
        fitted = {}

        def fitter(key):
            def fn():
                fitted[key] = clone(models[key]).fit(X_train, y_train)
            return fn
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            timed = interleaved({k: fitter(k) for k in models}, rounds)
        s = {k: t["median"] for k, t in timed.items()}
        out[name] = {"task": "classify" if classify else "regress",
                     "seconds": s,
                     "score": {k: float(m.score(X_test, y_test)) for k, m in fitted.items()},
                     "iterations": {k: int(m.n_iter_) for k, m in fitted.items()},
                     "sklearn/chainrule": ratio(s["sklearn"], s["chainrule"])}
    return {"settings": {"rounds": rounds, "max_iter": max_iter, "hidden_layer_sizes": [100]},
            "datasets": out}


def format(result):
    st = result["settings"]
    rows = []
    for name, r in result["datasets"].items():
        metric = "accuracy" if r["task"] == "classify" else "R²"
        rows.append((name, metric,
                     f"{r['score']['chainrule']:.3f}", f"{r['score']['sklearn']:.3f}",
                     fmt_time(r["seconds"]["chainrule"]), fmt_time(r["seconds"]["sklearn"]),
                     fmt_ratio(r["sklearn/chainrule"])))
    head = (f"6. scikit-learn's data sets: chainrule.sklearn vs sklearn.neural_network, "
            f"hidden_layer_sizes=(100,), Adam, max_iter={st['max_iter']}; median of "
            f"{st['rounds']} interleaved rounds")
    return head + "\n" + table(("data set", "score", "chainrule", "sklearn", "chainrule fit",
                                "sklearn fit", "sklearn/chainrule"), rows)
