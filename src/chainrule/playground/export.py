"""A playground run taken home: the trained model as a chainrule file, and a script that
rebuilds the same data and network and takes the same steps with chainrule alone.

The script is written from the session's own layers and settings, so what it
builds is what the page trained: the same seeds give the same data, split,
initial weights, batch order and dropout masks. It prints the training loss
after the steps, the number the page shows at that step.
"""
from __future__ import annotations

import os
import tempfile

from ..nn.activations import Identity
from ..nn.dropout import Dropout
from ..nn.layers import Dense
from .features import SOURCE
from .schema import RequestError


def model_bytes(session):
    """The session's network as the bytes of a chainrule model file (``cr.load`` reads it).

    Its metadata says what the inputs are: the feature names, and for uploaded
    points the move into the frame (P = (x − centre) / scale) they went through.
    """
    try:
        from ..files import model as io
        io._safetensors()
    except ImportError as error:
        raise RequestError("error.export_needs", status=501, reason=str(error)) from None
    metadata = {"playground": dict(session.config),
                "features": session.features, "step": session.step}
    if session.config["dataset"] == "upload":  # the points it trained on, not a later upload
        metadata["input_scale"] = session.data.scale
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "model.safetensors")
        session.net.save(path, metadata=metadata)
        with open(path, "rb") as f:
            return f.read()


def _layer_source(layer, following, seed):
    name = type(layer).__name__
    if isinstance(layer, Dense):
        from .. import names
        extra = "".join(f", {p}={getattr(layer, p)!r}" for p in ("l1", "l2") if getattr(layer, p))
        return (f"cr.Dense({layer.n_in}, {layer.n_out}, init={names.default_init(following)!r}, "
                f"seed=weights, dtype=np.float64{extra}),")
    if isinstance(layer, Dropout):
        return f"cr.Dropout({layer.p!r}, seed=np.random.default_rng([SEED, 4, {seed}])),"
    if isinstance(layer, Identity):
        return "cr.Identity(),"
    return f"cr.{name}(),"


def script(session):
    """Python source that reproduces the session's run up to its current step."""
    c = session.config
    lines = [f'"""The chainrule playground run, rebuilt: {session.data.title}, features '
             f'{", ".join(session.features)}, hidden {c["hidden"]} {c["activation"]},',
             f'{c["optimizer"]} lr={c["lr"]:g}, batch {c["batch_size"]}, seed {c["seed"]}, '
             f'{session.step} steps.', "",
             "It prints the loss on all the training points after the steps: the page's",
             f'training loss at step {session.step}. Run it with: python {SCRIPT_NAME}', '"""',
             "import math", "", "import numpy as np", "", "import chainrule as cr",
             "from chainrule.train.batching import Batches"]
    if c["dataset"] == "upload":
        # the points this run trained on (session.data), not a later upload waiting for its run
        P, y = session.data.P, session.data.y
        lines += ["", "# your points, moved into the playground's frame: P = (x - centre) / scale, "
                  f"with {session.data.scale}",
                  f"P_ALL = np.array({P.tolist()!r})", f"Y_ALL = np.array({y.tolist()!r})",
                  "", f"SEED, STEPS, BATCH = {c['seed']}, {session.step}, {c['batch_size']}"]
    else:
        lines += ["from chainrule.playground.datasets import generate", "",
                  f"SEED, STEPS, BATCH = {c['seed']}, {session.step}, {c['batch_size']}",
                  f"P_ALL, Y_ALL = generate({c['dataset']!r}, {c['size']}, {c['noise']!r}, "
                  "np.random.default_rng([SEED, 0]))"]
    lines += [
        f"n_val = round(len(P_ALL) * {c['validation']!r})  # the held-out share",
        "order = np.random.default_rng([SEED, 1]).permutation(len(P_ALL))",
        "P, y = P_ALL[order[n_val:]], Y_ALL[order[n_val:]]", "",
        "# the input features, one column each",
        f"X = np.column_stack([{', '.join(SOURCE[f].replace('X[', 'P[') for f in session.features)}])",
        "", "weights = np.random.default_rng([SEED, 2])", "net = cr.Sequential(["]
    layers = session.net.layers
    for i, layer in enumerate(layers):
        following = layers[i + 1] if i + 1 < len(layers) else None
        lines.append("    " + _layer_source(layer, following, _hidden_index(layers, i)))
    n_out = session.sizes[-1]
    lines += [
        "], dtype=np.float64)",
        f"loss = cr.{type(session.loss).__name__}()",
        f"optimizer = cr.{type(session.optimizer).__name__}(lr={c['lr']!r})",
        f"Y = loss.prepare(y, {n_out}, net.dtype)", "",
        "# fit's mini-batches (a fresh shuffle of the training rows at each epoch), each with",
        "# the numbers of its rows, as the page took them",
        "batches, shuffles = Batches(X, np.arange(len(X)), BATCH), np.random.default_rng([SEED, 3])",
        "epoch = iter(())",
        *_edits(session.edits),
        "for step in range(STEPS):",
        *(["    set_by_hand(step)"] if session.edits else []),
        "    batch = next(epoch, None)",
        "    if batch is None:",
        "        epoch = iter(batches(shuffles, shuffle=True))",
        "        batch = next(epoch)",
        "    X_batch, rows = batch",
        "    value = net.forward_backward(X_batch, Y[rows], loss)",
        "    if not math.isfinite(value):",
        "        print(f'diverged at step {step}: the loss is {value}')",
        "        break",
        "    optimizer.step(net)",
        *(["set_by_hand(STEPS)"] if session.edits else []),
        "print(f'step {STEPS}: training loss {net.loss_value(X, Y, loss):.10f}')", ""]
    return "\n".join(lines)


def _edits(edits):
    """The weights set by hand on the page, set again after as many steps."""
    if not edits:
        return []
    return ["", "# weights set by hand on the page: (after this many steps, layer, i, j, value)",
            f"BY_HAND = {[list(edit) for edit in edits]!r}", "", "",
            "def set_by_hand(done):", "    for after, layer, i, j, value in BY_HAND:",
            "        if after == done:", "            net.layers[layer].W[i, j] = value", "", ""]


def _hidden_index(layers, i):
    """The index of the Dense layer before layer ``i`` (a Dropout's seed names its layer)."""
    return sum(isinstance(layer, Dense) for layer in layers[:i]) - 1


SCRIPT_NAME = "chainrule_playground.py"
