"""The playground's HTTP server: a Flask app over ``Sessions``.

Endpoints (JSON in, JSON out; every body field checked by ``schema``):

==========================  ==============================================================
``GET  /``                  the page (static files shipped in the package, no CDN)
``GET  /api/options``       data sets, activations, optimizers, outputs, defaults, limits
``POST /api/configure``     build (or rebuild: Reset) a tab's data and network → state + data
``POST /api/train``         ``steps`` mini-batch updates → state
``POST /api/step``          one mini-batch update with its chain-rule ledger → state + ledger
``POST /api/weight``        ``layer``, ``i``, ``j``, ``value``: set W[i][j] by hand → state
``GET  /api/state``         ``?session=ID`` → state
``GET  /api/data``          ``?session=ID`` → the training and validation points
``GET  /api/ledger``        ``?session=ID`` → the ledger of the last Step
``GET  /api/unit``          ``?session=ID&column=C&unit=J`` → that unit's output over the frame,
                            at the main plot's size (column 0: the inputs)
``GET  /api/connection``    ``?session=ID&layer=K&i=I&j=J`` → weight W[i][j] of Dense layer K's
                            chain rule over the last Step's batch: each row's a·δ, their sum
``POST /api/upload``        ``csv``: the tab's own x1,x2,label points → their count and scale;
                            with ``config`` (configure's fields), the run on them too → state
                            + data (refused together: the tab keeps what it had)
``GET  /api/export/model``  ``?session=ID`` → the trained network as a chainrule model file
``GET  /api/export/script`` ``?session=ID`` → a Python script that reproduces the run
``POST /api/close``         free a tab's session (the page sends it when it is left)
==========================  ==============================================================

The endpoints themselves are in ``routes``. Refused requests answer
``{"error": message, "key": ..., "args": {...}}`` (the English message, and the
key and arguments the page words it by in its language) with status 400 (bad field),
403 (a Host or Origin other than the playground's own), 404 (unknown session),
415 (a POST whose body is not sent as ``application/json``) or 503 (too many
sessions).

Only the playground's own page can drive it. A request must name the server
in its Host header as it listens (a DNS-rebinding page names its own domain),
and a browser's Origin header, when sent, must be this server; POSTs must be
``application/json``, which no cross-origin form or beacon can send without
the browser asking first. Idle connections are closed after ``timeout`` seconds.
"""
from __future__ import annotations

import os
import threading
from importlib import resources

from . import routes
from .routes import MAX_UPLOAD_BODY
from .session import Sessions

#: Seconds an open connection may wait for a request before it is closed.
TIMEOUT = 60.0
_LOOPBACK = ("localhost", "127.0.0.1", "[::1]")


def _split_host(host):
    """``("name", "port")`` of a Host header value (port "" if none); IPv6 keeps its brackets."""
    name, colon, port = host.rpartition(":")
    if not colon or name.endswith(":") or (host.startswith("[") and not name.endswith("]")):
        return host, ""  # no port (an IPv6 literal's colons are inside its brackets)
    return name, port


def loopback_hosts(host):
    """The default Host check of ``create_app``: a loopback name, on any port."""
    return _split_host(host)[0].lower() in _LOOPBACK


def listening_hosts(host, port):
    """The Host check for a server bound to ``host``:``port``: that address and port, and
    ``localhost`` with it; bound to every interface, any IP address with that port."""
    import ipaddress
    port = str(port)
    bound = f"[{host}]" if ":" in host else host
    everywhere = host in ("", "0.0.0.0", "::")

    def allowed(value):
        name, given = _split_host(value.lower())
        if given != port:
            return False
        if name == "localhost" or name == bound.lower() or (bound in ("127.0.0.1", "[::1]")
                                                             and name in _LOOPBACK):
            return True
        if everywhere:
            try:
                ipaddress.ip_address(name.strip("[]"))  # a name could be anyone's domain
                return True
            except ValueError:
                return False
        return False
    return allowed


def _flask():
    try:
        import flask
    except ImportError:
        raise ImportError("the playground needs Flask: pip install 'chainrule[playground]'") from None
    return flask


def create_app(sessions=None, hosts=None):
    """The Flask app; ``sessions`` (a ``Sessions``) may be given to set its limits.

    ``hosts(value) -> bool`` decides which Host headers are served; by default
    the loopback names on any port, narrowed by ``make_server`` to the address
    and port it listens on.
    """
    flask = _flask()
    static = resources.files("chainrule.playground") / "static"
    app = flask.Flask(__name__, static_folder=str(static), static_url_path="/static")
    app.config["MAX_CONTENT_LENGTH"] = MAX_UPLOAD_BODY  # each endpoint's own limit: body()
    app.json.sort_keys = False  # keep the data sets and options in their natural order
    app.sessions = sessions if sessions is not None else Sessions()
    app.hosts = hosts or loopback_hosts
    # Training runs at most one computation per core at a time, whatever the number of
    # tabs or requests in flight: the others wait their turn instead of crowding the CPU.
    app.compute = threading.BoundedSemaphore(os.cpu_count() or 2)

    routes.install(app, flask)
    return app


def make_server(host="127.0.0.1", port=8000, app=None, timeout=TIMEOUT):
    """A threaded WSGI server for the app (not yet serving); ``port=0`` picks a free port.

    The app then serves only requests whose Host is this address and port (unless
    it was made with its own ``hosts``); a connection idle for ``timeout``
    seconds is closed, so that open sockets cannot hold every server thread.
    """
    _flask()
    from werkzeug.serving import WSGIRequestHandler
    from werkzeug.serving import make_server as _make_server

    class Quiet(WSGIRequestHandler):
        # a playing tab sends several requests a second: log only failures
        def log_request(self, code="-", size="-"):
            if str(code)[:1] not in "23":
                super().log_request(code, size)

    Quiet.timeout = timeout  # socketserver sets it on each connection's socket
    app = app or create_app()
    server = _make_server(host, port, app, threaded=True, request_handler=Quiet)
    if app.hosts is loopback_hosts:
        app.hosts = listening_hosts(host, server.server_port)
    return server


def serve(host="127.0.0.1", port=8000, open_browser=False, out=print):
    """Serve the playground until interrupted, printing its URL first."""
    server = make_server(host, port)
    shown = f"[{host}]" if ":" in host else host
    url = f"http://{shown}:{server.server_port}/"
    out(f"chainrule playground at {url}  (Ctrl+C to stop)")
    if host not in ("127.0.0.1", "localhost", "::1"):
        out(f"warning: listening on {host}: other machines can reach this server")
    if open_browser:
        import webbrowser
        webbrowser.open(url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0
