"""Issue 24's training rows: the hidden activation (--activation) and RealMLP's data-dependent
initialisation (--init data, chainrule.sklearn.base.data_init)."""
import json

import numpy as np
import pytest

pytest.importorskip("sklearn")
pytestmark = pytest.mark.filterwarnings("ignore::sklearn.exceptions.ConvergenceWarning")

from chainrule import GELU, Dense, Tanh
from chainrule.sklearn import MLPClassifier, MLPRegressor
from chainrule.sklearn.base import data_init
from chainrule.sklearn.io import load_estimator


def table(n=300, seed=0):
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(n, 5)) * [1, 10, 0.1, 3, 1] + [0, 50, -2, 0, 5]   # unscaled on purpose
    y = X[:, 0] + 0.1 * X[:, 1] - X[:, 3] + rng.normal(scale=0.1, size=n)
    return X, y


def pre_activations(net, X):
    """Each hidden Dense layer's Z on X, float64."""
    out, A = [], X
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    with net.evaluating():
        for layer in net.layers:
            A = layer.forward(A)
            if isinstance(layer, Dense) and layer is not dense[-1]:
                out.append(A.astype(np.float64))
    return out


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_data_init_gives_every_hidden_unit_unit_spread_and_a_bend_inside_the_data(dtype):
    from chainrule.network.sequential import mlp
    X, _ = table()
    net = mlp([5, 32, 16, 1], hidden="relu", seed=0, dtype=dtype)
    before = [layer.W.copy() for layer in net.layers if isinstance(layer, Dense)]
    Xd = X.astype(dtype)
    raw = pre_activations(net, Xd)
    assert max(abs(Z.std(axis=0) - 1).max() for Z in raw) > 0.5      # not so before
    data_init(net, Xd, np.random.default_rng(1))
    for Z in pre_activations(net, Xd):
        np.testing.assert_allclose(Z.std(axis=0), 1.0, rtol=1e-3)
        assert np.all(Z.min(axis=0) < 0) and np.all(Z.max(axis=0) > 0)  # every unit bends in the data
    after = [layer.W for layer in net.layers if isinstance(layer, Dense)]
    np.testing.assert_array_equal(after[-1], before[-1])              # the output layer is kept
    assert not np.array_equal(after[0], before[0])


def test_data_init_uses_a_sample_of_a_large_table_and_is_seeded():
    from chainrule.network.sequential import mlp
    X, _ = table(n=5000)
    nets = [mlp([5, 8, 1], hidden="relu", seed=0, dtype=np.float64) for _ in range(3)]
    for net, seed in zip(nets, [3, 3, 4]):
        data_init(net, X, np.random.default_rng(seed), rows=256)
    W = [net.layers[0].W for net in nets]
    np.testing.assert_array_equal(W[0], W[1])
    assert not np.array_equal(W[0], W[2])


def test_the_estimators_init_data_trains_better_from_unscaled_columns_than_it_starts():
    X, y = table()
    est = MLPRegressor(hidden_layer_sizes=(32,), init="data", max_iter=50, random_state=0).fit(X, y)
    assert est.loss_curve_[-1] < est.loss_curve_[0]
    with pytest.raises(ValueError, match=r"init must be one of \('glorot', 'data'\), got 'he'"):
        MLPRegressor(init="he").fit(X, y)


def test_gelu_and_tanh_estimators_build_those_layers_and_their_files_load(tmp_path):
    X, y = table()
    labels = (y > np.median(y)).astype(int)
    for activation, layer in (("gelu", GELU), ("tanh", Tanh)):
        est = MLPClassifier(hidden_layer_sizes=(8, 4), activation=activation, max_iter=3,
                            random_state=0).fit(X, labels)
        assert [type(a) for a in est.network_.layers[1:4:2]] == [layer, layer]
        est.save(tmp_path / f"{activation}.safetensors")
        back = load_estimator(tmp_path / f"{activation}.safetensors")
        np.testing.assert_array_equal(back.predict_proba(X), est.predict_proba(X))


def test_a_file_leaves_later_parameters_out_at_their_defaults_so_the_chainrule_before_reads_it(tmp_path):
    from safetensors import safe_open
    X, y = table()
    for init in ("glorot", "data"):
        path = tmp_path / f"{init}.safetensors"
        MLPRegressor(hidden_layer_sizes=(4,), init=init, max_iter=2, random_state=0).fit(X, y).save(path)
        with safe_open(str(path), "np") as f:
            params = json.loads(f.metadata()["user"])["estimator"]["params"]
        assert ("init" in params) == (init == "data")
        assert "embedded_categories" not in params and "embedding_width" not in params
        assert load_estimator(path).init == init


def test_train_takes_activation_and_init_and_info_and_predict_read_the_file(tmp_path, capsys):
    pd = pytest.importorskip("pandas")
    from chainrule.cli import main
    X, y = table(n=200)
    frame = pd.DataFrame(X, columns=list("abcde")).assign(y=y)
    frame.to_csv(tmp_path / "t.csv", index=False)
    model = tmp_path / "m.safetensors"
    assert main(["train", str(tmp_path / "t.csv"), "--target", "y", "--hidden", "8", "--epochs", "5",
                 "--quiet", "--activation", "gelu", "--init", "data", "--out", str(model)]) == 0
    capsys.readouterr()
    assert main(["info", str(model)]) == 0
    info = capsys.readouterr().out
    assert "initialised from the data" in info and "GELU()" in info
    assert main(["predict", str(model), str(tmp_path / "t.csv")]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 201
    with pytest.raises(SystemExit):
        main(["train", str(tmp_path / "t.csv"), "--target", "y", "--init", "xavier", "--out",
              str(model)])
    assert "invalid choice: 'xavier'" in capsys.readouterr().err


def test_settings_refuse_an_unknown_activation_or_init():
    from chainrule.tabular.settings import Settings
    with pytest.raises(ValueError, match="--activation must be one of relu, gelu, tanh, got 'elu'"):
        Settings(activation="elu")
    with pytest.raises(ValueError, match="--init must be one of glorot, data, got 'he'"):
        Settings(init="he")


def test_an_estimator_pickled_before_the_later_parameters_saves_clones_and_prints(tmp_path):
    """Pickles from before init, embedded_categories and embedding_width (and, for the
    classifier, label_smoothing and periodic_columns) lack those attributes."""
    import pickle

    from sklearn.base import clone
    X, y = table()
    labels = (y > np.median(y)).astype(int)
    for est in (MLPRegressor(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, y),
                MLPClassifier(hidden_layer_sizes=(4,), max_iter=2, random_state=0).fit(X, labels)):
        state = est.__getstate__()
        for name in ("init", "embedded_categories", "embedding_width", "label_smoothing",
                     "periodic_columns"):
            state.pop(name, None)
        old = type(est).__new__(type(est))
        old.__setstate__(state)
        old = pickle.loads(pickle.dumps(old))
        assert "MLP" in repr(old) and clone(old).get_params()["init"] == "glorot"
        old.save(tmp_path / "old.safetensors")
        np.testing.assert_array_equal(load_estimator(tmp_path / "old.safetensors").predict(X),
                                      est.predict(X))


def test_init_data_sets_the_network_fit_trains_from():
    """A tiny learning rate leaves the first weights where data_init put them: unit spread
    on the training rows (the whole table: fewer than data_init's 1,024-row sample)."""
    X, y = table()
    kept = dict(hidden_layer_sizes=(16,), max_iter=1, learning_rate_init=1e-12, random_state=0,
                dtype=np.float64)
    for init, spread in (("data", True), ("glorot", False)):
        est = MLPRegressor(init=init, **kept).fit(X, y)
        (Z,) = pre_activations(est.network_, X)
        assert np.allclose(Z.std(axis=0), 1.0, rtol=1e-6) is spread
