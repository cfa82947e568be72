"""chainrule train --ensemble K and --time-limit: members averaged, saved in one model file,
read back by predict and info; the time budget; hostile ensemble records."""
import numpy as np
import pytest

from chainrule import io
from chainrule.cli import main
from chainrule.tabular.ensemble import Budget, Ensemble, TimeLimit, read_members

pd = pytest.importorskip("pandas")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")


def run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture(scope="module")
def table(tmp_path_factory):
    """Three classes from two numbers and a text column, 300 rows."""
    rng = np.random.default_rng(0)
    n = 300
    a, b = rng.normal(size=n), rng.normal(size=n)
    shop = rng.choice(["x", "y", "z"], n)
    kind = np.where(a + (shop == "x") > 0.5, "high", np.where(b > 0, "mid", "low"))
    path = tmp_path_factory.mktemp("data") / "kinds.csv"
    pd.DataFrame({"a": a, "b": b, "shop": shop, "kind": kind,
                  "price": np.exp(1 + a + 0.3 * b)}).to_csv(path, index=False)
    return path


def _train(table, out, target, *more):
    from chainrule.tabular.read import read_table
    from chainrule.tabular.recipe import Settings, train_table
    options = {"hidden": (8,), "epochs": 30, "seed": 3, **dict(more)}
    frame = read_table(str(table)).drop(columns=["price" if target == "kind" else "kind"])
    ensemble, metadata, report = train_table(frame, target, str(table), Settings(**options),
                                             warn=lambda text: None)
    ensemble.save(out, metadata=metadata)
    return ensemble, metadata, report, frame.drop(columns=[target])


@pytest.mark.parametrize("target", ["kind", "price"])
def test_an_ensemble_predicts_the_same_after_save_and_load(table, tmp_path, capsys, target):
    from chainrule.tabular.commands import _load_tabular
    from chainrule.tabular.recipe import predict_table
    out = tmp_path / "m.safetensors"
    ensemble, metadata, report, features = _train(table, out, target, ("ensemble", 3))
    assert len(ensemble) == 3 and [m["seed"] for m in report["members"]] == [3, 4, 5]
    _, _, extras = io.load_with_extras(out)
    assert sorted(extras) == ["ensemble.1", "ensemble.2"]
    saved, tab, prep = _load_tabular(out)
    assert len(saved.networks) == 3 and tab["ensemble"]["members"] == 3
    X = prep.transform(features)
    if target == "kind":
        before, after = ensemble.predict_proba(X), saved.predict_proba(X)
        # the members differ (else the test could not tell one network from their average)
        members = [m.predict_proba(X) for m in ensemble.members]
        assert np.abs(members[0] - members[1]).max() > 1e-3
        np.testing.assert_allclose(after, before, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(after, np.mean(members, axis=0), rtol=1e-5, atol=1e-6)
        assert list(saved.predict(X)) == list(ensemble.predict(X))
    else:
        transform = metadata["tabular"]["target_transform"]
        assert transform["kind"] == "log"
        y_saved = predict_table(saved, tab, prep, features, "t")[0]
        y_before = predict_table(ensemble, tab, prep, features, "t")[0]
        np.testing.assert_allclose(y_saved, y_before, rtol=1e-5)
    # the command line reads it too, and info names the members
    code, text, err = run(capsys, "predict", out, table)
    assert code == 0 and err == "" and len(text.splitlines()) == 301
    code, text, _ = run(capsys, "info", out)
    assert code == 0 and "an ensemble of 3" in text and "members:    3" in text
    assert "#2: seed 5" in text


def test_one_member_writes_the_file_of_a_single_network(table, tmp_path):
    out = tmp_path / "one.safetensors"
    _, metadata, _, _ = _train(table, out, "kind")
    _, _, extras = io.load_with_extras(out)
    assert extras == {} and "ensemble" not in metadata["tabular"]


def test_member_zero_is_the_network_of_a_single_run(table, tmp_path):
    from chainrule.sklearn import load
    one, _, _, features = _train(table, tmp_path / "1.safetensors", "kind")
    three, _, _, _ = _train(table, tmp_path / "3.safetensors", "kind", ("ensemble", 3))
    first = load(tmp_path / "3.safetensors")   # a reader of one network gets member 0
    np.testing.assert_array_equal(first.network_.flat_params, one.first.network_.flat_params)
    np.testing.assert_array_equal(three.first.network_.flat_params,
                                  one.first.network_.flat_params)


def test_a_time_limit_with_refit_says_the_refits_weights_are_kept(table, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    code, text, err = run(capsys, "train", table, "--target", "kind", "--drop", "price", "--quiet",
                          "--hidden", "8", "--time-limit", "1e-6", "--refit", "--out", out)
    assert code == 0, err
    rows = io.load_with_extras(out)[1]["tabular"]["training"]["rows"]
    assert f"stopped the first network at epoch 1 (then refit on all {rows} rows for 1 epochs, " \
           "whose weights are kept)" in err
    assert "best epoch's weights kept" not in err


def test_a_tiny_time_limit_trains_fewer_members_and_says_so(table, tmp_path, capsys):
    out = tmp_path / "m.safetensors"
    code, text, err = run(capsys, "train", table, "--target", "kind", "--drop", "price", "--quiet",
                          "--hidden", "8", "--ensemble", "10", "--time-limit", "1e-6",
                          "--out", out)
    assert code == 0, err
    assert "--time-limit 1e-06 s allowed 1 of the 10 networks --ensemble asked for" in err
    assert "stopped the first network at epoch 1 (its best epoch's weights kept)" in err
    assert "try more --epochs" not in text + err     # --epochs did not stop it, the limit did
    tab = io.load_with_extras(out)[1]["tabular"]
    assert tab["ensemble"]["members"] == 1 and tab["ensemble"]["asked"] == 10
    assert tab["ensemble"]["time_limit"] == 1e-6
    assert tab["ensemble"]["records"][0]["stopped_by_time"] is True
    assert tab["ensemble"]["records"][0]["epochs_run"] == 1
    code, text, _ = run(capsys, "info", out)
    assert "members:    1 of the 10 asked for, within --time-limit 1e-06 s" in text


def test_the_budget_starts_a_member_only_if_the_time_left_pays_for_it():
    now = [100.0]
    budget = Budget(10.0, clock=lambda: now[0])
    assert budget.deadline == 110.0
    now[0] = 104.0  # 6 s left
    assert budget.another([2.0, 4.0])          # the members took 3 s on average
    assert not budget.another([5.0, 9.0])      # 7 s on average: not started
    now[0] = 111.0
    assert budget.left() < 0 and not budget.another([0.5])
    assert Budget(None).another([1e9]) and Budget(None).callback().deadline is None


def test_the_time_limit_stops_within_an_epoch_and_the_epoch_still_ends():
    # one epoch of a large table can outlast the limit: it is checked after every batch
    import chainrule as cr
    ticks = iter(range(1000))                  # the clock moves one second per reading
    limit = TimeLimit(deadline=3, clock=lambda: next(ticks))
    seen = []

    class Count(cr.Callback):
        def on_batch_end(self, batch, logs):
            seen.append(("batch", batch))

        def on_epoch_end(self, epoch, logs):
            seen.append(("epoch", epoch))

    rng = np.random.default_rng(0)
    X, y = rng.normal(size=(64, 3)).astype(np.float32), rng.integers(0, 2, 64)
    net = cr.mlp([3, 4, 2], output="softmax", seed=0)
    history = net.fit(X, y, loss=cr.CrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=5,
                      batch_size=8, verbose=0, callbacks=[limit, Count()])
    assert limit.hit
    # readings 0, 1, 2 are before the deadline, 3 is at it: four batches of eight, then the
    # epoch's end (its logs, the callbacks' on_epoch_end), and no further epoch
    assert seen == [("batch", 0), ("batch", 1), ("batch", 2), ("batch", 3), ("epoch", 0)]
    assert len(history["loss"]) == 1


@pytest.mark.parametrize("argv, words", [
    (["--ensemble", "0"], "--ensemble must be in [1, 64], got 0"),
    (["--ensemble", "-2"], "--ensemble must be in [1, 64], got -2"),
    (["--ensemble", "65"], "--ensemble must be in [1, 64], got 65"),
    (["--time-limit", "0"], "--time-limit must be > 0, got 0.0"),
    (["--time-limit", "-3"], "--time-limit must be > 0, got -3.0"),
    (["--time-limit", "nan"], "--time-limit must be a finite number > 0, got nan"),
    (["--time-limit", "inf"], "--time-limit must be a finite number > 0, got inf"),
])
def test_invalid_ensemble_settings_are_refused_by_name(table, tmp_path, capsys, argv, words):
    code, out, err = run(capsys, "train", table, "--target", "kind", "--quiet",
                         "--out", tmp_path / "m.safetensors", *argv)
    assert code == 1 and out == "" and words in err, err
    assert not (tmp_path / "m.safetensors").exists()


@pytest.fixture(scope="module")
def ensemble_file(table, tmp_path_factory):
    out = tmp_path_factory.mktemp("model") / "three.safetensors"
    _train(table, out, "kind", ("ensemble", 3))
    return out


@pytest.mark.parametrize("change, words", [
    (lambda tab, ex: ex.pop("ensemble.2"), "names the tensor 'ensemble.2', which the file does not hold"),
    (lambda tab, ex: ex.update({"ensemble.1": ex["ensemble.1"][:-1]}), "must be 1-D with"),
    (lambda tab, ex: ex.update({"ensemble.1": ex["ensemble.1"].astype(np.float64)}),
     "must be 1-D with"),
    (lambda tab, ex: ex.update({"ensemble.1": ex["ensemble.1"].reshape(1, -1)}), "must be 1-D with"),
    (lambda tab, ex: tab.update(ensemble=["ensemble.1"]), "must list its members' tensors"),
    (lambda tab, ex: tab["ensemble"].update(tensors="ensemble.1"), "must list its members' tensors"),
    (lambda tab, ex: tab["ensemble"].update(tensors=["ensemble.1", "ensemble.1"]),
     "must list its members' tensors by distinct names"),
])
@pytest.mark.parametrize("command", ["predict", "info"])
def test_hostile_ensemble_records_give_a_clean_error(ensemble_file, table, tmp_path, capsys,
                                                     change, words, command):
    net, user, extras = io.load_with_extras(ensemble_file)
    change(user["tabular"], extras)
    path = tmp_path / "bad.safetensors"
    io.save(net, path, metadata=user, extra_tensors=extras)
    code, out, err = run(capsys, command, path, *([table] if command == "predict" else []))
    assert code == 1 and out == "" and words in err, err
    assert "Traceback" not in err


def test_read_members_copies_the_network_per_member():
    import chainrule as cr
    net = cr.mlp([2, 3, 1], seed=0)
    other = np.arange(net.flat_params.size, dtype=net.dtype)
    members = read_members(net, {"tensors": ["w"]}, {"w": other}, "f")
    assert members[0] is net and members[1] is not net
    np.testing.assert_array_equal(members[1].flat_params, other)
    assert not np.array_equal(net.flat_params, other)
    assert read_members(net, None, {}, "f") == [net]
    with pytest.raises(ValueError, match="at least one member"):
        Ensemble([])
