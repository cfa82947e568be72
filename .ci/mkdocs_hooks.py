"""mkdocs hooks: links between a page and its 简体中文 twin.

The pages link their twins by file (``[简体中文](diagnose.zh.md)``), which GitHub follows.
mkdocs-static-i18n builds each language apart, so the English build does not know the
``.zh.md`` files: there such a link is pointed at the page the Chinese build writes
(``zh/diagnose/``). In the Chinese build a link to ``diagnose.md`` means the Chinese page;
a Chinese page's ``[English](diagnose.md)`` is pointed at the English build's page.
"""
from __future__ import annotations

import posixpath
import re

_TWIN = re.compile(r"\]\((?P<stem>[\w./-]+)\.zh\.md(?P<anchor>#[^)\s]*)?\)")
_ENGLISH = re.compile(r"\[English\]\((?P<stem>[\w./-]+)\.md(?P<anchor>#[^)\s]*)?\)")


def _relative(built, page, anchor):
    here = page.url if page.url.endswith("/") else posixpath.dirname(page.url)  # "" for the home page
    return posixpath.relpath(built, here or ".") + "/" + (anchor or "")


def _built(stem, prefix=""):
    return prefix + ("" if stem == "index" else stem + "/") or "."


def on_page_markdown(markdown, page, config, files):
    def rewrite(match):
        target = match.group("stem") + ".zh.md"
        if files.get_file_from_path(target) is not None:   # the Chinese build: mkdocs resolves it
            return match.group(0)
        return "](" + _relative(_built(match.group("stem"), "zh/"), page, match.group("anchor")) + ")"

    def english(match):
        return "[English](" + _relative(_built(match.group("stem")), page, match.group("anchor")) + ")"
    if page.file.src_uri.endswith(".zh.md"):
        markdown = _ENGLISH.sub(english, markdown)
    return _TWIN.sub(rewrite, markdown)
