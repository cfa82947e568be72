"""The playground's words: one table per language, read by the server and by the page.

``static/words.en.json`` and ``static/words.zh.json`` hold every word a learner
reads: the page, its tooltips, its statuses and errors, the server's messages
to the page, the ledger's titles and notes, the unit and connection panels.
The page fetches both tables; the server fills the same tables for the
messages it sends (``say``) and the ledger's words.

A text is a template. ``{name}`` is replaced by the argument ``name``;
``{name|kind}`` by the table's word for ``kind.<value>`` (a field, a data set,
an output, a feature, named by its key), so a message can name "learning rate"
or "学习率" where the request said ``lr``. A list argument is joined with the
table's ``list.separator``. ``playground.js``'s ``fill`` follows the same rule.
"""
from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

#: The page's languages, in the order its menu lists them.
LANGUAGES = ("en", "zh")
#: ``{name}`` or ``{name|kind}`` in a template.
SLOT = re.compile(r"\{(\w+)(?:\|(\w+))?\}")


@cache
def table(lang):
    """The word table of ``lang`` (a dict of key -> template)."""
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, got {lang!r}")
    text = (resources.files("chainrule.playground") / "static" / f"words.{lang}.json").read_text("utf-8")
    return json.loads(text)


def fill(template, args, words):
    """``template`` with its slots filled from ``args`` by the rule above (``words``: a table)."""
    def one(value, kind):
        if kind:
            return words.get(f"{kind}.{value}", str(value))
        return shown(value)

    def slot(match):
        name, kind = match.groups()
        value = args[name]
        if isinstance(value, (list, tuple)):
            return words["list.separator"].join(one(v, kind) for v in value)
        return one(value, kind)
    return SLOT.sub(slot, template)


def say(key, lang="en", **args):
    """The message ``key`` in ``lang``, its slots filled from ``args``."""
    words = table(lang)
    return fill(words[key], args, words)


def shown(value):
    """A value as a message shows it: a number in its shortest form (0.5, 1e-06), text as is."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    return f"{value:g}" if isinstance(value, float) else str(value)


def received(value, limit=40):
    """What a request sent, as its message quotes it: ``repr`` cut to ``limit`` characters
    (a hostile value may be long), so that it travels as JSON text whatever it was."""
    text = repr(value)
    return text if len(text) <= limit else text[:limit - 1] + "…"
