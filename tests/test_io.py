"""Model files: save → load round trips, and hostile files that must give ValueError."""
import json
import os
import pickle
import re
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule.files import model as crio

from conftest import assert_blas_close, raw_model_file, sums_length


def _net(dtype=np.float32):
    return cr.Sequential([cr.Dense(4, 6, seed=1, dtype=dtype), cr.LeakyReLU(0.2),
                          cr.Dense(6, 5, seed=2, dtype=dtype), cr.Tanh(),
                          cr.Dense(5, 3, seed=3, dtype=dtype), cr.Softmax()])


def _raw(header, data=b""):
    """A safetensors byte string from a header dict and the data bytes."""
    text = json.dumps(header).encode()
    return struct.pack("<Q", len(text)) + text + data


def _write(tmp_path, raw, name="model.safetensors"):
    path = tmp_path / name
    path.write_bytes(raw)
    return path


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_round_trip_gives_identical_predictions(tmp_path, dtype):
    net = _net(dtype)
    X = np.random.default_rng(0).standard_normal((7, 4))
    path = tmp_path / "m.safetensors"
    net.save(path)
    loaded = cr.load(path)
    assert loaded.dtype == np.dtype(dtype)
    assert [type(a) for a in loaded.layers] == [type(b) for b in net.layers]
    assert loaded.layers[1].alpha == 0.2
    np.testing.assert_array_equal(loaded.flat_params, net.flat_params)
    assert_blas_close(loaded.predict(X), net.predict(X), sums_length(net))
    assert os.listdir(tmp_path) == ["m.safetensors"]  # no temporary file left behind


def test_loaded_network_trains_on(tmp_path):
    net = cr.mlp([3, 4, 1], hidden="sigmoid", output="sigmoid", seed=0)
    net.save(tmp_path / "m.safetensors")
    loaded = cr.load(tmp_path / "m.safetensors")
    X = np.random.default_rng(1).standard_normal((8, 3))
    y = (X[:, 0] > 0).astype(int)
    loaded.fit(X, y, loss=cr.BinaryCrossEntropy(), optimizer=cr.SGD(lr=0.1), epochs=2, verbose=0)
    assert not np.array_equal(loaded.flat_params, net.flat_params)


def test_metadata_and_extra_tensors_round_trip(tmp_path):
    net = _net()
    path = tmp_path / "m.safetensors"
    meta = {"classes": ["cat", "dog", "eel"], "scaling": {"kind": "standard"}}
    extra = {"mean": np.arange(4.0), "counts": np.array([1, 2, 3], np.int64)}
    cr.save(net, path, metadata=meta, extra_tensors=extra)
    loaded, meta2, extra2 = cr.load_with_extras(path)
    assert meta2 == meta
    assert sorted(extra2) == ["counts", "mean"]
    np.testing.assert_array_equal(extra2["mean"], extra["mean"])
    assert extra2["counts"].dtype == np.int64
    np.testing.assert_array_equal(loaded.flat_params, net.flat_params)


def test_the_file_is_plain_safetensors_with_readable_metadata(tmp_path):
    from safetensors import safe_open
    path = tmp_path / "m.safetensors"
    _net().save(path)
    with safe_open(str(path), framework="numpy") as f:
        meta = f.metadata()
        keys = set(f.keys())
    assert meta["format"] == "chainrule" and meta["chainrule_version"] == cr.__version__
    assert meta["dtype"] == "float32"
    assert [e["class"] for e in json.loads(meta["architecture"])][:2] == ["Dense", "LeakyReLU"]
    assert keys == {"layers.0.W", "layers.0.b", "layers.2.W", "layers.2.b",
                    "layers.4.W", "layers.4.b"}


def test_save_rejects_bad_metadata_and_keeps_the_old_file(tmp_path):
    path = tmp_path / "m.safetensors"
    _net().save(path)
    before = path.read_bytes()
    with pytest.raises(TypeError, match="JSON"):
        cr.save(_net(), path, metadata={"f": object()})
    with pytest.raises(TypeError, match="numeric"):
        cr.save(_net(), path, extra_tensors={"s": np.array(["a"])})
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["m.safetensors"]


def test_failed_write_leaves_old_file_and_no_temporary(tmp_path):
    path = tmp_path / "m.bin"
    crio.write_atomic(path, b"old")
    with pytest.raises(TypeError):
        crio.write_atomic(path, 12345)  # not bytes: fails after the temporary file exists
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["m.bin"]


# -- hostile and broken files ---------------------------------------------------

def _valid_bytes(tmp_path):
    path = tmp_path / "ok.safetensors"
    _net().save(path)
    return path.read_bytes()


@pytest.mark.parametrize("cut", [0, 5, 8, 20, -1, -100])
def test_truncated_file(tmp_path, cut):
    raw = _valid_bytes(tmp_path)
    path = _write(tmp_path, raw[:cut])
    with pytest.raises(ValueError, match="truncated|too short|not JSON"):
        cr.load(path)


def test_header_claiming_more_than_the_file_holds(tmp_path):
    raw = _valid_bytes(tmp_path)
    (n,) = struct.unpack("<Q", raw[:8])
    path = _write(tmp_path, struct.pack("<Q", n + 1000) + raw[8:])
    with pytest.raises(ValueError, match=rf"header claims {n + 1000} bytes"):
        cr.load(path)


def test_tensor_claiming_more_data_than_the_file_holds(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [4], "data_offsets": [0, 16]}}
    with pytest.raises(ValueError, match="ends at byte 16 of the data, which holds only 8"):
        cr.load(_write(tmp_path, _raw(header, b"\0" * 8)))


def test_overlapping_offsets(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
              "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}
    with pytest.raises(ValueError, match="overlaps"):
        cr.load(_write(tmp_path, _raw(header, b"\0" * 12)))


def test_offsets_disagreeing_with_shape(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}
    with pytest.raises(ValueError, match="needs 12 bytes"):
        cr.load(_write(tmp_path, _raw(header, b"\0" * 8)))


def test_gap_in_the_data(tmp_path):
    header = {"a": {"dtype": "F32", "shape": [1], "data_offsets": [4, 8]}}
    with pytest.raises(ValueError, match="unaccounted bytes"):
        cr.load(_write(tmp_path, _raw(header, b"\0" * 8)))


class _Payload:
    """Unpickling this would create a marker file: it must never happen."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_pickle_renamed_safetensors_runs_no_code(tmp_path):
    marker = tmp_path / "pwned"
    path = tmp_path / "model.safetensors"
    path.write_bytes(pickle.dumps(_Payload(str(marker)), protocol=4))
    with pytest.raises(ValueError, match="not a safetensors file"):
        cr.load(path)
    assert not marker.exists()


@pytest.mark.parametrize("content", [b"hello, this is a text file\n" * 3,
                                     b"\x89PNG\r\n\x1a\n" + b"\0" * 40,
                                     struct.pack("<Q", 4) + b"\xff\xfe{}"])
def test_files_of_other_kinds(tmp_path, content):
    with pytest.raises(ValueError, match="not a safetensors file"):
        cr.load(_write(tmp_path, content))


def test_safetensors_file_from_elsewhere(tmp_path):
    from safetensors.numpy import save_file
    path = tmp_path / "other.safetensors"
    save_file({"weight": np.zeros((2, 2), np.float32)}, str(path))
    with pytest.raises(ValueError, match="not a chainrule model"):
        cr.load(path)


def test_unknown_layer_name_is_never_imported(tmp_path):
    arch = [{"class": "os.system", "config": {"command": "touch pwned"}}]
    with pytest.raises(ValueError, match=r"class 'os.system', which is none of chainrule's layers"):
        cr.load(_write(tmp_path, raw_model_file(arch, {})))


def test_shapes_that_do_not_match_the_architecture(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 3, "n_out": 2}}]
    tensors = {"layers.0.W": np.zeros((2, 3), np.float32), "layers.0.b": np.zeros(2, np.float32)}
    with pytest.raises(ValueError, match=r"'layers.0.W' has shape \(2, 3\).*needs \(3, 2\)"):
        cr.load(_write(tmp_path, raw_model_file(arch, tensors)))


def test_missing_and_leftover_tensors(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 3, "n_out": 2}}]
    with pytest.raises(ValueError, match="'layers.0.b' of layer 0 .* is missing"):
        cr.load(_write(tmp_path, raw_model_file(arch, {"layers.0.W": np.zeros((3, 2), np.float32)})))
    tensors = {"layers.0.W": np.zeros((3, 2), np.float32), "layers.0.b": np.zeros(2, np.float32),
               "layers.1.W": np.zeros(1, np.float32)}
    with pytest.raises(ValueError, match="belong to no layer"):
        cr.load(_write(tmp_path, raw_model_file(arch, tensors)))


def test_huge_sizes_in_the_architecture_do_not_allocate(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 10**12, "n_out": 10**12}}]
    with pytest.raises(ValueError, match="n_in=1000000000000, more than the 0 numbers"):
        cr.load(_write(tmp_path, raw_model_file(arch, {})))


def test_layers_that_do_not_fit_together(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 2, "n_out": 3}},
            {"class": "Dense", "config": {"n_in": 4, "n_out": 1}}]
    tensors = {"layers.0.W": np.zeros((2, 3), np.float32), "layers.0.b": np.zeros(3, np.float32),
               "layers.1.W": np.zeros((4, 1), np.float32), "layers.1.b": np.zeros(1, np.float32)}
    with pytest.raises(ValueError, match="do not fit together.*expects 4 input features"):
        cr.load(_write(tmp_path, raw_model_file(arch, tensors)))


@pytest.mark.parametrize("arch, words", [
    ({"not": "a list"}, "non-empty list"),
    ([["Dense"]], "architecture entry 0"),
    ([{"class": "ReLU", "config": {"bogus": 1}}], r"cannot be rebuilt as ReLU"),
    ([{"class": "LeakyReLU", "config": {"alpha": -1}}], "alpha must be"),
])
def test_malformed_architecture(tmp_path, arch, words):
    with pytest.raises(ValueError, match=words):
        cr.load(_write(tmp_path, raw_model_file(arch, {})))


@pytest.mark.parametrize("overrides, words", [
    ({"architecture": "[{not json"}, "'architecture' metadata is not valid JSON"),
    ({"dtype": "int8"}, "dtype 'int8'"),
    ({"format_version": "99"}, "format 99"),
    ({"format_version": "x"}, "not a number"),
    ({"user": "[1]"}, "user metadata must be a JSON object"),
])
def test_malformed_metadata(tmp_path, overrides, words):
    arch = [{"class": "ReLU", "config": {}}]
    with pytest.raises(ValueError, match=words):
        cr.load(_write(tmp_path, raw_model_file(arch, {}, overrides)))


def test_wrong_tensor_dtype(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 1, "n_out": 1}}]
    tensors = {"layers.0.W": np.zeros((1, 1), np.float64), "layers.0.b": np.zeros(1, np.float32)}
    with pytest.raises(ValueError, match="is float64, the model is float32"):
        cr.load(_write(tmp_path, raw_model_file(arch, tensors)))


def test_nonfinite_weights(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 1, "n_out": 2}}]
    tensors = {"layers.0.W": np.array([[0.5, np.nan]], np.float32),
               "layers.0.b": np.zeros(2, np.float32)}
    with pytest.raises(ValueError, match="'layers.0.W' holds NaN or infinite values"):
        cr.load(_write(tmp_path, raw_model_file(arch, tensors)))


def test_a_layer_class_the_program_names_round_trips(tmp_path):
    class Doubler(cr.Identity):
        def forward(self, Z):
            return 2 * Z
    net = cr.Sequential([cr.Dense(2, 2, seed=0), Doubler()])
    net.save(tmp_path / "m.safetensors")
    X = np.ones((1, 2))
    loaded = cr.load(tmp_path / "m.safetensors", layers=[Doubler])
    assert type(loaded.layers[1]) is Doubler
    assert_blas_close(loaded.predict(X), net.predict(X), sums_length(net))
    with pytest.raises(ValueError, match=r"class 'Doubler', which is none of chainrule's layers"
                                         r".*cr.load\(path, layers=\[Doubler\]\)"):
        cr.load(tmp_path / "m.safetensors")      # defined here, but not named: not built


def test_a_user_class_named_like_one_of_chainrules_is_refused_before_writing(tmp_path):
    class Dense(cr.Dense):   # a file naming "Dense" always loads as chainrule's Dense
        pass
    with pytest.raises(ValueError, match=r"loads as chainrule's own: give the class a name"):
        cr.Sequential([Dense(2, 2)]).save(tmp_path / "m.safetensors")
    assert os.listdir(tmp_path) == []


def test_two_classes_of_one_name_in_a_network_are_refused_before_writing(tmp_path):
    def make():
        class Twin(cr.Identity):
            def forward(self, Z):
                return Z
        return Twin
    with pytest.raises(ValueError, match=r"loads as another class of that name"):
        cr.Sequential([cr.Dense(2, 2), make()(), make()()]).save(tmp_path / "m.safetensors")
    assert os.listdir(tmp_path) == []


# -- loading costs what the file holds (issue 15) ------------------------------------

def _peak_bytes(function):
    """``(result or exception, peak bytes allocated)`` while ``function()`` runs."""
    import tracemalloc
    tracemalloc.start()
    try:
        try:
            result = function()
        except Exception as error:
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sizes_whose_product_exceeds_the_file_are_refused_before_allocating(tmp_path):
    # 12 KB: each size (12 000) is within the 12 000 stored numbers, their product
    # is not; Dense drew all 144 million weights (2.3 GB) before this was checked.
    arch = [{"class": "Dense", "config": {"n_in": 12_000, "n_out": 12_000}}]
    path = _write(tmp_path, raw_model_file(arch, {"extra.pad": np.zeros(12_000, np.uint8)}))
    assert path.stat().st_size < 13_000
    error, peak = _peak_bytes(lambda: cr.load(path))
    assert isinstance(error, ValueError)
    assert "sizes n_in=12000, n_out=12000 whose product 144000000 is more than the 12000" \
        in str(error)
    assert peak < 50e6


@pytest.mark.parametrize("where", ["header", "architecture", "user"])
def test_deeply_nested_json_is_a_value_error_not_a_recursion_error(tmp_path, where):
    deep = "[" * 50_000 + "]" * 50_000
    if where == "header":
        text = ('{"x": ' + deep + "}").encode()
        raw = struct.pack("<Q", len(text)) + text
    else:
        raw = raw_model_file([{"class": "ReLU", "config": {}}], {}, {where: deep})
    with pytest.raises(ValueError, match=r"nests 50001 levels deep|nests 50000 levels deep") as info:
        cr.load(_write(tmp_path, raw))
    assert "model.safetensors" in str(info.value)


@pytest.mark.parametrize("text, depth", [
    ("1", 0), ("[]", 1), ('{"a": [1, {"b": []}]}', 4), ('"[[[[" ', 0),
    (r'["\"[[", {"k\\": "]]]"}]', 2), ("[[1], [2], [[3]]]", 3),
])
def test_json_depth_counts_brackets_outside_strings(text, depth):
    assert crio.json_depth(text) == depth


def test_metadata_nested_within_the_limit_round_trips_and_deeper_is_refused(tmp_path):
    net = _net()
    nested = value = {}
    for _ in range(crio.MAX_DEPTH - 2):  # the user metadata object itself is one level
        value["x"] = value = {}
    net.save(tmp_path / "ok.safetensors", metadata={"deep": nested})
    assert crio.load_with_extras(tmp_path / "ok.safetensors")[1] == {"deep": nested}
    value["x"] = [[1]]
    with pytest.raises(ValueError, match=f"metadata must nest at most {crio.MAX_DEPTH} levels"):
        net.save(tmp_path / "deep.safetensors", metadata={"deep": nested})
    assert not (tmp_path / "deep.safetensors").exists()


# -- integrity: a checksum of tensors and metadata (issue 15) ----------------------------

def test_the_file_carries_a_checksum_of_its_tensors_and_metadata(tmp_path):
    from safetensors.numpy import load
    path = tmp_path / "m.safetensors"
    _net().save(path, metadata={"a": 1}, extra_tensors={"mu": np.arange(3.0)})
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    meta = json.loads(raw[8:8 + n])["__metadata__"]
    assert meta["checksum"] == crio.checksum(meta, load(raw))
    assert meta["checksum"].startswith("sha256:") and len(meta["checksum"]) == 7 + 64


def test_a_changed_weight_is_reported_as_corruption(tmp_path):
    path = tmp_path / "m.safetensors"
    _net().save(path)
    raw = bytearray(path.read_bytes())
    raw[-5] ^= 0x01  # a low bit of the last float's mantissa: still finite, still plausible
    path.write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="is corrupt: its contents do not match the checksum"):
        cr.load(path)


def test_files_without_a_checksum_still_load(tmp_path):
    # as chainrule wrote them before checksums: the same entries, no "checksum"
    arch = [{"class": "Dense", "config": {"n_in": 2, "n_out": 1}}]
    tensors = {"layers.0.W": np.ones((2, 1), np.float32), "layers.0.b": np.zeros(1, np.float32)}
    net = cr.load(_write(tmp_path, raw_model_file(arch, tensors)))
    np.testing.assert_array_equal(net.layers[0].W, np.ones((2, 1), np.float32))


def test_every_single_bit_flip_is_detected_or_changes_nothing(tmp_path):
    path = tmp_path / "m.safetensors"
    _net().save(path, metadata={"labels": ["a", "b", "c"]}, extra_tensors={"mu": np.arange(4.0)})
    raw = path.read_bytes()
    net, meta, extras = crio.load_with_extras(path)
    rng = np.random.default_rng(15)
    detected = 0
    for bit in rng.choice(len(raw) * 8, size=200, replace=False):
        flipped = bytearray(raw)
        flipped[bit // 8] ^= 1 << (bit % 8)
        path.write_bytes(bytes(flipped))
        try:
            net2, meta2, extras2 = crio.load_with_extras(path)
        except ValueError:
            detected += 1
            continue
        assert [type(layer) for layer in net2.layers] == [type(layer) for layer in net.layers]
        np.testing.assert_array_equal(net2.flat_params, net.flat_params)
        assert meta2 == meta and extras2.keys() == extras.keys()
        for key in extras:
            np.testing.assert_array_equal(extras2[key], extras[key])
    assert detected >= 190  # almost every bit matters; a few (e.g. in header padding) may not


# -- a model file runs no code and costs what it holds (issue 22) -----------------------

class Recorder(cr.Identity):
    """A layer a program might define, whose ``__init__`` acts on its argument (it opens
    a log). A file must not be able to construct it, with a path of the file's choosing."""

    def __init__(self, log):
        self.log = log
        open(log, "a").close()

    def forward(self, Z):
        return Z

    def config(self):
        return {"log": self.log}


def _entry_points():
    """Every way chainrule reads a model file, each as ``call(path)``; a CLI call returns
    its exit status and stderr, the others return or raise."""
    import contextlib
    import io as stdio

    from chainrule import cli

    def command(*argv):
        def call(path):
            err = stdio.StringIO()
            with contextlib.redirect_stderr(err), contextlib.redirect_stdout(stdio.StringIO()):
                status = cli.main([argv[0], str(path), *argv[1:]])
            if status != 0:
                raise ValueError(err.getvalue())
        return call

    def resume(path):
        net = cr.Sequential([cr.Dense(2, 2, seed=0)])
        net.fit(np.ones((4, 2)), np.ones((4, 2)), loss=cr.MSE(), optimizer=cr.SGD(lr=0.1),
                epochs=2, verbose=0, resume_from=path)

    def estimator(path):
        from chainrule.sklearn import load
        load(path)
    return {"load": cr.load, "load_with_extras": crio.load_with_extras, "resume": resume,
            "sklearn.load": estimator, "cli info": command("info"),
            "cli predict": command("predict", "absent.csv")}


@pytest.mark.parametrize("entry", list(_entry_points()))
def test_a_file_naming_a_class_the_program_defines_does_not_construct_it(tmp_path, entry):
    """Issue 22, finding 6: loading constructed any Layer subclass defined in the process,
    with keyword arguments chosen by the file, through every entry point."""
    pytest.importorskip("sklearn")
    marker = tmp_path / "written-by-the-file"
    arch = [{"class": "Dense", "config": {"n_in": 2, "n_out": 2}},
            {"class": "Recorder", "config": {"log": str(marker)}}]
    tensors = {"layers.0.W": np.ones((2, 2), np.float32), "layers.0.b": np.zeros(2, np.float32)}
    path = _write(tmp_path, raw_model_file(arch, tensors))
    with pytest.raises(ValueError) as info:
        _entry_points()[entry](path)
    assert not marker.exists(), "the file had Recorder's __init__ run, with its own path"
    assert re.search(r"layer 1 is of class 'Recorder', which is none of chainrule's layers"
                     r".*layers=\[Recorder\]", str(info.value)), info.value


def test_a_class_the_program_passes_is_built(tmp_path):
    path = tmp_path / "m.safetensors"
    log = tmp_path / "log"
    cr.Sequential([cr.Dense(2, 2, seed=0), Recorder(str(log))]).save(path)
    log.unlink()
    net, _, _ = crio.load_with_extras(path, layers=[Recorder])
    assert type(net[1]) is Recorder and log.exists()    # the program chose this class


@pytest.mark.parametrize("layers, error, words", [
    (Recorder, TypeError, r"layers must be a list of Layer classes, such as \[Swish\]"),
    ("Recorder", TypeError, r"layers must be a list of Layer classes"),
    ([cr.ReLU()], TypeError, r"layers\[0\] must be a Layer subclass \(the class, not an instance\)"),
    ([int], TypeError, r"layers\[0\] must be a Layer subclass"),
    ([cr.Layer], ValueError, r"layers\[0\] \(Layer\) has no forward of its own"),
    ([type("ReLU", (cr.Identity,), {"forward": lambda self, Z: Z})], ValueError,
     r"layers\[0\] is .*ReLU, named like chainrule's own ReLU: .* a name of its own"),
], ids=["a class", "a string", "an instance", "not a layer", "no forward", "chainrule's name"])
def test_layers_must_be_layer_classes_of_names_of_their_own(tmp_path, layers, error, words):
    path = tmp_path / "m.safetensors"
    cr.Sequential([cr.Dense(2, 2)]).save(path)
    with pytest.raises(error, match=words):
        cr.load(path, layers=layers)
    assert cr.load(path, layers=[cr.Dense]).n_in == 2   # chainrule's own may be passed too


def test_chainrule_layers_are_listed_not_discovered():
    """names.LAYERS is written out; this checks it holds every layer class nn defines (the
    test may search; the loader does not)."""
    import inspect

    from chainrule import names, nn
    defined = {cls for module in (nn.layers, nn.activations, nn.normalization, nn.dropout,
                                  nn.periodic)
               for _, cls in inspect.getmembers(module, inspect.isclass)
               if issubclass(cls, cr.Layer) and cls.__module__ == module.__name__
               and cls.forward is not cr.Layer.forward}
    assert set(names.LAYERS.values()) == defined
    assert all(names.LAYERS[cls.__name__] is cls for cls in defined)


def test_a_file_naming_more_layers_than_its_size_pays_for_is_refused_before_building(tmp_path):
    """Issue 22, finding 5: 4.9 MB naming 140,000 ReLU layers made load's peak memory 18
    times the file (23 under tracemalloc). The count is checked on the scanned text,
    before the architecture is parsed or a layer built."""
    arch = [{"class": "ReLU", "config": {}}] * 140_000
    path = _write(tmp_path, raw_model_file(arch, {}))
    size = path.stat().st_size
    error, peak = _peak_bytes(lambda: cr.load(path))
    assert isinstance(error, ValueError), error
    assert (f"the architecture lists 140000 layers, more than the {crio.most_items(size)} a "
            f"file of {size} bytes may hold") in str(error)
    assert peak < 5 * size       # the file, its text, the metadata string and scratch


def test_a_header_listing_more_tensors_than_its_size_pays_for_is_refused(tmp_path):
    n = 40_000   # 2.2 MB of empty tensors: each costs load about 1 KB to build
    header = {f"t{i}": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]} for i in range(n)}
    path = _write(tmp_path, _raw(header))
    size = path.stat().st_size
    with pytest.raises(ValueError, match=f"the header lists {n} tensors, more than the "
                                         f"{crio.most_items(size)} a file of {size} bytes"):
        cr.load(path)


@pytest.mark.parametrize("where", ["header", "user"])
def test_json_holding_more_arrays_than_its_size_pays_for_is_refused(tmp_path, where):
    many = "[" + ",".join(["[]"] * 30_000) + "]"   # 90 KB, 30 001 lists
    if where == "header":
        raw = _raw({"a": {"dtype": "U8", "shape": [0], "data_offsets": [0, 0]}})
        text = raw[8:].decode().replace("[0]", many, 1).encode()
        raw = struct.pack("<Q", len(text)) + text
    else:
        raw = raw_model_file([{"class": "ReLU", "config": {}}], {}, {"user": many})
    with pytest.raises(ValueError, match=r"holds 3000\d JSON arrays and objects, more than the"):
        cr.load(_write(tmp_path, raw))


@pytest.mark.parametrize("shape, words", [
    ([1] * 33, "invalid shape"), ([0, 10**12], "invalid shape"),
])
def test_tensor_shapes_are_bounded_by_the_file(tmp_path, shape, words):
    header = {"a": {"dtype": "U8", "shape": shape, "data_offsets": [0, int(np.prod(shape))]}}
    with pytest.raises(ValueError, match=words + r".*at most 32 sizes, each at most the file's"):
        cr.load(_write(tmp_path, _raw(header, b"\0" * int(np.prod(shape)))))


def test_a_tensor_name_longer_than_max_name_is_refused_and_never_written(tmp_path):
    header = {"x" * 100_000: {"dtype": "U8", "shape": [1], "data_offsets": [0, 1]}}
    with pytest.raises(ValueError, match=r"a tensor name has 100000 characters, more than the "
                                         r"512") as info:
        cr.load(_write(tmp_path, _raw(header, b"\0")))
    assert len(str(info.value)) < 400                      # the name is not echoed whole
    with pytest.raises(ValueError, match=r"a name of at most 506 characters, got 1 and 600"):
        cr.Sequential([cr.ReLU()]).save(tmp_path / "m.safetensors",
                                        extra_tensors={"k" * 600: np.zeros(1)})


def test_save_refuses_a_file_load_would_refuse_and_keeps_the_old_one(tmp_path):
    path = tmp_path / "m.safetensors"
    path.write_bytes(b"old")
    net = cr.Sequential([cr.ReLU() for _ in range(3000)])   # 3000 layers in ~100 KB
    with pytest.raises(ValueError, match=r"load would refuse this file, so it was not written: "
                                         r".*the architecture lists 3000 layers"):
        net.save(path)
    assert path.read_bytes() == b"old"


def test_a_deep_network_with_its_weights_loads(tmp_path):
    layers = [layer for i in range(1000) for layer in (cr.Dense(8, 8, seed=i), cr.ReLU())]
    net = cr.Sequential(layers)
    net.save(tmp_path / "deep.safetensors")
    assert len(cr.load(tmp_path / "deep.safetensors").layers) == 2000


_HANG = r'''
import contextlib, io, json, struct, sys
import numpy as np
import chainrule as cr
from chainrule import cli
from safetensors.numpy import save
folder, n = sys.argv[1], int(sys.argv[2])
quotes = '"' + '\\"' * n          # a string of escaped quotes that never closes
meta = {"format": "chainrule", "format_version": "1", "dtype": "float32", "user": "{}",
        "architecture": json.dumps([{"class": "ReLU", "config": {}}])}
text = ('{"x": ' + quotes).encode()
files = {"header": struct.pack("<Q", len(text)) + text}
for key in ("architecture", "user"):
    files[key] = save({}, metadata={**meta, key: quotes})

def command(*argv):
    def call(path):
        err = io.StringIO()
        with contextlib.redirect_stderr(err):
            if cli.main([argv[0], path, *argv[1:]]) != 0:
                raise ValueError(err.getvalue())
    return call

def resume(path):
    cr.Sequential([cr.ReLU()]).fit(np.ones((2, 1)), np.ones((2, 1)), loss=cr.MSE(),
                                   optimizer=cr.SGD(lr=0.1), verbose=0, resume_from=path)

def estimator(path):
    from chainrule.sklearn import load
    load(path)

calls = {"load": cr.load, "load_with_extras": cr.load_with_extras, "resume": resume,
         "sklearn.load": estimator, "cli info": command("info"),
         "cli predict": command("predict", "absent.csv")}
for where, raw in files.items():
    path = f"{folder}/{where}.safetensors"
    with open(path, "wb") as f:
        f.write(raw)
    for name, call in calls.items():
        try:
            call(path)
            print(where, "|", name, "| loaded")
        except ValueError as error:
            print(where, "|", name, "| ValueError:", " ".join(str(error).split())[-160:])
'''


@pytest.mark.slow
def test_an_unclosed_string_of_escaped_quotes_is_refused_in_linear_time(tmp_path):
    """Issue 22, finding 4: ``"`` and then 500 000 copies of ``\\"`` (1 MB, never closed).
    The old depth check stripped strings with a regex that restarted at every quote:
    time grew with the square of the size (80 KB: 21 s; 1 MB: about an hour), in the
    header and in each metadata entry, through every entry point. Here each of the 18
    loads runs in a subprocess under a timeout of 300 s. That is no timing assertion:
    the scan takes milliseconds per megabyte and the old check an hour per file, so
    no machine, however loaded, lands between (a test that counted the scanner's
    steps would count only the new code's own loop, not what NumPy does inside it)."""
    pytest.importorskip("sklearn")
    pytest.importorskip("pandas")
    import pathlib
    import subprocess
    import sys
    src = pathlib.Path(cr.__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(src), os.environ.get("PYTHONPATH", "")]))
    done = subprocess.run([sys.executable, "-c", _HANG, str(tmp_path), "500000"], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 18, done.stdout
    for line in lines:
        assert "| ValueError:" in line and "not valid JSON (Unterminated string" in line, line


# -- files written before the loader was hardened still load (issue 22) -----------------

DATA = os.path.join(os.path.dirname(__file__), "data")   # written by data/make_model_files.py


class Cube(cr.nn.Activation):
    """The user's layer of data/user-layer-0.1.0.safetensors (as make_model_files.py has it)."""

    def forward(self, Z):
        self.Z = Z
        return Z ** 3

    def backward(self, dA):
        return 3 * dA * self._cached("Z") ** 2


def test_a_file_with_each_of_chainrules_layers_written_by_0_1_0_loads():
    net, meta, extras = crio.load_with_extras(os.path.join(DATA, "model-0.1.0.safetensors"))
    assert meta == {"labels": ["a", "b", "c"]}
    # since 0.1.0 (and first in a network only)
    newer = {cr.Embedding, cr.CategoryEmbedding, cr.PeriodicEmbedding}
    assert {type(layer) for layer in net.layers} == set(cr.names.LAYERS.values()) - newer
    assert net.dtype == np.float64 and net[6].alpha == 0.2 and net[8].alpha == 0.5
    # float64 through 23 layers, on whichever CPU: the last bits may differ, no more
    np.testing.assert_allclose(net.predict(extras["X"]), extras["expected"], rtol=1e-9, atol=1e-12)


def test_a_file_with_a_users_layer_written_by_0_1_0_loads_when_the_class_is_named():
    path = os.path.join(DATA, "user-layer-0.1.0.safetensors")
    net, _, extras = crio.load_with_extras(path, layers=[Cube])
    assert type(net[1]) is Cube
    np.testing.assert_allclose(net.predict(extras["X"]), extras["expected"], rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match=r"layers=\[Cube\]"):
        cr.load(path)


def test_a_checkpoint_written_by_0_1_0_resumes(tmp_path):
    import shutil
    rng = np.random.default_rng(2)
    X, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 1))

    def run(**resume):
        net = cr.Sequential([cr.Dense(3, 4, seed=0, dtype=np.float64), cr.Tanh(),
                             cr.Dense(4, 1, seed=1, dtype=np.float64)], dtype=np.float64)
        history = net.fit(X, y, loss=cr.MSE(), optimizer=cr.Adam(lr=0.01), epochs=4, batch_size=8,
                          seed=5, validation_split=0.25, verbose=0,
                          callbacks=[cr.EarlyStopping(patience=10),
                                     cr.ModelCheckpoint(tmp_path / "ck.safetensors")], **resume)
        return net, history
    shutil.copy(os.path.join(DATA, "checkpoint-0.1.0.safetensors"), tmp_path / "old.safetensors")
    resumed, history = run(resume_from=tmp_path / "old.safetensors")
    whole, whole_history = run()
    assert len(history["loss"]) == 4
    # epochs 1-2 ran on the CPU that wrote the file: equal to a run here up to rounding
    np.testing.assert_allclose(resumed.flat_params, whole.flat_params, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(history["val_loss"], whole_history["val_loss"], rtol=1e-10)


def test_estimator_and_command_line_files_written_by_0_1_0_load(tmp_path, capsys):
    pytest.importorskip("sklearn")
    pd = pytest.importorskip("pandas")
    from chainrule import cli
    from chainrule.sklearn import load
    est = load(os.path.join(DATA, "estimator-0.1.0.safetensors"))
    extras = crio.load_with_extras(os.path.join(DATA, "estimator-0.1.0.safetensors"))[2]
    assert list(est.classes_) == ["no", "yes"]
    np.testing.assert_allclose(est.predict_proba(extras["X"]), extras["expected"], rtol=1e-5,
                               atol=1e-6)
    model = os.path.join(DATA, "cli-0.1.0.safetensors")
    assert cli.main(["info", model]) == 0
    assert "MLPClassifier" in capsys.readouterr().out
    out = tmp_path / "predictions.csv"
    assert cli.main(["predict", model, os.path.join(DATA, "table-0.1.0.csv"), "--proba",
                     "--out", str(out)]) == 0
    then, now = pd.read_csv(os.path.join(DATA, "cli-predictions-0.1.0.csv")), pd.read_csv(out)
    assert list(now["prediction"]) == list(then["prediction"])
    np.testing.assert_allclose(now[["proba_big", "proba_small"]], then[["proba_big", "proba_small"]],
                               rtol=1e-4, atol=2e-6)          # printed to 6 significant digits
