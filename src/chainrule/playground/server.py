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

Refused requests answer ``{"error": message}`` with status 400 (bad field),
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

import json
import os
import threading
from importlib import resources

from .datasets import DATASETS
from .features import FEATURES
from . import export, pictures
from .schema import (ACTIVATIONS, CHOICES, DEFAULTS, LIMITS, OPTIMIZERS, OUTPUTS, RequestError, check_body,
                     parse_config, parse_session, parse_train, parse_weight, session_id)
from .session import Session, Sessions
from .upload import MAX_CHARS, MAX_CLASSES, MAX_ROWS, MIN_ROWS, parse_csv, uploaded_dataset
from .words import LANGUAGES, received, say

#: Largest request body accepted, in bytes: a config is a few hundred.
MAX_BODY = 16_384
#: Largest body of an upload: its CSV text (``upload.MAX_CHARS``), escaped as JSON.
MAX_UPLOAD_BODY = 4 * 65_536 + 1024
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


def options():
    """What the page offers, and the limits and defaults the server enforces: the page
    builds its menus from these, and words them from its tables (``words``)."""
    return {
        "datasets": {name: {"task": d.task, "classes": d.classes, "features": d.n_features}
                     for name, d in DATASETS.items()},
        "activations": list(ACTIVATIONS), "optimizers": list(OPTIMIZERS),
        "outputs": ["auto", *OUTPUTS],
        "features": {name: {"label": label, "columns": columns}
                     for name, (label, columns, _) in FEATURES.items()},
        "defaults": DEFAULTS, "limits": {k: list(v) for k, v in LIMITS.items()},
        "choices": CHOICES, "languages": list(LANGUAGES),
        "upload": {"rows": [MIN_ROWS, MAX_ROWS], "chars": MAX_CHARS, "classes": MAX_CLASSES},
    }


def _index(text, name):
    """A query's index (``layer``, ``i``, ``j``): a whole number written in at most 3 digits."""
    if text is None or not text.isdigit() or len(text) > 3:
        raise RequestError("error.query_index", name=name, value=received(text))
    return int(text)


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

    def body(limit=MAX_BODY):
        length = flask.request.content_length
        if length is not None and length > limit:  # refused before it is read
            flask.abort(413, description=limit)
        raw = flask.request.get_data(cache=False)
        if len(raw) > limit:
            raise RequestError("error.body_too_long", count=len(raw), hi=limit)
        try:
            return json.loads(raw or b"{}")
        except (ValueError, UnicodeDecodeError) as error:
            raise RequestError("error.json", reason=str(error)) from None
        except RecursionError:
            raise RequestError("error.nested") from None

    def query_session(allowed=("session",)):
        unknown = sorted(set(flask.request.args) - set(allowed))
        if unknown:
            raise RequestError("error.query_unknown", name=received(unknown[0]), valid=allowed)
        return app.sessions.get(session_id(flask.request.args.get("session")))

    @app.before_request
    def own_page_only():
        request = flask.request
        host = request.host
        if not app.hosts(host):
            raise RequestError("error.host", status=403, host=received(host))
        origin = request.headers.get("Origin")
        if origin is not None and origin.lower() != f"http://{host}".lower():
            raise RequestError("error.origin", status=403, origin=received(origin))
        if request.method == "POST" and request.mimetype != "application/json":
            raise RequestError("error.content_type", status=415,
                               type=received(request.mimetype or "none"))

    def answer(key, status, **args):
        """A refusal as JSON: the English text, and the key and arguments the page words it by."""
        return flask.jsonify(error=say(key, "en", **args), key=key, args=args), status

    @app.errorhandler(RequestError)
    def refused(error):
        return answer(error.key, error.status, **error.params)

    @app.errorhandler(500)
    def failed(error):
        return answer("error.server", 500)

    @app.errorhandler(413)
    def too_large(error):
        limit = error.description if isinstance(error.description, int) else MAX_UPLOAD_BODY
        return answer("error.body_too_large", 413, hi=limit)

    @app.errorhandler(404)
    def not_found(error):
        return answer("error.not_found", 404, path=received(flask.request.path, 80))

    @app.errorhandler(405)
    def wrong_method(error):
        return answer("error.method", 405, method=flask.request.method,
                      path=received(flask.request.path, 80))

    @app.get("/")
    def page():
        response = app.send_static_file("index.html")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/api/options")
    def get_options():
        return options()

    def uploaded_of(sid):
        return app.sessions.get(sid).uploaded if sid in app.sessions else None

    @app.post("/api/configure")
    def configure():
        request = body()
        sid = session_id(request.get("session")) if isinstance(request, dict) else None
        sid, config = parse_config(request, uploaded_of(sid) if sid else None)
        session = Session(config, uploaded_of(sid))
        app.sessions.put(sid, session)
        return {**session.state(), "data": session.data_json()}

    @app.post("/api/upload")
    def upload():
        request = check_body(body(MAX_UPLOAD_BODY), {"session", "csv", "config"})
        sid = session_id(request.get("session"))
        session = app.sessions.get(sid)
        P, y, scale = parse_csv(request.get("csv"))
        uploaded = uploaded_dataset(P, y, scale)
        answer = {"rows": len(P), "classes": uploaded.classes, "scale": scale,
                  "dataset": "upload", "title": uploaded.title}
        if "config" not in request:  # kept for the tab's next configure
            with session.lock:
                session.uploaded = uploaded
            return answer
        # the points and the run on them together: if the run is refused, so are the points,
        # and the tab keeps the run (and the upload) it had
        settings = request["config"]
        if not isinstance(settings, dict):
            raise RequestError("error.config_not_object", type=type(settings).__name__)
        _, config = parse_config({**settings, "session": sid, "dataset": "upload"}, uploaded)
        fresh = Session(config, uploaded)
        app.sessions.put(sid, fresh)
        return {**answer, **fresh.state(), "data": fresh.data_json()}

    def download(data, filename, mimetype):
        response = flask.Response(data, mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/api/export/model")
    def export_model():
        session = query_session()
        with session.lock:
            data = export.model_bytes(session)
        return download(data, "chainrule_playground.safetensors", "application/octet-stream")

    @app.get("/api/export/script")
    def export_script():
        session = query_session()
        with session.lock:
            text = export.script(session)
        return download(text, export.SCRIPT_NAME, "text/x-python; charset=utf-8")

    @app.post("/api/train")
    def train():
        sid, steps = parse_train(body())
        session = app.sessions.get(sid)
        with app.compute, session.lock:
            session.train(steps)
            return session.state()

    @app.post("/api/weight")
    def set_weight():
        sid, k, i, j, value = parse_weight(body())
        session = app.sessions.get(sid)
        with app.compute, session.lock:
            session.set_weight(k, i, j, value)
            return session.state()

    @app.post("/api/step")
    def step():
        session = app.sessions.get(parse_session(body()))
        with app.compute, session.lock:
            session.step_with_ledger()
            return {**session.state(), "ledger": session.ledger}

    @app.get("/api/connection")
    def weight():
        session = query_session(("session", "layer", "i", "j"))
        at = {name: _index(flask.request.args.get(name), name) for name in ("layer", "i", "j")}
        with session.lock:
            return session.connection(at["layer"], at["i"], at["j"])

    @app.get("/api/unit")
    def unit():
        session = query_session(("session", "column", "unit"))
        column, j = (_index(flask.request.args.get(name), name) for name in ("column", "unit"))
        with app.compute, session.lock:
            return pictures.unit_picture(session, column, j)

    @app.get("/api/state")
    def state():
        session = query_session()
        with session.lock:
            return session.state()

    @app.get("/api/data")
    def data():
        session = query_session()
        return session.data_json()

    @app.get("/api/ledger")
    def ledger():
        session = query_session()
        with session.lock:
            if session.ledger is None:
                raise RequestError("error.no_ledger", status=404)
            return session.ledger

    @app.post("/api/close")
    def close():
        return {"closed": app.sessions.close(parse_session(body()))}

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
