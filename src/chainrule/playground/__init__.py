"""The playground: train a small chainrule network in the browser and open up any step.

``chainrule playground`` serves one page on 127.0.0.1. Each browser tab gets
its own session (data set, network, optimizer) on the server, which trains
with chainrule itself; the page only draws what the server sends: the network
with its weights, the loss curves, the decision boundary or regression fit,
and, after a Step, the chain-rule ledger of that mini-batch.

Needs Flask (``pip install 'chainrule[playground]'``); importing this package
does not, only ``create_app``/``serve`` do.

Modules: ``datasets`` (the toy data), ``schema`` (request checks and limits),
``session`` (one tab's training run, and the store of them), ``ledger``
(a Trace as JSON), ``server`` (the Flask app).
"""
from .datasets import DATASETS, generate
from .server import create_app, make_server, serve
from .session import Session, Sessions

__all__ = ["DATASETS", "generate", "create_app", "make_server", "serve", "Session", "Sessions"]
