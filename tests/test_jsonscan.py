"""The JSON scanner: what it says parsing would build, checked against the parser itself."""
import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chainrule.files.jsonscan import CHUNK, JSONShape, scan

#: Text a string may hold: the bytes the scanner watches, escapes, and non-ASCII.
_TRICKY = st.text(st.sampled_from('"\\[]{},:ab é中\n\t'), max_size=12)
_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | _TRICKY,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_TRICKY, inner, max_size=4),
    max_leaves=30)


def _shape(value, depth=0):
    """``(depth, containers)`` of a Python value, counted by walking it."""
    if isinstance(value, (list, dict)):
        children = list(value.values() if isinstance(value, dict) else value)
        below = [_shape(child, depth + 1) for child in children]
        return (max([depth + 1] + [d for d, _ in below]), 1 + sum(c for _, c in below))
    return (depth, 0)


@settings(max_examples=200, deadline=None)
@given(value=_VALUES, ascii_only=st.booleans(), chunk=st.sampled_from([1, 2, 3, 7, CHUNK]))
def test_scan_agrees_with_the_parsed_value(value, ascii_only, chunk):
    text = json.dumps(value, ensure_ascii=ascii_only)
    depth, containers = _shape(json.loads(text))
    got = scan(text, chunk=chunk)
    assert (got.depth, got.containers) == (depth, containers)
    if isinstance(value, (list, dict)) and value:
        assert got.items == len(value)


@settings(max_examples=200, deadline=None)
@given(text=st.text(st.sampled_from('"\\[]{},a'), max_size=40), chunk=st.integers(1, 9))
def test_any_text_scans_the_same_in_chunks_of_any_size(text, chunk):
    assert scan(text, chunk=chunk) == scan(text)


@pytest.mark.parametrize("text, shape", [
    ("", JSONShape(0, 0, 0)), ("1", JSONShape(0, 0, 0)), ("[]", JSONShape(1, 1, 1)),
    ("[1, 2, [3, 4]]", JSONShape(2, 3, 2)), ('{"a": 1, "b": {"c": []}}', JSONShape(3, 2, 3)),
    (r'["\"[[", "\\", "]"]', JSONShape(1, 3, 1)),            # escaped quote, then backslash
    (r'["\\\"[", 1]', JSONShape(1, 2, 1)),                   # \\ then \" : still a string
    ('"' + '\\"' * 1000 + "[[[", JSONShape(0, 0, 0)),        # never closed: all string
    ("[" * 5000, JSONShape(5000, 1, 5000)),
])
def test_scan_of_edge_cases(text, shape):
    assert scan(text) == scan(text.encode(), chunk=3) == shape


def test_a_backslash_run_across_a_chunk_boundary_is_counted_whole():
    text = '["' + "\\" * 5 + '"", [1]]'      # \\ \\ \" : the string ends at the second quote
    assert json.loads(text) == ['\\\\"', [1]]
    for chunk in range(1, len(text) + 1):
        assert scan(text, chunk=chunk) == JSONShape(2, 2, 2)
