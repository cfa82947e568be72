"""Interchange with PyTorch and ONNX: ``to_torch``, ``from_torch``, ``to_onnx``.

A chainrule Dense layer computes ``Z = X·W + b`` with W of shape (n_in, n_out);
``torch.nn.Linear`` computes ``X·weightᵀ + bias`` with weight (n_out, n_in).
So ``weight = Wᵀ`` one way and ``W = weightᵀ`` the other; everything else is
a one-to-one table of activations. ONNX gets the same network as MatMul and
Add nodes followed by the activation's node(s).

torch and onnx are imported only when these functions are called, so
chainrule itself needs neither.
"""
from __future__ import annotations

import math

import numpy as np

from ..network.sequential import Sequential
from ..nn import activations as act
from ..nn.dropout import Dropout
from ..nn.layers import Dense

_TORCH_NAMES = {  # chainrule layer -> torch.nn class name (parameter-free, default settings)
    act.Identity: "Identity", act.Sigmoid: "Sigmoid", act.Tanh: "Tanh", act.ReLU: "ReLU",
    act.GELU: "GELU", act.Softplus: "Softplus",
}


def _network(net):
    """A Sequential from a Sequential or a fitted chainrule estimator (its ``network_``)."""
    if isinstance(net, Sequential):
        return net
    inner = getattr(net, "network_", None)
    if isinstance(inner, Sequential):
        return inner
    raise TypeError(f"expected a chainrule Sequential or a fitted chainrule estimator, got {net!r}")


def _unsupported(layer, where, supported):
    return TypeError(f"{where}: {layer!r} has no counterpart; supported: {', '.join(supported)}")


def _torch(function):
    """``(torch, torch.nn)``, or ImportError saying that ``function`` needs PyTorch."""
    try:
        import torch
        from torch import nn
    except ImportError:
        raise ImportError(f"{function} needs PyTorch: pip install torch "
                          "(or pip install 'chainrule[torch]')") from None
    return torch, nn


def to_torch(net):
    """The same network as a ``torch.nn.Sequential``, with the same dtype and weights.

    Dense becomes ``nn.Linear`` (weight = Wᵀ), each activation its torch
    namesake (Softmax over the last dimension), Dropout ``nn.Dropout``. The
    result is in evaluation mode, as chainrule's predict is.

    Raises TypeError for a layer torch has no counterpart for.
    """
    torch, nn = _torch("to_torch")
    net = _network(net)
    dtype = getattr(torch, net.dtype.name)
    modules = []
    for i, layer in enumerate(net.layers):
        kind = type(layer)
        if kind is Dense:
            linear = nn.Linear(layer.n_in, layer.n_out, dtype=dtype)
            with torch.no_grad():
                linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(layer.W.T)))
                linear.bias.copy_(torch.from_numpy(np.array(layer.b)))
            modules.append(linear)
        elif kind in _TORCH_NAMES:
            modules.append(getattr(nn, _TORCH_NAMES[kind])())
        elif kind is act.LeakyReLU:
            modules.append(nn.LeakyReLU(layer.alpha))
        elif kind is act.ELU:
            modules.append(nn.ELU(layer.alpha))
        elif kind is act.Softmax:
            modules.append(nn.Softmax(dim=-1))
        elif kind is Dropout:
            modules.append(nn.Dropout(layer.p))
        else:
            raise _unsupported(layer, f"layers[{i}]", _CHAINRULE_SUPPORTED)
    return nn.Sequential(*modules).eval()


_CHAINRULE_SUPPORTED = ["Dense", "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU",
                        "GELU", "Softplus", "Softmax", "Dropout"]
_TORCH_SUPPORTED = ["Linear", "Identity", "Sigmoid", "Tanh", "ReLU", "LeakyReLU", "ELU",
                    "GELU(approximate='none')", "Softplus(beta=1)", "Softmax(dim=-1)", "Dropout",
                    "nested Sequential"]


def _flatten_torch(module, prefix):
    from torch import nn
    if isinstance(module, nn.Sequential):
        for name, child in module.named_children():
            yield from _flatten_torch(child, f"{prefix}.{name}" if prefix else name)
    else:
        yield prefix or "module", module


def from_torch(module):
    """A chainrule Sequential from a ``torch.nn.Sequential`` of Linear layers and activations.

    Linear becomes Dense (W = weightᵀ; a Linear without bias gets b = 0), the
    activations their chainrule namesakes; nested Sequentials are flattened.
    The dtype is that of the torch parameters (float32 or float64).

    Raises TypeError naming the first module chainrule has no layer for (or a
    setting it does not support, such as Softplus(beta=2)), and ValueError
    naming a Linear whose weight or bias holds NaN or infinite values (a
    diverged network, which ``chainrule.load`` would refuse as well).
    """
    _, nn = _torch("from_torch")
    if not isinstance(module, nn.Module):
        raise TypeError(f"module must be a torch.nn.Module, got {module!r}")
    params = list(module.parameters())
    dtype = np.dtype(str(params[0].dtype).replace("torch.", "")) if params else np.dtype(np.float32)
    if dtype.kind != "f" or dtype.itemsize < 4:
        raise TypeError(f"the module's parameters are {params[0].dtype}; chainrule needs "
                        "float32 or float64 (call module.float() first)")
    layers = []
    for name, m in _flatten_torch(module, ""):
        kind = type(m)
        if kind is nn.Linear:
            weight = m.weight.detach().cpu().numpy()
            bias = (m.bias.detach().cpu().numpy() if m.bias is not None
                    else np.zeros(m.out_features, dtype))
            for attribute, value in (("weight", weight), ("bias", bias)):
                if not np.all(np.isfinite(value)):  # cr.load refuses such weights too
                    raise ValueError(f"module {name!r}: {attribute} must be finite, but it holds "
                                     f"{int(np.sum(~np.isfinite(value)))} NaN or infinite values")
            dense = Dense(m.in_features, m.out_features, dtype=dtype)
            dense.W = weight.T.astype(dtype)
            dense.b = bias.astype(dtype)
            layers.append(dense)
        elif kind in (nn.Identity, nn.Sigmoid, nn.Tanh, nn.ReLU):
            layers.append(getattr(act, kind.__name__)())
        elif kind is nn.LeakyReLU:
            layers.append(act.LeakyReLU(m.negative_slope))
        elif kind is nn.ELU:
            layers.append(act.ELU(m.alpha))
        elif kind is nn.GELU and m.approximate == "none":
            layers.append(act.GELU())
        elif kind is nn.Softplus and m.beta == 1:
            layers.append(act.Softplus())
        elif kind is nn.Softmax and m.dim in (-1, 1):
            layers.append(act.Softmax())
        elif kind is nn.Dropout:
            layers.append(Dropout(m.p))
        else:
            raise _unsupported(m, f"module {name!r}", _TORCH_SUPPORTED)
    if not layers:
        raise ValueError("the module has no layers to convert")
    return Sequential(layers, dtype=dtype).eval()


# -- ONNX -------------------------------------------------------------------------

#: Terms of the erf series in float64 exports; at |x| = 6 the terms beyond
#: n ≈ 90 add less than 1e-17 of the sum.
_ERF_TERMS = 100


class _Graph:
    """The ONNX nodes and initializers made so far, every constant in the network's dtype."""

    def __init__(self, helper, numpy_helper, dtype, elem):
        self.helper, self.numpy_helper, self.dtype, self.elem = helper, numpy_helper, dtype, elem
        self.nodes, self.initializers, self._names = [], [], set()

    def node(self, op, inputs, **attrs):
        out = f"{op.lower()}_{len(self.nodes)}"
        self.nodes.append(self.helper.make_node(op, inputs, [out], **attrs))
        return out

    def constant(self, name, value):
        """The initializer ``name`` holding ``value``, made the first time it is asked for."""
        if name not in self._names:
            self._names.add(name)
            self.initializers.append(self.numpy_helper.from_array(np.asarray(value, self.dtype), name))
        return name


def _onnx_activation(g, layer, i, Z):
    """The nodes of activation ``layer`` (``layers[i]``) applied to ``Z``; None if it has none."""
    kind = type(layer)
    simple = {act.Identity: "Identity", Dropout: "Identity", act.Sigmoid: "Sigmoid",
              act.Tanh: "Tanh", act.ReLU: "Relu", act.Exp: "Exp"}

    def zero():
        return g.constant(f"zero_{i}", 0.0)

    def one():
        return g.constant(f"one_{i}", 1.0)

    if kind in simple:
        return g.node(simple[kind], [Z])
    if kind is act.Softmax:
        return g.node("Softmax", [Z], axis=-1)
    if kind is act.LeakyReLU:  # not LeakyRelu: its alpha attribute is a float32
        return g.node("Where", [g.node("Greater", [Z, zero()]), Z,
                                g.node("Mul", [Z, g.constant(f"alpha_{i}", layer.alpha)])])
    if kind is act.ELU:  # α(e^min(Z,0) − 1) where Z ≤ 0, else Z
        negative = g.node("Sub", [g.node("Exp", [g.node("Min", [Z, zero()])]), one()])
        return g.node("Where", [g.node("Greater", [Z, zero()]), Z,
                                g.node("Mul", [negative, g.constant(f"alpha_{i}", layer.alpha)])])
    if kind is act.Softplus:  # max(Z, 0) + log(1 + e^−|Z|): no overflow for any Z
        tail = g.node("Log", [g.node("Add", [g.node("Exp", [g.node("Neg", [g.node("Abs", [Z])])]),
                                             one()])])
        return g.node("Add", [g.node("Max", [Z, zero()]), tail])
    if kind is act.GELU:
        scaled = g.node("Mul", [Z, g.constant(f"inv_sqrt2_{i}", 1 / math.sqrt(2.0))])
        erf = g.node("Erf", [scaled]) if g.dtype == np.float32 else \
            _erf_float64(scaled, g.node, g.constant, f"erf_{i}")
        phi = g.node("Add", [erf, one()])
        return g.node("Mul", [g.node("Mul", [Z, phi]), g.constant(f"half_{i}", 0.5)])
    return None


def _erf_float64(x, node, constant, prefix):
    """Nodes computing erf(x) from operators ONNX Runtime runs in float64 (see to_onnx).

    S = 1 + t/3·(1 + t/5·(1 + t/7·(…))) with t = 2x², by Horner's rule from the
    innermost term; then erf = 2/√π · e^(−x²) · x · S.
    """
    x = node("Max", [node("Min", [x, constant(f"{prefix}_hi", 6.0)]), constant(f"{prefix}_lo", -6.0)])
    square = node("Mul", [x, x])
    t = node("Mul", [square, constant(f"{prefix}_two", 2.0)])
    one = constant(f"{prefix}_one", 1.0)
    total = one
    for n in range(_ERF_TERMS, 0, -1):
        step = node("Mul", [t, constant(f"{prefix}_c{n}", 1.0 / (2 * n + 1))])
        total = node("Add", [node("Mul", [total, step]), one])
    scale = node("Mul", [node("Exp", [node("Neg", [square])]),
                         constant(f"{prefix}_two_over_sqrt_pi", 2.0 / math.sqrt(math.pi))])
    return node("Mul", [node("Mul", [total, x]), scale])


def to_onnx(net, path=None, *, opset=17, input_name="X", output_name="Y"):
    """Write the network as an ONNX model that ONNX Runtime (or any ONNX runtime) runs.

    Each Dense layer becomes ``MatMul(X, W)`` then ``Add(·, b)``; activations
    become Sigmoid, Tanh, Relu, Exp and Softmax(axis=−1) nodes, LeakyReLU
    ``Where(Z > 0, Z, α·Z)`` (the LeakyRelu node's α is a float32 attribute),
    ELU ``Where(Z > 0, Z, α·(Exp(Min(Z, 0)) − 1))``, Softplus
    ``Max(Z, 0) + Log(1 + Exp(−|Z|))``, GELU the exact ``0.5·Z·(1 + erf(Z/√2))``;
    Identity and Dropout (evaluation mode) become Identity. The input is ``X``
    of shape (n, n_in), any n, in the network's dtype, and every node computes
    in that dtype.

    ONNX Runtime has no float64 kernels for Elu, Softplus and Erf, hence the
    decompositions above into operators it does run in float64. In a float64
    network erf itself is the series (Abramowitz & Stegun 7.1.6)
    ``erf(x) = 2/√π · e^(−x²) · x · Σₙ (2x²)ⁿ / (1·3·…·(2n+1))``, whose terms are
    all positive (no cancellation), summed by Horner's rule over
    ``_ERF_TERMS`` terms with x clamped to [−6, 6] (beyond, erf is ±1 in float64):
    equal to ``scipy.special.erf`` within 1e-14 (measured: 1.7e-15 on [−8, 8]).

    Parameters
    ----------
    net : Sequential or fitted chainrule estimator
    path : str or path-like, optional
        Where to write the ``.onnx`` file; if None, nothing is written.
    opset : int, default 17

    Returns
    -------
    onnx.ModelProto
    """
    try:
        import onnx
        from onnx import TensorProto, helper, numpy_helper
    except ImportError:
        raise ImportError("to_onnx needs the onnx package: pip install onnx "
                          "(or pip install chainrule[onnx])") from None
    net = _network(net)
    if net.n_in is None:
        raise ValueError("the network has no Dense layer, so its input width is unknown")
    elem = {np.dtype(np.float32): TensorProto.FLOAT, np.dtype(np.float64): TensorProto.DOUBLE}.get(net.dtype)
    if elem is None:
        raise TypeError(f"ONNX export supports float32 and float64 networks, got {net.dtype}")
    g = _Graph(helper, numpy_helper, net.dtype, elem)
    current = input_name
    for i, layer in enumerate(net.layers):
        if type(layer) is Dense:
            current = g.node("MatMul", [current, g.constant(f"W{i}", layer.W)])
            current = g.node("Add", [current, g.constant(f"b{i}", layer.b)])
            continue
        current = _onnx_activation(g, layer, i, current)
        if current is None:
            raise _unsupported(layer, f"layers[{i}]", _CHAINRULE_SUPPORTED)
    g.nodes.append(helper.make_node("Identity", [current], [output_name]))
    graph = helper.make_graph(
        g.nodes, "chainrule",
        [helper.make_tensor_value_info(input_name, elem, ["n", net.n_in])],
        [helper.make_tensor_value_info(output_name, elem, ["n", net.n_out])],
        initializer=g.initializers)
    model = helper.make_model(graph, producer_name="chainrule",
                              opset_imports=[helper.make_opsetid("", opset)])
    onnx.checker.check_model(model)
    if path is not None:
        onnx.save_model(model, str(path))
    return model
