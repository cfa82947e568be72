"""The README's ten-line example runs and prints what the README says it prints, on any machine."""
import contextlib
import io
import re
from pathlib import Path

import numpy as np

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    text = README.read_text()
    section = text[text.index("## Ten lines"):]
    code, output = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    return code, output


def _run(code, **names):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README example", "exec"), dict(names))
    return out.getvalue().splitlines()


def test_readme_example_prints_what_the_readme_shows():
    code, expected = _blocks()
    # every figure, to the digits shown: the example trains in float64, where no machine's
    # rounding reaches the fourth significant digit (the next test measures how far it is)
    assert _run(code) == expected.rstrip("\n").splitlines()


def test_readme_figures_hold_when_the_rounding_differs(monkeypatch):
    # Another CPU sums in another order and rounds exp differently: a relative change of
    # about 1e-16 per operation. Start from weights changed by 1e-9, far more, and the
    # figures the README shows are still the ones printed. (In float32 a change of 1e-7
    # in the weights, one rounding, moves a printed fourth digit: why the README is float64.)
    code, expected = _blocks()
    assert "dtype=np.float64" in code
    import chainrule as cr
    real_mlp = cr.mlp

    def nudged(*args, **kwargs):
        net = real_mlp(*args, **kwargs)
        rng = np.random.default_rng(1)
        for layer in net.layers:
            if hasattr(layer, "W"):
                layer.W[...] *= 1 + 1e-9 * rng.standard_normal(layer.W.shape)
        return net
    monkeypatch.setattr(cr, "mlp", nudged)
    assert _run(code) == expected.rstrip("\n").splitlines()
