"""The ``chainrule`` command."""
from __future__ import annotations

import argparse
import math
import sys


def _demo(args):
    from .demos import DEMOS
    if args.plot:  # say so before training, not after
        from .plot import require_matplotlib
        require_matplotlib()
    kwargs = {"seed": args.seed, "plot": args.plot}
    DEMOS[args.name](**kwargs)
    return 0


def _playground(args):
    from .playground import serve
    return serve(host=args.host, port=args.port, open_browser=args.open)


def build_parser():
    from .demos import DEMOS
    parser = argparse.ArgumentParser(prog="chainrule", description=(
        "Neural networks with every forward and backward pass written out in NumPy."))
    parser.add_argument("--version", action="version", version=_version())
    commands = parser.add_subparsers(dest="command", required=True)
    from .demos import ABOUT
    listing = "\n".join(f"  {name:<10} {about}" + (f"  [needs chainrule[{extra}]]" if extra else "")
                        for name, (about, extra) in ABOUT.items())
    demo = commands.add_parser(
        "demo", help="run one of the classic examples",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Run one of the classic examples: it trains, prints what it learned, and "
                    "with --plot saves a figure.",
        epilog=f"demos:\n{listing}\n\n--plot needs chainrule[plot] (matplotlib). All of them, "
               "with figures: pip install 'chainrule[plot,sklearn]'")
    demo.add_argument("name", choices=list(DEMOS), help="which example (see below)")
    demo.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    demo.add_argument("--plot", metavar="FILE.png", help="save a figure of the result")
    demo.set_defaults(func=_demo)
    _add_tabular_commands(commands)
    play = commands.add_parser("playground", help="train a network in the browser, step by step "
                                                  "(needs chainrule[playground])")
    play.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 picks a free one)")
    play.add_argument("--host", default="127.0.0.1",
                      help="address to listen on (default 127.0.0.1: this machine only)")
    play.add_argument("--open", action="store_true", help="open the page in a web browser")
    play.set_defaults(func=_playground)
    return parser


# -- train / predict / info: networks for tabular data -------------------------------------

def _add_tabular_commands(commands):
    train = commands.add_parser("train", help="train a network on a CSV or Parquet table",
                                description="Train an MLP on a table: numeric columns are "
                                "standardised, text columns one-hot encoded; a validation "
                                "split is held out and its score reported.")
    train.add_argument("data", help="a .csv or .parquet file with a header row")
    train.add_argument("--target", required=True, metavar="COLUMN", help="the column to predict")
    train.add_argument("--out", required=True, metavar="MODEL.safetensors", help="where to save the model")
    train.add_argument("--task", choices=["classify", "regress"],
                       help="default: classify text, boolean and few-integer targets, regress others")
    train.add_argument("--hidden", default="64,32", metavar="N,N,...",
                       help="hidden layer sizes (default 64,32)")
    train.add_argument("--epochs", type=int, default=200, help="maximum epochs (default 200)")
    train.add_argument("--lr", type=float, default=1e-3, help="Adam learning rate (default 0.001)")
    train.add_argument("--batch-size", type=int, default=None, help="default min(200, rows)")
    train.add_argument("--validation", type=float, default=0.2, metavar="FRACTION",
                       help="share of rows held out for validation (default 0.2)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=_train)
    predict = commands.add_parser("predict", help="predict for each row of a table",
                                  description="Write one prediction per row as CSV (to stdout "
                                  "unless --out is given).")
    predict.add_argument("model", help="a model file written by chainrule train")
    predict.add_argument("data", help="a .csv or .parquet file with the training feature columns")
    predict.add_argument("--proba", action="store_true", help="add one probability column per class")
    predict.add_argument("--out", metavar="FILE.csv", help="write here instead of stdout")
    predict.set_defaults(func=_predict)
    info = commands.add_parser("info", help="describe a model file")
    info.add_argument("model", help="a model file written by chainrule train or est.save")
    info.set_defaults(func=_info)


def _hidden_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        sizes = None
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--hidden must be comma-separated positive integers such as 64,32, "
                         f"got {text!r}")
    return sizes


def _needs(command, module, package, extra):
    """Import ``module`` or raise ImportError saying which extra ``command`` needs."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{command} needs {package}: pip install 'chainrule[{extra}]'") from None


def _needs_sklearn(command):
    _needs(command, "sklearn", "scikit-learn", "sklearn")
    _needs(command, "scipy", "scipy", "sklearn")


def _check_out(path, option="--out"):
    """Fail before any work when ``path`` cannot be written: its folder must exist."""
    import os
    full = os.path.abspath(path)
    if os.path.isdir(full):
        raise ValueError(f"{option} {path} is a folder; give a file name such as "
                         f"{os.path.join(path, 'model.safetensors')}")
    folder = os.path.dirname(full)
    if not os.path.isdir(folder):
        raise ValueError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {path}: the folder {folder} is not writable")


def _train(args):
    import warnings

    import numpy as np

    _check_out(args.out)
    _needs_sklearn("chainrule train")
    _needs("chainrule train", "pandas", "pandas", "tabular")
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import train_test_split

    from .sklearn import MLPClassifier, MLPRegressor
    from .tabular import Preprocessing, detect_task, list_names, read_table

    hidden = _hidden_sizes(args.hidden)
    if not 0 < args.validation < 1:
        raise ValueError(f"--validation must be a fraction in (0, 1), got {args.validation}")
    frame = read_table(args.data)
    if args.target not in frame.columns:
        raise ValueError(f"{args.data} has no column {args.target!r}; its columns are "
                         f"{list_names(frame.columns)}")
    y = frame[args.target]
    if y.isna().any():
        i = int(np.argmax(y.isna().to_numpy()))
        raise ValueError(f"{args.data}: row {i + 1} (line {i + 2}): the target {args.target!r} "
                         "is missing")
    task = args.task or detect_task(y)
    if task == "regress":
        from .tabular import _first_text
        found = _first_text(y)
        if found is not None:
            i, value = found
            raise ValueError(f"{args.data}: row {i + 1} (line {i + 2}): the target "
                             f"{args.target!r} must be numeric to regress, found the text {value!r}")
        y = y.astype(float)
    features = frame.drop(columns=[args.target])
    if len(frame) < 4:
        raise ValueError(f"{args.data} has {len(frame)} data rows; at least 4 are needed to "
                         "train and validate")
    labels = y.astype(str).to_numpy() if task == "classify" else y.to_numpy()
    if task == "classify" and len(np.unique(labels)) < 2:
        raise ValueError(f"{args.data}: the target {args.target!r} has a single value "
                         f"{labels[0]!r}: nothing to classify")
    train_rows, val_rows = train_test_split(np.arange(len(frame)), test_size=args.validation,
                                            random_state=args.seed)
    prep = Preprocessing.fit(features, where=args.data, rows=train_rows)
    X = prep.transform(features, where=args.data)
    Estimator = MLPClassifier if task == "classify" else MLPRegressor
    kwargs = dict(hidden_layer_sizes=hidden, max_iter=args.epochs, learning_rate_init=args.lr,
                  random_state=args.seed, verbose=not args.quiet)
    if args.batch_size is not None:
        kwargs["batch_size"] = args.batch_size
    est = Estimator(**kwargs)
    y_fit = labels if task == "classify" else y.to_numpy(dtype=float)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", ConvergenceWarning)
        est.fit(X[train_rows], y_fit[train_rows])
    score = float(est.score(X[val_rows], y_fit[val_rows]))
    metric = "accuracy" if task == "classify" else "R²"
    metadata = {"tabular": {"target": str(args.target), "task": task, "source": str(args.data),
                            "preprocessing": prep.to_json(),
                            "validation": {"metric": metric, "score": score,
                                           "rows": int(len(val_rows))}}}
    est.save(args.out, metadata=metadata)
    converged = "" if not any(issubclass(w.category, ConvergenceWarning) for w in caught) else \
        f" (not converged after {est.n_iter_} epochs: try more --epochs)"
    print(f"trained {Estimator.__name__} {list(hidden)} on {len(train_rows)} rows for "
          f"{est.n_iter_} epochs{converged}; validation {metric} {score:.4f} on "
          f"{len(val_rows)} rows; saved {args.out}")
    return 0


def _load_tabular(path):
    from .io import load_with_extras
    _, metadata, _ = load_with_extras(path)  # a plain network needs no scikit-learn to say so
    if "estimator" not in metadata:
        raise ValueError(f"{path} is a chainrule network but not a saved estimator "
                         "(no 'estimator' record): it was not written by chainrule train")
    _needs_sklearn("chainrule predict")
    from ._sklearn_io import load_estimator_with_extras
    from .tabular import Preprocessing
    est, metadata, _ = load_estimator_with_extras(path)
    tab = metadata.get("tabular")
    if not isinstance(tab, dict):
        raise ValueError(f"{path} is a saved estimator without table preprocessing: it was not "
                         "written by chainrule train (use it from Python with chainrule.sklearn.load)")
    prep = Preprocessing.from_json(tab.get("preprocessing"), where=str(path))
    if prep.n_features != est.n_features_in_:
        raise ValueError(f"{path}: the preprocessing makes {prep.n_features} features, the "
                         f"network takes {est.n_features_in_}")
    return est, tab, prep


def _predict(args):
    if args.out:
        _check_out(args.out)
    pd = _needs("chainrule predict", "pandas", "pandas", "tabular")

    from .tabular import read_table

    est, tab, prep = _load_tabular(args.model)
    frame = read_table(args.data)
    X = prep.transform(frame, where=args.data)
    out = pd.DataFrame({"prediction": est.predict(X)})
    if args.proba:
        if tab.get("task") != "classify":
            raise ValueError("--proba needs a classifier; this model regresses "
                             f"{tab.get('target')!r}")
        P = est.predict_proba(X)
        for k, label in enumerate(est.classes_):
            out[f"proba_{label}"] = P[:, k]
    if args.out:
        out.to_csv(args.out, index=False)
    else:
        out.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


def _info(args):
    from .io import load_with_extras
    net, metadata, _ = load_with_extras(args.model)
    if "estimator" not in metadata:  # a plain network: no scikit-learn needed
        print(f"{args.model}: a chainrule network ({net.dtype.name}, {net.n_params:,} parameters)")
        print(net.summary())
        return 0
    _needs_sklearn("chainrule info (of a saved scikit-learn estimator)")
    from ._sklearn_io import load_estimator_with_extras
    est, metadata, _ = load_estimator_with_extras(args.model)
    net = est.network_
    tab = metadata.get("tabular")
    if isinstance(tab, dict):
        from .tabular import Preprocessing
        # checked as predict checks it, before anything is printed: a hostile
        # record is a clean error, not a traceback after half a description
        prep = Preprocessing.from_json(tab.get("preprocessing"), where=str(args.model))
    print(f"{args.model}: {type(est).__name__}, {net.dtype.name}, {net.n_params:,} parameters")
    if isinstance(tab, dict):
        print(f"  task:       {tab.get('task')} {tab.get('target')!r} (trained on {tab.get('source')})")
        val = tab.get("validation")
        score = val.get("score") if isinstance(val, dict) else None
        if isinstance(score, float) and math.isfinite(score):
            print(f"  validation: {val.get('metric')} {score:.4f} on {val.get('rows')} rows")
        numeric = [c["name"] for c in prep.numeric]
        categorical = [f"{c['name']} ({len(c['categories'])} categories)" for c in prep.categorical]
        print(f"  numeric:    {', '.join(numeric) or '-'} (standardised)")
        print(f"  categorical:{' ' + ', '.join(categorical) if categorical else ' -'} (one-hot)")
    if hasattr(est, "classes_"):
        print(f"  classes:    {', '.join(map(str, est.classes_))}")
    print(f"  training:   {est.solver}, {est.n_iter_} epochs, final loss {est.loss_:.4f}")
    print(net.summary())
    return 0


def _version():
    from . import __version__, engine
    info = engine.config()
    return (f"chainrule {__version__} (engine: {info['engine']}; numpy {info['numpy']}; "
            f"numba {info['numba']})")


def main(argv=None):
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except BrokenPipeError:
        # the reader went away (``chainrule predict ... | head``): not an error of ours
        import os
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except (ValueError, TypeError, OSError, ImportError, ArithmeticError) as error:
        print(f"chainrule: error: {_one_line(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("chainrule: interrupted", file=sys.stderr)
        return 130


def _one_line(error):
    text = " ".join(str(error).split()) or type(error).__name__
    return text


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
