"""Optimizers on their own: update rules written out by hand, state, dtype, in-place updates.

(Agreement with torch.optim over 10 steps of every option set is in test_torch_parity.py.)
"""
from __future__ import annotations

import numpy as np
import pytest

import chainrule as cr


def net_with_gradients(rng, dtype=np.float64):
    """A small network whose gradients are set by hand (optimizers only read flat_grads)."""
    net = cr.Sequential([cr.Dense(3, 2, seed=rng, dtype=dtype), cr.Tanh()])
    net.flat_grads[...] = rng.standard_normal(net.flat_grads.size)
    return net


def run(opt, net, grads):
    """Apply ``opt`` for each gradient vector in ``grads``; return the parameters after each step."""
    out = []
    for g in grads:
        net.flat_grads[...] = g
        opt.step(net)
        out.append(net.flat_params.copy())
    return out


def reference(name, p, grads, lr, **s):
    """The textbook update rules, written out directly, one step per gradient."""
    p = p.copy()
    m = v = b = np.zeros_like(p)
    out = []
    for t, g in enumerate(grads, start=1):
        wd = s.get("weight_decay", 0.0)
        if name == "AdamW":
            p = p * (1 - lr * wd)
        else:
            g = g + wd * p
        if name == "SGD":
            mu = s.get("momentum", 0.0)
            if mu:
                b = g if t == 1 else mu * b + g
                g = g + mu * b if s.get("nesterov") else b
            p = p - lr * g
        elif name in ("Adam", "AdamW"):
            b1, b2 = s.get("betas", (0.9, 0.999))
            m = b1 * m + (1 - b1) * g
            v = b2 * v + (1 - b2) * g * g
            m_hat, v_hat = m / (1 - b1 ** t), v / (1 - b2 ** t)
            p = p - lr * m_hat / (np.sqrt(v_hat) + s.get("eps", 1e-8))
        elif name == "RMSprop":
            alpha, mu = s.get("alpha", 0.99), s.get("momentum", 0.0)
            v = alpha * v + (1 - alpha) * g * g
            u = g / (np.sqrt(v) + s.get("eps", 1e-8))
            if mu:
                b = mu * b + u
                u = b
            p = p - lr * u
        elif name == "Adagrad":
            v = v + g * g
            p = p - lr * g / (np.sqrt(v) + s.get("eps", 1e-10))
        out.append(p)
    return out


CASES = [
    ("SGD", dict(lr=0.1)),
    ("SGD", dict(lr=0.1, momentum=0.9)),
    ("SGD", dict(lr=0.1, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adam", dict(lr=0.01)),
    ("Adam", dict(lr=0.01, betas=(0.5, 0.9), weight_decay=0.1)),
    ("AdamW", dict(lr=0.01, weight_decay=0.1)),
    ("RMSprop", dict(lr=0.01)),
    ("RMSprop", dict(lr=0.01, alpha=0.9, momentum=0.8, weight_decay=0.1)),
    ("Adagrad", dict(lr=0.1, weight_decay=0.1)),
]


@pytest.mark.parametrize("name, settings", CASES, ids=[f"{n}{s}" for n, s in CASES])
def test_update_rules_by_hand(name, settings, rng):
    net = net_with_gradients(rng)
    grads = [rng.standard_normal(net.n_params) for _ in range(3)]
    expected = reference(name, net.flat_params, grads, **settings)
    got = run(getattr(cr, name)(**settings), net, grads)
    for t, (a, e) in enumerate(zip(got, expected), start=1):
        np.testing.assert_allclose(a, e, rtol=1e-12, atol=1e-15, err_msg=f"{name} step {t}")


def test_first_sgd_step_is_p_minus_lr_g(rng):
    net = net_with_gradients(rng)
    p, g = net.flat_params.copy(), net.flat_grads.copy()
    cr.SGD(lr=0.5).step(net)
    np.testing.assert_array_equal(net.flat_params, p - 0.5 * g)


def test_adam_first_step_moves_each_weight_by_about_lr(rng):
    """Bias correction: after one step m̂ = g and v̂ = g², so every weight moves by lr·sign(g)."""
    net = net_with_gradients(rng)
    p, g = net.flat_params.copy(), net.flat_grads.copy()
    cr.Adam(lr=0.01).step(net)
    np.testing.assert_allclose(net.flat_params, p - 0.01 * np.sign(g), rtol=1e-6)


def test_adamw_decays_weights_without_gradient(rng):
    net = net_with_gradients(rng)
    net.flat_grads[...] = 0
    p = net.flat_params.copy()
    cr.AdamW(lr=0.1, weight_decay=0.5).step(net)
    np.testing.assert_allclose(net.flat_params, p * (1 - 0.1 * 0.5), rtol=1e-14)
    # Adam without decay and with a zero gradient: nothing moves
    other = net_with_gradients(rng)
    other.flat_grads[...] = 0
    q = other.flat_params.copy()
    cr.Adam(lr=0.1).step(other)
    np.testing.assert_array_equal(other.flat_params, q)


@pytest.mark.parametrize("name, settings", CASES, ids=[f"{n}{s}" for n, s in CASES])
def test_updates_in_place_and_keeps_float32(name, settings, rng):
    net = net_with_gradients(rng, np.float32)
    buffer, W = net.flat_params, net[0].W
    before = W.copy()
    opt = getattr(cr, name)(**settings)
    for _ in range(2):
        opt.step(net)
    assert net.flat_params is buffer and net[0].W.base is not None and np.shares_memory(net[0].W, buffer)
    assert not np.array_equal(W, before)  # the layer's own W moved: the update was in place
    assert buffer.dtype == np.float32 and all(s.dtype == np.float32 for s in opt.state.values())
    assert opt.t == 2


def test_state_dict_round_trip(rng):
    net_a, grads = net_with_gradients(rng), [rng.standard_normal(8) for _ in range(5)]
    net_b = net_a.copy()
    opt_a = cr.Adam(lr=0.01)
    run(opt_a, net_a, grads[:2])
    state = opt_a.state_dict()
    assert state["t"] == 2 and set(state) == {"t", "m_scaled", "v"}
    state_copy = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in state.items()}
    run(opt_a, net_a, grads[2:])
    np.testing.assert_array_equal(state["m_scaled"], state_copy["m_scaled"])  # a copy
    # a fresh optimizer loaded with the state continues exactly where the first one was
    run(cr.Adam(lr=0.01), net_b, grads[:2])
    opt_b = cr.Adam(lr=0.01)
    opt_b.load_state_dict(state_copy)
    run(opt_b, net_b, grads[2:])
    np.testing.assert_array_equal(net_b.flat_params, net_a.flat_params)


def test_reset_forgets_state(rng):
    net = net_with_gradients(rng)
    opt = cr.SGD(0.1, momentum=0.9)
    opt.step(net)
    assert opt.t == 1 and "momentum" in opt.state
    opt.reset()
    assert opt.t == 0 and opt.state == {}


def test_repr_lists_settings():
    assert repr(cr.SGD(0.1, momentum=0.9)) == \
        "SGD(lr=0.1, weight_decay=0.0, momentum=0.9, nesterov=False)"
    assert repr(cr.Adam()).startswith("Adam(lr=0.001, weight_decay=0.0, betas=(0.9, 0.999), eps=1e-08")


def test_adam_stores_its_first_moment_scaled_by_1_over_1_minus_beta1(rng):
    """state["m_scaled"] is m/(1 − β₁) (one pass fewer per step); v is torch's exp_avg_sq."""
    net = net_with_gradients(rng)
    b1, b2 = 0.8, 0.99
    opt = cr.Adam(lr=0.01, betas=(b1, b2))
    grads = [rng.standard_normal(net.n_params) for _ in range(4)]
    run(opt, net, grads)
    m = v = 0.0
    for g in grads:
        m, v = b1 * m + (1 - b1) * g, b2 * v + (1 - b2) * g * g
    np.testing.assert_allclose(opt.state["m_scaled"] * (1 - b1), m, rtol=1e-12)
    np.testing.assert_allclose(opt.state["v"], v, rtol=1e-12)
    # a state holding torch's m (exp_avg; chainrule 0.1.0 checkpoints) is converted on loading
    other = cr.Adam(lr=0.01, betas=(b1, b2))
    other.load_state_dict({"t": opt.t, "m": m, "v": v})
    np.testing.assert_allclose(other.state["m_scaled"], opt.state["m_scaled"], rtol=1e-12)
    g = rng.standard_normal(net.n_params)
    twin = net.copy()
    for o, n in ((opt, net), (other, twin)):
        n.flat_grads[...] = g
        o.step(n)
    np.testing.assert_allclose(twin.flat_params, net.flat_params, rtol=1e-12)


@pytest.mark.parametrize("name, settings", CASES, ids=[f"{n}{s}" for n, s in CASES])
def test_a_refused_step_changes_nothing(name, settings, rng):
    """A non-finite gradient, or a step that overflows the weights: weights, state arrays
    and step count stay bitwise as they were, and the next good step goes on as if the
    refused one had never been tried."""
    net = net_with_gradients(rng)
    opt, twin_opt = getattr(cr, name)(**settings), getattr(cr, name)(**settings)
    twin = net.copy()
    grads = [rng.standard_normal(net.n_params) for _ in range(3)]
    run(opt, net, grads[:2])
    run(twin_opt, twin, grads[:2])
    net.flat_params[3] = twin.flat_params[3] = 1e150   # a step of ~lr makes its square overflow
    before = (net.flat_params.copy(), opt.state_dict())
    lr = opt.lr
    for bad, step_lr, why in ((np.nan, lr, "gradient"), (np.inf, lr, "gradient"),
                              (-1e150, 1.7e308, "weights")):
        g = grads[2].copy()
        g[3] = bad
        net.flat_grads[...] = g
        opt.lr = step_lr
        with np.errstate(over="ignore", invalid="ignore"):
            refused = opt.try_step(net)
        assert refused == why, bad
        np.testing.assert_array_equal(net.flat_params, before[0])
        assert opt.t == before[1]["t"] == 2
        for key, value in opt.state_dict().items():
            np.testing.assert_array_equal(value, before[1][key], err_msg=key)
        with pytest.raises(FloatingPointError):
            opt.step(net)
    opt.lr = lr
    run(opt, net, grads[2:])
    run(twin_opt, twin, grads[2:])
    np.testing.assert_array_equal(net.flat_params, twin.flat_params)


class _SignSGD(cr.Optimizer):
    """A user's optimizer: one state array, the rule in NumPy, nothing else."""

    def slots(self):
        return ("last",)

    def _rule(self, p, g, S, new, out):
        np.copyto(new["last"], g)
        np.subtract(p, self.lr * np.sign(g), out=out)


def test_a_user_optimizer_is_a_slots_and_a_rule(rng):
    X = rng.standard_normal((16, 3))
    y = X @ rng.standard_normal((3, 1))
    net = cr.mlp([3, 4, 1], hidden="tanh", seed=0, dtype=np.float64)
    start = net.flat_params.copy()
    opt = _SignSGD(lr=0.01)
    history = net.fit(X, y, loss=cr.MSE(), optimizer=opt, epochs=5, batch_size=None, verbose=0)
    assert history["loss"][-1] < history["loss"][0]
    assert opt.t == 5 and opt.state["last"].shape == (net.n_params,)
    # every weight moved by exactly lr per step in the direction of its gradients' signs
    assert np.all(np.abs(net.flat_params - start) <= 5 * 0.01 + 1e-12)
    # a huge rate: the first step is refused, and nothing changes
    opt = _SignSGD(lr=1.7e308)
    start = net.flat_params.copy()
    with pytest.raises(cr.DivergenceError,
                       match="epoch 0, batch 0: the update would have made the weights"):
        net.fit(X, y, loss=cr.MSE(), optimizer=opt, epochs=3, batch_size=None, verbose=0)
    np.testing.assert_array_equal(net.flat_params, start)
    assert opt.t == 0 and opt.state == {}
