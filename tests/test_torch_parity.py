"""chainrule against PyTorch autograd and torch.optim, in float64.

For random architectures (depth 1-4, random widths, every hidden activation)
under every output/loss pair, the loss, dX and every dW/db must agree with
torch to a worst relative error max|a − b|/max|b| of 1e-7, both on the
training path (``net.forward_backward``, fused where it applies) and on the
plain path (``net.forward``, ``loss.forward/backward``, ``net.backward``).
Then the weights after 10 steps of each optimizer and option set, and after
``fit``, must agree with torch.optim's.
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr

from conftest import Probe, assert_close, relative_error, torch_dense_pairs, torch_twin

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-7
HIDDEN = ["sigmoid", "tanh", "relu", "leaky_relu", "elu", "gelu", "softplus", "identity"]
# (output activation, chainrule loss, target kind)
PAIRS = {
    "identity+MSE": ("identity", cr.MSE, "real"),
    "sigmoid+BCE": ("sigmoid", cr.BinaryCrossEntropy, "binary"),
    "softmax+CE(labels)": ("softmax", cr.CrossEntropy, "labels"),
    "softmax+CE(one-hot)": ("softmax", cr.CrossEntropy, "onehot"),
    "sigmoid+MSE": ("sigmoid", cr.MSE, "real"),
    "tanh+MSE": ("tanh", cr.MSE, "real"),
}


def random_problem(rng, hidden, output, kind, depth):
    """A float64 network of ``depth`` Dense layers with a Probe in front, data and targets."""
    n_out = int(rng.integers(2, 5)) if kind in ("labels", "onehot") else int(rng.integers(1, 5))
    sizes = [int(rng.integers(1, 8)) for _ in range(depth)] + [n_out]
    n = int(rng.integers(1, 7))
    body = cr.mlp(sizes, hidden=hidden, output=output, init="xavier", seed=rng, dtype=np.float64)
    # non-zero biases, so that db and the bias path are really tested
    for layer in body.layers:
        if isinstance(layer, cr.Dense):
            layer.b = rng.normal(0, 0.5, layer.b.shape)
    net = cr.Sequential([Probe(), *body.layers], dtype=np.float64)
    X = rng.standard_normal((n, sizes[0]))
    if kind == "real":
        y = rng.standard_normal((n, n_out))
    elif kind == "binary":
        y = rng.integers(0, 2, (n, n_out)).astype(np.float64)
    elif kind == "labels":
        y = rng.integers(0, n_out, n)
    else:
        y = np.eye(n_out)[rng.integers(0, n_out, n)]
    return net, X, y


def torch_loss(net, X, y, loss, kind):
    """Loss value and the gradients (dX, [(dW, db), ...]) computed by torch autograd."""
    ce = isinstance(loss, cr.CrossEntropy)
    twin = torch_twin(net, drop_last=ce)  # CrossEntropyLoss takes the logits
    Xt = torch.tensor(X, requires_grad=True)
    out = twin(Xt)
    if ce:
        target = torch.tensor(y) if kind == "labels" else torch.tensor(y, dtype=torch.float64)
        value = F.cross_entropy(out, target)
    elif isinstance(loss, cr.BinaryCrossEntropy):
        value = F.binary_cross_entropy(out, torch.tensor(y))
    else:
        value = F.mse_loss(out, torch.tensor(y).reshape(out.shape))
    value.backward()
    grads = [(i, lin.weight.grad.numpy().T, lin.bias.grad.numpy())
             for i, lin in torch_dense_pairs(net, twin)]
    return value.item(), Xt.grad.numpy(), grads


def compare_gradients(net, value, dX, expected, where):
    t_value, t_dX, t_grads = expected
    assert_close(value, t_value, TOL, f"{where}: loss")
    assert_close(dX, t_dX, TOL, f"{where}: dX")
    for i, t_dW, t_db in t_grads:
        assert_close(net.layers[i].dW, t_dW, TOL, f"{where}: dW of layer {i}")
        assert_close(net.layers[i].db, t_db, TOL, f"{where}: db of layer {i}")


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("pair", list(PAIRS))
def test_gradients_match_torch(pair, hidden, seed):
    output, loss_cls, kind = PAIRS[pair]
    rng = np.random.default_rng([seed, HIDDEN.index(hidden), list(PAIRS).index(pair)])
    depth = 1 + seed  # 1 to 4 Dense layers
    net, X, y = random_problem(rng, hidden, output, kind, depth)
    loss = loss_cls()
    expected = torch_loss(net, X, y, loss, kind)
    Y = loss.prepare(y, net.n_out, np.float64)
    probe = net.layers[0]

    # the training path: fused starting gradient for softmax+CE and sigmoid+BCE
    assert net.fused_with(loss) == (pair.startswith(("softmax+CE", "sigmoid+BCE")))
    value = net.forward_backward(X, Y, loss)
    compare_gradients(net, value, probe.seen_dA[-1], expected, f"{pair}/{hidden} training path")

    # the plain path: each step on its own
    net.flat_grads[...] = np.nan  # gradients must be overwritten, not accumulated
    A = net.forward(X)
    value = loss.forward(A, Y)
    dX = net.backward(loss.backward())
    compare_gradients(net, value, dX, expected, f"{pair}/{hidden} plain path")


# -- optimizers ------------------------------------------------------------------------

OPTIMIZERS = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True)),
    ("SGD", dict(lr=0.1, weight_decay=0.05)),
    ("SGD", dict(lr=0.1, momentum=0.8, nesterov=True, weight_decay=0.05)),
    ("Adam", dict()),
    ("Adam", dict(lr=0.02)),
    ("Adam", dict(lr=0.02, weight_decay=0.05)),
    ("Adam", dict(lr=0.02, betas=(0.8, 0.95), eps=1e-6)),
    ("AdamW", dict()),
    ("AdamW", dict(lr=0.02, weight_decay=0.1)),
    ("RMSprop", dict()),
    ("RMSprop", dict(lr=0.01, momentum=0.9)),
    ("RMSprop", dict(lr=0.01, weight_decay=0.05)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.5, weight_decay=0.05)),
    ("Adagrad", dict()),
    ("Adagrad", dict(lr=0.1, weight_decay=0.05)),
    ("Adagrad", dict(lr=0.1, eps=1e-6)),
]
SETUPS = {  # (sizes, hidden, output, loss)
    "relu-softmax-CE": ([5, 8, 6, 3], "relu", "softmax", "ce"),
    "tanh-identity-MSE": ([4, 6, 2], "tanh", "identity", "mse"),
}


def _opt_id(case):
    name, kwargs = case
    return name + "(" + ",".join(f"{k}={v}" for k, v in kwargs.items()) + ")"


def _setup(name, rng):
    sizes, hidden, output, kind = SETUPS[name]
    net = cr.mlp(sizes, hidden=hidden, output=output, seed=rng, dtype=np.float64)
    for layer in net.layers:
        if isinstance(layer, cr.Dense):
            layer.b = rng.normal(0, 0.1, layer.b.shape)
    batches = []
    for _ in range(10):
        X = rng.standard_normal((7, sizes[0]))
        y = rng.integers(0, sizes[-1], 7) if kind == "ce" else rng.standard_normal((7, sizes[-1]))
        batches.append((X, y))
    loss = cr.CrossEntropy() if kind == "ce" else cr.MSE()
    return net, batches, loss


def _torch_step_loss(twin, X, y, loss):
    out = twin(torch.tensor(X))
    if isinstance(loss, cr.CrossEntropy):
        return F.cross_entropy(out, torch.tensor(y))
    return F.mse_loss(out, torch.tensor(y))


def _compare_weights(net, twin, where):
    for i, lin in torch_dense_pairs(net, twin):
        assert_close(net.layers[i].W, lin.weight.detach().numpy().T, TOL, f"{where}: W of layer {i}")
        assert_close(net.layers[i].b, lin.bias.detach().numpy(), TOL, f"{where}: b of layer {i}")


@pytest.mark.parametrize("setup", list(SETUPS))
@pytest.mark.parametrize("case", OPTIMIZERS, ids=_opt_id)
def test_ten_optimizer_steps_match_torch_optim(case, setup):
    name, kwargs = case
    rng = np.random.default_rng([OPTIMIZERS.index(case), list(SETUPS).index(setup)])
    net, batches, loss = _setup(setup, rng)
    twin = torch_twin(net, drop_last=isinstance(loss, cr.CrossEntropy))
    start = net.flat_params.copy()
    opt = getattr(cr, name)(**kwargs)
    t_opt = getattr(torch.optim, name)(twin.parameters(), **kwargs)
    for X, y in batches:
        net.forward_backward(X, loss.prepare(y, net.n_out, np.float64), loss)
        opt.step(net)
        t_opt.zero_grad()
        _torch_step_loss(twin, X, y, loss).backward()
        t_opt.step()
    # the weights moved well beyond the tolerance, so the comparison means something
    assert relative_error(net.flat_params, start) > 1e-3
    _compare_weights(net, twin, f"{_opt_id(case)} after 10 steps")
    assert opt.t == 10


@pytest.mark.parametrize("name", ["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_optimizer_defaults_are_torch_defaults(name):
    import inspect
    ours = {k: p.default for k, p in inspect.signature(getattr(cr, name)).parameters.items()
            if p.default is not inspect.Parameter.empty}
    # SGD has no default lr in chainrule (a required argument), so pass one to torch too
    extra = {"lr": 0.5} if name == "SGD" else {}
    theirs = getattr(torch.optim, name)([torch.zeros(1, requires_grad=True)], **extra).defaults
    assert ours and ("lr" in ours) == (name != "SGD"), name
    for key, value in ours.items():
        assert key in theirs, f"{name}: {key} is not a torch.optim.{name} setting"
        expected = theirs[key]
        assert (tuple(value) if isinstance(value, tuple) else value) == \
            (tuple(expected) if isinstance(expected, (tuple, list)) else expected), \
            f"{name}.{key}: chainrule default {value!r}, torch default {expected!r}"


# -- the whole training loop --------------------------------------------------------------
# fit reuses scratch arrays between batches and skips dX of the first layer: these
# tests check that machinery, for every activation, against the same loop in torch.

FIT_PAIRS = {  # output, loss, torch loss on (output of the twin, target)
    "identity+MSE": ("identity", cr.MSE, lambda out, y: F.mse_loss(out, y)),
    "tanh+MSE": ("tanh", cr.MSE, lambda out, y: F.mse_loss(out, y)),
    "softmax+MSE": ("softmax", cr.MSE, lambda out, y: F.mse_loss(out, y)),  # Softmax.backward in fit
    "sigmoid+BCE": ("sigmoid", cr.BinaryCrossEntropy, lambda out, y: F.binary_cross_entropy(out, y)),
    "softmax+CE": ("softmax", cr.CrossEntropy, lambda out, y: F.cross_entropy(out, y)),
}


@pytest.mark.parametrize("batch_size", [None, 3, 4])
@pytest.mark.parametrize("hidden", HIDDEN)
@pytest.mark.parametrize("pair", list(FIT_PAIRS))
def test_fit_matches_a_torch_training_loop(pair, hidden, batch_size):
    """fit (in order, mini-batches or full batch) equals the same loop written in torch."""
    output, loss_cls, t_loss = FIT_PAIRS[pair]
    rng = np.random.default_rng([7, HIDDEN.index(hidden), list(FIT_PAIRS).index(pair)])
    net = cr.mlp([3, 5, 4, 3], hidden=hidden, output=output, seed=rng, dtype=np.float64)
    X = rng.standard_normal((10, 3))
    if loss_cls is cr.CrossEntropy:
        y = rng.integers(0, 3, 10)
    elif loss_cls is cr.BinaryCrossEntropy:
        y = rng.integers(0, 2, (10, 3)).astype(np.float64)
    else:
        y = rng.standard_normal((10, 3)) * 0.5
    t_y = torch.tensor(y)
    twin = torch_twin(net, drop_last=loss_cls is cr.CrossEntropy)
    t_opt = torch.optim.SGD(twin.parameters(), lr=0.05, momentum=0.5, nesterov=True)
    start_weights = net.flat_params.copy()
    history = net.fit(X, y, loss=loss_cls(), optimizer=cr.SGD(0.05, momentum=0.5, nesterov=True),
                      epochs=3, batch_size=batch_size, shuffle=False, verbose=0)
    size = len(X) if batch_size is None else batch_size
    t_losses = []
    for _ in range(3):
        total = 0.0
        for start in range(0, len(X), size):
            t_opt.zero_grad()
            value = t_loss(twin(torch.tensor(X[start:start + size])), t_y[start:start + size])
            value.backward()
            t_opt.step()
            total += value.item() * len(X[start:start + size])
        t_losses.append(total / len(X))
    assert relative_error(net.flat_params, start_weights) > 1e-3
    _compare_weights(net, twin, f"{pair}/{hidden} fit(batch_size={batch_size})")
    assert_close(history["loss"], t_losses, TOL, "History['loss'] (mean training loss per epoch)")


@pytest.mark.parametrize("pair", ["softmax+CE", "sigmoid+BCE", "identity+MSE"])
def test_shuffled_fit_matches_torch_on_the_same_batches(pair):
    """Shuffled mini-batches: a Probe records the rows of each batch, torch replays them."""
    output, loss_cls, t_loss = FIT_PAIRS[pair]
    rng = np.random.default_rng([11, list(FIT_PAIRS).index(pair)])
    body = cr.mlp([3, 6, 3], hidden="tanh", output=output, seed=rng, dtype=np.float64)
    probe = Probe()
    net = cr.Sequential([probe, *body.layers])
    X = rng.standard_normal((11, 3))
    y = (rng.integers(0, 3, 11) if loss_cls is cr.CrossEntropy else
         rng.integers(0, 2, (11, 3)).astype(np.float64) if loss_cls is cr.BinaryCrossEntropy else
         rng.standard_normal((11, 3)))
    twin = torch_twin(net, drop_last=loss_cls is cr.CrossEntropy)
    t_opt = torch.optim.Adam(twin.parameters(), lr=0.01)
    net.fit(X, y, loss=loss_cls(), optimizer=cr.Adam(0.01), epochs=3, batch_size=4, seed=5, verbose=0)
    assert len(probe.seen_X) == 9
    for Xb in probe.seen_X:
        rows = [int(np.flatnonzero((row == X).all(axis=1))[0]) for row in Xb]
        t_opt.zero_grad()
        t_loss(twin(torch.tensor(X[rows])), torch.tensor(y[rows])).backward()
        t_opt.step()
    orders = [sorted(int(np.flatnonzero((r == X).all(axis=1))[0]) for b in probe.seen_X[e * 3:e * 3 + 3] for r in b)
              for e in range(3)]
    assert orders == [list(range(11))] * 3  # every row once per epoch
    _compare_weights(net, twin, f"{pair} shuffled fit")
