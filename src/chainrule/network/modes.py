"""The network's modes: training or evaluating, and the thread a fit runs in.

``Sequential.fitting()`` and ``Sequential.evaluating()`` return these context
managers; layers only read their ``training`` flag, and the first layer is
asked, inside fit, for no dX (``backward(dA, need_dX=False)``) when its
backward takes that argument.
"""
from __future__ import annotations

import inspect
import threading

def check_thread(net):
    """RuntimeError when another thread is training ``net``: a forward pass from here would
    overwrite what its backward pass reads (and its mode flags)."""
    owner = net._fit_thread
    if owner is not None and owner != threading.get_ident():
        raise RuntimeError("this network is being trained by fit in another thread; predicting "
                           "or evaluating with it meanwhile would corrupt that training. Use a "
                           "copy (net.copy(), e.g. taken in a callback) or wait for fit to end")


def takes_need_dX(layer):
    """True if ``layer.backward`` accepts ``need_dX`` (Dense: skip the product dZ·Wᵀ)."""
    try:
        return "need_dX" in inspect.signature(layer.backward).parameters
    except (TypeError, ValueError):
        return False


class Fitting:
    """Inside a training loop: training mode, no dX for the first layer when it can skip
    it, and the thread that trains recorded (see check_thread)."""

    def __init__(self, net):
        self.net = net

    def __enter__(self):
        net = self.net
        check_thread(net)
        self.saved = ([layer.training for layer in net.layers], net._skip_first_dX,
                      net.__dict__.get("_fit_thread"))
        net._fit_thread = threading.get_ident()
        for layer in net.layers:
            layer.training = True
        net._skip_first_dX = bool(net.layers) and takes_need_dX(net.layers[0])
        return net

    def __exit__(self, *exc):
        training, skip, thread = self.saved
        for layer, mode in zip(self.net.layers, training):
            layer.training = mode
        self.net._skip_first_dX = skip
        self.net._fit_thread = thread


class Mode:
    """Set the layers' mode, the previous one restored on exit; inside fit (predictions
    asked for by a callback) the first layer computes its dX again meanwhile."""

    def __init__(self, net, training):
        self.net, self.training = net, training

    def __enter__(self):
        net = self.net
        check_thread(net)
        # touch only the flags that differ: this runs on every predict, where one row
        # is a few microseconds of work in all
        training, self.saved = self.training, []
        for layer in net.layers:
            if layer.training != training:
                self.saved.append((layer, layer.training))
                layer.training = training
        self.skip, net._skip_first_dX = net._skip_first_dX, False
        return net

    def __exit__(self, *exc):
        for layer, training in self.saved:
            layer.training = training
        self.net._skip_first_dX = self.skip
