"""Model files: save → load round trips, and hostile files that must give ValueError."""
import json
import os
import pickle
import struct

import numpy as np
import pytest

import chainrule as cr
from chainrule import io as crio
from conftest import assert_blas_close, sums_length


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


def _chainrule_raw(arch, tensors, overrides=None):
    meta = {"format": "chainrule", "format_version": "1", "chainrule_version": "0.1.0",
            "dtype": "float32", "architecture": json.dumps(arch), "user": "{}"}
    meta.update(overrides or {})
    from safetensors.numpy import save
    return save(tensors, metadata=meta)


def test_unknown_layer_name_is_never_imported(tmp_path):
    arch = [{"class": "os.system", "config": {"command": "touch pwned"}}]
    with pytest.raises(ValueError, match=r"class 'os.system', which is not defined here"):
        cr.load(_write(tmp_path, _chainrule_raw(arch, {})))


def test_shapes_that_do_not_match_the_architecture(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 3, "n_out": 2}}]
    tensors = {"layers.0.W": np.zeros((2, 3), np.float32), "layers.0.b": np.zeros(2, np.float32)}
    with pytest.raises(ValueError, match=r"'layers.0.W' has shape \(2, 3\).*needs \(3, 2\)"):
        cr.load(_write(tmp_path, _chainrule_raw(arch, tensors)))


def test_missing_and_leftover_tensors(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 3, "n_out": 2}}]
    with pytest.raises(ValueError, match="'layers.0.b' of layer 0 .* is missing"):
        cr.load(_write(tmp_path, _chainrule_raw(arch, {"layers.0.W": np.zeros((3, 2), np.float32)})))
    tensors = {"layers.0.W": np.zeros((3, 2), np.float32), "layers.0.b": np.zeros(2, np.float32),
               "layers.1.W": np.zeros(1, np.float32)}
    with pytest.raises(ValueError, match="belong to no layer"):
        cr.load(_write(tmp_path, _chainrule_raw(arch, tensors)))


def test_huge_sizes_in_the_architecture_do_not_allocate(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 10**12, "n_out": 10**12}}]
    with pytest.raises(ValueError, match="n_in=1000000000000, more than the 0 numbers"):
        cr.load(_write(tmp_path, _chainrule_raw(arch, {})))


def test_layers_that_do_not_fit_together(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 2, "n_out": 3}},
            {"class": "Dense", "config": {"n_in": 4, "n_out": 1}}]
    tensors = {"layers.0.W": np.zeros((2, 3), np.float32), "layers.0.b": np.zeros(3, np.float32),
               "layers.1.W": np.zeros((4, 1), np.float32), "layers.1.b": np.zeros(1, np.float32)}
    with pytest.raises(ValueError, match="do not fit together.*expects 4 input features"):
        cr.load(_write(tmp_path, _chainrule_raw(arch, tensors)))


@pytest.mark.parametrize("arch, words", [
    ({"not": "a list"}, "non-empty list"),
    ([["Dense"]], "architecture entry 0"),
    ([{"class": "ReLU", "config": {"bogus": 1}}], r"cannot be rebuilt as ReLU"),
    ([{"class": "LeakyReLU", "config": {"alpha": -1}}], "alpha must be"),
])
def test_malformed_architecture(tmp_path, arch, words):
    with pytest.raises(ValueError, match=words):
        cr.load(_write(tmp_path, _chainrule_raw(arch, {})))


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
        cr.load(_write(tmp_path, _chainrule_raw(arch, {}, overrides)))


def test_wrong_tensor_dtype(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 1, "n_out": 1}}]
    tensors = {"layers.0.W": np.zeros((1, 1), np.float64), "layers.0.b": np.zeros(1, np.float32)}
    with pytest.raises(ValueError, match="is float64, the model is float32"):
        cr.load(_write(tmp_path, _chainrule_raw(arch, tensors)))


def test_nonfinite_weights(tmp_path):
    arch = [{"class": "Dense", "config": {"n_in": 1, "n_out": 2}}]
    tensors = {"layers.0.W": np.array([[0.5, np.nan]], np.float32),
               "layers.0.b": np.zeros(2, np.float32)}
    with pytest.raises(ValueError, match="'layers.0.W' holds NaN or infinite values"):
        cr.load(_write(tmp_path, _chainrule_raw(arch, tensors)))


def test_a_layer_class_defined_here_round_trips_without_registering(tmp_path):
    class Doubler(cr.Identity):
        def forward(self, Z):
            return 2 * Z
    net = cr.Sequential([cr.Dense(2, 2, seed=0), Doubler()])
    net.save(tmp_path / "m.safetensors")
    X = np.ones((1, 2))
    loaded = cr.load(tmp_path / "m.safetensors")
    assert type(loaded.layers[1]) is Doubler
    assert_blas_close(loaded.predict(X), net.predict(X), sums_length(net))


def test_a_user_class_named_like_one_of_chainrules_is_refused_before_writing(tmp_path):
    class Dense(cr.Dense):   # a file naming "Dense" always loads as chainrule's Dense
        pass
    with pytest.raises(ValueError, match=r"loads as chainrule's own: give the class a name"):
        cr.Sequential([Dense(2, 2)]).save(tmp_path / "m.safetensors")
    assert os.listdir(tmp_path) == []


def test_a_file_naming_a_class_no_longer_defined_is_refused(tmp_path):
    import gc

    class Ephemeral(cr.Identity):
        def forward(self, Z):
            return Z
    path = tmp_path / "m.safetensors"
    cr.Sequential([cr.Dense(2, 2), Ephemeral()]).save(path)
    del Ephemeral
    gc.collect()        # the class is gone from this process: its name means nothing now
    with pytest.raises(ValueError, match=r"class 'Ephemeral', which is not defined here"):
        cr.load(path)


# -- loading costs what the file holds (issue 15) ------------------------------------

def _peak_bytes(function):
    """``(result or exception, peak bytes allocated)`` while ``function()`` runs."""
    import tracemalloc
    tracemalloc.start()
    try:
        try:
            result = function()
        except Exception as error:  # noqa: BLE001 - returned for the caller to check
            result = error
        return result, tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_sizes_whose_product_exceeds_the_file_are_refused_before_allocating(tmp_path):
    # 12 KB: each size (12 000) is within the 12 000 stored numbers, their product
    # is not; Dense drew all 144 million weights (2.3 GB) before this was checked.
    arch = [{"class": "Dense", "config": {"n_in": 12_000, "n_out": 12_000}}]
    path = _write(tmp_path, _chainrule_raw(arch, {"extra.pad": np.zeros(12_000, np.uint8)}))
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
        raw = _chainrule_raw([{"class": "ReLU", "config": {}}], {}, {where: deep})
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
    net = cr.load(_write(tmp_path, _chainrule_raw(arch, tensors)))
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
