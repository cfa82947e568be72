"""Which columns chainrule.tabular.preprocessing leaves out as ID-like, and which it must keep."""
import numpy as np
import pytest

from chainrule.tabular.preprocessing import Preprocessing

pd = pytest.importorskip("pandas")


def _left_out(frame, **options):
    """{name: reason} of the columns Preprocessing.fit leaves out of ``frame``."""
    prep = Preprocessing.fit(frame.assign(signal=np.linspace(0, 1, len(frame))), **options)
    return {d["name"]: d["reason"] for d in prep.dropped}


def test_a_shuffled_split_of_ids_is_left_out_by_its_name():
    """Issue 22, finding 11: ids 0..149 of a table sorted by class, shuffled and split, are
    not consecutive; they were standardised and leaked the label."""
    rng = np.random.default_rng(0)
    ids = rng.permutation(150)[:120]
    assert ids.max() - ids.min() != 119  # not a run of consecutive integers
    left = _left_out(pd.DataFrame({"id": ids}))
    assert left == {"id": "ID-like: named like an ID, with a distinct value in 120 of its 120 rows"}


@pytest.mark.parametrize("name", ["id", "ID", "customer_id", "PassengerId", "userID", "id_cliente",
                                  "order id", "uuid", "rownames", "index", "row"])
def test_names_of_identifiers(name):
    rng = np.random.default_rng(1)
    assert name in _left_out(pd.DataFrame({name: rng.permutation(1000)[:30] + 7}))
    texts = [f"k{i}" for i in rng.permutation(30)]
    assert name in _left_out(pd.DataFrame({name: texts}))


def test_a_row_index_written_by_pandas_is_left_out(tmp_path):
    from chainrule.tabular.read import read_table
    rng = np.random.default_rng(2)
    frame = pd.DataFrame({"x": rng.normal(size=12)}).sample(frac=1, random_state=0).head(9)
    frame.to_csv(tmp_path / "t.csv")  # index=True: the first column, with an empty header cell
    read = read_table(tmp_path / "t.csv")
    assert read.columns[0] == "Unnamed: 0"
    assert _left_out(read) == {"Unnamed: 0": "ID-like: an unnamed first column (a row index "
                                             "written with the table), with a distinct value "
                                             "in 9 of its 9 rows"}


@pytest.mark.parametrize("values", [np.arange(40), np.arange(1, 41),
                                    np.random.default_rng(3).permutation(40)])
def test_the_rows_numbers_are_left_out_whatever_the_name(values):
    reason = _left_out(pd.DataFrame({"n": values}))["n"]
    assert reason.startswith(f"ID-like: its 40 values are the consecutive integers "
                             f"{values.min()}..{values.max()}")
    assert ("in row order" in reason) == bool(np.all(np.diff(values) == 1))


def test_legitimate_features_are_kept():
    """The false-positive side: what a person would train on stays, however distinct."""
    rng = np.random.default_rng(4)
    n = 30
    frame = pd.DataFrame({
        "weight": rng.normal(70, 10, n),                  # a measurement, all distinct
        "year": np.arange(1990, 1990 + n),                # consecutive integers, not row numbers
        "cents": rng.permutation(10_000)[:n] + 100,       # distinct integers
        "count": rng.integers(0, 5, n),                   # repeats
        "store_id": rng.integers(0, 6, n),                # named like an ID, but a group's code
        "valid": rng.choice(["yes", "no"], n),            # contains "id" inside a word
        "paid_amount": rng.normal(size=n),                # a float, whatever the name
        "colour": rng.choice(["red", "green", "blue"], n),
    })
    assert _left_out(frame) == {}
    small = pd.DataFrame({"city": [f"c{i}" for i in range(10)]})  # 10 distinct names, 10 rows
    assert _left_out(small) == {}   # too few rows to call distinct text an ID


def test_keep_id_and_drop_override_the_rules():
    rng = np.random.default_rng(5)
    frame = pd.DataFrame({"id": np.arange(50), "x": rng.normal(size=50), "z": rng.normal(size=50)})
    assert set(_left_out(frame)) == {"id"}
    assert _left_out(frame, keep_id=["id"]) == {}
    assert _left_out(frame, drop=["z"]) == {"id": _left_out(frame)["id"], "z": "named by --drop"}
    with pytest.raises(ValueError, match=r"--drop names 'nope', not a feature column of data"):
        _left_out(frame, drop=["nope"])
    with pytest.raises(ValueError, match=r"--keep-id and --drop both name 'id': choose one"):
        _left_out(frame, keep_id=["id"], drop=["id"])
