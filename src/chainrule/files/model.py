"""Model files: one ``.safetensors`` file per network, and nothing in it can run.

A safetensors file is an 8-byte little-endian header length N, N bytes of
JSON describing each tensor (dtype, shape, byte offsets), then the raw bytes
of the tensors. chainrule puts its own description in the header's
``__metadata__`` (a JSON string per key)::

    format            "chainrule"
    format_version    "1"
    chainrule_version the version that wrote the file
    dtype             "float32" or "float64"
    architecture      [{"class": "Dense", "config": {"n_in": 4, ...}}, ...]
    user              extra metadata given to ``save`` (JSON), e.g. class labels
    checksum          "sha256:" + the SHA-256 of every other metadata entry and of
                      every tensor's name, dtype, shape and bytes (see :func:`checksum`)

Tensors are named ``layers.{i}.{name}`` (``layers.0.W``), and extra tensors
``extra.{name}``. Loading never unpickles, never evaluates and never imports
anything named in the file: a layer class is found by its name among the
Layer subclasses already defined in the running process (chainrule's own, and
any the program defined: see :func:`chainrule.names.layer_class`), and every
field is checked before it is used. A file that is truncated, inconsistent or
not a chainrule file at all raises ValueError saying what is wrong.

Loading costs what the file holds: JSON is parsed only up to ``MAX_DEPTH``
levels of nesting, and no layer is built whose sizes multiply to more numbers
than the file stores, so a small file cannot make ``load`` allocate much more
than its own size. The checksum catches accidental corruption (a flipped bit,
a bad disk); it is not a signature: anyone who can write the file can write a
matching checksum. Files written before the checksum existed load without one.
"""
from __future__ import annotations

import hashlib
import json
import os
import re
import struct
import tempfile

import numpy as np

from .._version import __version__
from ..names import layer_class  # the class a file's layer name means
from ..network.sequential import Sequential
from ..nn.layers import Dense

FORMAT = "chainrule"
FORMAT_VERSION = 1

#: The safetensors dtype names chainrule reads, and the numpy dtypes they map to.
_DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64,
           "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
           "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64,
           "BOOL": np.bool_}
#: safetensors' own limit on the JSON header, so a hostile length cannot make us allocate.
_MAX_HEADER = 100_000_000
#: The deepest JSON nesting a file may hold. Python's json parser recurses once
#: per level (RecursionError near 1000); chainrule's own entries nest about 5 deep.
MAX_DEPTH = 100



def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError:  # pragma: no cover - the io extra is missing
        raise ImportError("model files need the safetensors package: "
                          "pip install 'chainrule[io]'") from None
    return st


#: A JSON string literal (escapes included), removed before brackets are counted.
_JSON_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")


def json_depth(text):
    """How deeply the JSON ``text`` nests (``1`` for ``[1]``, ``2`` for ``{"a": [1]}``).

    Counted without parsing, in time and memory linear in ``len(text)``, so a
    hostile text is measured before the recursive parser sees it: string
    literals are dropped, and the running sum of +1 per ``[``/``{`` and -1 per
    ``]``/``}`` is the depth at each bracket.
    """
    brackets = _NOT_BRACKET.sub("", _JSON_STRING.sub("", text))
    if not brackets:
        return 0
    codes = np.frombuffer(brackets.encode("ascii"), np.uint8)
    steps = np.where((codes == ord("[")) | (codes == ord("{")), 1, -1).astype(np.int32)
    return int(np.cumsum(steps, dtype=np.int64).max())


def loads_json(text, what):
    """``json.loads(text)``, or ValueError naming ``what`` if it is not JSON or nests
    deeper than :data:`MAX_DEPTH` (which would exhaust Python's recursion limit)."""
    depth = json_depth(text)
    if depth > MAX_DEPTH:
        raise ValueError(f"{what} nests {depth} levels deep, more than the {MAX_DEPTH} "
                         "a chainrule file may hold (a corrupt or hostile file)")
    try:
        return json.loads(text)
    except ValueError as error:
        raise ValueError(f"{what} is not valid JSON ({error})"[:400]) from None


def checksum(meta, tensors):
    """``"sha256:" + hex`` digest of a file's metadata and tensors.

    Hashed, in sorted order: each metadata entry but ``checksum`` itself as the
    JSON pair ``[key, value]``, then each tensor as the JSON triple ``[name,
    dtype, shape]`` followed by its bytes. The JSON framing makes the
    boundaries unambiguous: no two different files hash the same bytes.

    Parameters
    ----------
    meta : dict of str -> str
        The ``__metadata__`` entries.
    tensors : dict of str -> ndarray
    """
    digest = hashlib.sha256()
    for key in sorted(meta):
        if key != "checksum":
            digest.update(json.dumps([key, meta[key]]).encode())
    for name in sorted(tensors):
        array = np.ascontiguousarray(tensors[name])
        digest.update(json.dumps([name, array.dtype.str, list(array.shape)]).encode())
        digest.update(array.reshape(-1).view(np.uint8))
    return "sha256:" + digest.hexdigest()


def _verify(meta, tensors, where):
    """ValueError saying the file is corrupt unless its stored checksum matches.

    A file without one (written before chainrule stored checksums) passes.
    """
    stored = meta.get("checksum")
    if stored is None:
        return
    actual = checksum(meta, tensors)
    if stored != actual:
        raise ValueError(f"{where} is corrupt: its contents do not match the checksum stored "
                         f"with them ({str(stored)[:80]!r}, the contents give {actual!r}); "
                         "the file was damaged after it was written")


# -- writing ------------------------------------------------------------------

def _state_names(layer):
    return tuple(layer.params) + tuple(getattr(layer, "buffers", ()))


def save(net, path, metadata=None, extra_tensors=None):
    """Write ``net`` to ``path`` as one safetensors file, atomically.

    The file on disk is always either the complete old file or the complete
    new one: the bytes go to a temporary file in the same folder, which is
    flushed, fsynced and then moved over ``path`` with ``os.replace``.

    Parameters
    ----------
    net : Sequential
    path : str or os.PathLike
    metadata : dict, optional
        JSON-serialisable values stored with the model (class labels, scaling,
        ...); returned by :func:`load_with_extras`.
    extra_tensors : dict of str -> array, optional
        Further arrays stored with the model (e.g. feature means).
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a chainrule Sequential, got {net!r}")
    check_saveable(net)
    tensors, architecture = {}, []
    for i, layer in enumerate(net.layers):
        name = type(layer).__name__
        architecture.append({"class": name, "config": layer.config()})
        for p in _state_names(layer):
            tensors[f"layers.{i}.{p}"] = np.ascontiguousarray(getattr(layer, p))
    for key, value in (extra_tensors or {}).items():
        if not isinstance(key, str):
            raise TypeError(f"extra_tensors keys must be strings, got {key!r}")
        array = np.asarray(value)
        if array.dtype.kind not in "biuf" or array.dtype.name not in \
                {np.dtype(t).name for t in _DTYPES.values()}:
            raise TypeError(f"extra_tensors[{key!r}] must be a numeric array, got dtype {array.dtype}")
        tensors[f"extra.{key}"] = np.ascontiguousarray(array)
    try:
        user = json.dumps(metadata if metadata is not None else {})
        header = {"format": FORMAT, "format_version": str(FORMAT_VERSION),
                  "chainrule_version": __version__, "dtype": net.dtype.name,
                  "architecture": json.dumps(architecture), "user": user}
    except TypeError as error:
        raise TypeError(f"metadata must be JSON-serialisable: {error}") from None
    except RecursionError:
        raise ValueError(f"metadata must nest at most {MAX_DEPTH} levels deep; this nests "
                         "deeper than Python can serialise") from None
    depth = json_depth(user)
    if depth > MAX_DEPTH:  # load would refuse it: refuse it now, before the old file is replaced
        raise ValueError(f"metadata must nest at most {MAX_DEPTH} levels deep, got {depth}")
    header["checksum"] = checksum(header, tensors)
    data = _safetensors().save(tensors, metadata=header)
    write_atomic(path, data)


def check_saveable(net):
    """ValueError unless :func:`load` would rebuild every layer of ``net`` with its own
    class: a user's class named like one of chainrule's, or redefined since, would not."""
    for i, layer in enumerate(net.layers):
        cls = type(layer)
        found = layer_class(cls.__name__)
        if found is None:
            raise ValueError(f"layer {i} ({layer!r}) has no forward of its own")
        if found is not cls:
            where = ("chainrule's own" if found.__module__.startswith("chainrule.") else
                     f"the one defined later in {found.__module__}")
            raise ValueError(f"layer {i} ({layer!r}) is of class {cls.__module__}."
                             f"{cls.__qualname__}, but a file naming {cls.__name__!r} loads as "
                             f"{where}: give the class a name of its own")


def write_atomic(path, data):
    """Write ``data`` (bytes) to ``path`` so that a crash leaves the old file or the new one.

    Temporary file in the same folder (``os.replace`` is atomic only within one
    file system), flush, fsync, replace, then fsync the folder so the rename
    itself is durable. The temporary file is removed if anything fails.
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    try:
        dir_fd = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - e.g. Windows cannot open folders
        return
    try:
        os.fsync(dir_fd)
    except OSError:  # pragma: no cover - some file systems refuse
        pass
    finally:
        os.close(dir_fd)


# -- reading -------------------------------------------------------------------

def load(path):
    """The network stored in ``path`` by :func:`save` (or ``net.save``)."""
    return load_with_extras(path)[0]


def load_with_extras(path):
    """``(net, metadata, extra_tensors)`` from a file written by :func:`save`.

    Raises ValueError naming the problem for anything that is not a complete,
    consistent chainrule model file.
    """
    with open(path, "rb") as f:
        raw = f.read()
    where = os.fspath(path)
    header, tensors = _parse(raw, where)
    meta = header.get("__metadata__")
    if isinstance(meta, dict):
        _verify(meta, tensors, where)
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise ValueError(f"{where} is a safetensors file but not a chainrule model "
                         "(its metadata has no format='chainrule')")
    try:
        version = int(meta.get("format_version", ""))
    except ValueError:
        raise ValueError(f"{where}: format_version {meta.get('format_version')!r} "
                         "is not a number") from None
    if version > FORMAT_VERSION:
        raise ValueError(f"{where} was written in chainrule model format {version} "
                         f"(chainrule {meta.get('chainrule_version')}); this chainrule "
                         f"({__version__}) reads format {FORMAT_VERSION} and older: upgrade it")
    dtype = meta.get("dtype")
    if dtype not in ("float16", "float32", "float64"):
        raise ValueError(f"{where}: dtype {dtype!r} is not a floating-point type chainrule uses")
    architecture = _json(meta, "architecture", where)
    user = _json(meta, "user", where)
    if not isinstance(user, dict):
        raise ValueError(f"{where}: user metadata must be a JSON object, got {type(user).__name__}")
    net = _rebuild(architecture, tensors, np.dtype(dtype), where)
    extras = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
    return net, user, extras


def _json(meta, key, where):
    text = meta.get(key)
    if not isinstance(text, str):
        raise ValueError(f"{where}: the metadata has no {key!r} entry")
    return loads_json(text, f"{where}: the {key!r} metadata")


def _parse(raw, where):
    """Check every field of the header against the bytes actually present."""
    size = len(raw)
    if size < 8:
        raise ValueError(f"{where} is not a safetensors file: {size} bytes, too short for "
                         "the 8-byte header length (truncated or empty?)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > _MAX_HEADER:
        raise ValueError(f"{where} is not a safetensors file: its first 8 bytes give a header "
                         f"length of {n} bytes, more than the {_MAX_HEADER}-byte limit "
                         "(a file of another kind, e.g. a pickle, renamed?)")
    if 8 + n > size:
        raise ValueError(f"{where} is truncated or corrupt: its header claims {n} bytes but "
                         f"only {size - 8} follow the length field")
    try:
        text = raw[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{where} is not a safetensors file: its header is not JSON "
                         f"({type(error).__name__}: {error})") from None
    header = loads_json(text, f"{where} is not a safetensors file: its header")
    if not isinstance(header, dict):
        raise ValueError(f"{where}: the safetensors header must be a JSON object")
    meta = header.get("__metadata__")
    if meta is not None and (not isinstance(meta, dict) or
                             not all(isinstance(v, str) for v in meta.values())):
        raise ValueError(f"{where}: __metadata__ must map strings to strings")
    buffer = size - 8 - n
    spans = []
    for name, info in header.items():
        if name == "__metadata__":
            continue
        if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
            raise ValueError(f"{where}: tensor {name!r} must have exactly dtype, shape and "
                             f"data_offsets, got {info!r}"[:300])
        dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _DTYPES:
            raise ValueError(f"{where}: tensor {name!r} has unsupported dtype {dtype!r}; "
                             f"supported: {', '.join(_DTYPES)}")
        if not isinstance(shape, list) or not all(_is_count(d) for d in shape):
            raise ValueError(f"{where}: tensor {name!r} has invalid shape {shape!r}")
        if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(_is_count, offsets)):
            raise ValueError(f"{where}: tensor {name!r} has invalid data_offsets {offsets!r}")
        begin, end = offsets
        expected = int(np.prod(shape, dtype=object)) * np.dtype(_DTYPES[dtype]).itemsize
        if end < begin or end - begin != expected:
            raise ValueError(f"{where}: tensor {name!r} of dtype {dtype} and shape {shape} "
                             f"needs {expected} bytes, but its data_offsets {offsets} span "
                             f"{end - begin}")
        if end > buffer:
            raise ValueError(f"{where} is truncated or corrupt: tensor {name!r} ends at byte "
                             f"{end} of the data, which holds only {buffer} bytes")
        spans.append((begin, end, name))
    spans.sort()
    position = 0
    for begin, end, name in spans:
        if begin < position:
            raise ValueError(f"{where} is corrupt: tensor {name!r} (bytes {begin}-{end}) "
                             f"overlaps the tensor before it (which ends at {position})")
        if begin > position:
            raise ValueError(f"{where} is corrupt: {begin - position} unaccounted bytes "
                             f"before tensor {name!r}")
        position = end
    if position != buffer:
        raise ValueError(f"{where} is corrupt: the tensors cover {position} bytes of data, "
                         f"but the file holds {buffer}")
    try:
        tensors = _safetensors().load(bytes(raw))
    except Exception as error:  # the checks above should leave nothing for the library to reject
        raise ValueError(f"{where} could not be read as safetensors: {error}") from None
    return header, tensors


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _rebuild(architecture, tensors, dtype, where):
    if not isinstance(architecture, list) or not architecture:
        raise ValueError(f"{where}: the architecture must be a non-empty list of layers")
    total = sum(t.size for t in tensors.values())
    layers, used = [], set()
    for i, entry in enumerate(architecture):
        if not isinstance(entry, dict) or not isinstance(entry.get("class"), str) \
                or not isinstance(entry.get("config"), dict):
            raise ValueError(f"{where}: architecture entry {i} must be "
                             f"{{'class': name, 'config': {{...}}}}, got {entry!r}"[:300])
        name, config = entry["class"], entry["config"]
        cls = layer_class(name)
        if cls is None:
            raise ValueError(f"{where}: layer {i} is of class {name!r}, which is not defined "
                             "here: define (or import) that Layer subclass before loading"[:300])
        # An absurd size in the config must not make us allocate before the
        # shape check below: sizes are bounded by the tensors actually present.
        # Each size alone, and their product (Dense(n_in, n_out) draws n_in·n_out
        # weights before they are compared with the file's), is bounded.
        sizes = {}
        for key, value in config.items():
            if isinstance(value, list) and value and all(_is_count(v) for v in value):
                value = sum(value)   # one size per column (CategoryEmbedding): rows in all
            if isinstance(value, int) and not isinstance(value, bool) and value > 1:
                sizes[key] = value
        product = 1
        for key, value in sizes.items():
            if value > max(total, 1):
                raise ValueError(f"{where}: layer {i} ({name}) has {key}={value}, more than the "
                                 f"{total} numbers stored in the file")
            if cls.drawn_from is None or key in cls.drawn_from:
                product *= value
        if product > max(total, 1):
            listed = ", ".join(f"{key}={value}" for key, value in sizes.items())
            raise ValueError(f"{where}: layer {i} ({name}) has sizes {listed} whose product "
                             f"{product} is more than the {total} numbers stored in the file")
        layer = _construct(cls, config, i, where)
        for p in _state_names(layer):
            key = f"layers.{i}.{p}"
            if key not in tensors:
                raise ValueError(f"{where}: tensor {key!r} of layer {i} ({name}) is missing")
            value, target = tensors[key], getattr(layer, p)
            if value.shape != target.shape:
                raise ValueError(f"{where}: tensor {key!r} has shape {value.shape}, but layer "
                                 f"{i} {layer!r} needs {target.shape}")
            if value.dtype != dtype:
                raise ValueError(f"{where}: tensor {key!r} is {value.dtype}, the model is {dtype}")
            if not np.all(np.isfinite(value)):
                raise ValueError(f"{where}: tensor {key!r} holds NaN or infinite values "
                                 "(a corrupt file, or a network saved after it diverged)")
            setattr(layer, p, value.copy())
            used.add(key)
        layers.append(layer)
    unused = [k for k in tensors if k.startswith("layers.") and k not in used]
    if unused:
        raise ValueError(f"{where}: tensors {unused[:5]} belong to no layer of the architecture")
    try:
        return Sequential(layers, dtype=dtype)
    except (ValueError, TypeError) as error:
        raise ValueError(f"{where}: the layers do not fit together: {error}") from None


def _construct(cls, config, i, where):
    config = dict(config)
    if cls is Dense and config.get("init") not in (None, "normal", "uniform", "xavier", "he"):
        config.pop("init")  # a custom initialiser is not stored; the weights are
    try:
        return cls(**config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: layer {i} cannot be rebuilt as {cls.__name__}"
                         f"(**{config!r}): {error}"[:400]) from None
