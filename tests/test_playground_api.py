"""The playground's HTTP API, through Flask's test client: every endpoint, bad requests, sessions."""
import json
import sys
import threading

import numpy as np
import pytest

pytest.importorskip("flask")

from chainrule.cli import build_parser
from chainrule.playground import create_app
from chainrule.playground.pictures import GRID
from chainrule.playground.session import Sessions

from conftest import assert_blas_close, sums_length

A, B = "tab-aaaaaaaa", "tab-bbbbbbbb"


@pytest.fixture
def client():
    return create_app().test_client()


def post(client, path, body, status=200):
    response = client.post(path, data=json.dumps(body), content_type="application/json")
    assert response.status_code == status, response.get_json()
    return response.get_json()


def get(client, path, session, status=200):
    response = client.get(path, query_string={"session": session})
    assert response.status_code == status, response.get_json()
    return response.get_json()


def strict_json(response):
    """Parse as a browser would: NaN and Infinity are not JSON."""
    def refuse(name):
        raise AssertionError(f"the response holds {name}, which JSON.parse rejects")
    return json.loads(response.data, parse_constant=refuse)


# -- the page and the options ------------------------------------------------------------

def test_page_and_assets_are_served_from_the_package(client):
    page = client.get("/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert '<script type="module" src="/static/js/main.js">' in html
    assert "/static/playground.css" in html
    for asset in ("/static/js/main.js", "/static/js/draw.js", "/static/playground.css"):
        response = client.get(asset)
        assert response.status_code == 200 and len(response.data) > 1000
        # no CDN: the page must work offline
        assert b"https://" not in response.data and b"http://" not in response.data.replace(
            b"http://www.w3.org/2000/svg", b"")
    assert "https://" not in html and "http://" not in html


def test_options_list_every_data_set_and_the_limits(client):
    options = client.get("/api/options").get_json()
    assert list(options["datasets"]) == ["xor", "circles", "moons", "spiral", "blobs", "sine"]
    assert options["datasets"]["sine"]["task"] == "regression"
    assert options["datasets"]["blobs"]["classes"] == 3
    assert options["limits"]["units"] == [1, 8] and options["limits"]["steps"][1] >= 1
    assert "sgd" in options["optimizers"] and "tanh" in options["activations"]
    assert options["defaults"]["dataset"] == "xor"


# -- configure, train, state, data ------------------------------------------------------------

def test_configure_builds_the_data_and_the_network(client):
    state = post(client, "/api/configure", {"session": A, "size": 200, "hidden": [3, 5]})
    assert state["step"] == 0 and state["diverged"] is None
    assert state["network"]["sizes"] == [2, 3, 5, 1]
    shapes = [(len(layer["W"]), len(layer["W"][0]), len(layer["b"])) for layer in state["network"]["layers"]]
    assert shapes == [(2, 3, 3), (3, 5, 5), (5, 1, 1)]
    assert len(state["data"]["train"]["X"]) == 160 and len(state["data"]["val"]["X"]) == 40
    assert set(state["data"]["train"]["y"]) == {0, 1}
    picture = state["picture"]
    assert picture["kind"] == "grid" and len(picture["label"]) == len(picture["confidence"]) == GRID ** 2
    assert state["history"]["step"] == [0] and state["history"]["loss"][0] > 0
    assert state["config"]["output"] == "sigmoid_bce"  # "auto" resolved for 2 classes


def test_the_seed_fixes_data_and_weights(client):
    first = post(client, "/api/configure", {"session": A, "seed": 7})
    again = post(client, "/api/configure", {"session": B, "seed": 7})
    other = post(client, "/api/configure", {"session": A, "seed": 8})
    assert first["data"] == again["data"] and first["network"] == again["network"]
    assert first["data"] != other["data"] and first["network"] != other["network"]


def test_train_lowers_the_loss_and_extends_the_curves(client):
    start = post(client, "/api/configure", {"session": A})
    for _ in range(6):
        state = post(client, "/api/train", {"session": A, "steps": 50})
    assert state["step"] == 300 and state["epoch"] == 300 * 10 // 320  # batches of 10, 320 rows
    assert len(state["history"]["step"]) == 7 and state["history"]["step"][-1] == 300
    assert state["metrics"]["loss"] < 0.5 * start["metrics"]["loss"]
    assert state["metrics"]["accuracy"] > 0.9
    assert state["picture"]["label"] != start["picture"]["label"]
    assert get(client, "/api/state", A) == state
    assert get(client, "/api/data", A) == start["data"]


@pytest.mark.parametrize("dataset, output, sizes_out", [
    ("circles", "auto", 1), ("moons", "auto", 1), ("spiral", "softmax_ce", 2),
    ("blobs", "auto", 3), ("sine", "auto", 1)])
def test_every_data_set_trains(client, dataset, output, sizes_out):
    state = post(client, "/api/configure", {"session": A, "dataset": dataset, "output": output,
                                            "size": 100})
    state = post(client, "/api/train", {"session": A, "steps": 20})
    assert state["network"]["sizes"][-1] == sizes_out and state["step"] == 20
    assert all(v is not None for v in state["history"]["loss"])
    if dataset == "sine":
        assert state["picture"]["kind"] == "curve" and "accuracy" not in state["metrics"]
        assert state["network"]["sizes"][0] == 1
    else:
        assert max(state["picture"]["label"]) < max(2, sizes_out)


def test_divergence_stops_training_and_keeps_the_json_valid(client):
    post(client, "/api/configure", {"session": A, "dataset": "sine", "activation": "relu",
                                    "hidden": [8, 8, 8], "lr": 10.0, "batch_size": 64})
    response = client.post("/api/train", data=json.dumps({"session": A, "steps": 200}),
                           content_type="application/json")
    state = strict_json(response)
    # fit's DivergenceError message, word for word (training.step raises it for both)
    assert state["diverged"].startswith("training diverged at epoch ")
    assert "lr=10)" in state["diverged"] and "weights are those before this batch" in state["diverged"]
    assert state["step"] < 200
    later = strict_json(client.post("/api/train", data=json.dumps({"session": A, "steps": 5}),
                                    content_type="application/json"))
    assert later["step"] == state["step"]  # a diverged run stays put until reset


# -- step and the ledger ------------------------------------------------------------------------

def _entry(ledger, layer, phase):
    [entry] = [e for e in ledger["entries"] if e["layer"] == layer and e["phase"] == phase]
    return entry


def test_step_returns_the_ledger_of_the_batch_it_applied(client):
    lr = 0.25
    post(client, "/api/configure", {"session": A, "lr": lr, "batch_size": 8, "hidden": [3]})
    get(client, "/api/ledger", A, status=404)
    first = post(client, "/api/step", {"session": A})
    second = post(client, "/api/step", {"session": A})
    assert (first["step"], second["step"]) == (1, 2)
    ledger, after = first["ledger"], second["ledger"]
    # numbered as the step counter shows it once the step is done
    assert ledger["step"] == 1 and after["step"] == 2 and ledger["n"] == 8 == len(ledger["rows"])
    assert get(client, "/api/ledger", A) == after
    # plain SGD: the weights the second batch saw are the first batch's minus lr times its dW
    for layer in (0, 2):
        W0 = np.array(_entry(ledger, layer, "forward")["values"]["W"])
        dW = np.array(_entry(ledger, layer, "backward")["values"]["dW"])
        b0 = np.array(_entry(ledger, layer, "forward")["values"]["b"])
        db = np.array(_entry(ledger, layer, "backward")["values"]["db"])
        W1 = np.array(_entry(after, layer, "forward")["values"]["W"])
        b1 = np.array(_entry(after, layer, "forward")["values"]["b"])
        assert dW.shape == W0.shape and np.abs(dW).max() > 0
        np.testing.assert_allclose(W1, W0 - lr * dW, rtol=0, atol=1e-14)
        np.testing.assert_allclose(b1, b0 - lr * db, rtol=0, atol=1e-14)


def test_the_batches_are_fits_own_and_count_the_epochs(client):
    """The session's mini-batches are the library's ``Batches`` on the seed's stream [seed, 3]:
    a Step's ledger names the rows of the batch fit would take there; an epoch is counted
    when its last batch is taken (a full batch: every step)."""
    from chainrule.train.batching import Batches
    post(client, "/api/configure", {"session": A, "batch_size": 7, "size": 40, "seed": 5})
    session = client.application.sessions.get(A)
    rng = np.random.default_rng([5, 3])
    expected = [rows.copy() for _, rows in Batches(session.X, np.arange(32), 7)(rng, True)]
    assert len(expected) == 5  # 32 training rows: batches of 7, 7, 7, 7 and 4
    for k, rows in enumerate(expected):
        state = post(client, "/api/step", {"session": A})
        assert state["ledger"]["rows"] == rows.tolist()
        assert state["epoch"] == (1 if k == 4 else 0)
    post(client, "/api/configure", {"session": A, "batch_size": 32, "size": 40})
    assert post(client, "/api/train", {"session": A, "steps": 3})["epoch"] == 3
    assert post(client, "/api/step", {"session": A})["ledger"]["rows"] == list(range(32))


def test_ledger_reads_forward_then_loss_then_backward(client):
    post(client, "/api/configure", {"session": A, "batch_size": 4})
    ledger = post(client, "/api/step", {"session": A})["ledger"]
    kinds = [e["kind"] for e in ledger["entries"]]
    assert kinds == ["forward"] * 6 + ["loss"] * 2 + ["backward"] * 5 + ["update"] * 3
    assert ledger["fused"] and "sigmoid + binary cross-entropy" in ledger["words"]["en"]["note"]
    dense = _entry(ledger, 0, "backward")
    assert dense["equation"].startswith("dW = Xᵀ·dZ") and dense["shapes"]["dW"] == [2, 4]
    assert _entry(ledger, 1, "forward")["equation"] == "A = tanh(Z)"
    # the fused starting gradient, dZ = (A - Y)/m, as the trace recorded it
    start = _entry(ledger, 5, "backward")["values"]
    expected = (np.array(start["A"]) - np.array(start["Y"])) / 4
    np.testing.assert_allclose(start["dZ"], expected, rtol=1e-12)
    assert ledger["starting_gradient"] == start["dZ"]


def test_ledger_explains_softmax_and_the_unfused_start(client):
    post(client, "/api/configure", {"session": A, "dataset": "blobs", "batch_size": 5})
    ledger = post(client, "/api/step", {"session": A})["ledger"]
    assert ledger["fused"] and "softmax + cross-entropy" in ledger["words"]["en"]["note"]
    assert _entry(ledger, 4, "backward")["shapes"]["dW"] == [4, 3]
    post(client, "/api/configure", {"session": A, "dataset": "sine", "batch_size": 5})
    ledger = post(client, "/api/step", {"session": A})["ledger"]
    assert not ledger["fused"] and "dA = ∂L/∂A" in ledger["words"]["en"]["note"]
    start = _entry(ledger, None, "backward")
    assert start["kind"] == "loss" and start["equation"] == "dA = 2(A − Y) / m"


def test_the_ledgers_update_is_the_step_the_network_took(client):
    """Adam, so the update depends on the optimizer's state: the ledger's W_new is the weight
    the network holds after the step, and loss_after the batch's loss at those weights."""
    post(client, "/api/configure", {"session": A, "optimizer": "adam", "lr": 0.05, "batch_size": 6})
    post(client, "/api/train", {"session": A, "steps": 5})
    result = post(client, "/api/step", {"session": A})
    ledger, layers = result["ledger"], result["network"]["layers"]
    session = client.application.sessions.get(A)
    for k, layer in enumerate((0, 2, 4)):
        update = next(e for e in ledger["entries"] if e["layer"] == layer and e["phase"] == "update")
        v = update["values"]
        assert update["equation"] == "W_new = W + ΔW;  b_new = b + Δb"
        assert v["W_new"] == session.net.layers[layer].W.tolist()
        np.testing.assert_allclose(layers[k]["W"], v["W_new"], atol=1e-5)  # the page's weights
        assert v["W"] == _entry(ledger, layer, "forward")["values"]["W"]
        assert v["dW"] == _entry(ledger, layer, "backward")["values"]["dW"]
    rows = ledger["rows"]
    loss = session.loss
    Y = loss.prepare(session.y[rows], 1, np.float64)
    assert ledger["loss_after"] == pytest.approx(session.net.loss_value(session.X[rows], Y, loss),
                                                 rel=1e-12)
    assert ledger["loss_after"] != ledger["loss"]


# -- closing and the session store ------------------------------------------------------------------

def test_close_frees_the_session(client):
    post(client, "/api/configure", {"session": A})
    assert post(client, "/api/close", {"session": A}) == {"closed": True}
    assert A not in client.application.sessions
    message = get(client, "/api/state", A, status=404)["error"]
    assert "expired or was closed" in message
    assert post(client, "/api/close", {"session": A}) == {"closed": False}


def test_sessions_are_capped_and_expire_when_idle():
    now = [0.0]
    app = create_app(Sessions(capacity=2, idle=100.0, min_idle=10.0, clock=lambda: now[0]))
    client = app.test_client()
    post(client, "/api/configure", {"session": "tab-11111111", "size": 20, "batch_size": 4})
    post(client, "/api/configure", {"session": "tab-22222222", "size": 20, "batch_size": 4})
    post(client, "/api/train", {"session": "tab-11111111"})
    post(client, "/api/train", {"session": "tab-22222222"})
    now[0] = 5.0
    message = post(client, "/api/configure", {"session": "tab-33333333", "size": 20, "batch_size": 4},
                   status=503)["error"]
    assert "2 sessions" in message
    post(client, "/api/train", {"session": "tab-22222222"})      # tab 2 is in use at t = 5
    now[0] = 12.0                                                 # tab 1 idle for 12 s
    post(client, "/api/configure", {"session": "tab-33333333", "size": 20, "batch_size": 4})
    assert "tab-11111111" not in app.sessions and len(app.sessions) == 2
    now[0] = 200.0                                                # everyone idle for > 100 s
    get(client, "/api/state", "tab-22222222", status=404)
    assert len(app.sessions) == 0


def test_fresh_sessions_never_lock_out_a_tab_in_use():
    """40 configure requests with new ids (a script, or many tabs opened) replace one
    another; the tab that trains keeps its session and a new tab still gets one."""
    now = [0.0]
    app = create_app(Sessions(clock=lambda: now[0]))  # 16 sessions, 60 s before eviction
    client = app.test_client()
    small = {"size": 20, "batch_size": 4}
    post(client, "/api/configure", {"session": A, **small})
    post(client, "/api/train", {"session": A, "steps": 1})
    for i in range(40):
        now[0] += 0.1
        post(client, "/api/configure", {"session": f"flood-{i:08d}", **small})
    assert A in app.sessions and len(app.sessions) == 16
    assert post(client, "/api/train", {"session": A, "steps": 1})["step"] == 2
    post(client, "/api/configure", {"session": B, **small})  # the user's new tab
    assert post(client, "/api/train", {"session": B, "steps": 1})["step"] == 1


# -- only the playground's own page ---------------------------------------------------------

@pytest.mark.parametrize("headers, message", [
    ({"Host": "evil.example"}, "Host 'evil.example' is not this playground's address"),
    ({"Host": "evil.example:8000"}, "Host 'evil.example:8000' is not"),
    ({"Origin": "http://evil.example"}, "requests from 'http://evil.example' are refused"),
    ({"Origin": "null"}, "requests from 'null' are refused"),
    ({"Origin": "http://localhost:9999"}, "requests from 'http://localhost:9999' are refused"),
])
def test_foreign_hosts_and_origins_are_refused(client, headers, message):
    for method, path, kwargs in (("get", "/", {}), ("get", "/api/options", {}),
                                 ("post", "/api/configure", {"data": json.dumps({"session": A}),
                                                             "content_type": "application/json"})):
        response = getattr(client, method)(path, headers=headers, **kwargs)
        assert response.status_code == 403 and message in response.get_json()["error"]
    assert A not in client.application.sessions


def test_the_own_origin_is_served(client):
    response = client.post("/api/configure", data=json.dumps({"session": A}),
                           content_type="application/json",
                           headers={"Host": "127.0.0.1:8000", "Origin": "http://127.0.0.1:8000"})
    assert response.status_code == 200 and A in client.application.sessions


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded",
                                          "multipart/form-data; boundary=x", None])
def test_posts_a_cross_origin_form_could_send_are_refused(client, content_type):
    """A form or a beacon sends these without the browser asking the server first."""
    post(client, "/api/configure", {"session": A})
    response = client.post("/api/close", data=json.dumps({"session": A}), content_type=content_type)
    assert response.status_code == 415
    assert "a POST body must be sent as Content-Type: application/json" in response.get_json()["error"]
    assert A in client.application.sessions


def test_deeply_nested_bodies_are_a_json_400(client):
    for depth in (8_000, 5_000):  # within MAX_BODY
        raw = b'{"session": ' + b"[" * depth + b"]" * depth + b"}"
        response = client.post("/api/configure", data=raw, content_type="application/json")
        assert response.status_code == 400 and response.is_json
        assert "nested too deeply" in response.get_json()["error"]


def test_the_server_checks_the_host_it_listens_on():
    from chainrule.playground import make_server
    from chainrule.playground.server import listening_hosts
    server = make_server(port=0)
    try:
        port = server.server_port
        allowed = server.app.hosts
        assert allowed(f"127.0.0.1:{port}") and allowed(f"localhost:{port}")
        assert not allowed(f"127.0.0.1:{port + 1}") and not allowed(f"evil.example:{port}")
        assert not allowed("127.0.0.1")
    finally:
        server.server_close()
    everywhere = listening_hosts("0.0.0.0", 8000)
    assert everywhere("192.168.1.20:8000") and everywhere("[fe80::1]:8000")
    assert not everywhere("rebind.evil.example:8000")
    assert listening_hosts("::1", 8000)("[::1]:8000") and listening_hosts("::1", 8000)("localhost:8000")


def test_idle_connections_are_closed():
    """A client that connects and sends nothing does not hold a server thread forever."""
    import socket

    from chainrule.playground import make_server
    server = make_server(port=0, timeout=0.2)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        with socket.create_connection(("127.0.0.1", server.server_port)) as idle:
            idle.settimeout(30)  # only a guard: the server closes it long before
            assert idle.recv(1024) == b""  # closed by the server, nothing sent
    finally:
        server.shutdown()
        server.server_close()


def test_two_sessions_training_at_once_do_not_interfere():
    """Two tabs train in parallel threads; each ends exactly where it would have alone."""
    config_a = {"dataset": "xor", "seed": 1, "hidden": [4, 4], "optimizer": "adam", "lr": 0.03}
    config_b = {"dataset": "circles", "seed": 2, "hidden": [5], "optimizer": "sgd", "lr": 0.5}

    def run(client, sid, config, results):
        post(client, "/api/configure", {"session": sid, **config})
        for _ in range(15):
            post(client, "/api/train", {"session": sid, "steps": 7})
        results[sid] = (post(client, "/api/step", {"session": sid}), get(client, "/api/state", sid))

    shared, together = create_app(), {}
    threads = [threading.Thread(target=run, args=(shared.test_client(), sid, config, together))
               for sid, config in ((A, config_a), (B, config_b))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert set(together) == {A, B}
    for sid, config in ((A, config_a), (B, config_b)):
        alone = {}
        run(create_app().test_client(), sid, config, alone)
        assert together[sid] == alone[sid]
    assert together[A][1]["network"] != together[B][1]["network"]


# -- bad requests: 400 and a message naming the problem --------------------------------------------

BAD_CONFIGS = [
    ({"size": "400"}, "points must be a number, got '400' (size)"),
    ({"size": 5000}, "points must be between 20 and 2000, got 5000 (size)"),
    ({"size": True}, "points must be a number, got True"),
    ({"size": 100.5}, "points must be a whole number, got 100.5 (size)"),
    ({"noise": 2}, "noise must be between 0 and 1, got 2 (noise)"),
    ({"noise": "low"}, "noise must be a number"),
    ({"hidden": [4, 100]}, "hidden layer 2 must have 1 to 8 units, got 100 (hidden[1])"),
    ({"hidden": [2] * 7}, "the network can have 0 to 6 hidden layers"),
    ({"hidden": "4,4"}, "given as a list of unit counts, got '4,4' (hidden)"),
    ({"dataset": "moon"}, "there is no data set 'moon'; valid: xor, circles, moons, spiral, blobs, sine"),
    ({"dataset": None}, "there is no data set None"),
    ({"activation": "swish"}, "there is no activation 'swish'"),
    ({"optimizer": "lbfgs"}, "there is no optimizer 'lbfgs'"),
    ({"lr": 0}, "learning rate must be between 1e-06 and 10, got 0 (lr)"),
    ({"lr": 100}, "learning rate must be between 1e-06 and 10"),
    ({"batch_size": 0}, "batch size must be between 1 and 256, got 0 (batch_size)"),
    ({"batch_size": 200, "size": 100}, "the batch size can be at most 80, the number of training "
                                       "points, got 200"),
    ({"seed": -1}, "seed must be between 0 and 2147483647, got -1 (seed)"),
    ({"output": "sigmoid_bce", "dataset": "blobs"},
     "needs 2 classes, but 'Gaussian blobs (3 classes)' has 3: choose 'softmax + cross-entropy'"),
    ({"output": "identity_mse", "dataset": "xor"},
     "'linear + mean squared error' is for regression, but 'XOR' has class labels"),
    ({"output": "softmax_ce", "dataset": "sine"}, "'Sine (regression)' is a regression data set"),
    ({"output": "tanh"}, "there is no output / loss 'tanh'"),
    ({"learning_rate": 0.1}, "unknown field 'learning_rate'; valid fields:"),
    ({"features": []}, "choose 1 to 7 input features, got 0"),
    ({"features": "x1"}, "features must be a list"),
    ({"features": ["x1", "x3"]}, "there is no input feature 'x3'; valid: x1, x2, x1^2"),
    ({"features": ["x1", "x1"]}, "each input feature can be chosen once"),
    ({"features": ["x1", "x1x2"], "dataset": "sine"},
     "the input feature x₁x₂ needs x₂, but 'Sine (regression)' has x₁ only"),
    ({"l1": -0.1}, "L1 must be between 0 and 1, got -0.1 (l1)"),
    ({"l2": 2}, "L2 must be between 0 and 1, got 2 (l2)"),
    ({"l2": "strong"}, "L2 must be a number"),
    ({"dropout": 1}, "dropout must be between 0 and 0.9, got 1 (dropout)"),
    ({"dropout": float("nan")}, "dropout must be a finite number between 0 and 0.9, got nan"),
    ({"validation": 0}, "validation share must be between 0.1 and 0.9, got 0 (validation)"),
    ({"validation": 0.9, "size": 100, "batch_size": 20}, "the batch size can be at most 10"),
]


def test_features_feed_the_network_and_x1x2_alone_solves_xor(client):
    state = post(client, "/api/configure", {"session": A, "features": ["x1x2", "sin_x1", "x2^2"],
                                            "hidden": [], "lr": 1.0})
    assert state["network"]["sizes"] == [3, 1]
    assert state["network"]["features"] == ["x1x2", "sin_x1", "x2^2"]
    assert len(state["data"]["train"]["X"][0]) == 2  # the points are drawn in their own plane
    # the feature maps are the features themselves over the frame (row 0 at the top)
    maps = state["network"]["maps"]
    assert [len(m) for m in maps] == [3, 1]
    corner = maps[0][0][0]  # x1x2 at the top-left corner (-1.6, 1.6)
    assert corner == pytest.approx(-1.6 * 1.6, abs=0.01)
    for _ in range(4):
        state = post(client, "/api/train", {"session": A, "steps": 100})
    assert state["metrics"]["accuracy"] > 0.95  # no hidden layer: x1·x2's sign is the class


def test_l2_shrinks_the_weights_and_adds_its_penalty_to_the_loss(client):
    plain = post(client, "/api/configure", {"session": A})
    l2 = post(client, "/api/configure", {"session": B, "l2": 0.1})
    assert l2["network"] == plain["network"]  # the same initial weights
    W = [np.array(layer["W"]) for layer in plain["network"]["layers"]]
    penalty = 0.1 * sum((w ** 2).sum() for w in W)
    assert l2["metrics"]["loss"] == pytest.approx(plain["metrics"]["loss"] + penalty, abs=1e-4)
    for _ in range(4):
        plain = post(client, "/api/train", {"session": A, "steps": 100})
        l2 = post(client, "/api/train", {"session": B, "steps": 100})
    norm = lambda state: sum((np.array(layer["W"]) ** 2).sum() for layer in state["network"]["layers"])
    assert norm(l2) < 0.5 * norm(plain)


def test_l1_and_dropout_build_the_network_and_train(client):
    state = post(client, "/api/configure", {"session": A, "l1": 0.001, "dropout": 0.5})
    net = client.application.sessions.get(A).net
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Dense", "Tanh", "Dropout", "Dense", "Tanh", "Dropout", "Dense", "Sigmoid"]
    assert [layer.l1 for layer in net.layers if layer.params] == [0.001] * 3
    state = post(client, "/api/step", {"session": A})
    titles = [e["words"]["en"]["title"] for e in state["ledger"]["entries"]]
    assert "hidden layer 2: Dropout (layer 5)" in titles
    # the mask zeroes about half of the batch's activations during the step
    entry = next(e for e in state["ledger"]["entries"]
                 if "Dropout" in e["words"]["en"]["title"] and e["phase"] == "forward")
    A_out = np.array(entry["values"]["A"])
    assert 0 < (A_out == 0).mean() < 1
    state = post(client, "/api/train", {"session": A, "steps": 50})
    assert state["step"] == 51 and all(v is not None for v in state["history"]["loss"])


@pytest.mark.parametrize("validation, n_val", [(0.1, 40), (0.5, 200), (0.9, 360)])
def test_the_validation_share_splits_the_points_and_both_losses_are_shown(client, validation, n_val):
    state = post(client, "/api/configure", {"session": A, "validation": validation, "batch_size": 5})
    assert len(state["data"]["val"]["X"]) == n_val and len(state["data"]["train"]["X"]) == 400 - n_val
    assert state["metrics"]["loss"] > 0 and state["metrics"]["val_loss"] > 0
    assert state["config"]["validation"] == validation


@pytest.mark.parametrize("fields, message", BAD_CONFIGS, ids=[str(f) for f, _ in BAD_CONFIGS])
def test_bad_configure_is_a_400_naming_the_field(client, fields, message):
    error = post(client, "/api/configure", {"session": A, **fields}, status=400)["error"]
    assert message in error
    assert A not in client.application.sessions


@pytest.mark.parametrize("path, body, message", [
    ("/api/train", {"session": A, "steps": 0}, "steps must be between 1 and 200, got 0 (steps)"),
    ("/api/train", {"session": A, "steps": 100_000}, "steps must be between 1 and 200"),
    ("/api/train", {"session": A, "steps": "10"}, "steps must be a number, got '10'"),
    ("/api/train", {"session": A, "steps": 2.5}, "steps must be a whole number, got 2.5"),
    ("/api/train", {"session": A, "epochs": 3}, "unknown field 'epochs'"),
    ("/api/step", {"session": A, "steps": 3}, "unknown field 'steps'"),
    ("/api/train", {"steps": 1}, "session is required"),
    ("/api/configure", {"session": "short"}, "session must be 8 to 64 letters"),
    ("/api/close", {"session": "../../etc/passwd"}, "session must be 8 to 64 letters"),
    ("/api/train", {"session": 12345678}, "session must be 8 to 64 letters"),
    ("/api/train", [A, 1], "the request body must be a JSON object, got list"),
])
def test_bad_fields_are_a_400_with_a_message(client, path, body, message):
    post(client, "/api/configure", {"session": A})
    assert message in post(client, path, body, status=400)["error"]


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "not valid JSON"),
    (b'{"session": "tab-aaaaaaaa", "lr": NaN}',
     "learning rate must be a finite number between 1e-06 and 10, got nan (lr)"),
    (b'{"session": "tab-aaaaaaaa", "noise": Infinity}',
     "noise must be a finite number between 0 and 1, got inf (noise)"),
    (b"\xff\xfe", "not valid JSON"),
])
def test_malformed_bodies_are_a_400(client, raw, message):
    response = client.post("/api/configure", data=raw, content_type="application/json")
    assert response.status_code == 400 and message in response.get_json()["error"]


def test_oversized_bodies_are_refused(client):
    response = client.post("/api/configure", data=b"{" + b" " * 100_000 + b"}",
                           content_type="application/json")
    assert response.status_code == 413 and "larger than" in response.get_json()["error"]


def test_queries_are_checked_too(client):
    post(client, "/api/configure", {"session": A})
    response = client.get("/api/state")
    assert response.status_code == 400 and "session is required" in response.get_json()["error"]
    response = client.get("/api/state", query_string={"session": A, "grid": "1"})
    assert response.status_code == 400 and "unknown query parameter 'grid'" in response.get_json()["error"]
    assert "expired" in get(client, "/api/data", B, status=404)["error"]
    assert "no longer on the server" in post(client, "/api/train", {"session": B}, status=404)["error"]
    assert "no longer on the server" in post(client, "/api/step", {"session": B}, status=404)["error"]


def test_unknown_paths_and_methods_answer_in_json(client):
    response = client.get("/api/nothing")
    assert response.status_code == 404 and "/api/nothing" in response.get_json()["error"]
    response = client.get("/api/train")
    assert response.status_code == 405 and "GET is not allowed" in response.get_json()["error"]


# -- the command and the optional dependency -------------------------------------------------------

def test_the_command_binds_to_loopback_by_default():
    args = build_parser().parse_args(["playground"])
    assert (args.host, args.port, args.open) == ("127.0.0.1", 8000, False)
    args = build_parser().parse_args(["playground", "--port", "0", "--open"])
    assert args.port == 0 and args.open


def test_a_missing_flask_is_a_clear_message(monkeypatch):
    monkeypatch.setitem(sys.modules, "flask", None)
    with pytest.raises(ImportError, match=r"pip install 'chainrule\[playground\]'"):
        create_app()


def test_the_server_listens_on_loopback_only_by_default():
    from chainrule.playground import make_server
    server = make_server(port=0)
    try:
        assert server.server_address[0] == "127.0.0.1" and server.server_port > 0
    finally:
        server.server_close()


# -- your own points, and taking a run home ---------------------------------------------------

def csv_of(rows, header="x1,x2,label"):
    return "\n".join(([header] if header else []) + [",".join(map(str, row)) for row in rows])


def quadrant_points(n=60, seed=0):
    """XOR-like points around (10, 200), far outside the frame: the upload moves them in."""
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, (n, 2))
    return [(10 + 5 * a, 200 + 5 * b, int(a * b > 0)) for a, b in X]


def test_uploaded_points_are_moved_into_the_frame_and_train(client):
    post(client, "/api/configure", {"session": A})
    rows = quadrant_points()
    answer = post(client, "/api/upload", {"session": A, "csv": csv_of(rows)})
    assert answer["rows"] == 60 and answer["classes"] == 2
    assert answer["described"] == {"task": "classification", "classes": 2, "features": 2}
    state = post(client, "/api/configure", {"session": A, "dataset": "upload", "features": ["x1x2"],
                                            "hidden": [], "lr": 2.0})
    points = state["data"]["train"]["X"] + state["data"]["val"]["X"]
    assert len(points) == 60 and max(abs(v) for p in points for v in p) <= 1.4 + 1e-9
    scale = answer["scale"]
    first = (np.array(rows[0][:2]) - scale["centre"]) / scale["scale"]
    assert any(np.allclose(p, first, atol=1e-4) for p in points)
    for _ in range(3):
        state = post(client, "/api/train", {"session": A, "steps": 100})
    assert state["metrics"]["accuracy"] > 0.9
    # the points stay with the tab across resets, until it uploads others
    again = post(client, "/api/configure", {"session": A, "dataset": "upload", "seed": 3})
    assert len(again["data"]["train"]["X"]) + len(again["data"]["val"]["X"]) == 60


def test_the_upload_dataset_needs_points_first(client):
    error = post(client, "/api/configure", {"session": A, "dataset": "upload"}, status=400)["error"]
    assert "needs your points first" in error


BIG = "1,2,0\n" * 2000
HOSTILE_UPLOADS = [
    (csv_of(quadrant_points(10)), "the CSV file must have 20 to 1000 rows of x1,x2,label, got 10"),
    (csv_of([(0, 0, i % 2) for i in range(1001)]), "the CSV file must have 20 to 1000 rows"),
    (BIG * 20, "the CSV file must be at most 65536 characters"),
    (csv_of([(1, 2)] + [(1, 2, 0)] * 30), "line 2: expected 3 comma-separated values (x1,x2,label), got 2"),
    (csv_of([(1, 2, 0, 4)] * 30), "got 4"),
    (csv_of([(1, "abc", 0)] + [(1, 2, 1)] * 30), "line 2, column 2: 'abc' is not a number"),
    (csv_of([(1, "nan", 0)] + [(1, 2, 1)] * 30), "line 2, column 2: values must be finite"),
    (csv_of([("1e400", 1, 0)] + [(1, 2, 1)] * 30), "values must be finite"),
    (csv_of([(1e7, 1, 0)] + [(1, 2, 1)] * 30), "at most 1e+06 in size, got '10000000.0'"),
    (csv_of([(1, 2, 0.5)] + [(1, 2, 1)] * 30), "line 2: a label must be 0, 1 or 2, got '0.5'"),
    (csv_of([(1, 2, 7)] + [(1, 2, 1)] * 30), "a label must be 0, 1 or 2, got '7'"),
    (csv_of([(1, 2, -1)] + [(1, 2, 1)] * 30), "a label must be 0, 1 or 2"),
    (csv_of([(1, 2, 1)] * 30), "the labels must include 0 and 1"),
    (csv_of([(1, 2, 0)] * 15 + [(1, 3, 2)] * 15),
     "the labels must include 0 and 1 (and 2 only with both), got 0, 2"),
    (12345, "csv must be the file's text as a string, got int"),
    ("", "the CSV file must have 20 to 1000 rows"),
    ("\x00" * 100, "the CSV file must have 20 to 1000 rows"),  # one line, taken for a header
]


@pytest.mark.parametrize("text, message", HOSTILE_UPLOADS, ids=range(len(HOSTILE_UPLOADS)))
def test_hostile_uploads_are_a_400_naming_the_line_rule_and_value(client, text, message):
    post(client, "/api/configure", {"session": A})
    response = client.post("/api/upload", data=json.dumps({"session": A, "csv": text}),
                           content_type="application/json")
    assert response.status_code in (400, 413), response.get_json()
    assert message in response.get_json()["error"] or response.status_code == 413
    assert client.application.sessions.get(A).uploaded is None


def test_uploads_bigger_than_their_limit_are_refused_before_parsing(client):
    post(client, "/api/configure", {"session": A})
    response = client.post("/api/upload", data=json.dumps({"session": A, "csv": "\\" * 200_000}),
                           content_type="application/json")
    assert response.status_code == 413 and "larger than" in response.get_json()["error"]
    # the upload's larger limit is for uploads only
    response = client.post("/api/train", data=json.dumps({"session": A, "pad": " " * 20_000}),
                           content_type="application/json")
    assert response.status_code == 413


def test_an_upload_needs_a_session_and_json(client):
    body = {"session": A, "csv": csv_of(quadrant_points())}
    assert "no longer on the server" in post(client, "/api/upload", body, status=404)["error"]
    post(client, "/api/configure", {"session": A})
    response = client.post("/api/upload", data=csv_of(quadrant_points()), content_type="text/csv")
    assert response.status_code == 415
    assert "unknown field 'file'" in post(client, "/api/upload", {**body, "file": "x"}, status=400)["error"]


def test_the_exported_model_loads_and_predicts_as_the_session(client, tmp_path):
    pytest.importorskip("safetensors")
    import chainrule as cr
    post(client, "/api/configure", {"session": A, "features": ["x1", "x2", "x1x2"], "l2": 0.001,
                                    "dropout": 0.2})
    post(client, "/api/train", {"session": A, "steps": 30})
    response = client.get("/api/export/model", query_string={"session": A})
    assert response.status_code == 200
    assert "attachment" in response.headers["Content-Disposition"]
    path = tmp_path / "model.safetensors"
    path.write_bytes(response.data)
    net, metadata, _ = cr.load_with_extras(path)
    session = client.application.sessions.get(A)
    X = session.X_val
    np.testing.assert_array_equal(net.flat_params, session.net.flat_params)
    assert_blas_close(net.predict(X), session.net.predict(X), sums_length(net))
    assert metadata["features"] == ["x1", "x2", "x1x2"] and metadata["step"] == 30


@pytest.mark.parametrize("fields", [
    {}, {"dataset": "blobs", "optimizer": "adam", "lr": 0.05, "features": ["x1", "x2", "sin_x1"]},
    {"dataset": "sine", "activation": "relu", "l1": 0.001, "dropout": 0.1, "validation": 0.3},
    {"dataset": "upload", "hidden": [3], "l2": 0.01, "optimizer": "rmsprop", "lr": 0.01},
    {"size": 100, "batch_size": 80}])  # the full batch: fit's Batches take the rows in order
def test_the_exported_script_prints_the_sessions_loss(client, tmp_path, fields):
    import subprocess
    from pathlib import Path
    post(client, "/api/configure", {"session": A})
    if fields.get("dataset") == "upload":
        post(client, "/api/upload", {"session": A, "csv": csv_of(quadrant_points())})
    post(client, "/api/configure", {"session": A, **fields})
    post(client, "/api/train", {"session": A, "steps": 23})
    post(client, "/api/step", {"session": A})  # a Step with its ledger is a step like the others
    state = post(client, "/api/train", {"session": A, "steps": 6})
    response = client.get("/api/export/script", query_string={"session": A})
    assert response.status_code == 200 and response.mimetype == "text/x-python"
    script = tmp_path / "run.py"
    script.write_bytes(response.data)
    src = str(Path(__file__).resolve().parents[1] / "src")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    printed = float(out.stdout.strip().rsplit(" ", 1)[1])
    assert out.stdout.startswith("step 30: training loss")
    assert printed == pytest.approx(state["metrics"]["loss"], abs=1e-6)


def test_exports_need_a_known_session(client):
    for path in ("/api/export/model", "/api/export/script"):
        assert client.get(path, query_string={"session": A}).status_code == 404
        assert client.get(path, query_string={"session": "../x"}).status_code == 400


def test_the_ledger_carries_its_words_in_chinese_with_the_same_equations(client):
    from chainrule.explain.trace_views import note_text
    post(client, "/api/configure", {"session": A})
    ledger = post(client, "/api/step", {"session": A})["ledger"]
    zh = ledger["words"]["zh"]
    assert zh["note"].startswith(f"这一批共有 {ledger['n']} 个训练样本。")
    assert "lr = 0.5" in zh["update"] and "W ← W − lr·dW" in zh["update"]
    for entry in ledger["entries"]:
        assert set(entry["words"]) == {"en", "zh"}  # the words only: one equation for both
        assert entry["words"]["zh"]["note"] == note_text(entry["note"], "zh")
        assert (entry["words"]["zh"]["note"] == "") == (entry["note"] == "")
    first = ledger["entries"][0]
    # numbered as the page numbers the network, the index in net.layers in parentheses
    assert first["words"]["en"]["title"] == "hidden layer 1: Dense(2 → 4) (layer 0)"
    assert first["words"]["zh"]["title"] == "隐藏层 1：Dense(2 → 4)（第 0 层）"
    output = next(e for e in ledger["entries"] if e["layer"] == 4 and e["phase"] == "forward")
    assert output["words"]["en"]["title"] == "output layer: Dense(4 → 1) (layer 4)"
    notes = [e["words"]["zh"]["note"] for e in ledger["entries"] if e["note"]]
    assert notes and not any(note.isascii() for note in notes)  # each one retold, none left in English
    # the sigmoid folded into the loss: its equation alone, the words beside it in each language
    sigmoid = next(e for e in ledger["entries"] if e["layer"] == 5 and e["phase"] == "forward")
    assert sigmoid["equation"] == "A = σ(Z) = 1 / (1 + e^(−Z))"
    assert sigmoid["words"]["en"]["aside"] == "(inside the fused loss)"
    assert sigmoid["words"]["zh"]["aside"] == "（在合并计算的损失之内）"


def test_a_dense_backward_entry_holds_the_x_its_dw_multiplies(client):
    """dW = Xᵀ·dZ: the entry shows the X of its layer's forward entry beside dZ, and says
    where it comes from."""
    post(client, "/api/configure", {"session": A, "batch_size": 6})
    ledger = post(client, "/api/step", {"session": A})["ledger"]
    entries = ledger["entries"]
    forward = next(k for k, e in enumerate(entries) if e["layer"] == 2 and e["phase"] == "forward")
    backward = next(e for e in entries if e["layer"] == 2 and e["dense_backward"])
    assert list(backward["values"])[:3] == ["X", "dZ", "dW"]  # in the equation's order
    assert backward["values"]["X"] == entries[forward]["values"]["X"]
    assert backward["borrowed"] == {"X": forward, "W": forward}
    assert backward["shapes"]["X"] == [6, 4]


def run_script(client, session, tmp_path):
    """The exported script, run in a fresh Python: the loss it prints."""
    import subprocess
    from pathlib import Path
    script = tmp_path / "run.py"
    script.write_bytes(client.get("/api/export/script", query_string={"session": session}).data)
    src = str(Path(__file__).resolve().parents[1] / "src")
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120,
                         env={"PYTHONPATH": src, "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip().rsplit(" ", 1)[1])


def test_exports_hold_the_points_trained_on_when_a_later_upload_was_refused(client, tmp_path):
    """Issue 22, item 8: upload A, train, upload B whose configure is refused (its 20 points
    leave 16 for training, fewer than the batch of 30): the session trains on A, and both
    exports must hold A (its points, its input scale), not B."""
    pytest.importorskip("safetensors")
    import chainrule as cr
    post(client, "/api/configure", {"session": A})
    first = post(client, "/api/upload", {"session": A, "csv": csv_of(quadrant_points(60))})
    post(client, "/api/configure", {"session": A, "dataset": "upload", "batch_size": 30})
    state = post(client, "/api/train", {"session": A, "steps": 12})
    other = [(100 + 3 * a, -40 + b, c) for a, b, c in quadrant_points(20, seed=5)]
    second = post(client, "/api/upload", {"session": A, "csv": csv_of(other)})
    assert second["scale"] != first["scale"]
    error = post(client, "/api/configure", {"session": A, "dataset": "upload", "batch_size": 30},
                 status=400)["error"]
    assert "batch" in error
    assert get(client, "/api/state", A)["metrics"] == state["metrics"]  # still the run on A

    assert run_script(client, A, tmp_path) == pytest.approx(state["metrics"]["loss"], abs=1e-6)
    path = tmp_path / "model.safetensors"
    path.write_bytes(client.get("/api/export/model", query_string={"session": A}).data)
    _, metadata, _ = cr.load_with_extras(path)
    assert metadata["input_scale"] == first["scale"]


def test_an_upload_with_its_run_is_refused_whole(client):
    """Points sent with the run's settings (as the page sends them) are kept only if the run on
    them starts: a refused run leaves the tab with the points and the run it had."""
    post(client, "/api/configure", {"session": A})
    settings = {"batch_size": 30, "hidden": [3]}
    answer = post(client, "/api/upload", {"session": A, "csv": csv_of(quadrant_points(60)),
                                          "config": settings})
    assert answer["rows"] == 60 and answer["config"]["dataset"] == "upload"
    assert len(answer["data"]["train"]["X"]) == 48 and answer["network"]["sizes"] == [2, 3, 1]
    state = post(client, "/api/train", {"session": A, "steps": 5})
    small = csv_of(quadrant_points(20, seed=5))
    error = post(client, "/api/upload", {"session": A, "csv": small, "config": settings},
                 status=400)["error"]
    assert "batch" in error
    session = client.application.sessions.get(A)
    assert session.uploaded.size == 60 and session.step == 5
    assert get(client, "/api/state", A) == state
    again = post(client, "/api/configure", {"session": A, "dataset": "upload"})
    assert len(again["data"]["train"]["X"]) == 48
    assert "config must be a JSON object" in post(
        client, "/api/upload", {"session": A, "csv": small, "config": [1]}, status=400)["error"]


def test_the_server_sums_a_connections_chain_rule(client):
    """The connection panel's numbers: a·δ for each row of the last Step's batch, their sum (the
    ledger's dW[i][j]), the penalty's share and the weight's update, computed by the server."""
    post(client, "/api/configure", {"session": A, "l2": 0.01})
    query = {"session": A, "layer": 1, "i": 2, "j": 3}
    response = client.get("/api/connection", query_string=query)
    assert response.status_code == 404 and response.get_json()["key"] == "error.no_ledger"
    ledger = post(client, "/api/step", {"session": A})["ledger"]
    answer = client.get("/api/connection", query_string=query).get_json()
    forward = next(e for e in ledger["entries"] if e["layer"] == 2 and e["phase"] == "forward")
    backward = next(e for e in ledger["entries"] if e["layer"] == 2 and e["dense_backward"])
    a = [row[2] for row in forward["values"]["X"]]
    delta = [row[3] for row in backward["values"]["dZ"]]
    assert answer["a"] == a and answer["delta"] == delta and answer["rows"] == ledger["rows"]
    assert answer["products"] == [x * d for x, d in zip(a, delta)]
    assert answer["dW"] == backward["values"]["dW"][2][3]
    assert answer["sum"] == pytest.approx(answer["dW"], rel=1e-12, abs=1e-15)
    W = forward["values"]["W"][2][3]
    assert answer["dW_penalized"] == pytest.approx(answer["dW"] + 2 * 0.01 * W, rel=1e-12)
    net = client.application.sessions.get(A).net
    assert answer["update"]["W"] == W and answer["update"]["W_new"] == net.layers[2].W[2, 3]
    assert answer["update"]["note"]["zh"] == "普通梯度下降，学习率 lr = 0.5。"
    assert answer["step"] == ledger["step"] == 1


@pytest.mark.parametrize("query, key", [
    ({"layer": 3, "i": 0, "j": 0}, "error.no_weight"),    # 2-4-4-1: Dense layers 0, 1, 2
    ({"layer": 0, "i": 2, "j": 0}, "error.no_weight"),    # 2 inputs
    ({"layer": "x", "i": 0, "j": 0}, "error.query_index"),
    ({"layer": "-1", "i": 0, "j": 0}, "error.query_index"),
    ({"layer": "1" * 30, "i": 0, "j": 0}, "error.query_index"),
    ({"i": 0, "j": 0}, "error.query_index"),
    ({"layer": 0, "i": 0, "j": 0, "k": 1}, "error.query_unknown"),
])
def test_a_connection_query_is_checked(client, query, key):
    post(client, "/api/configure", {"session": A})
    post(client, "/api/step", {"session": A})
    response = client.get("/api/connection", query_string={"session": A, **query})
    assert response.status_code == 400 and response.get_json()["key"] == key


def test_refusals_carry_their_key_and_arguments_for_the_page(client):
    """The page words a refusal in its own language from its key and arguments; the English
    text is the same words filled in."""
    from chainrule.playground.words import say
    answer = post(client, "/api/configure", {"session": A, "lr": 50}, status=400)
    assert answer["key"] == "error.out_of_range"
    assert answer["args"] == {"name": "lr", "value": "50", "lo": "1e-06", "hi": "10"}
    assert answer["error"] == say(answer["key"], "en", **answer["args"])
    assert say(answer["key"], "zh", **answer["args"]) == "学习率必须在 1e-06 到 10 之间，收到的是 50"
    lost = get(client, "/api/state", B, status=404)
    assert lost["key"] == "error.no_session" and lost["args"] == {"value": B}
    wrong = client.get("/api/nothing").get_json()
    assert wrong["key"] == "error.not_found" and "/api/nothing" in wrong["args"]["path"]


def test_a_diverged_run_says_at_which_step(client):
    post(client, "/api/configure", {"session": A, "dataset": "sine", "activation": "relu",
                                    "hidden": [8, 8, 8], "lr": 10.0, "batch_size": 64})
    state = post(client, "/api/train", {"session": A, "steps": 200})
    assert state["diverged"] and state["diverged_at"] == state["step"] + 1


def test_a_units_picture_at_full_size_is_its_activation_over_the_frame(client):
    from chainrule.playground.features import expand
    from chainrule.playground.pictures import CURVE, UNIT_CURVE
    post(client, "/api/configure", {"session": A, "features": ["x1", "x2", "x1x2"]})
    post(client, "/api/train", {"session": A, "steps": 20})
    net = client.application.sessions.get(A).net
    unit = client.get(
        "/api/unit", query_string={"session": A, "column": 1, "unit": 2}).get_json()
    assert unit["kind"] == "grid" and unit["frame"] == [-1.6, 1.6, -1.6, 1.6]
    ticks = np.linspace(-1.6, 1.6, GRID)
    x1, x2 = np.meshgrid(ticks, ticks[::-1])
    X = expand(np.column_stack([x1.ravel(), x2.ravel()]), ["x1", "x2", "x1x2"])
    dense = net.layers[0]
    expected = np.tanh(X @ dense.W[:, 2] + dense.b[2])  # hidden layer 1, unit 3
    np.testing.assert_allclose(unit["values"], expected, atol=5e-4)  # sent to 3 digits
    feature = client.get("/api/unit", query_string={"session": A, "column": 0, "unit": 2}).get_json()
    np.testing.assert_allclose(feature["values"], X[:, 2], atol=5e-4)  # the input x₁x₂ itself
    for column, j in ((4, 0), (1, 4), (3, 1)):  # 3 features-4-4-1: no such unit
        answer = client.get("/api/unit", query_string={"session": A, "column": column, "unit": j})
        assert answer.status_code == 400 and answer.get_json()["key"] == "error.no_unit"
    # a 1-D data set: each unit is a curve, small in the diagram and full size on demand
    state = post(client, "/api/configure", {"session": A, "dataset": "sine"})
    assert state["network"]["maps_kind"] == "curve"
    assert [len(m) for m in state["network"]["maps"]] == [1, 4, 4, 1]
    assert len(state["network"]["maps"][1][0]) == UNIT_CURVE
    curve = client.get("/api/unit", query_string={"session": A, "column": 2, "unit": 0}).get_json()
    assert curve["kind"] == "curve" and len(curve["x"]) == len(curve["y"]) == CURVE
    assert curve["frame"][2] < min(curve["y"]) and max(curve["y"]) < curve["frame"][3]


def test_a_weight_set_by_hand_changes_the_network_and_the_exported_run(client, tmp_path):
    """TensorFlow Playground's edit of a connection's weight: the network holds it, the loss
    curve gains the loss at it, and the exported script sets it at the same step."""
    post(client, "/api/configure", {"session": A})
    post(client, "/api/train", {"session": A, "steps": 7})
    state = post(client, "/api/weight", {"session": A, "layer": 1, "i": 0, "j": 3, "value": 2.5})
    assert state["network"]["layers"][1]["W"][0][3] == 2.5 and state["step"] == 7
    assert client.application.sessions.get(A).net.layers[2].W[0, 3] == 2.5
    post(client, "/api/train", {"session": A, "steps": 5})
    post(client, "/api/weight", {"session": A, "layer": 0, "i": 1, "j": 0, "value": -1.0})
    state = post(client, "/api/train", {"session": A, "steps": 3})
    assert run_script(client, A, tmp_path) == pytest.approx(state["metrics"]["loss"], abs=1e-6)
    for body, key in [({"layer": 3, "i": 0, "j": 0, "value": 1}, "error.no_weight"),
                      ({"layer": 0, "i": 0, "j": 4, "value": 1}, "error.no_weight"),
                      ({"layer": 0, "i": 0, "j": 0, "value": 11}, "error.out_of_range"),
                      ({"layer": 0, "i": 0, "j": 0, "value": "1"}, "error.not_number"),
                      ({"layer": 0, "i": 0, "j": 0}, "error.not_number"),
                      ({"layer": 0, "i": 0, "j": 0, "value": 1, "w": 2}, "error.unknown_field")]:
        assert post(client, "/api/weight", {"session": A, **body}, status=400)["key"] == key


@pytest.mark.parametrize("dataset, middle", [("xor", 0.5), ("blobs", 1 / 3), ("sine", 0.0)])
def test_the_pictures_middle_value_comes_from_the_server(client, dataset, middle):
    """The value each unit's picture shows as white (0; chance level for an output of
    probabilities) and the boundary's chance level are the server's, not the page's."""
    lr = 0.01 if dataset == "sine" else 0.5
    state = post(client, "/api/configure", {"session": A, "dataset": dataset, "lr": lr})
    network = state["network"]
    assert network["centres"] == [0.0] * (len(network["sizes"]) - 1) + [pytest.approx(middle)]
    if dataset != "sine":
        assert state["picture"]["chance"] == pytest.approx(1 / state["classes"])
        last = len(network["sizes"]) - 1
        unit = client.get("/api/unit", query_string={"session": A, "column": last, "unit": 0}).get_json()
        assert unit["centre"] == pytest.approx(middle)
