"""The playground's page as files: ES modules served as JavaScript under a strict content
security policy, imports that point one way, no page state outside state.js, and the
server's limits and defaults sent to the page (never written into it)."""
import re
from pathlib import Path

import pytest

pytest.importorskip("flask")

from chainrule.playground import (
    create_app,
    schema,
    upload,
)
from chainrule.playground.datasets import DATASETS
from chainrule.playground.features import FEATURES, raw
from chainrule.playground.words import LANGUAGES

JS = Path(schema.__file__).parent / "static" / "js"
MODULES = {path.name: path.read_text("utf-8") for path in sorted(JS.glob("*.js"))}
IMPORT = re.compile(r'^import\s[^;]*?\sfrom\s+"\./([\w.]+)";', re.MULTILINE | re.DOTALL)
#: The modules that only describe or draw: handed what they show, they never import the state.
DRAWING = {"draw.js", "ledger.js", "panels.js", "format.js"}
MAX_LINES = 400


@pytest.fixture
def client():
    return create_app().test_client()


def imports(name):
    return set(IMPORT.findall(MODULES[name]))


def test_every_module_is_served_as_javascript_and_the_page_loads_it_as_a_module(client):
    """A browser refuses to run a module served as text/plain (as some systems' MIME tables
    say for .js), and with nosniff it will not guess."""
    assert len(MODULES) >= 8
    for name in MODULES:
        response = client.get(f"/static/js/{name}")
        assert response.status_code == 200, name
        assert response.mimetype == "text/javascript", (name, response.mimetype)
        assert response.headers["X-Content-Type-Options"] == "nosniff"
    html = client.get("/").get_data(as_text=True)
    assert re.findall(r"<script[^>]*>", html) == ['<script type="module" src="/static/js/main.js">']


def test_the_page_is_served_with_a_policy_that_runs_only_its_own_scripts(client):
    policy = client.get("/").headers["Content-Security-Policy"]
    rules = dict(rule.strip().split(" ", 1) for rule in policy.split(";"))
    assert rules["default-src"] == "'none'" and rules["script-src"] == "'self'"
    assert rules["connect-src"] == "'self'" and rules["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy
    assert client.get("/api/options").headers["Content-Security-Policy"] == policy


def test_the_modules_import_one_way():
    """state.js imports nothing, words.js only the state; the drawing modules never the
    state; nothing imports main.js; and the import graph has no cycle."""
    for name in MODULES:
        assert imports(name) <= set(MODULES), (name, imports(name) - set(MODULES))
        assert "main.js" not in imports(name), name
    assert imports("state.js") == set() and imports("format.js") == set()
    assert imports("words.js") == {"state.js"}
    for name in DRAWING:
        assert "state.js" not in imports(name), name
    # every module reachable from main.js, and none reached again along its own imports
    def visit(name, path):
        assert name not in path, " → ".join([*path, name])
        for child in imports(name):
            visit(child, [*path, name])
    visit("main.js", [])
    reached, todo = set(), ["main.js"]
    while todo:
        name = todo.pop()
        reached.add(name)
        todo += imports(name) - reached
    assert reached == set(MODULES)


def test_the_modules_are_small_and_hold_no_state_of_their_own():
    """The page's state is one object in state.js: no other module has a top-level let or
    var, and each stays readable at a glance."""
    for name, text in MODULES.items():
        assert len(text.splitlines()) <= MAX_LINES, (name, len(text.splitlines()))
        assert not re.search(r"^(let|var)\s", text, re.MULTILINE), name
        assert '"use strict"' not in text  # modules are strict already
    assert re.search(r"^export const page = \{", MODULES["state.js"], re.MULTILINE)


def test_the_options_are_the_servers_own_values(client):
    """What the page builds its form from is schema's and upload's values themselves, so the
    page's limits cannot drift from those the server enforces."""
    options = client.get("/api/options").get_json()
    assert options["defaults"] == schema.DEFAULTS
    assert options["limits"] == {k: list(v) for k, v in schema.LIMITS.items()}
    assert options["choices"] == schema.CHOICES
    assert options["activations"] == list(schema.ACTIVATIONS)
    assert options["optimizers"] == list(schema.OPTIMIZERS)
    assert options["outputs"] == ["auto", *schema.OUTPUTS]
    assert options["languages"] == list(LANGUAGES)
    assert list(options["datasets"]) == list(DATASETS) and list(options["features"]) == list(FEATURES)
    assert [name for name, f in options["features"].items() if f["raw"]] == raw(2)
    assert options["upload"] == {"rows": [upload.MIN_ROWS, upload.MAX_ROWS], "chars": upload.MAX_CHARS,
                                 "classes": upload.MAX_CLASSES, "file_bytes": 4 * upload.MAX_CHARS}


def numbers_in(text):
    return {float(n) for n in re.findall(r"(?<![\w.#])\d+(?:\.\d+)?(?:e-?\d+)?(?![\w.])", text)}


def test_the_page_does_not_repeat_the_servers_limits():
    """No distinctive limit or default of the server (2000 points, 65536 characters, a
    learning rate of 1e-06, ...) is written into the page's script or HTML, and no menu of
    its choices (an array holding two of them). Small whole numbers (below 50) and ½ are
    left out: drawing needs them anyway (pixels, halves, the three class colours), so this
    test cannot tell them from a limit."""
    limits = [v for pair in schema.LIMITS.values() for v in pair]
    defaults = [v for v in schema.DEFAULTS.values() if isinstance(v, (int, float))]
    server = {float(v) for v in [*limits, *defaults, upload.MAX_CHARS, upload.MAX_ROWS,
                                 upload.MIN_ROWS, upload.MAX_CLASSES, 4 * upload.MAX_CHARS]}
    distinctive = {v for v in server if not (v == int(v) and v < 50) and v != 0.5}
    assert {2000.0, 65536.0, 1e-6, 0.9, 0.2} <= distinctive
    menus = [{float(v) for v in values if v not in (0, 1)} for key, values in schema.CHOICES.items()
             if isinstance(values, list)]
    html = (JS.parent / "index.html").read_text("utf-8")
    for name, text in [*MODULES.items(), ("index.html", html)]:
        # the SVG namespace's year, and the replay's pace (milliseconds, the page's own)
        text = text.replace("http://www.w3.org/2000/svg", "")
        text = re.sub(r'<option value="\d+"', "", text)
        assert numbers_in(text) & distinctive == set(), name
        for array in re.findall(r"\[[^\[\]]*\]", text):
            for menu in menus:
                assert len(numbers_in(array) & menu) < 2, (name, array)


def test_every_file_of_the_page_is_shipped_in_the_package():
    """pyproject's package-data names every file under static/ (a glob of static/ does not
    reach static/js/, and an installed playground without its modules draws nothing)."""
    import fnmatch

    import tomllib
    root = Path(__file__).resolve().parents[1]
    with open(root / "pyproject.toml", "rb") as f:
        globs = tomllib.load(f)["tool"]["setuptools"]["package-data"]["chainrule.playground"]
    static = JS.parent
    files = [p.relative_to(static.parent).as_posix() for p in static.rglob("*")
             if p.is_file() and "__pycache__" not in p.parts]
    assert "static/js/main.js" in files
    # setuptools matches a glob's * within one folder, as fnmatch does not: compare by parts
    unshipped = [f for f in files if not any(
        len(f.split("/")) == len(g.split("/")) and fnmatch.fnmatch(f, g) for g in globs)]
    assert unshipped == []
