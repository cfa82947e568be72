"""A chain-rule ledger (``chainrule.trace.Trace``) as JSON for the page, and one weight's chain rule.

The numbers are the Trace's own copies, sent at full precision (a float64
survives the trip through JSON exactly), so what the page shows is what the
layers computed. This module relabels, and sums one weight's products for the
connection panel (``connection``), so that the page computes nothing.

Each entry says which Dense layer it belongs to (``dense``: a Dense layer and
the activation and dropout after it share a number), so the page can gather
one unit's column of Z, A, dA, dZ for the batch when that unit is clicked. Its
words come in every language of the tables (``words``), numbered as the page
numbers the network: hidden layer 1…k, then the output layer, the index in
``net.layers`` in parentheses.
"""
from __future__ import annotations

import numpy as np

from ..explain.trace_views import INSIDE_FUSED, NO_UPDATE, note_text, operands
from ..nn.layers import Dense
from .words import LANGUAGES, say, shown


def _values(values):
    out = {}
    for name, value in values.items():
        a = np.asarray(value, dtype=np.float64)
        out[name] = a.tolist() if np.all(np.isfinite(a)) else \
            np.where(np.isfinite(a), a, None).tolist()
    return out


def where(dense, n_dense, lang):
    """"hidden layer 2" or "output layer" for Dense layer ``dense`` (0-based) of ``n_dense``."""
    if dense == n_dense - 1:
        return say("layer.output", lang)
    return say("layer.hidden", lang, k=dense + 1)


def _title(step, dense, n_dense, lang):
    layer = step.layer
    kind = f"Dense({layer.n_in} → {layer.n_out})" if isinstance(layer, Dense) else type(layer).__name__
    if step.index is None:
        return say("ledger.title_update" if step.phase == "update" else "ledger.title_loss", lang,
                   kind=kind)
    return say("ledger.title", lang, where=where(dense, n_dense, lang), kind=kind, index=step.index)


def _entry(trace, k, dense, n_dense, starting):
    """Entry ``k`` of the page's ledger: trace step ``k``'s arrays in the order its equation
    names them, with the forward arrays a backward step reads (X beside dZ)."""
    s = trace.steps[k]
    equation, aside = s.equation, None
    if equation.endswith(INSIDE_FUSED):
        equation, aside = equation[:-len(INSIDE_FUSED)], "ledger.inside_fused"
    elif equation == NO_UPDATE:
        equation, aside = "—", "ledger.no_update"
    arrays = operands(trace, k)
    values = _values({name: value for name, value, _ in arrays})
    return {
        "layer": s.index, "dense": dense.get(s.index), "phase": s.phase,
        "kind": "loss" if starting else s.phase,
        # the entry of dW = Xᵀ·dZ itself (a penalty entry after it adds to dW)
        "dense_backward": s.phase == "backward" and isinstance(s.layer, Dense) and "dZ" in s.values,
        "equation": equation, "note": s.note,
        "borrowed": {name: source for name, _, source in arrays if source is not None},
        "words": {lang: {"title": _title(s, dense.get(s.index), n_dense, lang),
                         "note": note_text(s.note, lang),
                         "aside": say(aside, lang) if aside else ""} for lang in LANGUAGES},
        "shapes": {name: list(np.shape(v)) for name, v, _ in arrays}, "values": values,
    }


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
    n_dense = count + 1
    entries = []
    for k, s in enumerate(trace.steps):
        # the loss, and the fused starting gradient, are the hinge between the two passes
        starting = (s.index is None and s.phase != "update") or (
            trace.fused and s.phase == "backward" and s.index == len(net.layers) - 1)
        entries.append(_entry(trace, k, dense, n_dense, starting))
    why = next((s.note for s in trace.steps if "fused" in s.note), "")
    words = {}
    for lang in LANGUAGES:
        start = say("ledger.start_fused", lang, why=note_text(why, lang)) if trace.fused else \
            say("ledger.start", lang)
        words[lang] = {"note": say("ledger.batch", lang, n=len(rows), start=start),
                       "update": say("ledger.update", lang, lr=shown(float(lr)),
                                     rule=say(f"ledger.rule.{optimizer}", lang))}
    return {
        "step": step, "n": len(rows), "rows": [int(r) for r in rows], "loss": float(trace.loss),
        "fused": bool(trace.fused), "starting_gradient": _values({"d": trace.starting_gradient})["d"],
        "loss_after": None if trace.loss_after is None else float(trace.loss_after),
        "entries": entries, "words": words,
    }


def connection(trace, net, rows, step, k, i, j):
    """The chain rule of weight W[i][j] of Dense layer ``k`` over the batch of ``trace``.

    ∂L/∂W[i][j] = Σ_r X[r, i] · dZ[r, j]: the input the weight multiplies (a)
    times the gradient of the unit it feeds (δ), summed over the batch's rows;
    the ledger's ``dW = Xᵀ·dZ`` is the same sum for every weight at once.
    Returns the products, their sum, the ledger's dW[i][j] (and after the
    layer's penalty, if any), and the update of the weight, as JSON values.
    """
    index = [n for n, layer in enumerate(net.layers) if isinstance(layer, Dense)][k]
    mine = [s for s in trace.steps if s.index == index]
    forward = next(s for s in mine if s.phase == "forward")
    backward = next(s for s in mine if s.phase == "backward" and "dZ" in s.values)
    penalty = next((s for s in mine if s.phase == "backward" and "dZ" not in s.values), None)
    update = next((s for s in mine if s.phase == "update"), None)
    a, delta = forward.values["X"][:, i], backward.values["dZ"][:, j]
    products = a * delta
    answer = {"step": step, "layer": k, "i": i, "j": j, "rows": [int(r) for r in rows],
              "a": _values({"a": a})["a"], "delta": _values({"d": delta})["d"],
              "products": _values({"p": products})["p"], "sum": float(products.sum()),
              "dW": float(backward.values["dW"][i, j]),
              "dW_penalized": None if penalty is None else float(penalty.values["dW"][i, j]),
              "update": None}
    if update is not None:
        answer["update"] = {"W": float(update.values["W"][i, j]),
                            "delta": float(update.values["ΔW"][i, j]),
                            "W_new": float(update.values["W_new"][i, j]),
                            "note": {lang: note_text(update.note, lang) for lang in LANGUAGES}}
    return answer
