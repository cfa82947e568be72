"""docs/new-layer.md keeps its promise: a layer written as one class works everywhere.

The page's code blocks run first, as a reader would run them (extracted from the
markdown, so the page cannot drift from what is tested); the tests then take the
``Swish`` and ``Scale`` classes the page defined and check each thing it says:
training in a Sequential, the ledger, the gradient check, save/load (with the class
named by the loading program), ``mlp()`` by name, the output-range check, and
parameters living in the network's flat buffers.
Last, a layer written as a ``@dataclass`` (which defines ``__eq__``) does all of that too.
"""
import dataclasses
import os

import numpy as np
import pytest

import chainrule as cr

from conftest import DOCS, assert_blas_close, assert_close, run_doc_examples, sums_length


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    """The namespace the page's examples leave behind (run in a temporary folder:
    they save a model file)."""
    here = os.getcwd()
    os.chdir(tmp_path_factory.mktemp("new_layer"))
    try:
        ran, namespace = run_doc_examples(DOCS / "new-layer.md")
    finally:
        os.chdir(here)
    assert len(ran) >= 6     # the classes, using, checking, saving, and the scale's two
    return namespace


@pytest.fixture
def Swish(page):
    return page["Swish"]


@pytest.fixture
def Scale(page):
    return page["Scale"]


def _xor_of_signs(rng, n=64):
    X = rng.normal(size=(n, 2))
    return X, (X[:, 0] * X[:, 1] > 0).astype(float)


def test_swish_computes_its_equations(Swish, rng):
    layer = Swish()
    Z = rng.normal(size=(5, 3)) * 4
    A = layer.forward(Z)
    S = 1 / (1 + np.exp(-Z))
    np.testing.assert_allclose(A, Z * S, rtol=1e-12)
    dA = rng.normal(size=Z.shape)
    kept = dA.copy()
    np.testing.assert_allclose(layer.backward(dA), dA * (S + Z * S * (1 - S)), rtol=1e-12)
    np.testing.assert_array_equal(dA, kept)          # backward never writes into dA


def test_swish_output_range_holds(Swish):
    low, high = Swish.output_range
    A = Swish().forward(np.linspace(-50, 50, 200_001))
    assert low <= A.min() < low + 2e-3 and A.max() <= high   # tight: −0.2785


def test_swish_backward_before_forward_is_a_clear_error(Swish):
    with pytest.raises(RuntimeError, match="Swish.backward was called before forward"):
        Swish().backward(np.ones((1, 2)))


def test_swish_trains_inside_a_sequential(Swish, rng):
    X, y = _xor_of_signs(rng)
    net = cr.Sequential([cr.Dense(2, 8, init="he", seed=0), Swish(),
                         cr.Dense(8, 1, seed=1), cr.Sigmoid()])
    history = net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.Adam(lr=0.05),
                      epochs=100, batch_size=16, seed=0, verbose=0)
    assert history["loss"][-1] < 0.5 * history["loss"][0]
    assert net.predict(X).dtype == np.float32      # float32 stays float32 through Swish


def test_swish_equations_are_in_the_ledger(Swish, rng):
    X, y = _xor_of_signs(rng, n=3)
    net = cr.Sequential([cr.Dense(2, 3, seed=0), Swish(), cr.Dense(3, 1, seed=1)])
    text = str(net.trace(X, y, cr.MSE()))
    assert "layer 1: Swish · forward" in text and "layer 1: Swish · backward" in text
    assert Swish.equations["forward"] in text
    assert Swish.equations["backward"] in text


@pytest.mark.parametrize("before", [False, True], ids=["alone", "after Dense"])
def test_swish_passes_the_gradient_check(Swish, rng, before):
    layers = ([cr.Dense(3, 4, seed=0, dtype=np.float64)] if before else []) + [Swish()]
    X = rng.normal(size=(6, 3)) * 2
    Y = rng.normal(size=(6, 4 if before else 3))
    report = cr.gradient_check(cr.Sequential(layers, dtype=np.float64), cr.MSE(), X, Y)
    assert report.max_relative_error < 1e-7, str(report)


def test_swish_round_trips_through_a_model_file_when_the_program_names_it(Swish, rng, tmp_path):
    X, _ = _xor_of_signs(rng)
    net = cr.Sequential([cr.Dense(2, 5, seed=0), Swish(), cr.Dense(5, 1, seed=1)])
    path = tmp_path / "swish.safetensors"
    net.save(path)
    for load in (lambda: cr.load(path, layers=[Swish]),
                 lambda: cr.load_with_extras(path, layers=[Swish])[0]):
        loaded = load()
        assert type(loaded[1]) is Swish
        np.testing.assert_array_equal(loaded.flat_params, net.flat_params)
        assert_blas_close(loaded.predict(X), net.predict(X), sums_length(net))
    # defined, but not named by the program that loads: the page says it is refused, and how
    with pytest.raises(ValueError, match=r"layer 1 is of class 'Swish', which is none of "
                                         r"chainrule's layers \(BatchNorm, .*Dense, .*\)\. .*"
                                         r"cr\.load\(path, layers=\[Swish\]\)"):
        cr.load(path)


def test_a_network_with_swish_resumes_from_its_checkpoint_with_nothing_more_said(
        Swish, rng, tmp_path):
    X, y = _xor_of_signs(rng, n=16)

    def run(epochs, **resume):
        net = cr.Sequential([cr.Dense(2, 4, seed=0), Swish(), cr.Dense(4, 1, seed=1)])
        net.fit(X, y, loss=cr.MSE(), optimizer=cr.Adam(lr=0.01), epochs=epochs, batch_size=4,
                seed=3, verbose=0, callbacks=[cr.ModelCheckpoint(tmp_path / "ck.safetensors")],
                **resume)
        return net
    run(2)
    resumed = run(4, resume_from=tmp_path / "ck.safetensors")
    np.testing.assert_array_equal(resumed.flat_params, run(4).flat_params)


def test_mlp_finds_swish_by_name(Swish):
    net = cr.mlp([2, 8, 1], hidden="swish", seed=0)
    assert [type(layer) for layer in net.layers] == [cr.Dense, Swish, cr.Dense, cr.Identity]
    assert net[0].init == "he"                     # Swish's init_before


def test_swish_output_range_is_read_by_the_loss_check(Swish, rng):
    X, y = _xor_of_signs(rng, n=8)
    net = cr.Sequential([cr.Dense(2, 1, seed=0), Swish()])
    with pytest.raises(ValueError, match=r"ends with Swish\(\), whose outputs can fall outside"):
        net.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=1, verbose=0)


# -- a layer with a parameter -------------------------------------------------------

def _scaled_problem(rng):
    X = rng.normal(size=(64, 2))
    return X, X @ np.array([2.0, -1.0])


def test_scale_trains_with_its_gradient_in_the_flat_buffer(Scale, rng):
    X, y = _scaled_problem(rng)
    net = cr.Sequential([cr.Dense(2, 2, seed=0), Scale(2), cr.Dense(2, 1, seed=1)])
    scale = net[1]
    assert np.shares_memory(scale.s, net.flat_params)
    assert np.shares_memory(scale.ds, net.flat_grads)
    before = scale.s.copy()
    history = net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), epochs=50,
                      batch_size=None, verbose=0)
    assert history["loss"][-1] < 0.1 * history["loss"][0]
    assert not np.array_equal(scale.s, before)     # the optimizer moved s

    # one more pass: ds, at its place in flat_grads, is Σ_rows dA ⊙ X
    loss = cr.MSE()
    net.forward_backward(X, loss.prepare(y, 1, net.dtype), loss)
    X1 = net[0].forward(X)
    dA = net[2].backward(loss.backward())
    offset = net[0].W.size + net[0].b.size
    np.testing.assert_allclose(net.flat_grads[offset:offset + 2], (dA * X1).sum(axis=0),
                               rtol=1e-5)


def test_scale_passes_the_gradient_check(Scale, rng):
    X, y = _scaled_problem(rng)
    net = cr.Sequential([cr.Dense(2, 3, seed=0), Scale(3), cr.Dense(3, 1, seed=1)])
    net[1].s = [0.5, -1.0, 2.0]
    report = cr.gradient_check(net, cr.MSE(), X[:6], y[:6])
    assert report.max_relative_error < 1e-7, str(report)


def test_scale_round_trips_through_a_model_file(Scale, rng, tmp_path):
    X, y = _scaled_problem(rng)
    net = cr.Sequential([Scale(2), cr.Dense(2, 1, seed=0)])
    net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.1), epochs=5, batch_size=None,
            verbose=0)
    net.save(tmp_path / "scale.safetensors")
    loaded = cr.load(tmp_path / "scale.safetensors", layers=[Scale])
    assert type(loaded[0]) is Scale and loaded[0].n_in == 2
    np.testing.assert_array_equal(loaded[0].s, net[0].s)
    assert_blas_close(loaded.predict(X), net.predict(X), sums_length(net))


def test_scale_may_write_its_gradient_in_place(Scale, rng):
    """The page's other way: ``np.sum(..., out=self.ds)`` gives the same gradients."""

    class ScaleInPlace(Scale):
        def backward(self, dA):
            X = self._cached("X")
            np.sum(dA * X, axis=0, out=self.ds)
            return dA * self.s

    X, y = _scaled_problem(rng)
    grads = []
    for cls in (Scale, ScaleInPlace):
        net = cr.Sequential([cr.Dense(2, 2, seed=0), cls(2), cr.Dense(2, 1, seed=1)])
        loss = cr.MSE()
        net.forward_backward(X, loss.prepare(y, 1, net.dtype), loss)
        grads.append(net.flat_grads.copy())
    assert_blas_close(grads[1], grads[0], len(X) + sums_length(net))  # dW sums over the rows


# -- a layer written as a @dataclass ------------------------------------------------

@dataclasses.dataclass
class DataclassScale(cr.nn.Layer):
    """``A = X ⊙ s`` per feature, with an optional ``l2·Σ s²`` penalty, written as a
    ``@dataclass``: its generated ``__eq__`` compares fields, so two layers of one size are
    equal, and it sets ``__hash__`` to None."""

    n_in: int
    l2: float = 0.0
    params = ("s",)
    equations = {"forward": "A = X ⊙ s", "backward": "ds = Σ_rows dA ⊙ X;  dX = dA ⊙ s"}

    def __post_init__(self):
        self.s = np.linspace(0.5, 1.5, self.n_in)
        self.ds = np.zeros(self.n_in)

    def forward(self, X):
        self.X = X
        return X * self.s

    def backward(self, dA):
        self.ds = (dA * self._cached("X")).sum(axis=0)
        return dA * self.s

    @property
    def penalized(self):
        return self.l2 > 0

    def penalty(self):
        return self.l2 * float(np.sum(self.s ** 2))

    def inplace_add_penalty_gradients(self):
        self.ds += 2 * self.l2 * self.s

    def config(self):
        return {"n_in": self.n_in, "l2": self.l2}


@dataclasses.dataclass(unsafe_hash=True)
class HashedScale(DataclassScale):
    """The same, hashable by its fields: equal layers hash alike."""


def _two_equal_scales(cls, rng):
    X, y = _scaled_problem(rng)
    net = cr.Sequential([cls(2, l2=0.01), cr.Dense(2, 2, seed=0), cls(2, l2=0.01),
                         cr.Dense(2, 1, seed=1)], dtype=np.float64)
    assert net[0] == net[2] and net[0] is not net[2]
    return net, X, y


def test_a_dataclass_layer_works_everywhere(rng, tmp_path):
    """Layers are told apart by identity: a @dataclass layer (unhashable, and equal to
    another of its size) used to fail in Sequential with a bare "unhashable type"."""
    net, X, y = _two_equal_scales(DataclassScale, rng)
    assert np.shares_memory(net[0].s, net.flat_params)
    assert not np.shares_memory(net[0].s, net[2].s)
    before = net.flat_params.copy()
    history = net.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), epochs=20,
                      batch_size=16, seed=0, verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    assert not np.array_equal(net[0].s, before[:2])

    ledger = net.trace(X[:4], y[:4], cr.MSE())
    penalties = [s for s in ledger.steps if "penalty" in s.note]
    assert [s.index for s in penalties] == [0, 2]   # each equal layer at its own place
    assert penalties[0].equation == "ds += ∂penalty/∂s" and "ds" in penalties[0].values
    assert "这一层自己的正则项也是损失的一部分" in ledger.to_text(lang="zh")
    assert ledger.get(2, "forward").layer is net[2]

    report = cr.gradient_check(net, cr.MSE(), X[:6], y[:6])
    assert report.max_relative_error < 1e-7, str(report)

    net.save(tmp_path / "scale.safetensors")
    loaded = cr.load(tmp_path / "scale.safetensors", layers=[DataclassScale])
    assert type(loaded[2]) is DataclassScale and loaded[2] == net[2]
    assert_close(loaded[2].s, net[2].s, 0.0, "s")       # stored and read back, not computed
    assert_close(loaded.predict(X), net.predict(X), 1e-12, "predictions")


def test_a_network_of_equal_layers_does_not_take_over_another(rng):
    """With unsafe_hash=True, building a second network from equal but separate layers
    used to mark the first network's layers "now belong to a newer Sequential"."""
    first, X, y = _two_equal_scales(HashedScale, rng)
    second, _, _ = _two_equal_scales(HashedScale, rng)
    assert first[0] == second[0] and hash(first[0]) == hash(second[0])
    kept = second.flat_params.copy()
    first.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), epochs=3, batch_size=16,
              seed=0, verbose=0)
    assert all(np.shares_memory(value, first.flat_params) for _, value, _ in first.parameters())
    np.testing.assert_array_equal(second.flat_params, kept)   # untouched: nothing computed
    second.fit(X, y, loss=cr.MSE(), optimizer=cr.SGD(lr=0.05), epochs=3, batch_size=16,
               seed=0, verbose=0)
    assert_close(second.flat_params, first.flat_params, 1e-12, "the same run, twice")
