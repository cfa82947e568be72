"""The ledger drawn for people: as text and as an HTML page, in English or 简体中文.

Each step shows its equation, then the arrays it reads and writes side by
side in the order the equation names them (``X | W | b → Z``;
``Xᵀ | dZ → dW``). A backward step also shows the forward arrays its
equation uses, marked with the number of the step they come from, so that
``dW = Xᵀ·dZ`` has its X beside it. Only the words are translated; the
equations stay as they are.
"""
from __future__ import annotations

import html
import re
import textwrap

import numpy as np

from .text import pad, wrap
from .text import width as text_width

#: Largest array printed in full by the text ledger (rows, columns); the HTML page shows all.
FULL = (12, 8)

WORDS = {
    "en": {"forward": "forward", "backward": "backward", "update": "update", "loss": "loss",
           "layer": "layer {i}", "from": "from #{i}", "mean": "mean {m}, max|·| {x}",
           "fused": "(fused output and loss)", "after": "loss after the update, same batch",
           "title": "Chain-rule ledger", "row": "row {i}", "unit": "unit {j}", "in": "in {i}",
           "out": "out {j}", "inside_fused": "(inside the fused loss)", "no_update": "no update"},
    "zh": {"forward": "前向", "backward": "反向", "update": "更新", "loss": "损失",
           "layer": "第 {i} 层", "from": "取自第 {i} 步", "mean": "均值 {m}，最大绝对值 {x}",
           "fused": "（输出层与损失合并计算）", "after": "更新之后，同一批数据上的损失",
           "title": "链式法则账本", "row": "样本 {i}", "unit": "单元 {j}", "in": "输入 {i}",
           "out": "输出 {j}", "inside_fused": "（在合并计算的损失之内）", "no_update": "没有更新"},
}

#: What the trace writes after the equation of an output activation folded into the loss,
#: and as the equation of an update that changes nothing: told in the ledger's language.
INSIDE_FUSED = "   (inside the fused loss)"
NO_UPDATE = "no update"

#: The ledger's notes, retold for Chinese readers (matched by their English start).
NOTES_ZH = [
    ("the textbook form first", "先写教科书上的形式，再写实际计算所用的形式：两者数值相同，"
     "但后者永远不会去算 log 0，即使 A 被舍入成恰好 0 或 1。"),
    ("sigmoid + binary cross-entropy, fused", "sigmoid 与二元交叉熵合并计算："
     "dA = (A − Y) / (A(1 − A)) / m 乘上 σ'(Z) = A(1 − A)，分母正好约去，只剩 dZ = (A − Y) / m。"),
    ("softmax + cross-entropy, fused", "softmax 与交叉熵合并计算：dA = −Y / A / n 经过 softmax 的"
     "雅可比矩阵 dZ = A ⊙ (dA − Σ_c (dA ⊙ A)_c) 之后只剩 (A − Y) / n，因为 Y 的每一行之和为 1。"),
    ("exp + Poisson, fused", "exp 与泊松损失合并计算：dA = (1 − Y / A) / m 乘上 e^Z = A，"
     "只剩 dZ = (A − Y) / m，而且从不需要由 A 去算 log A = Z。"),
    ("the starting gradient", "反向传播的起点：损失对网络输出的梯度。"),
    ("the layer's penalty", "这一层的正则项 l1·Σ|W| + l2·ΣW² 也是损失的一部分（数值 {0}）。"),
    ("the layer's own penalty", "这一层自己的正则项也是损失的一部分（数值 {0}）。"),
    ("plain gradient descent", "普通梯度下降，学习率 lr = {0}。"),
    ("Δ by", "Δ 由优化器 {0} 根据梯度 d 和它保存的状态算出。"),
    ("would refuse", "优化器会拒绝这一步：结果不是有限数。"),
]


def _words(lang):
    if lang not in WORDS:
        raise ValueError(f"lang must be one of {', '.join(WORDS)}, got {lang!r}")
    return WORDS[lang]


def note_text(note, lang):
    """``note`` in ``lang`` (the English itself when no retelling is known)."""
    if lang == "en" or not note:
        return note
    for start, told in NOTES_ZH:
        if start in note:
            number = re.search(r"(?:= |lr = )([-+0-9.e]+)|(\w+\(.*\))", note)
            arg = next((g for g in (number.groups() if number else ()) if g), "")
            return told.format(arg)
    return note


def equations(step, lang):
    """The step's equations, one a line, with the trace's own words in ``lang``."""
    w = _words(lang)
    if step.equation == NO_UPDATE:
        return [w["no_update"]]
    lines = step.equation.split(";  ")
    if lines[-1].endswith(INSIDE_FUSED):
        lines[-1] = lines[-1][:-len(INSIDE_FUSED)] + "   " + w["inside_fused"]
    return lines


def step_label(step, lang):
    """``"layer 0: Dense"``, ``"loss: MSE"`` (in ``lang``)."""
    w = _words(lang)
    kind = type(step.layer).__name__
    if step.index is None:
        return f"{w['update' if step.phase == 'update' else 'loss']}: {kind}"
    return f"{w['layer'].format(i=step.index)}: {kind}"


def operands(trace, k):
    """``[(name, value, source)]`` of step ``k``: its arrays in the order its equation names
    them, with the forward arrays a backward step reads (source: that step's number)."""
    step = trace.steps[k]
    if step.phase == "update":
        return [(n, v, None) for n, v in step.values.items()]
    pool = {n: (v, None) for n, v in step.values.items()}
    if step.phase == "backward" and step.index is not None:
        for j, other in enumerate(trace.steps):
            if other.index == step.index and other.phase == "forward":
                for n, v in other.values.items():
                    pool.setdefault(n, (v, j))
                break
    # each equation reads right to left: the operands on its right first, then what it makes
    order = []
    for eq in step.equation.split(";  "):
        lhs, _, rhs = eq.partition(" = ")
        for name in _names_in(rhs, pool) + _names_in(lhs, pool):
            if name not in order:
                order.append(name)
    order += [n for n in step.values if n not in order]  # own arrays the equation leaves unnamed
    return [(n, pool[n][0], pool[n][1]) for n in order]


def _names_in(text, names):
    """The ``names`` that stand alone in ``text`` (X in "Xᵀ·dZ", not in "dX" or "W_new"), in order."""
    hits = []
    for name in names:
        for m in re.finditer(rf"(?<![A-Za-zΔ]){re.escape(name)}(?![A-Za-z]|_new)", text):
            hits.append((m.start(), name))
    return [n for _, n in sorted(hits)]


def _shape(value):
    shape = np.shape(value)
    return "×".join(map(str, shape)) if len(shape) > 1 else f"{shape[0]}," if shape else ""


def _number(v):
    return f"{v:.4g}"


def _block(name, value, source, w):
    """A text block: the label, then the numbers (or a summary of a large array)."""
    label = name + (f" ({_shape(value)})" if np.ndim(value) else "")
    if source is not None:
        label += " " + w["from"].format(i=source)
    if np.ndim(value) == 0:
        return [f"{name} = {_number(float(value))}"]
    a = np.atleast_2d(np.asarray(value, dtype=np.float64))
    if a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    if a.shape[0] > FULL[0] or a.shape[1] > FULL[1]:
        return [label, w["mean"].format(m=f"{a.mean():.3g}", x=f"{np.abs(a).max():.3g}")]
    cells = [[_number(v) for v in row] for row in a]
    widths = [max(len(r[j]) for r in cells) for j in range(a.shape[1])]
    return [label] + ["  ".join(c.rjust(wd) for c, wd in zip(row, widths)) for row in cells]


def _side_by_side(blocks, width, indent="    "):
    """Blocks of lines next to each other, wrapped onto new lines past ``width``."""
    lines, group, used = [], [], len(indent)
    def flush():
        if not group:
            return
        widths = [max(text_width(s) for s in b) for b in group]
        for r in range(max(len(b) for b in group)):
            cells = [pad(b[r] if r < len(b) else "", wd) for b, wd in zip(group, widths)]
            lines.append((indent + "   ".join(cells)).rstrip())
    for block in blocks:
        size = max(text_width(s) for s in block) + 3
        if group and used + size > width:
            flush()
            group, used = [], len(indent)
        group.append(block)
        used += size
    flush()
    return lines


def to_text(trace, lang="en", width=110):
    w = _words(lang)
    out = []
    for k, step in enumerate(trace.steps):
        out.append(f"#{k}  {step_label(step, lang)} · {w[step.phase]}")
        out += [f"    {eq}" for eq in equations(step, lang)]
        if step.note:
            note = f"({note_text(step.note, lang)})"
            if lang == "en":
                out += textwrap.wrap(note, width, initial_indent="    ", subsequent_indent="     ")
            else:  # Chinese breaks between characters, each two columns wide
                lines = wrap(note, width, indent="     ")
                out += ["    " + lines[0][5:]] + lines[1:]
        out += _side_by_side([_block(n, v, s, w) for n, v, s in operands(trace, k)], width)
        out.append("")
    out.append(f"{w['loss']} {trace.loss:.6g}" + (f"   {w['fused']}" if trace.fused else ""))
    if trace.loss_after is not None:
        out.append(f"{w['after']} {trace.loss_after:.6g}")
    return "\n".join(out)


# -- HTML --------------------------------------------------------------------------------

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:80em;margin:auto;padding:0 1em;color:#222}
section{border:1px solid #ddd;border-left:6px solid #999;border-radius:4px;margin:.8em 0;
 padding:.4em .8em;background:#fff}
section.forward{border-left-color:#2b7bb9}section.backward{border-left-color:#e8743b}
section.loss{border-left-color:#3ba272}section.update{border-left-color:#8e5bb5}
h3{margin:.2em 0;font-size:1em}h3 .phase{display:inline-block;min-width:5em;font-size:.8em;
 text-transform:uppercase;color:#666}.num{color:#888;margin-right:.6em}
code{font-size:1.05em}.note{color:#555;font-style:italic;margin:.2em 0}
.ops{display:flex;flex-wrap:wrap;gap:1em;align-items:flex-start}
table.a{border-collapse:collapse;font-family:monospace;font-size:12px}
table.a caption{text-align:left;font-weight:bold;font-family:sans-serif;padding-bottom:2px}
table.a caption a{font-weight:normal;font-size:.9em;margin-left:.4em}
table.a td{border:1px solid #e4e4e4;padding:1px 6px;text-align:right}
table.a th{font-weight:normal;color:#777;padding:1px 4px;text-align:right;font-size:11px}
p.total{font-size:1.1em}
"""


def _colour(v, top):
    if not np.isfinite(v) or top == 0:
        return ""
    alpha = 0.55 * abs(v) / top
    rgb = "43,123,185" if v > 0 else "232,116,59"
    return f" style='background:rgba({rgb},{alpha:.2f})'"


def _html_array(name, value, source, w):
    """One operand as a table: labelled rows and columns, cells coloured by sign and size."""
    esc = html.escape
    shape = np.shape(value)
    caption = esc(name) + (f" <small>({_shape(value)})</small>" if shape else "")
    if source is not None:
        caption += f"<a href='#s{source}'>{esc(w['from'].format(i=source))}</a>"
    a = np.atleast_2d(np.asarray(value, dtype=np.float64))
    if a.ndim > 2:
        a = a.reshape(a.shape[0], -1)
    weights = name.lstrip("dΔ").split("_")[0] == "W"
    rows = (lambda i: w["in"].format(i=i)) if weights else (lambda i: w["row"].format(i=i))
    cols = (lambda j: w["out"].format(j=j)) if weights else (lambda j: w["unit"].format(j=j))
    top = float(np.nanmax(np.abs(a[np.isfinite(a)]))) if np.isfinite(a).any() else 0.0
    head = "" if not shape else "<tr><th></th>" + "".join(
        f"<th>{esc(cols(j))}</th>" for j in range(a.shape[1])) + "</tr>"
    body = "".join(
        "<tr>" + (f"<th>{esc(rows(i))}</th>" if len(shape) > 1 else "<th></th>" if shape else "")
        + "".join(f"<td{_colour(v, top)} title='{v!r}'>{v:.6g}</td>" for v in row) + "</tr>"
        for i, row in enumerate(a))
    return f"<table class='a'><caption>{caption}</caption>{head}{body}</table>"


def to_html(trace, lang="en"):
    w = _words(lang)
    esc = html.escape
    parts = [f"<!DOCTYPE html><html lang='{lang}'><head><meta charset='utf-8'>"
             f"<title>chainrule: {esc(w['title'])}</title><style>{_STYLE}</style></head><body>",
             f"<h1>{esc(w['title'])}</h1>"]
    for k, step in enumerate(trace.steps):
        kind = "loss" if step.index is None and step.phase != "update" else step.phase
        phase = w[step.phase]
        parts.append(f"<section id='s{k}' class='{kind}'><h3><span class='num'>#{k}</span>"
                     f"<span class='phase'>{esc(phase)}</span> {esc(step_label(step, lang))}</h3>")
        parts += [f"<p><code>{esc(eq)}</code></p>" for eq in equations(step, lang)]
        if step.note:
            parts.append(f"<p class='note'>{esc(note_text(step.note, lang))}</p>")
        parts.append("<div class='ops'>" + "".join(
            _html_array(n, v, s, w) for n, v, s in operands(trace, k)) + "</div></section>")
    total = f"{w['loss']} = {trace.loss:.6g}" + (f" {w['fused']}" if trace.fused else "")
    if trace.loss_after is not None:
        total += f"<br>{esc(w['after'])} = {trace.loss_after:.6g}"
    parts.append(f"<p class='total'>{total}</p></body></html>")
    return "\n".join(parts)
