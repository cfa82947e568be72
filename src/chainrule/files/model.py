"""Model files: one ``.safetensors`` file per network, and nothing in it can run.

A safetensors file is an 8-byte little-endian header length N, N bytes of
JSON describing each tensor (dtype, shape, byte offsets), then the raw bytes
of the tensors. chainrule puts its own description in the header's
``__metadata__`` (a JSON string per key)::

    format            "chainrule"
    format_version    "1", or "2" for a file whose metadata a chainrule that reads only
                      format 1 would misread (a ``chainrule train`` model whose text
                      columns are read as indices into a learned embedding: such a
                      chainrule would encode them one-hot, and predict from the wrong
                      numbers): it refuses the file instead, saying to upgrade
    chainrule_version the version that wrote the file
    dtype             "float32" or "float64"
    architecture      [{"class": "Dense", "config": {"n_in": 4, ...}}, ...]
    user              extra metadata given to ``save`` (JSON), e.g. class labels
    checksum          "sha256:" + the SHA-256 of every other metadata entry and of
                      every tensor's name, dtype, shape and bytes (see :func:`checksum`)

Tensors are named ``layers.{i}.{name}`` (``layers.0.W``), and extra tensors
``extra.{name}``.

A model file is data: loading runs no code the file chooses. It never
unpickles, evaluates or imports anything, and the layer classes it builds are
chainrule's own (:data:`chainrule.names.LAYERS`) and those the loading program
names, ``load(path, layers=[Swish])``; a class the program merely defined is
not enough (a checksum is not a signature: anyone who can write the file can
write a matching one). Every field is checked before it is used, and a file
that is truncated, inconsistent or not a chainrule file at all raises
ValueError saying what is wrong.

Loading costs what the file holds. Each JSON text is measured by a linear
scan (:func:`chainrule.jsonscan.scan`) before it is parsed: at most
``MAX_DEPTH`` levels of nesting, and as many layers, tensors and JSON arrays or
objects as the file's size pays for (:func:`chainrule.header.most_items`); a
tensor has at most ``MAX_NDIM`` dimensions, a name at most ``MAX_NAME``
characters (the header's checks are :mod:`chainrule.header`); and no layer is
built whose sizes multiply to more numbers than the file stores. So a small
file cannot make ``load`` take much more time or memory than its own size.
The checksum catches accidental corruption (a flipped bit, a bad disk). Files
written before the checksum existed load without one.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile

import numpy as np

from .._version import __version__
from ..names import LAYERS, layer_table  # the classes a file's layer names may mean
from ..network.modes import holds
from ..network.sequential import Sequential
from ..nn.checks import whole_number
from ..nn.layers import Dense, Layer
from .header import (
    BYTES_PER_ITEM,
    DTYPES,
    FREE_ITEMS,
    MAX_DEPTH,
    MAX_NAME,
    MAX_NDIM,
    check_json,
    decode_json,
    is_count,
    most_items,
    read_header,
    short,
)
from .jsonscan import scan

FORMAT = "chainrule"
#: The newest format this chainrule reads (and the format_version a caller may write).
FORMAT_VERSION = 2
#: What ``save`` writes unless told: the format every chainrule reads.
FIRST_FORMAT = 1

def _safetensors():
    try:
        import safetensors.numpy as st
    except ImportError:  # pragma: no cover - the io extra is missing
        raise ImportError("model files need the safetensors package: "
                          "pip install 'chainrule[io]'") from None
    return st


def json_depth(text):
    """How deeply the JSON ``text`` nests (``1`` for ``[1]``, ``2`` for ``{"a": [1]}``),
    counted in time linear in its length (:func:`chainrule.jsonscan.scan`)."""
    return scan(text).depth


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


@holds("save")
def save(net, path, metadata=None, extra_tensors=None, format_version=FIRST_FORMAT):
    """Write ``net`` to ``path`` as one safetensors file, atomically.

    ``cr.save`` and ``net.save`` alike hold the network while they read it: during
    another thread's fit they raise a RuntimeError rather than save torn weights.

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
    format_version : int, default 1
        1, or 2 for metadata that a chainrule reading format 1 only would misread (see
        the module docstring): that chainrule then refuses the file.
    """
    if not isinstance(net, Sequential):
        raise TypeError(f"net must be a chainrule Sequential, got {net!r}")
    if not isinstance(format_version, int) or isinstance(format_version, bool) \
            or format_version not in range(FIRST_FORMAT, FORMAT_VERSION + 1):
        raise ValueError(f"format_version must be one of {FIRST_FORMAT}..{FORMAT_VERSION}, "
                         f"got {format_version!r}")
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
                {np.dtype(t).name for t in DTYPES.values()}:
            raise TypeError(f"extra_tensors[{key!r}] must be a numeric array, got dtype {array.dtype}")
        if array.ndim > MAX_NDIM or len("extra." + key) > MAX_NAME:
            raise ValueError(f"extra_tensors[{key[:80]!r}] must have at most {MAX_NDIM} dimensions "
                             f"and a name of at most {MAX_NAME - 6} characters, got "
                             f"{array.ndim} and {len(key)}")
        tensors[f"extra.{key}"] = np.ascontiguousarray(array)
    try:
        user = json.dumps(metadata if metadata is not None else {})
        header = {"format": FORMAT, "format_version": str(format_version),
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
    try:  # load's checks of counts and sizes, on these bytes, before the old file is replaced
        _metadata(read_header(data, os.fspath(path)), os.fspath(path), len(data))
    except ValueError as error:
        raise ValueError(f"load would refuse this file, so it was not written: {error}") from None
    write_atomic(path, data)


def check_saveable(net):
    """ValueError unless :func:`load` can rebuild every layer of ``net`` with its own class
    (given ``layers=`` the program's classes): a file names a layer by its class name
    alone, so a class named like one of chainrule's, or two classes of one name, cannot be."""
    named = {}
    for i, layer in enumerate(net.layers):
        cls = type(layer)
        known = LAYERS.get(cls.__name__, named.get(cls.__name__, cls))
        if cls.forward is Layer.forward:
            raise ValueError(f"layer {i} ({layer!r}) has no forward of its own")
        if known is not cls:
            whose = ("chainrule's own" if cls.__name__ in LAYERS else
                     f"another class of that name, {known.__module__}.{known.__qualname__}, "
                     "which this network also holds")
            raise ValueError(f"layer {i} ({layer!r}) is of class {cls.__module__}."
                             f"{cls.__qualname__}, but a file naming {cls.__name__!r} loads as "
                             f"{whose}: give the class a name of its own")
        named[cls.__name__] = cls


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
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
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

def load(path, *, layers=()):
    """The network stored in ``path`` by :func:`save` (or ``net.save``).

    Parameters
    ----------
    path : str or os.PathLike
    layers : list of Layer subclasses, optional
        The program's own layer classes the file may use, e.g. ``[Swish]``. A file
        builds only chainrule's layers and these: never a class found by its name.
    """
    return load_with_extras(path, layers=layers)[0]


def load_with_extras(path, *, layers=()):
    """``(net, metadata, extra_tensors)`` from a file written by :func:`save`.

    ``layers`` is as for :func:`load`. Raises ValueError naming the problem for
    anything that is not a complete, consistent chainrule model file.
    """
    table = layer_table(layers)
    with open(path, "rb") as f:
        raw = f.read()
    where = os.fspath(path)
    header, tensors = _parse(raw, where)
    meta = header.get("__metadata__")
    if isinstance(meta, dict):
        _verify(meta, tensors, where)
    architecture, user, dtype = _metadata(header, where, len(raw))
    net = _rebuild(architecture, tensors, dtype, where, table)
    extras = {k[len("extra."):]: v for k, v in tensors.items() if k.startswith("extra.")}
    return net, user, extras


def _metadata(header, where, size):
    """``(architecture, user metadata, dtype)`` from a parsed header, each checked."""
    meta = header.get("__metadata__")
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
        raise ValueError(f"{where}: dtype {short(dtype)} is not a floating-point type chainrule uses")
    architecture = _json(meta, "architecture", where, size)
    user = _json(meta, "user", where, size)
    if not isinstance(user, dict):
        raise ValueError(f"{where}: user metadata must be a JSON object, got {type(user).__name__}")
    return architecture, user, np.dtype(dtype)


def _json(meta, key, where, size):
    """A metadata entry's JSON, measured before it is parsed: its arrays and objects, and
    for the architecture its layers, within what a file of ``size`` bytes may hold."""
    text = meta.get(key)
    if not isinstance(text, str):
        raise ValueError(f"{where}: the metadata has no {key!r} entry")
    what, shape, most = f"{where}: the {key!r} metadata", scan(text), most_items(size)
    if key == "architecture" and shape.items > most:
        raise ValueError(f"{where}: the architecture lists {shape.items} layers, more than the "
                         f"{most} a file of {size} bytes may hold ({FREE_ITEMS}, and one more "
                         f"per {BYTES_PER_ITEM} bytes): a corrupt or hostile file")
    check_json(shape, what, 4 * most)
    return decode_json(text, what)


def _parse(raw, where):
    """``(header, tensors)`` of the safetensors bytes ``raw``, every field checked first."""
    header = read_header(raw, where)
    try:
        tensors = _safetensors().load(bytes(raw))
    except Exception as error:  # the checks above should leave nothing for the library to reject
        raise ValueError(f"{where} could not be read as safetensors: {error}") from None
    return header, tensors


def _rebuild(architecture, tensors, dtype, where, table):
    """The Sequential the architecture describes, with the file's tensors as its state.

    ``table`` maps the class names a layer may have to their classes
    (:func:`chainrule.names.layer_table`)."""
    if not isinstance(architecture, list) or not architecture:
        raise ValueError(f"{where}: the architecture must be a non-empty list of layers")
    total = sum(t.size for t in tensors.values())
    layers, used = [], set()
    for i, entry in enumerate(architecture):
        if not isinstance(entry, dict) or not isinstance(entry.get("class"), str) \
                or not isinstance(entry.get("config"), dict):
            raise ValueError(f"{where}: architecture entry {i} must be "
                             f"{{'class': name, 'config': {{...}}}}, got {short(entry)}")
        name, config = entry["class"], entry["config"]
        cls = table.get(name)
        if cls is None:
            raise ValueError(_unknown_layer(name, i, table, where))
        # An absurd size in the config must not make us allocate before the
        # shape check below: sizes are bounded by the tensors actually present.
        # Each size alone, and their product (Dense(n_in, n_out) draws n_in·n_out
        # weights before they are compared with the file's), is bounded.
        sizes = {}
        for key, value in config.items():
            if isinstance(value, list) and value and all(is_count(v) for v in value):
                value = sum(value)   # one size per column (CategoryEmbedding): rows in all
            if whole_number(value, at_least=2):
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


def _unknown_layer(name, i, table, where):
    """The message for a layer class a file names that the loading program did not."""
    given = sorted(set(table) - set(LAYERS))
    example = name if name.isidentifier() and len(name) <= 40 else "MyLayer"
    return (f"{where}: layer {i} is of class {short(name)}, which is none of chainrule's layers "
            f"({', '.join(sorted(LAYERS))})" + (f" nor of those given ({', '.join(given)})"
                                                if given else "") +
            f". Loading builds no other class: if your program defines {example}, pass it, "
            f"cr.load(path, layers=[{example}])")


def _construct(cls, config, i, where):
    config = dict(config)
    if cls is Dense and config.get("init") not in (None, "normal", "uniform", "xavier", "he"):
        config.pop("init")  # a custom initialiser is not stored; the weights are
    try:
        return cls(**config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{where}: layer {i} cannot be rebuilt as {cls.__name__}"
                         f"(**{short(config)}): {error}"[:400]) from None
