"""`chainrule train` on real tables, against scikit-learn's MLP pipeline and gradient boosting.

Contenders, each with its defaults, on the same 75/25 splits (stratified for
classes; several seeds):

* **chainrule train** — the command itself: the training part written to a CSV
  file, ``chainrule train`` on it, ``chainrule predict`` on the test part's CSV;
* **scikit-learn MLP** — the usual pipeline: numeric columns median-imputed and
  standardised, text columns imputed with the most frequent value and one-hot
  encoded (unknown categories ignored), then ``MLPClassifier()`` /
  ``MLPRegressor()`` with their defaults;
* **HistGradientBoosting** — ``HistGradientBoostingClassifier()`` /
  ``Regressor()`` with their defaults and native categorical support (text
  columns as pandas categories; missing values handled natively);
* **LightGBM** — ``LGBMClassifier()`` / ``LGBMRegressor()`` with their defaults
  (``verbose=-1``), text columns as pandas categories, when ``lightgbm`` is
  installed;
* **RealMLP-TD** — pytabkit's ``RealMLP_TD_Classifier()`` / ``Regressor()``
  with their defaults (Holzmüller et al., "Better by Default", 2024), text
  columns as pandas categories, when ``pytabkit`` is installed (it needs
  PyTorch: install ``torch==2.13.0`` first, never an unpinned torch).

A contender whose package is missing is said and skipped. Each contender's
time (fit and predict) is recorded per split; chainrule's is the train command.

Ablations: ``--variant "NAME=OPTIONS"`` (repeatable) adds a row of ``chainrule
train`` with those options, on the same splits. When a run trains an ensemble
(``--ensemble K``), the first j of its members are also scored for each j < K
(``NAME, first j``): member j is the same network whether K is j or more (the
same seed, rows and split), so a run of K members measures every smaller
ensemble too; such a row's time is the train command's time less the seconds
the later members took (each member's seconds, from the model file).

Tables: the five that ship inside scikit-learn; five with text columns and
missing values that ship inside pip packages (``palmerpenguins``,
``vega_datasets``: penguins, cars, seattle_weather, stocks, whose prices
span two orders of magnitude, and airports, whose ``state`` column has 56
levels); and two made here: ``visits``, a count target (overdispersed Poisson
visits of 2,000 people; see :func:`visits_table`), and ``shops``, a column of
200 levels that carry their own effects (:func:`shops_table`). A
table whose package is not installed is skipped and said so. No download at
run time, and none of R's data-set collections (an independent check uses
those). Score: held-out accuracy, or R² for regression. A last measurement
times ``chainrule train`` on a synthetic 20,000-row table.

    python benchmarks/tabular.py [--splits 3] [--tables iris,penguins] [--train-args "..."]
        [--variant "robust=--scale robust"] [--json results.json]
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import shlex
import sys
import tempfile
import time
import warnings

import numpy as np

SKLEARN_TABLES = ("iris", "wine", "breast_cancer", "diabetes", "digits")
PACKAGE_TABLES = ("penguins", "cars", "seattle_weather", "stocks", "airports")
MADE_TABLES = ("visits", "shops")
TABLES = SKLEARN_TABLES + PACKAGE_TABLES + MADE_TABLES


def visits_table(n=2000, seed=0):
    """People and their yearly doctor visits, made here: a count with many zeros, a long
    tail (a gamma-mixed Poisson: overdispersed) and effects that multiply; text columns
    and 5% missing income."""
    import pandas as pd
    rng = np.random.default_rng(seed)
    age = rng.uniform(18, 90, n)
    income = rng.lognormal(10, 0.6, n)
    chronic = rng.poisson(0.3 + age / 60)
    insurance = rng.choice(["public", "private", "none"], n, p=[0.5, 0.35, 0.15])
    region = rng.choice(["north", "south", "east", "west", "centre"], n)
    log_rate = (-1.6 + 0.018 * (age - 18) + 0.45 * chronic - 0.15 * np.log(income / 2e4)
                + np.select([insurance == "private", insurance == "none"], [0.3, -0.8], 0.0)
                + 0.2 * (region == "north"))
    visits = rng.poisson(np.exp(log_rate) * rng.gamma(2.0, 0.5, n))
    income[rng.random(n) < 0.05] = np.nan
    return pd.DataFrame({"age": age.round(0), "income": income.round(-1), "chronic": chronic,
                         "insurance": insurance, "region": region, "visits": visits})


def shops_table(n=4000, shops=200, seed=0):
    """Daily sales of ``shops`` shops, made here: each shop's own level (an effect drawn
    N(0, 1) per shop, which only the shop's rows can tell), a price with a curved effect,
    a promotion, the weekday; noise of std 0.5. The shops' shares are uneven (Dirichlet
    weights: a few shops have fewer than 5 rows), and 2% of the shop ids are missing."""
    import pandas as pd
    rng = np.random.default_rng(seed)
    level = rng.normal(size=shops)
    shop = rng.choice(shops, n, p=rng.dirichlet(np.full(shops, 2.0)))
    price = rng.lognormal(1.0, 0.4, n)
    promo = rng.random(n) < 0.3
    weekday = rng.choice(["mon", "tue", "wed", "thu", "fri", "sat", "sun"], n)
    z = (np.log(price) - 1.0) / 0.4
    sales = (level[shop] - 0.6 * z - 0.3 * z ** 2 + 0.5 * promo
             + 0.4 * np.isin(weekday, ["sat", "sun"]) + 0.5 * rng.normal(size=n))
    ids = np.array([f"S{k:03d}" for k in shop], dtype=object)
    ids[rng.random(n) < 0.02] = None
    return pd.DataFrame({"shop_id": ids, "price": price.round(2), "promo": promo.astype(int),
                         "weekday": weekday, "sales": sales.round(3)})


def load(name):
    """``(frame, target, task, source)`` for a table, or ImportError if its package is absent."""
    if name == "visits":
        return visits_table(), "visits", "regress", "made here"
    if name == "shops":
        return shops_table(), "sales", "regress", "made here"
    if name in SKLEARN_TABLES:
        from sklearn import datasets
        frame = getattr(datasets, f"load_{name}")(as_frame=True).frame
        return frame, "target", "regress" if name == "diabetes" else "classify", "scikit-learn"
    if name == "penguins":
        from palmerpenguins import load_penguins
        frame = load_penguins()
        return frame, "species", "classify", "palmerpenguins"
    from vega_datasets import local_data
    if name == "cars":
        frame = local_data.cars()
        frame["Year"] = frame["Year"].dt.year
        # the car's name: ~300 distinct strings in 400 rows, more than HistGradientBoosting takes
        frame = frame.drop(columns=["Name"]).dropna(subset=["Miles_per_Gallon"])
        return frame.reset_index(drop=True), "Miles_per_Gallon", "regress", "vega_datasets"
    if name == "seattle_weather":
        frame = local_data.seattle_weather()
        frame["month"] = frame.pop("date").dt.month.astype(str)  # a season, as text
        return frame, "weather", "classify", "vega_datasets"
    if name == "stocks":  # monthly closing prices of five companies, 2000-2010
        frame = local_data.stocks()
        date = frame.pop("date")
        frame["year"], frame["month"] = date.dt.year, date.dt.month
        return frame, "price", "regress", "vega_datasets"
    if name == "airports":  # where in the US an airport lies, east-west, from its state
        frame = local_data.airports()
        # the code, the name and the city are (nearly) one per airport: left out as keys
        frame = frame.drop(columns=["iata", "name", "city"])
        return frame, "longitude", "regress", "vega_datasets"
    raise ValueError(f"unknown table {name!r}; known: {', '.join(TABLES)}")


def _text_columns(X):
    import pandas as pd
    return [c for c in X.columns if not pd.api.types.is_numeric_dtype(X[c])
            or pd.api.types.is_bool_dtype(X[c])]


def _as_object(X, text):
    X = X.copy()
    for c in text:  # scikit-learn's imputers and encoders want object columns, np.nan missing
        X[c] = X[c].astype(object).where(X[c].notna(), np.nan)
    return X


def sklearn_mlp(X_train, y_train, X_test, task, seed):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.neural_network import MLPClassifier, MLPRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler
    text = _text_columns(X_train)
    numbers = [c for c in X_train.columns if c not in text]
    prep = ColumnTransformer([
        ("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numbers),
        ("cat", make_pipeline(SimpleImputer(strategy="most_frequent"),
                              OneHotEncoder(handle_unknown="ignore")), text)])
    mlp = MLPClassifier(random_state=seed) if task == "classify" else MLPRegressor(random_state=seed)
    model = make_pipeline(prep, mlp).fit(_as_object(X_train, text), y_train)
    return model.predict(_as_object(X_test, text))


def _categories(X_train, X_test):
    """Both parts with text columns as pandas categories of the training part's levels
    (a level seen only in the test part becomes missing)."""
    text = _text_columns(X_train)
    levels = {c: sorted(X_train[c].dropna().astype(str).unique()) for c in text}

    def categories(X):
        X = X.copy()
        for c in text:
            X[c] = X[c].astype(object).where(X[c].notna(), None).astype(
                "category").cat.set_categories(levels[c])
        return X
    return categories(X_train), categories(X_test)


def gradient_boosting(X_train, y_train, X_test, task, seed):
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    Model = HistGradientBoostingClassifier if task == "classify" else HistGradientBoostingRegressor
    model = Model(categorical_features="from_dtype", random_state=seed)
    X_train, X_test = _categories(X_train, X_test)
    return model.fit(X_train, y_train).predict(X_test)


def lightgbm(X_train, y_train, X_test, task, seed):
    import lightgbm as lgb
    Model = lgb.LGBMClassifier if task == "classify" else lgb.LGBMRegressor
    X_train, X_test = _categories(X_train, X_test)
    return Model(random_state=seed, verbose=-1).fit(X_train, y_train).predict(X_test)


def realmlp(X_train, y_train, X_test, task, seed):
    from pytabkit import RealMLP_TD_Classifier, RealMLP_TD_Regressor
    Model = RealMLP_TD_Classifier if task == "classify" else RealMLP_TD_Regressor
    X_train, X_test = _categories(X_train, X_test)
    # pytabkit 1.8.0 refuses NaN in numeric columns: the training median in their place
    numbers = [c for c in X_train.columns if c not in _text_columns(X_train)]
    median = X_train[numbers].median()
    X_train, X_test = X_train.fillna(median), X_test.fillna(median)
    model = Model(random_state=seed).fit(X_train, np.asarray(y_train))
    return np.asarray(model.predict(X_test)).ravel()


#: The contenders besides chainrule: name -> (function, the package it needs).
CONTENDERS = {"scikit-learn MLP": (sklearn_mlp, "sklearn"),
              "HistGradientBoosting": (gradient_boosting, "sklearn"),
              "LightGBM": (lightgbm, "lightgbm"),
              "RealMLP-TD": (realmlp, "pytabkit")}


def available(names=tuple(CONTENDERS), say=print):
    """The contenders among ``names`` whose package imports; the others are said and skipped."""
    import importlib
    found = []
    for name in names:
        try:
            importlib.import_module(CONTENDERS[name][1])
        except ImportError as error:
            say(f"skipped contender {name}: {error} (pip install {CONTENDERS[name][1]})")
        else:
            found.append(name)
    return found


def chainrule_train(train, test, target, task, seed, extra=(), folder="."):
    """Predictions of ``chainrule train`` + ``chainrule predict``, the train command's time, and
    ``{j: (predictions of the first j members, seconds)}`` for an ensemble's smaller prefixes."""
    from chainrule.cli import main
    train_csv, test_csv = os.path.join(folder, "train.csv"), os.path.join(folder, "test.csv")
    model = os.path.join(folder, "model.safetensors")
    train.to_csv(train_csv, index=False)
    test.drop(columns=[target]).to_csv(test_csv, index=False)
    argv = ["train", train_csv, "--target", target, "--task", task, "--quiet", "--seed",
            str(seed), "--out", model, *extra]
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"chainrule {' '.join(argv)} exited {code}")
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["predict", model, test_csv])
    if code != 0:
        raise RuntimeError(f"chainrule predict exited {code}")
    lines = out.getvalue().splitlines()[1:]
    pred = np.array(lines) if task == "classify" else np.array(lines, dtype=float)
    return pred, seconds, _prefixes(model, test_csv, seconds)


def _prefixes(model, test_csv, seconds):
    """The predictions of the first j members of an ensemble's model file, for j < k, with
    the train command's seconds less those of members j..k−1 (as ``predict`` computes them)."""
    from chainrule.tabular.commands import _load_tabular
    from chainrule.tabular.read import read_table
    from chainrule.tabular.recipe import predict_table
    est, tab, prep = _load_tabular(model)
    every, records = est.networks, tab.get("ensemble", {}).get("records", [])
    frame = read_table(test_csv, text_columns=prep.text_columns)
    found = {}
    for j in range(1, len(every)):
        est.networks = every[:j]
        later = sum(r["seconds"] for r in records[j:])
        found[j] = (predict_table(est, tab, prep, frame, test_csv)[0], seconds - later)
    return found


def _score(task, y_true, y_pred):
    from sklearn.metrics import accuracy_score, r2_score
    if task == "classify":
        return float(accuracy_score(np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)))
    return float(r2_score(y_true, y_pred))


def run(tables=TABLES, splits=3, extra=(), say=print, contenders=None, variants=(),
        on_table=None):
    """Scores and times per table: ``{name: {"task", "rows", "source", "columns",
    "scores": {contender: [per split]}, "seconds": {contender: [per split]}}}``, chainrule
    train first, then each of ``variants`` (``(name, options)``: chainrule train with those
    options, and the smaller prefixes of an ensemble); tables and contenders whose package
    is absent are skipped and said. ``on_table(results)`` is called after each table."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split
    others = available(tuple(CONTENDERS) if contenders is None else contenders, say)
    runs = [("chainrule train", tuple(extra)), *((n, (*extra, *o)) for n, o in variants)]
    results = {}
    with tempfile.TemporaryDirectory() as folder:
        for name in tables:
            try:
                frame, target, task, source = load(name)
            except ImportError as error:
                say(f"skipped {name}: {error}")
                continue
            scores, seconds = {}, {}
            for seed in range(splits):
                y = frame[target]
                train, test = train_test_split(frame, test_size=0.25, random_state=seed,
                                               stratify=y if task == "classify" else None)
                X_train, X_test = train.drop(columns=[target]), test.drop(columns=[target])
                y_train = train[target].astype(str) if task == "classify" else train[target]
                for run_name, options in runs:
                    pred, sec, prefixes = chainrule_train(train, test, target, task, seed,
                                                          options, folder)
                    for j, (p, s) in prefixes.items():
                        key = f"{run_name}, first {j}"
                        scores.setdefault(key, []).append(_score(task, test[target], p))
                        seconds.setdefault(key, []).append(s)
                    scores.setdefault(run_name, []).append(_score(task, test[target], pred))
                    seconds.setdefault(run_name, []).append(sec)
                for other in others:
                    start = time.perf_counter()
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore", ConvergenceWarning)
                        pred = CONTENDERS[other][0](X_train, y_train, X_test, task, seed)
                    seconds.setdefault(other, []).append(time.perf_counter() - start)
                    scores.setdefault(other, []).append(_score(task, test[target], pred))
            results[name] = {"task": task, "rows": len(frame), "source": source,
                             "columns": frame.shape[1] - 1, "scores": scores, "seconds": seconds}
            say(f"{name}: " + ", ".join(f"{k} {np.mean(v):.4f} ({np.median(seconds[k]):.1f} s)"
                                        for k, v in scores.items()))
            if on_table is not None:
                on_table(results)
    return results


def big_table(n=20_000, seed=0):
    """A synthetic table of ``n`` rows: 8 numeric columns (2% missing), two text columns."""
    import pandas as pd
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 8))
    X[rng.random(X.shape) < 0.02] = np.nan
    city = rng.choice(["north", "south", "east", "west", "centre"], n)
    plan = rng.choice(["a", "b", "c"], n)
    logit = np.nan_to_num(X[:, 0] - X[:, 1] + 0.5 * X[:, 2] * X[:, 3]) + (city == "north") \
        - (plan == "c")
    frame = pd.DataFrame(X, columns=[f"x{i}" for i in range(8)])
    frame["city"], frame["plan"] = city, plan
    frame["churn"] = np.where(rng.random(n) < 1 / (1 + np.exp(-logit)), "yes", "no")
    return frame


def time_big(n=20_000, extra=()):
    """Seconds of ``chainrule train`` (in this process) on :func:`big_table`, and its epochs."""
    from chainrule.cli import main
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.csv")
        big_table(n).to_csv(path, index=False)
        out = io.StringIO()
        start = time.perf_counter()
        with contextlib.redirect_stdout(out):
            code = main(["train", path, "--target", "churn", "--quiet", "--out",
                         os.path.join(folder, "m.safetensors"), *extra])
        seconds = time.perf_counter() - start
    if code != 0:
        raise RuntimeError(f"chainrule train on {n} rows exited {code}")
    return seconds, out.getvalue().strip()


def merged(documents):
    """Several runs' results (``run``'s dicts, in order) as one: every table of every run,
    and a table's rows from each run that scored it. A row (contender) of the same name
    in a later run replaces the earlier one, in the earlier one's place (a rerun of the same
    options, e.g. ``chainrule train`` after its defaults changed). The runs must agree on
    what a table is (its task, rows and columns: the same splits follow from them)."""
    results = {}
    for document in documents:
        for name, table in document.items():
            if name not in results:
                results[name] = {**table, "scores": dict(table["scores"]),
                                 "seconds": dict(table["seconds"])}
                continue
            have = results[name]
            if any(have[key] != table[key] for key in ("task", "rows", "columns")):
                raise ValueError(f"table {name!r} differs between the runs: "
                                 f"{[have[k] for k in ('task', 'rows', 'columns')]} and "
                                 f"{[table[k] for k in ('task', 'rows', 'columns')]}")
            have["scores"].update(table["scores"])
            have["seconds"].update(table["seconds"])
    return results


def markdown(results, splits, rows=None):
    """The results as two Markdown tables, a row per contender (chainrule's variants and
    their ensemble prefixes first; ``rows``, if given, names the rows to show and their
    order): the mean score per table and over the tables, then the median seconds per
    split (fit and predict); and a verdict on the issue's targets for the first row
    (``chainrule train`` unless ``rows`` puts another first)."""
    names = list(dict.fromkeys(k for r in results.values() for k in r["scores"]))
    if rows is not None:
        unknown = [k for k in rows if k not in names]
        if unknown:
            raise ValueError(f"no row named {unknown}; the rows are {names}")
        names = list(rows)
    tables = list(results)
    head = "| | " + " | ".join(f"{t} ({'acc.' if results[t]['task'] == 'classify' else 'R²'})"
                               for t in tables)
    rule = "|---|" + "---:|" * (len(tables) + 1)
    mean = {k: {t: float(np.mean(results[t]["scores"][k])) for t in tables
                if k in results[t]["scores"]} for k in names}
    secs = {k: {t: float(np.median(results[t]["seconds"][k])) for t in tables
                if k in results[t]["seconds"]} for k in names}
    lines = [head + " | **mean** |", rule]
    for k in names:
        cells = [f"{mean[k][t]:.4f}" if t in mean[k] else "" for t in tables]
        whole = f"{np.mean(list(mean[k].values())):.4f}" if len(mean[k]) == len(tables) else ""
        lines.append(f"| {k} | " + " | ".join(cells) + f" | **{whole}** |")
    lines += ["", head + " | **mean** |", rule]
    for k in names:
        cells = [f"{secs[k][t]:.1f}" if t in secs[k] else "" for t in tables]
        whole = f"{np.mean(list(secs[k].values())):.1f}" if len(secs[k]) == len(tables) else ""
        lines.append(f"| {k} s | " + " | ".join(cells) + f" | {whole} |")
    return "\n".join(lines), _verdict(results, splits, names, mean)


def _verdict(results, splits, names, mean):
    first = names[0]
    verdict = [f"Scores are means over {splits} random 75/25 splits (the same for all); "
               "seconds are medians per split (fit and predict; chainrule's train command)."]
    # only rows that score every table the first row scores too
    gaps = {k: [mean[first][t] - mean[k][t] for t in results] for k in names[1:]
            if len(mean[k]) == len(mean[first]) == len(results)}
    if "scikit-learn MLP" in gaps:
        g = gaps["scikit-learn MLP"]
        verdict.append("Target 1, on every table at least the scikit-learn MLP pipeline's score "
                       "(within 0.01): " + ("met" if min(g) >= -0.01 else "missed on " + ", ".join(
                           f"{n} ({x:+.4f})" for n, x in zip(results, g) if x < -0.01)) + ".")
    for k in ("HistGradientBoosting", "LightGBM", "RealMLP-TD"):
        if k in gaps:
            verdict.append(f"Target 2, a mean at least {k}'s: "
                           f"{'met' if np.mean(gaps[k]) >= 0 else 'missed'} ({np.mean(gaps[k]):+.4f}).")
    return " ".join(verdict)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--tables", default=",".join(TABLES))
    parser.add_argument("--splits", type=int, default=3)
    parser.add_argument("--train-args", default="", help="extra options for chainrule train")
    parser.add_argument("--no-big", action="store_true", help="skip the 20,000-row timing")
    parser.add_argument("--contenders", default=",".join(CONTENDERS),
                        help="besides chainrule train (default: all those installed)")
    parser.add_argument("--variant", action="append", default=[], metavar="NAME=OPTIONS",
                        help="a further row: chainrule train with these options (repeatable)")
    parser.add_argument("--json", metavar="FILE", help="also write every split's scores and "
                        "seconds here")
    parser.add_argument("--rows", metavar="NAME,NAME,...",
                        help="with --from-json: print only these rows, in this order (the "
                        "verdict is the first one's)")
    parser.add_argument("--from-json", nargs="+", metavar="FILE",
                        help="measure nothing: print the tables of these --json files' results "
                        "together: their tables, and each table's rows from every file (a "
                        "later file's row of the same name, a rerun, replaces an earlier one)")
    args = parser.parse_args(argv)
    if args.from_json:
        import json
        documents = []
        for path in args.from_json:
            with open(path) as f:
                documents.append(json.load(f)["results"])
        rows = [r.strip() for r in args.rows.split(",")] if args.rows else None
        table, verdict = markdown(merged(documents), args.splits, rows)
        print(table, verdict, sep="\n\n")
        return
    extra = shlex.split(args.train_args)
    variants = []
    for text in args.variant:
        name, sep, options = text.partition("=")
        if not sep or not name.strip():
            parser.error(f"--variant must be NAME=OPTIONS, got {text!r}")
        variants.append((f"chainrule {name.strip()}", tuple(shlex.split(options))))

    def write(results):  # after every table: a run cut short keeps what it measured
        if args.json:
            import json
            with open(args.json, "w") as f:
                json.dump({"argv": sys.argv[1:], "results": results}, f, indent=1)
    results = run([t for t in args.tables.split(",") if t], args.splits, extra,
                  say=lambda s: print(s, file=sys.stderr),
                  contenders=[c for c in args.contenders.split(",") if c], variants=variants,
                  on_table=write)
    table, verdict = markdown(results, args.splits)
    print(table)
    print()
    print(verdict)
    if not args.no_big:
        seconds, said = time_big(extra=extra)
        print(f"\n`chainrule train` on a synthetic 20,000-row table (8 numeric columns with 2% "
              f"missing, 2 text columns): {seconds:.1f} s ({said.split(';')[1].strip()}).")


if __name__ == "__main__":
    main()
