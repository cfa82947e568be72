"""The playground: train a small chainrule network in the browser and open up any step.

``chainrule playground`` serves one page on 127.0.0.1. Each browser tab gets
its own session (data set, network, optimizer) on the server, which trains
with chainrule itself; the page only draws what the server sends: the network
with its weights, the loss curves, the decision boundary or regression fit,
and, after a Step, the chain-rule ledger of that mini-batch.

Needs Flask (``pip install 'chainrule[playground]'``); importing this package
does not, only ``create_app``/``serve`` do.

Modules: ``datasets`` (the toy data), ``features`` (the input features),
``schema`` (request checks and limits), ``words`` (the word tables, one per
language, that the page and the server's messages share), ``session`` (one
tab's training run, and the store of them), ``pictures`` (what the page draws
of a network), ``ledger`` (a Trace as JSON, and one weight's chain rule),
``upload`` (a learner's CSV), ``export`` (the model file and the script),
``routes`` (the endpoints), ``server`` (the Flask app and its server).
"""
from .datasets import DATASETS, generate
from .server import create_app, make_server, serve
from .session import Session, Sessions

__all__ = ["DATASETS", "Session", "Sessions", "create_app", "generate", "make_server", "serve"]
