"""The safetensors header of a model file, checked before anything is built from it.

A file's claims are bounded by its size: the header's JSON is measured by a
linear scan (:func:`chainrule.jsonscan.scan`) before it is parsed (its depth,
its entries, its arrays and objects), every tensor's dtype, shape and byte
span is checked against the bytes actually present, and each count a file
makes (layers, tensors) may be at most :func:`most_items` of its size. What
this module refuses is a ValueError naming the file and the rule.
"""
from __future__ import annotations

import json
import reprlib
import struct

import numpy as np

from ..nn.checks import whole_number as is_count  # a count, a dimension, an offset
from .jsonscan import scan

#: The safetensors dtype names chainrule reads, and the numpy dtypes they map to.
DTYPES = {"F16": np.float16, "F32": np.float32, "F64": np.float64,
          "I8": np.int8, "I16": np.int16, "I32": np.int32, "I64": np.int64,
          "U8": np.uint8, "U16": np.uint16, "U32": np.uint32, "U64": np.uint64,
          "BOOL": np.bool_}
#: safetensors' own limit on the JSON header, so a hostile length cannot make us allocate.
MAX_HEADER = 100_000_000
#: The deepest JSON nesting a file may hold. Python's json parser recurses once
#: per level (RecursionError near 1000); chainrule's own entries nest about 5 deep.
MAX_DEPTH = 100
#: A file may ask for FREE_ITEMS layers (or tensors) and one more per BYTES_PER_ITEM
#: bytes of its size (see most_items).
FREE_ITEMS = 1024
BYTES_PER_ITEM = 256
#: The most dimensions a tensor may have (NumPy 1's limit; NumPy 2 allows 64).
MAX_NDIM = 32
#: The longest tensor name, in characters (chainrule's own are under 60).
MAX_NAME = 512


def short(value):
    """A repr of a value read from a file, at most about 200 characters long (for
    error messages: the value may be megabytes)."""
    bounded = reprlib.Repr()
    bounded.maxlevel, bounded.maxdict, bounded.maxlist, bounded.maxstring = 3, 4, 4, 80
    return bounded.repr(value)


def most_items(size):
    """How many layers, and how many tensors, a file of ``size`` bytes may hold.

    ``FREE_ITEMS + size // BYTES_PER_ITEM``. Building a layer or a tensor costs
    load about 1 KB (its JSON decoded, its object, its place in the network), while
    its entry in the file takes a few dozen bytes: a file of 5 MB naming 140,000
    ReLU layers made load take 18 times its size. With one item per 256 bytes
    beyond the first thousand, what the items cost stays within about 1 MB plus
    four times the file. A file saved by chainrule meets it unless it holds
    thousands of layers of almost no weights.
    """
    return FREE_ITEMS + size // BYTES_PER_ITEM


def check_json(shape, what, most=None):
    """ValueError naming ``what`` if the scanned JSON nests deeper than :data:`MAX_DEPTH`
    (Python's parser would exhaust its recursion limit) or holds more than ``most``
    arrays and objects (each costs the parser 60-230 bytes)."""
    if shape.depth > MAX_DEPTH:
        raise ValueError(f"{what} nests {shape.depth} levels deep, more than the {MAX_DEPTH} "
                         "a chainrule file may hold (a corrupt or hostile file)")
    if most is not None and shape.containers > most:
        raise ValueError(f"{what} holds {shape.containers} JSON arrays and objects, more than "
                         f"the {most} a file of its size may hold (a corrupt or hostile file)")


def decode_json(text, what):
    """``json.loads(text)``, or ValueError naming ``what`` if it is not JSON (measure it
    with :func:`check_json` first)."""
    try:
        return json.loads(text)
    except ValueError as error:
        raise ValueError(f"{what} is not valid JSON ({error})"[:400]) from None


def read_header(raw, where):
    """The header of ``raw``, checked against the bytes actually present; it is measured
    (depth, entries, arrays and objects) before it is parsed."""
    size = len(raw)
    if size < 8:
        raise ValueError(f"{where} is not a safetensors file: {size} bytes, too short for "
                         "the 8-byte header length (truncated or empty?)")
    (n,) = struct.unpack("<Q", raw[:8])
    if n > MAX_HEADER:
        raise ValueError(f"{where} is not a safetensors file: its first 8 bytes give a header "
                         f"length of {n} bytes, more than the {MAX_HEADER}-byte limit "
                         "(a file of another kind, e.g. a pickle, renamed?)")
    if 8 + n > size:
        raise ValueError(f"{where} is truncated or corrupt: its header claims {n} bytes but "
                         f"only {size - 8} follow the length field")
    what = f"{where} is not a safetensors file: its header"
    shape = scan(memoryview(raw)[8:8 + n])
    check_json(shape, what)
    most = most_items(size)
    if shape.items > most + 1:  # +1: the metadata
        raise ValueError(f"{where}: the header lists {shape.items} tensors, more than the {most} "
                         f"a file of {size} bytes may hold ({FREE_ITEMS}, and one more per "
                         f"{BYTES_PER_ITEM} bytes): a corrupt or hostile file")
    # a tensor's entry is an object with two arrays; the header and its metadata are objects
    check_json(shape, what, 3 * shape.items + 2)
    try:
        text = raw[8:8 + n].decode("utf-8")
    except UnicodeDecodeError as error:
        raise ValueError(f"{what} is not JSON ({type(error).__name__}: {error})") from None
    header = decode_json(text, what)
    if not isinstance(header, dict):
        raise ValueError(f"{where}: the safetensors header must be a JSON object")
    meta = header.get("__metadata__")
    if meta is not None and (not isinstance(meta, dict) or
                             not all(isinstance(v, str) for v in meta.values())):
        raise ValueError(f"{where}: __metadata__ must map strings to strings")
    buffer = size - 8 - n
    _check_spans([_span(name, info, buffer, size, where) for name, info in header.items()
                  if name != "__metadata__"], buffer, where)
    return header


def _span(name, info, buffer, size, where):
    """``(begin, end, name)`` of one tensor's bytes, its entry checked."""
    if len(name) > MAX_NAME:
        raise ValueError(f"{where}: a tensor name has {len(name)} characters, more than the "
                         f"{MAX_NAME} a chainrule file may use ({short(name)})")
    if not isinstance(info, dict) or set(info) != {"dtype", "shape", "data_offsets"}:
        raise ValueError(f"{where}: tensor {name!r} must have exactly dtype, shape and "
                         f"data_offsets, got {short(info)}")
    dtype, shape, offsets = info["dtype"], info["shape"], info["data_offsets"]
    if dtype not in DTYPES:
        raise ValueError(f"{where}: tensor {name!r} has unsupported dtype {short(dtype)}; "
                         f"supported: {', '.join(DTYPES)}")
    # each size is bounded by the file too: a dimension of 0 lets the others be anything
    if not isinstance(shape, list) or len(shape) > MAX_NDIM or \
            not all(is_count(d) and d <= size for d in shape):
        raise ValueError(f"{where}: tensor {name!r} has invalid shape {short(shape)} (at most "
                         f"{MAX_NDIM} sizes, each at most the file's {size} bytes)")
    if not isinstance(offsets, list) or len(offsets) != 2 or not all(map(is_count, offsets)):
        raise ValueError(f"{where}: tensor {name!r} has invalid data_offsets {short(offsets)}")
    begin, end = offsets
    expected = int(np.prod(shape, dtype=object)) * np.dtype(DTYPES[dtype]).itemsize
    if end < begin or end - begin != expected:
        raise ValueError(f"{where}: tensor {name!r} of dtype {dtype} and shape {shape} "
                         f"needs {expected} bytes, but its data_offsets {offsets} span "
                         f"{end - begin}")
    if end > buffer:
        raise ValueError(f"{where} is truncated or corrupt: tensor {name!r} ends at byte "
                         f"{end} of the data, which holds only {buffer} bytes")
    return begin, end, name


def _check_spans(spans, buffer, where):
    """ValueError unless the tensors' bytes tile the data exactly, without gap or overlap."""
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


