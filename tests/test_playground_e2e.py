"""The playground in a real headless Chromium (Debian's ``chromium``, driven by Playwright).

The server runs in a thread on 127.0.0.1 at a free port; the browser loads the
page, trains on XOR until the loss falls, pauses, steps, opens the ledger and
reads a dW that must equal the server's. It saves docs/img/playground.png.

Needs /usr/bin/chromium (``.ci/install-browser`` installs it) and the
``playwright`` package; it never downloads a browser of its own.
"""
import json
import os
import threading
import time
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("flask")
pytest.importorskip("playwright.sync_api", reason="the playwright package is not installed "
                    "(pip install playwright; the system chromium is used, no `playwright install`)")
CHROMIUM = "/usr/bin/chromium"
if not os.access(CHROMIUM, os.X_OK):
    pytest.skip(f"Debian's chromium is not installed at {CHROMIUM}: run .ci/install-browser",
                allow_module_level=True)

from playwright.sync_api import sync_playwright  # noqa: E402

from chainrule.playground import make_server  # noqa: E402

pytestmark = pytest.mark.slow
SCREENSHOT = Path(__file__).resolve().parents[1] / "docs" / "img" / "playground.png"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
LOSS_TARGET = 0.2   # XOR starts near log 2 ≈ 0.69


@pytest.fixture(scope="module")
def server():
    server = make_server("127.0.0.1", 0)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    thread.join(timeout=10)
    server.server_close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, server):
    page = browser.new_page(viewport={"width": 1280, "height": 960})
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    # a refused request (status 400) is logged by the browser; the page shows its message instead
    page.on("console", lambda msg: errors.append(msg.text)
            if msg.type == "error" and "status of 400" not in msg.text else None)
    page.goto(server[1])
    page.wait_for_selector("body[data-ready=true]", timeout=15_000)
    yield page
    assert errors == []
    if not page.is_closed():
        page.close()


def fetch(url):
    with urllib.request.urlopen(url, timeout=10) as response:
        return json.load(response)


def boundary(page):
    return page.eval_on_selector("#picture", "canvas => canvas.toDataURL()")


def loss(page):
    return float(page.get_attribute("#metrics", "data-loss"))


def step_count(page):
    return int(page.inner_text("#step-count"))


def test_train_pause_step_and_read_the_ledger(page, server):
    _, url = server
    sid = page.get_attribute("body", "data-session")
    assert page.input_value("#dataset") == "xor"
    start_loss, start_picture = loss(page), boundary(page)
    assert start_loss > 0.5

    page.click("#play")
    page.wait_for_function(f"Number(document.querySelector('#metrics').dataset.loss) < {LOSS_TARGET}",
                           timeout=60_000)
    assert boundary(page) != start_picture

    page.click("#play")  # pause
    page.wait_for_selector("#play[aria-pressed=false]")
    time.sleep(0.5)  # let a request that was already out come back
    paused_at = step_count(page)
    time.sleep(0.5)
    assert step_count(page) == paused_at, "training went on after Pause"
    assert fetch(f"{url}api/state?session={sid}")["step"] == paused_at

    page.click("#step")
    page.wait_for_function(f"document.querySelector('#step-count').textContent === '{paused_at + 1}'")
    page.wait_for_selector("#ledger", state="visible")
    caption = page.inner_text("#ledger-caption")
    assert caption.startswith(f"step {paused_at}:")

    # open the first layer's backward step and read dW[1][2] off the page
    entry_box = "#ledger details[data-layer='0'][data-phase='backward']"
    page.click(f"{entry_box} summary")
    cell = page.locator(f"{entry_box} td[data-name='dW'][data-i='1'][data-j='2']")
    cell.wait_for(state="visible")
    shown = float(cell.get_attribute("data-value"))
    server_ledger = fetch(f"{url}api/ledger?session={sid}")
    [entry] = [e for e in server_ledger["entries"] if e["layer"] == 0 and e["phase"] == "backward"]
    assert shown == entry["values"]["dW"][1][2]
    text = cell.inner_text()
    assert abs(float(text) - shown) <= 5e-3 * abs(shown), (text, shown)  # 3 to 4 digits shown

    # a unit's numbers for the batch
    page.click("#network .node[data-layer='1'][data-unit='2']")
    page.wait_for_selector("#unit", state="visible")
    assert "unit 2 of Dense layer 0" in page.inner_text("#unit")
    rows = page.locator("#unit table tr").count()
    assert rows == 1 + server_ledger["n"]

    SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOT), full_page=False)
    assert SCREENSHOT.stat().st_size > 20_000


def test_tabs_have_their_own_sessions_and_closing_one_frees_it(browser, server, page):
    app_sessions = server[0].app.sessions
    other = browser.new_page()
    other.goto(server[1])
    other.wait_for_selector("body[data-ready=true]", timeout=15_000)
    first, second = page.get_attribute("body", "data-session"), other.get_attribute("body", "data-session")
    assert first != second and first in app_sessions and second in app_sessions

    other.select_option("#dataset", "blobs")  # a change resets that tab only
    other.wait_for_function("document.querySelector('#picture-title').textContent === 'Decision boundary'"
                            " && document.querySelectorAll('#network .node').length === 2 + 4 + 4 + 3")
    assert page.locator("#network .node").count() == 2 + 4 + 4 + 1

    other.goto("about:blank")  # pagehide: the page sends its close beacon
    deadline = time.monotonic() + 10
    while second in app_sessions and time.monotonic() < deadline:
        time.sleep(0.1)
    assert second not in app_sessions and first in app_sessions
    other.close()


def test_a_bad_setting_shows_the_servers_message(page):
    page.fill("#hidden", "4, 40")
    page.press("#hidden", "Enter")
    page.wait_for_selector("#status.error")
    assert "hidden[1] must be an integer between 1 and 8, got 40" in page.inner_text("#status")
