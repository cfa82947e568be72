"""``cr.diagnose``'s report as text, in English or 简体中文, and its errors.

Every word the report says comes from ``WORDS``, one table per language with
the same keys (a test checks that each key has both), and so does every error
``cr.diagnose`` raises before there is a report (the keys ``error.*``: the
network, the loss, the learner's dict, its names and its shapes). Only the
words are translated: the equations, the names and the numbers stay as they are.
"""
from __future__ import annotations

import numpy as np

from .text import pad, width, wrap

#: The largest block of an array printed (rows, columns); the rest is elided.
SHOWN = (8, 6)

WORDS = {
    "en": {
        "first": "{name} differs: it is the first of your arrays that does, in the order "
                 "backpropagation computes them.",
        "before": "Before it, these match: {names}.",
        "also": "{name} differs too, from what your own earlier arrays imply.",
        "after": "After it, each compared with what your own earlier arrays imply, these "
                 "match: {names}.",
        "ok": "All {count} of your arrays match: {names}.",
        "nothing": "You gave no arrays to compare, only weights.",
        "tolerance": "Tolerance {tol} (√ε of {dtype}), relative to each array's largest entry.",
        "weights": "Your {names} were used in place of the network's.",
        "right_equation": "the right equation:",
        "yours": "yours", "right": "right",
        "largest": "the largest difference, at {where}: yours {mine}, right {right}",
        "row": "row {i}", "row_col": "row {i}, column {j}", "entry": "entry {j}",
        "more_rows": "… {k} more rows",
        "probably": "probably: {title} ({key})",
        "at_line": "on the line for {at}, which you did not give; the right one is  {equation}",
        "matches": "yours matches:",
        "matches_via": "yours matches {name} computed from:",
        "none": "probably: none of the mistakes chainrule knows reproduces it; compare your "
                "line with the right equation.",
        "makes_up": "Yours equals the true {name}: this line makes up for a mistake before it.",
        "title.missing_mean": "the loss's 1/m left out of the starting gradient",
        "title.sign": "the gradient's sign flipped",
        "title.loss_gradient": "the starting gradient of another loss",
        "title.missing_derivative": "the activation's derivative left out",
        "title.derivative_of_Z": "the activation's derivative computed from the wrong array",
        "title.bias_axis": "db summed over the wrong axis",
        "title.transposed": "a matrix transposed",
        "why.missing_mean": "Yours is {m} times the right one (m = {m}): {loss} averages over "
                            "the batch, so its gradient carries the 1/m, and so does every "
                            "gradient after it.",
        "why.sign": "Yours is the right one times −1. The gradient points uphill (A − Y at the "
                    "start, not Y − A), and gradient descent subtracts it.",
        "why.sign.line": "Yours is the right one times −1: a minus sign on this line that the "
                         "chain rule does not put there.",
        "why.loss_gradient": "This is the starting gradient of {other}, where that of {loss} "
                             "belongs. (Constant factors such as ½, 2 and 1/m were tried too: "
                             "the form itself differs.)",
        "why.loss_gradient.own": "This is the starting gradient of {loss} with another "
                                 "constant in front (that of ½·MSE, say, or of a sum, without "
                                 "the 1/m): chainrule's losses are plain means, as the right "
                                 "equation says.",
        "why.missing_derivative": "dZ = dA skips the derivative of {activation}: by the chain "
                                  "rule dZ = dA ⊙ g′(Z).",
        "why.derivative_of_Z": "The derivative of {activation} is a formula in one array (Z or "
                               "A, as its right equation says), evaluated here at another.",
        "why.derivative_of_Z.mask": "The derivative of {activation} is a mask, 1 where Z > 0 "
                                    "(the same as where A > 0) and 0, or α, elsewhere: yours "
                                    "takes it from another array, or puts A's values in its "
                                    "place.",
        "why.bias_axis": "db sums dZ over the samples, the rows (axis=0), because each bias is "
                         "added to every row. Yours sums each sample's units (axis=1); it has "
                         "the right shape only because the batch has as many rows as the layer "
                         "has units.",
        "why.transposed.W": "dZ·W where dZ·Wᵀ belongs: W is (n_in, n_out), and the gradient "
                            "goes back through it transposed. (It has the right shape only "
                            "because W is square.)",
        "why.transposed.dX": "The whole product dZ·Wᵀ transposed: a gradient has one row per "
                             "sample, as X does. (It has the right shape only because the batch "
                             "has as many rows as the layer has inputs.)",
        "why.transposed.dW": "dW transposed: dW has the shape of W, (n_in, n_out), which is "
                             "Xᵀ·dZ. (It has the right shape only because W is square.)",
        "loss.MSE": "mean squared error", "loss.MAE": "mean absolute error",
        "loss.Huber": "the Huber loss", "loss.BinaryCrossEntropy": "binary cross-entropy",
        "loss.CrossEntropy": "cross-entropy", "loss.other": "the loss",
        "form.mse": "squared error", "form.bce": "binary cross-entropy",
        "form.ce": "cross-entropy", "form.mae": "absolute error",
        # the errors met before any report: the English ones are chainrule's usual messages
        "error.net": "net must be a chainrule Sequential, got {kind}",
        "error.layer": "net: layer {i} is {layer}; diagnose follows the textbook loop, "
                       "Z = X·W + b then A = g(Z), so the network must be Dense layers, each "
                       "followed by at most one activation",
        "error.penalty": "net: layer {i} has an L1/L2 penalty ({layer}); the textbook loop has "
                         "none: diagnose a network without it",
        "error.empty": "net has no layers",
        "error.loss": "loss must be a chainrule Loss such as cr.MSE() or cr.CrossEntropy(), "
                      "got {loss}",
        "error.mine": "mine must be a dict of your arrays by their textbook names "
                      "(e.g. {{'dZ2': dZ2, 'dW2': dW2}}), got {kind}",
        "error.name": "mine has {key}, which is not one of the textbook names for this "
                      "network{hint}: {names}",
        "error.name.case": " (did you mean {name}? names are case-sensitive)",
        "error.name.own": " (X and y are diagnose's own arguments)",
        "error.name.layers": " (the network has {count} Dense layers, numbered from 1)",
        "error.shapes": "the shapes of your arrays do not fit the network:",
        "error.shape": "mine[{key}] has shape {shape}, but {what}",
        "error.shape.W": "layer {l} is Dense({n_in}, {n_out}), so {name} is (n_in, n_out) "
                         "= {expected}",
        "error.shape.b": "{name} has one entry per unit of layer {l}: {expected} (or {row})",
        "error.shape.per_sample": "; yours has one per sample, as a sum over axis 1 gives, "
                                  "where the sum over the samples (axis 0, Σ_rows) belongs",
        "error.shape.rows": "{name} has one row per sample ({n}) and one column per unit of "
                            "layer {l} ({n_out}): {expected}",
        "error.shape.transposed": "; yours is its transpose (chainrule puts one sample in each "
                                  "row, X·W)",
        "error.shared": "{message}",
    },
    "zh": {
        "first": "{name} 不对：按反向传播的计算顺序，它是你给出的数组中第一个不对的。",
        "before": "在它之前，这些都对：{names}。",
        "also": "{name} 也不对（与由你自己前面的数组推出的结果相比）。",
        "after": "在它之后（每个都与由你自己前面的数组推出的结果相比），这些都对：{names}。",
        "ok": "你给出的 {count} 个数组全都正确：{names}。",
        "nothing": "你没有给出可以比较的数组，只有权重。",
        "tolerance": "容差 {tol}（{dtype} 的 √ε），相对于每个数组中绝对值最大的元素。",
        "weights": "计算时用的是你的 {names}，而不是网络自己的。",
        "right_equation": "正确的式子：",
        "yours": "你的", "right": "正确的",
        "largest": "相差最大的是{where}：你的 {mine}，正确的 {right}",
        "row": "第 {i} 行", "row_col": "第 {i} 行第 {j} 列", "entry": "第 {j} 个",
        "more_rows": "…… 另有 {k} 行",
        "probably": "可能的错误：{title}（{key}）",
        "at_line": "错在 {at} 这一行（你没有给出它），正确的是  {equation}",
        "matches": "你的结果与此式相符：",
        "matches_via": "你的 {name} 与由此式算出的结果相符：",
        "none": "可能的错误：chainrule 已知的错误都无法重现这个结果；请对照正确的式子检查你这一行。",
        "makes_up": "你的 {name} 等于真正的值：这一行恰好抵消了前面的某个错误。",
        "title.missing_mean": "起始梯度漏掉了损失的 1/m",
        "title.sign": "梯度的符号反了",
        "title.loss_gradient": "用了另一个损失的起始梯度",
        "title.missing_derivative": "漏掉了激活函数的导数",
        "title.derivative_of_Z": "激活函数的导数用错了数组",
        "title.bias_axis": "db 沿错误的轴求和",
        "title.transposed": "矩阵转置错了",
        "why.missing_mean": "你的结果正好是正确值的 {m} 倍（m = {m}）：{loss}对整批数据取平均，"
                            "所以它的梯度带着 1/m，其后的每个梯度也都带着。",
        "why.sign": "你的结果是正确值乘以 −1。梯度指向上坡方向（起点处是 A − Y，不是 Y − A），"
                    "梯度下降再减去它。",
        "why.sign.line": "你的结果是正确值乘以 −1：这一行多了一个链式法则里没有的负号。",
        "why.loss_gradient": "这是{other}的起始梯度，而这里应当用{loss}的。"
                             "（½、2、1/m 这类常数因子都试过了：不同的是式子本身。）",
        "why.loss_gradient.own": "这是{loss}的起始梯度，但前面的常数不同（例如 ½·MSE 的，"
                                 "或没有 1/m 的求和的）：chainrule 的损失都是普通的平均值，"
                                 "正如正确的式子所写。",
        "why.missing_derivative": "dZ = dA 跳过了 {activation} 的导数：按链式法则应为 "
                                  "dZ = dA ⊙ g′(Z)。",
        "why.derivative_of_Z": "{activation} 的导数是关于某一个数组（Z 或 A，见正确的式子）的公式，"
                               "这里却代入了另一个数组。",
        "why.derivative_of_Z.mask": "{activation} 的导数是一个掩码：Z > 0 处为 1（与 A > 0 处相同），"
                                    "其余处为 0 或 α；你的掩码取自别的数组，或者用 A 的值代替了它。",
        "why.bias_axis": "db 应当把 dZ 沿样本（即行，axis=0）求和，因为每个偏置都加到了每一行上。"
                         "你的是把每个样本的各个单元相加（axis=1）；形状碰巧对，"
                         "只是因为这批数据的行数与这一层的单元数相同。",
        "why.transposed.W": "用了 dZ·W，应当是 dZ·Wᵀ：W 的形状是 (n_in, n_out)，梯度要经过它的转置传回去。"
                            "（形状碰巧对，只是因为 W 是方阵。）",
        "why.transposed.dX": "整个乘积 dZ·Wᵀ 被转置了：梯度应当像 X 一样，每个样本占一行。"
                             "（形状碰巧对，只是因为这批数据的行数与这一层的输入数相同。）",
        "why.transposed.dW": "dW 被转置了：dW 与 W 形状相同，是 (n_in, n_out)，即 Xᵀ·dZ。"
                             "（形状碰巧对，只是因为 W 是方阵。）",
        "loss.MSE": "均方误差", "loss.MAE": "平均绝对误差",
        "loss.Huber": "Huber 损失", "loss.BinaryCrossEntropy": "二元交叉熵",
        "loss.CrossEntropy": "交叉熵", "loss.other": "这个损失",
        "form.mse": "平方误差", "form.bce": "二元交叉熵",
        "form.ce": "交叉熵", "form.mae": "绝对误差",
        "error.net": "net 必须是 chainrule 的 Sequential，收到的是 {kind}",
        "error.layer": "net：第 {i} 层是 {layer}；diagnose 按教科书的循环来检查，先 Z = X·W + b，"
                       "再 A = g(Z)，所以网络必须由 Dense 层组成，每个 Dense 层后面最多跟一个激活函数",
        "error.penalty": "net：第 {i} 层带有 L1/L2 惩罚项（{layer}）；教科书的循环里没有惩罚项："
                         "请诊断一个不带惩罚项的网络",
        "error.empty": "net 里一层也没有",
        "error.loss": "loss 必须是 chainrule 的损失（Loss），例如 cr.MSE() 或 cr.CrossEntropy()，"
                      "收到的是 {loss}",
        "error.mine": "mine 必须是一个字典，按教科书里的名字存放你的数组"
                      "（例如 {{'dZ2': dZ2, 'dW2': dW2}}），收到的是 {kind}",
        "error.name": "mine 里有 {key}，它不是这个网络的教科书名字之一{hint}；可用的名字是：{names}",
        "error.name.case": "（你是不是想写 {name}？名字区分大小写）",
        "error.name.own": "（X 和 y 是 diagnose 自己的参数）",
        "error.name.layers": "（这个网络有 {count} 个 Dense 层，从 1 开始编号）",
        "error.shapes": "你的数组的形状与网络不符：",
        "error.shape": "mine[{key}] 的形状是 {shape}，但 {what}",
        "error.shape.W": "{name} 应为 (n_in, n_out) = {expected}，因为第 {l} 层是 "
                         "Dense({n_in}, {n_out})",
        "error.shape.b": "{name} 对第 {l} 层的每个单元各有一个数：{expected}（或 {row}）",
        "error.shape.per_sample": "；你的却是每个样本一个数，这是沿 axis 1 求和得到的，"
                                  "而这里应当对样本求和（axis 0，Σ_rows）",
        "error.shape.rows": "{name} 每个样本占一行（共 {n} 行），第 {l} 层的每个单元占一列"
                            "（共 {n_out} 列）：{expected}",
        "error.shape.transposed": "；你的正好是应有形状的转置（chainrule 把每个样本放在一行里，X·W）",
        # X, y and the numbers in the arrays are checked as fit checks them, in English
        "error.shared": "这项检查是 chainrule 各处共用的（fit 也用它），它的说明只有英文：{message}",
    },
}


def check_lang(lang):
    """``lang`` if the report speaks it; else a ValueError in both languages, the reader's
    being the one not known."""
    if not isinstance(lang, str) or lang not in WORDS:
        raise ValueError(f"lang must be one of {', '.join(WORDS)}, got {lang!r} "
                         f"(lang 只能是 {'、'.join(WORDS)} 之一)")
    return lang


def _words(lang):
    return WORDS[check_lang(lang)]


def say(lang, key, /, **fields):
    """The sentence ``key`` in ``lang``, its blanks filled in."""
    return _words(lang)[key].format(**fields)


def _number(v):
    return f"{v + 0.0:.4g}"   # + 0.0: −0.0 prints as 0


def _grid(label, a):
    """An array as lines of aligned numbers under its label, the first SHOWN rows and columns."""
    a = np.atleast_2d(np.asarray(a, dtype=np.float64))
    rows, cols = SHOWN
    cells = [[_number(v) for v in row[:cols]] + (["…"] if a.shape[1] > cols else [])
             for row in a[:rows]]
    widths = [max(len(r[j]) for r in cells) for j in range(len(cells[0]))]
    return [label] + ["  ".join(c.rjust(w) for c, w in zip(row, widths)) for row in cells]


def _shape(a):
    return "×".join(map(str, a.shape)) if a.ndim > 1 else f"{a.shape[0]},"


def _side_by_side(left, right, indent="  "):
    columns = max(width(s) for s in left)
    return [(indent + pad(a, columns) + "   " + b).rstrip()
            for a, b in zip(left + [""] * (len(right) - len(left)),
                            right + [""] * (len(left) - len(right)))]


def _largest(finding, w):
    """Where yours and the right array differ most, and both numbers there."""
    mine, right = finding.mine, finding.right
    gap = np.abs(mine - right)
    gap[~np.isfinite(gap)] = np.inf
    flat = int(np.argmax(gap))
    index = np.unravel_index(flat, mine.shape)
    where = w["row_col"].format(i=index[0], j=index[1]) if mine.ndim == 2 and mine.shape[1] > 1 \
        else w["row"].format(i=index[0]) if mine.ndim == 2 else w["entry"].format(j=index[0])
    return w["largest"].format(where=where, mine=_number(mine[index]),
                               right=_number(right[index]))


def _arrays(finding, w):
    """The right equation, then yours beside the right numbers."""
    mine, right = finding.mine, finding.right
    lines = [f"  {w['right_equation']}  {finding.line.numbered()}"]
    lines += _side_by_side(_grid(f"{w['yours']} ({_shape(mine)})", mine),
                           _grid(f"{w['right']} ({_shape(right)})", right))
    shown = np.atleast_2d(mine).shape[0]
    if shown > SHOWN[0]:
        lines.append("  " + w["more_rows"].format(k=shown - SHOWN[0]))
    lines.append("  " + _largest(finding, w))
    return lines


def _why(finding, w):
    """The explanation of the mistake, its numbers filled in."""
    key, at = finding.mistake, finding.at
    g, loss = at.extras.get("g"), at.extras.get("loss")
    activation = type(g).__name__ if g is not None else "Identity"
    name = type(loss).__name__ if loss is not None else "other"
    fill = {"m": at.extras.get("m", ""), "activation": activation,
            "loss": w.get(f"loss.{name}", w["loss.other"]),
            "other": w.get(f"form.{finding.detail}", "")}
    return w[why_key(key, finding.detail)].format(**fill)


def why_key(key, detail):
    """The words explaining mistake ``key`` of variant ``detail``: its own, or the key's."""
    slot = f"why.{key}.{detail}"
    return slot if slot in WORDS["en"] else f"why.{key}"


def _explained(finding, w):
    """The block for one finding: the arrays, then what the mistake probably is."""
    lines = _arrays(finding, w) + [""]
    if finding.mistake is None:
        return lines + wrap(w["none"], indent="  ")
    at = finding.at
    lines.append("  " + w["probably"].format(title=w[f"title.{finding.mistake}"],
                                             key=finding.mistake))
    if at.name != finding.name:
        lines.append("  " + w["at_line"].format(at=at.name, equation=at.numbered()))
        lines.append(f"  {w['matches_via'].format(name=finding.name)}  {finding.wrong_equation}")
    else:
        lines.append(f"  {w['matches']}  {finding.wrong_equation}")
    return lines + wrap(_why(finding, w), indent="  ")


def to_text(report, lang="en"):
    """The report as text in ``lang``: see :class:`chainrule.diagnose.DiagnosisReport`."""
    w = _words(lang)
    join = ", ".join
    out = []
    if report.ok:
        out += wrap(w["ok"].format(count=len(report.checked), names=join(report.checked))
                    if report.checked else w["nothing"])
    else:
        first = report.findings[0]
        before = report.checked[:report.checked.index(first.name)]
        out += wrap(w["first"].format(name=first.name))
        if before:
            out += wrap(w["before"].format(names=join(before)))
        out += [""] + _explained(first, w)
        for finding in report.findings[1:]:
            out += [""] + wrap(w["also"].format(name=finding.name)) + _explained(finding, w)
            if finding.makes_up:
                out += wrap(w["makes_up"].format(name=finding.name), indent="  ")
        after = [name for name in report.checked[report.checked.index(first.name) + 1:]
                 if name not in {f.name for f in report.findings}]
        if after:
            out += [""] + wrap(w["after"].format(names=join(after)))
    out += [""] + wrap(w["tolerance"].format(tol=f"{report.tolerance:.2g}",
                                             dtype=report.dtype.name))
    if report.weights:
        out += wrap(w["weights"].format(names=join(report.weights)))
    return "\n".join(out)
