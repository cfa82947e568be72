"""Text for a terminal in English or 简体中文: widths, padding and wrapping that count a wide
(CJK) character as the two columns it takes. The ledger, cr.diagnose's report and the demos
print through these."""
from __future__ import annotations

import re
import unicodedata


def width(text):
    """Columns ``text`` takes in a terminal: two for each wide (CJK) character."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def pad(text, columns):
    return text + " " * (columns - width(text))


def wrap(text, columns=100, indent=""):
    """``text`` in lines of at most ``columns`` columns, ``indent`` before each. Lines break at
    spaces, and between any two wide characters (Chinese needs no spaces to break at), but
    never before a closing mark such as ，or ）, nor after an opening one such as （."""
    # a closing mark stays with what it closes, a number's as well as a character's ("1.77。"),
    # an opening mark with what it opens, and a name in brackets in English text, "(简体中文)", whole
    pieces = re.findall(r"\s+|\([\u2e80-\uffef]+\)[^\s\u2e80-\uffef]*|[^\s\u2e80-\uffef]+[，。、：；）！？」》]*"
                        r"|[（「《]*[\u2e80-\uffef][，。、：；）！？」》]*", text)
    lines, line = [], ""
    for piece in pieces:
        if piece.isspace():
            line += " " if line else ""
        elif line and width(indent + line + piece) > columns:
            lines.append(line.rstrip())
            line = piece
        else:
            line += piece
    lines.append(line.rstrip())
    return [indent + line for line in lines if line]
