"""The playground's endpoints on a Flask app (``server`` lists them), and the checks every
request passes first.

``install(app, flask)`` adds them: the guards (only the playground's own page,
JSON bodies), the refusals as JSON (the English text with the key and
arguments the page words it by), the runs (configure, upload, train, step,
weight) and the views (state, data, ledger, connection, unit, the exports).
"""
from __future__ import annotations

import json

from . import export, pictures
from .datasets import DATASETS
from .features import FEATURES, raw
from .schema import (
    ACTIVATIONS,
    CHOICES,
    DEFAULTS,
    LIMITS,
    OPTIMIZERS,
    OUTPUTS,
    RequestError,
    check_body,
    parse_config,
    parse_session,
    parse_train,
    parse_weight,
    session_id,
)
from .session import Session
from .upload import MAX_CHARS, MAX_CLASSES, MAX_ROWS, MIN_ROWS, parse_csv, uploaded_dataset
from .words import LANGUAGES, received, say

#: What the page may load and run: its own scripts (ES modules, no inline script), styles and
#: requests; images from itself and from the data: URLs its canvases make; no frames, no
#: plugins, no forms sent anywhere, no <base> to move its relative URLs.
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'")

#: Largest request body accepted, in bytes: a config is a few hundred.
MAX_BODY = 16_384
#: Largest body of an upload: its CSV text (``upload.MAX_CHARS``), escaped as JSON.
MAX_UPLOAD_BODY = 4 * MAX_CHARS + 1024


def options():
    """What the page offers, and the limits and defaults the server enforces: the page
    builds its menus from these, and words them from its tables (``words``)."""
    return {
        "datasets": {name: {"task": d.task, "classes": d.classes, "features": d.n_features}
                     for name, d in DATASETS.items()},
        "activations": list(ACTIVATIONS), "optimizers": list(OPTIMIZERS),
        "outputs": ["auto", *OUTPUTS],
        # raw: one of the data's own columns (the features when a config names none)
        "features": {name: {"label": label, "columns": columns, "raw": name in raw(2)}
                     for name, (label, columns, _) in FEATURES.items()},
        "defaults": DEFAULTS, "limits": {k: list(v) for k, v in LIMITS.items()},
        "choices": CHOICES, "languages": list(LANGUAGES),
        # file_bytes: the largest file whose text can be within chars (UTF-8 takes at most 4
        # bytes a character): the page refuses a bigger one before reading it
        "upload": {"rows": [MIN_ROWS, MAX_ROWS], "chars": MAX_CHARS, "classes": MAX_CLASSES,
                   "file_bytes": 4 * MAX_CHARS},
    }


def read_body(flask, limit=MAX_BODY):
    """The request's JSON body, refused above ``limit`` bytes (before it is read when the
    request says its length)."""
    length = flask.request.content_length
    if length is not None and length > limit:
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


def query_session(flask, app, allowed=("session",)):
    """The session a GET names by ``?session=ID``; the query may hold ``allowed`` only."""
    unknown = sorted(set(flask.request.args) - set(allowed))
    if unknown:
        raise RequestError("error.query_unknown", name=received(unknown[0]), valid=list(allowed))
    return app.sessions.get(session_id(flask.request.args.get("session")))


def query_index(flask, name):
    """A query's index (``layer``, ``i``, ``j``, ...): a whole number of at most 3 digits."""
    text = flask.request.args.get(name)
    if text is None or not text.isdigit() or len(text) > 3:
        raise RequestError("error.query_index", name=name, value=received(text))
    return int(text)


def install(app, flask):
    """Add every check and endpoint of the playground to ``app``."""
    _guards(app, flask)
    _headers(app, flask)
    _runs(app, flask)
    _views(app, flask)
    _exports(app, flask)


def _guards(app, flask):
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

    app.register_error_handler(RequestError, lambda e: answer(e.key, e.status, **e.params))
    app.register_error_handler(500, lambda e: answer("error.server", 500))
    app.register_error_handler(413, lambda e: answer(
        "error.body_too_large", 413,
        hi=e.description if isinstance(e.description, int) else MAX_UPLOAD_BODY))
    app.register_error_handler(404, lambda e: answer(
        "error.not_found", 404, path=received(flask.request.path, 80)))
    app.register_error_handler(405, lambda e: answer(
        "error.method", 405, method=flask.request.method, path=received(flask.request.path, 80)))


def _headers(app, flask):
    @app.after_request
    def typed_and_confined(response):
        # a browser runs a module script only when it is served as JavaScript, and the
        # system's MIME table (which Flask asks) may say text/plain for .js
        if flask.request.path.startswith("/static/") and flask.request.path.endswith(".js"):
            response.mimetype = "text/javascript"
        response.headers["Content-Security-Policy"] = CSP
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _runs(app, flask):
    def uploaded_of(sid):
        return app.sessions.get(sid).uploaded if sid in app.sessions else None

    @app.post("/api/configure")
    def configure():
        request = read_body(flask)
        sid = session_id(request.get("session")) if isinstance(request, dict) else None
        sid, config = parse_config(request, uploaded_of(sid) if sid else None)
        session = Session(config, uploaded_of(sid))
        app.sessions.put(sid, session)
        return {**session.state(), "data": session.data_json()}

    @app.post("/api/upload")
    def upload():
        request = check_body(read_body(flask, MAX_UPLOAD_BODY), {"session", "csv", "config"})
        sid = session_id(request.get("session"))
        session = app.sessions.get(sid)
        P, y, scale = parse_csv(request.get("csv"))
        uploaded = uploaded_dataset(P, y, scale)
        answer = {"rows": len(P), "classes": uploaded.classes, "scale": scale,
                  "dataset": "upload", "title": uploaded.title,
                  # as /api/options describes each data set, for the page's menu
                  "described": {"task": uploaded.task, "classes": uploaded.classes,
                                "features": uploaded.n_features}}
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

    @app.post("/api/train")
    def train():
        sid, steps = parse_train(read_body(flask))
        session = app.sessions.get(sid)
        with app.compute, session.lock:
            session.train(steps)
            return session.state()

    @app.post("/api/weight")
    def set_weight():
        sid, k, i, j, value = parse_weight(read_body(flask))
        session = app.sessions.get(sid)
        with app.compute, session.lock:
            session.set_weight(k, i, j, value)
            return session.state()

    @app.post("/api/step")
    def step():
        session = app.sessions.get(parse_session(read_body(flask)))
        with app.compute, session.lock:
            session.step_with_ledger()
            return {**session.state(), "ledger": session.ledger}

    @app.post("/api/close")
    def close():
        return {"closed": app.sessions.close(parse_session(read_body(flask)))}


def _views(app, flask):
    @app.get("/")
    def page():
        response = app.send_static_file("index.html")
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/api/options")
    def get_options():
        return options()

    @app.get("/api/state")
    def state():
        session = query_session(flask, app)
        with session.lock:
            return session.state()

    @app.get("/api/data")
    def data():
        return query_session(flask, app).data_json()

    @app.get("/api/ledger")
    def ledger():
        session = query_session(flask, app)
        with session.lock:
            if session.ledger is None:
                raise RequestError("error.no_ledger", status=404)
            return session.ledger

    @app.get("/api/connection")
    def connection():
        session = query_session(flask, app, ("session", "layer", "i", "j"))
        k, i, j = (query_index(flask, name) for name in ("layer", "i", "j"))
        with session.lock:
            return session.connection(k, i, j)

    @app.get("/api/unit")
    def unit():
        session = query_session(flask, app, ("session", "column", "unit"))
        column, j = (query_index(flask, name) for name in ("column", "unit"))
        with app.compute, session.lock:
            return pictures.unit_picture(session, column, j)


def _exports(app, flask):
    def download(data, filename, mimetype):
        response = flask.Response(data, mimetype=mimetype)
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
        response.headers["Cache-Control"] = "no-store"
        return response

    @app.get("/api/export/model")
    def export_model():
        session = query_session(flask, app)
        with session.lock:
            data = export.model_bytes(session)
        return download(data, "chainrule_playground.safetensors", "application/octet-stream")

    @app.get("/api/export/script")
    def export_script():
        session = query_session(flask, app)
        with session.lock:
            text = export.script(session)
        return download(text, export.SCRIPT_NAME, "text/x-python; charset=utf-8")
