"""Measuring JSON before it is parsed: how deep it nests, how many items it lists.

A model file's JSON is hostile until checked, and Python's parser is not the
place to find out: it recurses once per level of nesting, and it builds every
object before anyone can count them. :func:`scan` reads the text once, in
fixed-size chunks of vectorised passes (each byte is looked at a fixed number
of times, whatever the bytes are), and says what parsing it would build.

It needs to know where strings are, since brackets and commas inside a string
are text. A string starts and ends at a quote that no backslash escapes, and a
quote is escaped exactly when the run of backslashes just before it is odd
(``\\"`` is an escaped quote, ``\\\\"`` a backslash and then a real quote). So
per chunk: the length of the backslash run before each byte, the quotes that
are real, their running count (odd means inside a string), and then the
running sum of +1 per ``[``/``{`` and -1 per ``]``/``}`` outside strings,
which is the depth at each byte. What carries from one chunk to the next is
four numbers: inside a string or not, the parity of a backslash run that
reaches the chunk's end, the depth, and the counts so far.

On text that is not JSON the counts are still computed, in the same time;
they agree with the parser on the longest prefix that is JSON, which is all
the parser can reach before it stops, so the depth bounds the parser's
recursion on any text.
"""
from __future__ import annotations

from typing import NamedTuple

import numpy as np

#: Bytes per vectorised pass (its scratch arrays take a few megabytes, whatever the text).
CHUNK = 1 << 16

_QUOTE, _BACKSLASH, _COMMA = ord('"'), ord("\\"), ord(",")
_OPEN, _CLOSE = (ord("["), ord("{")), (ord("]"), ord("}"))


class JSONShape(NamedTuple):
    """What parsing a JSON text would build.

    depth : int
        The deepest nesting (0 for ``1``, 1 for ``[1]``, 2 for ``{"a": [1]}``).
    items : int
        The number of items in the outermost array or object: the commas at
        depth 1, plus one (so an upper bound, exact unless it is empty).
        0 when the text is no array or object.
    containers : int
        The number of arrays and objects in all.
    """

    depth: int
    items: int
    containers: int


def scan(text, chunk=CHUNK):
    """The :class:`JSONShape` of ``text`` (str or bytes), in time linear in its length.

    Parameters
    ----------
    text : str, bytes or bytearray
        JSON text; a str is read as its UTF-8 bytes (a multi-byte character
        never contains a quote, a backslash, a bracket or a comma).
    chunk : int, default CHUNK
        Bytes per pass (a test makes it small to exercise the carries).
    """
    data = text.encode("utf-8") if isinstance(text, str) else text
    codes = np.frombuffer(data, np.uint8)
    state = _State()
    for start in range(0, len(codes), chunk):
        state.read(codes[start:start + chunk])
    items = state.commas + 1 if state.containers else 0
    return JSONShape(state.deepest, items, state.containers)


class _State:
    """What one chunk hands the next (see the module's docstring)."""

    def __init__(self):
        self.in_string = 0    # 1 when the chunk so far ends inside a string
        self.escaping = 0     # 1 when it ends in an odd run of backslashes
        self.depth = self.deepest = self.commas = self.containers = 0

    def read(self, codes):
        backslash = codes == _BACKSLASH
        position = np.arange(len(codes), dtype=np.int32)
        # the last byte at or before each position that is not a backslash (-1: none here)
        last_other = np.maximum.accumulate(np.where(backslash, np.int32(-1), position))
        run = position - last_other                      # backslashes ending at each position
        run[last_other < 0] += self.escaping             # a run carried from the chunk before
        escaped = np.empty(len(codes), bool)             # the byte before ends an odd run
        escaped[0] = self.escaping
        escaped[1:] = run[:-1] % 2 == 1
        quote = (codes == _QUOTE) & ~escaped
        outside = (np.cumsum(quote, dtype=np.int32) + self.in_string) % 2 == 0
        opens = outside & ((codes == _OPEN[0]) | (codes == _OPEN[1]))
        closes = outside & ((codes == _CLOSE[0]) | (codes == _CLOSE[1]))
        depth = np.cumsum(opens.astype(np.int32) - closes, dtype=np.int64) + self.depth
        self.deepest = max(self.deepest, int(depth.max()))
        self.commas += int(np.count_nonzero(outside & (codes == _COMMA) & (depth == 1)))
        self.containers += int(np.count_nonzero(opens))
        self.depth = int(depth[-1])
        self.in_string = int(not outside[-1])
        self.escaping = int(run[-1] % 2)
