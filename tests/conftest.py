"""Shared fixtures and helpers for the chainrule tests.

* ``rng``: a seeded numpy Generator (never the global ``np.random``).
* ``engine``: runs a test once on each engine, NumPy and compiled (the compiled
  run skipped where numba is missing or ``CHAINRULE_ENGINE=numpy`` forces NumPy).
* ``assert_close``: worst relative error ``max|a − b| / max|b|`` against a
  tolerance, failing with a readable diff (which array, where, the values).
* ``blas_tolerance``, ``assert_blas_close``, ``sums_length``: the tolerance between
  two evaluations of the same sums that BLAS may order differently (row count,
  kernel, threads), derived from the dtype and the length of the sums. Tests use
  these, never bitwise equality, for results of matrix products.
* ``torch_twin``: the PyTorch network equal to a chainrule ``Sequential``
  (each Dense becomes a ``torch.nn.Linear`` whose weight is ``W`` transposed).
* ``Probe``: a pass-through layer that records what flows through it, used to
  read dX on the training path and to watch dtypes inside ``fit``.
* ``numeric_gradient``: central differences of a scalar function of an array.
* ``doc_blocks``, ``run_doc_examples``: the fenced code blocks of a page in docs/,
  and its examples run in order (see ``doc_blocks`` for the conventions).
* ``english_words``: the English words left in a text told in 简体中文, names set aside.
"""
from __future__ import annotations

import contextlib
import io
import os
import re
from pathlib import Path
from typing import NamedTuple

import numpy as np
import pytest

import chainrule as cr
from chainrule import engine as _engine
from chainrule.explain.gradcheck import numeric_gradient  # noqa: F401  (for the tests: ∂f/∂x by central differences)
from chainrule.nn.layers import Layer

#: CI runs the engine tests a second time with the NumPy engine forced.
FORCED_NUMPY = os.environ.get("CHAINRULE_ENGINE", "").strip().lower() == "numpy"


def numba_works():
    with _engine.using("auto"):
        return _engine.compiled() is not None


@pytest.fixture(params=["numpy", "compiled"])
def engine(request):
    """Run the test on one engine; the compiled one only where numba runs and is not forced off."""
    if request.param == "compiled":
        if FORCED_NUMPY:
            pytest.skip("CHAINRULE_ENGINE=numpy forces the NumPy engine")
        if not numba_works():
            pytest.skip("numba is not installed (pip install 'chainrule[fast]')")
    with _engine.using(request.param):
        yield request.param


@pytest.fixture
def rng(request):
    """A Generator seeded from the test's name, so each test has its own fixed stream."""
    seed = sum(map(ord, request.node.name)) % (2**32)
    return np.random.default_rng(seed)


# -- comparisons -----------------------------------------------------------------

def relative_error(actual, expected):
    """max|a − b| / max|b| (the absolute error when b is all zeros)."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    err = np.max(np.abs(actual - expected), initial=0.0)
    scale = np.max(np.abs(expected), initial=0.0)
    return float(err / scale) if scale > 0 else float(err)


def assert_close(actual, expected, tol=1e-7, name="array"):
    """Fail, with the worst entries shown, when the relative error exceeds ``tol``."""
    if hasattr(expected, "detach"):  # a torch tensor
        expected = expected.detach().numpy()
    actual, expected = np.asarray(actual), np.asarray(expected)
    if actual.shape != expected.shape:
        pytest.fail(f"{name}: shape {actual.shape} != expected {expected.shape}")
    if not np.all(np.isfinite(actual)):
        bad = np.argwhere(~np.isfinite(actual))[:5].tolist()
        pytest.fail(f"{name}: non-finite values at {bad}")
    rel = relative_error(actual, expected)
    if rel <= tol:
        return rel
    diff = np.abs(actual.astype(np.float64) - expected.astype(np.float64))
    worst = np.argsort(diff, axis=None)[::-1][:5]
    lines = [f"{name}: worst relative error {rel:.3e} > {tol:.1e} "
             f"(shape {actual.shape}, max|expected| {np.max(np.abs(expected), initial=0):.6g})",
             "  index            chainrule               expected                |diff|"]
    for flat in worst:
        idx = np.unravel_index(flat, actual.shape) if actual.ndim else ()
        a, e = actual[idx], expected[idx]
        lines.append(f"  {tuple(int(i) for i in idx)!s:<16} {a: .15e}  {e: .15e}  {diff[idx]:.3e}")
    pytest.fail("\n".join(lines))


# -- results of matrix products ------------------------------------------------------
# BLAS promises no order of summation: OpenBLAS picks its kernel by CPU (or
# OPENBLAS_CORETYPE), a matrix-vector routine for one row, edge kernels and blocks
# by row count, and splits the work by thread count; each order rounds differently
# in the last bits. Two such evaluations agree only within a tolerance.

#: Units in the last place allowed per term of a sum (see blas_tolerance).
BLAS_ULPS = 4


def blas_tolerance(dtype, length, ulps=BLAS_ULPS):
    """Relative tolerance ``ulps · length · eps(dtype)`` between two orders of the same sums.

    Any order of a sum of ``length`` terms is within about ``length · eps · Σ|terms|``
    of the exact sum (the classical bound on a sum's rounding error), so two orders
    are within twice that of each other; ``ulps`` leaves room for the activations
    between layers, which carry a difference on. For a network, ``length`` is the
    total length of the sums on the way to its output (``sums_length``).
    """
    return ulps * length * float(np.finfo(dtype).eps)


def sums_length(net):
    """The total length of the sums a network's output goes through: each layer's
    input width (a Dense layer's fan-in, a normalisation's mean), and the output's
    width (a softmax's denominator)."""
    return sum(getattr(layer, "n_in", 0) or 0 for layer in net.layers) + (net.n_out or 0)


def assert_blas_close(actual, expected, length, name="array", ulps=BLAS_ULPS):
    """``assert_close`` at ``blas_tolerance`` of the less precise dtype of the two
    (float64 for arrays that are not floating-point)."""
    if hasattr(expected, "detach"):  # a torch tensor
        expected = expected.detach().numpy()
    dtypes = [np.asarray(a).dtype for a in (actual, expected)]
    floats = [d for d in dtypes if d.kind == "f"] or [np.dtype(np.float64)]
    dtype = min(floats, key=lambda d: d.itemsize)
    return assert_close(actual, expected, tol=blas_tolerance(dtype, length, ulps), name=name)


# -- a probe layer ------------------------------------------------------------------

class Probe(Layer):
    """Identity layer that records the arrays passing through it (forward X, backward dA)."""

    def __init__(self):
        self.seen_X, self.seen_dA = [], []

    def forward(self, X):
        self.seen_X.append(X.copy())
        return X

    def backward(self, dA):
        self.seen_dA.append(dA.copy())
        return dA


# -- the PyTorch twin ------------------------------------------------------------------

def raw_model_file(arch, tensors, overrides=None):
    """The bytes of a chainrule model file written by hand: ``arch`` (the architecture
    records), ``tensors`` (name -> array) and ``overrides`` of the metadata, so that a test
    can hand the loader a file that chainrule itself would never write."""
    import json

    from safetensors.numpy import save
    meta = {"format": "chainrule", "format_version": "1", "chainrule_version": "0.1.0",
            "dtype": "float32", "architecture": json.dumps(arch), "user": "{}"}
    meta.update(overrides or {})
    return save(tensors, metadata=meta)


def torch_activation(layer):
    import torch
    table = {
        cr.Sigmoid: lambda l: torch.nn.Sigmoid(),
        cr.Tanh: lambda l: torch.nn.Tanh(),
        cr.ReLU: lambda l: torch.nn.ReLU(),
        cr.LeakyReLU: lambda l: torch.nn.LeakyReLU(l.alpha),
        cr.ELU: lambda l: torch.nn.ELU(l.alpha),
        cr.GELU: lambda l: torch.nn.GELU(),  # approximate="none": the exact erf form
        cr.Softplus: lambda l: torch.nn.Softplus(),
        cr.Identity: lambda l: torch.nn.Identity(),
        cr.Softmax: lambda l: torch.nn.Softmax(dim=-1),
    }
    return table[type(layer)](layer)


def torch_twin(net, drop_last=False):
    """``torch.nn.Sequential`` computing the same function as ``net``, in float64.

    Each ``Dense`` becomes a ``Linear`` with ``weight = Wᵀ`` and ``bias = b``;
    ``Probe`` layers are skipped. With ``drop_last`` the final layer (e.g. the
    Softmax before CrossEntropyLoss, which takes logits) is left out.
    """
    import torch
    modules = []
    layers = net.layers[:-1] if drop_last else net.layers
    for layer in layers:
        if isinstance(layer, Probe):
            continue
        if isinstance(layer, cr.Dense):
            linear = torch.nn.Linear(layer.n_in, layer.n_out, dtype=torch.float64)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.array(layer.W, np.float64).T))
                linear.bias.copy_(torch.from_numpy(np.array(layer.b, np.float64)))
            modules.append(linear)
        else:
            modules.append(torch_activation(layer))
    return torch.nn.Sequential(*modules)


def torch_dense_pairs(net, twin):
    """[(chainrule Dense index, torch Linear), ...] in order."""
    dense = [i for i, layer in enumerate(net.layers) if isinstance(layer, cr.Dense)]
    linears = [m for m in twin if type(m).__name__ == "Linear"]
    assert len(dense) == len(linears)
    return list(zip(dense, linears))


# -- words told in 简体中文 ---------------------------------------------------------------

def english_words(text, names=()):
    """The words of ``text`` that are English: runs of 3+ Latin letters, ``names`` set aside
    (and any word with a digit or underscore in it, which is code: dW1, x1, val_loss)."""
    words = re.findall(r"[A-Za-z_][A-Za-z0-9_]*", text)
    return sorted({w for w in words if w not in names and not re.search(r"[\d_]", w) and len(w) >= 3})


# -- the code blocks of the docs ------------------------------------------------------

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
_QUOTED = re.compile(r"<!--\s*quoted from (\S+)\s*-->")


class DocBlock(NamedTuple):
    page: Path
    line: int            # line number (1-based) of the block's first line of code
    lang: str            # "python", "sh", or "" for a plain block
    quoted_from: str     # the file a quote comes from (relative to the repository), or ""
    lines: list          # the lines of code, without the fences
    output: object       # for an example: the plain block right after it (what it prints), or None

    @property
    def text(self):
        return "".join(line + "\n" for line in self.lines)

    @property
    def where(self):
        return f"{self.page.relative_to(ROOT)}:{self.line}"


def doc_blocks(page):
    """The fenced code blocks of a markdown page, in order.

    Conventions of docs/*.md:

    * a block right after the comment ``<!-- quoted from src/chainrule/nn/layers.py -->``
      quotes that file: each of its lines is a line of the file (tests/test_docs.py);
    * any other ``python`` block is an example: a page's examples run in order, in one
      namespace, as a reader would run them (``run_doc_examples``);
    * a plain block (no language) right after an example, with only blank lines between,
      is what the example prints.
    """
    lines = Path(page).read_text(encoding="utf-8").splitlines()
    blocks, quoted, previous_end, i = [], "", None, 0
    while i < len(lines):
        line = lines[i].strip()
        marker = _QUOTED.fullmatch(line)
        if marker:
            if i + 1 == len(lines) or not lines[i + 1].startswith("```"):
                raise ValueError(f"{page}:{i + 1}: '{line}' must come right before a ``` block")
            quoted = marker.group(1)
        elif line.startswith("```"):
            end = next(j for j in range(i + 1, len(lines)) if lines[j].strip() == "```")
            block = DocBlock(Path(page), i + 2, line[3:].strip(), quoted, lines[i + 1:end], None)
            if block.lang == "" and blocks and blocks[-1].lang == "python" \
                    and not blocks[-1].quoted_from \
                    and not any(text.strip() for text in lines[previous_end + 1:i]):
                blocks[-1] = blocks[-1]._replace(output=block)
            blocks.append(block)
            quoted, previous_end, i = "", end, end
        i += 1
    return blocks


def run_doc_examples(page, namespace=None):
    """Run a page's examples in order in one namespace; return ``[(block, printed), ...]``.

    The namespace's ``__name__`` is ``docs_<page>`` (the module its classes report, as if
    the reader had saved the page's code as a script of that name); a traceback names
    the page and its line.
    """
    page = Path(page)
    if namespace is None:
        namespace = {"__name__": "docs_" + page.stem.replace("-", "_")}
    ran = []
    for block in doc_blocks(page):
        if block.lang != "python" or block.quoted_from:
            continue
        printed = io.StringIO()
        code = "\n" * (block.line - 1) + block.text  # so line numbers are the page's
        with contextlib.redirect_stdout(printed):
            exec(compile(code, str(page.relative_to(ROOT)), "exec"), namespace)
        ran.append((block, printed.getvalue()))
    return ran, namespace
