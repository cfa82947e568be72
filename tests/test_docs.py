"""The docs show the code that runs.

Every block of docs/*.md marked ``<!-- quoted from PATH -->`` quotes PATH: each of its
lines, stripped of indentation, is a line of that file, so a doc cannot show a line the
library no longer runs. docs/backprop.md's examples run and print what the page shows, and so
do those of docs/diagnose.md and its 简体中文 twin docs/diagnose.zh.md, which runs the same code.
(docs/new-layer.md's examples run in tests/test_new_layer.py, which tests what they define.)
"""
import difflib

import pytest

from conftest import DOCS, ROOT, doc_blocks, run_doc_examples

QUOTES = [block for page in sorted(DOCS.glob("*.md")) for block in doc_blocks(page)
          if block.quoted_from]


def test_backprop_md_quotes_the_layers():
    quoted = {block.quoted_from for block in QUOTES if block.page.name == "backprop.md"}
    assert {"src/chainrule/nn/layers.py", "src/chainrule/nn/activations.py",
            "src/chainrule/nn/losses.py"} <= quoted


@pytest.mark.parametrize("block", QUOTES, ids=[block.where for block in QUOTES])
def test_quoted_lines_are_lines_of_their_file(block):
    source = ROOT / block.quoted_from
    assert source.is_file(), f"{block.where} quotes {block.quoted_from}, which does not exist"
    lines = {line.strip() for line in source.read_text(encoding="utf-8").splitlines()}
    missing = [f"{block.page.relative_to(ROOT)}:{block.line + i}: {line.strip()!r}"
               for i, line in enumerate(block.lines)
               if line.strip() and line.strip() not in lines]
    assert not missing, (f"lines quoted from {block.quoted_from} that are not in it "
                         "(update the doc to quote the code as it is):\n" + "\n".join(missing))


def _assert_prints_what_it_shows(block, printed):
    expected = block.output.text
    diff = "".join(difflib.unified_diff(expected.splitlines(True), printed.splitlines(True),
                                        f"{block.output.where} (the page)", "printed"))
    assert printed == expected, f"the example at {block.where} prints otherwise:\n{diff}"


def test_backprop_examples_print_what_the_page_shows():
    ran, _ = run_doc_examples(DOCS / "backprop.md")
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


def test_the_chinese_diagnose_page_runs_the_same_code():
    def examples(page):
        return [block.text for block in doc_blocks(DOCS / page) if block.lang == "python"]
    chinese = [text.replace('.to_text(lang="zh")', "") for text in examples("diagnose.zh.md")]
    assert chinese == examples("diagnose.md")
    assert sum('.to_text(lang="zh")' in text for text in examples("diagnose.zh.md")) == 9
