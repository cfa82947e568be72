"""The docs show the code that runs.

Every block of docs/*.md marked ``<!-- quoted from PATH -->`` quotes PATH: each run of
its lines (runs are separated by blank lines), stripped of indentation, is a run of
consecutive lines of that file once its docstrings, comments and blank lines are set
aside, so a doc can neither show a line the library no longer runs nor stitch lines
together from different places. docs/backprop.md's examples run and print what the page shows, and so
do those of docs/diagnose.md; each has a 简体中文 twin (docs/backprop.zh.md, docs/diagnose.zh.md) that
quotes the same lines, runs the same code in the same order and prints what it shows.
(docs/new-layer.md's examples run in tests/test_new_layer.py, which tests what they define.)
"""
import ast
import difflib
import re

import pytest

from conftest import DOCS, ROOT, doc_blocks, run_doc_examples

QUOTES = [block for page in sorted(DOCS.glob("*.md")) for block in doc_blocks(page)
          if block.quoted_from]


@pytest.mark.parametrize("page", ["backprop.md", "backprop.zh.md"])
def test_backprop_md_quotes_the_layers(page):
    quoted = {block.quoted_from for block in QUOTES if block.page.name == page}
    assert {"src/chainrule/nn/layers.py", "src/chainrule/nn/activations.py",
            "src/chainrule/nn/losses.py"} <= quoted


def _code_lines(text):
    """The file's lines of code, stripped, with their line numbers: docstrings, comment
    lines and blank lines set aside."""
    skip = set()
    for node in ast.walk(ast.parse(text)):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and isinstance(body[0], ast.Expr) \
                and isinstance(body[0].value, ast.Constant) and isinstance(body[0].value.value, str):
            skip.update(range(body[0].lineno, body[0].end_lineno + 1))
    return [(n, line.strip()) for n, line in enumerate(text.splitlines(), 1)
            if n not in skip and line.strip() and not line.strip().startswith("#")]


def _runs(lines):
    """The quoted block's runs of non-blank lines, stripped, with their offsets."""
    runs, current = [], []
    for i, line in enumerate(lines):
        if line.strip():
            current.append((i, line.strip()))
        elif current:
            runs.append(current)
            current = []
    return runs + ([current] if current else [])


@pytest.mark.parametrize("block", QUOTES, ids=[block.where for block in QUOTES])
def test_quoted_blocks_are_runs_of_their_file(block):
    source = ROOT / block.quoted_from
    assert source.is_file(), f"{block.where} quotes {block.quoted_from}, which does not exist"
    code = [line for _, line in _code_lines(source.read_text(encoding="utf-8"))]
    missing = []
    for run in _runs(block.lines):
        quoted = [line for _, line in run]
        if not any(code[k:k + len(quoted)] == quoted for k in range(len(code) - len(quoted) + 1)):
            first = block.page.relative_to(ROOT), block.line + run[0][0]
            missing.append(f"{first[0]}:{first[1]}: " + " / ".join(quoted[:3]) +
                           (" / ..." if len(quoted) > 3 else ""))
    assert not missing, (f"runs of lines quoted from {block.quoted_from} that are not one "
                         "piece of it (quote the code as it is, in one piece):\n" + "\n".join(missing))


def test_a_stitched_quote_is_refused():
    # the check itself: two real lines of Dense, from different methods, are not one run
    text = (ROOT / "src/chainrule/nn/layers.py").read_text(encoding="utf-8")
    code = [line for _, line in _code_lines(text)]
    stitched = ["def backward(self, dZ, need_dX=True):", "return np.dot(X, self.W) + self.b              # Z = X·W + b"]
    assert all(line in code for line in stitched)
    assert not any(code[k:k + 2] == stitched for k in range(len(code) - 1))


def _assert_prints_what_it_shows(block, printed):
    expected = block.output.text
    diff = "".join(difflib.unified_diff(expected.splitlines(True), printed.splitlines(True),
                                        f"{block.output.where} (the page)", "printed"))
    assert printed == expected, f"the example at {block.where} prints otherwise:\n{diff}"


@pytest.mark.parametrize("page", ["backprop.md", "backprop.zh.md"])
def test_backprop_examples_print_what_the_page_shows(page):
    ran, _ = run_doc_examples(DOCS / page)
    shown = [(block, printed) for block, printed in ran if block.output is not None]
    assert len(shown) == 2   # the tiny network's ledger, and the fused pair's
    for block, printed in shown:
        _assert_prints_what_it_shows(block, printed)


@pytest.mark.parametrize("page", ["diagnose.md", "diagnose.zh.md"])
def test_diagnose_examples_print_what_the_page_shows(page):
    ran, _ = run_doc_examples(DOCS / page)
    shown = [(block, printed) for block, printed in ran if block.output is not None]
    # the correct loop, the seven mistakes, a subset, a shape error, tanh
    assert len(shown) == 11
    for block, printed in shown:
        _assert_prints_what_it_shows(block, printed)


@pytest.mark.parametrize("page, told_in_chinese", [("diagnose", 10), ("backprop", 2)])
def test_the_chinese_page_runs_the_same_code(page, told_in_chinese):
    def examples(name):
        return [block.text for block in doc_blocks(DOCS / name) if block.lang == "python"]
    # the examples, and the quoted lines, in the same order: only the language they print in
    # differs (a ledger's or a report's .to_text(lang="zh"), cr.diagnose's lang="zh")
    chinese = [text.replace('.to_text(lang="zh")', "").replace(', lang="zh")', ")")
               for text in examples(f"{page}.zh.md")]
    assert chinese == examples(f"{page}.md")
    assert sum('lang="zh")' in text for text in examples(f"{page}.zh.md")) == told_in_chinese
    # and it prints Chinese: the ledger's and the report's words, not the English ones
    printed = "".join(out for _, out in run_doc_examples(DOCS / f"{page}.zh.md")[0])
    assert "反向" in printed or "正确" in printed
    assert not any(word in printed for word in ("backward", "forward", "layer 0", "inside the fused",
                                                "the starting gradient", "correct", "mistake"))


def test_the_chinese_pages_are_translations_not_copies():
    # every paragraph of prose says something in Chinese (code, equations and tables aside)
    for page in ("backprop.zh.md", "diagnose.zh.md"):
        text = re.sub(r"```.*?```", "", (DOCS / page).read_text(encoding="utf-8"), flags=re.S)
        paragraphs = [p for p in text.split("\n\n") if p.strip() and not p.startswith(("    ", "|", "!", "<!--"))
                      and p.strip() != "[English](" + page.replace(".zh", "") + ")"]
        english = [p for p in paragraphs if not re.search(r"[\u4e00-\u9fff]", p)]
        assert not english, f"{page}: paragraphs left in English:\n" + "\n---\n".join(english)
