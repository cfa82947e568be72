"""``chainrule train --category-embedding many``: a text column of many categories read
through a learned CategoryEmbedding, index 0 for rare, missing and unseen categories;
the model file, predict, info and the older files beside it."""
import contextlib
import io
import json
import struct
from pathlib import Path

import numpy as np
import pytest

import chainrule as cr
from chainrule.cli import main

pd = pytest.importorskip("pandas")
pytest.importorskip("sklearn")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

DATA = Path(__file__).parent / "data"
#: A quick network: the tests check what is built and read, not how well it learns.
QUICK = ("--hidden", "8", "--epochs", "20", "--quiet", "--seed", "0")


def shops(n=400, levels=50, seed=0):
    """y = x + the shop's own effect; 50 shops of uneven shares (a few below the 5 rows
    that make a category known), a 3-level colour, a few shops missing."""
    rng = np.random.default_rng(seed)
    weights = rng.dirichlet(np.full(levels, 1.0))
    shop = rng.choice(levels, n, p=weights)
    x = rng.normal(size=n)
    ids = np.array([f"s{k:02d}" for k in shop], dtype=object)
    ids[:4] = None
    return pd.DataFrame({"x": x, "shop": ids, "colour": rng.choice(["r", "g", "b"], n),
                         "y": x + 2 * rng.normal(size=levels)[shop]})


def run(*argv):
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    assert code == 0, err.getvalue()
    return out.getvalue(), err.getvalue()


def header(path):
    """The safetensors metadata of a model file (its format_version, its JSON entries)."""
    raw = Path(path).read_bytes()
    (length,) = struct.unpack("<Q", raw[:8])
    return json.loads(raw[8:8 + length])["__metadata__"]


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    folder = tmp_path_factory.mktemp("shops")
    frame = shops()
    frame.to_csv(folder / "shops.csv", index=False)
    out, _ = run("train", folder / "shops.csv", "--target", "y", "--category-embedding", "many",
                 "--out", folder / "m.st", *QUICK)
    return folder, frame, out


def test_a_column_of_many_levels_is_embedded_and_one_of_few_stays_one_hot(trained):
    folder, frame, out = trained
    tab = json.loads(header(folder / "m.st")["user"])["tabular"]
    prep = tab["preprocessing"]
    counts = frame["shop"].value_counts()
    assert [c["name"] for c in prep["embedded"]] == ["shop"]
    assert [c["name"] for c in prep["categorical"]] == ["colour"]
    record = prep["embedded"][0]
    assert record["categories"] == sorted(record["categories"]) and record["other"]
    assert all(counts[c] >= 5 for c in record["categories"])
    k = len(record["categories"])
    assert f"embedded: 'shop' ({k} categories + 1 for rare, missing or unseen), 8 learned " \
           "numbers per category" in out
    assert tab["training"]["category_embedding"] == "many"
    net = cr.load(folder / "m.st")
    first = net.layers[0]
    assert isinstance(first, cr.CategoryEmbedding)
    # x and the colour's three one-hot columns pass through; the shop's index is looked up
    assert (first.n_numeric, first.n_categories, first.n_out) == (4, [k + 1], 8)
    assert net.layers[1].n_in == 4 + 8


def test_unseen_missing_and_rare_categories_read_row_0(trained):
    from chainrule.tabular.commands import _load_tabular
    folder, frame, _ = trained
    _, _, prep = _load_tabular(folder / "m.st")
    record = prep.embedded[0]
    known, rare = record["categories"][2], record["other"][0]
    probe = pd.DataFrame({"x": 0.5, "colour": "r",
                          "shop": [known, rare, None, "never seen", record["categories"][0]]})
    X, unseen = prep.encode(probe)
    np.testing.assert_array_equal(X[:, -1], [3, 0, 0, 0, 1])
    assert unseen == {"shop": (1, ["never seen"])}
    probe.to_csv(folder / "probe.csv", index=False)
    out, err = run("predict", folder / "m.st", folder / "probe.csv")
    y = np.array(out.splitlines()[1:], dtype=float)
    assert y[1] == y[2] == y[3] != y[0]     # the same inputs but for a category at row 0
    assert "column 'shop': 1 of 5 rows hold a category not seen in training ('never seen'); " \
           "encoded as the embedding's row for rare, missing or unseen categories" in err


def test_the_file_predicts_what_the_trained_model_predicted(trained):
    from chainrule.sklearn import load
    from chainrule.tabular.commands import _load_tabular
    from chainrule.tabular.read import read_table_with_numbers
    from chainrule.tabular.recipe import predict_table, train_table
    from chainrule.tabular.settings import Settings
    folder, _, _ = trained
    frame, _ = read_table_with_numbers(str(folder / "shops.csv"))
    settings = Settings(hidden=(8,), epochs=20, seed=0, category_embedding="many")
    ensemble, metadata, _ = train_table(frame, "y", str(folder / "shops.csv"), settings,
                                        warn=lambda text: None)
    saved, tab, prep = _load_tabular(folder / "m.st")
    assert metadata["tabular"]["preprocessing"] == tab["preprocessing"]
    features = frame.drop(columns=["y"])
    direct = predict_table(ensemble, tab, prep, features, "shops.csv")[0]
    X = prep.transform(features)
    out, _ = run("predict", folder / "m.st", folder / "shops.csv")
    from_file = np.array(out.splitlines()[1:], dtype=float)
    # the same training in process; predict writes 7 significant digits
    np.testing.assert_allclose(from_file, direct, rtol=1e-5, atol=1e-5)
    est = load(folder / "m.st")          # scikit-learn's loader reads it too
    assert list(est.embedded_categories) == [len(prep.embedded[0]["categories"]) + 1]
    np.testing.assert_allclose(est.predict(X), ensemble.predict(X), rtol=1e-6, atol=1e-6)


def test_info_names_the_embedded_column(trained):
    folder, _, _ = trained
    out, _ = run("info", folder / "m.st")
    assert "  embedded:   'shop' (" in out and "  categorical: colour (3 categories)" in out
    assert "CategoryEmbedding(n_numeric=4" in out


def test_a_file_with_an_embedding_is_format_2_and_one_without_stays_format_1(trained, tmp_path):
    folder, _, _ = trained
    assert header(folder / "m.st")["format_version"] == "2"
    run("train", folder / "shops.csv", "--target", "y", "--out", tmp_path / "plain.st", *QUICK,
        "--category-embedding", "none")
    meta = header(tmp_path / "plain.st")
    tab = json.loads(meta["user"])["tabular"]
    # none: the file is what chainrule wrote before embeddings
    assert meta["format_version"] == "1" and "embedded" not in tab["preprocessing"]
    assert "category_embedding" not in tab["training"]
    net = cr.load(tmp_path / "plain.st")
    with pytest.raises(ValueError, match="format_version must be one of 1..2, got 3"):
        cr.files.model.save(net, tmp_path / "x.st", format_version=3)


@pytest.mark.parametrize("name, table", [("cli-0.1.0", "table-0.1.0.csv"),
                                         ("tabular_before_transforms/price", "features.csv")])
def test_files_written_before_embeddings_predict_the_same(name, table):
    model = DATA / f"{name}.safetensors"
    data = (model.parent / table) if "/" in name else DATA / table
    expected = pd.read_csv(DATA / ("cli-predictions-0.1.0.csv" if "/" not in name
                                   else "tabular_before_transforms/price_predictions.csv"))
    out, _ = run("predict", model, data)
    got = pd.read_csv(io.StringIO(out))
    if got["prediction"].dtype.kind == "f":
        np.testing.assert_allclose(got["prediction"], expected["prediction"], rtol=1e-5)
    else:
        assert list(got["prediction"]) == list(expected["prediction"])


@pytest.mark.parametrize("options", [("--ensemble", "2"), ("--refit",),
                                     ("--numeric-embedding", "periodic")])
def test_embeddings_with_an_ensemble_a_refit_or_a_periodic_embedding(trained, tmp_path, options):
    folder, frame, _ = trained
    # many is the default
    run("train", folder / "shops.csv", "--target", "y", "--out", tmp_path / "m.st", *QUICK,
        *options)
    out, _ = run("predict", tmp_path / "m.st", folder / "shops.csv")
    assert len(out.splitlines()) == len(frame) + 1
    net = cr.load(tmp_path / "m.st")
    assert isinstance(net.layers[0], cr.CategoryEmbedding)
    if "periodic" in options:   # the numbers pass the CategoryEmbedding, then are embedded
        assert isinstance(net.layers[1], cr.PeriodicEmbedding) and net.layers[1].n_numeric == 1


def test_few_levels_stay_one_hot_with_many():
    from chainrule.tabular.preprocessing import EMBED_ABOVE, Preprocessing
    frame = pd.DataFrame({"few": [f"c{i % EMBED_ABOVE}" for i in range(200)],
                          "more": [f"c{i % (EMBED_ABOVE + 1)}" for i in range(200)]})
    prep = Preprocessing.fit(frame, category_embedding="many")
    assert [c["name"] for c in prep.categorical] == ["few"]
    assert [c["name"] for c in prep.embedded] == ["more"]
    assert prep.n_features == EMBED_ABOVE + 1 and prep.category_counts == [EMBED_ABOVE + 2]
    back = Preprocessing.from_json(json.loads(json.dumps(prep.to_json())))
    np.testing.assert_array_equal(back.transform(frame), prep.transform(frame))
    with pytest.raises(ValueError, match="category_embedding must be one of"):
        Preprocessing.fit(frame, category_embedding="all")


def test_a_bad_embedded_record_or_option_is_refused(capsys, tmp_path):
    from chainrule.tabular.preprocessing import Preprocessing
    record = {"scale": "standard", "numeric": [], "categorical": [],
              "embedded": [{"name": "shop", "categories": ["a", "a"]}]}
    with pytest.raises(ValueError, match="bad embedded column record"):
        Preprocessing.from_json(record, where="m.st")
    with pytest.raises(SystemExit):
        main(["train", "t.csv", "--target", "y", "--out", str(tmp_path / "m.st"),
              "--category-embedding", "all"])
    assert "invalid choice: 'all' (choose from 'none', 'many')" in capsys.readouterr().err


def test_the_estimator_checks_its_embedded_categories(tmp_path):
    from chainrule.files import model
    from chainrule.sklearn import MLPRegressor, load
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.normal(size=60), rng.integers(0, 6, 60)])
    y = X[:, 0] + X[:, 1]
    with pytest.raises(ValueError, match=r"embedded_categories\[0\] must be >= 1, got 0"):
        MLPRegressor(embedded_categories=(0,), max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="embedded_categories lists 3 columns, more than the 2"):
        MLPRegressor(embedded_categories=(6, 6, 6), max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="Embedding indices must be whole numbers in"):
        MLPRegressor(embedded_categories=(5,), max_iter=1).fit(X, y)   # index 5 of 5
    est = MLPRegressor(hidden_layer_sizes=(4,), embedded_categories=(6,), max_iter=3,
                       random_state=0).fit(X, y)
    est.save(tmp_path / "e.st")
    np.testing.assert_array_equal(load(tmp_path / "e.st").predict(X), est.predict(X))
    net, user, _ = model.load_with_extras(tmp_path / "e.st")
    user["estimator"]["params"]["embedded_categories"] = [7]   # not the stored table's size
    model.save(net, tmp_path / "liar.st", metadata=user)
    with pytest.raises(ValueError, match=r"embedded_categories=\[7\] and embedding_width=8 need a "
                                         r"first layer CategoryEmbedding\(n_numeric=1, n_categories="
                                         r"\[7\], n_out=8\); the stored network starts with "
                                         r"CategoryEmbedding\(n_numeric=1, n_categories=\[6\]"):
        load(tmp_path / "liar.st")


def test_a_file_whose_embedded_columns_contradict_its_network_is_refused(trained, tmp_path):
    from chainrule.files import model
    folder, _, _ = trained
    net, user, extras = model.load_with_extras(folder / "m.st")
    user["tabular"]["preprocessing"]["embedded"][0]["categories"].pop()   # one category fewer
    model.save(net, tmp_path / "liar.st", metadata=user, extra_tensors=extras, format_version=2)
    for command in ("predict", "info"):
        with contextlib.redirect_stderr(io.StringIO()) as err:
            code = main([command, str(tmp_path / "liar.st")]
                        + ([str(folder / "shops.csv")] if command == "predict" else []))
        assert code != 0
        assert "the preprocessing makes 4 columns and tables of" in err.getvalue()
        assert "for the embedded columns; the network reads 4 columns and tables of" \
            in err.getvalue()


def test_a_row_no_training_row_read_becomes_the_weighted_mean_of_the_read_ones(tmp_path):
    """Every shop frequent and none missing: index 0 (an unseen shop at predict) is read by no
    training row, and would otherwise keep its random N(0, 1) start."""
    from chainrule.sklearn.io import load_estimator_with_extras
    from chainrule.tabular.commands import _load_tabular
    rng = np.random.default_rng(1)
    shop = np.repeat(np.arange(25), 12)
    frame = pd.DataFrame({"x": rng.normal(size=len(shop)), "shop": [f"s{k:02d}" for k in shop]})
    frame["y"] = frame.x + 0.1 * shop
    frame.to_csv(tmp_path / "t.csv", index=False)
    run("train", tmp_path / "t.csv", "--target", "y", "--out", tmp_path / "m.st", *QUICK)
    _, _, prep = _load_tabular(tmp_path / "m.st")
    assert prep.embedded[0]["name"] == "shop" and "other" not in prep.embedded[0]
    table = load_estimator_with_extras(tmp_path / "m.st")[0].network_.layers[0].W
    assert table.shape[0] == 26
    reads = np.bincount(prep.encode(frame)[0][:, -1].astype(int), minlength=26)
    assert reads[0] == 0                      # no row of the table reads index 0
    mean = table[1:].mean(axis=0)             # every shop is read about equally often
    assert np.abs(table[0] - mean).max() < 0.3 * np.abs(table[1:] - mean).max()
    assert np.abs(table[0]).max() < np.abs(table[1:]).max()


def test_fill_unread_rows_weights_by_the_reads():
    from chainrule.tabular.recipe import fill_unread_rows

    class Held:  # what fill_unread_rows reads of an estimator
        pass
    est = Held()
    est.network_ = cr.Sequential([cr.CategoryEmbedding(1, [3, 2], 2, seed=0, dtype=np.float64)])
    X = np.array([[0.5, 1, 1], [0.1, 1, 1], [0.2, 2, 1]])   # column 0 reads 1, 1, 2; column 1 reads 1
    before = est.network_.layers[0].W.copy()
    fill_unread_rows(est, X, [3, 2])
    W = est.network_.layers[0].W
    np.testing.assert_allclose(W[0], (2 * before[1] + before[2]) / 3)
    np.testing.assert_array_equal(W[1:3], before[1:3])
    np.testing.assert_array_equal(W[4], before[4])
    np.testing.assert_array_equal(W[3], W[4])         # column 1's row 0 = its one read row


@pytest.mark.parametrize("claim", [[3 * 10**8], [50, 10**9]])
def test_a_file_claiming_a_huge_table_is_refused_before_anything_is_drawn(trained, tmp_path, claim):
    """The estimator record's embedded_categories would have built a table of that size to
    compare with the stored one: gigabytes from a few bytes of JSON."""
    import tracemalloc

    from chainrule.files import model
    from chainrule.sklearn.io import load_estimator
    folder, _, _ = trained
    net, user, extras = model.load_with_extras(folder / "m.st")
    user["estimator"]["params"]["embedded_categories"] = claim
    model.save(net, tmp_path / "huge.st", metadata=user, extra_tensors=extras, format_version=2)
    tracemalloc.start()
    with pytest.raises(ValueError, match=r"huge.st: embedded_categories=\[.*\] and embedding_width=8 "
                                         r"need a first layer CategoryEmbedding"):
        load_estimator(tmp_path / "huge.st")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 50 * 2**20
    with contextlib.redirect_stderr(io.StringIO()) as err:
        assert main(["info", str(tmp_path / "huge.st")]) == 1
    assert err.getvalue().startswith("chainrule: error: ") and "Traceback" not in err.getvalue()


def test_the_summary_says_other_text_columns_are_one_hot_only_when_there_are_some(tmp_path):
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"shop": [f"s{k:02d}" for k in rng.integers(0, 30, 300)]})
    frame["y"] = (frame.shop < "s10").astype(float) + rng.normal(scale=0.1, size=300)
    frame.to_csv(tmp_path / "only.csv", index=False)
    out, err = run("train", tmp_path / "only.csv", "--target", "y", "--out", tmp_path / "m.st", *QUICK)
    assert "learned numbers per category" in out + err and "one-hot)" not in out + err
    frame.assign(colour=rng.choice(["r", "g"], 300)).to_csv(tmp_path / "two.csv", index=False)
    out, err = run("train", tmp_path / "two.csv", "--target", "y", "--out", tmp_path / "m.st", *QUICK)
    assert "(the other text columns one-hot)" in out + err
