"""A chain-rule ledger (``chainrule.trace.Trace``) as JSON for the page.

The numbers are the Trace's own copies, sent at full precision (a float64
survives the trip through JSON exactly), so what the page shows is what the
layers computed. Nothing is recomputed here: this module only relabels.

Each entry says which Dense layer it belongs to (``dense``: a Dense layer and
the activation after it share a number), so the page can gather one unit's
column of Z, A, dA, dZ for the batch when that unit is clicked.
"""
from __future__ import annotations

import numpy as np

from ..nn.layers import Dense
from ..explain.trace_views import WORDS, note_text

_UPDATES = {
    "sgd": "W ← W − lr·dW and b ← b − lr·db",
    "adam": "Adam: each parameter moves by lr · m̂ / (√v̂ + ε), m and v running averages of "
            "dW (and db) and of their squares",
    "adamw": "AdamW: as Adam, with weight decay applied to the weights directly",
    "rmsprop": "RMSprop: each parameter moves by lr · dW / (√v + ε), v a running average of dW²",
    "adagrad": "Adagrad: each parameter moves by lr · dW / (√G + ε), G the sum of all past dW²",
}
_UPDATES_ZH = {
    "sgd": "W ← W − lr·dW，b ← b − lr·db",
    "adam": "Adam：每个参数移动 lr · m̂ / (√v̂ + ε)，其中 m 和 v 分别是 dW（及 db）与其平方的滑动平均",
    "adamw": "AdamW：与 Adam 相同，另外直接对权重做权重衰减",
    "rmsprop": "RMSprop：每个参数移动 lr · dW / (√v + ε)，v 是 dW² 的滑动平均",
    "adagrad": "Adagrad：每个参数移动 lr · dW / (√G + ε)，G 是以往所有 dW² 的累加和",
}


def _values(values):
    out = {}
    for name, value in values.items():
        a = np.asarray(value, dtype=np.float64)
        out[name] = a.tolist() if np.all(np.isfinite(a)) else \
            np.where(np.isfinite(a), a, None).tolist()
    return out


def _title(step, lang="en"):
    words, layer = WORDS[lang], step.layer
    if step.index is None:
        head = words["update" if step.phase == "update" else "loss"]
        return f"{head} {type(layer).__name__}" if lang == "en" else f"{head}：{type(layer).__name__}"
    where = words["layer"].format(i=step.index) + (": " if lang == "en" else "：")
    if isinstance(layer, Dense):
        shape = f"({layer.n_in} → {layer.n_out})" if lang == "en" else f"（{layer.n_in} → {layer.n_out}）"
        return f"{where}Dense{shape}"
    return f"{where}{type(layer).__name__}"


def ledger_json(trace, *, net, rows, step, optimizer, lr):
    """The page's view of ``trace``: one entry per Trace step, in order.

    Parameters
    ----------
    trace : chainrule.trace.Trace
    net : Sequential
        The traced network (to number its Dense layers).
    rows : array of int
        Which training rows formed the batch.
    step : int
        The number of the training step this batch was, counted from 1 as the
        page's step counter shows it after the step.
    optimizer, lr : str, float
        How the gradients were then applied.
    """
    dense, count = {}, -1
    for i, layer in enumerate(net.layers):
        count += isinstance(layer, Dense)
        dense[i] = count
    entries = []
    for s in trace.steps:
        # the loss, and the fused starting gradient, are the hinge between the two passes
        starting = (s.index is None and s.phase != "update") or (trace.fused and s.phase == "backward"
                                       and s.index == len(net.layers) - 1)
        entries.append({
            "layer": s.index, "dense": dense.get(s.index), "phase": s.phase,
            "kind": "loss" if starting else s.phase, "title": _title(s),
            # the entry of dW = Xᵀ·dZ itself (a penalty entry after it adds to dW)
            "dense_backward": s.phase == "backward" and isinstance(s.layer, Dense) and "dZ" in s.values,
            "equation": s.equation, "note": s.note,
            "zh": {"title": _title(s, "zh"), "note": note_text(s.note, "zh")},
            "shapes": {k: list(v) for k, v in s.shapes.items()}, "values": _values(s.values),
        })
    if trace.fused:
        why = next((s.note for s in trace.steps if "fused" in s.note), "")
        note = ("Backpropagation starts at the last layer's logits Z, never forming dA: "
                f"{why}.")
        note_zh = f"反向传播从最后一层的 logits Z 直接开始，不单独求 dA：{note_text(why, 'zh')}"
    else:
        note = ("Backpropagation starts from dA = ∂L/∂A of the network's output (the starting "
                "gradient), then each layer turns the gradient it receives into the gradient "
                "of its input, and Dense layers also into dW and db.")
        note_zh = ("反向传播从网络输出的 dA = ∂L/∂A（起始梯度）开始；之后每一层把收到的梯度"
                   "变成对自己输入的梯度，Dense 层还顺带算出 dW 和 db。")
    rule = _UPDATES.get(optimizer, optimizer)
    return {
        "step": step, "n": len(rows), "rows": [int(r) for r in rows], "loss": float(trace.loss),
        "fused": bool(trace.fused), "starting_gradient": _values({"d": trace.starting_gradient})["d"],
        "note": f"A batch of {len(rows)} training rows. {note}",
        "update": f"Then the optimizer applied these gradients (lr = {lr:g}): {rule}.",
        "loss_after": None if trace.loss_after is None else float(trace.loss_after),
        "entries": entries,
        "zh": {"note": f"这一批共有 {len(rows)} 个训练样本。{note_zh}",
               "update": f"随后，优化器用这些梯度更新参数（lr = {lr:g}）："
                         f"{_UPDATES_ZH.get(optimizer, optimizer)}。"},
    }
