"""``chainrule train``, ``predict`` and ``info``: networks for tables, from the command line.

Everything that can be checked before training is (the packages the command
needs, the output folder, the table, the network's size); training follows
:mod:`chainrule.recipe`; errors are one line, warnings go to stderr.
"""
from __future__ import annotations

import os
import sys

from ..nn.checks import finite_number as _finite
from .preprocessing import EMBED_ABOVE
from .settings import (
    ACTIVATIONS,
    CATEGORY_EMBEDDINGS,
    DEFAULTS,
    EMBEDDING_WIDTH,
    INITS,
    LR_SCHEDULES,
    NUMERIC_EMBEDDINGS,
    SCALES,
)


def add_commands(commands):
    """Add the train, predict and info sub-commands to ``commands`` (argparse)."""
    _add_train(commands)
    _add_predict(commands)
    info = commands.add_parser("info", help="describe a model file")
    info.add_argument("model", help="a model file written by chainrule train or est.save")
    info.set_defaults(func=info_command)


def _add_train(commands):
    d = DEFAULTS
    train = commands.add_parser(
        "train", help="train a network on a CSV or Parquet table",
        description="Train an MLP on a table the way tabular-MLP baselines do: numeric columns "
        "standardised, text columns one-hot encoded (those of more than "
        f"{EMBED_ABOVE} categories read through a learned embedding), ID-like columns left "
        "out, a regression "
        "target standardised, early stopping on a held-out validation split with the best "
        "epoch's weights restored.")
    train.add_argument("data", help="a .csv or .parquet file with a header row")
    train.add_argument("--target", required=True, metavar="COLUMN", help="the column to predict")
    train.add_argument("--out", required=True, metavar="MODEL.safetensors", help="where to save the model")
    train.add_argument("--task", choices=["classify", "regress"],
                       help="default: classify text, boolean and few-integer targets, regress others")
    train.add_argument("--hidden", default=",".join(map(str, d["hidden"])), metavar="N,N,...",
                       help=f"hidden layer sizes (default {','.join(map(str, d['hidden']))})")
    train.add_argument("--epochs", type=int, default=None,
                       help=f"most epochs (default {d['max_epochs']}; early stopping usually ends "
                       "sooner); with --validation 0, the exact count (required)")
    train.add_argument("--patience", type=int, default=None,
                       help=f"stop after this many epochs without a better validation loss "
                       f"(default {d['patience']})")
    train.add_argument("--refit", action="store_true",
                       help="after early stopping, train again on every row for the best epoch count")
    _add_training(train, d)
    _add_ensemble(train, d)
    train.add_argument("--target-transform", choices=["auto", "standard", "log", "poisson"],
                       default="auto",
                       help="a regression target: standardised (standard), standardised after "
                       "log(1 + y) (log), or fitted by the Poisson loss (poisson); auto "
                       "(default) chooses from the training rows: poisson for a right-skewed "
                       "count, log for other right-skewed values >= 0, else standard")
    train.add_argument("--keep-id", action="append", default=[], metavar="COLUMN",
                       help="use this column although it looks like an ID (repeatable)")
    train.add_argument("--drop", action="append", default=[], metavar="COLUMN",
                       help="leave this column out, whatever it holds (repeatable)")
    train.add_argument("--drop-missing-target", action="store_true",
                       help="leave out rows whose target is missing (default: refuse them)")
    train.add_argument("--sep", default=None, help="CSV field separator, one character, \\t for a "
                       "tab (default: detected)")
    train.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    train.add_argument("--quiet", action="store_true", help="no progress bar")
    train.set_defaults(func=train_command)


def _add_training(train, d):
    """The options of how the network trains and what it reads (the recipe's choices)."""
    train.add_argument("--lr", type=float, default=None, help=f"Adam learning rate (default {d['lr']:g})")
    train.add_argument("--lr-schedule", choices=LR_SCHEDULES, default=None,
                       help="plateau: halve the rate whenever the validation loss has not "
                       f"improved for a quarter of --patience (default {d['lr_schedule']})")
    train.add_argument("--alpha", type=float, default=None,
                       help=f"L2 penalty on the Dense layers' weights (default {d['alpha']:g})")
    train.add_argument("--dropout", type=float, default=None,
                       help=f"dropout rate after each hidden layer (default {d['dropout']:g})")
    train.add_argument("--label-smoothing", type=float, default=None, metavar="EPS",
                       help="classification: train on the targets (1 - EPS)·onehot + EPS/classes "
                       f"(default {d['label_smoothing']:g}); early stopping still judges the "
                       "plain validation log loss")
    train.add_argument("--batch-size", type=int, default=None,
                       help=f"default min({d['batch_size']}, rows)")
    train.add_argument("--validation", type=float, default=0.2, metavar="FRACTION",
                       help="share of rows held out for early stopping and the reported score "
                       "(default 0.2; 0 trains on every row for --epochs)")
    train.add_argument("--scale", choices=SCALES, default=None,
                       help="numeric columns: standardise, map through their quantiles to a "
                       "normal, or robust: (x - median) / IQR smoothly clipped to (-3, 3) "
                       f"(RealMLP's; default {d['scale']})")
    train.add_argument("--numeric-embedding", choices=NUMERIC_EMBEDDINGS, default=None,
                       help="periodic: each numeric column also read through 16 learned "
                       "cosines mapped to 3 numbers, beside the column itself (RealMLP's "
                       f"PBLD embedding; default {d['numeric_embedding']})")
    train.add_argument("--category-embedding", choices=CATEGORY_EMBEDDINGS, default=None,
                       help=f"many: each text column with more than {EMBED_ABOVE} categories is "
                       f"read through a learned embedding ({EMBEDDING_WIDTH} numbers per "
                       "category; rare, missing "
                       "and unseen categories share one) instead of one-hot columns "
                       f"(default {d['category_embedding']})")
    train.add_argument("--activation", choices=ACTIVATIONS, default=None,
                       help=f"the hidden layers' activation (default {d['activation']})")
    train.add_argument("--init", choices=INITS, default=None,
                       help="glorot: scikit-learn's initial weights; data: each hidden layer then "
                       "rescaled to unit spread on the training rows and shifted so that every "
                       f"unit bends among them (RealMLP's; default {d['init']})")


def _add_ensemble(train, d):
    train.add_argument("--ensemble", type=int, default=None, metavar="K",
                       help="train K networks with seeds SEED..SEED+K-1 and average their "
                       f"predictions (default {d['ensemble']}; --time-limit may allow fewer)")
    train.add_argument("--time-limit", type=float, default=None, metavar="SECONDS",
                       help="most seconds for training: the first network stops at the limit "
                       "(its best epoch kept), a further one starts only if the time left is at "
                       "least what each took so far (default: no limit)")


def _add_predict(commands):
    predict = commands.add_parser("predict", help="predict for each row of a table",
                                  description="Write one prediction per row as CSV (to stdout "
                                  "unless --out is given).")
    predict.add_argument("model", help="a model file written by chainrule train")
    predict.add_argument("data", help="a .csv or .parquet file with the training feature columns")
    predict.add_argument("--proba", action="store_true",
                         help="add one probability column per class (6 significant digits)")
    predict.add_argument("--keep", action="append", default=[], metavar="COLUMN",
                         help="copy this column (an ID, say) into the predictions (repeatable)")
    predict.add_argument("--sep", default=None, help="CSV field separator, one character, \\t for "
                         "a tab (default: detected)")
    predict.add_argument("--out", metavar="FILE.csv", help="write here instead of stdout")
    predict.add_argument("--raw", action="store_true",
                         help="write cells as they are; by default a text cell that starts with "
                         "= + - @, a tab or a carriage return (and is not a number) gets a "
                         "leading ' so that a spreadsheet shows it instead of running it")
    predict.set_defaults(func=predict_command)


def _hidden_sizes(text):
    try:
        sizes = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        sizes = None
    if not sizes or min(sizes) < 1:
        raise ValueError(f"--hidden must be comma-separated positive integers such as 64,32, "
                         f"got {text!r}")
    return sizes


def needs(command, module, package, extra):
    """Import ``module`` or raise ImportError saying which extra ``command`` needs."""
    import importlib
    try:
        return importlib.import_module(module)
    except ImportError:
        raise ImportError(f"{command} needs {package}: pip install 'chainrule[{extra}]'") from None


def _needs_sklearn(command, extra="sklearn"):
    needs(command, "sklearn", "scikit-learn", extra)
    needs(command, "scipy", "scipy", extra)


def check_out(path, option="--out", inputs=()):
    """Fail before any work when ``path`` cannot be written: its folder must exist, and it
    must not be one of the command's ``inputs`` (``(option, path)`` pairs): writing the
    result over the table or the model it was made from would lose that file."""
    full = os.path.abspath(path)
    for name, given in inputs:
        if os.path.exists(full) and os.path.exists(given) and os.path.samefile(full, given):
            raise ValueError(f"{option} {path} is the {name} file this command reads: writing "
                             f"there would destroy it; give another file name")
    if os.path.isdir(full):
        raise ValueError(f"{option} {path} is a folder; give a file name such as "
                         f"{os.path.join(path, 'model.safetensors')}")
    folder = os.path.dirname(full)
    if not os.path.isdir(folder):
        raise ValueError(f"{option} {path}: the folder {folder} does not exist")
    if not os.access(folder, os.W_OK):
        raise ValueError(f"{option} {path}: the folder {folder} is not writable")


def _warn(text):
    from .read import printable
    print(f"chainrule: warning: {printable(text)}", file=sys.stderr)


def _say(text):
    """Print one line for a person: names from tables and model files are data, and a
    control character (a line break too) in one must not reach the terminal as a command."""
    from .read import printable
    print(printable(text))


def train_command(args):
    # every package the command will need, and the output folder, before any work
    check_out(args.out, inputs=[("data", args.data)])
    _needs_sklearn("chainrule train", "tabular")
    needs("chainrule train", "pandas", "pandas", "tabular")
    needs("chainrule train", "safetensors", "safetensors", "tabular")
    if os.path.splitext(args.data)[1].lower() in (".parquet", ".pq"):
        needs("chainrule train", "pyarrow", "pyarrow", "tabular")
    from .read import read_table_with_numbers
    from .recipe import train_table
    from .settings import Settings

    settings = Settings(task=args.task, hidden=_hidden_sizes(args.hidden), epochs=args.epochs,
                        lr=args.lr, alpha=args.alpha, dropout=args.dropout,
                        batch_size=args.batch_size, patience=args.patience,
                        validation=args.validation, refit=args.refit, seed=args.seed,
                        scale=args.scale, keep_id=args.keep_id, drop=args.drop,
                        drop_missing_target=args.drop_missing_target, verbose=not args.quiet,
                        target_transform=args.target_transform, ensemble=args.ensemble,
                        time_limit=args.time_limit, label_smoothing=args.label_smoothing,
                        numeric_embedding=args.numeric_embedding, lr_schedule=args.lr_schedule,
                        category_embedding=args.category_embedding,
                        activation=args.activation, init=args.init)
    frame, numbers = read_table_with_numbers(args.data, sep=args.sep, note=_say)
    ensemble, metadata, r = train_table(frame, args.target, args.data, settings, warn=_warn)
    # which columns were read with a decimal comma or dot thousands: predict reads them so
    metadata["tabular"]["numbers"] = numbers
    ensemble.save(args.out, metadata=metadata)
    if "target_transform" in r:
        print(f"target {args.target!r}: {r['target_transform']['reason']}")
    if r["embedded"]:
        _say("embedded: " + _embedded_text(r["embedded"], r["one_hot"]))
    _summary(args, ensemble, metadata["tabular"]["validation"], r)
    return 0


def _embedded_text(embedded, one_hot):
    """The embedded columns (the preprocessing's records), for train's summary and info:
    ``'shop' (198 categories + 1 for rare, missing or unseen), ...``; ``one_hot``: whether
    other text columns are one-hot."""
    parts = [f"{c['name']!r} ({len(c['categories'])} categories + 1 for "
             + ("rare, " if "other" in c else "") + "missing or unseen)" for c in embedded]
    return (", ".join(parts) + f", {EMBEDDING_WIDTH} learned numbers per category"
            + (" (the other text columns one-hot)" if one_hot else ""))


def _kept(val, r):
    """Which weights a network stopped by --time-limit keeps: its best epoch's, or, after
    --refit, those of the refit (stopped by the same limit)."""
    if val is None:
        return ""
    if "refit_epochs" in r:
        return (f" (then refit on all {r['refit_rows']} rows for {r['refit_epochs']} epochs, "
                "whose weights are kept)")
    return " (its best epoch's weights kept)"


def _summary(args, ensemble, val, r):
    """The lines that say what training did (one network, or the members and the time)."""
    name, k = type(ensemble.first).__name__, len(ensemble)
    if k < r["ensemble_asked"]:
        _warn(f"--time-limit {r['time_limit']:g} s allowed {k} of the {r['ensemble_asked']} "
              f"networks --ensemble asked for")
    timed_out = r["members"][0]["stopped_by_time"]
    if timed_out:
        _warn(f"--time-limit {r['time_limit']:g} s stopped the first network at epoch "
              f"{r['members'][0]['epochs_run']}" + _kept(val, r)
              + ("; the validation loss was still falling: a longer --time-limit may help"
                 if r["still_improving"] else ""))
    what = f"{name} {r['hidden']}" if k == 1 else \
        f"{k} {name} networks {r['hidden']} (seeds {args.seed}..{args.seed + k - 1}, averaged)"
    if val is None:
        epochs = r["epochs"] if k == 1 else ", ".join(str(m["epochs_run"]) for m in r["members"])
        _say(f"trained {what} on all {r['rows']} rows for {epochs} epochs "
             f"(no validation split); saved {args.out}")
        return
    hint = (f" (the validation loss was still falling at epoch {r['epochs']}: try more --epochs)"
            if r["still_improving"] and not timed_out else "")   # the limit stopped it, not --epochs
    refit = (f"; refit on all {r['refit_rows']} rows for {r['refit_epochs']} epochs"
             if "refit_epochs" in r and k == 1 else
             f"; each refit on all {r['refit_rows']} rows for its best epoch count"
             if "refit_epochs" in r else "")
    if k == 1:
        best = f"best epoch {r['best_epoch']} of {r['epochs']}{hint}"
    else:
        best = "best epochs " + ", ".join(f"{m['best_epoch']} of {m['epochs_run']}"
                                          for m in r["members"])
        each = ", ".join(f"{m['score']:.4f}" for m in r["members"])
        val_text = f"validation {val['metric']} {val['score']:.4f} averaged (each alone: {each})"
    _say(f"trained {what} on {r['rows']} rows: {best}; "
         + (f"validation {val['metric']} {val['score']:.4f}" if k == 1 else val_text)
         + f" on {val['rows']} rows{refit}; saved {args.out}")


def check_model_file(path):
    """One line for a missing file or one that is not a safetensors model file."""
    from .read import check_file
    where = check_file(path, what="model file",
                       holds="a .safetensors file written by chainrule train or est.save")
    with open(where, "rb") as f:
        head = f.read(9)
    length = int.from_bytes(head[:8], "little") if len(head) >= 8 else 0
    # a safetensors file starts with its JSON header's length (8 bytes) and then "{"
    if len(head) < 9 or head[8:9] != b"{" or length > os.path.getsize(where):
        raise ValueError(f"{where} is not a chainrule model file (a .safetensors file written "
                         "by chainrule train or est.save)")
    return where


def _load_tabular(path):
    """``(model, tabular record, preprocessing)`` of a file written by chainrule train; the
    model is a :class:`~.saved.SavedModel` (no scikit-learn: predicting starts faster)."""
    from .preprocessing import Preprocessing
    from .saved import SavedModel
    check_model_file(path)
    est = SavedModel.load(path)
    tab = est.metadata["tabular"]  # SavedModel.load has refused a file without one
    prep = Preprocessing.from_json(tab.get("preprocessing"), where=str(path))
    if prep.n_features != est.n_features_in_:
        raise ValueError(f"{path}: the preprocessing makes {prep.n_features} features, the "
                         f"network takes {est.n_features_in_}")
    check_embedded(prep, est.network, str(path))
    return est, tab, prep


def check_embedded(prep, net, where):
    """ValueError unless the network reads the preprocessing's index columns as it makes
    them: a first CategoryEmbedding with one table per embedded column, of its categories
    and row 0, after the numeric and one-hot columns (and none without embedded columns)."""
    from ..nn.layers import CategoryEmbedding
    first = net.layers[0] if net.layers else None
    has = isinstance(first, CategoryEmbedding)
    if not prep.embedded and not has:
        return
    if not has or first.n_categories != prep.category_counts or first.n_numeric != prep.n_passed:
        made = f"{prep.n_passed} columns and tables of {prep.category_counts} rows"
        reads = (f"{first.n_numeric} columns and tables of {first.n_categories} rows" if has
                 else "no CategoryEmbedding first")
        raise ValueError(f"{where}: the preprocessing makes {made} for the embedded columns; "
                         f"the network reads {reads}"[:400])


def _six(values):
    """Probabilities as text with 6 significant digits (``4.17233e-06``, ``0.999996``)."""
    return [f"{v:.6g}" for v in values]


def predict_command(args):
    if args.out:
        check_out(args.out, inputs=[("data", args.data), ("model", args.model)])
    pd = needs("chainrule predict", "pandas", "pandas", "tabular")
    from .commas import check_numbers
    from .read import list_names, read_table
    from .recipe import predict_table

    est, tab, prep = _load_tabular(args.model)
    frame = read_table(args.data, sep=args.sep, text_columns=prep.text_columns,
                       numbers=check_numbers(tab.get("numbers"), str(args.model)))
    absent = [c for c in args.keep if c not in frame.columns]
    if absent:
        raise ValueError(f"--keep {list_names(absent)}: no such column in {args.data}; its "
                         f"columns are {list_names(frame.columns)}")
    if args.proba and tab.get("task") != "classify":
        raise ValueError("--proba needs a classifier; this model regresses "
                         f"{tab.get('target')!r}")
    probas = [f"proba_{label}" for label in est.classes_] if args.proba else []
    written = ["prediction", *probas]
    clash = [c for c in args.keep if c in written]
    if clash:   # one column name for two things: the kept values would be overwritten
        raise ValueError(f"--keep {list_names(clash)}: predict writes a column of that name "
                         f"itself ({list_names(written)}); rename the column in {args.data} "
                         "to keep it")
    y, P, unseen = predict_table(est, tab, prep, frame, args.data, proba=args.proba)
    embedded = {c["name"] for c in prep.embedded}
    for name, (count, examples) in unseen.items():
        _warn(f"column {name!r}: {count} of {len(frame)} rows hold a category not seen in "
              f"training ({list_names(examples, 3)}); encoded as "
              + ("the embedding's row for rare, missing or unseen categories" if name in embedded
                 else "none of the known categories"))
    out = pd.DataFrame({c: frame[c] for c in args.keep})
    out["prediction"] = y if tab.get("task") == "classify" else [f"{v:.7g}" for v in y]
    if P is not None:
        for k, name in enumerate(probas):
            out[name] = _six(P[:, k])
    if not args.raw:
        out, escaped = _spreadsheet_safe(pd, out)
        if escaped:
            _warn(f"{escaped} cells start with = + - @, a tab or a carriage return, which a "
                  "spreadsheet would run as a formula: written with a leading ' (--raw writes "
                  "them as they are)")
    if args.out:
        out.to_csv(args.out, index=False)
    else:
        out.to_csv(sys.stdout, index=False, lineterminator="\n")
    return 0


def _spreadsheet_safe(pd, out):
    """``(out, count)``: the text cells and headers of ``out`` escaped by
    :func:`chainrule.tabular.spreadsheet_safe`, and how many changed (numbers never do)."""
    from .read import is_numeric, spreadsheet_safe
    count = 0

    def safe(v):
        nonlocal count
        if not isinstance(v, str):
            return v
        w = spreadsheet_safe(v)
        count += w != v
        return w

    columns = {}
    for name in out.columns:
        column = out[name]
        columns[safe(str(name))] = column if is_numeric(column) else \
            pd.Series([safe(v) for v in column.tolist()], dtype=object, index=column.index)
    return pd.DataFrame(columns), count


def _record(tab, key):
    """``tab[key]`` when it is a dict (a record of the model file's metadata), else {}."""
    value = tab.get(key)
    return value if isinstance(value, dict) else {}


def _target_text(target):
    """How the model file's target transform worked, for ``info``."""
    m, sd = target.mean, target.std
    if target.kind == "poisson":
        return (f"a count, fitted as y / {m:.6g} by the Poisson loss on a log-rate output, "
                "times the mean at prediction")
    if target.kind == "log":
        return (f"log(1 + y) standardised in training (mean {m:.6g}, std {sd:.6g}), "
                "unscaled and e^(·) − 1 taken at prediction")
    return f"standardised in training (mean {m:.6g}, std {sd:.6g}), unscaled at prediction"


_SCALE_TEXT = {"standard": "standardised", "quantile": "quantiles to a normal",
               "robust": "(x - median) / IQR, smoothly clipped to (-3, 3)"}


def _members_text(record, k):
    """The ensemble's lines of ``info``: each member's seed, epochs and validation score."""
    rows = record.get("records")
    if k == 1 and record.get("time_limit") is None:
        return
    limit = record.get("time_limit")
    asked = record.get("asked")
    _say(f"  members:    {k}" + (f" of the {asked} asked for" if asked != k else "")
         + (f", within --time-limit {limit:g} s" if _finite(limit) else ""))
    for j, m in enumerate(rows if isinstance(rows, list) else []):
        if not isinstance(m, dict) or j >= k:
            break
        score = f", validation {m['score']:.4f}" if _finite(m.get("score")) else ""
        best = f", best epoch {m['best_epoch']}" if "best_epoch" in m else ""
        seconds = f", {m['seconds']:.1f} s" if _finite(m.get("seconds")) else ""
        _say(f"    #{j}: seed {m.get('seed')}, {m.get('epochs_run')} epochs{best}{score}{seconds}")


def _validation_text(val, training, k):
    """The validation and refit lines of ``info``. After a refit the file holds the weights
    of the run on every row, not the best epoch's: the score is that of the network before."""
    refit = bool(training.get("refit"))
    if _finite(val.get("score")):
        kept = ", measured before the refit" if refit else ", its weights kept"
        best = (f"; best epoch {val['best_epoch']} of {val.get('epochs_run')} (patience "
                f"{val.get('patience')}){kept}" if "best_epoch" in val else "")
        _say(f"  validation: {val.get('metric')} {val['score']:.4f} on {val.get('rows')} rows{best}"
             + (" (the first network's epochs)" if k > 1 else ""))
    if refit:
        each = "each member " if k > 1 else ""
        epochs = "its best epoch count" if k > 1 else \
            f"{training.get('epochs')} epochs (the best epoch count)"
        _say(f"  refit:      {each}on all {training.get('rows')} rows for {epochs}, from new "
             "weights: the file holds the refit's weights, which no held-out row has scored")


def _columns_text(prep, est):
    """The lines of ``info`` saying how the feature columns are read: the numeric ones, the
    one-hot ones, the embedded ones."""
    numeric = [c["name"] for c in prep.numeric]
    categorical = [f"{c['name']} ({len(c['categories'])} categories"
                   + (" + other)" if "other" in c else ")") for c in prep.categorical]
    embedding = ", each also through a periodic embedding" \
        if est.periodic_columns else ""
    _say(f"  numeric:    {', '.join(numeric) or '-'} ({_SCALE_TEXT[prep.scale]}{embedding})")
    _say(f"  categorical:{' ' + ', '.join(categorical) if categorical else ' -'} (one-hot)")
    if prep.embedded:
        _say("  embedded:   " + _embedded_text(prep.embedded, bool(prep.categorical)))


def _numbers_text(numbers):
    """The line of ``info`` naming the columns training read with a decimal comma or dot
    thousands (predict reads them the same way), when there are any."""
    from .read import list_names
    if numbers is None or not any(numbers.values()):
        return
    parts = ([f"{list_names(numbers['decimal_comma'])} with a decimal comma (0,5 = 0.5)"]
             if numbers["decimal_comma"] else []) + \
        ([f"{list_names(numbers['dot_thousands'])} with the dot as thousands separator "
          "(4.359 = 4359)"] if numbers["dot_thousands"] else [])
    _say(f"  read as:    {'; '.join(parts)}, at predict too")


def info_command(args):
    from ..files.model import load_with_extras
    check_model_file(args.model)
    net, metadata, _ = load_with_extras(args.model)
    if "estimator" not in metadata:  # a plain network: no scikit-learn needed
        _say(f"{args.model}: a chainrule network ({net.dtype.name}, {net.n_params:,} parameters)")
        for line in net.summary().splitlines():
            _say(line)
        return 0
    _needs_sklearn("chainrule info (of a saved scikit-learn estimator)")
    from ..sklearn.io import load_estimator_with_extras
    from .commas import check_numbers
    from .ensemble import read_members
    from .preprocessing import Preprocessing
    from .target import TargetTransform
    est, metadata, extras = load_estimator_with_extras(args.model)
    net = est.network_
    tab = metadata.get("tabular")
    if isinstance(tab, dict):
        # checked as predict checks it, before anything is printed: a hostile record is
        # a clean error, not a traceback after half a description
        prep = Preprocessing.from_json(tab.get("preprocessing"), where=str(args.model))
        target = TargetTransform.from_metadata(tab, where=str(args.model))
        k = len(read_members(net, tab.get("ensemble"), extras, str(args.model)))
        check_embedded(prep, net, str(args.model))
        numbers = check_numbers(tab.get("numbers"), str(args.model))
    if isinstance(tab, dict) and k > 1:
        _say(f"{args.model}: an ensemble of {k} {type(est).__name__} networks, {net.dtype.name}, "
             f"{net.n_params:,} parameters each, their outputs averaged")
    else:
        _say(f"{args.model}: {type(est).__name__}, {net.dtype.name}, {net.n_params:,} parameters")
    if isinstance(tab, dict):
        _say(f"  task:       {tab.get('task')} {tab.get('target')!r} (trained on {tab.get('source')})")
        if target is not None:
            _say(f"  target:     {_target_text(target)}")
        training = _record(tab, "training")
        _validation_text(_record(tab, "validation"), training, k)
        _members_text(_record(tab, "ensemble"), k)
        _columns_text(prep, est)
        _numbers_text(numbers)
        _say("  missing:    a missing number counts as the training mean; a missing or unseen "
              "category sets none of its indicators"
              + (" (of an embedded column: reads its row 0)" if prep.embedded else ""))
        for d in prep.dropped:
            _say(f"  left out:   {d['name']!r} ({d['reason']})")
    if hasattr(est, "classes_"):
        _say(f"  classes:    {', '.join(map(str, est.classes_))}")
    smoothing = getattr(est, "label_smoothing", 0.0)
    _say(f"  training:   {est.solver}, {est.n_iter_} epochs, final loss {est.loss_:.4f}"
         + (f" (label smoothing {smoothing:g})" if smoothing else "")
         + (", initialised from the data" if est.init == "data" else ""))
    for line in net.summary().splitlines():
        _say(line)
    return 0
