"""The README's ten-line example runs and prints what the README says it prints."""
import contextlib
import io
import re
from pathlib import Path

README = Path(__file__).resolve().parents[1] / "README.md"


def _blocks():
    text = README.read_text()
    section = text[text.index("## Ten lines"):]
    code, output = re.findall(r"```(?:python)?\n(.*?)```", section, re.S)[:2]
    return code, output


def _shape(line):
    """A printed line with its numbers blanked: the structure the README promises."""
    return re.sub(r"-?\d+(\.\d+)?(e[-+]?\d+)?", "#", line).rstrip()


def test_readme_example_prints_what_the_readme_shows():
    code, expected = _blocks()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(code, "README example", "exec"), {})
    printed, shown = out.getvalue().splitlines(), expected.rstrip("\n").splitlines()
    assert printed[0] == shown[0]            # the rounded predictions, exactly
    assert [_shape(line) for line in printed] == [_shape(line) for line in shown]
